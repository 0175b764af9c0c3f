"""Tests of cbmil.losses: class-balanced weights and the (CB-)MIL ranking loss."""

from decimal import Decimal, localcontext

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from cbmil.losses import (
    class_balanced_weights,
    effective_number,
    mil_ranking_loss,
    ranking_hinge,
    smoothness_term,
    sparsity_term,
    ucf_crime_class_weights,
)
from cbmil.data.ucf_crime import CLASSES, NORMAL, TRAIN_COUNTS

ANOMALY_COUNTS = {c: n for c, n in TRAIN_COUNTS.items() if c != NORMAL}
BETAS = (0.0, 0.9, 0.99, 0.999, 0.9999)

# ----------------------------------------------------------------------------- hand-computed batch
# Two abnormal and two normal bags of S = 4 segments.
#   a0 = [.1 .9 .3 .2]  max .9   smooth: .8^2 + .6^2 + .1^2 = 1.01   sum 1.5   sum sq .95
#   a1 = [.5 .4 .6 .0]  max .6   smooth: .1^2 + .2^2 + .6^2 = 0.41   sum 1.5   sum sq .77
#   n0 = [.2 .3 .1 .4]  max .4
#   n1 = [.7 .0 .2 .1]  max .7
# Hinges h(a_i, n_j) = max(0, 1 - max a_i + max n_j):
#   h00 = .5   h01 = .8   h10 = .8   h11 = 1.1
# Weights w = [2, .5], lambda_smooth = .1, lambda_sparse = .01 (large, so every term shows).
A = [[0.1, 0.9, 0.3, 0.2], [0.5, 0.4, 0.6, 0.0]]
N = [[0.2, 0.3, 0.1, 0.4], [0.7, 0.0, 0.2, 0.1]]
W = [2.0, 0.5]
LAMBDAS = dict(lambda_smooth=0.1, lambda_sparse=0.01)


def _t(values):
    return torch.tensor(values, dtype=torch.float64)


@pytest.mark.parametrize("sparsity, expected", [
    # bag 0: 2 * .5 + .1 * 1.01 + .01 * 1.5 = 1.116;  bag 1: .5 * 1.1 + .1 * .41 + .01 * 1.5 = .606
    ("linear", (1.116 + 0.606) / 2),
    # bag 0: 1 + .101 + .01 * .95 = 1.1105;           bag 1: .55 + .041 + .01 * .77 = .5987
    ("squared", (1.1105 + 0.5987) / 2),
])
def test_paired_loss_matches_hand_computation(sparsity, expected):
    loss = mil_ranking_loss(_t(A), _t(N), W, pairing="paired", sparsity=sparsity, **LAMBDAS)
    assert loss.shape == ()
    assert loss.item() == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("sparsity, expected", [
    # ranking: mean_j sum_i w_i h_ij = mean(2*.5 + .5*.8, 2*.8 + .5*1.1) = mean(1.4, 2.15) = 1.775
    # linear:  + .1 * (1.01 + .41) + .01 * (1.5 + 1.5) = .142 + .03
    ("linear", 1.775 + 0.142 + 0.03),
    # squared: + .142 + .01 * (.95 + .77)
    ("squared", 1.775 + 0.142 + 0.0172),
])
def test_all_pairs_loss_matches_hand_computation(sparsity, expected):
    loss = mil_ranking_loss(_t(A), _t(N), W, pairing="all", sparsity=sparsity, **LAMBDAS)
    assert loss.item() == pytest.approx(expected, abs=1e-12)


def test_all_pairs_accepts_more_normal_than_abnormal_bags():
    # n2 = [0 .1 .05 0], max .1: h02 = .2, h12 = .5. Unweighted, no regularisers:
    # mean_j (h0j + h1j) = (1.3 + 1.9 + .7) / 3 = 1.3
    normal = _t(N + [[0.0, 0.1, 0.05, 0.0]])
    loss = mil_ranking_loss(_t(A), normal, pairing="all", lambda_smooth=0, lambda_sparse=0)
    assert loss.item() == pytest.approx(1.3, abs=1e-12)
    assert ranking_hinge(_t(A), normal, pairing="all").shape == (2, 3)


def test_ranking_hinge_per_pair_values():
    assert ranking_hinge(_t(A), _t(N)).tolist() == pytest.approx([0.5, 1.1])
    assert ranking_hinge(_t(A), _t(N), pairing="all").tolist() == [
        pytest.approx([0.5, 0.8]), pytest.approx([0.8, 1.1])]


