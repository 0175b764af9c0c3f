"""Tests for cbmil.eval.stats: hand-computed cases, and the library calls (scipy, statsmodels)
against the textbook formulas the kit computed by hand before, kept here as references."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import TTestPower

from cbmil.eval.stats import holm, paired_difference, paired_t_power, seed_summary, seeds_needed


# ----------------------------------------------------------------------------- references
# The kit's hand-written formulas before scipy/statsmodels took over (cbmil/eval/metrics.py up to
# the split), kept verbatim in substance: the library versions must give the same numbers.

def reference_paired_difference(treatment, control, confidence=0.95):
    diff = np.asarray(treatment, np.float64) - np.asarray(control, np.float64)
    n = diff.size
    mean = float(diff.mean())
    if n < 2:
        nan = float("nan")
        return {"mean": mean, "std": nan, "ci_low": nan, "ci_high": nan, "n": n,
                "exceeds_noise": False, "p_value": nan}
    std = float(diff.std(ddof=1))
    half = float(sps.t.ppf((1.0 + confidence) / 2.0, n - 1)) * std / math.sqrt(n)
    low, high = mean - half, mean + half
    if std > 0:
        p_value = float(2.0 * sps.t.sf(abs(mean) / (std / math.sqrt(n)), n - 1))
    else:
        p_value = 1.0 if mean == 0 else 0.0
    return {"mean": mean, "std": std, "ci_low": low, "ci_high": high, "n": n,
            "exceeds_noise": bool(low > 0.0 or high < 0.0), "p_value": p_value}


def reference_holm(p_values):
    p = np.asarray(p_values, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    defined = np.flatnonzero(~np.isnan(p))
    if defined.size == 0:
        return out
    order = defined[np.argsort(p[defined], kind="stable")]
    m = order.size
    adjusted = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out[order] = np.minimum(adjusted, 1.0)
    return out


def reference_power(n, sd, delta, alpha=0.05):
    """The kit's formula before: lower tail from nct.cdf, which returns nan far in the tail."""
    df = n - 1
    nc = abs(delta) / (sd / math.sqrt(n))
    crit = float(sps.t.ppf(1.0 - alpha / 2.0, df))
    return float(sps.nct.sf(crit, df, nc) + sps.nct.cdf(-crit, df, nc))


def seed_pairs(rng, n):
    """Seed-like values: a shared per-seed level plus a treatment effect with its own spread."""
    control = rng.normal(80.0, 3.0, n)
    spread = float(rng.choice([1e-9, 1e-6, 1e-3, 0.1, 1.0, 10.0]))
    return control + rng.normal(rng.normal(0.0, 1.0), spread, n), control


# ----------------------------------------------------------------------------- seed_summary

def test_seed_summary_mean_and_sample_std():
    got = seed_summary([1.0, 2.0, 3.0, 4.0])
    assert got["mean"] == pytest.approx(2.5)
    assert got["std"] == pytest.approx(math.sqrt(5 / 3))  # squares 2.25+0.25+0.25+2.25 = 5, / (n-1)
    assert got["n"] == 4
    single = seed_summary(np.array([0.8]))
    assert single["mean"] == pytest.approx(0.8) and math.isnan(single["std"]) and single["n"] == 1


def test_seed_summary_equals_the_textbook_sample_std():
    rng = np.random.default_rng(5)
    for n in range(2, 20):
        x = rng.normal(75, 2, n)
        got = seed_summary(x)
        m = sum(x) / n
        np.testing.assert_allclose(got["std"], math.sqrt(sum((v - m) ** 2 for v in x) / (n - 1)), rtol=1e-12)
        np.testing.assert_allclose(got["mean"], m, rtol=1e-14)


# ----------------------------------------------------------------------------- paired_difference

def test_paired_difference_matches_manual_t_interval():
    # differences 0.02, 0.02, -0.01: mean 0.01, sd sqrt((1e-4 + 1e-4 + 4e-4) / 2) = sqrt(3e-4),
    # se = sd / sqrt(3) = 0.01, t_{0.975, 2} = 4.302652729911275 (table value 4.303).
    got = paired_difference([0.80, 0.82, 0.79], [0.78, 0.80, 0.80])
    assert got["n"] == 3
    assert got["mean"] == pytest.approx(0.01)
    assert got["std"] == pytest.approx(math.sqrt(3e-4))
    assert got["ci_low"] == pytest.approx(0.01 - 4.302652729911275 * 0.01)
    assert got["ci_high"] == pytest.approx(0.01 + 4.302652729911275 * 0.01)
    assert got["exceeds_noise"] is False


