"""Checks for notebook 03 (class-balanced weights and the CB-MIL loss).

Each check recomputes its expected value from the library: the official training counts
(:data:`cbmil.data.ucf_crime.TRAIN_COUNTS`) and the kit's weights
(:func:`cbmil.losses.class_balanced_weights`, :func:`cbmil.losses.ucf_crime_class_weights`).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq

from cbmil.data.ucf_crime import CLASSES, TRAIN_COUNTS
from cbmil.exercises import check
from cbmil.losses import class_balanced_weights, effective_number, ucf_crime_class_weights


def _number(answer):
    """``answer`` as a float, or None when it is not a finite number (so that a check can test
    it against the common slips before handing it to :func:`check`)."""
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _class_index(cls: str) -> int:
    if cls not in CLASSES:
        raise ValueError(f"cls must be one of the 13 anomaly classes {CLASSES}, got {cls!r}")
    return CLASSES.index(cls)


def raw_weight(cls: str = "Shooting", beta: float = 0.99) -> float:
    """Raw class-balanced weight ``(1 - beta) / (1 - beta^n)`` of the UCF-Crime class ``cls``
    (``n`` its training videos): eq. (2)'s factor, before any normalisation."""
    return float(ucf_crime_class_weights(beta, normalize="none")[_class_index(cls)])


def exercise_1(answer, cls: str = "Shooting", beta: float = 0.99) -> bool:
    """Raw weight of ``cls`` at ``beta``, computed by hand: ``answer`` a number."""
    n = TRAIN_COUNTS[cls]
    expected = raw_weight(cls, beta)
    value = _number(answer)
    if value is not None:
        normalised = ucf_crime_class_weights(beta, normalize="classes")[_class_index(cls)]
        if abs(value - normalised) <= 1e-3 * normalised:
            raise AssertionError(f"Exercise 1: {answer!r} is the normalised weight (sum = 13). Hint: the raw "
                                 f"weight is (1 - β) / (1 - β**n), before any rescaling.")
        if abs(value - effective_number(n, beta)) <= 1e-3 * effective_number(n, beta):
            raise AssertionError(f"Exercise 1: {answer!r} is the effective number E_n. Hint: the weight is its "
                                 f"inverse, 1 / E_n.")
    return check("Exercise 1", answer, expected, rel=1e-3,
                 hint=f"w = (1 - β) / (1 - β**n) with β = {beta} and n = {n} ({cls}'s training videos): "
                      "a number of a few hundredths, the raw column of the table of section 2.",
                 explain=f"(1 - {beta}) / (1 - {beta}**{n}) = {expected:.4f}; its effective number is "
                         f"{1 / expected:.1f} of its {n} videos.")


def beta_for_ratio(target: float = 3.0) -> float:
    """The beta in (0.9, 0.9999) at which the max/min ratio of the 13 raw UCF-Crime weights is
    ``target``; the ratio grows with beta over that range, so the root is unique."""
    def gap(beta):
        w = ucf_crime_class_weights(beta, normalize="none")
        return w.max() / w.min() - target
    return float(brentq(gap, 0.9, 0.9999, xtol=1e-12))


def exercise_2(answer, target: float = 3.0) -> bool:
    """The beta of a max/min raw-weight ratio of ``target``: ``answer`` a number in (0, 1)."""
    expected = beta_for_ratio(target)
    value = _number(answer)
    if value is not None and not 0 <= value < 1:
        raise AssertionError(f"Exercise 2: {answer!r} is not right. Hint: the answer is a β, between 0 and 1 "
                             f"(not the ratio itself).")
    counts = np.array([TRAIN_COUNTS[c] for c in CLASSES])
    return check("Exercise 2", answer, expected, tol=2e-4,
                 hint=f"the 'try it' cell scans β from 0.9 to 0.9999 and prints the β whose ratio is closest "
                      f"to {target:g}; give that β (to 4 decimals).",
                 explain=f"β ≈ {expected:.4f}: there E_n saturates at 1/(1 - β) ≈ {1 / (1 - expected):.0f}, "
                         f"inside the range of class sizes ({counts.min()} to {counts.max()}), so the large "
                         f"classes' effective numbers fall well short of their counts and the ratio is {target:g}, not the "
                         f"{counts.max() / counts.min():.2f} of inverse frequency.")


