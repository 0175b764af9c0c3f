import numpy as np
import pytest
import torch

from cbmil.losses import class_balanced_weights
from cbmil.model import Scorer, ScorerBank, native_bf16, resolve_precision
from cbmil.train import (RunSettings, TrainConfig, Trainer, Variant, evaluate_bank, paper_variants, score_snippets,
                         select_device, variant_weights)
from cbmil.data.ucf_crime import CLASSES, NORMAL_INDEX
from conftest import assert_parameters_close, tiny_world


def config(**kw):
    return TrainConfig(**{"iterations": 12, "batch_size": 6, **kw})


def settings(**kw):
    return RunSettings(**{"progress": False, "device": "cpu", "precision": "fp32", **kw})


def params_of(scorer: Scorer):
    return [p.detach() for p in scorer.parameters()]


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_grid_of_models_equals_models_trained_alone(tiny, precision):
    variants = [Variant("MIL"), Variant("CB-MIL 0.99", 0.99)]
    grid = Trainer(tiny, variants, [0, 1], config(), settings(precision=precision)).run()
    for model, (seed, variant) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):
        alone = Trainer(tiny, [variants[variant]], [seed], config(), settings(precision=precision)).run()
        assert_parameters_close(grid.bank.scorer(model), alone.bank.scorer(0), rtol=1e-4, atol=1e-5)


def test_models_of_one_seed_start_equal_and_differ_only_by_the_loss(tiny):
    # equal class counts: only raw weights (all < 1) make CB-MIL differ from MIL here
    variants = [Variant("MIL"), Variant("CB 0.999", 0.999)]
    trainer = Trainer(tiny, variants, [3], config(normalize_weights=False), settings())
    first, second = (params_of(trainer.bank.scorer(m)) for m in (0, 1))
    assert all(torch.equal(a, b) for a, b in zip(first, second))
    trainer.run()
    first, second = (params_of(trainer.bank.scorer(m)) for m in (0, 1))
    assert not all(torch.equal(a, b) for a, b in zip(first, second))


def test_same_seed_same_weights_other_seed_other_weights(tiny):
    a = Trainer(tiny, [Variant("MIL")], [5], config(), settings()).run()
    b = Trainer(tiny, [Variant("MIL")], [5], config(), settings()).run()
    c = Trainer(tiny, [Variant("MIL")], [6], config(), settings()).run()
    assert_parameters_close(a.bank, b.bank, rtol=0, atol=0)
    assert not torch.equal(a.bank.w1, c.bank.w1)


def test_resumed_run_ends_with_the_same_weights(tiny, tmp_path):
    variants = paper_variants((0.99,))
    whole = Trainer(tiny, variants, [0, 1], config(iterations=16), settings()).run()
    ckpt = tmp_path / "run.pt"
    Trainer(tiny, variants, [0, 1], config(iterations=16), settings()).run(iterations=7, checkpoint=ckpt)
    resumed = Trainer(tiny, variants, [0, 1], config(iterations=16), settings()).load(ckpt)
    assert resumed.step_count == 7
    state = torch.load(ckpt, weights_only=False)  # what defines the models, and how they ran, side by side
    assert state["config"]["iterations"] == 16 and "precision" not in state["config"]
    assert (state["settings"]["device"], state["settings"]["precision"]) == ("cpu", "fp32")
    resumed.run()
    assert_parameters_close(whole.bank, resumed.bank, rtol=0, atol=0)
    assert resumed.history["step"] == whole.history["step"]


def test_checkpoint_for_other_seeds_is_refused(tiny, tmp_path):
    ckpt = tmp_path / "run.pt"
    Trainer(tiny, [Variant("MIL")], [0], config(iterations=2), settings()).run(checkpoint=ckpt)
    with pytest.raises(ValueError, match="other seeds or variants"):
        Trainer(tiny, [Variant("MIL")], [1], config(), settings()).load(ckpt)


def test_variant_weights_follow_the_training_counts(tiny):
    table = variant_weights([Variant("MIL"), Variant("b", 0.9), Variant("lit", 0.9, sign=-1)],
                            tiny.train_classes, normalize=False)
    assert table.shape == (3, NORMAL_INDEX + 1)
    assert torch.all(table[0] == 1)
    expected = class_balanced_weights(np.full(13, 3), 0.9, normalize="none")
    np.testing.assert_allclose(table[1, :13].numpy(), expected, rtol=1e-6)
    assert torch.all(table[2, :13] < 0)


