"""Checks for the Quick exercises of notebook 02 (the MIL ranking loss).

Each ``exercise_k(answer, ...)`` computes its expected value with the kit's own functions, from
what the notebook passes in (the toy bags of section 2) or from the library (the segment
boundaries, the training batch size, the loss), then hands both to
:func:`cbmil.exercises.check`: it prints "correct" (and why), raises ``AssertionError`` with a
hint, or, while the answer is ``None``, only prints a reminder. It returns nothing, so that a
notebook cell ending with the call shows no ``True``/``False``.
"""

from __future__ import annotations

import numpy as np
import torch

from cbmil.data.features import N_SEGMENTS, segment_bounds
from cbmil.exercises import check
from cbmil.losses import mil_ranking_loss, ranking_hinge
from cbmil.train import TrainConfig

__all__ = ["exercise_1", "exercise_2", "exercise_3", "pooled_snippets", "pairing_factor"]


def exercise_1(answer, abnormal: torch.Tensor, normal: torch.Tensor) -> None:
    """How far must the abnormal bag's maximum rise for the hinge to reach 0? ``abnormal``,
    ``normal``: the ``[S]`` segment scores of the toy pair of section 2."""
    a, n = torch.as_tensor(abnormal, dtype=torch.float32)[None], torch.as_tensor(normal, dtype=torch.float32)[None]
    hinge = float(ranking_hinge(a, n).item())
    a_max, n_max = float(a.max()), float(n.max())
    expected = 1.0 + n_max - a_max              # the rise r with 1 - (a_max + r) + n_max = 0
    check("Exercise 1", answer, expected, tol=1e-6,
          hint=f"the hinge is max(0, 1 - max a + max n) = {hinge:.2f}; the abnormal maximum must rise by as much "
               "as the hinge is above 0 (answer the rise, not the new maximum).",
          explain=f"The maximum would have to reach {a_max:.1f} + {expected:.1f} = {a_max + expected:.1f}, above "
                  f"any sigmoid score: with scores in [0, 1] the hinge reaches 0 only when the abnormal maximum is 1 "
                  "and the normal one 0, so against this normal bag (maximum "
                  f"{n_max:.1f}) it keeps pulling whatever the abnormal bag does.")


def pooled_snippets(n_snippets: int, segment: int) -> set[int]:
    """Indices of the snippets that segment ``segment`` (0-based) of a ``n_snippets``-snippet video
    pools, by the rule of :func:`cbmil.data.features.segment_pool`: ``b[s]:b[s + 1]`` of
    ``b = segment_bounds(T)``, or the single snippet ``b[s]`` when that range is empty."""
    if not 0 <= segment < N_SEGMENTS:
        raise ValueError(f"segment must be in 0..{N_SEGMENTS - 1}, got {segment}")
    b = segment_bounds(n_snippets)
    start, stop = int(b[segment]), int(b[segment + 1])
    return set(range(start, max(stop, start + 1)))


def _as_set(answer):
    """A single snippet index as a one-element set, a collection as a set, anything else as is."""
    if answer is None or isinstance(answer, str):
        return answer
    if isinstance(answer, (int, np.integer)):
        return {int(answer)}
    try:
        return {int(x) for x in answer}
    except (TypeError, ValueError):
        return answer


def exercise_2(answer, n_snippets: int = 7, segment: int = 31) -> None:
    """Which snippets does segment 31 (the last, counting from 0) of a T = 7 video pool?
    ``answer``: the snippet indices, e.g. ``[2, 3]`` (or one index)."""
    expected = pooled_snippets(n_snippets, segment)
    b = segment_bounds(n_snippets)
    check("Exercise 2", _as_set(answer), expected,
          hint=f"segment s pools snippets b[s]:b[s + 1] of b = segment_bounds({n_snippets}); an empty range takes "
               f"the single snippet at b[s]. Segments count from 0, so segment {segment} is the last one: look at "
               f"b[{segment}] and b[{segment + 1}].",
          explain=f"b[{segment}:{segment + 2}] = {b[segment:segment + 2].tolist()}: snippet(s) {sorted(expected)}. "
                  f"With T = {n_snippets} < 32 each snippet fills 4 or 5 segments, so the pooled bag repeats the "
                  "video's snippets rather than averaging them.")


def pairing_factor(batch_size: int, seed: int = 0, n_segments: int = N_SEGMENTS) -> float:
    """All-pairs over paired MIL loss (both regularisers on) for ``batch_size`` random bags of
    each kind with segment scores uniform in [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    a = torch.rand(batch_size, n_segments, generator=g, dtype=torch.float64)
    n = torch.rand(batch_size, n_segments, generator=g, dtype=torch.float64)
    return float(mil_ranking_loss(a, n, pairing="all") / mil_ranking_loss(a, n, pairing="paired"))


def exercise_3(answer, batch_size: int | None = None) -> None:
    """For plain MIL on a training batch of ``batch_size`` (default ``TrainConfig().batch_size``)
    abnormal and normal bags with scores in [0, 1]: ``answer = (all-pairs loss / paired loss,
    whether max(0, 1 - max a + max n) can take its 0 branch)``, e.g. ``(29.5, True)``."""
    batch = TrainConfig().batch_size if batch_size is None else int(batch_size)
    factor = pairing_factor(batch)
    # the smallest 1 - max a + max n with scores in [0, 1]: max a = 1, max n = 0
    can_clip = bool(1.0 - 1.0 + 0.0 < 0.0)
    if answer is None:
        check("Exercise 3", None, None)
        return
    try:
        got_factor, got_clip = answer
    except (TypeError, ValueError):
        raise AssertionError(f"Exercise 3: {answer!r} is not right. Hint: answer a pair (factor, True or False), "
                             "e.g. (29.5, True).") from None
    check("Exercise 3 (factor)", got_factor, factor, tol=1e-4 * batch,
          hint=f"section 5's batch holds TrainConfig().batch_size = {batch} bags of each kind. Is section 4's "
               "factor 'about' B or exactly B? Try mil_ranking_loss(a, n, pairing='all') / "
               f"mil_ranking_loss(a, n) on torch.rand({batch}, 32) bags.")
    check("Exercise 3 (clip)", got_clip, can_clip,
          hint="the largest max a is 1 and the smallest max n is 0: can 1 - max a + max n be negative?",
          explain=f"1 - max a + max n >= 0 for every pair, so max(0, ·) never clips and each row of the hinge matrix "
                  "is 1 - max a_i + max n_j: its mean over the normal bags is 1 - max a_i + (mean of the max n_j), "
                  f"and the sum over the {batch} rows is exactly {batch} times the mean of the diagonal. The "
                  f"regularisers are summed over the bags instead of averaged, the same factor {batch}: for plain MIL "
                  f"the two pairings differ only by that factor, gradient included.")
