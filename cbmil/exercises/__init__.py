"""Checks for the walkthrough's exercises: one module per notebook (``nb01`` ... ``nb08``).

A Quick exercise in a notebook is followed by a cell where the student writes an answer and runs
its check, e.g. ``nb05.exercise_1(answer)``, and by a collapsed *solution* cell (tagged
``solution``) that computes the answer and runs the same check, which the tests execute. A check
prints what is right, raises ``AssertionError`` with a hint when the answer is wrong, and only
prints a reminder while the answer is still ``None``. The expected values are computed inside
the checks, from what the exercise gives, not typed in.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np


def check(label: str, answer, expected, *, tol: float = 0.0, rel: float = 0.0, hint: str = "",
          explain: str = "") -> bool:
    """Compare ``answer`` with ``expected`` and say so.

    Numbers match within ``max(tol, rel * |expected|)``; arrays and sequences element-wise in the
    same way; strings ignoring case and surrounding blanks; sets as sets; anything else by ``==``.
    Returns True when the answer matches, False (after a reminder) while it is ``None``; raises
    ``AssertionError`` naming the exercise, the answer and ``hint`` when it does not match.
    ``explain`` is printed after a correct answer.
    """
    if answer is None:
        print(f"{label}: not answered yet. Put your answer in the cell above (replace None) and run it again.")
        return False
    if not _matches(answer, expected, tol, rel):
        raise AssertionError(f"{label}: {answer!r} is not right." + (f" Hint: {hint}" if hint else ""))
    print(f"{label}: correct." + (f" {explain}" if explain else ""))
    return True


def known_mistake(label: str, answer, mistake, hint: str, tol: float = 1e-3) -> None:
    """Raise with ``hint`` when ``answer`` equals a known wrong answer ``mistake`` (within ``tol``),
    so that a common mistake gets its own hint before :func:`check` compares with the right one."""
    if answer is None:
        return
    try:
        a, m = np.asarray(answer, dtype=float), np.asarray(mistake, dtype=float)
    except (TypeError, ValueError):
        return
    if a.shape == m.shape and np.all(np.abs(a - m) <= tol):
        raise AssertionError(f"{label}: {answer!r} is not right. Hint: {hint}")


def _matches(answer, expected, tol: float, rel: float) -> bool:
    if isinstance(expected, str):
        return isinstance(answer, str) and answer.strip().lower() == expected.strip().lower()
    if isinstance(expected, (set, frozenset)):
        try:
            return set(answer) == set(expected)
        except TypeError:
            return False
    if isinstance(expected, (bool, np.bool_)):
        return isinstance(answer, (bool, np.bool_)) and bool(answer) == bool(expected)
    if isinstance(expected, (int, float, np.number)):
        try:
            value = float(answer)
        except (TypeError, ValueError):
            return False
        return math.isfinite(value) and abs(value - float(expected)) <= max(tol, rel * abs(float(expected)))
    if isinstance(expected, (np.ndarray, list, tuple)) or isinstance(expected, Iterable):
        try:
            a, e = np.asarray(answer, dtype=float), np.asarray(expected, dtype=float)
        except (TypeError, ValueError):
            return answer == expected
        return a.shape == e.shape and bool(np.all(np.abs(a - e) <= np.maximum(tol, rel * np.abs(e))))
    return answer == expected
