"""Property-based tests of cbmil.losses: what the paper's equations imply for any input."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from cbmil.losses import (
    NORMALIZATIONS,
    PAIRINGS,
    SPARSITY_FORMS,
    class_balanced_weights,
    mil_ranking_loss,
    ranking_hinge,
    smoothness_term,
)

FAST = settings(max_examples=40, deadline=None)

counts = st.lists(st.integers(1, 10**6), min_size=1, max_size=20)
normalizations = st.sampled_from(NORMALIZATIONS)
pairings = st.sampled_from(PAIRINGS)


def _scores(shape, low=0.0, high=1.0):
    """Float64 score arrays of ``shape`` in [low, high]."""
    return hnp.arrays(np.float64, shape, elements=st.floats(low, high))


def _dyadic(draw, shape, steps=64):
    """Scores k / 64, k = 0..64: sums, differences and maxima of these are exact in float64."""
    return draw(hnp.arrays(np.int64, shape, elements=st.integers(0, steps))) / steps


# ----------------------------------------------------------------------------- class weights

@FAST
@given(n=counts, beta=st.floats(0.0, 1e-6), normalize=normalizations)
def test_weights_become_equal_as_beta_tends_to_zero(n, beta, normalize):
    # w_n = (1 - beta) / (1 - beta^n) lies in [1 - beta, 1]: the spread shrinks with beta
    w = class_balanced_weights(n, beta, normalize)
    assert w.max() / w.min() - 1 <= 2 * beta + 1e-14
    if beta == 0.0:
        assert np.all(w == w[0])


@FAST
@given(n=counts, beta=st.floats(0.0, 0.99999))
def test_classes_normalised_weights_sum_to_the_number_of_classes(n, beta):
    w = class_balanced_weights(n, beta, normalize="classes")
    assert w.sum() == pytest.approx(len(n), rel=1e-12)


@FAST
@given(n=counts, beta=st.floats(1e-9, 1 - 1e-9), normalize=normalizations)
def test_weights_do_not_increase_with_the_class_count(n, beta, normalize):
    n = np.array(n)
    w = class_balanced_weights(n, beta, normalize)
    order = np.argsort(n, kind="stable")
    assert np.all(np.diff(w[order]) <= 0)
    assert np.all(w[n == n.min()] == w.max())   # the rarest class weighs most


# ----------------------------------------------------------------------------- ranking hinge

@st.composite
def margin_met(draw, pairing):
    """Bags [B, S] whose abnormal maxima all exceed the normal maxima they meet by >= 1."""
    b, s = draw(st.integers(1, 6)), draw(st.integers(2, 8))
    normal = _dyadic(draw, (b, s))
    met = normal.max(-1) if pairing == "paired" else np.full(b, normal.max())
    top = met + 1 + _dyadic(draw, (b,))                                # max_i a^i >= max_i n^i + 1
    abnormal = _dyadic(draw, (b, s)) * top[:, None]                    # other segments below it
    abnormal[np.arange(b), draw(hnp.arrays(np.int64, b, elements=st.integers(0, s - 1)))] = top
    return torch.from_numpy(abnormal), torch.from_numpy(normal)


@FAST
@given(data=st.data(), pairing=pairings)
def test_hinge_is_zero_once_every_abnormal_max_beats_the_normal_max_by_the_margin(data, pairing):
    abnormal, normal = data.draw(margin_met(pairing))
    assert torch.all(ranking_hinge(abnormal, normal, pairing) == 0)
    loss = mil_ranking_loss(abnormal, normal, pairing=pairing, lambda_smooth=0, lambda_sparse=0)
    assert loss.item() == 0.0


@FAST
@given(data=st.data(), pairing=pairings)
def test_hinge_is_nonnegative(data, pairing):
    b_a, b_n, s = data.draw(st.integers(1, 6)), data.draw(st.integers(1, 6)), data.draw(st.integers(2, 8))
    b_n = b_a if pairing == "paired" else b_n
    abnormal = torch.from_numpy(data.draw(_scores((b_a, s), -10.0, 10.0)))
    normal = torch.from_numpy(data.draw(_scores((b_n, s), -10.0, 10.0)))
    hinge = ranking_hinge(abnormal, normal, pairing)
    assert hinge.shape == ((b_a,) if pairing == "paired" else (b_a, b_n))
    assert torch.all(hinge >= 0)


# ----------------------------------------------------------------------------- smoothness

@FAST
@given(value=st.floats(-1e6, 1e6), shape=st.tuples(st.integers(1, 4), st.integers(1, 6), st.integers(2, 32)))
def test_smoothness_is_zero_for_constant_scores(value, shape):
    assert torch.all(smoothness_term(torch.full(shape, value, dtype=torch.float64)) == 0)


@FAST
@given(data=st.data())
def test_smoothness_is_positive_when_neighbours_differ(data):
    s = data.draw(st.integers(2, 32))
    scores = _dyadic(data.draw, (1, s))
    if np.all(scores == scores[0, 0]):
        scores[0, -1] = 1 - scores[0, 0] if scores[0, 0] != 0.5 else 0.0
    assert smoothness_term(torch.from_numpy(scores)).item() > 0


# ----------------------------------------------------------------------------- many models at once

@st.composite
def batches(draw):
    """Keyword arguments of a 3-D mil_ranking_loss call, weights None, [B] or [M, B]."""
    pairing = draw(pairings)
    m, b_a, s = draw(st.integers(1, 4)), draw(st.integers(1, 6)), draw(st.integers(2, 8))
    b_n = b_a if pairing == "paired" else draw(st.integers(1, 6))
    weights = draw(st.sampled_from([None, (b_a,), (m, b_a)]))
    if weights is not None:
        weights = torch.from_numpy(draw(_scores(weights, -3.0, 3.0)))
    return dict(abnormal_scores=torch.from_numpy(draw(_scores((m, b_a, s)))),
                normal_scores=torch.from_numpy(draw(_scores((m, b_n, s)))), weights=weights,
                pairing=pairing, sparsity=draw(st.sampled_from(SPARSITY_FORMS)),
                lambda_smooth=draw(st.sampled_from([0.0, 8e-5, 0.5])),
                lambda_sparse=draw(st.sampled_from([0.0, 8e-5, 0.5])))


@FAST
@given(kwargs=batches())
def test_vectorised_loss_equals_each_models_loss(kwargs):
    batched = mil_ranking_loss(**kwargs)
    a, n, w = kwargs.pop("abnormal_scores"), kwargs.pop("normal_scores"), kwargs.pop("weights")
    assert batched.shape == (len(a),)
    for m in range(len(a)):
        single = mil_ranking_loss(a[m], n[m], None if w is None else w[m] if w.ndim == 2 else w, **kwargs)
        assert single.shape == ()
        assert single.item() == pytest.approx(batched[m].item(), rel=1e-14, abs=1e-15)


@FAST
@given(kwargs=batches())
def test_unchecked_loss_is_the_checked_loss_bit_for_bit(kwargs):
    assert torch.equal(mil_ranking_loss(**kwargs, check=False), mil_ranking_loss(**kwargs))
