"""Checks for notebook 06 (when does balancing help? the imbalance dial).

Each check recomputes its expected value from what the notebook passes in (``cells``: the rows of
:func:`cbmil.study.imbalance.cell_statistics`) or from the library (the training counts of the
imbalance dial, the class weights, the generator's class strengths, the re-sampling probabilities);
exercise 10 reads the DataFrame of :func:`cbmil.study.imbalance.schedule_table` it is given.
"""

from __future__ import annotations

import math

import numpy as np

from cbmil.data.synthetic import class_strengths, config, imbalanced_counts
from cbmil.data.ucf_crime import CLASSES
from cbmil.exercises import check
from cbmil.losses import class_balanced_weights


def _cell(cells: list[dict], level: str, overlap: float, beta: float | None) -> dict:
    found = [c for c in cells if c["imbalance"] == level and c["overlap"] == overlap
             and (beta is None or c["beta"] == beta)]
    if not found:
        raise ValueError(f"no cell imbalance={level!r} overlap={overlap:g} in the {len(cells)} cells given")
    return found[0]


def _level_overlap(answer):
    """``(level, overlap)`` with the level lower-cased and the overlap a float, or the answer as it is."""
    try:
        level, overlap = answer
        return str(level).strip().lower(), float(overlap)
    except (TypeError, ValueError):
        return answer


def exercise_1(answer, cells: list[dict], beta: float | None = None) -> bool:
    """Which cell (imbalance level, overlap) gives MIL's largest Spearman rho of per-class AUC
    against training count? ``answer``: a pair such as ``("extreme", 0.5)``; ``cells``: the
    notebook's ``cells`` (rows of :func:`cbmil.study.imbalance.cell_statistics`)."""
    defined = [c for c in cells if (beta is None or c["beta"] == beta) and math.isfinite(c["mil_spearman_rho"])]
    best = max(defined, key=lambda c: c["mil_spearman_rho"])
    second = sorted((c["mil_spearman_rho"] for c in defined), reverse=True)[1]
    expected = (str(best["imbalance"]).lower(), float(best["overlap"]))
    same_overlap = sorted((c for c in defined if c["overlap"] == best["overlap"]), key=lambda c: c["mil_rare_third_auc"])
    rare = ", ".join(f"{c['imbalance']} {c['mil_rare_third_auc']:.1f} %" for c in same_overlap)
    return check("Exercise 1", None if answer is None else _level_overlap(answer), expected,
                 hint="answer a pair (level, overlap), e.g. (\"extreme\", 0.5). Compare the ρ printed in the "
                      "third heat map cell by cell: the largest ρ is not necessarily at the largest imbalance.",
                 explain=f"ρ = {best['mil_spearman_rho']:+.2f} (the runner-up: {second:+.2f}). Spearman's ρ says "
                         "how well the ranks of AUC and count agree, not how much AUC the rare classes lose: "
                         f"MIL's rarest third at overlap {best['overlap']:g} scores {rare}.")


def exercise_2(answer, cells: list[dict], beta: float | None = None) -> bool:
    """CB-MIL - MIL on the rarest third at the extreme level and overlap 0: ``answer`` =
    ``(mean difference in pp, width of its 95 % interval in pp)``."""
    cell = _cell(cells, "extreme", 0.0, beta)
    gain = cell["rare_third_auc_diff"]
    width = cell["rare_third_auc_ci_high"] - cell["rare_third_auc_ci_low"]
    mean_width = cell["mean_class_auc_ci_high"] - cell["mean_class_auc_ci_low"]
    return check("Exercise 2", answer, [gain, width], tol=0.06,
                 hint="two numbers (gain, width) in percentage points, from the printed table of section 4: the "
                      "gain is the mean difference, the width is the upper minus the lower end of its interval.",
                 explain=f"+{gain:.2f} pp, an interval {width:.1f} pp wide, {width / mean_width:.0f} times the "
                         f"mean over classes' ({mean_width:.1f} pp). The rarest third averages 4 classes, not 13, "
                         "so how much CB-MIL moves it varies far more from world to world, and with 4 worlds the "
                         "t-interval is wide.")


def abnormal_bag_mean_weight(level: str | float, beta: float, normalize: str = "classes") -> float:
    """Mean class-balanced weight over the abnormal training bags of an imbalance level:
    ``sum_c n_c w_c / sum_c n_c`` with ``n_c`` from :func:`cbmil.data.synthetic.imbalanced_counts`
    and ``w_c`` from :func:`cbmil.losses.class_balanced_weights`. Plain MIL's is 1."""
    counts = imbalanced_counts(level)
    n = np.array([counts[c] for c in CLASSES], dtype=float)
    w = class_balanced_weights(n, beta, normalize)
    return float((n * w).sum() / n.sum())