def test_regulariser_terms_per_bag():
    assert smoothness_term(_t(A)).tolist() == pytest.approx([1.01, 0.41])
    assert sparsity_term(_t(A)).tolist() == pytest.approx([1.5, 1.5])
    assert sparsity_term(_t(A), "squared").tolist() == pytest.approx([0.95, 0.77])


def test_hinge_is_clipped_at_zero_once_the_margin_is_met():
    # 1 - 2 + 0 < 0: this pair ranks correctly by more than the margin
    abnormal, normal = _t([[0.0, 2.0]]), _t([[0.0, 0.0]])
    assert mil_ranking_loss(abnormal, normal, lambda_smooth=0, lambda_sparse=0).item() == 0.0


def test_no_weights_is_plain_mil_with_unit_weights():
    plain = mil_ranking_loss(_t(A), _t(N), **LAMBDAS)
    ones = mil_ranking_loss(_t(A), _t(N), [1.0, 1.0], **LAMBDAS)
    assert plain.item() == pytest.approx(ones.item(), abs=1e-15)
    # and the weights matter: only the ranking term is scaled
    doubled = mil_ranking_loss(_t(A), _t(N), [2.0, 2.0], **LAMBDAS)
    ranking = (0.5 + 1.1) / 2
    assert doubled.item() - plain.item() == pytest.approx(ranking, abs=1e-12)


def test_default_lambdas_are_sultanis():
    # paired, linear: mean(.5 + 8e-5 * (1.01 + 1.5), 1.1 + 8e-5 * (.41 + 1.5))
    expected = (0.5 + 1.1) / 2 + 8e-5 * (1.01 + 1.5 + 0.41 + 1.5) / 2
    assert mil_ranking_loss(_t(A), _t(N)).item() == pytest.approx(expected, abs=1e-12)


# ----------------------------------------------------------------------------- gradients

@pytest.mark.parametrize("pairing", ["paired", "all"])
def test_hinge_gradient_reaches_only_each_bags_max_segment(pairing):
    torch.manual_seed(0)
    # scores < .4 keep every hinge > 0, so every bag gets a gradient
    abnormal = (0.4 * torch.rand(4, 32, dtype=torch.float64)).requires_grad_()
    normal = (0.4 * torch.rand(4, 32, dtype=torch.float64)).requires_grad_()
    w = torch.tensor([1.0, 2.0, 0.5, 3.0], dtype=torch.float64)
    mil_ranking_loss(abnormal, normal, w, pairing=pairing, lambda_smooth=0, lambda_sparse=0).backward()

    for scores, sign in ((abnormal, -1.0), (normal, 1.0)):
        at_max = torch.zeros_like(scores, dtype=torch.bool)
        at_max[torch.arange(4), scores.argmax(dim=-1)] = True
        assert torch.equal(scores.grad != 0, at_max)
        grads = scores.grad[at_max]
        if pairing == "paired":  # d/da_i mean_i w_i h_i = -w_i / B; d/dn_i = +w_i / B
            expected = sign * w / 4
        elif sign < 0:            # d/da_i mean_j sum_i w_i h_ij = -w_i
            expected = -w
        else:                     # d/dn_j = sum_i w_i / B_n
            expected = torch.full((4,), w.sum().item() / 4, dtype=torch.float64)
        assert torch.allclose(grads, expected)


def test_regularisers_act_on_abnormal_bags_only():
    torch.manual_seed(1)
    abnormal = torch.rand(3, 8, dtype=torch.float64, requires_grad=True)
    normal = torch.rand(3, 8, dtype=torch.float64, requires_grad=True)
    mil_ranking_loss(abnormal, normal, lambda_smooth=0.1, lambda_sparse=0.1).backward()
    assert (abnormal.grad != 0).all()          # every segment feels smoothness and sparsity
    assert (normal.grad != 0).sum() <= 3       # a normal bag only feels its max, via the hinge


# ----------------------------------------------------------------------------- class weights

def _direct_weight(n, beta):
    return (1.0 - beta) / (1.0 - beta ** n)


