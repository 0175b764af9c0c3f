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
=============================  ===================================================================

Crops are not a choice here: a scores file holds one score per snippet, made by whatever crop
handling produced it (the kit scores the crop mean at test time, docs/method-choices.md).

Nothing here re-implements a metric: frame scores come from :mod:`cbmil.data.frames`, AUCs and the
step-wise AP from :mod:`cbmil.eval.metrics` (sklearn underneath); only the trapezoid AP calls sklearn's
curve directly, because it depends on every threshold of the curve.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Sequence

import numpy as np
from sklearn.metrics import auc as _curve_area
from sklearn.metrics import precision_recall_curve

from cbmil.eval import metrics
from cbmil.data.frames import PROTOCOLS, frame_scores
from cbmil.data.ucf_crime import CLASSES, NORMAL_INDEX

#: Metric names of :func:`evaluate_snippet_scores` / :func:`evaluate_frame_scores` (per-class
#: entries ``per_class_auc.<Class>`` and ``per_class_auc_with_normal.<Class>`` come in addition).
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


def trapezoid_ap(frame_scores_: np.ndarray, frame_labels: np.ndarray) -> float:
    """Area under the precision-recall curve by the trapezoid rule (XD-Violence's "AP"); nan
    without anomalous frames. ``[F]`` scores and 0/1 labels."""
    labels = np.asarray(frame_labels).astype(bool)
    if not labels.any():
        return float("nan")
    precision, recall, _ = precision_recall_curve(labels, np.asarray(frame_scores_, dtype=np.float64))
    return float(_curve_area(recall, precision))


def _in_order(out: dict[str, float]) -> dict[str, float]:
    """``out`` with :data:`METRICS` first, in their order, then the per-class entries."""
    return {name: out[name] for name in METRICS} | {k: v for k, v in out.items() if k not in METRICS}