def test_paired_difference_exceeds_noise_when_interval_excludes_zero_either_side():
    # differences 0.02, 0.03, 0.04: mean 0.03, se 0.01/sqrt(3), half-width 0.0248 -> [0.0052, 0.0548]
    up = paired_difference([0.82, 0.83, 0.84], [0.80, 0.80, 0.80])
    assert up["ci_low"] == pytest.approx(0.03 - 4.302652729911275 * 0.01 / math.sqrt(3))
    assert up["exceeds_noise"] is True
    down = paired_difference([0.80, 0.80, 0.80], [0.82, 0.83, 0.84])
    assert down["ci_high"] < 0 and down["exceeds_noise"] is True


def test_paired_difference_cancels_shared_seed_variance():
    # seeds differ by whole points, the treatment adds a steady 0.2: paired sees it clearly,
    # while the unpaired spread (seed_summary std ~ 2.2) would swamp it.
    control = np.array([80.0, 83.0, 78.0, 85.0, 81.0])
    treatment = control + np.array([0.21, 0.19, 0.20, 0.22, 0.18])
    assert seed_summary(control)["std"] > 2
    assert paired_difference(treatment, control)["exceeds_noise"] is True


def test_paired_difference_p_value_and_interval_are_scipys_paired_t_test():
    a, b = np.array([80.1, 79.5, 81.0, 80.2]), np.array([79.9, 79.6, 80.4, 79.8])
    result = paired_difference(a, b, confidence=0.9)
    test = sps.ttest_rel(a, b)
    ci = test.confidence_interval(confidence_level=0.9)
    assert result["p_value"] == test.pvalue
    assert (result["ci_low"], result["ci_high"]) == (ci.low, ci.high)
    assert result["exceeds_noise"] == (result["p_value"] < 0.1)


def test_paired_difference_equals_the_hand_written_t_formula_on_varied_inputs():
    rng = np.random.default_rng(11)
    for trial in range(400):
        n = int(rng.integers(1, 16))
        treatment, control = seed_pairs(rng, n)
        confidence = float(rng.choice([0.5, 0.8, 0.9, 0.95, 0.99]))
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # nearly equal differences: scipy's precision warning stays muted
            got = paired_difference(treatment, control, confidence)
        ref = reference_paired_difference(treatment, control, confidence)
        assert got["n"] == ref["n"] and got["exceeds_noise"] == ref["exceeds_noise"], trial
        assert got["mean"] == ref["mean"] and (got["std"] == ref["std"] or n == 1), trial
        if n == 1:
            assert all(math.isnan(got[k]) for k in ("std", "ci_low", "ci_high", "p_value"))
            continue
        half = ref["ci_high"] - ref["mean"]
        scale = abs(ref["mean"]) + half
        # ci: mean + quantile * se, from the same mean; rounding of se and of the quantile only
        assert abs(got["ci_low"] - ref["ci_low"]) <= 1e-13 * scale, trial
        assert abs(got["ci_high"] - ref["ci_high"]) <= 1e-13 * scale, trial
        np.testing.assert_allclose(got["p_value"], ref["p_value"], rtol=1e-11, atol=0, err_msg=str(trial))


def test_paired_difference_single_seed_has_nan_interval():
    got = paired_difference([0.9], [0.8])
    assert got["mean"] == pytest.approx(0.1) and got["n"] == 1
    assert math.isnan(got["std"]) and math.isnan(got["ci_low"]) and math.isnan(got["ci_high"])
    assert math.isnan(got["p_value"]) and got["exceeds_noise"] is False


