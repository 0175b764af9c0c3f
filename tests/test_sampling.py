"""Class-balanced re-sampling (cbmil.sampling): probabilities, the expected-gradient identity with
re-weighting, the sampler's draw (frequencies, within-class draw, reproducibility) and its errors;
and the draw in a Trainer (TrainConfig.sampler_beta): pairing with the plain run, class frequencies,
the speed paths."""

import doctest

import numpy as np
import pytest
import torch
from scipy.stats import chisquare

import cbmil.sampling as sampling
from cbmil.data.ucf_crime import CLASSES, NORMAL_INDEX, TRAIN_COUNTS
from cbmil.losses import class_balanced_weights
from cbmil.sampling import ClassBalancedSampler, class_sampling_probabilities, mean_bag_weight
from cbmil.train import BALANCE_SEED_OFFSET, RunSettings, TrainConfig, Trainer, Variant, paper_variants
from conftest import assert_parameters_close, tiny_world

UCF = np.array([TRAIN_COUNTS[c] for c in CLASSES], dtype=np.float64)


def ucf_train_classes(seed: int = 0) -> np.ndarray:
    """Class index of each of UCF-Crime's 1,610 training bags (810 abnormal, 800 normal), shuffled."""
    labels = np.concatenate([np.full(int(UCF[c]), c) for c in range(len(CLASSES))]
                            + [np.full(TRAIN_COUNTS["Normal"], NORMAL_INDEX)])
    return np.random.default_rng(seed).permutation(labels)


def test_doctests():
    result = doctest.testmod(sampling, verbose=False)
    assert result.attempted >= 5 and result.failed == 0


# ----------------------------------------------------------------------------- probabilities

@pytest.mark.parametrize("normalize", ["classes", "bags", "none"])
@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9, 0.99, 0.9999])
def test_probabilities_are_n_times_w(beta, normalize):
    p = class_sampling_probabilities(UCF, beta, normalize)
    nw = UCF * class_balanced_weights(UCF, beta, normalize)
    assert p.shape == (13,) and p.dtype == np.float64
    np.testing.assert_allclose(p, nw / nw.sum(), rtol=1e-14)
    assert abs(p.sum() - 1) < 1e-12 and (p > 0).all()


def test_probabilities_do_not_depend_on_normalisation():
    for beta in (0.9, 0.9999):
        ps = [class_sampling_probabilities(UCF, beta, how) for how in ("classes", "bags", "none")]
        np.testing.assert_allclose(ps[0], ps[1], rtol=1e-12)
        np.testing.assert_allclose(ps[0], ps[2], rtol=1e-12)


@pytest.mark.parametrize("beta", [0.0, 1e-12])
def test_beta_to_zero_is_the_plain_draw(beta):
    np.testing.assert_allclose(class_sampling_probabilities(UCF, beta), UCF / UCF.sum(), rtol=1e-10, atol=0)


def test_beta_to_one_is_uniform_over_classes():
    p = class_sampling_probabilities(UCF, 0.999999)
    assert np.abs(p - 1 / 13).max() < 1e-3
    # and the approach is monotone: closer to uniform as beta grows
    gaps = [np.abs(class_sampling_probabilities(UCF, b) - 1 / 13).max() for b in (0.9, 0.99, 0.999, 0.999999)]
    assert all(a > b for a, b in zip(gaps, gaps[1:]))


def test_dict_counts_and_absent_classes():
    p = class_sampling_probabilities(dict(zip(CLASSES, UCF)), 0.99)
    np.testing.assert_allclose(p, class_sampling_probabilities(UCF, 0.99), rtol=1e-15)
    # an absent class: probability 0, the others as if it did not exist (as variant_weights does)
    counts = UCF.copy()
    counts[9] = 0
    p = class_sampling_probabilities(counts, 0.9)
    assert p[9] == 0
    np.testing.assert_allclose(np.delete(p, 9), class_sampling_probabilities(np.delete(UCF, 9), 0.9), rtol=1e-12)