def test_bank_scores_match_standalone_scorers(tiny):
    trainer = Trainer(tiny, paper_variants((0.9,)), [0, 1], config(iterations=5), settings()).run()
    snippets = tiny.test_snippets[:50]
    scores = score_snippets(trainer.bank, snippets)
    assert scores.shape == (4, 50)
    for m in range(4):
        scorer = trainer.bank.scorer(m).eval()
        with torch.no_grad():
            expected = scorer(torch.as_tensor(snippets[:, 0])).numpy()
        np.testing.assert_allclose(scores[m], expected, rtol=1e-5, atol=1e-6)


def test_ten_crop_scores_are_the_mean_of_crop_scores():
    bank = ScorerBank(8, [0], 1).eval()
    crops = np.random.default_rng(0).standard_normal((5, 10, 8)).astype(np.float32)
    scores = score_snippets(bank, crops)
    with torch.no_grad():
        per_crop = bank.scorer(0).eval()(torch.as_tensor(crops)).numpy()
    np.testing.assert_allclose(scores[0], per_crop.mean(axis=1), rtol=1e-5)


def test_training_lowers_the_loss_and_evaluation_gives_aucs(tiny):
    trainer = Trainer(tiny, [Variant("MIL")], [0], config(iterations=60, optimizer="adam"), settings(eval_every=30))
    trainer.run(log_every=10)
    losses = np.array(trainer.history["loss"])[:, 0]
    assert losses[-3:].mean() < losses[:3].mean()
    assert trainer.history["eval_step"] == [30, 60]
    result = evaluate_bank(trainer.bank, tiny)[0]
    untrained = evaluate_bank(Trainer(tiny, [Variant("MIL")], [0], config(), settings()).bank, tiny)[0]  # step 0
    assert result["total_auc"] > untrained["total_auc"] and result["abnormal_auc"] > untrained["abnormal_auc"]
    assert set(result["per_class_auc"]) == set(CLASSES)


def test_config_validation_and_device():
    with pytest.raises(ValueError, match="optimizer"):
        TrainConfig(optimizer="lbfgs")
    with pytest.raises(ValueError, match="crop"):
        TrainConfig(crop="centre")
    with pytest.raises(ValueError, match="eval_every"):
        RunSettings(eval_every=-1)
    assert select_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert select_device("cpu").type == "cpu"



def test_a_device_that_is_not_here_is_refused_by_name():
    with pytest.raises(ValueError, match="'gpu' is not a device name"):
        select_device("gpu")
    with pytest.raises(ValueError, match="'mps': the kit trains on cpu or cuda"):
        select_device("mps")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="'cuda': CUDA is not available here"):
            select_device("cuda")
    else:
        with pytest.raises(ValueError, match="CUDA device"):
            select_device(f"cuda:{torch.cuda.device_count()}")


def test_the_command_line_refuses_a_missing_device_before_any_work(tmp_path, capsys):
    from cbmil import cli

    assert cli.main(["reproduce", "--preset", "full", "--device", "gpu", "--out", str(tmp_path / "out")]) == 2
    assert "device 'gpu' is not a device name" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_crop_mean_uses_the_crop_average():
    data = tiny_world(0, max_snippets=30)  # its own copy: the test rewrites its arrays
    data.train_bags = np.repeat(data.train_bags, 3, axis=1) + np.arange(3, dtype=np.float32)[None, :, None, None]
    data.test_snippets = np.repeat(data.test_snippets, 3, axis=1)
    trainer = Trainer(data, [Variant("MIL")], [0], config(crop="mean"), settings())
    assert trainer.bags.shape[:3] == (1, len(data.train_bags), 1)  # [worlds, bags, crops]
    torch.testing.assert_close(trainer.bags[0, :, 0], torch.as_tensor(data.train_bags).mean(1))


def test_bf16_layer1_keeps_fp32_parameters_and_tracks_fp32_training(tiny):
    start = Trainer(tiny, [Variant("MIL")], [0], config(), settings()).bank.w1.detach().clone()
    fp32 = Trainer(tiny, [Variant("MIL")], [0], config(iterations=20), settings()).run()
    bf16 = Trainer(tiny, [Variant("MIL")], [0], config(iterations=20), settings(precision="bf16")).run()
    assert bf16.bags.dtype == torch.bfloat16 and fp32.bags.dtype == torch.float32
    assert all(p.dtype == torch.float32 for p in bf16.bank.parameters())
    # same batches and masks; only layer 1's rounding differs: not bit-equal, but the two runs
    # move the weights the same way. Their gap against what training changed is data-dependent:
    # 4 % on the v1 world (uncapped context) on an AMX CPU, 21 % on the v2 world on a CPU that
    # emulates bf16 (AMD EPYC, AVX2), where the largest score gap was 0.028. A broken bf16 path
    # (or another seed) gives a gap of the order of the whole movement (another seed: 37x), so
    # the bounds below, like the CUDA test's, sit far from both.
    assert not torch.equal(fp32.bank.w1, bf16.bank.w1)
    assert (bf16.bank.w1 - fp32.bank.w1).norm() < 0.4 * (fp32.bank.w1 - start).norm()
    scores = score_snippets(bf16.bank, tiny.test_snippets)
    reference = score_snippets(fp32.bank, tiny.test_snippets)
    assert np.abs(scores - reference).max() < 0.06


