"""Checks for notebook 05 (the results: per-class analysis with seeds).

Each check recomputes its expected value from what the notebook passes in (the rows of
:meth:`cbmil.study.reproduction.Study.table1` / ``table2``, a study's per-seed AUCs, a world's
saved test scores and layout) or from the library (:func:`cbmil.eval.stats.seeds_needed`, the
paper's Table 2, :func:`cbmil.eval.metrics.per_class_auc`).
"""

from __future__ import annotations

import numpy as np
import scipy.stats

from cbmil.data.frames import frame_scores
from cbmil.data.ucf_crime import CLASSES
from cbmil.eval import metrics
from cbmil.eval import stats as seed_stats
from cbmil.exercises import check
from cbmil.study import paper


def _betas(rows: list[dict]) -> list[str]:
    """The beta tags (``"0.9"``, ...) of Table 1 rows, from their ``change_<beta>_p_holm`` columns."""
    return sorted({k[len("change_"):-len("_p_holm")] for k in rows[0]
                   if k.startswith("change_") and k.endswith("_p_holm")}, key=float)


def table1_passes(rows: list[dict]) -> tuple[float, int, int]:
    """``(expected by chance, raw passes, Holm passes)`` over Table 1's per-class changes: the
    number of the 13 x betas changes whose raw 95 % interval would exclude 0 if CB-MIL changed
    nothing (5 % of them), how many did, and how many keep Holm-adjusted p < 0.05.
    ``rows``: :meth:`~cbmil.study.reproduction.Study.table1` (the mean row is ignored)."""
    classes = [r for r in rows if r["class"] in CLASSES]
    tags = _betas(rows)
    raw = sum(bool(r[f"change_{t}_exceeds_noise"]) for r in classes for t in tags)
    holm = sum(bool(r[f"change_{t}_exceeds_noise_holm"]) for r in classes for t in tags)
    return 0.05 * len(classes) * len(tags), raw, holm


def exercise_1(answer, rows: list[dict]) -> bool:
    """Table 1: ``answer`` = ``(expected raw passes with no effect, raw passes, passes after Holm)``.
    ``rows``: the notebook's ``t1``."""
    expected = table1_passes(rows)
    if answer is not None:
        try:
            answer = [float(a) for a in answer]
        except (TypeError, ValueError):
            pass
    return check("Exercise 1", answer, list(expected), tol=0.05,
                 hint="three numbers: 5 % of the 13 x 4 per-class changes; then count the cells of Table 1 "
                      "marked * (raw) and † (Holm), or the changes listed in section 7.",
                 explain=f"{expected[0]:.1f} expected by chance, {expected[1]} seen, {expected[2]} after Holm. "
                         "Raw passes are evidence of an effect only when there are clearly more of them than "
                         "chance gives, or when they survive the correction.")


def seeds_and_minutes(table2: list[dict], train_seconds: float, n_seeds: int, beta: float = 0.9999) -> tuple[int, float]:
    """``(seeds, minutes)``: the seeds a paired t-test (alpha 0.05, power 0.8) needs to resolve the
    paper's published Abnormal AUC gain of CB-MIL at ``beta`` at this study's SD of the per-seed
    differences (:func:`cbmil.eval.stats.seeds_needed`, as under Table 2), and the minutes the
    whole grid (MIL + every beta) would train with that many seeds, if the training time
    ``train_seconds`` measured for ``n_seeds`` seeds grows in proportion to the number of models."""
    row = next(r for r in table2 if r["beta"] == beta)
    gain = paper.TABLE2[beta][0] - paper.TABLE2[None][0]
    seeds = seed_stats.seeds_needed(row["abnormal_diff_std"], gain)["seeds"]
    if seeds is None:
        raise ValueError(f"no number of seeds up to 100,000 resolves {gain:+.2f} pp at SD {row['abnormal_diff_std']:.2f}")
    return seeds, seeds / n_seeds * train_seconds / 60


