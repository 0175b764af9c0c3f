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