@pytest.mark.parametrize("beta", BETAS)
def test_ucf_crime_raw_weights_match_the_direct_formula(beta):
    weights = class_balanced_weights(ANOMALY_COUNTS, beta, normalize="none")
    assert list(weights) == list(ANOMALY_COUNTS)
    for name, n in ANOMALY_COUNTS.items():
        assert weights[name] == pytest.approx(_direct_weight(n, beta), rel=1e-12)


@pytest.mark.parametrize("beta", BETAS)
def test_ucf_crime_normalised_weights_match_and_sum_to_13(beta):
    raw = {name: _direct_weight(n, beta) for name, n in ANOMALY_COUNTS.items()}
    total = sum(raw.values())
    weights = class_balanced_weights(ANOMALY_COUNTS, beta, normalize=True)
    for name in ANOMALY_COUNTS:
        assert weights[name] == pytest.approx(raw[name] * 13 / total, rel=1e-12)
    assert sum(weights.values()) == pytest.approx(13.0, rel=1e-12)


@pytest.mark.parametrize("beta", BETAS)
def test_bag_normalised_weights_average_exactly_one_over_the_training_bags(beta):
    counts = np.array(list(ANOMALY_COUNTS.values()), dtype=float)
    weights = class_balanced_weights(counts, beta, normalize="bags")
    assert (weights * counts).sum() / counts.sum() == pytest.approx(1.0, abs=1e-14)
    raw = class_balanced_weights(counts, beta, normalize="none")
    np.testing.assert_allclose(weights / raw, weights[0] / raw[0], rtol=1e-12)   # same balance, other scale
    cui = class_balanced_weights(counts, beta, normalize="classes")
    if beta > 0:  # Cui's: frequent classes, drawn most often, weigh least, so the bag mean is below 1
        assert (cui * counts).sum() / counts.sum() < 1.0


def test_the_function_and_the_trainer_share_one_default():
    import inspect

    from cbmil.losses import NORMALIZATIONS
    from cbmil.train import TrainConfig
    default = inspect.signature(class_balanced_weights).parameters["normalize"].default
    assert default == TrainConfig().normalize_weights == NORMALIZATIONS[0] == "classes"
    assert class_balanced_weights([3, 30], 0.9, normalize=True).tolist() == class_balanced_weights([3, 30], 0.9).tolist()
    with pytest.raises(ValueError, match="normalize must be one of classes, bags, none"):
        class_balanced_weights([3, 30], 0.9, normalize="sum")
    with pytest.raises(ValueError, match="normalize_weights"):
        TrainConfig(normalize_weights="sum")


@pytest.mark.parametrize("beta", BETAS[1:])
@pytest.mark.parametrize("normalize", [False, True, "bags"])
def test_rarer_class_gets_larger_weight(beta, normalize):
    weights = class_balanced_weights(ANOMALY_COUNTS, beta, normalize=normalize)
    for c1, n1 in ANOMALY_COUNTS.items():
        for c2, n2 in ANOMALY_COUNTS.items():
            if n1 < n2:
                assert weights[c1] > weights[c2], (c1, c2)
            elif n1 == n2:
                assert weights[c1] == weights[c2]
    assert max(weights, key=weights.get) == "Shooting"   # 27 videos, the rarest
    assert min(weights, key=weights.get) == "Robbery"    # 145 videos, the most common


@pytest.mark.parametrize("normalize", [False, True, "bags"])
def test_beta_zero_gives_all_ones(normalize):
    weights = class_balanced_weights(list(ANOMALY_COUNTS.values()), 0.0, normalize=normalize)
    assert isinstance(weights, np.ndarray) and weights.dtype == np.float64
    assert np.array_equal(weights, np.ones(13))


def test_raw_weights_at_beta_0_9_are_about_0_1_for_every_class():
    # 0.9**27 ~ 0.058: even the rarest class is only 6 % above 1 - beta = 0.1
    weights = class_balanced_weights(ANOMALY_COUNTS, 0.9, normalize="none")
    assert all(0.1 <= w < 0.107 for w in weights.values())


def test_weights_tend_to_inverse_frequency_as_beta_tends_to_one():
    counts = np.array([1, 27, 145, 800])
    weights = class_balanced_weights(counts, 1 - 1e-9, normalize="none")
    assert np.allclose(weights * counts, 1.0, rtol=1e-6)


