"""Seed statistics: comparing training runs across random seeds.

What this module holds
----------------------
The statistics the studies (:mod:`cbmil.study`) put next to a metric measured once per seed;
the metrics themselves are in :mod:`cbmil.eval.metrics`.

* :func:`seed_summary`: mean and sample standard deviation of one metric over ``n`` seeds.
* :func:`paired_difference`: paired Student-t interval and two-sided p-value of
  ``treatment - control``, the two runs of a pair sharing their seed.
* :func:`holm`: Holm's step-down adjustment of a family of such p-values.
* :func:`paired_t_power` and :func:`seeds_needed`: power of that paired t-test, and the fewest
  seeds that reach a given power (``cbmil plan-seeds``).

Where the numbers come from
---------------------------
=====================  ==============================================================================
function               library call
=====================  ==============================================================================
``seed_summary``       ``numpy.mean``, ``numpy.std(ddof=1)``
``paired_difference``  ``scipy.stats.ttest_rel`` (its ``pvalue`` and ``confidence_interval()``)
``holm``               ``statsmodels.stats.multitest.multipletests(method="holm")``
``paired_t_power``     ``scipy.stats.t.ppf`` and ``scipy.stats.nct`` (noncentral t)
``seeds_needed``       integer search over :func:`paired_t_power`
=====================  ==============================================================================

The kit adds its own input checks and keeps its own answer on the edge cases where the library
has none or another: one seed, differences that are all equal, ``nan`` p-values in a Holm family,
the far tail of the noncentral t (where ``nct.cdf`` returns ``nan``). Each function's docstring
says which; ``tests/test_stats.py`` checks every function against the textbook formula the kit
used before the libraries took over.

Data layout
-----------
``values``, ``treatment``, ``control``  float ``[n]``
    One metric value per seed; ``treatment[i]`` and ``control[i]`` come from the same seed.
``p_values``  float ``[m]``
    One p-value per hypothesis of a family; ``nan`` marks an undefined test.
"""

from __future__ import annotations

import gc
import math
import warnings
from typing import Any

import numpy as np
import scipy.stats
from statsmodels.stats.multitest import multipletests

__all__ = ["seed_summary", "paired_difference", "holm", "paired_t_power", "seeds_needed"]

# scipy warns about "catastrophic cancellation" when the per-seed differences are nearly equal
# (relative spread below 10 machine epsilons). The kit reports that spread itself (``std``), and the
# interval and p-value scipy returns then are those of the t formula, so the warning is muted there.
_PRECISION_WARNING = "Precision loss occurred in moment calculation"


def _holm_adjusted(p: np.ndarray) -> np.ndarray:
    """``multipletests(p, method="holm")[1]`` without the cost of its ``gc.collect()``.

    statsmodels' Holm branch runs a full garbage collection on every call, which is slow once
    torch, a study's worlds and models are in memory (the studies call :func:`holm` for every
    table). ``gc.freeze()`` moves the objects that exist now out of the collector's reach for
    the length of the call, so that collection only sees the call's own objects;
    ``gc.unfreeze()`` hands them back. Left alone when the caller has frozen objects itself
    (``gc.get_freeze_count() > 0``), so as not to undo that.
    """
    if gc.get_freeze_count():
        return multipletests(p, method="holm")[1]
    gc.freeze()
    try:
        return multipletests(p, method="holm")[1]
    finally:
        gc.unfreeze()


def _check_seed_values(name: str, values: Any) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array (one value per seed); received shape {arr.shape}")
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be numeric; received dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    if arr.size == 0:
        raise ValueError(f"{name} is empty; expected at least one value (one per seed)")
    if not np.all(np.isfinite(arr)):
        where = np.flatnonzero(~np.isfinite(arr)).tolist()
        raise ValueError(
            f"{name} contains NaN/inf at position(s) {where}; a failed or undefined run must be "
            "resolved explicitly, not dropped silently"
        )
    return arr


def seed_summary(values: Any) -> dict[str, float | int]:
    """Mean and spread of one metric over seeds.

    Parameters
    ----------
    values : array_like of float, shape (n,)
        One value per seed (e.g. the Total AUC of each run).

    Returns
    -------
    dict
        ``mean`` (float, ``numpy.mean``), ``std`` (float, sample standard deviation
        ``numpy.std(ddof=1)``; ``nan`` for ``n = 1``, since one run carries no information on the
        spread) and ``n`` (int).

    Raises
    ------
    ValueError
        Not 1-D, empty, or any NaN/inf entry (a failed run must be handled explicitly, not dropped).
    """
    arr = _check_seed_values("values", values)
    std = float(arr.std(ddof=1)) if arr.size > 1 else float("nan")
    return {"mean": float(arr.mean()), "std": std, "n": int(arr.size)}