def test_mean_bag_weight():
    # by definition, and its known values: 1 with "bags", below 1 with "classes" for beta > 0
    for beta in (0.0, 0.9, 0.9999):
        w = class_balanced_weights(UCF, beta)
        assert mean_bag_weight(UCF, beta) == pytest.approx((UCF * w).sum() / UCF.sum(), rel=1e-14)
        assert mean_bag_weight(UCF, beta, "bags") == pytest.approx(1.0, rel=1e-12)
    assert mean_bag_weight(UCF, 0.0) == 1.0
    assert 0.75 < mean_bag_weight(UCF, 0.9999) < 0.77  # the docstrings' "about 0.76"


@pytest.mark.parametrize("normalize", ["classes", "bags", "none"])
@pytest.mark.parametrize("beta", [0.0, 0.9, 0.99, 0.9999])
def test_expected_gradient_identity(beta, normalize):
    """sum_c p_c g_c * m == sum_c (n_c / N) w_c g_c for arbitrary per-class gradients g_c."""
    g = np.random.default_rng(1).normal(size=(13, 50))  # per-class expected gradients, float64
    p = class_sampling_probabilities(UCF, beta, normalize)
    w = class_balanced_weights(UCF, beta, normalize)
    m = mean_bag_weight(UCF, beta, normalize)
    reweight = ((UCF / UCF.sum()) * w) @ g
    resample = (p @ g) * m
    np.testing.assert_allclose(resample, reweight, rtol=1e-12, atol=1e-15)


def test_expected_gradient_identity_of_the_draw():
    """The sampler's empirical mean of per-bag gradients (unit weights) times m matches the
    re-weighted plain mean, within sampling error: the identity for the actual draw."""
    labels = ucf_train_classes()
    beta = 0.9999
    sampler = ClassBalancedSampler.balanced(labels, beta)
    g_bag = np.random.default_rng(2).normal(size=(len(labels), 3)) + 2.0  # a gradient per bag
    w = class_balanced_weights(UCF, beta)
    abnormal = np.flatnonzero(labels != NORMAL_INDEX)
    reweight = (w[labels[abnormal], None] * g_bag[abnormal]).mean(axis=0)  # exact E over the plain draw
    bags = sampler.draw(200_000, torch.Generator().manual_seed(3)).numpy()
    resample = g_bag[bags].mean(axis=0) * mean_bag_weight(UCF, beta)
    se = g_bag[abnormal].std(axis=0) / np.sqrt(len(bags))
    assert (np.abs(resample - reweight) < 5 * se).all()


# ----------------------------------------------------------------------------- the draw

def test_class_frequencies_match_the_probabilities():
    labels = ucf_train_classes()
    beta = 0.99
    p = class_sampling_probabilities(UCF, beta)
    sampler = ClassBalancedSampler(labels, p)
    g = torch.Generator().manual_seed(12345)
    bags = torch.cat([sampler.draw(25, g) for _ in range(400)])  # 10,000 draws in batches of 25
    drawn = labels[bags.numpy()]
    assert (drawn != NORMAL_INDEX).all()
    observed = np.bincount(drawn, minlength=13)
    n = observed.sum()
    assert n == 10_000
    assert chisquare(observed, n * p).pvalue > 1e-3
    sigma = np.sqrt(p * (1 - p) / n)
    assert (np.abs(observed / n - p) < 4 * sigma).all()


def test_bags_are_uniform_within_a_class():
    labels = ucf_train_classes()
    sampler = ClassBalancedSampler(labels, class_sampling_probabilities(UCF, 0.9999))
    g = torch.Generator().manual_seed(7)
    bags = torch.cat([sampler.draw(30, g) for _ in range(1000)]).numpy()
    for c in (8, 9):  # Robbery (145 bags), Shooting (27)
        members = np.flatnonzero(labels == c)
        hits = np.bincount(np.searchsorted(members, bags[labels[bags] == c]), minlength=len(members))
        assert hits.sum() > 1000 and np.isin(bags[labels[bags] == c], members).all()
        assert chisquare(hits).pvalue > 1e-3


