"""Notebook 04's exercise checks: a right answer passes, a wrong one raises with a hint."""

import numpy as np
import pytest
import scipy.stats

from cbmil.exercises import nb04


def test_exercise_1_scales_the_grid_step_to_25_models_and_10000_steps():
    # 0.5 s a step for 10 models -> 0.05 s a model-step -> 25 models x 10,000 steps = 12,500 s
    assert nb04.exercise_1(12_500 / 60, grid_step_seconds=0.5, grid_models=10)
    with pytest.raises(AssertionError, match="Exercise 1: .* Hint"):
        nb04.exercise_1(10_000 * 0.5 / 60, grid_step_seconds=0.5, grid_models=10)  # forgot the 25 / 10


def test_exercise_1_refuses_a_meaningless_grid():
    with pytest.raises(ValueError):
        nb04.schedule_minutes(0.0, 10)


def test_exercise_2_is_the_ratio_of_the_unpaired_to_the_paired_interval_width():
    mil = np.array([0.80, 0.84, 0.86, 0.82, 0.88])
    cb = mil - np.array([0.010, 0.012, 0.008, 0.011, 0.009])
    d = cb - mil
    half_paired = scipy.stats.t.ppf(0.975, 4) * d.std(ddof=1) / np.sqrt(5)
    welch = scipy.stats.ttest_ind(cb, mil, equal_var=False).confidence_interval(0.95)
    ratio = (welch.high - welch.low) / (2 * half_paired)
    assert ratio > 10  # the shared spread cancels in the pairs
    assert nb04.exercise_2(ratio, cb, mil)
    with pytest.raises(AssertionError, match="Exercise 2"):
        nb04.exercise_2(1 / ratio, cb, mil)


def test_exercise_3_counts_the_abnormal_bags_whose_top_segment_is_anomalous():
    labels = np.zeros((4, 5), dtype=np.uint8)
    labels[0, 1] = labels[1, 3] = 1
    scores = np.zeros((4, 5))
    scores[0, 1] = 0.9          # bag 0: top segment in its event
    scores[1, 0] = 0.9          # bag 1: top segment outside
    scores[2:, 2] = 1.0         # normal bags: not counted
    bags = np.array([1, 1, 0, 0])
    assert nb04.top_in_event_share(scores, labels, bags) == 0.5
    assert nb04.exercise_3(0.5, scores, labels, bags)
    with pytest.raises(AssertionError, match="Exercise 3"):
        nb04.exercise_3(0.25, scores, labels, bags)  # the normal bags counted as misses


def test_exercise_4_finds_the_first_step_within_half_a_point_of_the_end():
    steps = np.array([100, 200, 300, 400])
    curve = np.array([0.80, 0.870, 0.876, 0.880])
    assert nb04.first_step_within(steps, curve) == 300
    assert nb04.exercise_4(300, steps, curve)
    with pytest.raises(AssertionError, match="Exercise 4"):
        nb04.exercise_4(400, steps, curve)


def test_unanswered_exercises_only_remind(capsys):
    assert nb04.exercise_1(None, 0.5, 10) is False
    assert "not answered yet" in capsys.readouterr().out
