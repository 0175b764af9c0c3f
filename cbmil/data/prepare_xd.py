"""``cbmil data prepare --dataset xd``: stream XD-Violence's I3D crop files into the cache.

The public release has one ``[T, 1024]`` ``.npy`` per crop, five crops ``Name__0.npy`` ..
``Name__4.npy`` per video (``__0`` the centre), listed in ``rgb.list`` / ``rgb_test.list`` under the
authors' own folders. Here each listed file is looked up by its file name anywhere under one
features folder (e.g. its ``RGB/`` and ``RGBTest/`` subfolders), so the lists work unchanged.

Before any feature is read, every listed video must have its five crop files, all of one length
T >= 1 and all of one feature dimension D (read off the file headers); otherwise it stops and
names the video, the crop and where it looked. The cache is the one UCF-Crime's
:func:`cbmil.data.prepare.prepare` writes (training bags ``[N, 5, 32, D]``, test snippets
``[S, 5, D]``; C = 1 with ``crop_mean``), read one video at a time by the same pieces, plus the
multi-label class sets (``train_class_sets.npy``, ``test_class_sets.npy``) and XD-Violence's labels.
The test frame ground truth is :func:`cbmil.data.xd_violence.frame_ground_truth` (end-exclusive
intervals) over ``16 * T`` frames per video (:func:`~cbmil.data.xd_violence.gt_length`,
convention ``"snippets"``).

:func:`write_xd_standin` writes a folder of random features under the real names (tests, docs,
benchmarks).
"""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from cbmil.data import xd_violence as xd
from cbmil.data.dataset import offsets_from_lengths, write_meta
from cbmil.data.features import FeatureSource
from cbmil.data.prepare import SLICE_BYTES, _Reader, stream_videos

#: Listed videos named in a missing-file error (the count says how many more).
SHOWN = 10


# ----------------------------------------------------------------------------- finding the files

def index_crop_files(features_dir: str | Path) -> dict[str, dict[int, list[Path]]]:
    """``{video key: {crop: [paths]}}`` of every ``Name__K.npy`` under ``features_dir`` (searched
    recursively; more than one path when the same file name lies in two folders)."""
    folder = Path(features_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"feature folder {folder} does not exist")
    found: dict[str, dict[int, list[Path]]] = {}
    for dirpath, _, filenames in os.walk(folder):
        for filename in sorted(filenames):
            stem, _, ext = filename.rpartition(".")
            name, sep, crop = stem.rpartition("__")
            if ext != "npy" or not sep or not name or not crop.isdigit():
                continue
            found.setdefault(name, {}).setdefault(int(crop), []).append(Path(dirpath) / filename)
    return found


def crop_paths(videos: Sequence[xd.XDVideo], index: Mapping[str, Mapping[int, list[Path]]],
               features_dir, crops: Sequence[int] = tuple(range(xd.N_CROPS))) -> list[tuple[Path, ...]]:
    """The files of ``crops`` of each video, in video order. Any missing (or found in two folders)
    raise before anything is read: ``FileNotFoundError`` listing the first videos and crops missing
    and where they were looked for, ``ValueError`` naming both copies of an ambiguous file."""
    out, missing = [], []
    for video in videos:
        files = index.get(video.key, {})
        lacking = [k for k in crops if k not in files]
        if lacking:
            missing.append(f"{video.key}: crop{'s' * (len(lacking) > 1)} "
                           f"{', '.join(f'__{k}' for k in lacking)} (no {video.key}__{lacking[0]}.npy)")
            continue
        for k in crops:
            if len(files[k]) > 1:
                raise ValueError(f"{video.key}__{k}.npy is in more than one folder under {features_dir}: "
                                 f"{', '.join(str(p) for p in files[k])}; expected one copy of each crop file")
        out.append(tuple(files[k][0] for k in crops))
    if missing:
        more = f"\n  ... and {len(missing) - SHOWN} more" if len(missing) > SHOWN else ""
        shown = "\n  ".join(missing[:SHOWN])
        raise FileNotFoundError(f"{len(missing)} listed video(s) lack crop files (looked for Name__K.npy in "
                                f"{features_dir} and its subfolders); first ones:\n  {shown}{more}")
    return out


