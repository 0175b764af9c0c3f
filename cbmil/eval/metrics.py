"""Frame-level evaluation metrics for UCF-Crime (and XD-Violence) anomaly detection.

What this module holds
----------------------
The functions that turn frame-level anomaly scores of the UCF-Crime test set into the numbers the
papers report:

* **Total AUC** (Sultani et al. 2018): frame-level ROC AUC over all test videos, normal and
  abnormal frames pooled.
* **Per-class AUC** and **Abnormal AUC** (Park, Park & Hong 2022): a frame-level ROC AUC per
  anomaly class, and their mean.
* **Average precision** and the **false alarm rate** on normal videos (Sultani's threshold 50 %).
* **Localisation** inside abnormal videos (:func:`localisation`): per-video AUC, inside-above-
  outside and top-in-event, see below.
* :func:`evaluate`: all of the above at once; :func:`roc_curve_points` for plotting.
* XD-Violence's headline, the **trapezoid AP** (:func:`trapezoid_ap`), and the **per-class AP**
  (:func:`per_class_ap`); see "Another benchmark" below.

The statistics over random seeds (mean and spread, paired differences, Holm, power) are in
:mod:`cbmil.eval.stats`.

Every pooled AUC and AP goes through :mod:`sklearn.metrics`; nothing here integrates a curve by
hand (the trapezoid AP is ``sklearn.metrics.auc`` over ``precision_recall_curve``). The exception is the per-video AUC of :func:`localisation`, needed for some 140 videos per
model: it is the Mann-Whitney U statistic from a sort and a binary search per video (ties count
1/2, the same value as ``roc_auc_score``, which the tests check).
Mapping snippet or segment scores to frames happens in :mod:`cbmil.data.frames`; the functions here
take frame-level arrays.

Argument order: labels first, as in :mod:`sklearn.metrics`
----------------------------------------------------------
Every function that takes both takes ``(y_true, y_score, ...)``: ``total_auc(y_true, y_score)``
like ``roc_auc_score(y_true, y_score)``. Swapping the two would silently turn an AUC into
``1 - AUC``; it is caught instead whenever the scores are not all 0/1, since ``y_true`` must hold
only 0/1 and the error says which order is expected.

Data layout (numpy arrays, lists are accepted too)
--------------------------------------------------
``y_true``  bool or 0/1 integers ``[F]``
    Frame ground truth (1 = anomalous) of every test frame, all test videos concatenated in
    video order.
``y_score``  float ``[F]``
    Anomaly score of every test frame, same layout.
``frame_offsets``  integer ``[V + 1]``
    Video ``v`` owns frames ``frame_offsets[v]:frame_offsets[v + 1]``; starts at 0, is
    non-decreasing and ends at ``F``.
``video_classes``  integer ``[V]``
    Class index of each test video: ``0 .. K - 1`` for the ``K`` anomaly classes of ``class_names``,
    ``K`` for normal videos. By default ``class_names`` is :data:`cbmil.data.ucf_crime.CLASSES`
    (``K`` = 13 = :data:`cbmil.data.ucf_crime.NORMAL_INDEX`). For a multi-label video, the index
    of its *first* class.
``class_names``  sequence of str ``[K]`` (keyword-only, default :data:`cbmil.data.ucf_crime.CLASSES`)
    The anomaly classes, in index order, without "Normal"; the normal index is ``K``. The
    per-class results are keyed by these names, in this order.
``video_class_sets``  bool ``[V, K]`` or ``None`` (keyword-only, default ``None``)
    Every class of each test video (XD-Violence's videos carry up to three). ``None`` means one
    class per video, ``video_classes``. When given, class *c*'s frames are those of every video
    whose row holds *c*: a multi-label video counts for each of its classes. A normal video's row
    is all False; an abnormal video's row holds its ``video_classes`` entry.

Another benchmark: XD-Violence
------------------------------
With ``class_names`` (and ``video_class_sets``) the same functions serve another class list;
left at their defaults, every UCF-Crime result is unchanged. XD-Violence reports the **AP over
all test frames** computed by its public evaluation code as ``sklearn.metrics.auc(recall,
precision)`` over ``precision_recall_curve``: the trapezoid rule, which interpolates linearly
between the curve's points (:func:`trapezoid_ap`); ``average_precision_score`` (the step-wise
sum, :func:`average_precision`) is a different number. :func:`per_class_ap` gives one AP per
class, with every normal video's frames as negatives (why: see its docstring).

Per-class AUC: the two readings (docs/method-choices.md, 5)
--------------------------------------------------------
``include_normal=False`` (default, the paper's reading)
    The AUC of class *c* uses only the frames of the test videos of class *c*: their anomalous
    frames are the positives and their normal (pre/post-event) frames the negatives. These
    negatives are the hard ones (same scene, same camera), which is why the Abnormal AUC comes out
    below the Total AUC (76.2 % vs 85.0 % for MIL in the paper's Table 2).
``include_normal=True``
    The frames of class *c*'s test videos plus every frame of every normal test video.

Localisation: finding the event, not just the video
---------------------------------------------------
A high Total AUC does not show that a model finds *where* the event happens. Most of it can come
from telling abnormal videos from normal ones: a model that lifts every snippet of an abnormal
video (event and pre/post-event alike) ranks all their frames above the normal videos' frames
and scores well on the pooled AUC while knowing nothing about the event's position.
:func:`localisation` measures the latter, inside each abnormal test video only, so the level of a
video as a whole cancels out:

``video_auc``
    ROC AUC between the video's anomalous and normal frames (0.5 for a flat video); summarised
    by its median over videos.
``inside_above_outside``
    Whether the event's mean score is strictly above the rest of the video's; summarised as the
    share of videos.
``top_in_event``
    Whether the top-scoring unit (the run of frames holding the video's maximum, from its first
    maximal frame on: the top snippet or segment) overlaps the event; summarised as the share of
    videos.

:func:`evaluate` returns the three summaries and their per-class versions alongside the AUCs.

Undefined values are ``nan``, never an exception: an AUC whose frames carry only one label (for
example a class with no test videos), an AP with no anomalous frame (or a per-class AP of a class
with no test video), a false alarm rate without
normal frames, a localisation measure of a video without event (or without normal frames, for the
per-video AUC and inside-above-outside); summaries over no defined value.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.metrics import auc as _curve_area
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score, roc_curve

from cbmil.data.ucf_crime import CLASSES, LABELS, NORMAL_INDEX

#: ``method`` values of :func:`per_class_ap`: "trapezoid" (XD-Violence's public code,
#: :func:`trapezoid_ap`) and "step" (``sklearn.metrics.average_precision_score``).
AP_METHODS = ("trapezoid", "step")

_NORMAL = LABELS[NORMAL_INDEX]  # "Normal"

__all__ = [
    "total_auc",
    "per_class_auc",
    "abnormal_auc",
    "average_precision",
    "trapezoid_ap",
    "per_class_ap",
    "AP_METHODS",
    "false_alarm_rate",
    "roc_curve_points",
    "localisation",
    "evaluate",
]


# ----------------------------------------------------------------------------- validation

def _as_1d(name: str, value: Any) -> np.ndarray:
    arr = np.asarray(value)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array; received shape {arr.shape}")
    return arr


def _check_scores(y_score: Any) -> np.ndarray:
    scores = _as_1d("y_score", y_score)
    if scores.dtype.kind not in "biuf":
        raise ValueError(f"y_score must be numeric; received dtype {scores.dtype}")
    scores = scores.astype(np.float64, copy=False)
    if not np.all(np.isfinite(scores)):
        bad = int(np.count_nonzero(~np.isfinite(scores)))
        raise ValueError(f"y_score must be finite; received {bad} NaN/inf value(s)")
    return scores


def _check_labels(y_true: Any, n_frames: int) -> np.ndarray:
    labels = _as_1d("y_true", y_true)
    if labels.shape != (n_frames,):
        raise ValueError(
            f"y_true (frame labels) must have the shape of y_score, expected ({n_frames},); "
            f"received {labels.shape}"
        )
    if labels.dtype == np.bool_:
        return labels
    if labels.dtype.kind not in "biuf" or not np.all((labels == 0) | (labels == 1)):
        if labels.dtype.kind in "biuf":
            odd = labels[(labels != 0) & (labels != 1)]
            seen = f"dtype {labels.dtype}, e.g. {odd[:3].tolist()}"
        else:
            seen = f"dtype {labels.dtype}"
        raise ValueError(
            f"y_true (frame labels) must hold only 0/1 (or False/True) values; received {seen}. "
            "The metrics take (y_true, y_score, ...) in scikit-learn's order: labels first, scores second"
        )
    return labels.astype(bool)


def _check_class_names(class_names: Any) -> tuple[str, ...]:
    """``class_names`` as a tuple of str ``[K]``: non-empty, distinct, without "Normal"."""
    if isinstance(class_names, (str, bytes)):
        raise ValueError(f"class_names must be a sequence of class names; received the string {class_names!r}")
    names = tuple(str(name) for name in class_names)
    if not names:
        raise ValueError("class_names must name at least one anomaly class; received an empty sequence")
    if len(set(names)) != len(names):
        twice = sorted({name for name in names if names.count(name) > 1})
        raise ValueError(f"class_names must be distinct; received {twice} more than once")
    if _NORMAL in names:
        raise ValueError(
            f"class_names lists the anomaly classes only, without {_NORMAL!r} (the normal index is "
            f"len(class_names)); received {list(names)}"
        )
    return names


def _check_layout(frame_offsets: Any, video_classes: Any, n_frames: int,
                  n_classes: int = NORMAL_INDEX) -> tuple[np.ndarray, np.ndarray]:
    """Validated ``(offsets [V + 1] int64, classes [V] int64)``; classes in ``0..n_classes``
    (``n_classes`` = the normal index)."""
    offsets = _as_1d("frame_offsets", frame_offsets)
    classes = _as_1d("video_classes", video_classes)
    if offsets.size == 0 or offsets.dtype.kind not in "iu":
        raise ValueError(
            f"frame_offsets must be a non-empty integer array of shape (V + 1,); "
            f"received shape {offsets.shape}, dtype {offsets.dtype}"
        )
    offsets = offsets.astype(np.int64, copy=False)
    n_videos = offsets.size - 1
    if offsets[0] != 0:
        raise ValueError(f"frame_offsets must start at 0; received frame_offsets[0] = {offsets[0]}")
    if np.any(np.diff(offsets) < 0):
        first = int(np.flatnonzero(np.diff(offsets) < 0)[0])
        raise ValueError(
            f"frame_offsets must be non-decreasing; received frame_offsets[{first}] = "
            f"{offsets[first]} > frame_offsets[{first + 1}] = {offsets[first + 1]}"
        )
    if offsets[-1] != n_frames:
        raise ValueError(
            f"frame_offsets must end at the number of frames F = {n_frames} (shape of "
            f"y_score ({n_frames},)); received frame_offsets[-1] = {offsets[-1]}"
        )
    if classes.shape != (n_videos,):
        raise ValueError(
            f"video_classes must have one entry per video, expected ({n_videos},) from "
            f"frame_offsets of shape {offsets.shape}; received {classes.shape}"
        )
    if n_videos and (classes.dtype.kind not in "iu" or classes.min() < 0 or classes.max() > n_classes):
        raise ValueError(
            f"video_classes must hold integer class indices 0..{n_classes} "
            f"({n_classes} = {_NORMAL}); received dtype {classes.dtype}, "
            f"values {np.unique(classes)[:10].tolist()}"
        )
    return offsets, classes.astype(np.int64, copy=False)


def _check_class_sets(video_class_sets: Any, classes: np.ndarray, class_names: tuple[str, ...]
                      ) -> np.ndarray | None:
    """``video_class_sets`` as bool ``[V, K]`` consistent with ``classes`` ``[V]``, or ``None``.

    A normal video (``classes[v] == K``) must have a row of all False; an abnormal video's row
    must hold its class ``classes[v]`` (its first label)."""
    if video_class_sets is None:
        return None
    n_videos, n_classes = classes.size, len(class_names)
    sets = np.asarray(video_class_sets)
    if sets.shape != (n_videos, n_classes):
        raise ValueError(
            f"video_class_sets must have shape (V, K) = ({n_videos}, {n_classes}): one row per video "
            f"of video_classes, one column per class of class_names; received shape {sets.shape}"
        )
    if sets.dtype != np.bool_:
        if sets.dtype.kind not in "biu" or not np.all((sets == 0) | (sets == 1)):
            raise ValueError(f"video_class_sets must hold bool (or 0/1) values; received dtype {sets.dtype}")
        sets = sets.astype(bool)
    normal = classes == n_classes
    own = sets[np.arange(n_videos), np.minimum(classes, n_classes - 1)]
    bad = np.flatnonzero(np.where(normal, sets.any(axis=1), ~own))
    if bad.size:
        v = int(bad[0])
        held = [class_names[c] for c in np.flatnonzero(sets[v])]
        if normal[v]:
            raise ValueError(
                f"video_class_sets row {v} holds {held}, but video_classes[{v}] = {n_classes} "
                f"({_NORMAL}): a normal video's row must be all False ({bad.size} inconsistent video(s))"
            )
        raise ValueError(
            f"video_class_sets row {v} holds {held}, which lacks video_classes[{v}] = {classes[v]} "
            f"({class_names[classes[v]]}): an abnormal video's row must hold its (first) class "
            f"({bad.size} inconsistent video(s))"
        )
    return sets


def _frame_classes(offsets: np.ndarray, classes: np.ndarray, n_classes: int = NORMAL_INDEX) -> np.ndarray:
    """Class index of every frame, ``[F]`` int8 (int32 beyond 126 classes), via ``np.repeat``
    over the video lengths."""
    dtype = np.int8 if n_classes < 127 else np.int32
    return np.repeat(classes.astype(dtype), np.diff(offsets))


def _frame_members(offsets: np.ndarray, sets: np.ndarray | None) -> np.ndarray | None:
    """``members[c, f]``: frame ``f`` belongs to a video of class ``c``; bool ``[K, F]`` (one
    contiguous row per class), or ``None`` without class sets."""
    if sets is None:
        return None
    return np.repeat(np.ascontiguousarray(sets.T), np.diff(offsets), axis=1)


def _class_frames(index: int, frame_class: np.ndarray, members: np.ndarray | None) -> np.ndarray:
    """Fresh bool mask ``[F]`` of the frames of class ``index``'s videos."""
    return frame_class == index if members is None else members[index].copy()