def test_without_replacement_within_a_class():
    # one class of 5 bags among normals: 5 draws are a permutation of them, 12 draws use each 2 or 3 times
    labels = np.array([13, 0, 13, 0, 0, 1, 0, 0, 13])
    sampler = ClassBalancedSampler(labels, [1.0, 0.0])
    members = np.flatnonzero(labels == 0)
    g = torch.Generator().manual_seed(0)
    for _ in range(20):
        assert sorted(sampler.draw(5, g).tolist()) == members.tolist()
        uses = np.bincount(sampler.draw(12, g).numpy(), minlength=len(labels))[members]
        assert set(uses) <= {2, 3} and uses.sum() == 12
    # a 2-class batch: no bag twice while each class has bags left
    sampler = ClassBalancedSampler(ucf_train_classes(), class_sampling_probabilities(UCF, 0.9999))
    for _ in range(50):
        batch = sampler.draw(30, g)
        assert len(set(batch.tolist())) == 30


def test_same_generator_state_same_draw():
    labels = ucf_train_classes()
    sampler = ClassBalancedSampler.balanced(labels, 0.9999)
    a = [sampler.draw(30, g) for g in [torch.Generator().manual_seed(42)] for _ in range(5)]
    b = [sampler.draw(30, g) for g in [torch.Generator().manual_seed(42)] for _ in range(5)]
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not torch.equal(sampler.draw(30, torch.Generator().manual_seed(43)), a[0])
    # a saved generator state replays the same stream (a Trainer's resume)
    g = torch.Generator().manual_seed(5)
    sampler.draw(30, g)
    state = g.get_state()
    first = sampler.draw(30, g)
    g.set_state(state)
    assert torch.equal(sampler.draw(30, g), first)
    assert first.dtype == torch.int64 and first.shape == (30,)


def test_balanced_constructor_uses_the_split_counts():
    labels = ucf_train_classes()
    sampler = ClassBalancedSampler.balanced(labels, 0.9)
    assert sampler.counts.tolist() == UCF.astype(int).tolist()
    np.testing.assert_allclose(sampler.probabilities.numpy(), class_sampling_probabilities(UCF, 0.9), rtol=1e-15)
    # a split missing a class: probability 0 there, and the sampler accepts it
    reduced = labels[labels != 5]
    sampler = ClassBalancedSampler.balanced(reduced, 0.9)
    assert sampler.probabilities[5] == 0 and sampler.counts[5] == 0
    drawn = reduced[sampler.draw(1000, torch.Generator().manual_seed(0)).numpy()]
    assert 5 not in drawn and NORMAL_INDEX not in drawn


# ----------------------------------------------------------------------------- errors

def test_probabilities_errors():
    with pytest.raises(ValueError, match="0 <= beta < 1"):
        class_sampling_probabilities(UCF, 1.0)
    with pytest.raises(ValueError, match="normalize must be one of"):
        class_sampling_probabilities(UCF, 0.9, "classs")
    with pytest.raises(ValueError, match="one-dimensional"):
        class_sampling_probabilities([[1, 2]], 0.9)
    with pytest.raises(ValueError, match=r"counts\[1\] = 0.5"):
        class_sampling_probabilities([3, 0.5], 0.9)
    with pytest.raises(ValueError, match=r"counts\[0\] = -1"):
        class_sampling_probabilities([-1, 2], 0.9)
    with pytest.raises(ValueError, match="all zeros"):
        class_sampling_probabilities([0, 0], 0.9)
    with pytest.raises(ValueError, match="must be numbers"):
        class_sampling_probabilities(["a", "b"], 0.9)


def test_sampler_errors():
    labels = [0, 0, 1, 13]
    with pytest.raises(ValueError, match="one-dimensional"):
        ClassBalancedSampler(labels, [[0.5, 0.5]])
    with pytest.raises(ValueError, match=r"non-negative, got probabilities\[1\] = -0.1"):
        ClassBalancedSampler(labels, [1.1, -0.1])
    with pytest.raises(ValueError, match="sum to 1"):
        ClassBalancedSampler(labels, [0.5, 0.4])
    ClassBalancedSampler(labels, [0.5, 0.5 + 5e-7])  # within 1e-6: accepted
    with pytest.raises(ValueError, match="finite"):
        ClassBalancedSampler(labels, [float("nan"), 1.0])
    with pytest.raises(ValueError, match=r"class 2 has probability 0.2 but no abnormal training bag"):
        ClassBalancedSampler(labels, [0.4, 0.4, 0.2])
    ClassBalancedSampler(labels, [0.5, 0.5, 0.0])  # an empty class of probability 0 is fine
    p = class_sampling_probabilities(UCF, 0.9)
    with pytest.raises(ValueError, match=r"class 9 \(Shooting\) has probability"):
        ClassBalancedSampler(ucf_train_classes()[ucf_train_classes() != 9], p)
    with pytest.raises(ValueError, match=r"train_classes\[1\] = 7 is neither"):
        ClassBalancedSampler([0, 7, 13], [0.5, 0.5])
    with pytest.raises(ValueError, match="integer class indices"):
        ClassBalancedSampler([0.0, 1.0], [0.5, 0.5])
    sampler = ClassBalancedSampler(labels, [0.5, 0.5])
    for bad in (0, -3, 2.0, True):
        with pytest.raises(ValueError, match="positive integer"):
            sampler.draw(bad, torch.Generator())
    with pytest.raises(TypeError, match="torch.Generator"):
        sampler.draw(4, 0)
    assert "3 abnormal bags" in repr(sampler)


