"""Frame ground truth in a public ``.list`` file's order, and an audit of someone else's.

Public code bases (RTFM, DeepMIL, MGFN, UR-DMU, ...) evaluate against one frame-level array,
``gt-ucf.npy``: one 0/1 value per frame, the test videos back to back in the order of their
``.list`` file, a video of T snippets counted as ``16 * T`` frames (the snippet protocol of
:mod:`cbmil.data.frames`). :func:`expected_gt` builds that array from the official annotations;
:func:`audit` compares a given array with it and names the defects met in public arrays:

* a different total length (e.g. 1,109,680 frames instead of 1,109,824);
* frames missing from, or added to, the array at one place (``shifts``): one finding that
  names the videos where they can lie, e.g. a video's last 16 frames dropped. When the labels
  around the cut are all equal (the end of one video and the start of the next both normal)
  they cannot tell which video lost the frames, and both are named; when they can (the cut
  falls in an event, or the next video starts with one) exactly that video is named, and
  listed as differing (kind ``truncated_16`` when the frames can be its last 16, else
  ``other``). The videos after the cut are compared at the new shift, so the one defect is not
  counted again for each of them; videos read off by one are compared under that reading, so a
  cut in an array read off by one throughout is one shift too. More than
  :data:`MAX_SHIFT_LINES` shifts are summed up in one line (the report lists each);
* every video counted as ``16 * (T - 1)`` frames (each one kind ``truncated_16``);
* the annotation read off by one: exclusive end, 1-based frame numbers (kind ``off_by_one``);
* whole classes labelled normal (``classes_without_anomalies``);
* the videos in another order than the list's (``order_differs``);
* videos in the list and not in the annotations, or the reverse.

Frame convention: an event ``(start, end)`` covers frames ``start..end`` inclusive, clipped to
the video's ``16 * T`` frames (:func:`cbmil.data.frames.frame_ground_truth`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cbmil.data.dataset import offsets_from_lengths
from cbmil.data.frames import frame_ground_truth, snippet_frames
from cbmil.data.lists import read_list, snippet_counts
from cbmil.data.ucf_crime import FRAMES_PER_SNIPPET, LABELS, TEST_ANNOTATIONS, VideoRecord, parse_test_annotations

#: Shifts (frames) searched around a mismatching video, besides the ones its labels suggest.
MAX_SHIFT = 64
#: Ways of misreading an event ``(s, e)``: ``(s + ds, e + de)``, e.g. ``(0, -1)`` exclusive end,
#: ``(-1, -1)`` 1-based frame numbers, ``(1, 1)`` 0-based numbers taken for 1-based.
OFF_BY_ONE = tuple((ds, de) for ds in (-1, 0, 1) for de in (-1, 0, 1) if (ds, de) != (0, 0))
#: Kinds of a video whose frames differ from the annotations.
KINDS = ("truncated_16", "off_by_one", "other")
#: Shifts written one finding each; more are summed up in one line (the report lists each).
MAX_SHIFT_LINES = 5
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
          max_shift: int = MAX_SHIFT, labels: Sequence[str] = LABELS) -> dict:
    """Compare a public frame ground truth with the one the annotations give in ``keys``' order.

    Mismatches are findings, never exceptions (only an unusable ``gt`` or missing snippet
    counts raise ``ValueError``). Listed videos without an annotation are skipped in every
    content check (their frames match anything).

    Videos are compared at a running shift (frames to add to the expected offset, ``16 * T``
    frames per video; 0 at the start). A video that differs at the current shift may mark a
    length-changing *shift*: frames missing from, or added to, the array at one place. The new
    shift must be backed by the first later video found at it and not at the old one (or by
    the array's end), and one cut must explain every frame from the end of the previous defect
    to there (frames before the cut at the old shift, after it at the new one; videos read off
    by one are compared under that reading, up to :data:`MAX_PASSED` videos with defects of
    their own are passed over). The shift that explains the remaining length difference is
    tried first. The range of cut positions the labels allow names the videos where the frames
    can lie (a stretch of equal labels across a boundary leaves both videos), and the later
    videos are compared at the new shift. An off-by-one reading of a video is its own defect,
    not a shift of one frame. Not done when the whole array uses ``16 * (T - 1)`` frames per
    video, nor when the array is another order of the listed videos.

    Parameters
    ----------
    gt : ``[F]`` frame labels, 0/1 of any numeric dtype (values > 0.5 count as anomalous).
    keys : ``[V]`` canonical keys in list order.
    records_by_key : ``{key: VideoRecord}`` in annotation file order (:func:`read_annotations`).
    n_snippets : ``{key: T}`` or ``[V]`` snippets per listed video.
    max_shift : shifts up to this many frames from the current one are tried for a differing
        video, besides the ones its labels, the length difference and ``16 * (T - 1)`` suggest.
    labels : the benchmark's labels, Normal last (default UCF-Crime's): the classes the per-class
        counts are reported for, in this order (XD-Violence: :data:`cbmil.data.xd_violence.LABELS`).

    Returns
    -------
    dict (JSON-serialisable): ``expected_frames``, ``found_frames``, ``videos``,
    ``non_binary_values``, ``first_mismatch`` (the first video whose frames at its expected
    offset differ, ``{index, key, frames_differing, shift}`` or None; ``shift``: frames to add to
    the expected offset to find its labels, or None), ``shifts`` (``[{frames, shift, first, last,
    candidates, holders, videos_after}]``: ``frames`` missing (< 0) or added (> 0) at one place, ``shift``
    the running shift after it, ``first``..``last`` the expected frames (inclusive, whole-list
    numbering) that can be the missing ones, or the expected frame before which the added ones
    can be inserted (``last`` may then be ``expected_frames``), ``candidates``
    ``[{index, key, first, last, place, at_end}]`` the listed videos that range touches, in their
    own frame numbering, ``place`` one of ``start``, ``end``, ``inside``, ``all`` (of the video),
    ``at_end`` when the frames can be exactly its last ones, ``holders`` the indices of the
    candidates that lose (or gain) frames wherever the cut lies: they differ at both shifts and
    are in ``videos_differing`` (empty when the labels leave the cut between videos),
    ``videos_after`` the videos after the last candidate compared at this shift),
    ``videos_differing``
    (``[{index, key, label, frames_differing, kind}]`` of the videos whose frames differ at their
    running shift, kind in :data:`KINDS`; frames missing from a short array count as differing;
    a video that lost frames of its own to a shift is one of them, named by the shift's
    finding), ``differing_by_kind``, ``per_class`` (``{label: {videos, expected, found}}``
    anomalous frames, each video read at its running shift), ``classes_without_anomalies``,
    ``in_list_not_annotated``, ``annotated_not_in_list``, ``order_differs`` and ``order_matches``
    (``"annotations"`` or ``"sorted"``: exact equality with the GT of the listed videos in the
    annotation file's order or sorted by name, tried only when the lengths agree and the
    content does not), ``findings`` (one line each) and ``consistent`` (no findings).
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
    grid = _Grid(found, keys, records_by_key, lengths, offsets)

    first = _first_mismatch(grid, max_shift)
    differing, shifts, per_class = _compare(grid, truncated if all_truncated else None, max_shift,
                                            align=not all_truncated, labels=labels)
    order = None
    if (differing or shifts) and len(found) == offsets[-1]:
        order = _order(found, keys, records_by_key, counts)
        if order is not None and shifts:  # the order explains it: the videos at their expected offsets
            differing, shifts, per_class = _compare(grid, None, max_shift, align=False, labels=labels)
    empty = [c for c in labels[:-1] if c in per_class and per_class[c]["expected"] > 0 and per_class[c]["found"] == 0]
    not_annotated = [k for k in keys if k not in records_by_key]
    not_listed = [k for k in records_by_key if k not in listed]
    by_kind = {kind: sum(d["kind"] == kind for d in differing) for kind in KINDS}

    report = {
        "expected_frames": int(offsets[-1]), "found_frames": len(found), "videos": len(keys),
        "non_binary_values": non_binary, "first_mismatch": first, "shifts": shifts, "videos_differing": differing,
        "differing_by_kind": by_kind, "per_class": per_class, "classes_without_anomalies": empty,
        "in_list_not_annotated": not_annotated, "annotated_not_in_list": not_listed,
        "order_differs": order is not None, "order_matches": order,
    }
    report["findings"] = _findings(report, all_truncated)
    report["consistent"] = not report["findings"]
    return report