def test_bf16_forward_rounds_only_layer_1():
    bank = ScorerBank(16, [0], 1, precision="bf16").eval()
    x = torch.randn(7, 16)
    expected = bank.scorer(0).eval()
    with torch.no_grad():
        layer1 = expected.net[0]
        layer1.weight.copy_(layer1.weight.bfloat16().float())
        got = bank(x.bfloat16().float())[0, 0]
        want = expected(x.bfloat16().float())
    torch.testing.assert_close(got, want, rtol=1e-2, atol=1e-3)
    with pytest.raises(ValueError, match="precision"):
        ScorerBank(16, [0], 1, precision="fp16")
    with pytest.raises(ValueError, match="precision"):
        RunSettings(precision="int8")


def test_auto_precision_resolves_by_hardware_and_is_recorded(tiny):
    trainer = Trainer(tiny, [Variant("MIL")], [0], config(), settings(precision="auto"))
    assert trainer.settings.precision == ("bf16" if native_bf16("cpu") else "fp32")
    assert trainer.bank.precision == trainer.settings.precision
    assert resolve_precision("fp32", "cpu") == "fp32" and resolve_precision("bf16", "cpu") == "bf16"
    with pytest.raises(ValueError, match="precision"):
        resolve_precision("half", "cpu")


def test_sultani_configuration_is_his_script(tiny):
    cfg = TrainConfig.sultani(iterations=3, batch_size=6)
    assert (cfg.optimizer, cfg.lr, cfg.adagrad_eps, cfg.layer2, cfg.decay) == ("adagrad", 0.01, 1e-8, "linear", "kernels")
    assert cfg.weight_decay == 0.002  # gradient of Keras' l2(0.001) * sum(W^2)
    assert TrainConfig.sultani().iterations == 20_000 and TrainConfig().layer2 == "relu"
    trainer = Trainer(tiny, [Variant("MIL")], [0], cfg, settings())
    groups = trainer.optimizer.param_groups
    assert [g["weight_decay"] for g in groups] == [0.002, 0.0]
    assert {id(p) for p in groups[1]["params"]} == {id(trainer.bank.b1), id(trainer.bank.b2), id(trainer.bank.b3)}
    assert groups[0]["eps"] == 1e-8 and groups[0]["lr"] == 0.01
    # layer 2 is linear: the bank and its standalone Scorer let negative pre-activations through
    bank = trainer.bank
    with torch.no_grad():
        bank.w3.fill_(1.0)
        bank.b2.fill_(-100.0)  # every layer-2 unit strongly negative: ReLU would give exactly sigmoid(b3)
    x = torch.randn(5, tiny.dim)
    scores = bank(x)[0, 0]
    assert torch.all(scores < 0.01)  # sigmoid of a large negative sum, not sigmoid(0) = 0.5
    torch.testing.assert_close(bank.scorer(0)(x), scores, rtol=1e-5, atol=1e-6)
    assert trainer.run().step_count == 3


def test_kernel_only_decay_leaves_biases_alone(tiny):
    cfg = config(iterations=1, decay="kernels", weight_decay=0.5)
    trainer = Trainer(tiny, [Variant("MIL")], [0], cfg, settings())
    assert [g["weight_decay"] for g in trainer.optimizer.param_groups] == [0.5, 0.0]
    with pytest.raises(ValueError, match="decay"):
        TrainConfig(decay="biases")


@pytest.mark.parametrize("dropout", [0.0, 0.6, 1 - 2**-16])
def test_dropout_masks_keep_the_configured_share(tiny, dropout):
    trainer = Trainer(tiny, [Variant("MIL")], [0], config(dropout=dropout), settings())
    m1, m2 = trainer.masks(200)
    kept = torch.cat([m1.flatten(), m2.flatten()]) > 0
    assert abs(kept.float().mean().item() - (1 - dropout)) < 0.01
    if dropout == 0.0:  # every unit kept, unscaled (32768 must not wrap in int16)
        assert torch.equal(m1, torch.ones_like(m1)) and torch.equal(m2, torch.ones_like(m2))


# ----------------------------------------------------------------------------- class-balanced draw (sampler_beta)