def evaluate_frame_scores(scores: np.ndarray, frame_labels: np.ndarray, frame_offsets: np.ndarray,
                          video_classes: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    """Every frame-level metric of :data:`METRICS` that frame scores alone define (all but the
    ``*_segment`` ones), flat ``{name: value}``.

    ``scores`` ``[F]``, ``frame_labels`` ``[F]`` 0/1, ``frame_offsets`` ``[V + 1]``,
    ``video_classes`` ``[V]`` (0-12, 13 = Normal), as in :mod:`cbmil.eval.metrics`.
    """
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(frame_labels).astype(bool)
    offsets, classes = np.asarray(frame_offsets), np.asarray(video_classes)
    main = metrics.evaluate(labels, scores, offsets, classes, threshold=threshold)
    with_normal = metrics.per_class_auc(labels, scores, offsets, classes, include_normal=True)
    abnormal = np.repeat(classes != NORMAL_INDEX, np.diff(offsets))
    out = {
        "total_auc": main["total_auc"],
        "abnormal_auc": main["abnormal_auc"],
        "abnormal_auc_pooled": metrics.total_auc(labels[abnormal], scores[abnormal]) if abnormal.any() else math.nan,
        "abnormal_auc_with_normal": metrics.abnormal_auc(with_normal),
        "ap": main["average_precision"],
        "ap_trapezoid": trapezoid_ap(scores, labels),
        "false_alarm_rate": main["false_alarm_rate"],
    }
    out.update({f"per_class_auc.{c}": main["per_class_auc"][c] for c in CLASSES})
    out.update({f"per_class_auc_with_normal.{c}": with_normal[c] for c in CLASSES})
    return out


def evaluate_snippet_scores(snippet_scores: np.ndarray, snippet_offsets: np.ndarray, n_frames: np.ndarray,
                            frame_labels: np.ndarray, frame_offsets: np.ndarray, video_classes: np.ndarray,
                            threshold: float = 0.5) -> dict[str, float]:
    """All of :data:`METRICS` for one model's snippet scores ``[S]`` (videos back to back,
    ``snippet_offsets`` ``[V + 1]``, ``n_frames`` ``[V]`` frames per video): the snippet protocol
    for every metric, plus ``total_auc_segment`` and ``abnormal_auc_segment``."""
    snippet_scores = np.asarray(snippet_scores, dtype=np.float32)
    out = evaluate_frame_scores(frame_scores(snippet_scores, snippet_offsets, n_frames, "snippet"),
                                frame_labels, frame_offsets, video_classes, threshold)
    segment = frame_scores(snippet_scores, snippet_offsets, n_frames, "segment")
    labels = np.asarray(frame_labels).astype(bool)
    out["total_auc_segment"] = metrics.total_auc(labels, segment)
    out["abnormal_auc_segment"] = metrics.abnormal_auc(
        metrics.per_class_auc(labels, segment, frame_offsets, video_classes))
    return _in_order(out)


def load_scores(path: str | Path) -> dict[str, np.ndarray]:
    """Read a scores file and check it: every array of :data:`SCORE_FILE_ARRAYS`, consistent
    shapes, and the ``snippet`` protocol it was saved under (the frame labels are 16 x T per
    video only then). Errors name the file and the array."""
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
    return data


def evaluate_file(path: str | Path, threshold: float = 0.5) -> dict[str, dict[str, float]]:
    """``{model name: {metric: value}}`` for every model of a scores file."""
    z = load_scores(path)
    return {str(name): evaluate_snippet_scores(scores, z["test_offsets"], z["test_n_frames"],
                                               z["test_frame_labels"], z["test_frame_offsets"],
                                               z["test_classes"], threshold)
            for name, scores in zip(z["model_names"], z["snippet_scores"])}


def _pp(value: float) -> str:
    return "nan" if not math.isfinite(value) else f"{100 * value:.2f}"


def _move(value: float) -> str:
    return "nan" if not math.isfinite(value) else f"{100 * value:+.2f}"


def moves_table(results: dict[str, dict[str, float]]) -> str:
    """Markdown: per model the two headlines (Total and the paper's Abnormal AUC, snippet
    protocol), how many points each alternative of :data:`MOVES` moves them, AP, and the false
    alarm rate; a last row with the mean over models."""
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


def evaluate_saved_array(path: str | Path, layout, threshold: float = 0.5) -> dict[str, float]:
    """Another method's saved scores ``[F]`` (one per frame, 16 x T per video) or ``[S]`` (one
    per snippet), videos in the order of ``layout`` (:func:`cbmil.interop.groundtruth.list_layout`),
    under the metrics of :data:`METRICS` (the ``*_segment`` ones need snippet scores and are
    nan for frame scores). A length that fits neither is refused, the video where the array
    stops matching named."""
    path = Path(path)
    scores = _load_score_array(path)
    if len(scores) == layout.snippet_offsets[-1]:
        return evaluate_snippet_scores(scores, layout.snippet_offsets, 16 * np.asarray(layout.n_snippets),
                                       layout.frame_labels, layout.frame_offsets, layout.video_classes, threshold)
    if len(scores) == layout.frame_offsets[-1]:
        out = evaluate_frame_scores(scores, layout.frame_labels, layout.frame_offsets, layout.video_classes, threshold)
        return _in_order(out | {"total_auc_segment": math.nan, "abnormal_auc_segment": math.nan})
    raise ValueError(_length_mismatch(path, len(scores), layout))


def evaluate_saved(scores: Sequence[str | Path] = (), frame_scores: str | Path | None = None,
                   list_path: str | Path | None = None, annotations_dir: str | Path | None = None,
                   features: str | Path | None = None, snippets: str | Path | None = None, name: str | None = None,
                   threshold: float = 0.5) -> dict[str, dict[str, float]]:
    """Every metric of every protocol (:data:`METRICS`) for saved scores: ``{model: {metric: value}}``.

    ``scores``: files written by ``reproduce --save-scores`` (every model in them);
    ``frame_scores``: another method's ``.npy`` (one score per frame or per snippet, videos in the
    order of ``list_path``), which needs ``list_path``, ``annotations_dir`` and one of
    ``features`` / ``snippets`` (:func:`cbmil.interop.groundtruth.list_layout`); its model is
    named ``name`` (default: the file name)."""
    results: dict[str, dict[str, float]] = {}
    if frame_scores is not None:
        from cbmil.interop.groundtruth import list_layout
        if not list_path or not annotations_dir or (features is None) == (snippets is None):
            raise ValueError("--frame-scores needs --list, --annotations-dir and one of --features / --snippets")
        layout = list_layout(list_path, annotations_dir, features, snippets)
        results[name or Path(frame_scores).stem] = evaluate_saved_array(frame_scores, layout, threshold)
    for path in scores:
        for model, values in evaluate_file(path, threshold).items():
            key = model if model not in results else f"{Path(path).stem}: {model}"
            results[key] = values
    if not results:
        raise ValueError("nothing to evaluate: give score files or frame scores")
    return results