class _Grid:
    """The found labels beside the expected ones of the whole list.

    ``found`` uint8 ``[F']``; ``expected`` uint8 ``[F]`` and ``known`` bool ``[F]`` (False on the
    frames of listed videos without an annotation: they match anything); ``offsets`` int64
    ``[V + 1]``. A *reading* ``(ds, de)`` of a video's events is the exact one ``(0, 0)`` or
    one of :data:`OFF_BY_ONE`."""

    def __init__(self, found, keys, records_by_key, lengths, offsets):
        self.found, self.keys, self.records = found, keys, records_by_key
        self.lengths, self.offsets = lengths, offsets
        parts = [frame_ground_truth(records_by_key[k].intervals, int(n)) if k in records_by_key
                 else np.zeros(int(n), dtype=np.uint8) for k, n in zip(keys, lengths)]
        self.expected = np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint8)
        self.known = np.repeat(np.array([k in records_by_key for k in keys], dtype=bool), lengths)
        self._read: dict[tuple[int, int, int], np.ndarray] = {}

    def _against(self, lo: int, hi: int, shift: int, expected: np.ndarray) -> np.ndarray:
        """bool ``[hi - lo]``: ``expected`` (the labels of frames ``lo..hi-1``) not at ``found[x + shift]``."""
        out = np.ones(hi - lo, dtype=bool)
        a, b = max(lo, -shift), min(hi, len(self.found) - shift)
        if a < b:
            out[a - lo:b - lo] = self.found[a + shift:b + shift] != expected[a - lo:b - lo]
        return out

    def wrong(self, lo: int, hi: int, shift: int, readings: Mapping[int, tuple[int, int]] | None = None) -> np.ndarray:
        """bool ``[hi - lo]``: annotated expected frames ``lo..hi-1`` whose label is not at
        ``found[x + shift]``; a frame that falls outside ``found`` counts as wrong. ``readings``:
        ``{video: (ds, de)}``, those videos' labels read that way."""
        out = self._against(lo, hi, shift, self.expected[lo:hi]) & self.known[lo:hi]
        for v, reading in (readings or {}).items():
            start, end = self.video(v)
            a, z = max(start, lo), min(end, hi)
            if reading != (0, 0) and a < z:
                out[a - lo:z - lo] = self._against(a, z, shift, self.labels(v, reading)[a - start:z - start])
        return out

    def matches(self, lo: int, hi: int, shift: int) -> bool:
        return not self.wrong(lo, hi, shift).any()

    def video(self, v: int) -> tuple[int, int]:
        """Expected frames ``[start, end)`` of video v."""
        return int(self.offsets[v]), int(self.offsets[v + 1])

    def labels(self, v: int, reading: tuple[int, int]) -> np.ndarray:
        """uint8 ``[16 * T]``: annotated video v's labels under ``reading``."""
        key = (v, *reading)
        if key not in self._read:
            self._read[key] = _labels(self.records[self.keys[v]].intervals, int(self.lengths[v]), *reading)
        return self._read[key]

    def fits(self, v: int, shift: int) -> tuple[int, int] | None:
        """The reading under which annotated video v's labels are found whole at ``shift``, the
        exact one first; None if none is."""
        start, end = self.video(v)
        if self.matches(start, end, shift):
            return (0, 0)
        a, z = start + shift, end + shift
        if a < 0 or z > len(self.found):
            return None
        piece = self.found[a:z]
        return next((r for r in OFF_BY_ONE if np.array_equal(piece, self.labels(v, r))), None)