def exercise_2(answer, table2: list[dict], train_seconds: float, n_seeds: int) -> bool:
    """Seeds needed for the paper's beta = 0.9999 gain, and how long training them would take:
    ``answer`` = ``(seeds, minutes)``. ``table2``: the notebook's ``t2``; ``train_seconds`` and
    ``n_seeds``: the study's training time and seeds (``study.seconds``, ``len(study.seeds)``)."""
    seeds, minutes = seeds_and_minutes(table2, train_seconds, n_seeds)
    hint = ("two numbers (seeds, minutes). The seeds are in the line under Table 2 ('Seeds needed ... β=0.9999: "
            "... → N'); the minutes scale the training time printed in section 1 from its seeds to N seeds "
            "(the time grows in proportion to the number of models).")
    if answer is None:
        return check("Exercise 2", None, seeds)
    try:
        got_seeds, got_minutes = answer
    except (TypeError, ValueError):
        return check("Exercise 2", answer, [seeds, minutes], hint=hint)
    check("Exercise 2 (seeds)", got_seeds, seeds, hint=hint)
    return check("Exercise 2 (minutes)", got_minutes, minutes, rel=0.1, hint=hint,
                 explain=f"{seeds} seeds, about {minutes:.0f} min of training for the 5-variant grid on the machine "
                         "that made results/: affordable on a CPU, yet a single run cannot tell a gain of this "
                         "size from seed noise.")


def interval_width_ratio(treatment, control, confidence: float = 0.95) -> float:
    """Width of the unpaired (Student t, equal variances, ``scipy.stats.ttest_ind``) interval of
    ``treatment - control`` divided by the width of the paired one
    (:func:`cbmil.eval.stats.paired_difference`). ``treatment``, ``control``: [seeds] floats,
    the same seed at the same position."""
    unpaired = scipy.stats.ttest_ind(treatment, control).confidence_interval(confidence)
    paired = seed_stats.paired_difference(treatment, control, confidence)
    return float((unpaired.high - unpaired.low) / (paired["ci_high"] - paired["ci_low"]))


def exercise_6(answer, treatment, control) -> bool:
    """How many times wider the unpaired 95 % interval of CB-MIL - MIL is than the paired one.
    ``treatment``, ``control``: per-seed Abnormal AUC (pp) of CB-MIL 0.9999 and MIL."""
    treatment, control = np.asarray(treatment, dtype=float), np.asarray(control, dtype=float)
    ratio = interval_width_ratio(treatment, control)
    unpaired = scipy.stats.ttest_ind(treatment, control).confidence_interval(0.95)
    return check("Exercise 6", answer, ratio, rel=0.02,
                 hint="one number: (high - low) of scipy.stats.ttest_ind(cb, mil).confidence_interval() divided "
                      "by (ci_high - ci_low) of seed_stats.paired_difference(cb, mil). Not the half-widths' "
                      "difference, and not the other way round (it is > 1).",
                 explain=f"{ratio:.1f} times wider (unpaired [{unpaired.low:+.2f}, {unpaired.high:+.2f}] pp): "
                         "ignoring the pairing puts the spread between the worlds back into the comparison.")


def with_normal_gain(snippet_scores, layout: dict) -> float:
    """Abnormal AUC with every normal test frame added to each class's negatives
    (``include_normal=True``) minus the paper's reading (each class's own videos only), in pp, for
    one model. ``snippet_scores``: [S] test snippet scores; ``layout``: a world's test layout
    (:func:`cbmil.study.reproduction.load_study`'s ``layouts[k]``)."""
    frames = frame_scores(np.asarray(snippet_scores), layout["test_offsets"], layout["test_n_frames"])
    args = (layout["test_frame_labels"], frames, layout["test_frame_offsets"], layout["test_classes"])
    paper_reading = metrics.abnormal_auc(metrics.per_class_auc(*args))
    with_normal = metrics.abnormal_auc(metrics.per_class_auc(*args, include_normal=True))
    return 100 * (with_normal - paper_reading)


def exercise_4(answer, snippet_scores, layout: dict) -> bool:
    """Abnormal AUC with the normal videos' frames added, minus the paper's reading (pp), for seed
    0's MIL model: ``answer`` in percentage points."""
    gain = with_normal_gain(snippet_scores, layout)
    return check("Exercise 4", answer, gain, tol=0.05,
                 hint="compute metrics.per_class_auc(labels, frames, frame_offsets, classes) once with "
                      "include_normal=False and once with True, take metrics.abnormal_auc of each, and give the "
                      "difference in percentage points (x 100).",
                 explain=f"{gain:+.1f} pp. The frames of the normal test videos are far easier negatives than "
                         "the normal frames inside the class's own videos (same scene, next to the event), and "
                         "there are many more of them, so they dominate the AUC's pairs; the paper's reading "
                         "keeps only the hard negatives.")
