"""Checks for notebook 04's Quick exercises (training: the loop, the sweep, the schedule).

Each check computes the expected value from the inputs the notebook passes (its own timings,
the committed runs, the toy's scores), so a right answer is right on any machine.
"""

from __future__ import annotations

import numpy as np
import scipy.stats

from cbmil.eval.stats import paired_difference
from cbmil.exercises import check


def schedule_minutes(grid_step_seconds: float, grid_models: int, models: int = 25, steps: int = 10_000) -> float:
    """Minutes for ``models`` models x ``steps`` steps, scaling the time per step of a grid of
    ``grid_models`` models in proportion to the number of models."""
    if grid_step_seconds <= 0 or grid_models < 1:
        raise ValueError(f"expected a positive step time and grid_models >= 1, got {grid_step_seconds}, {grid_models}")
    return steps * grid_step_seconds * models / grid_models / 60.0


def exercise_1(answer, grid_step_seconds: float, grid_models: int) -> bool:
    """Exercise 1: minutes for the paper's 25-model, 10,000-step schedule on this device."""
    expected = schedule_minutes(grid_step_seconds, grid_models)
    return check("Exercise 1", answer, expected, rel=0.05,
                 hint=f"time per step of the {grid_models}-model grid (s) x 25 / {grid_models} models x 10,000 "
                      "steps, then / 60 for minutes",
                 explain=f"About {expected:.0f} min here; compare with the GPU's training time under 'On a GPU'.")


def interval_width_ratio(treatment, control, confidence: float = 0.95) -> float:
    """Width of the unpaired (Welch) interval of ``mean(treatment) - mean(control)`` divided by
    the width of the paired one (:func:`cbmil.eval.stats.paired_difference`); ``[n]`` each."""
    treatment, control = np.asarray(treatment, dtype=float), np.asarray(control, dtype=float)
    paired = paired_difference(treatment, control, confidence)
    welch = scipy.stats.ttest_ind(treatment, control, equal_var=False).confidence_interval(confidence)
    return float((welch.high - welch.low) / (paired["ci_high"] - paired["ci_low"]))


def exercise_2(answer, treatment, control) -> bool:
    """Exercise 2: how many times wider the unpaired interval is than the paired one."""
    expected = interval_width_ratio(treatment, control)
    return check("Exercise 2", answer, expected, rel=0.02,
                 hint="scipy.stats.ttest_ind(cb, mil, equal_var=False).confidence_interval() gives the unpaired "
                      "interval; cbmil.eval.stats.paired_difference(cb, mil) the paired one; divide the widths",
                 explain="The seed-to-seed spread (world, initial weights, batches) is shared by both methods of a "
                         "seed: the paired difference cancels it, an unpaired comparison counts it twice. Models "
                         "of one seed start from the same weights so that this sharing holds.")


def top_in_event_share(scores, segment_labels, bag_labels) -> float:
    """Share of abnormal bags whose top-scoring segment is anomalous: ``scores`` and
    ``segment_labels`` ``[N, 32]``, ``bag_labels`` ``[N]`` (1 = abnormal)."""
    scores, segment_labels = np.asarray(scores), np.asarray(segment_labels)
    abnormal = np.asarray(bag_labels) == 1
    if scores.shape != segment_labels.shape or scores.ndim != 2 or not abnormal.any():
        raise ValueError(f"expected scores and segment_labels [N, S] and at least one abnormal bag, got "
                         f"{scores.shape}, {segment_labels.shape}")
    top = scores[abnormal].argmax(axis=1)
    return float(segment_labels[abnormal][np.arange(len(top)), top].mean())


def exercise_3(answer, scores, segment_labels, bag_labels) -> bool:
    """Exercise 3: share of abnormal test bags whose top-scoring segment lies in the event."""
    expected = top_in_event_share(scores, segment_labels, bag_labels)
    return check("Exercise 3", answer, expected, tol=1e-9,
                 hint="for the abnormal test bags only: argmax of each bag's scores, then look that segment up in "
                      "toy_test.segment_labels and average",
                 explain="Max pooling trains exactly this segment: the top one of each bag.")


def first_step_within(eval_steps, curve, within: float = 0.005) -> int:
    """First of ``eval_steps`` where ``curve`` (same length) is within ``within`` of its last value."""
    eval_steps, curve = np.asarray(eval_steps), np.asarray(curve, dtype=float)
    if eval_steps.shape != curve.shape or curve.ndim != 1 or len(curve) == 0:
        raise ValueError(f"expected eval_steps and curve of one equal length, got {eval_steps.shape}, {curve.shape}")
    return int(eval_steps[np.flatnonzero(np.abs(curve - curve[-1]) <= within)[0]])


def exercise_4(answer, eval_steps, mil_mean_total_auc) -> bool:
    """Exercise 4: first evaluation step where MIL's mean Total AUC is within 0.5 pp of its final value."""
    expected = first_step_within(eval_steps, mil_mean_total_auc)
    return check("Exercise 4", answer, expected, tol=0,
                 hint="take the mean over seeds at every evaluation step, subtract the last value and find the "
                      "first step where the absolute gap is <= 0.005 (0.5 pp)",
                 explain=f"Step {expected}: in the remaining {int(np.asarray(eval_steps)[-1]) - expected} steps MIL "
                         "gains at most half a point more.")