def _first_mismatch(grid: _Grid, max_shift: int) -> dict | None:
    """The first annotated video whose frames at its expected offset differ, with the shift that
    finds its labels (None if none does)."""
    length_diff = len(grid.found) - int(grid.offsets[-1])
    for v, key in enumerate(grid.keys):
        if key not in grid.records:
            continue
        start, end = grid.video(v)
        diff = int(grid.wrong(start, end, 0).sum())
        if diff:
            expected = grid.expected[start:end]
            candidates = _shift_candidates(grid.found, expected, start, v, length_diff, max_shift)
            return {"index": v, "key": key, "frames_differing": diff,
                    "shift": _best_shift(grid.found, expected, start, candidates)}
    return None


def _cut(grid: _Grid, floor: int, end: int, before: int, after: int, skip: Sequence[tuple[int, int]] = (),
         readings: Mapping[int, tuple[int, int]] | None = None) -> tuple[int, int] | None:
    """Where one cut can turn shift ``before`` into ``after`` over expected frames ``floor..end-1``
    (less the ``[lo, hi)`` ranges of ``skip``: videos with defects of their own; ``readings``:
    videos read off by one, see :meth:`_Grid.wrong`): ``(lo, hi)``, the range of cut positions c,
    or None when no single cut explains them.

    Frames missing (``after < before``, k = before - after): expected frames ``c..c+k-1`` are not
    in the array, the ones before found at ``before``, the ones from ``c + k`` at ``after``.
    Frames added (k = after - before): k frames stand before expected frame c."""
    k = abs(after - before)
    wrong_before, wrong_after = grid.wrong(floor, end, before, readings), grid.wrong(floor, end, after, readings)
    for a, z in skip:
        wrong_before[a - floor:z - floor] = wrong_after[a - floor:z - floor] = False
    wrong_before, wrong_after = np.flatnonzero(wrong_before), np.flatnonzero(wrong_after)
    p = floor + int(wrong_before[0]) if len(wrong_before) else end  # c <= p
    b = floor + int(wrong_after[-1]) if len(wrong_after) else floor - 1  # every frame after b at `after`
    if after < before:
        lo, hi = max(floor, b - k + 1), min(p, end - k)
    else:
        lo, hi = max(floor, b + 1), min(p, end)
    return (lo, hi) if lo <= hi else None


