"""One evaluator for every protocol: ``python -m cbmil evaluate --scores scores.npz``, and for
another method's saved scores, ``python -m cbmil evaluate --frame-scores S.npy --list TEST.list
--annotations-dir DIR (--features DIR | --snippets FILE)``.

Published UCF-Crime numbers differ not only by method but by *how they were measured*, and the
papers rarely say which way. This module evaluates the same saved scores under each choice the
public code bases make, so that a reader can see how many points each choice moves a headline.

The choices (metric names as in ``--json``; all frame-level, AUCs and APs in [0, 1]):

=============================  ===================================================================
metric                         definition
=============================  ===================================================================
``total_auc``                  ROC AUC over all test frames; each 16-frame snippet's score repeated
                               over its frames (the ``snippet`` protocol of RTFM/DeepMIL). The
                               kit's headline.
``total_auc_segment``          the same AUC with Sultani's ``segment`` protocol: snippets pooled
                               into 32 segments, each segment's score on its own frames
                               (:func:`cbmil.data.frames.segment_frame_scores`). Needs snippet scores.
``abnormal_auc``               the paper's Abnormal AUC: the mean of the 13 per-class AUCs, each
                               over the frames of that class's test videos only. The kit's second
                               headline.
``abnormal_auc_pooled``        one AUC pooled over the frames of all abnormal test videos (the
                               "abnormal-only AUC" of some code bases; a different number, because
                               a class's scores are ranked against other classes' frames too).
``abnormal_auc_with_normal``   mean of per-class AUCs whose negatives also include every frame of
                               every normal test video (``include_normal=True``).
``abnormal_auc_segment``       ``abnormal_auc`` under the segment protocol.
``ap``                         average precision, step-wise (``sklearn average_precision_score``:
                               sum of precision x recall increments).
``ap_trapezoid``               area under the precision-recall curve by the trapezoid rule
                               (``sklearn.metrics.auc(recall, precision)``, as the XD-Violence
                               evaluation code computes "AP"); it interpolates linearly between
                               the curve's points where the step-wise AP does not.
``false_alarm_rate``           share of normal-video frames scoring >= 0.5 (Sultani's threshold).
``per_class_auc.<Class>``      per-class AUC over the class's own videos (13 entries).
``per_class_auc_with_normal.<Class>``  the same with all normal frames added as negatives.
``per_class_ap.<Class>``       another benchmark's classes only (``class_names`` other than
                               UCF-Crime's, e.g. XD-Violence): per-class trapezoid AP over the
                               class's videos plus every normal video
                               (:func:`cbmil.eval.metrics.per_class_ap`).
``per_class_ap_step.<Class>``  the same, step-wise.
=============================  ===================================================================

Another benchmark (XD-Violence): ``class_names`` (the anomaly classes, without "Normal") and
``video_class_sets`` (bool ``[V, K]``, every class of each video) select its class list; the
per-class entries then come for its classes, and its headline is ``ap_trapezoid``. A scores file
carries them as the optional arrays ``class_names`` (the classes then "Normal") and
``test_class_sets``. Left at their defaults (or a file naming UCF-Crime's classes), every
UCF-Crime result is unchanged.

Crops are not a choice here: a scores file holds one score per snippet, made by whatever crop
handling produced it (the kit scores the crop mean at test time, docs/method-choices.md).

Nothing here re-implements a metric: frame scores come from :mod:`cbmil.data.frames`, AUCs and both
APs from :mod:`cbmil.eval.metrics` (sklearn underneath).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Sequence

import numpy as np

from cbmil.eval import metrics
from cbmil.data.frames import PROTOCOLS, frame_scores
from cbmil.data.ucf_crime import CLASSES, LABELS

#: Metric names of :func:`evaluate_snippet_scores` / :func:`evaluate_frame_scores` (per-class
#: entries ``per_class_auc.<Class>`` and ``per_class_auc_with_normal.<Class>`` come in addition, and for a
#: class list other than UCF-Crime's ``per_class_ap.<Class>`` and ``per_class_ap_step.<Class>``).
METRICS = ("total_auc", "total_auc_segment", "abnormal_auc", "abnormal_auc_pooled", "abnormal_auc_with_normal",
           "abnormal_auc_segment", "ap", "ap_trapezoid", "false_alarm_rate")

#: How each alternative moves a headline: (column title, alternative metric, headline metric).
MOVES = (
    ("segment", "total_auc_segment", "total_auc"),
    ("pooled", "abnormal_auc_pooled", "abnormal_auc"),
    ("+normal", "abnormal_auc_with_normal", "abnormal_auc"),
    ("segment", "abnormal_auc_segment", "abnormal_auc"),
    ("trapezoid", "ap_trapezoid", "ap"),
)

#: Arrays a scores file must hold (written by ``cbmil reproduce --save-scores``).
SCORE_FILE_ARRAYS = ("snippet_scores", "model_names", "test_offsets", "test_n_frames", "test_classes",
                     "test_frame_labels", "test_frame_offsets")

#: Arrays a scores file may hold: ``class_names`` ``[K + 1]`` (the anomaly classes in index order,
#: then "Normal"; absent = UCF-Crime's), ``test_class_sets`` bool ``[V, K]`` (every class of each
#: test video; absent = one class per video), ``test_keys`` ``[V]``, ``protocol``.
SCORE_FILE_OPTIONAL_ARRAYS = ("class_names", "test_class_sets", "test_keys", "protocol")


def trapezoid_ap(frame_scores_: np.ndarray, frame_labels: np.ndarray) -> float:
    """Area under the precision-recall curve by the trapezoid rule (XD-Violence's "AP"); nan
    without anomalous frames. ``[F]`` scores and ``[F]`` 0/1 labels, in this order (scores
    first, kept for existing callers): :func:`cbmil.eval.metrics.trapezoid_ap` ``(y_true,
    y_score)`` is the same function in scikit-learn's order, and this one calls it. Labels that
    are not 0/1 (e.g. the two arguments swapped) raise ``ValueError``."""
    try:
        return metrics.trapezoid_ap(frame_labels, frame_scores_)
    except ValueError as exc:
        raise ValueError(f"{exc}. protocols.trapezoid_ap takes (scores, labels), scores first; "
                         "metrics.trapezoid_ap(y_true, y_score) is the same metric in scikit-learn's order") from None


def _is_ucf(class_names: Sequence[str]) -> bool:
    return tuple(str(c) for c in class_names) == CLASSES


def _in_order(out: dict[str, float]) -> dict[str, float]:
    """``out`` with :data:`METRICS` first, in their order, then the per-class entries."""
    return {name: out[name] for name in METRICS} | {k: v for k, v in out.items() if k not in METRICS}


def evaluate_frame_scores(scores: np.ndarray, frame_labels: np.ndarray, frame_offsets: np.ndarray,
                          video_classes: np.ndarray, threshold: float = 0.5, *,
                          class_names: Sequence[str] = CLASSES, video_class_sets=None) -> dict[str, float]:
    """Every frame-level metric of :data:`METRICS` that frame scores alone define (all but the
    ``*_segment`` ones), flat ``{name: value}``.

    ``scores`` ``[F]``, ``frame_labels`` ``[F]`` 0/1, ``frame_offsets`` ``[V + 1]``,
    ``video_classes`` ``[V]`` (0..K - 1, K = Normal; UCF-Crime 0-12, 13 = Normal),
    ``class_names`` ``[K]`` (default UCF-Crime's 13) and ``video_class_sets`` bool ``[V, K]`` or
    None, as in :mod:`cbmil.eval.metrics`. Per-class entries ``per_class_auc.<Class>`` and
    ``per_class_auc_with_normal.<Class>`` for ``class_names``; for a class list other than
    UCF-Crime's also ``per_class_ap.<Class>`` (trapezoid) and ``per_class_ap_step.<Class>``.
    """
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(frame_labels).astype(bool)
    offsets, classes = np.asarray(frame_offsets), np.asarray(video_classes)
    names = tuple(str(c) for c in class_names)
    with_ap = not _is_ucf(names)
    kw = {"class_names": names, "video_class_sets": video_class_sets}
    main = metrics.evaluate(labels, scores, offsets, classes, threshold=threshold, per_class_ap=with_ap, **kw)
    with_normal = metrics.per_class_auc(labels, scores, offsets, classes, include_normal=True, **kw)
    abnormal = np.repeat(classes != len(names), np.diff(offsets))
    out = {
        "total_auc": main["total_auc"],
        "abnormal_auc": main["abnormal_auc"],
        "abnormal_auc_pooled": metrics.total_auc(labels[abnormal], scores[abnormal]) if abnormal.any() else math.nan,
        "abnormal_auc_with_normal": metrics.abnormal_auc(with_normal),
        "ap": main["average_precision"],
        "ap_trapezoid": main["average_precision_trapezoid"] if with_ap else metrics.trapezoid_ap(labels, scores),
        "false_alarm_rate": main["false_alarm_rate"],
    }
    out.update({f"per_class_auc.{c}": main["per_class_auc"][c] for c in names})
    out.update({f"per_class_auc_with_normal.{c}": with_normal[c] for c in names})
    if with_ap:
        out.update({f"per_class_ap.{c}": main["per_class_ap"][c] for c in names})
        out.update({f"per_class_ap_step.{c}": main["per_class_ap_step"][c] for c in names})
    return out


def evaluate_snippet_scores(snippet_scores: np.ndarray, snippet_offsets: np.ndarray, n_frames: np.ndarray,
                            frame_labels: np.ndarray, frame_offsets: np.ndarray, video_classes: np.ndarray,
                            threshold: float = 0.5, *, class_names: Sequence[str] = CLASSES,
                            video_class_sets=None) -> dict[str, float]:
    """All of :data:`METRICS` for one model's snippet scores ``[S]`` (videos back to back,
    ``snippet_offsets`` ``[V + 1]``, ``n_frames`` ``[V]`` frames per video): the snippet protocol
    for every metric, plus ``total_auc_segment`` and ``abnormal_auc_segment``. ``class_names``
    ``[K]`` and ``video_class_sets`` ``[V, K]`` as in :func:`evaluate_frame_scores`."""
    snippet_scores = np.asarray(snippet_scores, dtype=np.float32)
    kw = {"class_names": class_names, "video_class_sets": video_class_sets}
    out = evaluate_frame_scores(frame_scores(snippet_scores, snippet_offsets, n_frames, "snippet"),
                                frame_labels, frame_offsets, video_classes, threshold, **kw)
    segment = frame_scores(snippet_scores, snippet_offsets, n_frames, "segment")
    labels = np.asarray(frame_labels).astype(bool)
    out["total_auc_segment"] = metrics.total_auc(labels, segment)
    out["abnormal_auc_segment"] = metrics.abnormal_auc(
        metrics.per_class_auc(labels, segment, frame_offsets, video_classes, **kw))
    return _in_order(out)


def load_scores(path: str | Path) -> dict[str, np.ndarray]:
    """Read a scores file and check it: every array of :data:`SCORE_FILE_ARRAYS`, consistent
    shapes, and the ``snippet`` protocol it was saved under (the frame labels are 16 x T per
    video only then); of the optional arrays (:data:`SCORE_FILE_OPTIONAL_ARRAYS`), a
    ``class_names`` ``[K + 1]`` ending in "Normal" that covers ``test_classes`` and a
    ``test_class_sets`` bool ``[V, K]`` consistent with ``test_classes``. Errors name the file
    and the array. Returns ``{array name: array}`` as stored; :func:`score_file_classes` reads
    the class list and class sets from it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such scores file (write one with `cbmil reproduce --save-scores`)")
    with np.load(path, allow_pickle=False) as z:
        missing = [name for name in SCORE_FILE_ARRAYS if name not in z.files]
        if missing:
            raise ValueError(f"{path}: missing array(s) {', '.join(missing)}; expected the arrays of "
                             f"`cbmil reproduce --save-scores`: {', '.join(SCORE_FILE_ARRAYS)}")
        data = {name: z[name] for name in z.files}
    scores, offsets = data["snippet_scores"], data["test_offsets"]
    if scores.ndim != 2 or scores.shape[0] != len(data["model_names"]):
        raise ValueError(f"{path}: snippet_scores has shape {scores.shape}; expected [models = "
                         f"{len(data['model_names'])}, snippets]")
    if offsets[-1] != scores.shape[1]:
        raise ValueError(f"{path}: test_offsets ends at {offsets[-1]} but snippet_scores has {scores.shape[1]} "
                         f"snippets per model")
    if data["test_frame_offsets"][-1] != len(data["test_frame_labels"]):
        raise ValueError(f"{path}: test_frame_offsets ends at {data['test_frame_offsets'][-1]} but "
                         f"test_frame_labels has {len(data['test_frame_labels'])} frames")
    if "protocol" in data and str(data["protocol"]) not in PROTOCOLS:
        raise ValueError(f"{path}: protocol {data['protocol']!r}; expected 'snippet' or 'segment'")
    _check_file_classes(path, data)
    return data


def _check_file_classes(path: Path, data: dict[str, np.ndarray]) -> None:
    """Check the optional ``class_names`` and ``test_class_sets`` of a scores file against its
    ``test_classes``; errors name the file and the array."""
    names = CLASSES
    if "class_names" in data:
        stored = data["class_names"]
        if stored.ndim != 1 or stored.dtype.kind not in "US" or len(stored) < 2 or str(stored[-1]) != LABELS[-1]:
            raise ValueError(f"{path}: class_names {stored.tolist()!r}; expected 1-D strings, the anomaly classes "
                             f"in index order and then {LABELS[-1]!r} (e.g. {list(LABELS)})")
        names = tuple(str(c) for c in stored[:-1])
    classes = data["test_classes"]
    if classes.size and (classes.dtype.kind not in "iu" or classes.min() < 0 or classes.max() > len(names)):
        raise ValueError(f"{path}: test_classes holds {np.unique(classes)[:10].tolist()}; expected class indices "
                         f"0..{len(names)} ({len(names)} = {LABELS[-1]}) for the {len(names)} classes of class_names")
    if "test_class_sets" in data:
        try:
            metrics._check_class_sets(data["test_class_sets"], classes.astype(np.int64), names)
        except ValueError as exc:
            raise ValueError(f"{path}: test_class_sets: {exc}") from None


def score_file_classes(data: dict[str, np.ndarray]) -> tuple[tuple[str, ...], np.ndarray | None]:
    """``(class_names [K], test_class_sets bool [V, K] or None)`` of a loaded scores file
    (:func:`load_scores`): the file's ``class_names`` without its last entry "Normal" (UCF-Crime's
    :data:`cbmil.data.ucf_crime.CLASSES` when absent) and its ``test_class_sets`` when present."""
    names = tuple(str(c) for c in data["class_names"][:-1]) if "class_names" in data else CLASSES
    sets = data.get("test_class_sets")
    return names, (None if sets is None else np.asarray(sets).astype(bool))


def evaluate_file(path: str | Path, threshold: float = 0.5) -> dict[str, dict[str, float]]:
    """``{model name: {metric: value}}`` for every model of a scores file, under the file's class
    list and class sets when it stores them (:func:`score_file_classes`)."""
    z = load_scores(path)
    names, sets = score_file_classes(z)
    return {str(name): evaluate_snippet_scores(scores, z["test_offsets"], z["test_n_frames"],
                                               z["test_frame_labels"], z["test_frame_offsets"],
                                               z["test_classes"], threshold, class_names=names,
                                               video_class_sets=sets)
            for name, scores in zip(z["model_names"], z["snippet_scores"])}


def _pp(value: float) -> str:
    return "nan" if not math.isfinite(value) else f"{100 * value:.2f}"


def _move(value: float) -> str:
    return "nan" if not math.isfinite(value) else f"{100 * value:+.2f}"


def moves_table(results: dict[str, dict[str, float]]) -> str:
    """Markdown: per model the two headlines (Total and the paper's Abnormal AUC, snippet
    protocol), how many points each alternative of :data:`MOVES` moves them, AP, and the false
    alarm rate; a last row with the mean over models. Results of another benchmark's class list
    (XD-Violence's: they carry ``per_class_ap.<Class>``) get :func:`xd_moves_table`."""
    if any(key.startswith("per_class_ap.") for m in results.values() for key in m):
        return xd_moves_table(results)
    head = ["model", "Total AUC", "Δ segment", "Abnormal AUC", "Δ pooled", "Δ +normal", "Δ segment",
            "AP", "Δ trapezoid", "FAR@0.5"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def row(name: str, m: dict[str, float]) -> str:
        moves = [m[alt] - m[base] for _, alt, base in MOVES]
        cells = [name, _pp(m["total_auc"]), _move(moves[0]), _pp(m["abnormal_auc"]), _move(moves[1]),
                 _move(moves[2]), _move(moves[3]), _pp(m["ap"]), _move(moves[4]), _pp(m["false_alarm_rate"])]
        return "| " + " | ".join(cells) + " |"

    for name, m in results.items():
        lines.append(row(name, m))
    if len(results) > 1:
        mean = {k: float(np.mean([m[k] for m in results.values()])) for k in METRICS}
        lines.append(row(f"**mean of {len(results)}**", mean))
    lines.append("")
    lines.append("All in percentage points (pp); Δ = alternative − headline of the same model. Total AUC: snippet "
                 "scores x16 over all test frames; Δ segment: Sultani's 32-segment protocol. Abnormal AUC: the "
                 "paper's mean of per-class AUCs (each class's own videos); Δ pooled: one AUC over all abnormal-"
                 "video frames; Δ +normal: per-class AUCs with every normal frame added as negatives; Δ segment: "
                 "the paper's Abnormal AUC under the segment protocol. AP: step-wise; Δ trapezoid: trapezoid "
                 "rule over the PR curve. FAR@0.5: share of normal-video frames scoring >= 0.5.")
    return "\n".join(lines)


def xd_moves_table(results: dict[str, dict[str, float]]) -> str:
    """Markdown for XD-Violence's scores: per model its headline, the AP as its public code
    computes it (trapezoid), how far the step-wise AP and the segment protocol move it, the frame
    AUC, the mean of the per-class APs (each class's videos and every normal video) and the false
    alarm rate; a last row with the mean over models."""
    head = ["model", "AP (public code, trapezoid)", "Δ step-wise", "frame AUC", "Δ segment",
            "mean per-class AP", "FAR@0.5"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def mean_class_ap(m: dict[str, float]) -> float:
        values = [v for k, v in m.items() if k.startswith("per_class_ap.") and math.isfinite(v)]
        return float(np.mean(values)) if values else math.nan

    rows = {name: {"ap_trapezoid": m["ap_trapezoid"], "ap": m["ap"], "total_auc": m["total_auc"],
                   "total_auc_segment": m["total_auc_segment"], "mean_class_ap": mean_class_ap(m),
                   "false_alarm_rate": m["false_alarm_rate"]} for name, m in results.items()}
    if len(rows) > 1:
        rows[f"**mean of {len(rows)}**"] = {k: float(np.mean([m[k] for m in list(rows.values())]))
                                           for k in next(iter(rows.values()))}
    for name, m in rows.items():
        cells = [name, _pp(m["ap_trapezoid"]), _move(m["ap"] - m["ap_trapezoid"]), _pp(m["total_auc"]),
                 _move(m["total_auc_segment"] - m["total_auc"]), _pp(m["mean_class_ap"]), _pp(m["false_alarm_rate"])]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("All in percentage points (pp). AP (public code): XD-Violence's headline, auc(recall, precision) "
                 "of sklearn's precision_recall_curve over all test frames (snippet scores x16); Δ step-wise: "
                 "sklearn's average_precision_score minus it. Frame AUC: ROC AUC over all test frames; Δ segment: "
                 "under Sultani's 32-segment protocol. Mean per-class AP: trapezoid AP of each class over its test "
                 "videos (any label) and every normal video's frames, averaged. FAR@0.5: share of normal-video "
                 "frames scoring >= 0.5. Every per-class value: --json.")
    return "\n".join(lines)


def _load_score_array(path: Path) -> np.ndarray:
    try:
        scores = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such scores file") from None
    except Exception as exc:
        raise ValueError(f"{path}: not a readable .npy array ({exc})") from None
    if scores.ndim == 2 and 1 in scores.shape:
        scores = scores.ravel()
    if scores.ndim != 1 or not np.issubdtype(scores.dtype, np.number):
        raise ValueError(f"{path}: array of shape {scores.shape} and dtype {scores.dtype}; expected one number per "
                         "frame (or per snippet), 1-D")
    if not np.isfinite(scores).all():
        raise ValueError(f"{path}: {int((~np.isfinite(scores)).sum())} non-finite scores; expected finite numbers")
    return scores


def _length_mismatch(path: Path, n: int, layout) -> str:
    """Why ``n`` scores fit neither 16 x T frames nor T snippets per video, naming the video at
    which the array stops matching."""
    frames, snippets = int(layout.frame_offsets[-1]), int(layout.snippet_offsets[-1])
    offsets = layout.frame_offsets if abs(n - frames) <= abs(n - snippets) else layout.snippet_offsets
    unit = "frames" if offsets is layout.frame_offsets else "snippets"
    msg = (f"{path}: {n:,} scores; the {len(layout.keys)} videos of the list have {frames:,} frames (16 x snippets) "
           f"and {snippets:,} snippets")
    if n < offsets[-1]:
        v = int(np.searchsorted(offsets, n, side="right")) - 1
        msg += (f"; read as {unit}, the array ends inside video {v} ({layout.keys[v]}), "
                f"{int(offsets[v + 1] - n):,} {unit} short of its end")
    else:
        msg += f"; read as {unit}, {int(n - offsets[-1]):,} scores are left over after the last video ({layout.keys[-1]})"
    if n == frames - 16 * len(layout.keys):
        msg += "; exactly 16 frames fewer per video: the last snippet of every video dropped?"
    return msg + ". Expected one score per frame or per snippet, videos in list order"


def evaluate_saved_array(path: str | Path, layout, threshold: float = 0.5, *,
                         class_names: Sequence[str] | None = None) -> dict[str, float]:
    """Another method's saved scores ``[F]`` (one per frame, 16 x T per video) or ``[S]`` (one
    per snippet), videos in the order of ``layout`` (:func:`cbmil.interop.groundtruth.list_layout`,
    or :func:`cbmil.interop.xd_groundtruth.xd_list_layout`), under the metrics of :data:`METRICS`
    (the ``*_segment`` ones need snippet scores and are nan for frame scores). A length that fits
    neither is refused, the video where the array stops matching named.

    ``class_names`` ``[K]`` (anomaly classes, no "Normal"): default the layout's ``class_names``
    attribute if it has one, else UCF-Crime's. A layout's ``class_sets`` (or ``video_class_sets``)
    ``[V, K]`` are the videos' class sets; its ``n_frames`` ``[V]``, when it has them, the frames
    per video snippet scores are spread over (default 16 x T)."""
    path = Path(path)
    scores = _load_score_array(path)
    if class_names is None:
        class_names = getattr(layout, "class_names", CLASSES)
    sets = getattr(layout, "video_class_sets", None)
    kw = {"class_names": class_names, "video_class_sets": getattr(layout, "class_sets", None) if sets is None else sets}
    n_frames = getattr(layout, "n_frames", None)
    if len(scores) == layout.snippet_offsets[-1]:
        n_frames = 16 * np.asarray(layout.n_snippets) if n_frames is None else np.asarray(n_frames)
        return evaluate_snippet_scores(scores, layout.snippet_offsets, n_frames, layout.frame_labels,
                                       layout.frame_offsets, layout.video_classes, threshold, **kw)
    if len(scores) == layout.frame_offsets[-1]:
        out = evaluate_frame_scores(scores, layout.frame_labels, layout.frame_offsets, layout.video_classes,
                                    threshold, **kw)
        return _in_order(out | {"total_auc_segment": math.nan, "abnormal_auc_segment": math.nan})
    raise ValueError(_length_mismatch(path, len(scores), layout))


def evaluate_saved(scores: Sequence[str | Path] = (), frame_scores: str | Path | None = None,
                   list_path: str | Path | None = None, annotations_dir: str | Path | None = None,
                   features: str | Path | None = None, snippets: str | Path | None = None, name: str | None = None,
                   threshold: float = 0.5, *, dataset: str = "ucf") -> dict[str, dict[str, float]]:
    """Every metric of every protocol (:data:`METRICS`) for saved scores: ``{model: {metric: value}}``.

    ``scores``: files written by ``reproduce --save-scores`` (every model in them, under the
    file's class list, :func:`evaluate_file`);
    ``frame_scores``: another method's ``.npy`` (one score per frame or per snippet, videos in the
    order of ``list_path``), which needs ``list_path``, ``annotations_dir`` and one of
    ``features`` / ``snippets`` (:func:`cbmil.interop.groundtruth.list_layout`); its model is
    named ``name`` (default: the file name). ``dataset``: the benchmark of ``list_path``,
    ``"ucf"`` (default) or ``"xd"`` (XD-Violence: :func:`cbmil.interop.xd_groundtruth.xd_list_layout`
    with its ground-truth convention "snippets", ``annotations_dir`` optional: default the
    shipped ``annotations.txt``)."""
    results: dict[str, dict[str, float]] = {}
    if dataset not in ("ucf", "xd"):
        raise ValueError(f"dataset {dataset!r}; expected 'ucf' or 'xd'")
    if frame_scores is not None:
        if not list_path or (dataset == "ucf" and not annotations_dir) or (features is None) == (snippets is None):
            needs = "--list, --annotations-dir" if dataset == "ucf" else "--list"
            raise ValueError(f"--frame-scores needs {needs} and one of --features / --snippets")
        if dataset == "xd":
            from cbmil.data.xd_violence import CLASSES as XD_CLASSES
            from cbmil.interop.xd_groundtruth import xd_list_layout
            layout = xd_list_layout(list_path, annotations_dir, features, snippets)
            results[name or Path(frame_scores).stem] = evaluate_saved_array(frame_scores, layout, threshold,
                                                                            class_names=XD_CLASSES)
        else:
            from cbmil.interop.groundtruth import list_layout
            layout = list_layout(list_path, annotations_dir, features, snippets)
            results[name or Path(frame_scores).stem] = evaluate_saved_array(frame_scores, layout, threshold)
    for path in scores:
        for model, values in evaluate_file(path, threshold).items():
            key = model if model not in results else f"{Path(path).stem}: {model}"
            results[key] = values
    if not results:
        raise ValueError("nothing to evaluate: give score files or frame scores")
    return results
