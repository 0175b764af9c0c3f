"""Readers for the files public code bases pass around beside the features.

* a ``.list`` file (RTFM, DeepMIL, MGFN, UR-DMU, ...): one feature path per line, e.g.
  ``/data/UCF_Test_ten_crop_i3d/Abuse028_x264_i3d.npy``; the order of its lines is the order
  of the videos in the frame ground truth ``gt-ucf.npy`` built from it;
* a snippet-count file: ``key T`` per line, the number of 16-frame snippets of each video;
* or the snippet counts read off a feature folder's file headers.

Every video name may be in any spelling :func:`cbmil.data.ucf_crime.video_key` reads (any path
prefix, Windows or POSIX separators, ``_i3d`` / ``__K`` suffixes); all functions return
canonical keys. Errors name the file and the line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cbmil.data.features import index_feature_folder
from cbmil.data.ucf_crime import class_of_key, video_key

_CROP = re.compile(r"__\d+(\.npy)?$")


def _lines(path: Path, what: str):
    """``(line number, stripped text)`` of the non-blank lines of a text file."""
    if not path.is_file():
        raise FileNotFoundError(f"{what} {path} does not exist (or is not a file)")
    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.readlines()
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not a UTF-8 text file ({exc}); expected a {what}") from None
    return [(lineno, line.strip()) for lineno, line in enumerate(lines, 1) if line.strip()]


def _key(path: Path, lineno: int, name: str, expected: str) -> str:
    try:
        key = video_key(name)
        class_of_key(key)  # a UCF-Crime video name: Abuse028_x264, Normal_Videos_003_x264, ...
    except ValueError:
        raise ValueError(f"{path}, line {lineno}: {name!r}: expected {expected}") from None
    return key


def read_list(path: str | Path) -> list[str]:
    r"""Canonical video keys of a public ``.list`` file, in file order.

    One feature path per line, any prefix and spelling (``G:\feats\Abuse028_x264_i3d.npy``,
    ``/data/Normal_Videos003_x264__0.npy``, ...); blank lines are skipped. A name that is not
    a UCF-Crime video, or a video listed twice, raises ``ValueError`` naming the file and the
    line (for a duplicate, the earlier line too): a list names each video once.
    """
    path = Path(path)
    keys: list[str] = []
    seen: dict[str, int] = {}
    for lineno, text in _lines(path, "video list"):
        key = _key(path, lineno, text, "a feature path naming a UCF-Crime video, like "
                                       "'/data/Abuse028_x264_i3d.npy'")
        if key in seen:
            crops = " (a list with one line per crop file?)" if _CROP.search(text) else ""
            raise ValueError(f"{path}, line {lineno}: {text!r}: video {key} is already listed on line "
                             f"{seen[key]}; expected each video once{crops}")
        seen[key] = lineno
        keys.append(key)
    return keys


def read_snippet_counts(path: str | Path) -> dict[str, int]:
    """``{key: T}`` from a text file of ``name T`` lines (T = number of 16-frame snippets).

    The name may be any spelling or path (everything before the last field); blank lines are
    skipped. A bad name, a T that is not a positive integer, or a video given twice raises
    ``ValueError`` naming the file and the line.
    """
    path = Path(path)
    counts: dict[str, int] = {}
    lines: dict[str, int] = {}
    for lineno, text in _lines(path, "snippet-count file"):
        fields = text.rsplit(None, 1)
        if len(fields) != 2 or not fields[1].isdigit() or int(fields[1]) < 1:
            raise ValueError(f"{path}, line {lineno}: {text!r}: expected 'name T' with T >= 1 snippets")
        key = _key(path, lineno, fields[0], "a UCF-Crime video name like 'Abuse028_x264' before T")
        if key in counts:
            raise ValueError(f"{path}, line {lineno}: video {key} already has a count on line {lines[key]}; "
                             "expected each video once")
        counts[key], lines[key] = int(fields[1]), lineno
    return counts


def feature_snippet_counts(keys: Sequence[str], features_dir: str | Path) -> dict[str, int]:
    """``{key: T}`` for each of ``keys``, read from the headers of its file(s) in ``features_dir``
    (:func:`cbmil.data.features.index_feature_folder`; no feature data is loaded). A key with no
    feature file raises ``ValueError`` naming it (and how many others are missing)."""
    sources = index_feature_folder(features_dir)
    c3d = [k for k in keys if k in sources and sources[k].layout == "c3d"]
    if c3d:
        raise ValueError(f"{sources[c3d[0]].paths[0]}: a C3D text file holds 32 segments, not 16-frame snippets; "
                         "expected I3D .npy features, or give the snippet counts as a file")
    missing = [k for k in keys if k not in sources]
    if missing:
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise ValueError(f"no feature file in {features_dir} for listed video(s) {', '.join(missing[:5])}{more}")
    return {k: int(sources[k].shape()[0]) for k in keys}


def snippet_counts(keys: Sequence[str], features_dir: str | Path | None = None,
                   snippets_file: str | Path | None = None) -> np.ndarray:
    """Snippets per listed video, int64 ``[V]`` in the order of ``keys``, from exactly one of a
    feature folder or a snippet-count file. A key the source lacks raises ``ValueError``
    naming it; nothing is skipped."""
    if (features_dir is None) == (snippets_file is None):
        raise ValueError("give exactly one of a feature folder or a snippet-count file")
    if features_dir is not None:
        counts = feature_snippet_counts(keys, features_dir)
    else:
        counts = read_snippet_counts(snippets_file)
        missing = [k for k in keys if k not in counts]
        if missing:
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            raise ValueError(f"{snippets_file}: no snippet count for listed video(s) {', '.join(missing[:5])}{more}")
    return np.array([counts[k] for k in keys], dtype=np.int64)