def _shift_record(grid: _Grid, before: int, after: int, cut: tuple[int, int]) -> dict:
    """One entry of the report's ``shifts`` for a cut range ``(lo, hi)`` (see :func:`_cut`)."""
    lo, hi = cut
    k = abs(after - before)
    missing = after < before
    first, last = (lo, hi + k - 1) if missing else (lo, hi)
    candidates = []
    for v, key in enumerate(grid.keys):
        start, end = grid.video(v)
        touches = start <= last and (end > first if missing else end >= first)
        if touches:
            a = max(first, start) - start
            z = (min(last, end - 1) if missing else min(last, end)) - start
            tail = end - k if missing else end  # the cut that takes exactly its last frames
            reaches_end = z == (end - start - 1 if missing else end - start)
            place = {(True, True): "all", (True, False): "start", (False, True): "end"}.get((a == 0, reaches_end),
                                                                                             "inside")
            candidates.append({"index": v, "key": key, "first": int(a), "last": int(z), "place": place,
                               "at_end": bool(lo <= tail <= hi)})
    return {"frames": int(after - before), "shift": int(after), "first": int(first), "last": int(last),
            "candidates": candidates, "holders": [], "videos_after": 0}


def _held(entry: dict, v: int) -> str:
    """Video v holds some of the frames of shift ``entry``: note it there, and say its kind."""
    entry["holders"].append(v)
    at_end = any(c["index"] == v and c["at_end"] for c in entry["candidates"])
    return "truncated_16" if at_end and entry["frames"] == -FRAMES_PER_SNIPPET else "other"