def paired_difference(treatment: Any, control: Any, confidence: float = 0.95) -> dict[str, Any]:
    """Paired Student-t confidence interval and test of ``treatment - control`` over seeds.

    Method: the runs are paired by seed, ``d_i = treatment[i] - control[i]``; the interval is
    ``mean(d) +/- t_{(1 + confidence) / 2, n - 1} * sd(d) / sqrt(n)`` with ``sd`` the sample
    standard deviation (``ddof=1``), and the p-value is that of the two-sided paired t-test of a
    zero mean difference. Both come from ``scipy.stats.ttest_rel(treatment, control)``: its
    ``pvalue`` and ``confidence_interval(confidence)``.

    Why paired: the same seed gives both methods the same initialisation and the same batch order,
    so most of the seed-to-seed variance is shared and cancels in ``d_i``; an unpaired comparison
    would count it twice and need many more seeds to resolve a 0.1-0.5 point difference
    (docs/method-choices.md, 7). ``treatment[i]`` and ``control[i]`` must come from the same seed.

    Parameters
    ----------
    treatment, control : array_like of float, shape (n,)
        One metric value per seed, in the same seed order.
    confidence : float, default 0.95
        Two-sided confidence level, strictly between 0 and 1.

    Returns
    -------
    dict
        ``mean``, ``std`` (sample sd of the differences), ``ci_low``, ``ci_high`` (floats),
        ``n`` (int), ``exceeds_noise`` (bool): True when the interval excludes 0, i.e.
        ``ci_low > 0`` or ``ci_high < 0``, and ``p_value`` (float): the two-sided paired t-test
        (``exceeds_noise`` is ``p_value < 1 - confidence``; for many comparisons adjust the
        p-values with :func:`holm`).

    Edge cases (the kit's answers, not scipy's)
    -------------------------------------------
    ``n = 1``
        ``std``, the interval and ``p_value`` are ``nan`` and ``exceeds_noise`` is False; scipy
        is not called (it would warn that one sample is too small).
    all differences equal (``std = 0``)
        The interval shrinks to the mean; ``p_value`` is 0.0 for a nonzero mean and 1.0 when every
        difference is 0. scipy is not called here: for all-zero differences its t statistic is
        0/0 and its p-value ``nan``, and for any constant difference it warns about precision loss.

    Raises
    ------
    ValueError
        Different lengths, empty input, NaN/inf entries, or ``confidence`` outside (0, 1).
    """
    t_arr = _check_seed_values("treatment", treatment)
    c_arr = _check_seed_values("control", control)
    if t_arr.shape != c_arr.shape:
        raise ValueError(
            f"treatment and control must have one value per seed each, expected equal shapes; "
            f"received treatment {t_arr.shape}, control {c_arr.shape}"
        )
    confidence = float(confidence)
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1; received {confidence}")
    diff = t_arr - c_arr
    n = int(diff.size)
    mean = float(diff.mean())
    if n < 2:
        nan = float("nan")
        return {"mean": mean, "std": nan, "ci_low": nan, "ci_high": nan, "n": n,
                "exceeds_noise": False, "p_value": nan}
    std = float(diff.std(ddof=1))
    if std == 0.0:
        low = high = mean
        p_value = 1.0 if mean == 0 else 0.0
    else:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=_PRECISION_WARNING, category=RuntimeWarning)
            test = scipy.stats.ttest_rel(t_arr, c_arr)
            interval = test.confidence_interval(confidence_level=confidence)
        low, high, p_value = float(interval.low), float(interval.high), float(test.pvalue)
    return {"mean": mean, "std": std, "ci_low": low, "ci_high": high, "n": n,
            "exceeds_noise": bool(low > 0.0 or high < 0.0), "p_value": p_value}


