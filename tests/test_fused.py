"""The fused training pass (fused=True) against autograd through ScorerBank.forward (the default)."""

import numpy as np
import pytest
import torch

from cbmil.accel.fused import BankTrainingPass, training_scores
from cbmil.model import ScorerBank
from cbmil.train import RunSettings, TrainConfig, Trainer, paper_variants, score_bank
from conftest import assert_parameters_close, tiny_world


@pytest.fixture(scope="module")
def tiny_seed1():
    """The tiny world of conftest drawn with seed 1 (the ``tiny`` fixture is seed 0)."""
    return tiny_world(1)


def config(**kw):
    return TrainConfig(**{"iterations": 20, "batch_size": 6, **kw})


def settings(**kw):
    return RunSettings(**{"progress": False, "device": "cpu", "precision": "fp32", **kw})


def test_autograd_is_the_default_and_fused_is_opt_in():
    assert RunSettings().fused is False


@pytest.mark.parametrize("layer2", ["relu", "linear"])
def test_fp32_fused_training_gives_the_eager_scores_after_20_steps(tiny_seed1, layer2):
    variants, seeds = paper_variants((0.9, 0.9999)), [0, 3]
    eager = Trainer(tiny_seed1, variants, seeds, config(layer2=layer2), settings()).run()
    fused = Trainer(tiny_seed1, variants, seeds, config(layer2=layer2), settings(fused=True)).run()
    moved = (eager.bank.w1 - Trainer(tiny_seed1, variants, seeds, config(), settings()).bank.w1).abs().max()
    assert moved > 1e-3                                   # training did change the weights
    np.testing.assert_allclose(score_bank(fused.bank, tiny_seed1)[0], score_bank(eager.bank, tiny_seed1)[0],
                               rtol=0, atol=1e-5)
    assert_parameters_close(fused.bank, eager.bank, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(fused.history["loss"], eager.history["loss"], rtol=1e-5, atol=1e-7)


def test_bf16_fused_training_tracks_eager_bf16(tiny_seed1):
    # as the bf16 test of test_train: same batches and masks, gradients of layer 1 in bf16 both
    # ways; the two may part by bf16 rounding of the accumulated gradients, far less than training moves
    variants = paper_variants((0.99,))
    start = Trainer(tiny_seed1, variants, [0], config(), settings(precision="bf16")).bank.w1.detach().clone()
    eager = Trainer(tiny_seed1, variants, [0], config(), settings(precision="bf16")).run()
    fused = Trainer(tiny_seed1, variants, [0], config(), settings(fused=True, precision="bf16")).run()
    assert all(p.dtype == torch.float32 for p in fused.bank.parameters())
    assert (fused.bank.w1 - eager.bank.w1).norm() < 0.05 * (eager.bank.w1 - start).norm()
    np.testing.assert_allclose(score_bank(fused.bank, tiny_seed1)[0], score_bank(eager.bank, tiny_seed1)[0], atol=1e-3)


def per_model_scores(bank, x, masks):
    """The bank's training forward written model by model with plain ops (an independent reference)."""
    h1 = bank.hidden[0]
    out = []
    for s in range(len(bank.seeds)):
        row = []
        for v in range(bank.n_variants):
            cols = slice(v * h1, (v + 1) * h1)
            a1 = torch.relu(x[s] @ bank.w1[s, :, cols] + bank.b1[s, 0, cols]) * masks[0][s]
            a2 = torch.relu(a1 @ bank.w2[s, v] + bank.b2[s, v, 0]) * masks[1][s]
            row.append(torch.sigmoid(a2 @ bank.w3[s, v] + bank.b3[s, v, 0]).squeeze(-1))
        out.append(torch.stack(row))
    return torch.stack(out)                                   # [S, V, R]


def test_gradients_of_one_pass_equal_autograd_in_float64():
    # the backward written out, against torch's gradient of a model-by-model float64 forward
    torch.manual_seed(0)
    bank = ScorerBank(8, [0, 1], 3, hidden=(6, 4)).double()
    bank.layer1_dtype = torch.float64
    x = torch.randn(2, 10, 8, dtype=torch.float64)
    masks = ((torch.rand(2, 10, 6) > 0.5).double() * 2, (torch.rand(2, 10, 4) > 0.5).double() * 2)
    weight = torch.randn(2, 3, 10, dtype=torch.float64)
    scores = training_scores(bank, x, masks)
    torch.testing.assert_close(scores, per_model_scores(bank, x, masks), rtol=1e-12, atol=1e-14)
    fused = torch.autograd.grad((scores * weight).sum(), list(bank.parameters()))
    reference = torch.autograd.grad((per_model_scores(bank, x, masks) * weight).sum(), list(bank.parameters()))
    for name, a, b in zip(["w1", "b1", "w2", "b2", "w3", "b3"], fused, reference):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12, msg=name)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_fused_forward_gives_the_module_scores_bit_for_bit(precision):
    torch.manual_seed(2)
    bank = ScorerBank(16, [0, 1], 2, precision=precision)
    x = torch.randn(2, 12, 16)
    masks = ((torch.rand(2, 12, 512) > 0.6).float() * 2.5, (torch.rand(2, 12, 32) > 0.6).float() * 2.5)
    assert torch.equal(training_scores(bank, x, masks), bank(x, masks))


def test_gradcheck_of_the_written_out_backward():
    torch.manual_seed(1)
    s, r, d, v, h1, h2 = 1, 5, 4, 2, 3, 2
    args = [torch.randn(s, r, d, dtype=torch.float64),
            torch.randn(s, d, v * h1, dtype=torch.float64, requires_grad=True),
            torch.randn(s, 1, v * h1, dtype=torch.float64, requires_grad=True),
            torch.randn(s, v, h1, h2, dtype=torch.float64, requires_grad=True),
            torch.randn(s, v, 1, h2, dtype=torch.float64, requires_grad=True),
            torch.randn(s, v, h2, 1, dtype=torch.float64, requires_grad=True),
            torch.randn(s, v, 1, 1, dtype=torch.float64, requires_grad=True),
            torch.full((s, r, h1), 2.0, dtype=torch.float64), torch.full((s, r, h2), 2.0, dtype=torch.float64)]
    for relu2 in (True, False):
        assert torch.autograd.gradcheck(lambda *a: BankTrainingPass.apply(*a, relu2), args)


def test_fused_pass_rejects_a_shared_input():
    bank = ScorerBank(8, [0], 1)
    with pytest.raises(ValueError, match=r"\[S, R, D\]"):
        training_scores(bank, torch.randn(10, 8), (torch.ones(1, 10, 512), torch.ones(1, 10, 32)))
