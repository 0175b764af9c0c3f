"""Notebook 01's exercise checks: the right answer passes, a wrong one raises with a hint."""

import pytest

from cbmil.data.synthetic import class_strengths, config
from cbmil.data.ucf_crime import CLASSES, TEST_COUNTS, TRAIN_COUNTS
from cbmil.exercises import nb01


def test_exercise_1_is_the_pair_of_extreme_test_train_ratios(capsys):
    assert nb01.exercise_1([" shooting", "ROBBERY "])                     # case and blanks do not matter
    with pytest.raises(AssertionError, match="Exercise 1: .*Hint"):
        nb01.exercise_1(("Robbery", "Shooting"))                          # the order matters
    with pytest.raises(AssertionError, match="Exercise 1"):
        nb01.exercise_1("Shooting")
    assert nb01.exercise_1(None) is False and "not answered" in capsys.readouterr().out


def test_exercise_2_is_robberys_share_of_the_anomalous_test_frames():
    shares = nb01.anomalous_frame_shares()
    assert abs(sum(shares.values()) - 1) < 1e-9 and set(shares) == set(CLASSES)
    assert nb01.exercise_2(round(shares["Robbery"], 3))
    with pytest.raises(AssertionError, match="Exercise 2: .*fraction"):
        nb01.exercise_2(100 * shares["Robbery"])                          # a percentage, not a fraction
    with pytest.raises(AssertionError, match="Exercise 2"):
        nb01.exercise_2(TRAIN_COUNTS["Robbery"] / 810)                    # its share of the training videos


def test_exercise_3_is_the_ratio_without_abuse():
    assert nb01.ratio_without("Abuse") == pytest.approx(23 / 3)
    assert nb01.exercise_3(7.67)
    with pytest.raises(AssertionError, match="Exercise 3"):
        nb01.exercise_3(max(TEST_COUNTS[c] for c in CLASSES) / min(TEST_COUNTS[c] for c in CLASSES))


@pytest.mark.parametrize("preset", ["ci", "full"])
def test_exercise_4_counts_the_classes_the_context_cap_holds(preset):
    cfg = config(preset)
    strengths = class_strengths(cfg, 0)
    held = [c for c in CLASSES if strengths[c] > cfg.context_cap * cfg.signal]
    assert nb01.capped_classes(preset, 0) == held and 0 < len(held) < len(CLASSES)
    assert nb01.exercise_4(len(held), preset)
    with pytest.raises(AssertionError, match="Exercise 4"):
        nb01.exercise_4(len(CLASSES) - len(held), preset)                 # the classes below the cap
    assert nb01.capped_classes(preset, 0, context_cap=float("inf")) == []
