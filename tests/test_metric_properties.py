"""Properties of the frame metrics (cbmil.eval.metrics) and seed statistics (cbmil.eval.stats)
that hold for every input, checked with hypothesis on small random ones."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cbmil.eval.metrics import average_precision, evaluate, total_auc
from cbmil.eval.stats import holm, paired_difference

FAST = settings(max_examples=60, deadline=None)

#: Frames as (label, score level): levels are small integers, so ties are frequent and any
#: strictly monotone map below keeps distinct levels distinct in floating point.
frames = st.lists(st.tuples(st.booleans(), st.integers(0, 30)), min_size=2, max_size=60)

#: Strictly increasing maps of the levels 0..30 (exact in float64 on that range).
MONOTONE = {
    "affine": lambda x: 3.5 * x - 7.0,
    "cube": lambda x: (x - 12.0) ** 3,
    "exp": lambda x: np.exp(x / 4.0),
    "logistic": lambda x: 1.0 / (1.0 + np.exp(-(x - 15.0) / 3.0)),
}


def split(pairs):
    labels = np.array([y for y, _ in pairs], dtype=bool)
    levels = np.array([s for _, s in pairs], dtype=np.float64)
    return labels, levels


def both_labels(labels):
    return 0 < labels.sum() < labels.size


@FAST
@given(pairs=frames, name=st.sampled_from(sorted(MONOTONE)))
def test_auc_and_ap_are_unchanged_by_a_strictly_monotone_transform(pairs, name):
    labels, levels = split(pairs)
    assume(both_labels(labels))
    scores = MONOTONE[name](levels)
    assert len(np.unique(scores)) == len(np.unique(levels))  # the map kept the ties, no more
    assert total_auc(labels, scores) == pytest.approx(total_auc(labels, levels), rel=1e-12)
    assert average_precision(labels, scores) == pytest.approx(average_precision(labels, levels), rel=1e-12)


@FAST
@given(pairs=frames, steps=st.lists(st.floats(0.01, 100.0), min_size=31, max_size=31))
def test_auc_is_unchanged_by_any_increasing_relabelling_of_the_score_levels(pairs, steps):
    # level k -> sum of the first k + 1 positive steps: an arbitrary strictly increasing map
    labels, levels = split(pairs)
    assume(both_labels(labels))
    scores = np.cumsum(steps)[levels.astype(int)]
    assert total_auc(labels, scores) == pytest.approx(total_auc(labels, levels), rel=1e-12)


@FAST
@given(labels=st.lists(st.booleans(), min_size=2, max_size=60),
       seed=st.integers(0, 2**32 - 1))
def test_reversed_scores_give_one_minus_the_auc(labels, seed):
    labels = np.array(labels)
    assume(both_labels(labels))
    scores = np.random.default_rng(seed).permutation(labels.size) / labels.size  # distinct: no ties
    assert total_auc(labels, -scores) == pytest.approx(1.0 - total_auc(labels, scores), abs=1e-12)


@FAST
@given(pairs=frames)
def test_average_precision_lies_in_the_unit_interval_or_is_nan_without_positives(pairs):
    labels, levels = split(pairs)
    ap = average_precision(labels, levels)
    if labels.any():
        assert 0.0 <= ap <= 1.0
    else:
        assert math.isnan(ap)


@FAST
@given(pairs=frames)
def test_scores_given_in_the_labels_place_are_refused(pairs):
    labels, levels = split(pairs)
    scores = levels + 0.5  # never 0/1
    offsets, classes = np.array([0, labels.size]), np.array([0])
    with pytest.raises(ValueError, match="labels first, scores second"):
        total_auc(scores, labels)
    with pytest.raises(ValueError, match="labels first, scores second"):
        evaluate(scores, labels, offsets, classes)


p_values = st.lists(st.one_of(st.floats(0.0, 1.0), st.just(float("nan")), st.sampled_from([0.01, 0.05, 0.5])),
                    min_size=0, max_size=30)


@FAST
@given(p=p_values)
def test_holm_never_lowers_a_p_value_and_keeps_their_order(p):
    p = np.array(p, dtype=np.float64)
    adjusted = holm(p)
    assert adjusted.shape == p.shape
    defined = ~np.isnan(p)
    np.testing.assert_array_equal(np.isnan(adjusted), ~defined)
    raw, adj = p[defined], adjusted[defined]
    assert np.all(adj >= raw) and np.all(adj <= 1.0)
    order = np.argsort(raw, kind="stable")
    assert np.all(np.diff(adj[order]) >= 0)  # monotone along the sorted raw p-values
    assert np.all(adj[order][:1] == np.minimum(raw.size * raw[order][:1], 1.0))  # the smallest: Bonferroni


seed_values = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)


@FAST
@given(data=st.lists(st.tuples(seed_values, seed_values), min_size=1, max_size=12),
       confidence=st.floats(0.5, 0.999))
def test_paired_interval_contains_its_mean_and_widens_with_the_confidence(data, confidence):
    treatment = np.array([t for t, _ in data])
    control = np.array([c for _, c in data])
    got = paired_difference(treatment, control, confidence)
    if got["n"] == 1:
        assert math.isnan(got["ci_low"]) and math.isnan(got["ci_high"]) and not got["exceeds_noise"]
        return
    assert got["ci_low"] <= got["mean"] <= got["ci_high"]
    assert 0.0 <= got["p_value"] <= 1.0
    assert got["exceeds_noise"] == (got["ci_low"] > 0 or got["ci_high"] < 0)
    wider = paired_difference(treatment, control, min(0.9999, confidence + 0.0005 + (1 - confidence) / 2))
    assert wider["ci_low"] <= got["ci_low"] and got["ci_high"] <= wider["ci_high"]
