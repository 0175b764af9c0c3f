"""CUDA checks (run by benchmarks/gpu_check.sh on a GPU machine; skipped without CUDA)."""

import numpy as np
import pytest
import torch

from cbmil.data.synthetic import make_dataset
from cbmil.train import TrainConfig, Trainer, Variant, evaluate_bank, score_snippets, select_device
from cbmil.data.ucf_crime import CLASSES

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

TINY = {c: 3 for c in CLASSES} | {"Normal": 30}


@pytest.fixture(scope="module")
def tiny():
    return make_dataset("ci", seed=0, train_counts=TINY, test_counts={c: 1 for c in CLASSES} | {"Normal": 3},
                        max_snippets=60)


def config(device, **kw):
    return TrainConfig(**{"iterations": 12, "batch_size": 6, "progress": False, "device": device, "precision": "fp32",
                           **kw})


def test_auto_device_is_cuda_and_everything_lives_there(tiny):
    assert select_device("auto").type == "cuda"
    trainer = Trainer(tiny, [Variant("MIL")], [0], config("auto"))
    assert trainer.bags.is_cuda and all(p.is_cuda for p in trainer.bank.parameters())
    assert trainer.step().is_cuda


def test_vectorized_equals_single_on_cuda(tiny):
    variants = [Variant("MIL"), Variant("CB", 0.99)]
    grid = Trainer(tiny, variants, [0, 1], config("cuda")).run()
    alone = Trainer(tiny, [variants[1]], [1], config("cuda")).run()
    for a, b in zip(grid.bank.scorer(3).parameters(), alone.bank.scorer(0).parameters()):
        torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-4)


def test_cuda_runs_repeat_and_agree_with_cpu_within_tolerance(tiny):
    a = Trainer(tiny, [Variant("MIL")], [0], config("cuda")).run()
    b = Trainer(tiny, [Variant("MIL")], [0], config("cuda")).run()
    for x, y in zip(a.bank.parameters(), b.bank.parameters()):
        torch.testing.assert_close(x, y, rtol=1e-4, atol=1e-5)
    auc_gpu = evaluate_bank(a.bank, tiny)[0]["total_auc"]
    assert 0 <= auc_gpu <= 1


def test_bf16_on_cuda_tracks_fp32(tiny):
    start = Trainer(tiny, [Variant("MIL")], [0], config("cuda")).bank.w1.detach().clone()
    fp32 = Trainer(tiny, [Variant("MIL")], [0], config("cuda", iterations=20)).run()
    bf16 = Trainer(tiny, [Variant("MIL")], [0], config("cuda", iterations=20, precision="bf16")).run()
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
    start = Trainer(tiny, variants, seeds, config("cuda", precision=precision)).bank.w1.detach().clone()
    eager = Trainer(tiny, variants, seeds, config("cuda", iterations=20, precision=precision)).run()
    graphed = Trainer(tiny, variants, seeds, config("cuda", iterations=20, precision=precision, cuda_graph=True)).run()
    assert graphed._graphed is not None and graphed._graphed.graph is not None
    assert (eager.bank.w1 - start).abs().max() > 1e-3
    scores = [score_snippets(t.bank, tiny.test_snippets) for t in (graphed, eager)]
    if precision == "fp32":
        for a, b in zip(graphed.bank.parameters(), eager.bank.parameters()):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(graphed.history["loss"], eager.history["loss"], rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(scores[0], scores[1], rtol=0, atol=1e-4)
    else:  # a last-bit difference of Adagrad's rounding can flip a weight's bf16 rounding
        assert (graphed.bank.w1 - eager.bank.w1).norm() < 0.05 * (eager.bank.w1 - start).norm()
        np.testing.assert_allclose(scores[0], scores[1], rtol=0, atol=1e-3)


def test_cuda_graph_checkpoint_resumes_eagerly(tiny, tmp_path):
    # the generators' states after k replays are those after k eager steps: a checkpoint taken
    # from graphed training resumes eagerly to the models of eager training
    eager = Trainer(tiny, [Variant("MIL")], [3], config("cuda", iterations=12)).run()
    Trainer(tiny, [Variant("MIL")], [3], config("cuda", iterations=6, cuda_graph=True)).run(
        checkpoint=tmp_path / "half.pt")
    resumed = Trainer(tiny, [Variant("MIL")], [3], config("cuda", iterations=12)).load(tmp_path / "half.pt").run()
    for a, b in zip(resumed.bank.parameters(), eager.bank.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
