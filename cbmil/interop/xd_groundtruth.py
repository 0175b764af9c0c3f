"""XD-Violence's frame ground truth in a feature list's order, and an audit of someone else's.

The public code evaluates XD-Violence against one frame array (``gt.npy``): the test videos of
``rgb_test.list`` back to back in list order (one entry per video: its ``__0`` line), each video's
frames 0 outside and 1 inside the intervals of its line in ``annotations.txt``, an interval
``(s, e)`` marking frames ``s .. e - 1`` (END-EXCLUSIVE: ``gt[s:e] = 1``,
:func:`cbmil.data.xd_violence.frame_ground_truth`). Two public builders disagree on a video's
length (:data:`CONVENTIONS`, :func:`cbmil.data.xd_violence.gt_length`):

* ``"snippets"``: ``16 * T`` frames, T the snippets of the video's feature file (VadCLIP's
  ``list/make_gt_xd.py``);
* ``"decoded"``: the frame count OpenCV decodes from the video less one, trimmed to whole 16-frame
  snippets (XDVioDet's ``list/make_gt.py``); needs a ``name nframes`` file.

:func:`export_xd_gt` writes the array under either convention; :func:`audit_xd` recognises an array
made by either builder as that builder's (consistent, the convention named) and otherwise reports
what is wrong with it, by the machinery of :func:`cbmil.interop.groundtruth.audit` (wrong length,
frames missing or added at one place, intervals shifted, read off by one, missing, classes without
violence, another order): an end-exclusive ``(s, e)`` is the inclusive ``(s, e - 1)`` it reads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cbmil.data import xd_violence as xd
from cbmil.data.dataset import offsets_from_lengths
from cbmil.data.prepare_xd import annotate, annotations_path, crop_paths, index_crop_files, npy_shape
from cbmil.data.ucf_crime import VideoRecord
from cbmil.interop import groundtruth as gt

CONVENTIONS = xd.GT_CONVENTIONS
#: Which public builder writes each convention, and how long it makes a video.
BUILDERS = {
    "snippets": "VadCLIP's list/make_gt_xd.py: 16 * T frames per video, T the snippets of its feature file",
    "decoded": "XDVioDet's list/make_gt.py: the video's decoded frame count less one, trimmed to whole "
               "16-frame snippets",
}
DTYPES = gt.DTYPES


# ----------------------------------------------------------------------------- inputs

def read_list(path: str | Path) -> list[xd.XDVideo]:
    """The videos of an XD-Violence feature list, in list order (:func:`cbmil.data.xd_violence.parse_list`:
    five crop lines per video)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"video list {path} does not exist (or is not a file)")
    return xd.parse_list(path)