def test_ucf_crime_class_weights_follow_class_order():
    table = ucf_crime_class_weights(0.999, normalize=True)
    by_name = class_balanced_weights(ANOMALY_COUNTS, 0.999, normalize=True)
    assert table.shape == (13,)
    assert table.tolist() == [by_name[c] for c in CLASSES]


def test_effective_number_is_the_inverse_weight():
    n = np.array([1, 27, 145])
    assert effective_number(n, 0.0).tolist() == [1.0, 1.0, 1.0]
    assert np.allclose(effective_number(n, 0.99), 1 / class_balanced_weights(n, 0.99, normalize="none"), rtol=1e-14)
    # E_n = (1 - beta^n) / (1 - beta) = 1 + beta for n = 2
    assert effective_number(2, 0.5) == pytest.approx(1.5, rel=1e-15)
    assert isinstance(effective_number(2, 0.5), float)


# ----------------------------------------------------------------------------- numerical stability

def _reference_weight(n, beta):
    """(1 - beta) / (1 - beta**n) in 60-digit decimal arithmetic, from beta's exact binary value."""
    with localcontext() as ctx:
        ctx.prec = 60
        b = Decimal(beta)
        return float((1 - b) / (1 - b ** n))


@pytest.mark.parametrize("beta, n", [
    (0.9999, 10**6), (0.9999, 1), (0.9999, 145),
    (1 - 1e-9, 1), (1 - 1e-9, 3), (1 - 1e-9, 1000), (1 - 1e-13, 7),
])
def test_weights_are_accurate_near_beta_one(beta, n):
    weight = class_balanced_weights([n], beta, normalize="none")[0]
    assert np.isfinite(weight)
    assert weight == pytest.approx(_reference_weight(n, beta), rel=1e-12)


def test_huge_class_at_beta_0_9999_weighs_one_minus_beta_and_single_video_weighs_one():
    weights = class_balanced_weights([10**6, 1], 0.9999, normalize="none")
    assert weights[0] == pytest.approx(1 - 0.9999, rel=1e-12)   # beta**1e6 ~ 4e-44
    assert weights[1] == pytest.approx(1.0, rel=1e-12)


# ----------------------------------------------------------------------------- validation

@pytest.mark.parametrize("beta", [1.0, 1.5, -0.1, float("nan")])
def test_beta_outside_zero_one_is_rejected(beta):
    with pytest.raises(ValueError, match=r"beta must satisfy 0 <= beta < 1, got"):
        class_balanced_weights([10, 20], beta)
    with pytest.raises(ValueError, match=r"beta"):
        effective_number(10, beta)


def test_zero_count_is_rejected_naming_the_class():
    with pytest.raises(ValueError, match=r"counts must be finite and >= 1.*counts\[1\] = 0"):
        class_balanced_weights([10, 0], 0.9)
    with pytest.raises(ValueError, match=r"counts\['Arson'\] = 0"):
        class_balanced_weights({"Abuse": 48, "Arson": 0}, 0.9)
    with pytest.raises(ValueError, match=r"empty"):
        class_balanced_weights([], 0.9)


