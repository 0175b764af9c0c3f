"""Checks for the Quick exercises of notebook 07 (evaluation in full).

Each ``exercise_k(answer)`` computes its expected value from the toy it names (the constants
below, spelled out in the notebook's exercise text) with the kit's own functions or sklearn, then
hands both to :func:`cbmil.exercises.check`: it prints "correct" (and why), raises
``AssertionError`` with a hint, or, while the answer is ``None``, only prints a reminder. It
returns nothing, so that a notebook cell ending with the call shows no ``True``/``False``.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score

from cbmil.data.frames import snippet_frames, video_frame_scores
from cbmil.data.ucf_crime import CLASSES, FRAMES_PER_SNIPPET, NORMAL_INDEX
from cbmil.eval import metrics, stats
from cbmil.eval.protocols import trapezoid_ap
from cbmil.exercises import check, known_mistake

__all__ = ["EXERCISE_1_SCORES", "EXERCISE_1_LABELS", "EXERCISE_2_FRAMES", "EXERCISE_3_SCORES",
           "EXERCISE_3_LABELS", "EXERCISE_4_P", "EXERCISE_5_VIDEOS", "exercise_1", "exercise_2", "exercise_3",
           "exercise_4", "exercise_5", "exercise_6"]

#: Exercise 1: six frames, already sorted by score; the top-scoring frame is normal.
EXERCISE_1_SCORES = (0.9, 0.8, 0.7, 0.6, 0.5, 0.4)
EXERCISE_1_LABELS = (0, 1, 1, 0, 1, 0)

#: Exercise 2: the length of the video, in frames.
EXERCISE_2_FRAMES = 1000

#: Exercise 3: one abnormal video of ten frames, its event on frames 4-7.
EXERCISE_3_SCORES = (0.3, 0.3, 0.8, 0.8, 0.4, 0.4, 0.6, 0.6, 0.2, 0.2)
EXERCISE_3_LABELS = (0, 0, 0, 0, 1, 1, 1, 1, 0, 0)

#: Exercise 4: a family of five p-values, in this order.
EXERCISE_4_P = (0.04, 0.01, 0.03, 0.005, 0.20)

#: Exercise 5: (class name, frame scores, frame labels) of three test videos.
EXERCISE_5_VIDEOS = (
    ("Normal", (0.2, 0.5, 0.7, 0.1), (0, 0, 0, 0)),
    ("Normal", (0.49, 0.3, 0.6, 0.8, 0.1, 0.2), (0, 0, 0, 0, 0, 0)),
    ("Arson", (0.9, 0.9, 0.1, 0.6), (0, 1, 1, 0)),
)


def exercise_1(answer) -> None:
    """Step-wise AP (sklearn's ``average_precision_score``) of the six frames of exercise 1."""
    labels, scores = np.array(EXERCISE_1_LABELS), np.array(EXERCISE_1_SCORES)
    expected = float(average_precision_score(labels, scores))
    known_mistake("Exercise 1", answer, trapezoid_ap(scores, labels),
                   "that is the trapezoid AP; the step-wise AP credits each hit's piece of recall with the "
                   "precision at the hit itself.")
    check("Exercise 1", answer, expected, tol=1e-3,
                 hint="go down the ranking; at each anomalous frame write its precision (anomalous frames so "
                      "far / frames so far) and average those precisions over the 3 anomalous frames. The "
                      "normal frame on top counts in every precision.",
                 explain=f"Step-wise AP {expected:.4f}; the trapezoid rule gives "
                         f"{trapezoid_ap(scores, labels):.4f} here, because its first piece runs from precision "
                         "0 (the normal frame on top) up to the first hit.")


def _last_snippet_frames(n_frames: int) -> tuple[int, int]:
    """First and last frame carrying the last snippet's score under the snippet protocol."""
    n_snippets = n_frames // FRAMES_PER_SNIPPET
    on_frames = video_frame_scores(np.arange(n_snippets, dtype=float), snippet_frames(n_snippets), "snippet")
    frames = np.flatnonzero(on_frames == n_snippets - 1)
    return int(frames[0]), int(frames[-1])


def exercise_2(answer) -> None:
    """(first, last) frame of a ``EXERCISE_2_FRAMES``-frame video that carry the last snippet's
    score under the snippet protocol (frames numbered from 0, both inclusive)."""
    expected = _last_snippet_frames(EXERCISE_2_FRAMES)
    n_snippets = EXERCISE_2_FRAMES // FRAMES_PER_SNIPPET
    known_mistake("Exercise 2", answer, (expected[0], EXERCISE_2_FRAMES - 1),
                   f"the last {EXERCISE_2_FRAMES - snippet_frames(n_snippets)} frames belong to no snippet: "
                   "the snippet protocol takes the video to be 16 x T frames long.", tol=0)
    check("Exercise 2", answer, expected,
                 hint=f"the video has T = {EXERCISE_2_FRAMES} // 16 full snippets, snippet t covers frames "
                      "16 t to 16 t + 15 (from 0), and the frames after the last full snippet get no score. "
                      "Answer a pair (first, last).",
                 explain=f"Snippet {n_snippets - 1} covers frames {expected[0]}-{expected[1]}; frames "
                         f"{snippet_frames(n_snippets)}-{EXERCISE_2_FRAMES - 1} belong to no snippet.")


def exercise_3(answer) -> None:
    """(video AUC, inside > outside, top in event) of the video of exercise 3, as
    :func:`cbmil.eval.metrics.localisation` defines them (the last two as 1 or 0)."""
    scores, labels = np.array(EXERCISE_3_SCORES), np.array(EXERCISE_3_LABELS)
    out = metrics.localisation(labels, scores, np.array([0, scores.size]), np.array([CLASSES.index("Arson")]))
    video = out["per_video"]
    expected = (float(video["video_auc"][0]), float(video["inside_above_outside"][0]),
                float(video["top_in_event"][0]))
    check("Exercise 3", answer, expected, tol=1e-3,
                 hint="AUC: count the (event, non-event) frame pairs in which the event frame scores higher "
                      "(a tie counts 1/2) over 4 x 6 = 24 pairs; inside > outside: 1 if the event's mean score "
                      "is strictly above the rest's; top in event: 1 if the run of frames holding the maximum "
                      "(from its first frame) touches the event. Answer a triple.",
                 explain="A fair per-video AUC and an event above the rest on average, yet the top-scoring "
                         "snippet is a false alarm before the event.")


def exercise_4(answer) -> None:
    """Holm-adjusted p-values of ``EXERCISE_4_P``, in the input order."""
    expected = stats.holm(EXERCISE_4_P)
    known_mistake("Exercise 4", answer, np.sort(expected),
                   "these are the adjusted values in sorted order; put each back at its p-value's position.")
    check("Exercise 4", answer, expected, tol=1e-3,
                 hint="sort the p-values ascending, multiply the k-th smallest (k = 1..5) by 5 - k + 1, take "
                      "the running maximum, clip at 1, and put each value back at its p-value's position.",
                 explain=f"Rejected at 5 % after Holm: {int(np.sum(expected <= 0.05))} of {len(EXERCISE_4_P)} "
                         f"(raw: {int(np.sum(np.array(EXERCISE_4_P) < 0.05))}).")


def _exercise_5_layout() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Scores ``[F]``, labels ``[F]``, frame offsets ``[V + 1]``, classes ``[V]`` of exercise 5."""
    scores = np.concatenate([np.array(s, dtype=float) for _, s, _ in EXERCISE_5_VIDEOS])
    labels = np.concatenate([np.array(y) for _, _, y in EXERCISE_5_VIDEOS])
    offsets = np.cumsum([0] + [len(s) for _, s, _ in EXERCISE_5_VIDEOS])
    classes = np.array([NORMAL_INDEX if c == "Normal" else CLASSES.index(c) for c, _, _ in EXERCISE_5_VIDEOS])
    return scores, labels, offsets, classes


def exercise_5(answer) -> None:
    """False alarm rate at 0.5 (:func:`cbmil.eval.metrics.false_alarm_rate`) of the three videos
    of exercise 5."""
    scores, labels, offsets, classes = _exercise_5_layout()
    expected = metrics.false_alarm_rate(scores, offsets, classes)
    known_mistake("Exercise 5", answer, np.mean(scores[labels == 0] >= 0.5),
                   "that counts the Arson video's normal frames too; only frames of normal videos count.")
    check("Exercise 5", answer, expected, tol=1e-3,
                 hint="only the frames of the two normal videos count (not the normal frames of the Arson "
                      "video), and a score of exactly 0.5 is flagged (>= 0.5). Answer a fraction.",
                 explain="The Arson video's high pre-event scores do not count: the false alarm rate is "
                         "measured on normal videos only.")


def exercise_6(answer, selection_bias_csv=None) -> None:
    """How many models of ``selection_bias.csv`` (default: the committed
    ``results/selection_bias/selection_bias.csv``) have their best test Total AUC at the final
    step (no inflation)."""
    import pandas as pd

    if selection_bias_csv is None:
        from cbmil.notebook import results_dir
        selection_bias_csv = results_dir("selection_bias", "selection_bias.csv")
    table = pd.read_csv(selection_bias_csv)
    expected = int((table["total_inflation"] == 0).sum())
    check("Exercise 6", answer, expected,
                 hint="a model's best-seen Total AUC is its final one when total_inflation (best - final) is 0, "
                      "i.e. best_total_step is the last evaluated step. Count the rows.",
                 explain=f"{expected} of {len(table)} models: at this short schedule most curves still rise, so picking "
                         "on the test set adds little here, but never less than nothing.")
