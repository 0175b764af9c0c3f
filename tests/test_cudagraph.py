"""The CUDA-graph step (cbmil.accel.cudagraph) in its unrecorded form, against the reference step.

The recording itself needs a CUDA device (tests/test_gpu.py); here, on any machine: the
hand-written Adagrad is torch's, and the fixed-buffer step (host draw -> buffer -> gather,
masks, scores, loss, autograd.grad, Adagrad) trains the same models as Trainer.step.
"""

import numpy as np
import pytest
import torch

from cbmil.accel.cudagraph import GraphedStep, adagrad_update
from cbmil.train import RunSettings, TrainConfig, Trainer, check_settings, paper_variants, score_bank
from conftest import assert_parameters_close, tiny_world


@pytest.fixture(scope="module")
def tiny_seed2():
    """The tiny world of conftest drawn with seed 2 (the ``tiny`` fixture is seed 0)."""
    return tiny_world(2)


def config(**kw):
    return TrainConfig(**{"iterations": 20, "batch_size": 6, **kw})


def settings(**kw):
    return RunSettings(**{"progress": False, "device": "cpu", "precision": "fp32", **kw})


def unrecorded(trainer: Trainer, steps: int) -> Trainer:
    """``steps`` steps of ``trainer`` through the fixed-buffer step, run eagerly."""
    graphed = GraphedStep(trainer, capture=False)
    for _ in range(steps):
        loss = graphed.step()
        trainer.step_count += 1
        trainer.history["loss"].append(loss.tolist())
    return trainer


@pytest.mark.parametrize("fused_kernel", [False, True])
def test_adagrad_update_is_torch_adagrad(fused_kernel):
    # two groups (decay on kernels only, biases free) as TrainConfig(decay="kernels") builds them
    gen = torch.Generator().manual_seed(0)
    start = [torch.randn(7, 5, generator=gen), torch.randn(5, generator=gen)]
    ours = [torch.nn.Parameter(p.clone()) for p in start]
    ref = [torch.nn.Parameter(p.clone()) for p in start]

    def groups(ps):
        return [{"params": [ps[0]], "weight_decay": 2e-3}, {"params": [ps[1]], "weight_decay": 0.0}]

    opt_ours = torch.optim.Adagrad(groups(ours), lr=0.05, eps=1e-8)
    opt_ref = torch.optim.Adagrad(groups(ref), lr=0.05, eps=1e-8, fused=fused_kernel)
    for _ in range(10):
        grads = [torch.randn(p.shape, generator=gen) for p in start]
        adagrad_update(opt_ours, dict(zip(ours, grads)))
        for p, g in zip(ref, grads):
            p.grad = g.clone()
        opt_ref.step()
    for a, b, before in zip(ours, ref, start):
        assert (a - before).abs().max() > 0.05  # the updates moved the weights
        assert (a - b).abs().max() < 1e-6
    for a, b in zip(ours, ref):
        torch.testing.assert_close(opt_ours.state[a]["sum"], opt_ref.state[b]["sum"], rtol=1e-6, atol=0)


def test_adagrad_update_refuses_what_it_does_not_implement():
    p = torch.nn.Parameter(torch.ones(3))
    with pytest.raises(ValueError, match="lr_decay"):
        adagrad_update(torch.optim.Adagrad([p], lr_decay=0.1), {p: torch.ones(3)})


@pytest.mark.parametrize("model, run", [({}, {}), ({}, {"fused": True}),  # TrainConfig and RunSettings fields
                                        ({"decay": "kernels", "layer2": "linear"}, {})])
def test_fixed_buffer_step_trains_the_reference_models(tiny_seed2, model, run):
    variants, seeds = paper_variants((0.9, 0.9999)), [0, 3]
    eager = Trainer(tiny_seed2, variants, seeds, config(**model), settings(**run)).run(log_every=1)
    start = Trainer(tiny_seed2, variants, seeds, config(**model), settings(**run)).bank.w1.detach().clone()
    graphed = unrecorded(Trainer(tiny_seed2, variants, seeds, config(**model), settings(**run)), 20)
    assert (eager.bank.w1 - start).abs().max() > 1e-3  # training did change the weights
    np.testing.assert_allclose(score_bank(graphed.bank, tiny_seed2)[0], score_bank(eager.bank, tiny_seed2)[0],
                               rtol=0, atol=1e-5)
    assert_parameters_close(graphed.bank, eager.bank, rtol=1e-4, atol=1e-6)
    # per-model losses of every step: same batches and dropout masks, drawn in the same order
    assert len(eager.history["loss"]) == len(graphed.history["loss"]) == 20
    np.testing.assert_allclose(graphed.history["loss"], eager.history["loss"], rtol=1e-5, atol=1e-7)


