"""Frame ground truth in a public ``.list`` file's order, and an audit of someone else's.

Public code bases (RTFM, DeepMIL, MGFN, UR-DMU, ...) evaluate against one frame-level array,
``gt-ucf.npy``: one 0/1 value per frame, the test videos back to back in the order of their
``.list`` file, a video of T snippets counted as ``16 * T`` frames (the snippet protocol of
:mod:`cbmil.data.frames`). :func:`expected_gt` builds that array from the official annotations;
:func:`audit` compares a given array with it and names the defects met in public arrays:

* a different total length (e.g. 1,109,680 frames instead of 1,109,824);
* a video's last 16 frames dropped, or every video counted as ``16 * (T - 1)`` frames
  (kind ``truncated_16``);
* the annotation read off by one: exclusive end, 1-based frame numbers (kind ``off_by_one``);
* whole classes labelled normal (``classes_without_anomalies``);
* the videos in another order than the list's (``order_differs``);
* videos in the list and not in the annotations, or the reverse.

Frame convention: an event ``(start, end)`` covers frames ``start..end`` inclusive, clipped to
the video's ``16 * T`` frames (:func:`cbmil.data.frames.frame_ground_truth`).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cbmil.data.dataset import offsets_from_lengths
from cbmil.data.frames import frame_ground_truth, snippet_frames
from cbmil.data.lists import read_list, snippet_counts
from cbmil.data.ucf_crime import CLASSES, FRAMES_PER_SNIPPET, LABELS, TEST_ANNOTATIONS, VideoRecord, parse_test_annotations

#: Shifts (frames) searched around a mismatching video, besides the ones its labels suggest.
MAX_SHIFT = 64
#: Ways of misreading an event ``(s, e)``: ``(s + ds, e + de)``, e.g. ``(0, -1)`` exclusive end,
#: ``(-1, -1)`` 1-based frame numbers, ``(1, 1)`` 0-based numbers taken for 1-based.
OFF_BY_ONE = tuple((ds, de) for ds in (-1, 0, 1) for de in (-1, 0, 1) if (ds, de) != (0, 0))
#: Kinds of a video whose frames differ from the annotations.
KINDS = ("truncated_16", "off_by_one", "other")
#: Export dtypes: float32 0/1 by default, like the public float arrays (``np.load`` then
#: ``roc_auc_score`` works unchanged); uint8 for a file four times smaller.
DTYPES = ("float32", "float64", "uint8")


# ----------------------------------------------------------------------------- inputs

def read_annotations(path: str | Path) -> dict[str, VideoRecord]:
    """``{key: record}`` of the official test annotation file, in file order. ``path`` is the
    file or a folder holding it under its official name; a video annotated twice is an error."""
    path = Path(path)
    if path.is_dir():
        path = path / TEST_ANNOTATIONS
    if not path.is_file():
        raise FileNotFoundError(f"annotation file {path} does not exist; expected the official {TEST_ANNOTATIONS}")
    records: dict[str, VideoRecord] = {}
    for record in parse_test_annotations(path):
        if record.key in records:
            raise ValueError(f"{path}: video {record.key} is annotated twice; expected each test video once")
        records[record.key] = record
    return records


def _counts(keys: Sequence[str], n_snippets) -> np.ndarray:
    """int64 ``[V]`` snippets per video from a ``{key: T}`` mapping or a ``[V]`` sequence."""
    if isinstance(n_snippets, Mapping):
        missing = [k for k in keys if k not in n_snippets]
        if missing:
            raise ValueError(f"no snippet count for video(s) {', '.join(missing[:5])}")
        counts = np.array([n_snippets[k] for k in keys], dtype=np.int64)
    else:
        counts = np.asarray(n_snippets, dtype=np.int64).reshape(-1)
        if len(counts) != len(keys):
            raise ValueError(f"{len(counts)} snippet counts for {len(keys)} videos; expected one per video")
    if len(counts) and counts.min() < 1:
        bad = keys[int(np.argmin(counts))]
        raise ValueError(f"video {bad} has {counts.min()} snippets; expected T >= 1")
    return counts


def _labels(intervals, n_frames: int, ds: int = 0, de: int = 0) -> np.ndarray:
    """``uint8 [n_frames]`` labels of events ``(s + ds, e + de)``; events emptied by the shift are dropped."""
    moved = [(max(s + ds, 0), e + de) for s, e in intervals if e + de >= max(s + ds, 0)]
    return frame_ground_truth(moved, n_frames)


# ----------------------------------------------------------------------------- expected GT

def expected_gt(keys: Sequence[str], records_by_key: Mapping[str, VideoRecord], n_snippets) -> np.ndarray:
    """The frame ground truth of ``keys`` in their order: ``uint8 [sum 16 * T]``, 1 inside an
    annotated event.

    Parameters
    ----------
    keys : canonical video keys, e.g. from :func:`cbmil.data.lists.read_list`.
    records_by_key : ``{key: VideoRecord}`` (:func:`read_annotations`); a key without a record
        raises ``ValueError`` naming it.
    n_snippets : ``{key: T}`` or ``[V]`` snippets per video, in the order of ``keys``.
    """
    counts = _counts(keys, n_snippets)
    missing = [k for k in keys if k not in records_by_key]
    if missing:
        raise ValueError(f"video(s) {', '.join(missing[:5])} are not in the annotations; expected every "
                         "video to have a record")
    if not len(keys):
        return np.zeros(0, dtype=np.uint8)
    return np.concatenate([frame_ground_truth(records_by_key[k].intervals, snippet_frames(t))
                           for k, t in zip(keys, counts)])


@dataclass(frozen=True)
class ListLayout:
    """The test set in a list's order, snippet protocol (``16 * T`` frames per video).

    Attributes
    ----------
    keys : ``[V]`` canonical video keys, in list order.
    n_snippets : int64 ``[V]`` snippets per video.
    frame_labels : uint8 ``[F]`` frame ground truth, ``F = 16 * sum(T)``.
    frame_offsets : int64 ``[V + 1]`` video v owns frames ``frame_offsets[v]:frame_offsets[v + 1]``.
    snippet_offsets : int64 ``[V + 1]`` video v owns snippets ``snippet_offsets[v]:snippet_offsets[v + 1]``.
    video_classes : int64 ``[V]`` class index per :data:`cbmil.data.ucf_crime.LABELS` (Normal = 13).
    """

    keys: list[str]
    n_snippets: np.ndarray
    frame_labels: np.ndarray
    frame_offsets: np.ndarray
    snippet_offsets: np.ndarray
    video_classes: np.ndarray


def list_layout(list_path, annotations_dir, features_dir=None, snippets_file=None) -> ListLayout:
    """The :class:`ListLayout` of the videos of ``list_path``, their labels from the official
    annotations in ``annotations_dir`` (folder or file) and their snippet counts from exactly one
    of ``features_dir`` or ``snippets_file``. A listed video that is not annotated, or has no
    snippet count, raises ``ValueError`` naming it."""
    keys = read_list(list_path)
    records = read_annotations(annotations_dir)
    missing = [k for k in keys if k not in records]
    if missing:
        raise ValueError(f"{list_path}: video(s) {', '.join(missing[:5])} are not in the test annotations "
                         f"{annotations_dir}; expected only annotated test videos")
    counts = snippet_counts(keys, features_dir, snippets_file)
    return ListLayout(
        keys=keys, n_snippets=counts, frame_labels=expected_gt(keys, records, counts),
        frame_offsets=offsets_from_lengths(FRAMES_PER_SNIPPET * counts), snippet_offsets=offsets_from_lengths(counts),
        video_classes=np.array([records[k].class_index for k in keys], dtype=np.int64),
    )


# ----------------------------------------------------------------------------- audit

def _best_shift(found: np.ndarray, expected: np.ndarray, start: int, candidates) -> int | None:
    """The smallest shift s (ties: negative first) with ``found[start + s:][:n] == expected``, or None."""
    n = len(expected)
    for s in sorted(set(candidates) - {0}, key=lambda s: (abs(s), s)):
        a = start + s
        if 0 <= a and a + n <= len(found) and np.array_equal(found[a:a + n], expected):
            return int(s)
    return None


def _kind(found: np.ndarray, record: VideoRecord, n: int, start: int, truncated_start: int | None) -> str:
    """Which known defect explains video frames ``found[start:start + n]`` (see :data:`KINDS`).

    ``truncated_start``: where the video starts if the whole array uses ``16 * (T - 1)`` frames
    per video (None when its length says it does not)."""
    piece = found[start:start + n]
    if len(piece) == n and any(np.array_equal(piece, _labels(record.intervals, n, ds, de)) for ds, de in OFF_BY_ONE):
        return "off_by_one"
    m = n - FRAMES_PER_SNIPPET
    if m <= 0:
        return "other"
    head = frame_ground_truth(record.intervals, n)[:m]
    if len(piece) >= m and np.array_equal(piece[:m], head):
        return "truncated_16"  # its last 16 frames dropped: the next video starts early
    if truncated_start is not None and np.array_equal(found[truncated_start:truncated_start + m], head):
        return "truncated_16"
    return "other"


def _order(found, keys, records_by_key, counts) -> str | None:
    """Heuristic for a reordered array: which other order of the listed videos (the annotation
    file's, or sorted by name) gives exactly ``found``; None if neither does."""
    if not all(k in records_by_key for k in keys):
        return None
    position = {k: i for i, k in enumerate(records_by_key)}
    t = dict(zip(keys, counts))
    for name, order in (("annotations", sorted(keys, key=position.get)), ("sorted", sorted(keys))):
        if order != list(keys) and np.array_equal(found, expected_gt(order, records_by_key, [t[k] for k in order])):
            return name
    return None


def audit(gt, keys: Sequence[str], records_by_key: Mapping[str, VideoRecord], n_snippets,
          max_shift: int = MAX_SHIFT) -> dict:
    """Compare a public frame ground truth with the one the annotations give in ``keys``' order.

    Mismatches are findings, never exceptions (only an unusable ``gt`` or missing snippet
    counts raise ``ValueError``). Videos are cut at their expected offsets (``16 * T`` frames
    each); listed videos without an annotation are skipped in every content check.

    Parameters
    ----------
    gt : ``[F]`` frame labels, 0/1 of any numeric dtype (values > 0.5 count as anomalous).
    keys : ``[V]`` canonical keys in list order.
    records_by_key : ``{key: VideoRecord}`` in annotation file order (:func:`read_annotations`).
    n_snippets : ``{key: T}`` or ``[V]`` snippets per listed video.
    max_shift : the first mismatching video is looked for at shifts up to this many frames,
        and at the shifts its own labels, the length difference and ``16 * (T - 1)`` suggest.

    Returns
    -------
    dict (JSON-serialisable): ``expected_frames``, ``found_frames``, ``videos``,
    ``non_binary_values``, ``first_mismatch`` (``{index, key, frames_differing, shift}`` or
    None; ``shift``: frames to add to the video's expected offset to find its labels, or None),
    ``videos_differing`` (``[{index, key, label, frames_differing, kind}]``, kind in
    :data:`KINDS`; frames missing from a short array count as differing), ``differing_by_kind``,
    ``per_class`` (``{label: {videos, expected, found}}`` anomalous frames),
    ``classes_without_anomalies``, ``in_list_not_annotated``, ``annotated_not_in_list``,
    ``order_differs`` and ``order_matches`` (``"annotations"`` or ``"sorted"``: exact equality
    with the GT of the listed videos in the annotation file's order or sorted by name, tried only
    when the lengths agree and the content does not), ``findings`` (one line each) and
    ``consistent`` (no findings).
    """
    raw = np.asarray(gt)
    if raw.ndim != 1:
        raw = raw.squeeze()
    if raw.ndim != 1 or not (np.issubdtype(raw.dtype, np.number) or raw.dtype == bool):
        raise ValueError(f"ground truth of shape {np.asarray(gt).shape} and dtype {raw.dtype}; "
                         "expected a 1-D numeric array, one 0/1 per frame")
    non_binary = int(np.count_nonzero((raw != 0) & (raw != 1)))
    found = (raw > 0.5).astype(np.uint8)
    keys = list(keys)
    counts = _counts(keys, n_snippets)
    lengths = FRAMES_PER_SNIPPET * counts
    offsets = offsets_from_lengths(lengths)
    truncated = offsets_from_lengths(lengths - FRAMES_PER_SNIPPET)
    all_truncated = len(found) == truncated[-1] != offsets[-1]
    listed = set(keys)

    first, differing = None, []
    per_class = {}
    for v, key in enumerate(keys):
        record = records_by_key.get(key)
        if record is None:
            continue
        n, start = int(lengths[v]), int(offsets[v])
        expected = frame_ground_truth(record.intervals, n)
        piece = found[start:start + n]
        diff = int(np.count_nonzero(piece != expected[:len(piece)])) + n - len(piece)
        row = per_class.setdefault(record.label, {"videos": 0, "expected": 0, "found": 0})
        row["videos"] += 1
        row["expected"] += int(expected.sum())
        row["found"] += int(piece.sum())
        if not diff:
            continue
        kind = _kind(found, record, n, start, int(truncated[v]) if all_truncated else None)
        differing.append({"index": v, "key": key, "label": record.label, "frames_differing": diff, "kind": kind})
        if first is None:
            candidates = _shift_candidates(found, expected, start, v, len(found) - int(offsets[-1]), max_shift)
            first = {"index": v, "key": key, "frames_differing": diff,
                     "shift": _best_shift(found, expected, start, candidates)}
    per_class = {label: per_class[label] for label in LABELS if label in per_class}
    empty = [c for c in CLASSES if c in per_class and per_class[c]["expected"] > 0 and per_class[c]["found"] == 0]
    not_annotated = [k for k in keys if k not in records_by_key]
    not_listed = [k for k in records_by_key if k not in listed]
    order = _order(found, keys, records_by_key, counts) if differing and len(found) == offsets[-1] else None
    by_kind = {kind: sum(d["kind"] == kind for d in differing) for kind in KINDS}

    report = {
        "expected_frames": int(offsets[-1]), "found_frames": len(found), "videos": len(keys),
        "non_binary_values": non_binary, "first_mismatch": first, "videos_differing": differing,
        "differing_by_kind": by_kind, "per_class": per_class, "classes_without_anomalies": empty,
        "in_list_not_annotated": not_annotated, "annotated_not_in_list": not_listed,
        "order_differs": order is not None, "order_matches": order,
    }
    report["findings"] = _findings(report, all_truncated)
    report["consistent"] = not report["findings"]
    return report


def _shift_candidates(found, expected, start: int, index: int, length_diff: int, max_shift: int) -> set[int]:
    """Shifts worth trying for one video: small ones, the length difference, the ``16 * (T - 1)``
    convention's ``-16 * index``, and every shift that puts a run of anomalous frames of ``found``
    on the video's first event."""
    candidates = set(range(-max_shift, max_shift + 1)) | {length_diff, -FRAMES_PER_SNIPPET * index}
    ones = np.flatnonzero(expected)
    if len(ones):
        anchor = start + int(ones[0])
        reach = max(abs(length_diff), FRAMES_PER_SNIPPET * (index + 1)) + max_shift
        runs = np.flatnonzero(np.diff(found.astype(np.int8), prepend=np.int8(0)) == 1)
        near = runs[np.abs(runs - anchor) <= reach]
        candidates |= {int(r) - anchor for r in near}
    return candidates


def _some(keys, n: int = 3) -> str:
    return ", ".join(keys[:n]) + (f" and {len(keys) - n} more" if len(keys) > n else "")


def _findings(report: dict, all_truncated: bool) -> list[str]:
    """One line per problem the audit found (empty when the array is consistent)."""
    out = []
    exp, got = report["expected_frames"], report["found_frames"]
    if exp != got:
        why = "; every video counted as 16 * (T - 1) frames" if all_truncated else ""
        out.append(f"length: {got:,} frames, expected {exp:,} ({got - exp:+,}){why}")
    if report["non_binary_values"]:
        out.append(f"values: {report['non_binary_values']:,} are neither 0 nor 1")
    if report["order_differs"]:
        which = "the annotation file's" if report["order_matches"] == "annotations" else "sorted (by name)"
        out.append(f"order: the array follows the videos in {which} order, not the list's")
    if report["videos_differing"]:
        kinds = ", ".join(f"{k} {n}" for k, n in report["differing_by_kind"].items() if n)
        keys = [d["key"] for d in report["videos_differing"]]
        n = len(keys)
        out.append(f"videos: {n} differ{'s' * (n == 1)} from the annotations ({kinds}): {_some(keys)}")
    for label in report["classes_without_anomalies"]:
        out.append(f"class {label}: no anomalous frame, expected {report['per_class'][label]['expected']:,}")
    if report["in_list_not_annotated"]:
        keys = report["in_list_not_annotated"]
        out.append(f"list: {len(keys)} listed video(s) not in the annotations: {_some(keys)}")
    if report["annotated_not_in_list"]:
        keys = report["annotated_not_in_list"]
        out.append(f"list: {len(keys)} annotated video(s) not in the list: {_some(keys)}")
    return out


def format_report(report: dict, gt_name: str = "ground truth", list_name: str = "the list") -> str:
    """The audit as a few readable lines; the last is ``consistent`` or ``N findings``."""
    exp, got = report["expected_frames"], report["found_frames"]
    lines = [f"{gt_name}: {got:,} frames; expected {exp:,} ({report['videos']} videos of {list_name}, "
             f"{FRAMES_PER_SNIPPET} frames per snippet)"]
    first = report["first_mismatch"]
    if first is None:
        lines.append("first mismatch: none")
    else:
        shift = (f"explained by a shift of {first['shift']:+d} frames" if first["shift"] is not None
                 else "no shift explains it")
        n = first["frames_differing"]
        lines.append(f"first mismatch: video {first['index']} ({first['key']}), {n:,} frame{'s' * (n != 1)} "
                     f"differ{'s' * (n == 1)}; {shift}")
    rows = [(label, r) for label, r in report["per_class"].items() if r["expected"] != r["found"]]
    if rows:
        lines.append(f"{'class':<15}{'expected':>12}{'found':>12}")
        lines += [f"{label:<15}{r['expected']:>12,}{r['found']:>12,}" for label, r in rows]
    lines += [f"- {finding}" for finding in report["findings"]]
    n = len(report["findings"])
    lines.append("consistent" if not n else f"{n} finding{'s' if n > 1 else ''}")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- command line

def load_gt(path: str | Path) -> np.ndarray:
    """A public ground-truth ``.npy``: 1-D numeric; anything else raises naming the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"ground truth {path} does not exist (or is not a file)")
    with open(path, "rb") as fh:
        magic = fh.read(6)
    if magic != b"\x93NUMPY":  # np.load would try to unpickle it and say so, which misleads
        raise ValueError(f"{path}: not an .npy file (no NUMPY header); expected a 1-D array of 0/1 per frame")
    try:
        gt = np.load(path, allow_pickle=False)
    except Exception as exc:  # truncated, pickled objects, a bad header, ...
        raise ValueError(f"{path}: unreadable .npy ground truth ({exc}); "
                         "expected a 1-D array of 0/1 per frame") from None
    flat = gt if gt.ndim == 1 else gt.squeeze()  # [F, 1] and [1, F] are accepted
    if flat.ndim != 1 or not (np.issubdtype(gt.dtype, np.number) or gt.dtype == bool):
        raise ValueError(f"{path}: array of shape {gt.shape} and dtype {gt.dtype}; "
                         "expected a 1-D numeric array of 0/1 per frame")
    return flat


def _error(exc: Exception) -> int:
    print(f"cbmil: error: {exc}", file=sys.stderr)
    return 2


def main_audit(args) -> int:
    """``cbmil data audit``: 0 when ``args.gt`` is consistent, 1 with findings, 2 on unreadable input."""
    try:
        gt = load_gt(args.gt)
        keys = read_list(args.list)
        records = read_annotations(args.annotations_dir)
        counts = snippet_counts(keys, args.features, args.snippets)
        report = audit(gt, keys, records, counts)
    except (ValueError, OSError) as exc:
        return _error(exc)
    if args.json:
        print(json.dumps({"gt": str(args.gt), "list": str(args.list)} | report))
    else:
        print(format_report(report, str(args.gt), str(args.list)))
    return 0 if report["consistent"] else 1


def main_export_gt(args) -> int:
    """``cbmil data export-gt``: write the expected ground truth of ``args.list`` to ``args.out``
    (``args.dtype``, default float32, see :data:`DTYPES`)."""
    dtype = getattr(args, "dtype", None) or "float32"
    try:
        if dtype not in DTYPES:
            raise ValueError(f"dtype {dtype!r}; expected one of {', '.join(DTYPES)}")
        layout = list_layout(args.list, args.annotations_dir, args.features, args.snippets)
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(out, "wb") as fh:  # np.save(path) would append .npy to any other name
            np.save(fh, layout.frame_labels.astype(dtype))
    except (ValueError, OSError) as exc:
        return _error(exc)
    labels = layout.frame_labels
    print(f"wrote {out}: {len(labels):,} frames ({dtype}) of {len(layout.keys)} videos, "
          f"{int(labels.sum()):,} anomalous ({labels.mean() if len(labels) else 0:.1%})")
    return 0
