"""Notebook 06's exercise checks: the right answer passes, a wrong one raises with a hint."""

import json
from pathlib import Path

import numpy as np
import pytest

from cbmil.data.synthetic import class_strengths, config
from cbmil.exercises import nb06
from cbmil.study import imbalance

GRID = Path(__file__).resolve().parents[1] / "results" / "imbalance"


@pytest.fixture(scope="module")
def cells():
    run = json.loads((GRID / "imbalance_run.json").read_text())
    return imbalance.cell_statistics(imbalance.read_csv(GRID / "imbalance.csv"), run["betas"])


def test_exercise_1_is_the_cell_of_the_largest_rho(cells):
    best = max((c for c in cells if np.isfinite(c["mil_spearman_rho"])), key=lambda c: c["mil_spearman_rho"])
    assert nb06.exercise_1((best["imbalance"].upper(), str(best["overlap"])), cells)   # case, "0" for 0.0
    wrong = next(c for c in cells if np.isfinite(c["mil_spearman_rho"]) and c is not best)
    with pytest.raises(AssertionError, match="Exercise 1: .*Hint"):
        nb06.exercise_1((wrong["imbalance"], wrong["overlap"]), cells)
    with pytest.raises(AssertionError):
        nb06.exercise_1("ucf", cells)


def test_exercise_2_gain_and_width_of_the_rarest_third(cells):
    cell = next(c for c in cells if c["imbalance"] == "extreme" and c["overlap"] == 0.0)
    gain, width = cell["rare_third_auc_diff"], cell["rare_third_auc_ci_high"] - cell["rare_third_auc_ci_low"]
    assert nb06.exercise_2((round(gain, 2), round(width, 2)), cells)
    with pytest.raises(AssertionError, match="Exercise 2"):
        nb06.exercise_2((gain, width / 2), cells)           # the half-width is not the width
    with pytest.raises(AssertionError, match="Exercise 2"):
        nb06.exercise_2((cell["mean_class_auc_diff"], width), cells)


def test_exercise_3_mean_weight_of_an_abnormal_bag():
    assert nb06.abnormal_bag_mean_weight("uniform", 0.9999) == pytest.approx(1.0, abs=1e-3)
    assert nb06.abnormal_bag_mean_weight("extreme", 0.9999, normalize="bags") == pytest.approx(1.0)
    expected = nb06.abnormal_bag_mean_weight("extreme", 0.9999)
    assert 0 < expected < nb06.abnormal_bag_mean_weight("ucf", 0.9999) < 1   # more imbalance, smaller mean
    assert nb06.exercise_3(round(expected, 3))
    with pytest.raises(AssertionError, match="Exercise 3: .*Hint"):
        nb06.exercise_3(1.0)                                 # plain MIL's mean weight


def test_exercise_6_strength_ratio_of_world_0():
    s = class_strengths(config("ci"), 0)
    assert nb06.exercise_6(max(s.values()) / min(s.values()))
    with pytest.raises(AssertionError, match="Exercise 6"):
        nb06.exercise_6(1.0)                                 # "every class has the same strength"


def test_unanswered_exercises_only_remind(cells, capsys):
    assert nb06.exercise_1(None, cells) is False
    assert nb06.exercise_2(None, cells) is False
    assert nb06.exercise_3(None) is False
    assert nb06.exercise_6(None) is False
    assert capsys.readouterr().out.count("not answered yet") == 4


def test_exercise_9_sampling_probability_of_shooting():
    from cbmil.data.ucf_crime import CLASSES, TRAIN_COUNTS
    from cbmil.losses import class_balanced_weights

    n = np.array([TRAIN_COUNTS[c] for c in CLASSES], dtype=float)
    w = class_balanced_weights(n, 0.9999)
    i = CLASSES.index("Shooting")
    assert nb06.exercise_9(n[i] * w[i] / (n * w).sum())            # by hand, as the solution does
    assert nb06.exercise_9(round(n[i] * w[i] / (n * w).sum(), 4))  # as printed in the notebook's table
    with pytest.raises(AssertionError, match="Exercise 9: .*Hint"):
        nb06.exercise_9(n[i] / n.sum())                             # the plain draw's n_c / N
    with pytest.raises(AssertionError, match="Exercise 9"):
        nb06.exercise_9(1 / 13)                                     # "exactly uniform"
    j = CLASSES.index("Robbery")
    assert nb06.exercise_9(n[j] * w[j] / (n * w).sum(), "Robbery")


@pytest.fixture(scope="module")
def schedule():
    root = GRID.parent
    return imbalance.schedule_table(root / "imbalance_extended", root / "imbalance_1000")


def test_exercise_10_verdicts_that_survive_the_schedule(schedule, capsys):
    mean = schedule[schedule["quantity"] == "mean over classes"]
    survive = int(mean["survives"].sum())
    assert 0 < survive < len(mean)
    assert nb06.exercise_10(survive, schedule)
    assert f"{survive} of {len(mean)}" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="Exercise 10: .*Hint"):
        nb06.exercise_10(int(schedule["survives"].sum()), schedule)  # all 32 rows, not the 16 asked for
    with pytest.raises(AssertionError, match="Exercise 10"):
        nb06.exercise_10(len(mean) - survive, schedule)             # the ones that changed
    rare = schedule[schedule["quantity"] == "rarest third"]
    assert nb06.exercise_10(int(rare["survives"].sum()), schedule, "rarest third")
    with pytest.raises(ValueError, match="no rows"):
        nb06.exercise_10(1, schedule, "total")
    assert nb06.exercise_10(None, schedule) is False
    assert nb06.exercise_9(None) is False