def exercise_3(answer, level: str = "extreme", beta: float = 0.9999) -> bool:
    """The mean CB-MIL weight of an abnormal training bag at ``level`` (weights normalised the
    grid's way, ``"classes"``: the 13 class weights sum to 13)."""
    expected = abnormal_bag_mean_weight(level, beta)
    counts = imbalanced_counts(level)
    rarest, commonest = min(CLASSES, key=counts.get), max(CLASSES, key=counts.get)
    w = class_balanced_weights({c: counts[c] for c in CLASSES}, beta)
    return check("Exercise 3", answer, expected, rel=0.02,
                 hint="weigh each class's weight w_c by its n_c training videos: sum(n_c * w_c) / sum(n_c), with "
                      "w = class_balanced_weights(counts of the 13 classes, beta) and the counts from "
                      "imbalanced_counts(level) (leave Normal out: its bags are not weighted).",
                 explain=f"A {rarest} bag weighs {w[rarest] / w[commonest]:.0f} times a {commonest} bag, and on "
                         f"average an abnormal bag weighs {expected:.2f} of MIL's: at this level CB-MIL also "
                         "shrinks the ranking term against the smoothness and sparsity terms. "
                         "normalize_weights=\"bags\" (exercise 5) keeps the mean at 1.")


def exercise_6(answer, seed: int = 0, preset: str = "ci") -> bool:
    """Strongest over weakest class strength ``s_c`` in the synthetic world of ``seed``."""
    strengths = class_strengths(config(preset), seed)
    strongest, weakest = max(strengths, key=strengths.get), min(strengths, key=strengths.get)
    expected = strengths[strongest] / strengths[weakest]
    cfg = config(preset)
    return check("Exercise 6", answer, expected, rel=0.01,
                 hint="class_strengths(config(\"ci\"), seed=0) gives a dict {class: s_c}; divide its largest "
                      "value by its smallest.",
                 explain=f"{strongest} (s_c = {strengths[strongest]:.1f}) against {weakest} "
                         f"({strengths[weakest]:.1f}): s_c = signal * exp(class_spread * N(0, 1)) with signal = "
                         f"{cfg.signal:g} and class_spread = {cfg.class_spread:g}, one draw per class and world, "
                         "whatever the class's training count.")


def exercise_9(answer, name: str = "Shooting", beta: float = 0.9999) -> bool:
    """The probability ``p_c`` that class-balanced re-sampling draws class ``name`` for an abnormal
    bag, at ``beta``, from UCF-Crime's training counts: ``p_c = n_c w_c / sum_k n_k w_k``
    (:func:`cbmil.sampling.class_sampling_probabilities`)."""
    from cbmil.data.ucf_crime import TRAIN_COUNTS
    from cbmil.sampling import class_sampling_probabilities

    n = np.array([TRAIN_COUNTS[c] for c in CLASSES], dtype=float)
    p = class_sampling_probabilities(n, beta)
    i = CLASSES.index(name)
    commonest = int(np.argmax(n))
    return check("Exercise 9", answer, float(p[i]), tol=5e-5,
                 hint=f"p_c = n_c * w_c / sum_k(n_k * w_k), with n = the 13 training counts (TRAIN_COUNTS, in "
                      f"CLASSES order) and w = class_balanced_weights(n, {beta:g}); use the unrounded weights. "
                      "It is close to 1/13 but not equal to it.",
                 explain=f"p = {p[i]:.5f}, {p[i] / (n[i] / n.sum()):.1f} times the plain draw's "
                         f"{n[i]:.0f}/{n.sum():.0f} = {n[i] / n.sum():.4f}, and {abs(p[i] * len(CLASSES) - 1):.1%} "
                         f"from 1/13. At beta = {beta:g} the effective number (1 - beta^n) / (1 - beta) is "
                         f"almost n itself, so w_c is almost proportional to 1/n_c and re-sampling is almost "
                         f"uniform over the classes; what is left slightly favours the commonest class "
                         f"({CLASSES[commonest]}: p = {p[commonest]:.5f}), whose effective number falls furthest "
                         "below its count.")


def exercise_10(answer, table, quantity: str = "mean over classes") -> bool:
    """How many verdicts of ``imbalance.schedule_table(...)`` on ``quantity`` are the same at both
    schedules (column ``survives``)? ``table``: the DataFrame of
    :func:`cbmil.study.imbalance.schedule_table`."""
    rows = table[table["quantity"] == quantity]
    if rows.empty:
        raise ValueError(f"no rows for quantity {quantity!r}; the table has {sorted(set(table['quantity']))}")
    steps = sorted(int(c.split("_")[1]) for c in table.columns if c.startswith("verdict_"))
    short, long = (f"verdict_{s}" for s in steps)
    expected = int(rows["survives"].sum())
    changed = rows[~rows["survives"]]
    toward_0 = int((changed[long] == "0").sum())
    flipped = int(((changed[short] + changed[long]).isin(["+-", "-+"])).sum())
    lows = [f"ci_low_{s}" for s in steps]
    highs = [f"ci_high_{s}" for s in steps]
    disjoint = int(((rows[lows[0]] > rows[highs[1]]) | (rows[lows[1]] > rows[highs[0]])).sum())
    return check("Exercise 10", answer, expected,
                 hint=f"count the rows of the printed table whose verdict at {steps[0]} steps equals the one at "
                      f"{steps[1]} steps ('+', '-' or '0'; a verdict is the raw interval's), or sum "
                      "table['survives'] over the rows of that quantity.",
                 explain=f"{expected} of {len(rows)}. Of the {len(changed)} that changed, {toward_0} went from an "
                         f"interval excluding 0 at {steps[0]} steps to one containing 0 at {steps[1]} and "
                         f"{flipped} changed sign; in {disjoint} of the {len(rows)} rows the two schedules' "
                         "intervals do not overlap. A verdict from 4 worlds is a statement about one schedule: "
                         "give the number of steps beside it.")
