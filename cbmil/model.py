"""The anomaly scorer of Sultani et al.: a 3-layer MLP from a segment feature to a score in [0, 1].

``f: D -> 512 -> 32 -> 1``, ReLU, dropout 0.6 after each hidden layer, sigmoid output, Xavier
(Glorot) initialisation: the scorer of the paper and of the common PyTorch ports. Sultani's public
Keras script differs in one place: its 32-unit layer is linear (``layer2="linear"``; the rest of
his configuration is :meth:`cbmil.train.TrainConfig.sultani`).

Two forms of the same function:

* :class:`Scorer` — one model, a plain ``nn.Module`` to read and to use.
* :class:`ScorerBank` — M models held as batched weight tensors and run together, so a whole
  beta sweep with several seeds trains in one pass. Models are laid out on a grid
  ``seeds x variants``: model ``m = s * V + v``. Models of one seed start from the same weights
  (and, in :mod:`cbmil.train`, see the same batches and dropout masks), so their differences
  come from the loss alone.
"""

from __future__ import annotations

import torch
from torch import nn

HIDDEN = (512, 32)
DROPOUT = 0.6
#: Arithmetic of layer 1 (``D -> 512``, ~97 % of the FLOPs): "fp32", or "bf16" = features and
#: layer-1 weights rounded to bfloat16 for the product (accumulated in fp32 by the matmul
#: kernels; the master weights, layers 2-3, the loss and the optimiser stay fp32).
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}
PRECISIONS = tuple(DTYPES)
#: Activation after layer 2: "relu" (the paper's and the common PyTorch ports' scorer) or
#: "linear" (Sultani's public Keras script, whose 32-unit layer has no activation).
LAYER2 = ("relu", "linear")