def weight_ratio(frequent: str = "Robbery", rare: str = "Shooting", beta: float = 0.9999) -> float:
    """``w_frequent / w_rare`` of the UCF-Crime weights at ``beta`` (the same for every
    normalisation: they rescale all 13 weights by one factor)."""
    w = ucf_crime_class_weights(beta, normalize="none")
    return float(w[_class_index(frequent)] / w[_class_index(rare)])


def exercise_3(answer, frequent: str = "Robbery", rare: str = "Shooting", beta: float = 0.9999) -> bool:
    """Weight of ``frequent`` divided by the weight of ``rare`` at ``beta``: ``answer`` a number."""
    expected = weight_ratio(frequent, rare, beta)
    inverse_frequency = TRAIN_COUNTS[rare] / TRAIN_COUNTS[frequent]
    value = _number(answer)
    if value is not None:
        if abs(value - inverse_frequency) <= 2e-4:
            raise AssertionError(f"Exercise 3: {answer!r} is {TRAIN_COUNTS[rare]}/{TRAIN_COUNTS[frequent]}, the "
                                 "inverse count ratio. Hint: divide the two weights themselves (the raw or the "
                                 "normalised ones: the ratio is the same).")
        if abs(value - 1 / expected) <= 1e-3 * (1 / expected):
            raise AssertionError(f"Exercise 3: {answer!r} is {rare}'s weight over {frequent}'s. Hint: the other "
                                 f"way round, {frequent}'s weight divided by {rare}'s (a number below 1).")
    return check("Exercise 3", answer, expected, tol=6e-4,
                 hint=f"w[{frequent}] / w[{rare}] at β = {beta}: the table of section 2 has both weights "
                      "(raw or normalised, the ratio is the same).",
                 explain=f"{expected:.4f} against {TRAIN_COUNTS[rare]}/{TRAIN_COUNTS[frequent]} = "
                         f"{inverse_frequency:.4f}: at β = {beta}, 1/(1 - β) = {1 / (1 - beta):,.0f} is far above "
                         f"both counts, so E_n is close to n and the weights are close to inverse frequency.")


def mean_bag_weight_limit(counts=None) -> float:
    """Mean weight per abnormal training bag under Cui et al.'s normalisation (the weights sum
    to the number of classes) as beta -> 1, computed from the kit's weights at beta = 1 - 1e-12.
    ``counts``: training videos per class (default: UCF-Crime's 13 anomaly classes)."""
    counts = np.array([TRAIN_COUNTS[c] for c in CLASSES] if counts is None else counts, dtype=float)
    w = class_balanced_weights(counts, 1 - 1e-12, normalize="classes")
    return float(np.average(w, weights=counts))


def exercise_4(answer) -> bool:
    """The limit, as beta -> 1, of the mean weight per abnormal training bag with
    ``normalize="classes"`` on UCF-Crime's counts: ``answer`` a number."""
    expected = mean_bag_weight_limit()
    value = _number(answer)
    if value is not None and value > 1 + 1e-9:
        raise AssertionError(f"Exercise 4: {answer!r} is not right. Hint: the mean is below 1 (the frequent "
                             "classes, drawn most often, weigh least); did you divide the arithmetic mean by "
                             "the harmonic one?")
    return check("Exercise 4", answer, expected, tol=1e-3,
                 hint="with w_y proportional to 1/n_y and the 13 weights summing to 13, the mean over the "
                      "bags, sum(n_y w_y) / sum(n_y), is the harmonic mean of the counts over their "
                      "arithmetic mean: scipy.stats.hmean(counts) / counts.mean().",
                 explain=f"{expected:.3f}: a harmonic mean never exceeds the arithmetic one and equals it only "
                         "when all counts are equal, so on imbalanced classes Cui's normalisation always "
                         "shrinks the average bag's weight; β = 0.9999 is already close to this limit, "
                         "β = 0.9 (nearly equal weights) is close to 1.")
