"""The checks of notebook 07's Quick exercises: a right answer passes, a wrong one raises with a
hint, an unanswered one only reminds; the toys the checks use are the ones the notebook states."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cbmil.exercises import nb07

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "07_evaluation.ipynb"

# Worked by hand (the notebook's solution cells compute them again from the rules).
RIGHT = {
    1: (1 / 2 + 2 / 3 + 3 / 5) / 3,          # precisions at the hits of ranks 2, 3, 5
    2: (976, 991),                           # snippet 61 of T = 62: frames 16 * 61 .. 16 * 62 - 1
    3: (16 / 24, 1.0, 0.0),                  # 16 of 24 pairs; event mean 0.5 > 0.433; top unit frames 2-3
    4: [0.09, 0.04, 0.09, 0.025, 0.20],      # sorted x 5, 4, 3, 2, 1, running max, back in order
    5: 4 / 10,                               # 0.5, 0.7, 0.6, 0.8 of the 10 normal-video frames
}
WRONG = {
    1: 0.4611,                               # the trapezoid AP of the same toy
    2: (976, 999),                           # counting the 8 frames no snippet covers
    3: (16 / 24, 1.0, 1.0),                  # top unit taken as in the event
    4: [0.04, 0.01, 0.03, 0.005, 0.20],      # unadjusted
    5: 6 / 12,                               # counting the Arson video's normal frames too
}
EXERCISES = {1: nb07.exercise_1, 2: nb07.exercise_2, 3: nb07.exercise_3, 4: nb07.exercise_4, 5: nb07.exercise_5}


@pytest.mark.parametrize("k", sorted(RIGHT))
def test_a_right_answer_passes(k, capsys):
    EXERCISES[k](RIGHT[k])
    assert f"Exercise {k}: correct" in capsys.readouterr().out


@pytest.mark.parametrize("k", sorted(WRONG))
def test_a_wrong_answer_raises_with_a_hint(k):
    with pytest.raises(AssertionError, match=f"Exercise {k}: .* is not right. Hint: "):
        EXERCISES[k](WRONG[k])


@pytest.mark.parametrize("k", sorted(EXERCISES) + [6])
def test_an_unanswered_exercise_only_reminds(k, capsys):
    (EXERCISES.get(k) or nb07.exercise_6)(None)
    assert "not answered yet" in capsys.readouterr().out


def test_exercise_4_wants_the_input_order_not_the_sorted_one():
    with pytest.raises(AssertionError):
        nb07.exercise_4(sorted(RIGHT[4]))


def test_exercise_6_counts_the_models_whose_best_is_the_final(tmp_path, capsys):
    table = pd.DataFrame({"model": list("abcd"), "method": "MIL", "seed": range(4),
                          "total_inflation": [0.0, 0.3, 0.0, 0.1]})
    path = tmp_path / "selection_bias.csv"
    table.to_csv(path, index=False)
    nb07.exercise_6(2, path)
    assert "2 of 4 models" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="Exercise 6"):
        nb07.exercise_6(4, path)


def test_exercise_6_reads_the_committed_selection_bias_table(capsys):
    csv = ROOT / "results" / "selection_bias" / "selection_bias.csv"
    expected = int((pd.read_csv(csv)["total_inflation"] == 0).sum())
    nb07.exercise_6(expected)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(AssertionError):
        nb07.exercise_6(expected + 1)


def _exercise_text() -> str:
    nb = json.loads(NOTEBOOK.read_text())
    return next("".join(c["source"]) for c in nb["cells"]
                if c["cell_type"] == "markdown" and "## Exercises" in "".join(c["source"]))


def _spelled(values) -> str:
    return ", ".join(f"{v:g}" for v in values)


def test_the_notebook_states_the_toys_the_checks_use():
    text = " ".join(_exercise_text().split())       # line breaks inside a list item become blanks
    assert _spelled(nb07.EXERCISE_1_SCORES) in text and _spelled(nb07.EXERCISE_1_LABELS) in text
    assert f"A {nb07.EXERCISE_2_FRAMES}-frame video" in text
    assert _spelled(nb07.EXERCISE_3_SCORES) in text
    event = np.flatnonzero(nb07.EXERCISE_3_LABELS)
    assert f"event on frames {event[0]}–{event[-1]}" in text
    assert _spelled(nb07.EXERCISE_4_P) in text
    for _, scores, _ in nb07.EXERCISE_5_VIDEOS:
        assert _spelled(scores) in text
    arson = next(labels for c, _, labels in nb07.EXERCISE_5_VIDEOS if c == "Arson")
    assert f"event on frames {np.flatnonzero(arson)[0]}–{np.flatnonzero(arson)[-1]}" in text


@pytest.mark.parametrize("k, mistake, words", [
    (1, nb07.trapezoid_ap(np.array(nb07.EXERCISE_1_SCORES), np.array(nb07.EXERCISE_1_LABELS)), "trapezoid"),
    (2, (976, 999), "belong to no snippet"),
    (4, sorted(RIGHT[4]), "sorted order"),
    (5, 6 / 12, "Arson video's normal frames"),
])
def test_a_common_mistake_gets_its_own_hint(k, mistake, words):
    with pytest.raises(AssertionError, match=words):
        EXERCISES[k](mistake)