def native_bf16(device: torch.device | str) -> bool:
    """Whether ``device`` multiplies bf16 matrices in hardware: CUDA GPUs with bf16 support,
    CPUs with AMX or AVX512-BF16 (elsewhere bf16 is emulated and slower than fp32)."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        probes = [getattr(torch.cpu, name, None) for name in ("_is_amx_tile_supported", "_is_avx512_bf16_supported")]
        return any(probe() for probe in probes if probe is not None)
    return False


def resolve_precision(precision: str, device: torch.device | str) -> str:
    """``"auto"`` -> ``"bf16"`` where :func:`native_bf16`, else ``"fp32"``; others unchanged."""
    if precision == "auto":
        return "bf16" if native_bf16(device) else "fp32"
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be 'auto' or one of {PRECISIONS}, got {precision!r}")
    return precision


class Scorer(nn.Module):
    """One anomaly scorer. ``forward``: features ``[..., D]`` -> scores ``[...]`` in [0, 1]."""

    def __init__(self, dim: int, hidden: tuple[int, int] = HIDDEN, dropout: float = DROPOUT, layer2: str = "relu"):
        super().__init__()
        if layer2 not in LAYER2:
            raise ValueError(f"layer2 must be one of {LAYER2}, got {layer2!r}")
        self.net = nn.Sequential(
            nn.Linear(dim, hidden[0]), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden[0], hidden[1]), nn.ReLU() if layer2 == "relu" else nn.Identity(), nn.Dropout(dropout),
            nn.Linear(hidden[1], 1), nn.Sigmoid(),
        )
        for layer in self.net:
            if isinstance(layer, nn.Linear):
                nn.init.xavier_normal_(layer.weight)
                nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)


def xavier_normal(fan_in: int, fan_out: int, generator: torch.Generator) -> torch.Tensor:
    """Glorot normal ``[fan_in, fan_out]``: std = sqrt(2 / (fan_in + fan_out))."""
    std = (2.0 / (fan_in + fan_out)) ** 0.5
    return torch.randn(fan_in, fan_out, generator=generator) * std


class ScorerBank(nn.Module):
    """``n_seeds x n_variants`` scorers as batched tensors.

    Parameters (S seeds, V variants, H1 = 512, H2 = 32):

    * ``w1 [S, D, V * H1]`` — layer 1 of the V models of a seed side by side, so layer 1 of all
      models of one seed is one wide matrix product on their shared batch;
    * ``b1 [S, 1, V * H1]``, ``w2 [S, V, H1, H2]``, ``b2 [S, V, 1, H2]``, ``w3 [S, V, H2, 1]``,
      ``b3 [S, V, 1, 1]``.

    Initial weights of seed s are drawn from ``torch.Generator().manual_seed(seed)`` in a
    fixed order and copied to its V variants. ``precision`` is the arithmetic of layer 1
    (:data:`PRECISIONS`); parameters are fp32 either way.
    """

    def __init__(self, dim: int, seeds, n_variants: int, hidden: tuple[int, int] = HIDDEN,
                 dropout: float = DROPOUT, precision: str = "fp32", layer2: str = "relu"):
        super().__init__()
        if precision not in PRECISIONS:
            raise ValueError(f"ScorerBank precision must be one of {PRECISIONS}, got {precision!r}")
        if layer2 not in LAYER2:
            raise ValueError(f"ScorerBank layer2 must be one of {LAYER2}, got {layer2!r}")
        self.layer2 = layer2
        self.dim, self.seeds, self.n_variants = dim, list(seeds), n_variants
        self.hidden, self.dropout, self.precision = tuple(hidden), dropout, precision
        self.layer1_dtype = DTYPES[precision]
        h1, h2 = self.hidden
        init = {"w1": [], "w2": [], "w3": []}
        for seed in self.seeds:
            g = torch.Generator().manual_seed(int(seed))
            init["w1"].append(xavier_normal(dim, h1, g).repeat(1, n_variants))
            init["w2"].append(xavier_normal(h1, h2, g).expand(n_variants, h1, h2))
            init["w3"].append(xavier_normal(h2, 1, g).expand(n_variants, h2, 1))
        s, v = len(self.seeds), n_variants
        self.w1 = nn.Parameter(torch.stack(init["w1"]))
        self.b1 = nn.Parameter(torch.zeros(s, 1, v * h1))
        self.w2 = nn.Parameter(torch.stack(init["w2"]).contiguous())
        self.b2 = nn.Parameter(torch.zeros(s, v, 1, h2))
        self.w3 = nn.Parameter(torch.stack(init["w3"]).contiguous())
        self.b3 = nn.Parameter(torch.zeros(s, v, 1, 1))

    @property
    def n_models(self) -> int:
        return len(self.seeds) * self.n_variants

    def forward(self, x: torch.Tensor, masks: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        """Scores of every model on its seed's rows.

        Parameters
        ----------
        x : ``[S, R, D]`` one batch of R rows per seed, or ``[R, D]`` shared by all seeds.
        masks : dropout masks ``([S, R, H1], [S, R, H2])`` already scaled by 1 / (1 - p),
            shared by the V models of a seed; ``None`` = no dropout (evaluation).

        Returns
        -------
        ``[S, V, R]`` scores in [0, 1].
        """
        s, v = len(self.seeds), self.n_variants
        h1, h2 = self.hidden
        r = x.shape[-2]
        dtype = self.layer1_dtype  # bf16: the casts are differentiable, gradients arrive in fp32
        x, w1, b1 = x.to(dtype), self.w1.to(dtype), self.b1.to(dtype)
        if x.dim() == 3:
            h = torch.baddbmm(b1, x, w1)  # [S, R, V*H1], bias fused in the product
        else:
            h = torch.matmul(x, w1) + b1  # one input shared by all seeds
        h = torch.relu(h).float().view(s, r, v, h1)
        if masks is not None:
            h = h * masks[0].unsqueeze(2)
        # einsum, not matmul on a transposed view: the latter copies and is ~10x slower on CPU
        h = torch.einsum("srvh,svhk->svrk", h, self.w2) + self.b2  # [S, V, R, H2]
        if self.layer2 == "relu":
            h = torch.relu(h)
        if masks is not None:
            h = h * masks[1].unsqueeze(1)
        return torch.sigmoid(torch.einsum("svrk,svko->svro", h, self.w3) + self.b3).squeeze(-1)  # [S, V, R]

    def scorer(self, model: int) -> Scorer:
        """Model ``m`` (= seed index * V + variant index) as a standalone :class:`Scorer`."""
        s, v = divmod(model, self.n_variants)
        h1, _ = self.hidden
        out = Scorer(self.dim, self.hidden, self.dropout, self.layer2)
        with torch.no_grad():
            layers = [m for m in out.net if isinstance(m, nn.Linear)]
            layers[0].weight.copy_(self.w1[s, :, v * h1:(v + 1) * h1].T)
            layers[0].bias.copy_(self.b1[s, 0, v * h1:(v + 1) * h1])
            layers[1].weight.copy_(self.w2[s, v].T)
            layers[1].bias.copy_(self.b2[s, v, 0])
            layers[2].weight.copy_(self.w3[s, v].T)
            layers[2].bias.copy_(self.b3[s, v, 0])
        return out