@pytest.mark.parametrize("call, message", [
    (lambda: mil_ranking_loss(_t(A)[0], _t(N)[0]), r"abnormal_scores must have shape \[B, S\].*got shape \(4,\)"),
    (lambda: mil_ranking_loss(_t(A), _t(N)[:1]), r"pairing='paired' needs as many normal bags"),
    (lambda: mil_ranking_loss(_t(A), _t(N)[:, :3]), r"same number of segments"),
    (lambda: mil_ranking_loss(_t(A), _t(N)[None]), r"both be \[B, S\] or both \[M, B, S\]"),
    (lambda: mil_ranking_loss(_t(A), _t(N), pairing="pairs"), r"pairing must be one of 'paired', 'all'; got 'pairs'"),
    (lambda: mil_ranking_loss(_t(A), _t(N), sparsity="l1"), r"sparsity must be one of 'linear', 'squared'; got 'l1'"),
    (lambda: mil_ranking_loss(_t(A), _t(N), [1.0, 2.0, 3.0]), r"weights must have shape \[B\] = \[2\].*got shape \(3,\)"),
    (lambda: mil_ranking_loss(_t(A), _t(N), [1.0, float("nan")]), r"weights must be finite"),
    (lambda: mil_ranking_loss(_t(A), _t(N), lambda_smooth=-1.0), r"lambda_smooth must be a finite number >= 0"),
    (lambda: mil_ranking_loss(_t(A)[:, :1], _t(N)[:, :1]), r"at least 2 segments"),
])
def test_bad_loss_inputs_are_rejected_with_a_clear_message(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_scores_must_be_float_tensors():
    with pytest.raises(TypeError, match=r"abnormal_scores must be a torch.Tensor"):
        mil_ranking_loss(np.array(A), _t(N))
    with pytest.raises(TypeError, match=r"floating-point"):
        mil_ranking_loss(torch.ones(2, 4, dtype=torch.long), _t(N))


# ----------------------------------------------------------------------------- many models at once

@pytest.mark.parametrize("pairing, normal_bags", [("paired", 5), ("all", 5), ("all", 3)])
@pytest.mark.parametrize("weights_shape", [None, (5,), (3, 5)])
@pytest.mark.parametrize("sparsity", ["linear", "squared"])
def test_batched_models_equal_stacked_single_model_losses(pairing, normal_bags, weights_shape, sparsity):
    torch.manual_seed(2)
    abnormal = torch.rand(3, 5, 32, dtype=torch.float64)
    normal = torch.rand(3, normal_bags, 32, dtype=torch.float64)
    weights = None if weights_shape is None else torch.rand(weights_shape, dtype=torch.float64) + 0.5
    options = dict(pairing=pairing, sparsity=sparsity, lambda_smooth=0.3, lambda_sparse=0.02)

    batched = mil_ranking_loss(abnormal, normal, weights, **options)
    assert batched.shape == (3,)
    singles = []
    for m in range(3):
        w = None if weights is None else (weights if weights.ndim == 1 else weights[m])
        singles.append(mil_ranking_loss(abnormal[m], normal[m], w, **options))
    assert torch.allclose(batched, torch.stack(singles), rtol=1e-14, atol=0)


# ----------------------------------------------------------------------------- bit for bit, plain numpy

def _numpy_mil_loss(a, n, w, pairing, sparsity, l1, l2):
    """Eq. (3) in numpy, term by term in the order the kit adds them: ranking, smoothness, sparsity."""
    a_max, n_max = a.max(-1), n.max(-1)
    if pairing == "paired":
        ranking, over_bags = (w * np.maximum(0.0, 1.0 - a_max + n_max)).mean(-1), np.mean
    else:
        hinge = np.maximum(0.0, 1.0 - a_max[..., :, None] + n_max[..., None, :])
        ranking, over_bags = (w[..., None] * hinge).sum(-2).mean(-1), np.sum
    smooth = (np.diff(a, axis=-1) ** 2).sum(-1)
    sparse = (a if sparsity == "linear" else a ** 2).sum(-1)
    return ranking + l1 * over_bags(smooth, -1) + l2 * over_bags(sparse, -1)


@pytest.mark.parametrize("pairing, normal_bags", [("paired", 5), ("all", 5), ("all", 3)])
@pytest.mark.parametrize("sparsity", ["linear", "squared"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_loss_equals_plain_numpy_bit_for_bit(pairing, normal_bags, sparsity, dtype):
    # scores k / 64 and weights k / 8: every sum and difference is exact, so only the means over
    # 5 bags, the products with lambda and the final additions round, in the same order in both
    rng = np.random.default_rng(3)
    a = (rng.integers(0, 65, (16, 5, 32)) / 64).astype(dtype)
    n = (rng.integers(0, 65, (16, normal_bags, 32)) / 64).astype(dtype)
    w = (rng.integers(-8, 25, (16, 5)) / 8).astype(dtype)
    expected = _numpy_mil_loss(a, n, w, pairing, sparsity, dtype(8e-5), dtype(8e-5))
    for check in (True, False):
        loss = mil_ranking_loss(torch.from_numpy(a), torch.from_numpy(n), torch.from_numpy(w),
                                pairing=pairing, sparsity=sparsity, check=check)
        assert loss.dtype == torch.from_numpy(a).dtype
        assert loss.numpy().tobytes() == expected.astype(dtype).tobytes(), (check, loss, expected)


@pytest.mark.parametrize("beta", [0.5, 0.9, 0.999, 1 - 1e-9])
def test_class_weights_equal_plain_numpy_bit_for_bit(beta):
    n = np.array([48.0, 45.0, 27.0, 145.0, 1.0])
    raw = (1.0 - beta) / -np.expm1(n * np.log(beta))
    assert class_balanced_weights(n, beta, "none").tobytes() == raw.tobytes()
    assert class_balanced_weights(n, beta, "classes").tobytes() == (raw * (len(n) / raw.sum())).tobytes()
    assert class_balanced_weights(n, beta, "bags").tobytes() == (raw * (n.sum() / (n * raw).sum())).tobytes()
    assert effective_number(n, beta).tobytes() == (-np.expm1(n * np.log(beta)) / (1.0 - beta)).tobytes()


def test_unchecked_loss_skips_the_checks_only():
    torch.manual_seed(4)
    a, n = torch.rand(6, 30, 32), torch.rand(6, 30, 32)
    w = torch.rand(6, 30) + 0.5
    for pairing in ("paired", "all"):
        checked = mil_ranking_loss(a, n, w, pairing=pairing)
        assert torch.equal(mil_ranking_loss(a, n, w, pairing=pairing, check=False), checked)
    # nothing is validated: a bad option goes unnoticed instead of raising
    mil_ranking_loss(a, n, w, lambda_smooth=-1.0, check=False)
    with pytest.raises(ValueError, match="lambda_smooth"):
        mil_ranking_loss(a, n, w, lambda_smooth=-1.0)


def test_models_do_not_share_gradients():
    abnormal = torch.rand(2, 4, 8, requires_grad=True)
    normal = torch.rand(2, 4, 8)
    mil_ranking_loss(abnormal, normal)[0].backward()
    assert abnormal.grad[0].abs().sum() > 0
    assert abnormal.grad[1].abs().sum() == 0


# ----------------------------------------------------------------------------- the sign of eq. (2)

def _train_mean_hinge(sign, steps=60):
    """Train a linear+sigmoid scorer with CB-MIL weights times ``sign``; return (before, after)."""
    torch.manual_seed(0)
    bags, segments, dim = 8, 32, 16
    direction = torch.randn(dim)
    abnormal = torch.randn(bags, segments, dim)
    abnormal[:, :4] += direction  # an anomalous event in the first 4 segments of each abnormal bag
    normal = torch.randn(bags, segments, dim)
    labels = torch.randint(len(CLASSES), (bags,))
    weights = sign * torch.as_tensor(ucf_crime_class_weights(0.999, normalize=True), dtype=torch.float32)[labels]

    scorer = torch.nn.Linear(dim, 1)

    def scores(features):
        return torch.sigmoid(scorer(features)).squeeze(-1)

    with torch.no_grad():
        before = ranking_hinge(scores(abnormal), scores(normal)).mean().item()
    for _ in range(steps):
        # plain gradient descent: torch.optim's first step costs ~1 s of one-off imports
        scorer.zero_grad()
        mil_ranking_loss(scores(abnormal), scores(normal), weights).backward()
        with torch.no_grad():
            for parameter in scorer.parameters():
                parameter -= 1.0 * parameter.grad
    with torch.no_grad():
        after = ranking_hinge(scores(abnormal), scores(normal)).mean().item()
    return before, after


def test_positive_weight_decreases_the_hinge_while_literal_eq2_sign_increases_it():
    before, after = _train_mean_hinge(+1.0)
    assert after < before - 0.25
    before, after = _train_mean_hinge(-1.0)   # eq. (2) read literally: -w_y * hinge
    assert after > before + 0.25


# ----------------------------------------------------------------------------- properties

_scores = st.lists(st.floats(0.0, 1.0), min_size=8, max_size=8)


@settings(max_examples=40, deadline=None)
@given(a=st.lists(_scores, min_size=2, max_size=2), n=st.lists(_scores, min_size=2, max_size=2),
       w=st.lists(st.floats(0.0, 10.0), min_size=2, max_size=2),
       pairing=st.sampled_from(["paired", "all"]), permutation=st.permutations(range(8)))
def test_loss_is_nonnegative_and_ignores_segment_order_without_smoothness(a, n, w, pairing, permutation):
    a, n = _t(a), _t(n)
    options = dict(pairing=pairing, lambda_smooth=0.0, lambda_sparse=0.1)
    loss = mil_ranking_loss(a, n, w, **options)
    assert loss.item() >= 0
    shuffled = mil_ranking_loss(a[:, permutation], n[:, permutation], w, **options)
    assert shuffled.item() == pytest.approx(loss.item(), abs=1e-12)
