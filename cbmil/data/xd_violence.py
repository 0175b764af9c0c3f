"""XD-Violence facts and parsers for its public feature lists and test annotations.

One source of truth for the six violent classes, their per-class video counts, the labels written
into the video names, and the readers of the four public text files shipped in
``cbmil/data/official/xd_violence/`` (their sources and terms: the ``README.md`` there):

* ``rgb.list`` / ``rgb_test.list``: the I3D RGB feature lists (3,954 training / 800 test videos,
  five crops ``__0``..``__4`` each), from the XDVioDet repository of Wu et al., "Not only Look, but
  also Listen: Learning Multimodal Violence Detection under Weak Supervision", ECCV 2020;
* ``annotations.txt`` / ``annotations_multiclasses.txt``: the frame intervals of the 500 violent
  test videos (the second file adds the class of each interval), from the VadCLIP repository of
  Wu et al., AAAI 2024 (Apache-2.0).

Source of the counts: those two lists, counted video by video (:data:`TRAIN_COUNTS`,
:data:`TEST_COUNTS` by a video's first label; :data:`TRAIN_COUNTS_ANY`, :data:`TEST_COUNTS_ANY` by
any of its labels); the tests recount them from the shipped files.

A video's classes are written in its name, ``..._label_B2-G-B6`` (up to three codes, the first
one the main class, padded with ``0``: ``_label_B1-0-0``; normal videos ``_label_A``). Two training
names carry a single code without padding (``_label_B1``, ``_label_G``); both spellings are read.

Frame intervals are END-EXCLUSIVE here: an interval ``(s, e)`` covers frames ``s .. e - 1``,
which is how both public ground-truth builders read the annotation file (see
:func:`frame_ground_truth`). The kit's UCF-Crime reading is inclusive at both ends
(:func:`cbmil.data.frames.frame_ground_truth`), as that dataset's official file is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: The six violent classes, in the order of their codes B1 B2 B4 B5 B6 G.
CLASSES: tuple[str, ...] = ("Fighting", "Shooting", "Riot", "Abuse", "CarAccident", "Explosion")
#: Label of normal videos (code ``A``); its class index is ``NORMAL_INDEX`` (after the six classes).
NORMAL = "Normal"
NORMAL_INDEX = len(CLASSES)
#: Every label a video can carry, indexed by class index.
LABELS: tuple[str, ...] = CLASSES + (NORMAL,)
#: The codes written in the video names (``_label_B2-G-0``) and the label each stands for.
CODES: dict[str, str] = {
    "A": NORMAL, "B1": "Fighting", "B2": "Shooting", "B4": "Riot", "B5": "Abuse", "B6": "CarAccident",
    "G": "Explosion",
}
_VIOLENT_CODES = tuple(code for code in CODES if code != "A")
_CODE_OF = {label: code for code, label in CODES.items()}

#: Training videos per FIRST label (``rgb.list``): 1,905 violent + 2,049 normal = 3,954.
TRAIN_COUNTS: dict[str, int] = {
    "Fighting": 445, "Shooting": 336, "Riot": 381, "Abuse": 36, "CarAccident": 393, "Explosion": 314,
    NORMAL: 2049,
}
#: Test videos per FIRST label (``rgb_test.list``): 500 violent + 300 normal = 800.
TEST_COUNTS: dict[str, int] = {
    "Fighting": 120, "Shooting": 84, "Riot": 101, "Abuse": 8, "CarAccident": 96, "Explosion": 91,
    NORMAL: 300,
}
#: Training videos per label, counting a multi-label video once for each of its classes
#: (243 training videos carry more than one class).
TRAIN_COUNTS_ANY: dict[str, int] = {
    "Fighting": 481, "Shooting": 442, "Riot": 384, "Abuse": 50, "CarAccident": 444, "Explosion": 382,
    NORMAL: 2049,
}
#: Test videos per label, counting a multi-label video once for each of its classes
#: (47 test videos carry more than one class).
TEST_COUNTS_ANY: dict[str, int] = {
    "Fighting": 126, "Shooting": 104, "Riot": 101, "Abuse": 11, "CarAccident": 106, "Explosion": 103,
    NORMAL: 300,
}
#: Frames per snippet of the I3D feature extractor; crops per video in the feature lists.
FRAMES_PER_SNIPPET = 16
N_CROPS = 5
#: The public file names.
TRAIN_LIST = "rgb.list"
TEST_LIST = "rgb_test.list"
ANNOTATIONS = "annotations.txt"
ANNOTATIONS_MULTICLASS = "annotations_multiclasses.txt"
#: The four public files, shipped with the package: the real facts on any clone.
LIST_DIR = Path(__file__).resolve().parent / "official" / "xd_violence"

#: The test videos on which the two annotation files do not tell the same story, and what differs.
#: On 28 videos the multiclass file lists other intervals than ``annotations.txt``: it re-cuts an
#: interval where the class changes (as ``(s, m) (m, e)`` or as ``(s, m) (m + 1, e)``), lists
#: overlapping intervals of two classes, or changes their order; on all of them but the first one
#: below it still marks the same frames (the check of :func:`test_videos`). The second one lists the
#: same interval with a class its name does not carry. ``annotations.txt``, the file both public
#: ground-truth builders read, is kept as the truth.
KNOWN_DISAGREEMENTS: dict[str, str] = {
    "v=38GQ9L2meyE__#1_label_B6-0-0":
        "annotations_multiclasses.txt adds a B6 interval 4511-4650 that annotations.txt lacks",
    "Ip.Man.2008__#01-40-37_01-42-07_label_B4-0-0":
        "its one interval (105-1482) is class B1 in annotations_multiclasses.txt, a class its name does not carry",
}

_EXPECTED_LABEL = ("a name ending in '_label_A' (normal) or in '_label_' and one to three class codes "
                   f"from {' '.join(_VIOLENT_CODES)} joined by '-', padded with 0 at the end "
                   "(e.g. '_label_B2-G-0', '_label_B1-0-0')")


def class_index(name: str) -> int:
    """Index of a label in :data:`LABELS` (``Normal`` -> 6); ``ValueError`` if unknown."""
    try:
        return LABELS.index(name)
    except ValueError:
        raise ValueError(f"unknown XD-Violence class {name!r}; expected one of {', '.join(LABELS)}") from None


# ----------------------------------------------------------------------------- names and labels

_CROP_RE = re.compile(r"__[0-4]$")
_LABEL_RE = re.compile(r"_label_([^_]*)$")


def _basename(text: str) -> str:
    return re.split(r"[\\/]", text)[-1]


def video_key(name: str | Path) -> str:
    """The canonical key of the video a path, file name or annotation name names: the name without
    folders (``/`` or ``\\``), without ``.npy`` / ``.mp4`` and without the crop suffix ``__0``..``__4``.

    >>> video_key("/media/x/RGBTest/Bad.Boys.1995__#01-11-55_01-12-40_label_G-B2-B6__0.npy")
    'Bad.Boys.1995__#01-11-55_01-12-40_label_G-B2-B6'
    >>> video_key(r"D:\\xd\\v=U6MC8JJJZSY__#1_label_G-0-0.mp4")
    'v=U6MC8JJJZSY__#1_label_G-0-0'
    """
    text = str(name).strip()
    if not text:
        raise ValueError("empty video name; expected something like 'v=abc__#1_label_B1-0-0__0.npy'")
    stem = _basename(text)
    for ext in (".npy", ".mp4"):
        if stem.lower().endswith(ext):
            stem = stem[: -len(ext)]
            break
    stem = _CROP_RE.sub("", stem)
    if not stem:
        raise ValueError(f"cannot read a video name from {name!r}")
    return stem


def labels_of(key: str | Path) -> tuple[str, ...]:
    """The labels written in a video's name, in the order of its codes, ``0`` padding dropped.

    Accepts a key or anything :func:`video_key` reads. ``("Normal",)`` for ``_label_A``.
    ``ValueError`` naming the name and the expected form for an unknown code, ``A`` next to other
    codes, a repeated code, a class code after a ``0`` pad, or more than three codes.

    >>> labels_of("Bad.Boys.1995__#01-11-55_01-12-40_label_G-B2-B6")
    ('Explosion', 'Shooting', 'CarAccident')
    >>> labels_of("v=4FzhVu2PR8Y__#1_label_B1-0-0__3.npy")
    ('Fighting',)
    >>> labels_of("wangted.2008__#01-26-25_01-27-00_label_A")
    ('Normal',)
    """
    name = video_key(key)
    labels, why = _read_labels(name)
    if why:
        raise ValueError(f"video name {name!r}: {why}; expected {_EXPECTED_LABEL}")
    return labels


def _read_labels(name: str) -> tuple[tuple[str, ...], str]:
    """``(labels, "")`` for a well-formed key, else ``((), why it is not)``."""
    match = _LABEL_RE.search(name)
    if match is None:
        return (), "no '_label_' part at its end"
    codes = match.group(1).split("-")
    if len(codes) > 3:
        return (), f"{len(codes)} codes"
    if "A" in codes:
        return ((NORMAL,), "") if codes == ["A"] else ((), "'A' (normal) next to other codes")
    if codes[0] == "0":
        return (), "a 0 pad where the first class code belongs"
    labels: list[str] = []
    padded = False
    for code in codes:
        if code == "0":
            padded = True
            continue
        if code not in _VIOLENT_CODES:
            return (), f"an unknown code {code!r}"
        if padded:
            return (), f"a class code {code!r} after a 0 pad"
        if CODES[code] in labels:
            return (), f"code {code!r} repeated"
        labels.append(CODES[code])
    return tuple(labels), ""


def _file_labels(path, lineno: int, line: str, name: str) -> tuple[str, ...]:
    """:func:`labels_of` for a name read on a line of a file: errors name the file and the line."""
    labels, why = _read_labels(name)
    if why:
        raise _fail(path, lineno, line, f"{_EXPECTED_LABEL}; {name!r} has {why}")
    return labels


# ----------------------------------------------------------------------------- records

@dataclass(frozen=True)
class XDVideo:
    """One video of a list.

    Attributes
    ----------
    key : canonical video key (see :func:`video_key`); its labels are written in it.
    labels : its labels in the order of the codes in its name (first = main class);
        ``("Normal",)`` for a normal video.
    intervals : violent frame intervals ``(s, e)`` from ``annotations.txt``, 0-based and END-EXCLUSIVE
        (frames ``s .. e - 1``); empty for normal videos and for training videos.
    interval_classes : the class of each interval, same order and length as ``intervals`` (empty with
        them): read off ``annotations_multiclasses.txt``. Where that file re-cuts an interval by class,
        the class covering most of its frames (the first listed on a tie): see ``class_intervals``
        for the exact per-class frames.
    class_intervals : ``(class, s, e)`` of ``annotations_multiclasses.txt`` as listed there
        (end-exclusive, the same reading).
    """

    key: str
    labels: tuple[str, ...]
    intervals: tuple[tuple[int, int], ...] = ()
    interval_classes: tuple[str, ...] = ()
    class_intervals: tuple[tuple[str, int, int], ...] = ()

    def __post_init__(self):
        if not self.labels or any(label not in LABELS for label in self.labels):
            raise ValueError(f"video {self.key!r}: labels {self.labels!r}; expected one to three of "
                             f"{', '.join(LABELS)}")
        if NORMAL in self.labels and len(self.labels) > 1:
            raise ValueError(f"video {self.key!r}: labels {self.labels!r}; 'Normal' stands alone")
        if self.interval_classes and len(self.interval_classes) != len(self.intervals):
            raise ValueError(f"video {self.key!r}: {len(self.interval_classes)} interval classes for "
                             f"{len(self.intervals)} intervals; expected one class per interval")

    @property
    def label(self) -> str:
        """The first (main) label."""
        return self.labels[0]

    @property
    def is_anomalous(self) -> bool:
        return self.label != NORMAL

    @property
    def class_index(self) -> int:
        """Index of the first label in :data:`LABELS` (6 = Normal)."""
        return class_index(self.label)

    @property
    def class_set(self) -> np.ndarray:
        """``bool [6]``: which of :data:`CLASSES` the video carries (all False for a normal video)."""
        return np.array([c in self.labels for c in CLASSES], dtype=bool)


def _fail(path, lineno: int, line: str, expected: str) -> ValueError:
    return ValueError(f"{path}, line {lineno}: {line.rstrip()!r}: expected {expected}")


_FEATURE_RE = re.compile(r"^(?P<name>.+)__(?P<crop>\d+)(?:\.npy)?$")


def parse_list(path: str | Path) -> list[XDVideo]:
    """Parse a feature list (``rgb.list``, ``rgb_test.list``): one feature file per line, five
    consecutive lines per video, its crops ``__0`` to ``__4`` in that order (any folder prefix, ``/``
    or ``\\`` separators, ``.npy`` optional). Videos are returned in list order (in the public lists
    the violent videos come first). Blank lines are skipped.

    ``ValueError`` naming the file, the line and the expectation for a line that is not a crop file,
    a missing, repeated or out-of-order crop, a video listed twice, or a name without a valid label.

    The public ground-truth builders read only the ``__0`` lines; this parser insists on all five so
    that a truncated or shuffled list is caught here rather than as a misaligned feature tensor.
    """
    path = Path(path)
    videos: list[XDVideo] = []
    first_line: dict[str, int] = {}
    key, expect, last = None, 0, (0, "")
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            text = line.strip()
            if not text:
                continue
            last = (lineno, line)
            match = _FEATURE_RE.match(_basename(text))
            if match is None or int(match.group("crop")) >= N_CROPS:
                raise _fail(path, lineno, line, "a feature file 'Name_label_B1-0-0__K.npy' with crop K in 0..4")
            name, crop = match.group("name"), int(match.group("crop"))
            if expect == 0:
                if crop != 0:
                    raise _fail(path, lineno, line, f"crop __0 of a new video (each video lists its "
                                f"{N_CROPS} crops __0..__4 in order), got __{crop}")
                if name in first_line:
                    raise _fail(path, lineno, line, f"each video once; {name} is already listed from "
                                f"line {first_line[name]}")
                labels = _file_labels(path, lineno, line, name)
                key = name
                first_line[key] = lineno
                videos.append(XDVideo(key, labels))
            elif crop != expect or name != key:
                raise _fail(path, lineno, line, f"crop __{expect} of video {key} (each video lists its "
                            f"{N_CROPS} crops __0..__4 in order), got __{crop} of {name}")
            expect = (crop + 1) % N_CROPS
    if expect != 0:
        lineno, line = last
        raise _fail(path, lineno, line, f"crops __{expect}..__4 of video {key} after its __{expect - 1} "
                    "(the list ends there)")
    return videos


def _read_name(path, lineno: int, line: str, name: str) -> str:
    """The key of an annotation line's name, which must be a violent video's."""
    key = video_key(name)
    labels = _file_labels(path, lineno, line, key)
    if labels == (NORMAL,):
        raise _fail(path, lineno, line, f"annotations of violent videos only; {key} is normal (_label_A)")
    return key


def _read_bounds(path, lineno: int, line: str, start: str, end: str, form: str) -> tuple[int, int]:
    try:
        s, e = int(start), int(end)
    except ValueError:
        raise _fail(path, lineno, line, f"{form} with integer frame numbers, got {start!r} {end!r}") from None
    if s < 0 or e <= s:
        raise _fail(path, lineno, line, f"0 <= start < end for every interval (end exclusive), got {s} {e}")
    return s, e


def parse_annotations(path: str | Path) -> dict[str, tuple[tuple[int, int], ...]]:
    """Parse ``annotations.txt``: ``name s1 e1 [s2 e2 ...]`` per violent test video, separated by
    runs of whitespace (a trailing space and a last line without newline are fine).

    Returns ``{video key: ((s, e), ...)}`` in file order, intervals 0-based and end-exclusive as the
    public builders read them. ``name`` may carry a stray ``.mp4`` (14 names in the public file do).
    ``ValueError`` naming the file, the line and the expectation for an odd count of numbers, a
    non-integer, ``start >= end`` or a negative start (the public file has none), a name without a
    violent label, or a video on two lines.
    """
    path = Path(path)
    form = "'name s1 e1 [s2 e2 ...]'"
    out: dict[str, tuple[tuple[int, int], ...]] = {}
    for lineno, line, key, numbers in _annotation_lines(path, 2, form, "an even number (at least 2) of frame numbers"):
        out[key] = tuple(_read_bounds(path, lineno, line, numbers[i], numbers[i + 1], form)
                         for i in range(0, len(numbers), 2))
    return out


def parse_multiclass_annotations(path: str | Path) -> dict[str, tuple[tuple[str, int, int], ...]]:
    """Parse ``annotations_multiclasses.txt``: ``name C1 s1 e1 [C2 s2 e2 ...]``, a class code
    (B1 B2 B4 B5 B6 G) before each interval.

    Returns ``{video key: ((class name, s, e), ...)}`` in file order (end-exclusive intervals).
    The same errors as :func:`parse_annotations`, plus an unknown class code. Whether the classes
    are the video's own and the frames agree with ``annotations.txt`` is :func:`test_videos`'s check.
    """
    path = Path(path)
    form = "'name C1 s1 e1 [C2 s2 e2 ...]'"
    out: dict[str, tuple[tuple[str, int, int], ...]] = {}
    for lineno, line, key, rest in _annotation_lines(path, 3, form, "groups of three (class code, start, end)"):
        triples = []
        for i in range(0, len(rest), 3):
            code = rest[i]
            if code not in _VIOLENT_CODES:
                raise _fail(path, lineno, line, f"{form} with class codes from {' '.join(_VIOLENT_CODES)}, "
                            f"got {code!r}")
            triples.append((CODES[code],) + _read_bounds(path, lineno, line, rest[i + 1], rest[i + 2], form))
        out[key] = tuple(triples)
    return out


def _annotation_lines(path: Path, group: int, form: str, expected: str):
    """``(lineno, line, key, fields after the name)`` of each non-blank line of an annotation file,
    checking that the fields come in whole groups of ``group`` (at least one) and that no video
    has two lines; errors name the file, the line and ``form``."""
    lines: dict[str, int] = {}
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            fields = line.split()
            if not fields:
                continue
            name, *rest = fields
            key = _read_name(path, lineno, line, name)
            if not rest or len(rest) % group:
                raise _fail(path, lineno, line, f"{form}: {expected}, got {len(rest)} fields after the name")
            if key in lines:
                raise _fail(path, lineno, line, f"one line per video; {key} is already on line {lines[key]}")
            lines[key] = lineno
            yield lineno, line, key, rest


# ----------------------------------------------------------------------------- splits

def train_videos(list_dir: str | Path = LIST_DIR) -> list[XDVideo]:
    """The 3,954 training videos of ``rgb.list`` in ``list_dir`` (no intervals: weak labels only)."""
    return parse_list(Path(list_dir) / TRAIN_LIST)


def _covered(intervals) -> list[tuple[int, int]]:
    """The frames the intervals mark, as sorted disjoint ``[s, e)`` runs, closing gaps of one frame
    (the multiclass file re-cuts an interval ``(s, e)`` at a change of class as ``(s, m) (m + 1, e)``
    as often as ``(s, m) (m, e)``)."""
    runs: list[list[int]] = []
    for s, e in sorted(intervals):
        if runs and s <= runs[-1][1] + 1:
            runs[-1][1] = max(runs[-1][1], e)
        else:
            runs.append([s, e])
    return [(s, e) for s, e in runs]


def _majority_class(s: int, e: int, triples) -> str | None:
    overlap: dict[str, int] = {}
    for cls, s2, e2 in triples:
        overlap[cls] = overlap.get(cls, 0) + max(0, min(e, e2) - max(s, s2))
    best = max(overlap, key=overlap.get)  # the first listed class wins a tie
    return best if overlap[best] > 0 else None


def test_videos(list_dir: str | Path = LIST_DIR) -> list[XDVideo]:
    """The 800 test videos of ``rgb_test.list`` in ``list_dir``, in list order, the violent ones with
    their intervals from ``annotations.txt`` and classes from ``annotations_multiclasses.txt``.

    Checks, with a ``ValueError`` naming the files and the video: every violent test video has a line
    in both annotation files and every annotation line names a test video (normal videos none); both
    files mark the same frames (the union of the intervals of each, gaps of one frame closed); every
    interval class is one of the video's labels. The two :data:`KNOWN_DISAGREEMENTS` of the public
    files are let through (``annotations.txt`` is kept as the truth).

    The videos are matched by key; the public builders match by substring (``name in line``, first
    hit), which gives the same lines for the public files.
    """
    list_dir = Path(list_dir)
    videos = parse_list(list_dir / TEST_LIST)
    plain = parse_annotations(list_dir / ANNOTATIONS)
    classed = parse_multiclass_annotations(list_dir / ANNOTATIONS_MULTICLASS)
    listed = {video.key for video in videos}
    for file, annotated in ((ANNOTATIONS, plain), (ANNOTATIONS_MULTICLASS, classed)):
        stray = [key for key in annotated if key not in listed]
        if stray:
            raise ValueError(f"{list_dir / file}: {len(stray)} annotated videos are not in {TEST_LIST} "
                             f"(first: {stray[0]}); expected annotations of its violent videos only")
    out = []
    for video in videos:
        if not video.is_anomalous:
            out.append(video)
            continue
        for file, annotated in ((ANNOTATIONS, plain), (ANNOTATIONS_MULTICLASS, classed)):
            if video.key not in annotated:
                raise ValueError(f"{list_dir / TEST_LIST}: violent test video {video.key} has no line in "
                                 f"{list_dir / file}; expected one line per violent test video")
        intervals, triples = plain[video.key], classed[video.key]
        known = video.key in KNOWN_DISAGREEMENTS
        mine, theirs = _covered(intervals), _covered((s, e) for _, s, e in triples)
        if mine != theirs and not known:
            raise ValueError(f"video {video.key}: {list_dir / ANNOTATIONS} marks frames {mine}, "
                             f"{list_dir / ANNOTATIONS_MULTICLASS} marks {theirs}; expected the same frames")
        foreign = sorted({cls for cls, _, _ in triples} - set(video.labels))
        if foreign and not known:
            raise ValueError(f"video {video.key}: {list_dir / ANNOTATIONS_MULTICLASS} gives intervals of "
                             f"class {', '.join(foreign)}; expected classes of its labels "
                             f"{', '.join(_CODE_OF[label] for label in video.labels)}")
        classes = []
        for s, e in intervals:
            cls = _majority_class(s, e, triples)
            if cls is None:
                raise ValueError(f"video {video.key}: interval {s}-{e} of {list_dir / ANNOTATIONS} meets no "
                                 f"interval of {list_dir / ANNOTATIONS_MULTICLASS}; expected a class for it")
            classes.append(cls)
        out.append(XDVideo(video.key, video.labels, intervals, tuple(classes), triples))
    return out


test_videos.__test__ = False  # a reader, not a test: pytest must not collect it where it is imported


# ----------------------------------------------------------------------------- counts and arrays

def count_by_class(videos, any_label: bool = False) -> dict[str, int]:
    """Number of videos per label in :data:`LABELS` order (zero counts included): by first label,
    or with ``any_label=True`` once for each label a video carries."""
    counts = {label: 0 for label in LABELS}
    for video in videos:
        for label in (video.labels if any_label else video.labels[:1]):
            counts[label] += 1
    return counts


def class_sets(videos) -> np.ndarray:
    """``bool [N, 6]``: row n marks the classes video n carries (a normal video's row is all False)."""
    return np.array([video.class_set for video in videos], dtype=bool).reshape(-1, len(CLASSES))


def first_classes(videos) -> np.ndarray:
    """``int64 [N]``: the index of each video's first label in :data:`LABELS` (6 = Normal)."""
    return np.array([video.class_index for video in videos], dtype=np.int64)


# ----------------------------------------------------------------------------- frame ground truth

def frame_ground_truth(intervals, n_frames: int) -> np.ndarray:
    """Frame labels ``uint8 [n_frames]``: 1 on frames ``s .. e - 1`` of every interval ``(s, e)``
    (END-EXCLUSIVE), cut at ``n_frames``.

    This is the reading of both public builders of the XD-Violence frame ground truth: XDVioDet's
    ``list/make_gt.py`` (Wu et al. 2020) and VadCLIP's ``list/make_gt_xd.py`` (Wu et al. 2024) both
    fill a zero vector for the video and set the slice from ``s`` up to, but not including, ``e``
    to one for each pair of numbers on the video's annotation line; frames past the vector's end are
    lost. The kit's UCF-Crime reading, :func:`cbmil.data.frames.frame_ground_truth`, includes the end
    frame (``(s, e)`` covers ``s .. e``), as that dataset's official annotation is read; here an
    interval marks one frame fewer. The files themselves do not settle the annotators' convention:
    ``annotations_multiclasses.txt`` re-cuts intervals at a change of class both as ``(s, m) (m, e)``
    and, on 4 videos, as ``(s, m) (m + 1, e)``, which leaves frame ``m`` unmarked in this reading.
    The kit follows the public builders, whose ground truth the published XD-Violence APs use.

    >>> frame_ground_truth([(2, 4), (6, 12)], 8)
    array([0, 0, 1, 1, 0, 0, 1, 1], dtype=uint8)
    """
    n_frames = int(n_frames)
    if n_frames < 0:
        raise ValueError(f"n_frames = {n_frames}; expected >= 0")
    labels = np.zeros(n_frames, dtype=np.uint8)
    for start, end in intervals:
        start, end = int(start), int(end)
        if start < 0 or end <= start:
            raise ValueError(f"interval ({start}, {end}): expected 0 <= start < end (end exclusive)")
        labels[start:end] = 1  # slicing cuts at n_frames
    return labels


#: The two lengths of a test video's frame ground truth found in the public code (:func:`gt_length`).
GT_CONVENTIONS: tuple[str, ...] = ("snippets", "decoded")


def gt_length(n_snippets: int, convention: str = "snippets", decoded_frames: int | None = None) -> int:
    """Number of frames of a test video's ground truth under one of the two public conventions.

    * ``"snippets"`` (VadCLIP, ``list/make_gt_xd.py``): 16 frames per snippet of the video's feature
      file, ``16 * n_snippets``. That script allocates one snippet more, marks the intervals, and then
      cuts the last 16 frames off, so an interval reaching past ``16 * T`` is cut there.
    * ``"decoded"`` (XDVioDet, ``list/make_gt.py``): starts from ``decoded_frames``, the frame count
      OpenCV reports for the ``.mp4``, drops the last frame (the I3D RGB features were extracted one
      frame short, to line up with the optical flow) and then the ``(n - 1) % 16`` frames of the
      incomplete last snippet: ``(n - 1) - (n - 1) % 16``. ``n_snippets`` is not used; the public
      evaluation repeats each snippet score 16 times, so it needs this length to equal
      ``16 * n_snippets`` (true when the extractor gave ``floor((n - 1) / 16)`` snippets).

    >>> gt_length(10), [gt_length(10, "decoded", decoded_frames=n) for n in (161, 176, 177)]
    (160, [160, 160, 176])
    """
    n_snippets = int(n_snippets)
    if n_snippets < 0:
        raise ValueError(f"n_snippets = {n_snippets}; expected >= 0")
    if convention == "snippets":
        if decoded_frames is not None:
            raise ValueError("decoded_frames is read only by convention 'decoded'; expected None with 'snippets'")
        return FRAMES_PER_SNIPPET * n_snippets
    if convention == "decoded":
        if decoded_frames is None or int(decoded_frames) < 1:
            raise ValueError(f"convention 'decoded' needs decoded_frames >= 1, got {decoded_frames!r}")
        kept = int(decoded_frames) - 1
        return kept - kept % FRAMES_PER_SNIPPET
    raise ValueError(f"unknown ground-truth convention {convention!r}; expected one of {', '.join(GT_CONVENTIONS)}")
