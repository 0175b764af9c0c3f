"""UCF-Crime facts and parsers for its official split files.

One source of truth for the 13 anomaly classes and their per-class video counts, and the
parsers for ``Anomaly_Train.txt`` and ``Temporal_Anomaly_Annotation_for_Testing_Videos.txt``.

Source of the counts: the official UCF-Crime split files (Sultani, Chen & Shah, CVPR 2018),
counted line by line; the same table is Figure 2 of Park, Park & Hong (2022).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path, PureWindowsPath

#: The 13 anomaly classes, in the order of the official class folders.
CLASSES: tuple[str, ...] = (
    "Abuse", "Arrest", "Arson", "Assault", "Burglary", "Explosion", "Fighting",
    "RoadAccidents", "Robbery", "Shooting", "Shoplifting", "Stealing", "Vandalism",
)
#: Label of normal videos; its class index is ``NORMAL_INDEX`` (after the 13 anomaly classes).
NORMAL = "Normal"
NORMAL_INDEX = len(CLASSES)
#: Every label a video can carry, indexed by class index.
LABELS: tuple[str, ...] = CLASSES + (NORMAL,)

#: Training videos per class (official ``Anomaly_Train.txt``): 810 abnormal + 800 normal.
TRAIN_COUNTS: dict[str, int] = {
    "Abuse": 48, "Arrest": 45, "Arson": 41, "Assault": 47, "Burglary": 87, "Explosion": 29,
    "Fighting": 45, "RoadAccidents": 127, "Robbery": 145, "Shooting": 27, "Shoplifting": 29,
    "Stealing": 95, "Vandalism": 45, NORMAL: 800,
}
#: Test videos per class (official temporal annotation file): 140 abnormal + 150 normal.
TEST_COUNTS: dict[str, int] = {
    "Abuse": 2, "Arrest": 5, "Arson": 9, "Assault": 3, "Burglary": 13, "Explosion": 21,
    "Fighting": 5, "RoadAccidents": 23, "Robbery": 5, "Shooting": 23, "Shoplifting": 21,
    "Stealing": 5, "Vandalism": 5, NORMAL: 150,
}
#: Frames per snippet of the I3D/C3D feature extractors.
FRAMES_PER_SNIPPET = 16
#: Official file names.
TRAIN_LIST = "Anomaly_Train.txt"
TEST_ANNOTATIONS = "Temporal_Anomaly_Annotation_for_Testing_Videos.txt"
#: The two official split files and the test/train frame-count lists, shipped with the package
#: (their sources and terms: ``cbmil/data/official/ucf_crime/README.md``): the real facts on any clone.
SPLIT_DIR = Path(__file__).resolve().parent / "official" / "ucf_crime"


def class_index(name: str) -> int:
    """Index of a class name in :data:`LABELS` (``Normal`` -> 13); ``ValueError`` if unknown."""
    try:
        return LABELS.index(name)
    except ValueError:
        raise ValueError(f"unknown UCF-Crime class {name!r}; expected one of {', '.join(LABELS)}") from None


# ----------------------------------------------------------------------------- video keys

_NORMAL_RE = re.compile(r"^Normal_Videos_?(\d+)_x264$")
_SUFFIXES = ("_i3d", "_c3d")
_CROP_RE = re.compile(r"__\d+$")


def video_key(name: str | Path) -> str:
    """The canonical key of the video a path or file name names.

    Every public spelling of one video maps to the same key: the official test spelling
    ``Abuse028_x264`` / ``Normal_Videos_003_x264`` (normal videos always with the underscore
    before the number, zero-padded to three digits).

    >>> video_key("Training_Normal_Videos_Anomaly/Normal_Videos003_x264.mp4")
    'Normal_Videos_003_x264'
    >>> video_key(r"G:\\UCF_Test_ten_crop_i3d\\Abuse028_x264_i3d.npy")
    'Abuse028_x264'
    >>> video_key("Abuse028_x264__0.npy")
    'Abuse028_x264'
    """
    text = str(name).strip()
    if not text:
        raise ValueError("empty video name; expected something like 'Abuse028_x264.mp4'")
    stem = PureWindowsPath(text.replace("/", "\\")).name  # handles both separators
    for ext in (".mp4", ".npy", ".txt", ".avi"):
        if stem.lower().endswith(ext):
            stem = stem[: -len(ext)]
            break
    stem = _CROP_RE.sub("", stem)
    for suffix in _SUFFIXES:
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
    match = _NORMAL_RE.match(stem)
    if match:
        return f"Normal_Videos_{int(match.group(1)):03d}_x264"
    if not stem:
        raise ValueError(f"cannot read a video name from {name!r}")
    return stem


def class_of_key(key: str) -> str:
    """The class a canonical key belongs to, read off its name (``Abuse028_x264`` -> ``Abuse``)."""
    if key.startswith("Normal_Videos"):
        return NORMAL
    prefix = re.match(r"^([A-Za-z]+)\d", key)
    if prefix is None or prefix.group(1) not in CLASSES:
        raise ValueError(f"cannot tell the class of video {key!r}; expected a name like 'Abuse028_x264'")
    return prefix.group(1)


# ----------------------------------------------------------------------------- records

@dataclass(frozen=True)
class VideoRecord:
    """One video of a split.

    Attributes
    ----------
    key : canonical video key (see :func:`video_key`).
    label : class name, one of :data:`LABELS` (``"Normal"`` for normal videos).
    intervals : anomalous frame intervals ``(start, end)``, 0-based and inclusive at both ends;
        empty for normal videos and for training videos (which carry no temporal labels).
    """

    key: str
    label: str
    intervals: tuple[tuple[int, int], ...] = field(default=())

    @property
    def is_anomalous(self) -> bool:
        return self.label != NORMAL

    @property
    def class_index(self) -> int:
        return class_index(self.label)


def _fail(path, lineno: int, line: str, expected: str) -> ValueError:
    return ValueError(f"{path}, line {lineno}: {line.rstrip()!r}: expected {expected}")


def parse_train_list(path: str | Path) -> list[VideoRecord]:
    """Parse the official ``Anomaly_Train.txt``: one ``Class/Name_x264.mp4`` per line.

    Normal videos sit in ``Training_Normal_Videos_Anomaly/``. Blank lines are skipped;
    anything else that does not fit raises ``ValueError`` naming the file and the line.
    """
    path = Path(path)
    records = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            text = line.strip()
            if not text:
                continue
            parts = text.replace("\\", "/").split("/")
            if len(parts) != 2 or not parts[1].endswith(".mp4"):
                raise _fail(path, lineno, line, "'Class/Name_x264.mp4'")
            folder, filename = parts
            key = video_key(filename)
            label = NORMAL if folder.startswith("Training_Normal_Videos") or folder == NORMAL else folder
            if label not in LABELS:
                raise _fail(path, lineno, line, f"a class folder, one of {', '.join(CLASSES)} "
                            "or Training_Normal_Videos_Anomaly")
            try:
                named = class_of_key(key)
            except ValueError:
                raise _fail(path, lineno, line, "a video name like 'Abuse001_x264.mp4'") from None
            if named != label:
                raise _fail(path, lineno, line, f"a {label} video in folder {folder}, got a {named} video")
            records.append(VideoRecord(key, label))
    return records


def parse_test_annotations(path: str | Path) -> list[VideoRecord]:
    """Parse the official ``Temporal_Anomaly_Annotation_for_Testing_Videos.txt``.

    Each line is ``Name.mp4  Class  s1  e1  s2  e2`` separated by runs of whitespace
    (trailing spaces allowed); ``-1 -1`` marks an absent event. Intervals are returned
    0-based and inclusive at both ends. Normal videos (class ``Normal``) must have no event;
    an anomalous video must have at least one; ``end < start`` is an error.
    """
    path = Path(path)
    records = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 6:
                raise _fail(path, lineno, line, "6 fields 'Name.mp4 Class s1 e1 s2 e2'")
            name, label, *bounds = fields
            if label not in LABELS:
                raise _fail(path, lineno, line, f"a class, one of {', '.join(LABELS)}; got {label!r}")
            try:
                numbers = [int(b) for b in bounds]
            except ValueError:
                raise _fail(path, lineno, line, "integer frame numbers s1 e1 s2 e2 (-1 for none)") from None
            key = video_key(name)
            try:
                named = class_of_key(key)
            except ValueError:
                raise _fail(path, lineno, line, "a video name like 'Abuse028_x264.mp4'") from None
            if named != label:
                raise _fail(path, lineno, line, f"class {label} to match the video name {name}")
            intervals = []
            for start, end in (numbers[0:2], numbers[2:4]):
                if start == -1 and end == -1:
                    continue
                if start < 0 or end < 0:
                    raise _fail(path, lineno, line, "both ends of an event >= 0, or both -1")
                if end < start:
                    raise _fail(path, lineno, line, f"event end >= start, got {start}..{end}")
                intervals.append((start, end))
            if label == NORMAL and intervals:
                raise _fail(path, lineno, line, "no event (-1 -1 -1 -1) for a Normal video")
            if label != NORMAL and not intervals:
                raise _fail(path, lineno, line, f"at least one event for a {label} video")
            records.append(VideoRecord(key, label, tuple(intervals)))
    return records


def count_by_class(records) -> dict[str, int]:
    """Number of videos per label, in :data:`LABELS` order (zero counts included)."""
    counts = {label: 0 for label in LABELS}
    for record in records:
        counts[record.label] += 1
    return counts


def parse_frame_counts(path: str | Path) -> dict[str, int]:
    """Parse a derived ``frame_counts_*.txt`` list (``path nframes [class s1 e1 s2 e2]``).

    Returns ``{video key: number of frames}``. Not an official file; used to map the 32
    Sultani segments onto real frame numbers.
    """
    path = Path(path)
    counts = {}
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) not in (2, 7) or not fields[1].isdigit():
                raise _fail(path, lineno, line, "'path nframes' or 'path nframes Class s1 e1 s2 e2'")
            counts[video_key(fields[0])] = int(fields[1])
    return counts