def _compare(grid: _Grid, truncated, max_shift: int, align: bool,
             labels: Sequence[str] = LABELS) -> tuple[list, list, dict]:
    """The videos that differ at their running shift, the shifts (see :func:`audit`), and the
    per-class anomalous frame counts. ``truncated``: the ``[V + 1]`` offsets of ``16 * (T - 1)``
    frames per video when the array's length says it uses them, else None. ``align=False``
    keeps every video at its expected offset."""
    found, keys, records = grid.found, grid.keys, grid.records
    length_diff = len(found) - int(grid.offsets[-1])
    shift, floor = 0, 0
    differing, shifts, per_class = [], [], {}
    for v, key in enumerate(keys):
        record = records.get(key)
        if record is None:
            continue
        start, end = grid.video(v)
        n = end - start
        wrong = grid.wrong(start, end, shift)
        read_at, kind = shift, None  # the shift its frames are read at, which defect
        last = shifts[-1] if shifts else None
        if wrong.any() and last is not None and last["first"] <= start <= last["last"] and not (
                np.flatnonzero(wrong) + start > last["last"]).any():
            kind = _held(last, v)  # the previous cut also took (or put) frames of this video
        elif wrong.any():
            kind = (_kind(found, record, n, start + shift, int(truncated[v]) if truncated is not None else None)
                    if start + shift >= 0 else "other")
            if align:  # an off-by-one reading moves no video: a shift only for the length still unexplained
                only = length_diff if kind == "off_by_one" else None
                cut, after, own = _resync(grid, v, shift, floor, length_diff, max_shift, only)
                if cut is not None:
                    entry = _shift_record(grid, shift, after, cut)
                    shifts.append(entry)
                    shift, floor = after, entry["last"] + 1
                    reading = grid.fits(v, shift)
                    if reading is not None:  # found whole at the new shift (read off by one: its own defect)
                        read_at, kind = shift, None if reading == (0, 0) else "off_by_one"
                        wrong = grid.wrong(start, end, shift)
                    elif own == (0, 0) or grid.fits(v, read_at) is None:  # its own frames are missing or added
                        kind = _held(entry, v)
                    # else: read off by one and whole at the old shift, the cut after its frames
        row = per_class.setdefault(record.label, {"videos": 0, "expected": 0, "found": 0})
        row["videos"] += 1
        row["expected"] += int(grid.expected[start:end].sum())
        row["found"] += int(found[max(start + read_at, 0):max(end + read_at, 0)].sum())
        if kind is not None:
            differing.append({"index": v, "key": key, "label": record.label,
                              "frames_differing": int(wrong.sum()), "kind": kind})
            floor = max(floor, end)
    for i, record_ in enumerate(shifts):
        after = shifts[i + 1]["candidates"][0]["index"] if i + 1 < len(shifts) else len(keys)
        record_["videos_after"] = max(0, after - record_["candidates"][-1]["index"] - 1)
    per_class = {label: per_class[label] for label in labels if label in per_class}
    return differing, shifts, per_class


#: Videos after a shift's cut with defects of their own (found at neither shift, under any
#: reading) passed over while looking for one that confirms the new shift.
MAX_PASSED = 2


def _confirm(grid: _Grid, v: int, shift: int, after: int, length_diff: int, lost_until: int, strict: bool):
    """Whether the videos after v back the new shift ``after``: ``(end, passed, readings)``, the
    end of the first annotated video found at ``after`` and not at ``shift`` (or of the list,
    when the array's end lines up with ``after``), the ``[lo, hi)`` frames of the videos passed
    over because they are found at neither, and ``{video: reading}`` of the videos found at
    ``after`` only when read off by one. None when a video is found at ``shift`` and not at
    ``after``, or more than :data:`MAX_PASSED` (``strict``: any) are found at neither. Videos
    found at both say nothing, nor do the ones that start before expected frame ``lost_until``
    (the cut may have taken them; their reading at ``after`` is noted all the same)."""
    passed, readings = [], {}
    for u in range(v + 1, len(grid.keys)):
        start, end = grid.video(u)
        if grid.keys[u] not in grid.records:
            continue
        at_after = grid.fits(u, after)
        if at_after not in (None, (0, 0)):
            readings[u] = at_after  # how to read it in the cut check, in the lost zone too
        if start < lost_until:
            continue
        at_shift = grid.fits(u, shift)
        if at_after is not None and at_shift is None:
            return end, passed, readings
        if at_shift is not None and at_after is None:
            return None
        if at_after is None:
            passed.append((start, end))
            if strict or len(passed) > MAX_PASSED:
                return None
    return (int(grid.offsets[-1]), passed, readings) if after == length_diff else None