# ----------------------------------------------------------------------------- sklearn cores
# Two paths, both ending in sklearn.metrics:
#  * the plain path (_auc, _ap) hands the frames to sklearn as they are; total_auc and
#    average_precision use it, and the tests use it as the reference;
#  * the fast path (_ranked_counts, _auc_sorted, _ap_sorted) serves per_class_auc and evaluate,
#    which need ~15 AUCs over up to 1.1 M frames. It hands sklearn an exactly equivalent, much
#    smaller *weighted* sample (see _ranked_counts); benchmarks/bench_eval.py times it.
# Like the public functions, the helpers take the labels first: (labels, scores, ...).

def _auc(labels: np.ndarray, scores: np.ndarray) -> float:
    n_pos = int(np.count_nonzero(labels))
    if n_pos == 0 or n_pos == labels.size:
        return float("nan")
    return float(roc_auc_score(labels, scores))


def _ap(labels: np.ndarray, scores: np.ndarray) -> float:
    if not np.any(labels):
        return float("nan")
    return float(average_precision_score(labels, scores))


def _ranked_counts(labels: np.ndarray, scores: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Compress frames into a weighted sample with the same ROC AUC and AP.

    ``scores`` must be sorted ascending. ROC AUC (ties counting 1/2) and step-wise AP depend on
    a negative frame only through how it compares with each *distinct positive score* u_1 < ... <
    u_k. So all negatives equal to one u_j are interchangeable, and so are all negatives strictly
    between two consecutive u's (or below u_1, or above u_k): each such group becomes one negative
    sample weighted by its size, placed at u_j, or at the group's own largest score. Positives
    sharing a score merge the same way. The result has at most 3k + 1 samples, and sklearn's
    weighted counts of true/false positives at every positive threshold are the same integers
    as on the full data. ``labels`` bool ``[N]``, ``scores`` float ``[N]``. Returns
    ``(labels, scores, weights)``, each ``[K]`` with ``K <= 3k + 1``, or ``None`` if one label
    is absent.
    """
    pos = scores[labels]
    neg = scores[~labels]
    if pos.size == 0 or neg.size == 0:
        return None
    first = np.flatnonzero(np.concatenate(([True], pos[1:] != pos[:-1])))
    u = pos[first]
    pos_w = np.diff(np.append(first, pos.size))
    lo = np.searchsorted(neg, u, side="left")   # first negative >= u_j
    hi = np.searchsorted(neg, u, side="right")  # first negative > u_j
    tie_w = hi - lo
    gap_end = np.append(lo, neg.size)            # gap j: negatives strictly between u_{j-1}, u_j
    gap_w = gap_end - np.insert(hi, 0, 0)
    tie, gap = tie_w > 0, gap_w > 0
    out_scores = np.concatenate((u, u[tie], neg[gap_end[gap] - 1]))
    out_labels = np.concatenate((np.ones(u.size, bool), np.zeros(int(tie.sum() + gap.sum()), bool)))
    weights = np.concatenate((pos_w, tie_w[tie], gap_w[gap])).astype(np.float64)
    return out_labels, out_scores, weights


def _auc_sorted(labels: np.ndarray, scores: np.ndarray) -> float:
    packed = _ranked_counts(labels, scores)
    if packed is None:
        return float("nan")
    y, s, w = packed
    return float(roc_auc_score(y, s, sample_weight=w))


def _ap_sorted(labels: np.ndarray, scores: np.ndarray) -> float:
    if not np.any(labels):
        return float("nan")
    packed = _ranked_counts(labels, scores)
    if packed is None:  # positives only: every threshold has precision 1
        return 1.0
    y, s, w = packed
    return float(average_precision_score(y, s, sample_weight=w))


def _trapezoid_ap(labels: np.ndarray, scores: np.ndarray) -> float:
    """Trapezoid-rule area under sklearn's precision-recall curve; nan without positives.

    Depends only on the (label, score) pairs, not on their order: sklearn sorts the frames
    itself and counts hits at each distinct score, so a sorted copy gives the same float."""
    if not np.any(labels):
        return float("nan")
    precision, recall, _ = precision_recall_curve(labels, scores)
    return float(_curve_area(recall, precision))


def _per_class(labels: np.ndarray, scores: np.ndarray, frame_class: np.ndarray,
               include_normal: bool, class_names: tuple[str, ...] = CLASSES,
               members: np.ndarray | None = None) -> dict[str, float]:
    """Per-class AUCs; frames must be sorted ascending by score (masks keep that order).
    ``members``: bool ``[K, F]`` from :func:`_frame_members`, or ``None`` (one class per video)."""
    normal = frame_class == len(class_names) if include_normal else None
    out: dict[str, float] = {}
    for index, name in enumerate(class_names):
        mask = _class_frames(index, frame_class, members)
        if not mask.any():
            out[name] = float("nan")
            continue
        if normal is not None:
            mask |= normal
        out[name] = _auc_sorted(labels[mask], scores[mask])
    return out


def _per_class_ap(labels: np.ndarray, scores: np.ndarray, frame_class: np.ndarray,
                  class_names: tuple[str, ...], members: np.ndarray | None, method: str) -> dict[str, float]:
    """Per-class APs, each over the class's videos plus every normal video; frames sorted
    ascending by score (needed by "step"'s fast path; "trapezoid" does not depend on order)."""
    normal = frame_class == len(class_names)
    ap = _ap_sorted if method == "step" else _trapezoid_ap
    out: dict[str, float] = {}
    for index, name in enumerate(class_names):
        mask = _class_frames(index, frame_class, members)
        if not mask.any():
            out[name] = float("nan")
            continue
        mask |= normal
        out[name] = ap(labels[mask], scores[mask])
    return out


def _false_alarm(scores: np.ndarray, frame_class: np.ndarray, threshold: float,
                 normal_index: int = NORMAL_INDEX) -> float:
    normal_scores = scores[frame_class == normal_index]
    if normal_scores.size == 0:
        return float("nan")
    return float(np.count_nonzero(normal_scores >= threshold) / normal_scores.size)


def _sorted_by_score(scores: np.ndarray, *others: np.ndarray | None) -> tuple[np.ndarray | None, ...]:
    """``scores`` sorted ascending and each of ``others`` in the same order along its last axis
    (``[F]`` arrays and the ``[K, F]`` members alike); ``None`` stays ``None``."""
    # Order among tied scores is irrelevant to every metric here, so the fast unstable sort is fine.
    order = np.argsort(scores, kind="quicksort")
    return (scores[order],) + tuple(None if o is None else o[..., order] for o in others)


def _check_method(method: Any) -> str:
    if method not in AP_METHODS:
        raise ValueError(f"method must be one of {AP_METHODS}; received {method!r}")
    return method


# ----------------------------------------------------------------------------- public metrics

def total_auc(y_true: Any, y_score: Any) -> float:
    """Frame-level ROC AUC over all test frames (Sultani et al.'s metric).

    Parameters
    ----------
    y_true : array_like of bool or {0, 1}, shape (F,)
        Ground truth per frame (1 = anomalous), all test videos concatenated.
    y_score : array_like of float, shape (F,)
        Anomaly score per frame, same layout.

    Returns
    -------
    float
        ``sklearn.metrics.roc_auc_score(y_true, y_score)`` in [0, 1]; ``nan`` when all frames
        carry the same label (the AUC is undefined).

    Raises
    ------
    ValueError
        Shapes differ, scores are not finite, or labels are not 0/1 (which is also what a call
        with the scores first raises).
    """
    scores = _check_scores(y_score)
    labels = _check_labels(y_true, scores.size)
    return _auc(labels, scores)


def per_class_auc(y_true: Any, y_score: Any, frame_offsets: Any, video_classes: Any,
                  include_normal: bool = False, *, class_names: Sequence[str] = CLASSES,
                  video_class_sets: Any = None) -> dict[str, float]:
    """Frame-level ROC AUC of each anomaly class (Park, Park & Hong 2022: UCF-Crime's 13).

    Parameters
    ----------
    y_true : array_like of bool or {0, 1}, shape (F,)
    y_score : array_like of float, shape (F,)
    frame_offsets : array_like of int, shape (V + 1,)
        Video ``v`` owns frames ``frame_offsets[v]:frame_offsets[v + 1]``.
    video_classes : array_like of int, shape (V,)
        Class index per video (``0..K - 1`` anomaly classes, ``K`` = ``len(class_names)``
        normal; UCF-Crime: ``0..12`` and ``NORMAL_INDEX`` = 13).
    include_normal : bool, default False
        ``False`` (the paper's reading): the AUC of a class uses only the frames of that class's
        test videos, so its negatives are the normal frames inside abnormal videos.
        ``True``: those frames plus every frame of every normal test video.
    class_names : sequence of str, shape (K,), keyword-only, default ``ucf_crime.CLASSES``
        The anomaly classes in index order, without "Normal".
    video_class_sets : array_like of bool, shape (V, K), or None, keyword-only
        Every class of each video; a multi-label video's frames count for each of its classes.
        ``None`` (default): one class per video, ``video_classes``.

    Returns
    -------
    dict of str to float
        ``{class name: AUC}`` for ``class_names``, in that order. A class with no
        test videos, or whose selected frames all carry one label, gets ``float('nan')``.
        The frames are compressed exactly before sklearn sees them (``_ranked_counts``), so the
        values equal ``roc_auc_score`` on the selected frames up to rounding (~1e-15).

    Raises
    ------
    ValueError
        Invalid shapes, offsets, class indices, class names or class sets (see the module
        docstring for the layout).
    """
    names = _check_class_names(class_names)
    scores = _check_scores(y_score)
    labels = _check_labels(y_true, scores.size)
    offsets, classes = _check_layout(frame_offsets, video_classes, scores.size, len(names))
    sets = _check_class_sets(video_class_sets, classes, names)
    frame_class = _frame_classes(offsets, classes, len(names))
    scores, labels, frame_class, members = _sorted_by_score(scores, labels, frame_class,
                                                           _frame_members(offsets, sets))
    return _per_class(labels, scores, frame_class, include_normal, names, members)


def abnormal_auc(per_class: Mapping[str, float] | Iterable[float]) -> float:
    """Abnormal AUC: the mean of the per-class AUCs.

    Parameters
    ----------
    per_class : mapping of str to float, or iterable of float
        Output of :func:`per_class_auc` (or its values).

    Returns
    -------
    float
        Mean over the classes whose AUC is defined (not ``nan``); classes with an undefined AUC
        (e.g. no test videos) are left out silently, since ``nan`` there means "no data", not
        "failed". ``nan`` if no class has a defined AUC. With all 13 classes present in the
        official test split this is the plain mean of 13 values, as in the paper.
    """
    values = per_class.values() if isinstance(per_class, Mapping) else per_class
    arr = np.asarray(list(values), dtype=np.float64)
    defined = arr[~np.isnan(arr)]
    return float(defined.mean()) if defined.size else float("nan")


def average_precision(y_true: Any, y_score: Any) -> float:
    """Frame-level average precision over all test frames.

    Parameters
    ----------
    y_true : array_like of bool or {0, 1}, shape (F,)
    y_score : array_like of float, shape (F,)

    Returns
    -------
    float
        ``sklearn.metrics.average_precision_score(y_true, y_score)`` (step-wise sum
        ``sum_n (R_n - R_{n-1}) P_n``, no interpolation), in [0, 1]; ``nan`` when no frame is
        anomalous.
    """
    scores = _check_scores(y_score)
    labels = _check_labels(y_true, scores.size)
    return _ap(labels, scores)


def trapezoid_ap(y_true: Any, y_score: Any) -> float:
    """Frame-level AP by the trapezoid rule over the precision-recall curve (XD-Violence's "AP").

    XD-Violence's public evaluation code computes its headline AP as
    ``sklearn.metrics.auc(recall, precision)`` over ``sklearn.metrics.precision_recall_curve``;
    this is that number. It joins the curve's points by straight lines, where
    :func:`average_precision` (``average_precision_score``) sums rectangles; the two differ.

    Parameters
    ----------
    y_true : array_like of bool or {0, 1}, shape (F,)
    y_score : array_like of float, shape (F,)

    Returns
    -------
    float
        The trapezoid area in [0, 1]; ``nan`` when no frame is anomalous.

    Raises
    ------
    ValueError
        Shapes differ, scores are not finite, or labels are not 0/1 (which is also what a call
        with the scores first raises).
    """
    scores = _check_scores(y_score)
    labels = _check_labels(y_true, scores.size)
    return _trapezoid_ap(labels, scores)


def per_class_ap(y_true: Any, y_score: Any, frame_offsets: Any, video_classes: Any, *,
                 class_names: Sequence[str] = CLASSES, video_class_sets: Any = None,
                 method: str = "trapezoid") -> dict[str, float]:
    """Frame-level average precision of each anomaly class, normal videos' frames as negatives.

    The AP of class *c* is over the frames of class *c*'s test videos (every video whose class
    set holds *c*, so a multi-label video counts for each of its classes) **plus every frame of
    every normal test video**. The labels are ``y_true`` as given: a frame of a multi-label
    video is a positive for each of the video's classes, whichever class its event is.

    Why the normal videos are in: the benchmark this serves, XD-Violence, reports one AP over
    *all* test frames, and over a third of its test videos are normal (the violent ones about
    two thirds), so the normal videos hold many of the negatives the headline ranks events
    against. Unlike an AUC, an AP depends on the share of positives among the ranked frames (its
    chance level). Over a class's own videos alone that share is the events' share of those
    videos, not the test set's, and the only negatives are the pre/post-event frames: a
    different quantity, easier or harder than the headline depending on the class. With the
    normal videos in, a class's AP ranks its events against the same normal-video frames the
    headline does, so the classes are comparable with each other and with it. (The per-class
    *AUC* keeps the paper's own-videos reading by default; see :func:`per_class_auc`.)

    Parameters
    ----------
    y_true : array_like of bool or {0, 1}, shape (F,)
    y_score : array_like of float, shape (F,)
    frame_offsets : array_like of int, shape (V + 1,)
    video_classes : array_like of int, shape (V,)
        Class index per video (``0..K - 1``; ``K = len(class_names)`` normal).
    class_names : sequence of str, shape (K,), keyword-only, default ``ucf_crime.CLASSES``
    video_class_sets : array_like of bool, shape (V, K), or None, keyword-only
        Every class of each video; ``None``: one class per video, ``video_classes``.
    method : {"trapezoid", "step"}, keyword-only, default "trapezoid"
        ``"trapezoid"``: :func:`trapezoid_ap` on the selected frames (XD-Violence's public code).
        ``"step"``: ``sklearn.metrics.average_precision_score`` on the selected frames (through the
        exact compression of ``_ranked_counts``, equal up to rounding, ~1e-15).

    Returns
    -------
    dict of str to float
        ``{class name: AP}`` for ``class_names``, in that order; ``nan`` for a class with no test
        video, or whose selected frames hold no anomalous frame.

    Raises
    ------
    ValueError
        Invalid shapes, offsets, class indices, class names, class sets or method.
    """
    names = _check_class_names(class_names)
    method = _check_method(method)
    scores = _check_scores(y_score)
    labels = _check_labels(y_true, scores.size)
    offsets, classes = _check_layout(frame_offsets, video_classes, scores.size, len(names))
    sets = _check_class_sets(video_class_sets, classes, names)
    frame_class = _frame_classes(offsets, classes, len(names))
    scores, labels, frame_class, members = _sorted_by_score(scores, labels, frame_class,
                                                           _frame_members(offsets, sets))
    return _per_class_ap(labels, scores, frame_class, names, members, method)


def false_alarm_rate(y_score: Any, frame_offsets: Any, video_classes: Any,
                     threshold: float = 0.5, *, class_names: Sequence[str] = CLASSES,
                     video_class_sets: Any = None) -> float:
    """Fraction of normal-video frames flagged as anomalous.

    Takes no labels: in a normal video every frame is normal, so the scores and the video layout
    say everything.

    Parameters
    ----------
    y_score : array_like of float, shape (F,)
    frame_offsets : array_like of int, shape (V + 1,)
    video_classes : array_like of int, shape (V,)
    threshold : float, default 0.5
        A frame is flagged when ``score >= threshold`` (inclusive). Sultani et al. report the
        false alarm rate at the 50 % threshold.
    class_names : sequence of str, shape (K,), keyword-only, default ``ucf_crime.CLASSES``
        Only its length matters here: the normal index ``K``.
    video_class_sets : array_like of bool, shape (V, K), or None, keyword-only
        Validated against ``video_classes`` only (normal videos are those of class ``K`` either way).

    Returns
    -------
    float
        ``#(normal-video frames with score >= threshold) / #(normal-video frames)``; only frames
        of videos whose class is the normal index (``NORMAL_INDEX`` for UCF-Crime) count.
        ``nan`` when there is no normal frame.
    """
    names = _check_class_names(class_names)
    scores = _check_scores(y_score)
    offsets, classes = _check_layout(frame_offsets, video_classes, scores.size, len(names))
    _check_class_sets(video_class_sets, classes, names)
    if not math.isfinite(float(threshold)):
        raise ValueError(f"threshold must be a finite number; received {threshold!r}")
    return _false_alarm(scores, _frame_classes(offsets, classes, len(names)), float(threshold), len(names))


def roc_curve_points(y_true: Any, y_score: Any) -> tuple[np.ndarray, np.ndarray]:
    """ROC curve points for plotting.

    Parameters
    ----------
    y_true : array_like of bool or {0, 1}, shape (F,)
    y_score : array_like of float, shape (F,)

    Returns
    -------
    fpr, tpr : ndarray of float, shape (K,)
        From ``sklearn.metrics.roc_curve(..., drop_intermediate=True)``; start at (0, 0) and end
        at (1, 1). ``K`` is far below ``F`` because collinear points are dropped.

    Raises
    ------
    ValueError
        Besides the input checks: when all frames carry one label (no curve exists).
    """
    scores = _check_scores(y_score)
    labels = _check_labels(y_true, scores.size)
    n_pos = int(np.count_nonzero(labels))
    if n_pos == 0 or n_pos == labels.size:
        raise ValueError("roc_curve_points needs both anomalous and normal frames; "
                         f"received {n_pos} anomalous of {labels.size}")
    fpr, tpr, _ = roc_curve(labels, scores, drop_intermediate=True)
    return fpr, tpr


# ----------------------------------------------------------------------------- localisation

def _defined_median(values: np.ndarray) -> float:
    defined = values[~np.isnan(values)]
    return float(np.median(defined)) if defined.size else float("nan")


def _defined_mean(values: np.ndarray) -> float:
    defined = values[~np.isnan(values)]
    return float(defined.mean()) if defined.size else float("nan")


def _video_localisation(y: np.ndarray, x: np.ndarray) -> tuple[float, float, float]:
    """``(video_auc, inside_above_outside, top_in_event)`` of one video's frames (validated):
    labels ``y`` bool ``[n]``, scores ``x`` float ``[n]``."""
    nan = float("nan")
    n_pos = int(np.count_nonzero(y))
    if n_pos == 0:
        return nan, nan, nan
    # top unit: the run of frames equal to the maximum that starts at its first occurrence
    first = int(np.argmax(x))
    peak = x[first]
    left_peak = x[first:] != peak
    end = first + (int(np.argmax(left_peak)) if left_peak.any() else left_peak.size)
    top = float(y[first:end].any())
    n_neg = y.size - n_pos
    if n_neg == 0:
        return nan, nan, top
    pos, neg = np.sort(x[y]), np.sort(x[~y])
    # Mann-Whitney U = #(neg < pos) + #(neg == pos) / 2 over all pairs, i.e. the ROC AUC with
    # ties counting 1/2 (sklearn's value) times n_pos * n_neg; 2U is an exact integer.
    below = np.searchsorted(neg, pos, "left")
    if np.any(neg[np.minimum(below, n_neg - 1)] == pos):   # some positive ties a negative
        upto = np.searchsorted(neg, pos, "right")
    else:
        upto = below
    auc = float(int(below.sum()) + int(upto.sum())) / (2.0 * n_pos * n_neg)
    # Means relative to the peak: a constant video gives 0 == 0 exactly, not rounding noise.
    inside = float((pos - peak).sum() / n_pos > (neg - peak).sum() / n_neg)
    return auc, inside, top


def _localisation(labels: np.ndarray, scores: np.ndarray, offsets: np.ndarray,
                  classes: np.ndarray, class_names: tuple[str, ...] = CLASSES,
                  sets: np.ndarray | None = None) -> dict[str, Any]:
    """Core of :func:`localisation` on validated inputs (``sets``: bool ``[V, K]`` or ``None``).

    One pass over the abnormal videos, each with two value sorts and a binary search (cheaper
    than a fully vectorised version, which needs an argsort of all frames).
    """
    abnormal = np.flatnonzero(classes != len(class_names))
    values = np.full((3, abnormal.size), np.nan)
    for i, video in enumerate(abnormal.tolist()):
        frames = slice(int(offsets[video]), int(offsets[video + 1]))
        values[:, i] = _video_localisation(labels[frames], scores[frames])
    video_auc, inside, top = values

    per_class: dict[str, dict[str, float | int]] = {}
    video_class = classes[abnormal]
    for index, name in enumerate(class_names):
        mask = video_class == index if sets is None else sets[abnormal, index]
        per_class[name] = {
            "median_video_auc": _defined_median(video_auc[mask]),
            "inside_above_share": _defined_mean(inside[mask]),
            "top_in_event_share": _defined_mean(top[mask]),
            "n_videos": int(np.count_nonzero(mask)),
        }
    return {
        "per_video": {
            "video_index": abnormal.astype(np.int64),
            "video_auc": video_auc,
            "inside_above_outside": inside,
            "top_in_event": top,
        },
        "median_video_auc": _defined_median(video_auc),
        "inside_above_share": _defined_mean(inside),
        "top_in_event_share": _defined_mean(top),
        "per_class": per_class,
    }


def localisation(y_true: Any, y_score: Any, frame_offsets: Any,
                 video_classes: Any, *, class_names: Sequence[str] = CLASSES,
                 video_class_sets: Any = None) -> dict[str, Any]:
    """Does the model find the event *inside* each abnormal video? Three per-video measures.

    Only abnormal test videos (class != the normal index, ``NORMAL_INDEX`` for UCF-Crime) are
    looked at; normal videos are ignored. For each abnormal video:

    ``video_auc``
        Frame-level ROC AUC inside the video alone: its anomalous frames against its own normal
        (pre/post-event) frames, ties counting 1/2 exactly as in ``sklearn.metrics.roc_auc_score``
        (computed as the Mann-Whitney U statistic, exactly rounded; equal to sklearn up to
        sklearn's rounding, ~1e-16). ``nan`` when the video's frames carry a single label.
    ``inside_above_outside``
        1.0 if the mean score of the video's anomalous frames is *strictly* greater than the mean
        score of its normal frames, else 0.0 (so a flat video gives 0.0); ``nan`` when the video
        has no anomalous or no normal frame. The means are taken in floating point after
        subtracting the video's maximum, which makes a constant video compare exactly equal;
        non-constant scores whose two means are equal in exact arithmetic may come out either way.
    ``top_in_event``
        Whether the top-scoring unit lies in an event. The unit is defined on frames, whatever
        the scoring protocol: starting at the first frame that holds the video's maximum score,
        the maximal contiguous run of frames holding exactly that score (under the snippet
        protocol the top snippet's 16 frames, under the segment protocol the top segment; for a
        flat video, the whole video). 1.0 when at least one frame of that run is anomalous (an
        overlap rule: firing on an event's boundary counts as finding it), else 0.0; ``nan`` when
        the video has no anomalous frame.

    Parameters
    ----------
    y_true : array_like of bool or {0, 1}, shape (F,)
    y_score : array_like of float, shape (F,)
    frame_offsets : array_like of int, shape (V + 1,)
        Video ``v`` owns frames ``frame_offsets[v]:frame_offsets[v + 1]``.
    video_classes : array_like of int, shape (V,)
        Class index per video (``0..K - 1`` anomaly classes, ``K = len(class_names)`` normal;
        UCF-Crime: ``0..12`` and ``NORMAL_INDEX`` = 13).
    class_names : sequence of str, shape (K,), keyword-only, default ``ucf_crime.CLASSES``
    video_class_sets : array_like of bool, shape (V, K), or None, keyword-only
        Every class of each video: the per-class summaries then count a multi-label video in
        each of its classes. ``None``: one class per video, ``video_classes``.

    Returns
    -------
    dict
        ``"per_video"``: dict of arrays over the ``A`` abnormal videos, in video order:
        ``"video_index"`` (int, shape (A,), index into the ``V`` videos), ``"video_auc"``,
        ``"inside_above_outside"`` and ``"top_in_event"`` (float, shape (A,); the last two hold
        1.0 / 0.0 / ``nan``).
        ``"median_video_auc"`` (float): median of the defined ``video_auc`` values.
        ``"inside_above_share"``, ``"top_in_event_share"`` (float): mean of the defined values,
        i.e. the share of videos (where defined) for which the statement holds.
        ``"per_class"``: ``{class name: {"median_video_auc", "inside_above_share",
        "top_in_event_share" (float), "n_videos" (int, the class's abnormal test videos)}}`` for
        ``class_names``, in that order.
        Any summary without a defined value (e.g. a class with no test video) is ``nan``.

    Raises
    ------
    ValueError
        Invalid shapes, offsets, class indices, class names or class sets (see the module
        docstring for the layout).

    Notes
    -----
    One pass over the abnormal videos with numpy (two value sorts and a binary search each, no
    sklearn call per video).
    """
    names = _check_class_names(class_names)
    scores = _check_scores(y_score)
    labels = _check_labels(y_true, scores.size)
    offsets, classes = _check_layout(frame_offsets, video_classes, scores.size, len(names))
    sets = _check_class_sets(video_class_sets, classes, names)
    return _localisation(labels, scores, offsets, classes, names, sets)


def evaluate(y_true: Any, y_score: Any, frame_offsets: Any, video_classes: Any,
             include_normal: bool = False, *, threshold: float = 0.5, class_names: Sequence[str] = CLASSES,
             video_class_sets: Any = None, per_class_ap: bool = False) -> dict[str, Any]:
    """All metrics at once, validating and sorting the inputs only once.

    Parameters
    ----------
    y_true : array_like of bool or {0, 1}, shape (F,)
    y_score : array_like of float, shape (F,)
    frame_offsets : array_like of int, shape (V + 1,)
    video_classes : array_like of int, shape (V,)
        Class index per video (``0..K - 1``; ``K = len(class_names)`` normal).
    include_normal : bool, default False
        Per-class AUC definition, see :func:`per_class_auc`.
    threshold : float, default 0.5
        Threshold of the false alarm rate, see :func:`false_alarm_rate`.
    class_names : sequence of str, shape (K,), keyword-only, default ``ucf_crime.CLASSES``
    video_class_sets : array_like of bool, shape (V, K), or None, keyword-only
        Every class of each video, for the per-class results (see :func:`per_class_auc`).
    per_class_ap : bool, keyword-only, default False
        Also return XD-Violence's APs: ``"average_precision_trapezoid"`` (float,
        :func:`trapezoid_ap` over all frames), ``"per_class_ap"`` and ``"per_class_ap_step"``
        (dicts of the class names to float, :func:`per_class_ap` with ``method="trapezoid"`` and
        ``"step"``), after the other keys. ``False`` leaves them out.

    Returns
    -------
    dict
        ``"total_auc"`` (float), ``"abnormal_auc"`` (float), ``"per_class_auc"`` (dict of the
        ``K`` class names, UCF-Crime's 13 by default, to float), ``"average_precision"`` (float),
        ``"false_alarm_rate"`` (float);
        each equal to the corresponding function's result (up to floating-point rounding,
        ~1e-15: the AUCs and AP go through an exact weighted compression of the frames, see
        ``_ranked_counts``, before reaching sklearn).
        The localisation summaries of :func:`localisation`, flat: ``"median_video_auc"``,
        ``"inside_above_share"``, ``"top_in_event_share"`` (float) and
        ``"per_class_localisation"`` (its ``"per_class"`` dict). Its per-video arrays are left
        out so that the result stays JSON-friendly; call :func:`localisation` for them.
        With ``per_class_ap=True``, the three AP entries above follow.
    """
    names = _check_class_names(class_names)
    scores = _check_scores(y_score)
    labels = _check_labels(y_true, scores.size)
    offsets, classes = _check_layout(frame_offsets, video_classes, scores.size, len(names))
    sets = _check_class_sets(video_class_sets, classes, names)
    if not math.isfinite(float(threshold)):
        raise ValueError(f"threshold must be a finite number; received {threshold!r}")
    frame_class = _frame_classes(offsets, classes, len(names))
    # Localisation works per video, in frame order, so before the sort.
    local = _localisation(labels, scores, offsets, classes, names, sets)
    # One sort by score serves every metric below (none depends on frame order).
    scores, labels, frame_class, members = _sorted_by_score(scores, labels, frame_class,
                                                           _frame_members(offsets, sets))
    per_class = _per_class(labels, scores, frame_class, include_normal, names, members)
    out = {
        "total_auc": _auc_sorted(labels, scores),
        "abnormal_auc": abnormal_auc(per_class),
        "per_class_auc": per_class,
        "average_precision": _ap_sorted(labels, scores),
        "false_alarm_rate": _false_alarm(scores, frame_class, float(threshold), len(names)),
        "median_video_auc": local["median_video_auc"],
        "inside_above_share": local["inside_above_share"],
        "top_in_event_share": local["top_in_event_share"],
        "per_class_localisation": local["per_class"],
    }
    if per_class_ap:
        out["average_precision_trapezoid"] = _trapezoid_ap(labels, scores)
        out["per_class_ap"] = _per_class_ap(labels, scores, frame_class, names, members, "trapezoid")
        out["per_class_ap_step"] = _per_class_ap(labels, scores, frame_class, names, members, "step")
    return out