def read_counts(path: str | Path, what: str = "snippet-count") -> dict[str, int]:
    """``{key: N}`` from a text file of ``name N`` lines (``name`` any path or spelling
    :func:`cbmil.data.xd_violence.video_key` reads, ``.mp4`` or crop suffix included; N >= 1).
    ``what`` names the file in errors (``"snippet-count"``, ``"frame-count"``); a bad line or a
    video given twice raises ``ValueError`` naming the file and the line."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} file {path} does not exist (or is not a file)")
    counts: dict[str, int] = {}
    lines: dict[str, int] = {}
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            fields = line.strip().rsplit(None, 1)
            if len(fields) != 2 or not fields[1].isdigit() or int(fields[1]) < 1:
                raise ValueError(f"{path}, line {lineno}: {line.strip()!r}: expected 'name N' with N >= 1 "
                                 f"({what.replace('-', ' ')})")
            key = xd.video_key(fields[0])
            if key in counts:
                raise ValueError(f"{path}, line {lineno}: video {key} already has a count on line {lines[key]}; "
                                 "expected each video once")
            counts[key], lines[key] = int(fields[1]), lineno
    return counts


def _pick(keys: Sequence[str], counts: Mapping[str, int], source) -> np.ndarray:
    missing = [k for k in keys if k not in counts]
    if missing:
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise ValueError(f"{source}: no count for listed video(s) {', '.join(missing[:5])}{more}")
    return np.array([counts[k] for k in keys], dtype=np.int64)


def snippet_counts(videos: Sequence[xd.XDVideo], features_dir=None, snippets_file=None) -> np.ndarray:
    """int64 ``[V]`` snippets per video, from exactly one of a feature folder (the header of each
    video's ``__0`` file, found by name anywhere below it, as the public builders read it) or a
    ``name T`` file."""
    if (features_dir is None) == (snippets_file is None):
        raise ValueError("give exactly one of a feature folder or a snippet-count file")
    if snippets_file is not None:
        return _pick([v.key for v in videos], read_counts(snippets_file), snippets_file)
    paths = crop_paths(videos, index_crop_files(features_dir), features_dir, crops=(0,))
    counts = []
    for (path,) in paths:
        shape = npy_shape(path)
        if len(shape) != 2 or shape[0] < 1:
            raise ValueError(f"{path}: array of shape {shape}; expected [T, D] with T >= 1")
        counts.append(shape[0])
    return np.array(counts, dtype=np.int64)


def gt_lengths(n_snippets, convention: str = "snippets", decoded_frames=None) -> np.ndarray:
    """int64 ``[V]`` ground-truth frames per video under ``convention``
    (:func:`cbmil.data.xd_violence.gt_length`); ``decoded_frames`` ``[V]`` for ``"decoded"``."""
    n_snippets = np.asarray(n_snippets, dtype=np.int64)
    if convention == "decoded":
        if decoded_frames is None:
            raise ValueError("convention 'decoded' (XDVioDet's make_gt.py) needs the decoded frame count of every "
                             "video: pass a 'name nframes' file")
        return np.array([xd.gt_length(t, "decoded", n) for t, n in zip(n_snippets, decoded_frames)], dtype=np.int64)
    return np.array([xd.gt_length(t, convention) for t in n_snippets], dtype=np.int64)


# ----------------------------------------------------------------------------- expected GT

@dataclass(frozen=True)
class XDListLayout:
    """The test videos of a list, in its order, under one ground-truth convention.

    Attributes
    ----------
    videos : ``[V]`` :class:`cbmil.data.xd_violence.XDVideo`, intervals attached.
    keys : ``[V]`` their keys.
    convention : ``"snippets"`` or ``"decoded"``.
    n_snippets : int64 ``[V]`` snippets per video.
    n_frames : int64 ``[V]`` ground-truth frames per video under ``convention``.
    frame_labels : uint8 ``[F]`` frame ground truth, ``F = sum(n_frames)``.
    frame_offsets, snippet_offsets : int64 ``[V + 1]``.
    video_classes : int64 ``[V]`` first label's index in :data:`cbmil.data.xd_violence.LABELS` (6 = Normal).
    class_sets : bool ``[V, 6]`` every class of each video.
    """

    videos: list
    keys: list
    convention: str
    n_snippets: np.ndarray
    n_frames: np.ndarray
    frame_labels: np.ndarray
    frame_offsets: np.ndarray
    snippet_offsets: np.ndarray
    video_classes: np.ndarray
    class_sets: np.ndarray


def expected_xd_gt(videos: Sequence[xd.XDVideo], n_frames) -> np.ndarray:
    """uint8 ``[sum n_frames]``: each video's intervals (end-exclusive) over its ``n_frames`` frames,
    back to back."""
    parts = [xd.frame_ground_truth(v.intervals, int(n)) for v, n in zip(videos, n_frames)]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint8)


def xd_list_layout(list_path, annotations=None, features_dir=None, snippets_file=None,
                   convention: str = "snippets", frame_counts=None) -> XDListLayout:
    """The :class:`XDListLayout` of ``list_path``'s videos: intervals from ``annotations``
    (``annotations.txt`` or its folder; default the shipped copy; every violent listed video needs a
    line, every line a listed video), snippets from ``features_dir`` or ``snippets_file``, decoded
    frame counts from ``frame_counts`` (``name nframes``; convention ``"decoded"`` only)."""
    if convention not in CONVENTIONS:
        raise ValueError(f"convention {convention!r}; expected one of {', '.join(CONVENTIONS)}")
    if frame_counts is not None and convention != "decoded":
        raise ValueError("frame counts are read only by convention 'decoded' (XDVioDet's make_gt.py)")
    path = annotations_path(annotations)
    videos = annotate(read_list(list_path), xd.parse_annotations(path), str(path))
    keys = [v.key for v in videos]
    counts = snippet_counts(videos, features_dir, snippets_file)
    decoded = None if frame_counts is None else _pick(keys, read_counts(frame_counts, "frame-count"), frame_counts)
    n_frames = gt_lengths(counts, convention, decoded)
    return XDListLayout(videos=videos, keys=keys, convention=convention, n_snippets=counts, n_frames=n_frames,
                        frame_labels=expected_xd_gt(videos, n_frames), frame_offsets=offsets_from_lengths(n_frames),
                        snippet_offsets=offsets_from_lengths(counts), video_classes=xd.first_classes(videos),
                        class_sets=xd.class_sets(videos))


def export_xd_gt(list_path, out, annotations=None, features_dir=None, snippets_file=None,
                 convention: str = "snippets", frame_counts=None, dtype: str = "float32") -> XDListLayout:
    """Write the frame ground truth of ``list_path``'s videos, in its order, to the ``.npy`` file
    ``out`` as ``dtype`` (float32 like the public arrays); the arguments as :func:`xd_list_layout`.
    Returns the layout it was built from."""
    if dtype not in DTYPES:
        raise ValueError(f"dtype {dtype!r}; expected one of {', '.join(DTYPES)}")
    layout = xd_list_layout(list_path, annotations, features_dir, snippets_file, convention, frame_counts)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as fh:  # np.save(path) would append .npy to any other name
        np.save(fh, layout.frame_labels.astype(dtype))
    return layout


# ----------------------------------------------------------------------------- audit

def _records(videos: Sequence[xd.XDVideo], intervals: Mapping[str, tuple]) -> dict[str, VideoRecord]:
    """``{key: VideoRecord}`` for :func:`cbmil.interop.groundtruth.audit`: the annotated videos in
    file order, then the listed normal ones; ``(s, e)`` end-exclusive as the inclusive ``(s, e - 1)``.
    A violent listed video without a line is left out (the audit names it)."""
    records = {key: VideoRecord(key, xd.labels_of(key)[0], tuple((s, e - 1) for s, e in spans))
               for key, spans in intervals.items()}
    for video in videos:
        if not video.is_anomalous and video.key not in records:
            records[video.key] = VideoRecord(video.key, xd.NORMAL, ())
    return records


def audit_xd(gt_array, videos: Sequence[xd.XDVideo], intervals: Mapping[str, tuple], n_snippets,
             decoded_frames=None, max_shift: int = gt.MAX_SHIFT) -> dict:
    """Audit a public XD-Violence frame ground truth against the annotations, in ``videos``' order.

    Each convention that can be computed is tried (``"snippets"`` always, ``"decoded"`` when
    ``decoded_frames`` is given), the one whose total length is the array's first: an array equal
    to a builder's is reported consistent, with ``convention`` naming it (``same_lengths`` when the
    two agree on every video). Otherwise the report is :func:`cbmil.interop.groundtruth.audit`'s
    against the convention whose total length matches the array (else the nearest; ``snippets`` on
    a tie), its findings naming the first video at fault.

    Parameters
    ----------
    gt_array : ``[F]`` 0/1 per frame (values > 0.5 count as violent).
    videos : listed videos in list order (:func:`read_list`).
    intervals : ``{key: ((s, e), ...)}`` end-exclusive, in file order (:func:`cbmil.data.xd_violence.parse_annotations`).
    n_snippets : int ``[V]`` snippets per listed video.
    decoded_frames : int ``[V]`` decoded frame counts, or None.

    Returns
    -------
    :func:`cbmil.interop.groundtruth.audit`'s dict (class names XD-Violence's) plus ``convention``,
    ``builder`` (:data:`BUILDERS`), ``conventions`` (``{convention: {expected_frames, consistent}}``,
    consistent None when not compared: another of the same length was consistent), ``same_lengths``
    (the two conventions give every video the same length) and ``hint`` (a line, or None).
    """
    keys = [v.key for v in videos]
    records = _records(videos, intervals)
    lengths = {"snippets": gt_lengths(n_snippets)}
    if decoded_frames is not None:
        lengths["decoded"] = gt_lengths(n_snippets, "decoded", decoded_frames)
        empty = np.flatnonzero(lengths["decoded"] < 1)
        if len(empty):
            raise ValueError(f"video {keys[empty[0]]}: {decoded_frames[empty[0]]} decoded frames leave no frame of "
                             "ground truth under XDVioDet's make_gt.py; expected at least 17")
    same = len(lengths) == 2 and np.array_equal(lengths["snippets"], lengths["decoded"])
    if same:
        del lengths["decoded"]
    found = int(np.asarray(gt_array).size)
    # the convention of the array's length first (else the nearest; snippets on a tie); another is
    # compared only if its length is the array's too: with any other it cannot be consistent
    order = sorted(lengths, key=lambda c: (abs(int(lengths[c].sum()) - found), c != "snippets"))
    reports = {}
    for convention in order:
        n_frames = lengths[convention]
        if reports and int(n_frames.sum()) != found:
            break
        # both conventions make whole snippets: n_frames // 16 "snippets" give groundtruth.audit its lengths
        report = gt.audit(gt_array, keys, records, n_frames // xd.FRAMES_PER_SNIPPET, max_shift, labels=xd.LABELS)
        reports[convention] = report
        if report["consistent"]:
            break
    chosen = next((c for c, r in reports.items() if r["consistent"]), order[0])
    report = reports[chosen]
    hint = None
    if not report["consistent"] and decoded_frames is None and report["expected_frames"] != found:
        hint = ("if the array was built by XDVioDet's make_gt.py (decoded frame counts), pass the videos' "
                "frame counts ('name nframes' per line) to compare under that convention")
    tried = {c: {"expected_frames": int(lengths[c].sum()),
                 "consistent": reports[c]["consistent"] if c in reports else (None if int(lengths[c].sum()) == found
                                                                            else False)}
             for c in order}
    report |= {"convention": chosen, "builder": BUILDERS[chosen], "same_lengths": same, "hint": hint,
               "conventions": tried}
    return report


def audit_xd_file(gt_path, list_path, annotations=None, features_dir=None, snippets_file=None,
                  frame_counts=None) -> dict:
    """:func:`audit_xd` of the ``.npy`` file ``gt_path`` in the order of ``list_path`` (what
    ``cbmil data audit --dataset xd`` prints): annotations as :func:`xd_list_layout` (but lines of
    unlisted videos, and listed violent videos without a line, are findings, not errors), snippets
    from ``features_dir`` or ``snippets_file``, decoded frame counts from ``frame_counts`` if given."""
    videos = read_list(list_path)
    intervals = xd.parse_annotations(annotations_path(annotations))
    counts = snippet_counts(videos, features_dir, snippets_file)
    decoded = None
    if frame_counts is not None:
        decoded = _pick([v.key for v in videos], read_counts(frame_counts, "frame-count"), frame_counts)
    return audit_xd(gt.load_gt(gt_path), videos, intervals, counts, decoded)


def format_xd_report(report: dict, gt_name: str = "ground truth", list_name: str = "the list") -> str:
    """:func:`cbmil.interop.groundtruth.format_report` with the convention: which builder's array it
    is (consistent) or was compared with."""
    lines = gt.format_report(report, gt_name, list_name).splitlines()
    conv = report["convention"]
    lines[0] = (f"{gt_name}: {report['found_frames']:,} frames; expected {report['expected_frames']:,} under "
                f"convention '{conv}' ({report['videos']} videos of {list_name})")
    if report["consistent"]:
        both = "; the two conventions give these videos the same lengths" if report["same_lengths"] else ""
        lines.insert(1, f"convention: '{conv}', the array of {BUILDERS[conv]}{both}")
    else:
        tried = ", ".join(f"'{c}' {r['expected_frames']:,} frames" for c, r in report["conventions"].items())
        lines.insert(1, f"convention: matches no public builder; compared with '{conv}' ({BUILDERS[conv]}); "
                        f"tried {tried}")
    if report.get("hint"):
        lines.insert(-1, f"hint: {report['hint']}")
    return "\n".join(lines)