def npy_shape(path: Path) -> tuple[int, ...]:
    """The shape in a ``.npy`` file's header (no data read); ``ValueError`` naming the file for
    anything but a numeric array."""
    try:
        with open(path, "rb") as fh:
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
            else:  # format 3.0 (utf-8 field names): let np.load read the header
                array = np.load(path, mmap_mode="r", allow_pickle=False)
                shape, dtype = array.shape, array.dtype
    except Exception as exc:  # not an .npy, truncated header, ...
        raise ValueError(f"{path}: unreadable .npy feature file ({exc})") from None
    if not np.issubdtype(dtype, np.number):
        raise ValueError(f"{path}: dtype {dtype}; expected float features")
    return tuple(shape)


def crop_shapes(videos: Sequence[xd.XDVideo], paths: Sequence[tuple[Path, ...]]) -> tuple[np.ndarray, int]:
    """``(T [V] int64, D)`` from the headers of every crop file: each ``[T, D]`` with T >= 1, the
    crops of a video of one T, every file of one D; else ``ValueError`` naming the file and what
    it was compared with."""
    lengths, dim, first = [], None, None
    for video, files in zip(videos, paths):
        t0 = None
        for k, path in enumerate(files):
            shape = npy_shape(path)
            if len(shape) != 2:
                raise ValueError(f"{path}: array of shape {shape}; expected [T, D] (one crop of one video)")
            t, d = shape
            if dim is None:
                dim, first = d, path
            if d != dim:
                raise ValueError(f"{path}: D = {d}; expected D = {dim} like {first}")
            if t0 is None:
                t0 = t
                if t < 1:
                    raise ValueError(f"{path}: no snippets (T = 0); expected T >= 1")
            elif t != t0:
                raise ValueError(f"video {video.key}: crop __{k} has T = {t} snippets ({path}), crop __0 has "
                                 f"T = {t0} ({files[0]}); expected one length for the five crops")
        lengths.append(t0)
    return np.array(lengths, dtype=np.int64), int(dim or 0)


# ----------------------------------------------------------------------------- test annotations

def annotations_path(annotations: str | Path | None = None) -> Path:
    """``annotations.txt``: the given file, or the one in a given folder, or the shipped copy."""
    path = xd.LIST_DIR / xd.ANNOTATIONS if annotations is None else Path(annotations)
    if path.is_dir():
        path = path / xd.ANNOTATIONS
    if not path.is_file():
        raise FileNotFoundError(f"annotation file {path} does not exist; expected XD-Violence's {xd.ANNOTATIONS}")
    return path


def annotate(videos: Sequence[xd.XDVideo], intervals: Mapping[str, tuple], where: str,
             strict: bool = True) -> list[xd.XDVideo]:
    """``videos`` with their intervals from ``{key: ((s, e), ...)}`` (:func:`xd.parse_annotations`).

    ``strict``: a violent video without an annotation line, or a line naming no listed video, is a
    ``ValueError`` naming it and ``where`` (the annotation file)."""
    listed = {v.key for v in videos}
    if strict:
        stray = [k for k in intervals if k not in listed]
        if stray:
            raise ValueError(f"{where}: {len(stray)} annotated video(s) are not in the test list (first: "
                             f"{stray[0]}); expected annotations of the listed violent videos only")
    out = []
    for video in videos:
        if video.is_anomalous and video.key not in intervals:
            if strict:
                raise ValueError(f"violent test video {video.key} has no line in {where}; expected one line "
                                 "per violent test video")
            out.append(video)
            continue
        out.append(xd.XDVideo(video.key, video.labels, tuple(intervals.get(video.key, ()))))
    return out