def test_fixed_buffer_step_on_one_world_per_seed(tiny_seed2):
    worlds = [tiny_seed2, tiny_world(5)]
    variants = paper_variants((0.99,))
    eager = Trainer(worlds, variants, [0, 1], config(iterations=8), settings()).run()
    graphed = unrecorded(Trainer(worlds, variants, [0, 1], config(iterations=8), settings()), 8)
    for a, b in zip(score_bank(graphed.bank, worlds), score_bank(eager.bank, worlds)):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)


def test_checkpoint_of_the_fixed_buffer_step_resumes_as_eager(tiny_seed2, tmp_path):
    variants, seeds = paper_variants((0.99,)), [4]
    eager = Trainer(tiny_seed2, variants, seeds, config(iterations=12), settings()).run()
    half = unrecorded(Trainer(tiny_seed2, variants, seeds, config(iterations=12), settings()), 6)
    half.save(tmp_path / "half.pt")
    state = torch.load(tmp_path / "half.pt", weights_only=False)
    assert all(float(s["step"]) == 6 for s in state["optimizer"]["state"].values())  # step counts kept true
    resumed = Trainer(tiny_seed2, variants, seeds, config(iterations=12), settings()).load(tmp_path / "half.pt")
    resumed.run()
    assert resumed.step_count == 12
    assert_parameters_close(resumed.bank, eager.bank, rtol=1e-4, atol=1e-6)


def test_cuda_graph_is_opt_in_and_refuses_what_it_cannot_do(tiny_seed2):
    assert RunSettings().cuda_graph is False
    with pytest.raises(ValueError, match="needs a CUDA device.*'cpu'"):
        Trainer(tiny_seed2, paper_variants(()), [0], config(), settings(cuda_graph=True))
    import cbmil.train as train_module
    with pytest.MonkeyPatch.context() as patched:  # as on a CUDA machine: the optimiser is checked next
        patched.setattr(train_module, "select_device", lambda name: torch.device("cuda"))
        assert check_settings(settings(device="cuda", cuda_graph=True), config()).type == "cuda"
        with pytest.raises(ValueError, match="Adagrad only.*'adam'"):
            check_settings(settings(device="cuda", cuda_graph=True), config(optimizer="adam"))
    trainer = Trainer(tiny_seed2, paper_variants(()), [0], config(), settings())
    with pytest.raises(ValueError, match="CUDA graph needs a CUDA device"):
        GraphedStep(trainer, capture=True)
    adam = Trainer(tiny_seed2, paper_variants(()), [0], config(optimizer="adam"), settings())
    with pytest.raises(ValueError, match="Adagrad only"):
        GraphedStep(adam, capture=False)


def test_draw_then_gather_is_sample(tiny_seed2):
    a = Trainer(tiny_seed2, paper_variants(()), [0, 1], config(), settings())
    b = Trainer(tiny_seed2, paper_variants(()), [0, 1], config(), settings())
    x, classes = a.sample()
    y, classes_b = b.gather(b.draw())
    assert torch.equal(x, y) and torch.equal(classes, classes_b)
    assert x.shape == (2, 2 * 6 * 32, tiny_seed2.dim) and classes.shape == (2, 6)


@pytest.mark.parametrize("command", [["reproduce", "--preset", "full"], ["imbalance"], ["strength"]])
def test_cuda_graph_flag_is_refused_on_cpu_before_any_work(command, tmp_path, capsys):
    from cbmil import cli

    assert cli.main([*command, "--cuda-graph", "--device", "cpu", "--out", str(tmp_path / "out")]) == 2
    assert "cuda_graph=True needs a CUDA device; device 'cpu' is 'cpu'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()  # refused before making data or writing anything


def test_trainer_dispatches_to_the_graphed_step_and_records_afresh_after_a_load(tiny_seed2, tmp_path, monkeypatch):
    # Trainer's side of --cuda-graph, run on the CPU with the step left unrecorded: the first step
    # builds the graphed step, later steps reuse it, a load (new optimiser state) drops it
    import dataclasses

    import cbmil.accel.cudagraph as cudagraph_module

    built = []

    def unrecorded_graphed_step(trainer):
        built.append(GraphedStep(trainer, capture=False))
        return built[-1]

    monkeypatch.setattr(cudagraph_module, "GraphedStep", unrecorded_graphed_step)  # Trainer.step imports it from there
    variants, seeds = paper_variants((0.99,)), [1, 2]
    trainer = Trainer(tiny_seed2, variants, seeds, config(iterations=12), settings())
    trainer.settings = dataclasses.replace(trainer.settings, cuda_graph=True)  # as a CUDA trainer would have it
    trainer.run(iterations=6, checkpoint=tmp_path / "half.pt")
    assert len(built) == 1 and trainer.step_count == 6
    trainer.load(tmp_path / "half.pt")
    trainer.run()
    assert len(built) == 2 and trainer.step_count == 12
    eager = Trainer(tiny_seed2, variants, seeds, config(iterations=12), settings()).run()
    assert_parameters_close(trainer.bank, eager.bank, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(trainer.history["loss"][-1], eager.history["loss"][-1], rtol=1e-5, atol=1e-7)