def test_paired_difference_equal_differences_keep_the_kits_answer():
    # All differences 0: scipy's t is 0/0 and its p-value nan; the kit says p = 1 (no difference).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert math.isnan(sps.ttest_rel([80.0, 81.0, 79.0], [80.0, 81.0, 79.0]).pvalue)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and no warning from the kit
        zero = paired_difference([80.0, 81.0, 79.0], [80.0, 81.0, 79.0])
        steady = paired_difference([1.5, 2.5, 3.5, 4.5], [1.0, 2.0, 3.0, 4.0])  # exactly 0.5 each
    assert zero == {"mean": 0.0, "std": 0.0, "ci_low": 0.0, "ci_high": 0.0, "n": 3,
                    "exceeds_noise": False, "p_value": 1.0}
    # A constant nonzero difference: interval shrinks to the mean, p = 0 (scipy: t = inf, p = 0).
    assert steady == {"mean": 0.5, "std": 0.0, "ci_low": 0.5, "ci_high": 0.5, "n": 4,
                      "exceeds_noise": True, "p_value": 0.0}
    assert steady == reference_paired_difference([1.5, 2.5, 3.5, 4.5], [1.0, 2.0, 3.0, 4.0])


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: seed_summary([0.8, float("nan")]), "values contains NaN"),
        (lambda: seed_summary([]), "values is empty"),
        (lambda: seed_summary([[0.8, 0.9]]), r"values must be a 1-D array .*\(1, 2\)"),
        (lambda: paired_difference([0.8, float("nan")], [0.7, 0.7]), r"treatment contains NaN/inf at position\(s\) \[1\]"),
        (lambda: paired_difference([0.8, 0.9], [0.7, float("inf")]), "control contains NaN/inf"),
        (lambda: paired_difference([0.8, 0.9], [0.7]), r"treatment \(2,\), control \(1,\)"),
        (lambda: paired_difference([0.8, 0.9], [0.7, 0.7], confidence=95), "confidence"),
        (lambda: paired_difference(["a"], ["b"]), "treatment must be numeric"),
    ],
)
def test_seed_statistics_reject_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ----------------------------------------------------------------------------- holm

def test_holm_by_hand_and_where_it_changes_a_verdict():
    # sorted 0.01, 0.03, 0.04 -> x3, x2, x1 = 0.03, 0.06, 0.04 -> running max 0.03, 0.06, 0.06
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03]), [0.03, 0.06, 0.06])
    raw = np.array([0.01, 0.04, 0.03])
    assert (raw < 0.05).all() and (holm(raw) < 0.05).tolist() == [True, False, False]
    assert holm([0.9, 0.8]).max() <= 1.0
    with pytest.raises(ValueError, match=r"in \[0, 1\]; received \[1.5\] at position\(s\) \[1\]"):
        holm([0.2, 1.5])
    with pytest.raises(ValueError, match="1-D"):
        holm([[0.1, 0.2]])


def test_holm_equals_the_hand_written_step_down_bit_for_bit():
    rng = np.random.default_rng(3)
    for trial in range(300):
        m = int(rng.integers(0, 40))
        p = rng.random(m) ** float(rng.choice([1, 3, 8]))
        if trial % 3 == 0:
            p = np.round(p, 2)  # ties
        p[rng.random(m) < 0.2] = np.nan
        if trial % 10 == 0:
            p[:] = rng.choice([0.0, 1.0, 0.5], m)
        np.testing.assert_array_equal(holm(p), reference_holm(p), err_msg=str(p))
        defined = ~np.isnan(p)
        if defined.any() and trial % 20 == 0:  # statsmodels itself (each call runs a full gc.collect)
            np.testing.assert_array_equal(holm(p)[defined], multipletests(p[defined], method="holm")[1])


def test_holm_leaves_the_garbage_collector_as_it_found_it():
    import gc
    assert gc.get_freeze_count() == 0
    holm([0.01, 0.2, 0.04])
    assert gc.get_freeze_count() == 0
    gc.freeze()  # a caller that froze objects itself keeps them frozen
    try:
        frozen = gc.get_freeze_count()
        np.testing.assert_array_equal(holm([0.01, 0.2, 0.04]), reference_holm([0.01, 0.2, 0.04]))
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()


def test_holm_leaves_nan_out_of_the_family_unlike_statsmodels():
    # The kit: an undefined test is no hypothesis, m = 2. statsmodels given the nan counts m = 3.
    np.testing.assert_allclose(holm([0.5, np.nan, 0.01]), [0.5, np.nan, 0.02])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        counted = multipletests(np.array([0.5, np.nan, 0.01]), method="holm")[1]
    assert counted[2] == pytest.approx(0.03)
    assert np.isnan(holm([np.nan, np.nan])).all() and holm([]).shape == (0,)


# ----------------------------------------------------------------------------- power, seeds

def test_paired_t_power_equals_the_previous_formula_where_it_was_defined():
    checked = 0
    for n in list(range(2, 40)) + [60, 100, 250]:
        for effect in np.linspace(0.0, 3.0, 31):
            for alpha in (0.01, 0.05, 0.1):
                ref = reference_power(n, 1.0, effect, alpha)
                if math.isnan(ref):
                    continue
                assert paired_t_power(n, 1.0, effect, alpha) == ref, (n, effect, alpha)
                assert paired_t_power(n, 2.0, -2 * effect, alpha) == reference_power(n, 2.0, -2 * effect, alpha)
                checked += 1
    assert checked > 3000