def _resync(grid: _Grid, v: int, shift: int, floor: int, length_diff: int, max_shift: int,
            only: int | None = None) -> tuple[tuple[int, int] | None, int, tuple[int, int]]:
    """For video v, which differs at ``shift``: the cut range (see :func:`_cut`), the new shift
    and the reading of v's labels under which one cut explains the frames from ``floor`` on;
    ``(None, shift, (0, 0))`` when none does.

    A new shift is accepted when the videos after v back it (:func:`_confirm`) and one cut
    explains every frame from ``floor`` to the end of the video that backs it (v itself found
    whole at the new shift, or holding the cut, or sharing it with its neighbours; a video read
    off by one is compared under that reading). Tried: the shifts at which v, or the next
    annotated video with an event, is found under some reading; first the one that explains the
    whole remaining length difference, then the nearest; never one further than that
    difference plus ``max_shift`` (that would need another shift back). ``only``: try that
    shift alone, and pass over no video with a defect of its own (v, read off by one, has one
    already)."""
    start, end = grid.video(v)
    floor = min(floor, start)  # a previous cut's range may reach past v's start
    first_wrong = start + int(np.argmax(grid.wrong(start, end, shift)))  # the cut is not later than this frame
    later = next((u for u in range(v + 1, len(grid.keys)) if grid.keys[u] in grid.records
                  and grid.expected[slice(*grid.video(u))].any()), None)  # the next video with an event
    if only is not None:
        tries = [only] if only != shift else []
    else:
        reach = abs(length_diff - shift) + max_shift
        candidates = set(range(shift - max_shift, shift + max_shift + 1))
        for u in (v, later):
            if u is not None:
                u_start, u_end = grid.video(u)
                expected = grid.expected[u_start:u_end]
                candidates |= _shift_candidates(grid.found, expected, u_start, u, length_diff, max_shift)
        tries = sorted((s for s in candidates if s != shift and abs(s - shift) <= reach),
                       key=lambda s: (s != length_diff, abs(s - shift), s))
    for after in tries:
        if after != length_diff and not any(u is not None and grid.fits(u, after) is not None for u in (v, later)):
            continue  # neither v nor the next video with an event is there: no evidence for it
        backing = _confirm(grid, v, shift, after, length_diff, first_wrong + max(shift - after, 0), only is not None)
        if backing is None:
            continue
        stop, passed, readings = backing
        own = grid.fits(v, after) or grid.fits(v, shift)  # v's reading; any, if it holds the cut
        for reading in [own] if own is not None else [(0, 0), *OFF_BY_ONE]:
            readings[v] = reading  # found under one reading, v is read so (like the videos around it)
            for skip in ([], passed) if passed else ([],):  # the passed videos may share the cut: first
                cut = _cut(grid, floor, stop, shift, after, skip, readings)
                if cut is not None:
                    return cut, after, reading
    return None, shift, (0, 0)


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


def _where(candidate: dict, missing: bool) -> str:
    """``the end of X (its frames a-b)`` and the like, for one candidate of a shift."""
    a, z, key, place = candidate["first"], candidate["last"], candidate["key"], candidate["place"]
    where = {"start": "at the start of ", "end": "at the end of "}.get(place, "in ")
    if missing:
        span = f"its frames {a:,}-{z:,}"
    elif place in ("end", "all"):  # z is the position after its last frame
        span = "after its last frame" if a == z else f"before its frame {a:,}-{z - 1:,} or after its last"
    else:
        span = f"before its frame {a:,}-{z:,}"
    return f"{where}{key} ({span})"


