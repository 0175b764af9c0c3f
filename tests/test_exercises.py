"""The exercise checks: right answers pass, wrong ones fail with a hint, unanswered ones remind."""

import json
from pathlib import Path

import numpy as np
import pytest

from cbmil.exercises import check

ROOT = Path(__file__).resolve().parents[1]


def test_check_numbers_strings_sets_and_arrays(capsys):
    assert check("Ex", 2.6, 0.05 * 52, tol=1e-9)
    assert check("Ex", " Shooting ", "shooting")
    assert check("Ex", ["a", "b"], {"b", "a"})
    assert check("Ex", np.array([1.0, 2.0]), [1.0, 2.001], tol=0.01)
    assert check("Ex", 101, 100, rel=0.02)
    assert "correct" in capsys.readouterr().out


@pytest.mark.parametrize("answer, expected", [(3, 2.6), ("Robbery", "Shooting"), ({"a"}, {"a", "b"}),
                                              ([1, 2], [1, 2, 3]), ("x", 2.0), (float("nan"), 1.0), (1, True)])
def test_wrong_answers_raise_with_the_hint(answer, expected):
    with pytest.raises(AssertionError, match="Ex 3: .* is not right. Hint: count"):
        check("Ex 3", answer, expected, hint="count them")


def test_an_unanswered_exercise_only_reminds(capsys):
    assert check("Ex", None, 1.0) is False
    assert "not answered yet" in capsys.readouterr().out


def quick_exercises(nb: dict) -> tuple[int, int]:
    """(number of "(Quick)" exercises in the notebook's exercise cells, number of solution cells)."""
    quick = sum(("".join(c["source"])).count("(Quick)") for c in nb["cells"] if c["cell_type"] == "markdown"
                and "## Exercises" in "".join(c["source"]))
    solutions = sum(1 for c in nb["cells"] if "solution" in c.get("metadata", {}).get("tags", []))
    return quick, solutions


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("0*.ipynb")), ids=lambda p: p.stem)
def test_every_quick_exercise_has_a_solution_cell_that_runs_its_check(path):
    nb = json.loads(path.read_text())
    quick, solutions = quick_exercises(nb)
    assert quick > 0, f"{path.name}: no (Quick) exercise found under '## Exercises'"
    assert solutions >= quick, f"{path.name}: {quick} Quick exercises but {solutions} cells tagged 'solution'"
    for cell in nb["cells"]:
        if "solution" in cell.get("metadata", {}).get("tags", []):
            source = "".join(cell["source"])
            assert cell["cell_type"] == "code" and "exercise_" in source, f"{path.name}: {source[:80]!r}"
            assert cell["metadata"].get("jupyter", {}).get("source_hidden"), f"{path.name}: solution not collapsed"