def test_paired_t_power_is_defined_where_nct_cdf_gives_nan():
    # nct.cdf returns nan far in the lower tail (large noncentrality); the previous formula
    # returned nan for a power that is all but 1, and seeds_needed read nan as "enough".
    # statsmodels' TTestPower goes through the same special function and gives nan there too.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert math.isnan(reference_power(66, 0.76, 1.96))
        assert math.isnan(TTestPower().power(1.96 / 0.76, 66, 0.05))
    assert 1.0 - 1e-12 < paired_t_power(66, 0.76, 1.96) <= 1.0


def test_paired_t_power_agrees_with_statsmodels():
    rng = np.random.default_rng(2)
    for _ in range(300):
        n, sd = int(rng.integers(2, 150)), float(rng.uniform(0.05, 3.0))
        delta, alpha = float(rng.normal(0, 1)), float(rng.choice([0.01, 0.05, 0.1]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = TTestPower().power(abs(delta) / sd, n, alpha)
        if math.isnan(theirs):  # far in the tail, see the test above
            # the lower tail P(T < -c) is at most P(T < 0) = Phi(-nc): the power is the upper tail
            nc, crit = abs(delta) / (sd / math.sqrt(n)), sps.t.ppf(1 - alpha / 2, n - 1)
            upper = sps.nct.sf(crit, n - 1, nc)
            assert 0.0 <= paired_t_power(n, sd, delta, alpha) - upper <= sps.norm.cdf(-nc)
            continue
        assert paired_t_power(n, sd, delta, alpha) == pytest.approx(theirs, abs=1e-12)
    assert math.isnan(paired_t_power(1, 1.0, 1.0))
    with pytest.raises(ValueError, match="sd must be a positive finite number"):
        paired_t_power(5, 0.0, 1.0)


def test_seeds_needed_matches_published_one_sample_t_tables_and_a_simulation():
    # Cohen's tables (two-sided one-sample / paired t, alpha .05, power .8): d = 1 -> 10, d = 0.5 -> 34
    assert seeds_needed(1.0, 1.0) == {"seeds": 10, "power": pytest.approx(paired_t_power(10, 1.0, 1.0))}
    assert seeds_needed(0.7, 0.35)["seeds"] == 34
    assert paired_t_power(9, 1.0, 1.0) < 0.8 <= paired_t_power(10, 1.0, 1.0)
    # independent check by simulation: rejection rate of scipy's t-test at n = 10, d = 1
    rng = np.random.default_rng(0)
    d = rng.normal(1.0, 1.0, size=(20000, 10))
    rate = float((sps.ttest_1samp(d, 0.0, axis=1).pvalue < 0.05).mean())
    assert rate == pytest.approx(paired_t_power(10, 1.0, 1.0), abs=0.01)
    assert seeds_needed(1.0, 0.0) == {"seeds": None, "power": 0.05}
    assert seeds_needed(1.0, 1e-4, max_seeds=50)["seeds"] is None
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        seeds_needed(1.0, 1.0, power=80)


def test_seeds_needed_is_the_smallest_count_reaching_the_power_also_for_large_effects():
    # Large effects over small SDs are where nct.cdf used to give nan: the count must still be minimal.
    rng = np.random.default_rng(4)
    for _ in range(200):
        sd, delta = float(10 ** rng.uniform(-2.5, 0.5)), float(10 ** rng.uniform(-1.5, 0.3))
        alpha, power = float(rng.choice([0.01, 0.05, 0.1])), float(rng.choice([0.5, 0.8, 0.9]))
        plan = seeds_needed(sd, delta, alpha, power)
        n = plan["seeds"]
        assert n is not None and math.isfinite(plan["power"])
        assert plan["power"] == paired_t_power(n, sd, delta, alpha) >= power
        assert n == 2 or paired_t_power(n - 1, sd, delta, alpha) < power
    # one such case: the previous formula gave nan at n = 2, so the search stopped there
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert math.isnan(reference_power(2, 0.0064, 0.0638, 0.01))
    assert paired_t_power(2, 0.0064, 0.0638, 0.01) < 0.8
    assert seeds_needed(0.0064, 0.0638, alpha=0.01)["seeds"] == 3
