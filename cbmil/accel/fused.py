"""The training pass of a :class:`~cbmil.model.ScorerBank` with its backward written out
(``RunSettings(fused=True)``, ``--fused``): one way to shrink what a step costs beside its two
layer-1 products.

The reference is autograd through :meth:`ScorerBank.forward <cbmil.model.ScorerBank.forward>`:
every ReLU and dropout product is a new tensor kept for the backward, and the backward runs one
kernel per operation. Outside the two layer-1 products (the forward ``x @ W1`` and the weight
gradient ``x^T @ dH``, almost all of the arithmetic) a step is memory traffic over activations
of ``[S, R, V * 512]``, so allocations and passes decide the rest of its cost. Here:

* forward: the layer-1 product, then ReLU and the dropout mask applied **in place**, layers 2-3
  likewise; kept for the backward: the input, the two masked activations and the scores;
* backward, with ``a = relu(z) * m`` (``m`` the scaled dropout mask, 0 or ``1 / (1 - p)``):
  ``dz = dA * m`` where ``a > 0`` and 0 elsewhere (the ReLU's gradient at 0 is 0, as in
  torch), computed in place on the incoming gradient; ``dW1 = x^T dZ1`` and ``db1 = sum dZ1``
  in layer 1's precision, as autograd does.

The function and its gradients are those of the reference; the forward is the same sequence of
kernels (scores bit-identical), the backward differs only by float rounding (the tests compare
both after 20 training steps). Whether it is faster depends on the machine: on a 2-core AVX2 CPU,
where the step is bound by the layer-1 products, it was not measurably faster
(docs/performance.md), so autograd stays the default.
"""

from __future__ import annotations

import torch


class BankTrainingPass(torch.autograd.Function):
    """Scores ``[S, V, R]`` of a bank on ``x [S, R, D]`` with dropout masks, and their backward.

    ``forward(ctx, x, w1, b1, w2, b2, w3, b3, mask1, mask2, relu2)``: parameters as in
    :class:`~cbmil.model.ScorerBank` (fp32), ``x`` in layer 1's dtype (fp32 or bf16),
    ``mask1 [S, R, H1]`` and ``mask2 [S, R, H2]`` scaled inverted-dropout masks shared by the
    V models of a seed, ``relu2`` whether layer 2 has a ReLU (False: Sultani's linear layer).
    """

    @staticmethod
    def forward(ctx, x, w1, b1, w2, b2, w3, b3, mask1, mask2, relu2: bool):
        s, r, _ = x.shape
        v, h1 = w2.shape[1], w2.shape[2]
        dtype = x.dtype
        z1 = torch.baddbmm(b1.to(dtype), x, w1.to(dtype))         # [S, R, V*H1], bias fused
        a1 = z1.to(w2.dtype)                                         # layers 2-3 in the parameters' dtype
        a1 = a1.relu_().view(s, r, v, h1).mul_(mask1.unsqueeze(2))  # [S, R, V, H1]
        a2 = torch.einsum("srvh,svhk->svrk", a1, w2).add_(b2)       # [S, V, R, H2]
        if relu2:
            a2.relu_()
        a2.mul_(mask2.unsqueeze(1))
        scores = torch.einsum("svrk,svko->svro", a2, w3).add_(b3).sigmoid_().squeeze(-1)  # [S, V, R]
        ctx.save_for_backward(x, a1, w2, a2, w3, scores, mask1, mask2)
        ctx.relu2, ctx.param_dtype = relu2, w1.dtype
        return scores

    @staticmethod
    def backward(ctx, grad):
        x, a1, w2, a2, w3, scores, mask1, mask2 = ctx.saved_tensors
        s, r, v, h1 = a1.shape
        dz3 = (grad * scores * (1 - scores)).unsqueeze(-1)          # [S, V, R, 1]: sigmoid'
        dw3 = torch.einsum("svrk,svro->svko", a2, dz3)
        db3 = dz3.sum(dim=2, keepdim=True)
        dz2 = dz3 * w3.transpose(-1, -2)                            # [S, V, R, H2]
        dz2.mul_(mask2.unsqueeze(1))
        if ctx.relu2:
            dz2.masked_fill_(a2 <= 0, 0.0)
        dw2 = torch.einsum("srvh,svrk->svhk", a1, dz2)
        db2 = dz2.sum(dim=2, keepdim=True)
        dz1 = torch.einsum("svrk,svhk->srvh", dz2, w2)              # [S, R, V, H1]
        dz1.mul_(mask1.unsqueeze(2)).masked_fill_(a1 <= 0, 0.0)
        dz1 = dz1.reshape(s, r, v * h1).to(x.dtype)                 # layer 1's precision, as autograd
        dw1 = torch.bmm(x.transpose(1, 2), dz1).to(ctx.param_dtype)
        db1 = dz1.sum(dim=1, keepdim=True).to(ctx.param_dtype)
        return None, dw1, db1, dw2, db2, dw3, db3, None, None, None


def training_scores(bank, x: torch.Tensor, masks: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """``bank(x, masks)`` for a training step (``x [S, R, D]``, masks required), by
    :class:`BankTrainingPass`: scores ``[S, V, R]``."""
    if x.dim() != 3:
        raise ValueError(f"the fused training pass takes x of shape [S, R, D], got {tuple(x.shape)}")
    return BankTrainingPass.apply(x.to(bank.layer1_dtype), bank.w1, bank.b1, bank.w2, bank.b2, bank.w3, bank.b3,
                                  masks[0], masks[1], bank.layer2 == "relu")
