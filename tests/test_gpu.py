"""CUDA checks (run by benchmarks/gpu_check.sh on a GPU machine; skipped without CUDA)."""

import copy

import numpy as np
import pytest
import torch

from cbmil.train import RunSettings, TrainConfig, Trainer, Variant, evaluate_bank, score_snippets, select_device
from conftest import assert_parameters_close

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def config(**kw):
    return TrainConfig(**{"iterations": 12, "batch_size": 6, **kw})


def settings(device, **kw):
    return RunSettings(**{"progress": False, "device": device, "precision": "fp32", **kw})


def test_auto_device_is_cuda_and_everything_lives_there(tiny):
    assert select_device("auto").type == "cuda"
    trainer = Trainer(tiny, [Variant("MIL")], [0], config(), settings("auto"))
    assert trainer.bags.is_cuda and all(p.is_cuda for p in trainer.bank.parameters())
    assert trainer.step().is_cuda


def test_vectorized_equals_single_on_cuda(tiny):
    variants = [Variant("MIL"), Variant("CB", 0.99)]
    grid = Trainer(tiny, variants, [0, 1], config(), settings("cuda")).run()
    alone = Trainer(tiny, [variants[1]], [1], config(), settings("cuda")).run()
    assert_parameters_close(grid.bank.scorer(3), alone.bank.scorer(0), rtol=1e-3, atol=1e-4)


def test_cuda_runs_repeat_and_their_models_score_alike_on_the_cpu(tiny):
    a = Trainer(tiny, [Variant("MIL")], [0], config(), settings("cuda")).run()
    b = Trainer(tiny, [Variant("MIL")], [0], config(), settings("cuda")).run()
    assert_parameters_close(a.bank, b.bank, rtol=1e-4, atol=1e-5)
    # dropout masks come from the device's generator, so CPU training draws other masks and
    # ends elsewhere; what must agree is the trained model, scored and evaluated on either device
    on_cpu = copy.deepcopy(a.bank).cpu()
    np.testing.assert_allclose(score_snippets(on_cpu, tiny.test_snippets), score_snippets(a.bank, tiny.test_snippets),
                               rtol=0, atol=1e-5)
    assert evaluate_bank(on_cpu, tiny)[0]["total_auc"] == pytest.approx(evaluate_bank(a.bank, tiny)[0]["total_auc"],
                                                                         abs=1e-4)


def test_bf16_on_cuda_tracks_fp32(tiny):
    start = Trainer(tiny, [Variant("MIL")], [0], config(), settings("cuda")).bank.w1.detach().clone()
    fp32 = Trainer(tiny, [Variant("MIL")], [0], config(iterations=20), settings("cuda")).run()
    bf16 = Trainer(tiny, [Variant("MIL")], [0], config(iterations=20), settings("cuda", precision="bf16")).run()
    assert bf16.bags.dtype == torch.bfloat16 and bf16.bank.w1.dtype == torch.float32
    # A sanity bound that catches a broken bf16 path (gradients lost, a wrong cast: gap ~ 100 %).
    # Seen on an H200: gap 22 % of what 20 steps changed (CPU: 4 %): cuBLAS may also reduce bf16
    # products in reduced precision, and Adagrad's first steps move every weight by ~lr whatever
    # the gradient's size. Whole studies agree within seed noise (README, "Performance").
    assert (bf16.bank.w1 - fp32.bank.w1).norm() < 0.4 * (fp32.bank.w1 - start).norm()
    scores = score_snippets(bf16.bank, tiny.test_snippets)
    assert np.abs(scores - score_snippets(fp32.bank, tiny.test_snippets)).max() < 0.05


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_cuda_graph_trains_the_eager_models(tiny, precision):
    # the recorded step replays gather, masks (registered generators), scores, loss, gradients and
    # Adagrad: same batches, same masks, same updates as eager steps, up to float rounding
    variants, seeds = [Variant("MIL"), Variant("CB", 0.99)], [0, 1]
    start = Trainer(tiny, variants, seeds, config(), settings("cuda", precision=precision)).bank.w1.detach().clone()
    eager = Trainer(tiny, variants, seeds, config(iterations=20), settings("cuda", precision=precision)).run()
    graphed = Trainer(tiny, variants, seeds, config(iterations=20),
                      settings("cuda", precision=precision, cuda_graph=True)).run()
    assert graphed._graphed is not None and graphed._graphed.graph is not None
    assert (eager.bank.w1 - start).abs().max() > 1e-3
    scores = [score_snippets(t.bank, tiny.test_snippets) for t in (graphed, eager)]
    if precision == "fp32":
        assert_parameters_close(graphed.bank, eager.bank, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(graphed.history["loss"], eager.history["loss"], rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(scores[0], scores[1], rtol=0, atol=1e-4)
    else:  # a last-bit difference of Adagrad's rounding can flip a weight's bf16 rounding
        assert (graphed.bank.w1 - eager.bank.w1).norm() < 0.05 * (eager.bank.w1 - start).norm()
        np.testing.assert_allclose(scores[0], scores[1], rtol=0, atol=1e-3)


def test_cuda_graph_checkpoint_resumes_eagerly(tiny, tmp_path):
    # the generators' states after k replays are those after k eager steps: a checkpoint taken
    # from graphed training resumes eagerly to the models of eager training
    eager = Trainer(tiny, [Variant("MIL")], [3], config(iterations=12), settings("cuda")).run()
    Trainer(tiny, [Variant("MIL")], [3], config(iterations=6), settings("cuda", cuda_graph=True)).run(
        checkpoint=tmp_path / "half.pt")
    resumed = Trainer(tiny, [Variant("MIL")], [3], config(iterations=12), settings("cuda")).load(tmp_path / "half.pt")
    resumed.run()
    assert_parameters_close(resumed.bank, eager.bank, rtol=1e-4, atol=1e-5)