# ----------------------------------------------------------------------------- in a Trainer (sampler_beta)

#: A small imbalanced split: class c has 2 + 2c training bags (2 ... 26), and 30 normal bags.
IMBALANCED = {c: 2 + 2 * i for i, c in enumerate(CLASSES)} | {"Normal": 30}
CPU = RunSettings(progress=False, device="cpu", precision="fp32")


def train_config(**kw):
    return TrainConfig(**{"iterations": 10, "batch_size": 6, **kw})


@pytest.fixture(scope="module")
def imbalanced():
    return tiny_world(0, train_counts=IMBALANCED)


@pytest.fixture(scope="module")
def three_crops(imbalanced):
    """The imbalanced world with 3 crops per training bag (crop k = the bag + k), so that a batch's rows
    say which crop was drawn."""
    import copy
    world = copy.copy(imbalanced)
    world.train_bags = np.repeat(imbalanced.train_bags, 3, axis=1) + np.arange(3, dtype=np.float32)[None, :, None, None]
    world.test_snippets = np.repeat(imbalanced.test_snippets, 3, axis=1)
    return world


def test_a_sampler_trainer_stays_paired_with_the_plain_one_but_for_the_abnormal_bags(three_crops):
    """Same seed: the same initial weights, normal bags, crops (of both halves) and dropout masks as
    the plain Trainer; other abnormal bags, those of ClassBalancedSampler.balanced on balance_rng."""
    seeds, b = [0, 3], 6
    plain = Trainer(three_crops, [Variant("MIL")], seeds, train_config(), CPU)
    balanced = Trainer(three_crops, [Variant("MIL")], seeds, train_config(sampler_beta=0.9999), CPU)
    assert_parameters_close(plain.bank, balanced.bank, rtol=0, atol=0)  # initial weights
    assert plain.balance_rng is None and len(balanced.balance_rng) == 2
    reference = ClassBalancedSampler.balanced(three_crops.train_classes, 0.9999)
    own = [torch.Generator().manual_seed(s + BALANCE_SEED_OFFSET) for s in seeds]
    assert BALANCE_SEED_OFFSET == 104729
    differ = 0
    for _ in range(10):
        p, q = plain.draw(), balanced.draw()
        assert torch.equal(p[:, b:2 * b], q[:, b:2 * b])  # normal bags and their crops
        assert torch.equal(p[:, :b] % 3, q[:, :b] % 3)  # the abnormal half's crops
        expected = torch.stack([reference.draw(b, g) for g in own])  # the abnormal bags: the sampler's draw
        assert torch.equal(q[:, :b] // 3, expected)
        assert torch.equal(q[:, 2 * b:], torch.as_tensor(three_crops.train_classes)[expected])  # their classes
        differ += int(not torch.equal(p[:, :b] // 3, q[:, :b] // 3))
    assert differ == 10
    for a, c in zip(plain.masks(40), balanced.masks(40)):  # the dropout stream is untouched by the draw
        assert torch.equal(a, c)
    # all variants of a sampler Trainer share its batches: a grid draws what one variant alone draws
    grid = Trainer(three_crops, paper_variants((0.9, 0.9999)), seeds, train_config(sampler_beta=0.9999), CPU)
    alone = Trainer(three_crops, [Variant("MIL")], seeds, train_config(sampler_beta=0.9999), CPU)
    for _ in range(3):
        assert torch.equal(grid.draw(), alone.draw())


def test_a_sampler_trainer_draws_the_classes_with_the_balanced_probabilities(imbalanced):
    labels = np.asarray(imbalanced.train_classes)
    counts = np.bincount(labels[labels != NORMAL_INDEX], minlength=13)
    beta = 0.9999
    p = class_sampling_probabilities(counts, beta)
    trainer = Trainer(imbalanced, [Variant("MIL")], [7], train_config(sampler_beta=beta), CPU)
    drawn = torch.cat([trainer.draw()[0, 2 * 6:] for _ in range(500)]).numpy()  # 3,000 abnormal bags' classes
    observed = np.bincount(drawn, minlength=13)
    assert observed.sum() == 3000 and (drawn != NORMAL_INDEX).all()
    assert chisquare(observed, observed.sum() * p).pvalue > 1e-3
    # and not the plain draw's class mix n_c / N, from which these probabilities are far at this beta
    assert chisquare(observed, observed.sum() * counts / counts.sum()).pvalue < 1e-6
    plain = Trainer(imbalanced, [Variant("MIL")], [7], train_config(), CPU)
    plain_drawn = torch.cat([plain.draw()[0, 2 * 6:] for _ in range(500)]).numpy()
    assert chisquare(np.bincount(plain_drawn, minlength=13), 3000 * counts / counts.sum()).pvalue > 1e-3


def test_the_sampler_follows_the_configured_normalisation(imbalanced):
    # the probabilities do not depend on the normalisation: the draws of every normalisation agree
    draws = [Trainer(imbalanced, [Variant("MIL")], [1], train_config(sampler_beta=0.99, normalize_weights=how), CPU)
             .draw() for how in ("classes", "bags", "none", False)]
    assert all(torch.equal(d, draws[0]) for d in draws[1:])


def test_the_graphed_steps_warm_up_draw_leaves_the_balance_stream_alone(imbalanced):
    """GraphedStep's warm-up takes a real batch and puts every host stream back (batch_rng and
    balance_rng), so the first step draws that batch again; the fixed-buffer step of a sampler
    Trainer trains as the eager step."""
    from cbmil.accel.cudagraph import GraphedStep
    cfg = train_config(sampler_beta=0.9999, iterations=8)
    trainer = Trainer(imbalanced, paper_variants((0.99,)), [0, 2], cfg, CPU)
    step = GraphedStep(trainer, capture=False)
    before = [g.get_state() for g in trainer.batch_rng + trainer.balance_rng]
    step._peek_batch()
    assert all(torch.equal(a, g.get_state()) for a, g in zip(before, trainer.batch_rng + trainer.balance_rng))
    assert torch.equal(step.batch, trainer.draw())
    eager = Trainer(imbalanced, paper_variants((0.99,)), [0, 2], cfg, CPU).run(log_every=1)
    graphed = Trainer(imbalanced, paper_variants((0.99,)), [0, 2], cfg, CPU)
    fixed = GraphedStep(graphed, capture=False)
    losses = [fixed.step().tolist() for _ in range(cfg.iterations)]
    np.testing.assert_allclose(losses, eager.history["loss"], rtol=1e-5, atol=1e-7)
    assert_parameters_close(graphed.bank, eager.bank, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("loss", ["ranking", "topk"])
def test_sampler_training_with_either_loss_and_the_fused_pass(imbalanced, loss):
    cfg = train_config(sampler_beta=0.99, loss=loss, iterations=6)
    eager = Trainer(imbalanced, paper_variants((0.99,)), [0], cfg, CPU).run(log_every=1)
    fused_settings = RunSettings(progress=False, device="cpu", precision="fp32", fused=True)
    fused = Trainer(imbalanced, paper_variants((0.99,)), [0], cfg, fused_settings).run(log_every=1)
    plain = Trainer(imbalanced, paper_variants((0.99,)), [0], train_config(loss=loss, iterations=6), CPU).run()
    np.testing.assert_allclose(fused.history["loss"], eager.history["loss"], rtol=1e-5, atol=1e-7)
    assert np.isfinite(eager.history["loss"]).all() and not torch.equal(eager.bank.w1, plain.bank.w1)