def test_sampler_beta_is_validated_naming_the_field():
    assert TrainConfig().sampler_beta is None
    zero = TrainConfig(sampler_beta=0).sampler_beta
    assert zero == 0.0 and isinstance(zero, float)
    assert TrainConfig(sampler_beta=np.float64(0.9999)).sampler_beta == 0.9999
    for bad in (1.0, -0.1, 1.5, float("nan"), float("inf"), True, "0.9"):
        with pytest.raises(ValueError, match=r"TrainConfig.sampler_beta must be None .* 0 <= sampler_beta < 1"):
            TrainConfig(sampler_beta=bad)


def plain_draw(trainer: Trainer, generators) -> torch.Tensor:
    """The plain draw written out, as it was before the class-balanced draw existed: per seed a
    randperm of the abnormal bags, one of the normal bags (first B of each), then 2B crops."""
    b, n_crops, n = trainer.config.batch_size, trainer.bags.shape[2], trainer.bags.shape[1]
    classes = torch.as_tensor(np.asarray(trainer.data.train_classes, dtype=np.int64))
    abnormal = torch.nonzero(classes != NORMAL_INDEX).flatten()
    normal = torch.nonzero(classes == NORMAL_INDEX).flatten()
    out = []
    for i, g in enumerate(generators):
        bags = torch.cat([abnormal[torch.randperm(len(abnormal), generator=g)[:b]],
                          normal[torch.randperm(len(normal), generator=g)[:b]]])
        crops = torch.randint(n_crops, (2 * b,), generator=g)
        world = i if len(trainer.worlds) > 1 else 0
        out.append(torch.cat([(world * n + bags) * n_crops + crops, classes[bags[:b]]]))
    return torch.stack(out)


def test_the_default_config_draws_and_trains_as_the_plain_run(tiny):
    """TrainConfig() keeps the plain draw, bit for bit: its batches are the written-out plain draw's,
    an explicit sampler_beta=None run ends with bit-equal weights and losses, no balance stream exists."""
    worlds = [tiny, tiny_world(1)]
    trainer = Trainer(worlds, paper_variants((0.99,)), [0, 4], config(), settings())
    assert trainer.sampler is None and trainer.balance_rng is None
    generators = [torch.Generator().manual_seed(s) for s in (0, 4)]
    for _ in range(5):
        assert torch.equal(trainer.draw(), plain_draw(trainer, generators))
    default = Trainer(worlds, paper_variants((0.99,)), [0, 4], config(), settings()).run(log_every=1)
    explicit = Trainer(worlds, paper_variants((0.99,)), [0, 4], config(sampler_beta=None), settings()).run(log_every=1)
    assert_parameters_close(default.bank, explicit.bank, rtol=0, atol=0)
    assert default.history["loss"] == explicit.history["loss"]
    assert "balance_rng" not in default.state_dict()


def test_a_resumed_sampler_run_ends_with_the_same_weights(tmp_path):
    data = tiny_world(0, train_counts={c: 2 + i for i, c in enumerate(CLASSES)} | {"Normal": 30})
    variants, cfg = paper_variants((0.99,)), config(iterations=14, sampler_beta=0.9999)
    whole = Trainer(data, variants, [0, 1], cfg, settings()).run()
    ckpt = tmp_path / "run.pt"
    Trainer(data, variants, [0, 1], cfg, settings()).run(iterations=6, checkpoint=ckpt)
    state = torch.load(ckpt, weights_only=False)
    assert len(state["balance_rng"]) == 2 and state["config"]["sampler_beta"] == 0.9999
    resumed = Trainer(data, variants, [0, 1], cfg, settings()).load(ckpt)
    assert resumed.step_count == 6
    resumed.run()
    assert_parameters_close(whole.bank, resumed.bank, rtol=0, atol=0)
    assert resumed.history["loss"] == whole.history["loss"]
    # a resume that did not restore the balance stream would draw other abnormal bags from step 7 on
    broken = Trainer(data, variants, [0, 1], cfg, settings()).load(ckpt)
    for g in broken.balance_rng:
        g.manual_seed(123)
    assert not torch.equal(broken.run().bank.w1, whole.bank.w1)
    # the draw is part of what a checkpoint was made with: a plain trainer refuses it, and vice versa
    with pytest.raises(ValueError, match="sampler_beta=0.9999, this trainer has sampler_beta=None"):
        Trainer(data, variants, [0, 1], config(iterations=14), settings()).load(ckpt)
    plain = tmp_path / "plain.pt"
    Trainer(data, variants, [0, 1], config(iterations=14), settings()).run(iterations=2, checkpoint=plain)
    with pytest.raises(ValueError, match="sampler_beta=None, this trainer has sampler_beta=0.9999"):
        Trainer(data, variants, [0, 1], cfg, settings()).load(plain)