def _shift_finding(record: dict) -> str:
    k, missing = abs(record["frames"]), record["frames"] < 0
    where = [_where(c, missing) for c in record["candidates"]]
    text = f"shift: {k:,} frame{'s' * (k != 1)} {'missing' if missing else 'added'}"
    holders = [c["key"] for c in record["candidates"] if c["index"] in record["holders"]]
    if len(where) == 1:
        text += f", {where[0]}"
    elif len(holders) == len(where):  # every placement takes frames of each of them
        text += f", across {' and '.join(w.removeprefix('at ').removeprefix('in ') for w in where)}"
    else:
        text += f", {' or '.join(where)}; the labels cannot tell which"
        if holders:
            text += f" ({' and '.join(holders)} in any case)"
    n = record["videos_after"]
    if n:
        text += (f"; the {n} later video{'s' * (n != 1)} {'are' if n != 1 else 'is'} found {k:,} frames "
                 f"{'early' if missing else 'late'}")
    return text


def _findings(report: dict, all_truncated: bool) -> list[str]:
    """One line per problem the audit found (empty when the array is consistent)."""
    out = []
    exp, got = report["expected_frames"], report["found_frames"]
    shifts = report["shifts"]
    if exp != got:
        why = "; every video counted as 16 * (T - 1) frames" if all_truncated else ""
        if shifts and sum(s["frames"] for s in shifts) == got - exp:
            why = f"; the shift{'s' * (len(shifts) > 1)} below account{'s' * (len(shifts) == 1)} for it"
        out.append(f"length: {got:,} frames, expected {exp:,} ({got - exp:+,}){why}")
    if report["non_binary_values"]:
        out.append(f"values: {report['non_binary_values']:,} are neither 0 nor 1")
    if report["order_differs"]:
        which = "the annotation file's" if report["order_matches"] == "annotations" else "sorted (by name)"
        out.append(f"order: the array follows the videos in {which} order, not the list's")
    if len(shifts) <= MAX_SHIFT_LINES:
        out += [_shift_finding(s) for s in shifts]
    else:  # many places: not one defect each, but one line per place would drown the others
        out += [_shift_finding(s) for s in shifts[:MAX_SHIFT_LINES - 1]]
        rest = shifts[MAX_SHIFT_LINES - 1:]
        out.append(f"shift: {len(rest)} more places where frames are missing or added "
                   f"({sum(s['frames'] for s in rest):+,} frames in all), from {rest[0]['candidates'][0]['key']} "
                   f"to {rest[-1]['candidates'][-1]['key']}; the report's shifts (--json) list each")
    named = {v for s in shifts for v in s["holders"]}
    rest = [d for d in report["videos_differing"] if d["index"] not in named]  # a holder is in its shift's line
    if rest:
        kinds = ", ".join(f"{k} {n}" for k in KINDS if (n := sum(d["kind"] == k for d in rest)))
        keys = [d["key"] for d in rest]
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
        held = [s for s in report.get("shifts", ()) if any(c["index"] == first["index"] for c in s["candidates"])]
        if held:  # the first video to show a shift need not be the one that lost or gained the frames
            shift += f"; the frames can lie in {' or '.join(c['key'] for c in held[0]['candidates'])} (shift below)"
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


def audit_file(gt: str | Path, list_path: str | Path, annotations_dir: str | Path, features_dir=None,
               snippets_file=None) -> dict:
    """:func:`audit` of the ``.npy`` file ``gt`` against the annotations, in the order of the
    ``.list`` file ``list_path``; snippet counts from ``features_dir`` or ``snippets_file``
    (what ``cbmil data audit`` prints)."""
    keys = read_list(list_path)
    return audit(load_gt(gt), keys, read_annotations(annotations_dir), snippet_counts(keys, features_dir, snippets_file))


def export_gt(list_path: str | Path, annotations_dir: str | Path, out: str | Path, features_dir=None,
              snippets_file=None, dtype: str = "float32") -> ListLayout:
    """Write the expected frame ground truth of the ``.list`` file's videos, in its order, to the
    ``.npy`` file ``out`` as ``dtype`` (:data:`DTYPES`; float32 like the public arrays); returns the
    :class:`ListLayout` it was built from."""
    if dtype not in DTYPES:
        raise ValueError(f"dtype {dtype!r}; expected one of {', '.join(DTYPES)}")
    layout = list_layout(list_path, annotations_dir, features_dir, snippets_file)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as fh:  # np.save(path) would append .npy to any other name
        np.save(fh, layout.frame_labels.astype(dtype))
    return layout
