"""Notebook 03's exercise checks: the right answer passes, a wrong one raises with a hint."""

import numpy as np
import pytest
import scipy.stats

from cbmil.data.ucf_crime import CLASSES, TRAIN_COUNTS
from cbmil.exercises import nb03
from cbmil.losses import class_balanced_weights, effective_number

COUNTS = np.array([TRAIN_COUNTS[c] for c in CLASSES])


def test_exercise_1_raw_weight_by_hand(capsys):
    by_hand = (1 - 0.99) / (1 - 0.99 ** TRAIN_COUNTS["Shooting"])
    assert nb03.raw_weight("Shooting", 0.99) == pytest.approx(by_hand, rel=1e-12)
    assert nb03.exercise_1(round(by_hand, 4))
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="Exercise 1: .*normalised weight"):
        nb03.exercise_1(class_balanced_weights(COUNTS, 0.99)[CLASSES.index("Shooting")])
    with pytest.raises(AssertionError, match="Exercise 1: .*effective number"):
        nb03.exercise_1(effective_number(TRAIN_COUNTS["Shooting"], 0.99))
    with pytest.raises(AssertionError, match="Exercise 1: .*Hint"):
        nb03.exercise_1(0.01)                                    # 1 - beta: the weight of a huge class
    with pytest.raises(AssertionError, match="Exercise 1: .*Hint"):
        nb03.exercise_1(nb03.raw_weight("Robbery", 0.99))        # another class


def test_exercise_2_beta_of_a_ratio_of_three():
    beta = nb03.beta_for_ratio(3.0)
    w = class_balanced_weights(COUNTS, beta, normalize="none")
    assert w.max() / w.min() == pytest.approx(3.0, abs=1e-9)
    assert 0.98 < beta < 0.99
    assert nb03.exercise_2(round(beta, 4))
    with pytest.raises(AssertionError, match="Exercise 2: .*not the ratio"):
        nb03.exercise_2(3.0)
    with pytest.raises(AssertionError, match="Exercise 2: .*Hint"):
        nb03.exercise_2(0.99)                                    # ratio 3.23 there
    with pytest.raises(AssertionError, match="Exercise 2: .*Hint"):
        nb03.exercise_2("0.98x")


def test_exercise_3_robbery_over_shooting():
    ratio = nb03.weight_ratio("Robbery", "Shooting", 0.9999)
    for how in ("none", "classes", "bags"):                      # a ratio does not depend on the scaling
        w = class_balanced_weights(COUNTS, 0.9999, normalize=how)
        assert w[CLASSES.index("Robbery")] / w[CLASSES.index("Shooting")] == pytest.approx(ratio, rel=1e-12)
    assert 27 / 145 < ratio < 1.02 * 27 / 145                     # close to inverse frequency, above it
    assert nb03.exercise_3(round(ratio, 3))
    with pytest.raises(AssertionError, match="Exercise 3: .*inverse count ratio"):
        nb03.exercise_3(27 / 145)
    with pytest.raises(AssertionError, match="Exercise 3: .*other way round"):
        nb03.exercise_3(1 / ratio)
    with pytest.raises(AssertionError, match="Exercise 3: .*Hint"):
        nb03.exercise_3(nb03.weight_ratio("Robbery", "Shooting", 0.99))


def test_exercise_4_mean_bag_weight_tends_to_harmonic_over_arithmetic_mean():
    limit = nb03.mean_bag_weight_limit()
    assert limit == pytest.approx(scipy.stats.hmean(COUNTS) / COUNTS.mean(), rel=1e-9)
    at_9999 = np.average(class_balanced_weights(COUNTS, 0.9999), weights=COUNTS)
    assert limit < at_9999 < 1                                    # the mean falls towards the limit
    assert nb03.mean_bag_weight_limit([40, 40, 40]) == pytest.approx(1.0)   # equal counts: exactly 1
    assert nb03.exercise_4(round(limit, 3))
    with pytest.raises(AssertionError, match="Exercise 4: .*harmonic one"):
        nb03.exercise_4(1 / limit)
    with pytest.raises(AssertionError, match="Exercise 4: .*Hint"):
        nb03.exercise_4(round(at_9999 + 0.01, 3))
    with pytest.raises(AssertionError, match="Exercise 4: .*Hint"):
        nb03.exercise_4(1.0)                                      # normalize="bags"'s mean


def test_unanswered_exercises_only_remind(capsys):
    for exercise in (nb03.exercise_1, nb03.exercise_2, nb03.exercise_3, nb03.exercise_4):
        assert exercise(None) is False
    assert capsys.readouterr().out.count("not answered yet") == 4


def test_an_unknown_class_is_named():
    with pytest.raises(ValueError, match="Robery"):
        nb03.raw_weight("Robery", 0.99)