def read_test_videos(test_list: str | Path | None = None, annotations: str | Path | None = None) -> list[xd.XDVideo]:
    """The videos of a test list (default: the shipped ``rgb_test.list``) with their intervals from
    ``annotations`` (file or folder; default the shipped ``annotations.txt``), checked as :func:`annotate`."""
    test_list = xd.LIST_DIR / xd.TEST_LIST if test_list is None else test_list
    path = annotations_path(annotations)
    return annotate(xd.parse_list(test_list), xd.parse_annotations(path), str(path))


# ----------------------------------------------------------------------------- prepare

def prepare_xd(train_list: str | Path | None, test_list: str | Path | None, features_dir: str | Path,
               out: str | Path, *, annotations: str | Path | None = None, crop_mean: bool = False,
               progress: bool = True) -> Path:
    """Build a cache at ``out`` from XD-Violence's per-crop I3D files and its two feature lists.

    Parameters
    ----------
    train_list, test_list : ``rgb.list`` / ``rgb_test.list`` (None: the shipped copies,
        :data:`cbmil.data.xd_violence.LIST_DIR`); any folder prefix, each file found by name.
    features_dir : folder holding every listed ``Name__K.npy`` (``[T, D]`` float), searched recursively.
    out : cache folder to (re)create (:mod:`cbmil.data.dataset`).
    annotations : ``annotations.txt`` or a folder holding it (default: the shipped copy); every
        violent test video must have a line, every line a listed test video.
    crop_mean : average the five crops (C = 1) instead of keeping them.

    Returns
    -------
    The cache folder, ready for :func:`cbmil.data.dataset.load`: ``train_bags [N, C, 32, D]``,
    ``test_snippets [S, C, D]``, ``*_classes`` the first label's index in
    :data:`~cbmil.data.xd_violence.LABELS` (6 = Normal), ``*_class_sets`` bool ``[N, 6]`` / ``[V, 6]``,
    test frame labels over ``16 * T`` frames per video.
    """
    train_list = xd.LIST_DIR / xd.TRAIN_LIST if train_list is None else Path(train_list)
    test_list = xd.LIST_DIR / xd.TEST_LIST if test_list is None else Path(test_list)
    train = xd.parse_list(train_list)
    test = read_test_videos(test_list, annotations)
    index = index_crop_files(features_dir)
    paths = crop_paths(train + test, index, features_dir)  # every file there, before any is opened
    lengths, dim = crop_shapes(train + test, paths)
    train_lengths, test_lengths = lengths[:len(train)], lengths[len(train):]
    n_frames = np.array([xd.gt_length(t) for t in test_lengths], dtype=np.int64)

    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    n_crops, out_crops = xd.N_CROPS, 1 if crop_mean else xd.N_CROPS
    row_bytes = n_crops * dim * 4
    step = max(1, SLICE_BYTES // row_bytes)

    def reduce(x):
        return x.mean(axis=1, keepdims=True) if crop_mean else x

    videos = [(FeatureSource(v.key, "per_crop", p), int(t)) for v, p, t in zip(train + test, paths, lengths)]

    def open_video(video):  # as prepare(): short videos read whole one video ahead, long ones by slices
        source, t = video
        return _Reader(source, dim, whole=t * row_bytes <= SLICE_BYTES)

    labels = stream_videos(out, videos, len(train), open_video, reduce, out_crops, dim, step,
                           lambda k: xd.frame_ground_truth(test[k].intervals, n_frames[k]), progress)

    offsets = offsets_from_lengths(test_lengths)
    np.save(out / "train_classes.npy", xd.first_classes(train))
    np.save(out / "train_class_sets.npy", xd.class_sets(train))
    np.save(out / "test_offsets.npy", offsets)
    np.save(out / "test_classes.npy", xd.first_classes(test))
    np.save(out / "test_class_sets.npy", xd.class_sets(test))
    np.save(out / "test_n_frames.npy", n_frames)
    np.save(out / "test_frame_labels.npy", np.concatenate(labels) if labels else np.zeros(0, dtype=np.uint8))
    np.save(out / "test_frame_offsets.npy", offsets_from_lengths(n_frames))
    # meta.json last: a cache interrupted before this point is not mistaken for a whole one.
    write_meta(out, [v.key for v in train], [v.key for v in test], {
        "benchmark": "xd_violence", "source": "features", "features_dir": str(features_dir),
        "train_list": str(train_list), "test_list": str(test_list), "annotations": str(annotations_path(annotations)),
        "layout": "per_crop", "crops_in_files": n_crops, "crop_mean": crop_mean, "gt_convention": "snippets",
    }, labels=xd.LABELS)
    return out


# ----------------------------------------------------------------------------- stand-in features

def spread_subset(videos: Sequence, n: int | None) -> list:
    """``n`` of ``videos`` evenly spaced in their order, the first and the last included (all when
    ``n`` is None or not smaller)."""
    if n is None or n >= len(videos):
        return list(videos)
    return [videos[i] for i in np.unique(np.linspace(0, len(videos) - 1, n).round().astype(int))]


def write_xd_standin(root: str | Path, train_list: str | Path | None = None, test_list: str | Path | None = None,
                     dim: int = 1024, seed: int = 0, max_videos: int | None = None,
                     min_snippets: int = 16, max_snippets: int = 480,
                     lengths: Mapping[str, int] | None = None, annotations: str | Path | None = None) -> dict:
    """Write random float32 features under the real names of the lists, laid out as the public
    release: ``root/RGB/Name__K.npy`` (training) and ``root/RGBTest/Name__K.npy`` (test), K = 0..4,
    each ``[T, dim]``, the five crops of a video of one T. STAND-IN data: random numbers, not features.

    T is drawn uniformly in ``min_snippets..max_snippets`` (default 16..480: a mean near the public
    release's, about 250 snippets); a violent test video gets at least ``ceil(last annotated end /
    16) + 3``, so every interval lies inside its ``16 * T`` frames. ``lengths`` ``{key: T}`` overrides
    chosen videos. ``max_videos``: that many videos of each list, evenly spaced in list order (so
    violent and normal ones), instead of all.

    Lists (default: the shipped ones) and annotations (default: the shipped ``annotations.txt``) of
    the videos written are copied to ``root`` (their lines unchanged: the authors' folder prefixes).

    Returns ``{"features": root, "train_list", "test_list", "annotations": paths under root,
    "lengths": {key: T}}``.
    """
    rng = np.random.default_rng(seed)
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    lists = {"train_list": xd.LIST_DIR / xd.TRAIN_LIST if train_list is None else Path(train_list),
             "test_list": xd.LIST_DIR / xd.TEST_LIST if test_list is None else Path(test_list)}
    source = annotations_path(annotations)
    intervals = xd.parse_annotations(source)
    written: dict[str, int] = {}
    paths = {"features": root}
    for (name, path), folder in zip(lists.items(), ("RGB", "RGBTest")):
        (root / folder).mkdir(exist_ok=True)
        videos = spread_subset(xd.parse_list(path), max_videos)
        keep = {v.key for v in videos}
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
                 and xd.video_key(line.strip()) in keep]
        paths[name] = root / path.name
        paths[name].write_text("\n".join(lines) + "\n", encoding="utf-8")
        for video in videos:
            t = int(rng.integers(min_snippets, max_snippets + 1))
            ends = [e for _, e in intervals.get(video.key, ())]
            if ends:
                t = max(t, math.ceil(max(ends) / xd.FRAMES_PER_SNIPPET) + 3)
            t = int((lengths or {}).get(video.key, t))
            for k in range(xd.N_CROPS):
                np.save(root / folder / f"{video.key}__{k}.npy", rng.standard_normal((t, dim), dtype=np.float32))
            written[video.key] = t
    listed = set(written)
    paths["annotations"] = root / xd.ANNOTATIONS
    paths["annotations"].write_text("".join(line if line.endswith("\n") else line + "\n"
                                            for line in source.read_text(encoding="utf-8").splitlines(keepends=True)
                                            if line.split() and xd.video_key(line.split()[0]) in listed),
                                    encoding="utf-8")
    return paths | {"lengths": written}