def holm(p_values: Any) -> np.ndarray:
    """Holm's step-down adjustment of a family of p-values (family-wise error control).

    Sort the m p-values ascending, multiply the k-th smallest (k = 0..m-1) by ``m - k``, take the
    running maximum and clip at 1: ``statsmodels.stats.multitest.multipletests(p,
    method="holm")``. A hypothesis is rejected at level alpha when its adjusted p-value is
    <= alpha; this controls the probability of *any* false rejection in the family at alpha,
    under any dependence between the tests.

    ``nan`` entries (undefined tests) stay ``nan`` and do not count in m (the kit's rule:
    statsmodels would count them in m); only the defined ones go to statsmodels. A family
    without a defined p-value gives all ``nan``.

    Parameters
    ----------
    p_values : array_like of float, shape (m,)

    Returns
    -------
    ndarray of float, shape (m,), the adjusted p-values in the input order.

    Raises
    ------
    ValueError
        Not 1-D, or a defined p-value outside [0, 1].

    Examples
    --------
    >>> holm([0.01, 0.04, 0.03]).round(2).tolist()
    [0.03, 0.06, 0.06]
    """
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1:
        raise ValueError(f"p_values must be a 1-D array; received shape {p.shape}")
    out = np.full(p.shape, np.nan)
    defined = ~np.isnan(p)
    if not defined.any():
        return out
    bad = defined & ((p < 0) | (p > 1))
    if bad.any():
        raise ValueError(f"p_values must lie in [0, 1]; received {p[bad][:5].tolist()} at position(s) "
                         f"{np.flatnonzero(bad)[:5].tolist()}")
    out[defined] = _holm_adjusted(p[defined])
    return out


def paired_t_power(n: int, sd: float, delta: float, alpha: float = 0.05) -> float:
    """Power of a two-sided paired t-test at level ``alpha`` with ``n`` pairs, when the per-seed
    differences have standard deviation ``sd`` and true mean ``delta``.

    Exact, from the noncentral t distribution: with ``df = n - 1``, noncentrality
    ``nc = |delta| / (sd / sqrt(n))`` and critical value ``c = t_{1 - alpha/2, df}``
    (``scipy.stats.t.ppf``), the power is ``P(T > c) + P(T < -c)`` for ``T ~ nct(df, nc)``.
    Both tails are ``scipy.stats.nct.sf``: the lower one as ``P(T' > c)`` for
    ``T' ~ nct(df, -nc)`` (the same law mirrored). ``scipy.stats.nct.cdf(-c, df, nc)`` gives the
    same value bit for bit where it is defined, but returns ``nan`` far in the tail (large
    ``nc``, where the power is close to 1), which made this function return ``nan`` there.
    Agrees with statsmodels' ``TTestPower().power(|delta| / sd, n, alpha)`` to ~1e-12 where that
    is defined (statsmodels takes ``1 - cdf`` for the upper tail, and its lower tail is the same
    ``nan`` far out, so it is not used here).

    Returns ``nan`` for ``n < 2`` (no test exists).

    Raises
    ------
    ValueError
        ``sd`` not a positive finite number.
    """
    if n < 2:
        return float("nan")
    if not (sd > 0 and math.isfinite(sd)):
        raise ValueError(f"sd must be a positive finite number; received {sd!r}")
    df = n - 1
    nc = abs(delta) / (sd / math.sqrt(n))
    crit = float(scipy.stats.t.ppf(1.0 - alpha / 2.0, df))
    return float(scipy.stats.nct.sf(crit, df, nc) + scipy.stats.nct.sf(crit, df, -nc))


def seeds_needed(sd: float, delta: float, alpha: float = 0.05, power: float = 0.8,
                 max_seeds: int = 100_000) -> dict:
    """Smallest number of paired seeds whose two-sided paired t-test at level ``alpha`` detects a
    true mean difference ``delta`` with at least ``power`` (:func:`paired_t_power`).

    An integer search (double, then bisect; power grows with ``n``), where statsmodels'
    ``TTestPower().solve_power`` would return a fractional ``n``.

    Returns ``{"seeds": n, "power": achieved}``; ``seeds`` is ``None`` when even ``max_seeds``
    does not reach the power, and ``{"seeds": None, "power": alpha}`` for ``delta = 0``.

    Raises
    ------
    ValueError
        ``alpha`` or ``power`` outside (0, 1); ``sd`` not positive and finite (``delta != 0``).

    >>> seeds_needed(1.0, 1.0)["seeds"]  # an effect of one standard deviation
    10
    """
    if not 0 < power < 1 or not 0 < alpha < 1:
        raise ValueError(f"alpha and power must lie strictly between 0 and 1; received {alpha}, {power}")
    if delta == 0:
        return {"seeds": None, "power": alpha}
    lo, hi = 2, 2
    while paired_t_power(hi, sd, delta, alpha) < power:  # power grows with n: double, then bisect
        lo, hi = hi + 1, hi * 2
        if hi > max_seeds:
            return {"seeds": None, "power": paired_t_power(max_seeds, sd, delta, alpha)}
    while lo < hi:
        mid = (lo + hi) // 2
        if paired_t_power(mid, sd, delta, alpha) >= power:
            hi = mid
        else:
            lo = mid + 1
    return {"seeds": hi, "power": paired_t_power(hi, sd, delta, alpha)}
