"""``cbmil data prepare``: stream a user's feature folders into a memory-mappable cache.

One video is read at a time (and a long video one slice at a time), so memory stays bounded
by a slice of one video, whatever the dataset's size. Before any feature is read, every video
listed in the official split files must have a feature file, and all files must agree on the
number of crops and the feature dimension; otherwise it stops and names what is wrong.
"""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from tqdm import tqdm

from cbmil.data.dataset import offsets_from_lengths, write_meta
from cbmil.data.features import (N_SEGMENTS, FeatureSource, check_features, index_feature_folder, read_c3d_txt, segment_bounds,
                       segment_pool)
from cbmil.data.frames import frame_ground_truth, snippet_frames
from cbmil.data.ucf_crime import TEST_ANNOTATIONS, TRAIN_LIST, parse_frame_counts, parse_test_annotations, parse_train_list

#: Largest slice of one video held in memory at once (bytes of float32 features).
SLICE_BYTES = 64 * 2**20


class _Reader:
    """Reads time slices ``[t0:t1]`` of one video as float32 ``[t, C, D]``, checked finite."""

    def __init__(self, source: FeatureSource, dim: int, whole: bool = False):
        """``whole``: read the files in one go (plain reads beat page faults on a memory map);
        otherwise memory-map them and read slices (long videos, memory bounded by a slice)."""
        self.source, self.dim, self.whole = source, dim, whole
        if source.layout == "c3d":
            self.arrays = [read_c3d_txt(source.paths[0])]
        else:
            self.arrays = [np.load(p, mmap_mode=None if whole else "r", allow_pickle=False) for p in source.paths]

    def read(self, t0: int, t1: int, check: bool = True) -> np.ndarray:
        src = self.source
        if src.layout == "ten_crop":
            x = np.asarray(self.arrays[0][t0:t1], dtype=np.float32)
        else:
            x = np.stack([np.asarray(a[t0:t1], dtype=np.float32) for a in self.arrays], axis=1)
        if check and len(src.paths) > 1:  # per-crop files: name the crop's own file
            for k, path in enumerate(src.paths):
                check_features(x[:, k], f"{path} (snippets {t0}..{t1 - 1})", self.dim)
        elif check:
            check_features(x, f"{src.paths[0]} (snippets {t0}..{t1 - 1})", self.dim)
        return x


def _pool_bag(reader: "_Reader", t: int, reduce, crops: int, dim: int, step: int) -> np.ndarray:
    """One training bag ``[C, 32, D]``: whole videos pooled at once, long ones one segment (and
    within it one slice of ``step`` snippets) at a time."""
    if reader.whole:
        return np.moveaxis(_pool_whole(reader, t, reduce), 0, 1)
    bag = np.empty((crops, N_SEGMENTS, dim), dtype=np.float32)
    bounds = segment_bounds(t, N_SEGMENTS)
    for s in range(N_SEGMENTS):
        a, b = bounds[s], max(bounds[s + 1], bounds[s] + 1)  # empty segment: the snippet at its start
        acc = np.zeros((crops, dim), dtype=np.float64)
        for t0 in range(a, b, step):
            acc += reduce(reader.read(t0, min(t0 + step, b))).sum(axis=0, dtype=np.float64)
        bag[:, s] = acc / (b - a)
    return bag


def _pool_whole(reader: "_Reader", t: int, reduce) -> np.ndarray:
    """32 segment means ``[32, C, D]`` of a video read whole (:func:`segment_pool`).

    NaN/Inf are caught on the small pooled result, which any non-finite input makes
    non-finite; only then is the video re-read with the element-wise check that names it.
    """
    pooled = segment_pool(reduce(reader.read(0, t, check=False)), N_SEGMENTS)
    if not np.isfinite(pooled).all():
        reader.read(0, t)  # raises, naming the file and the snippets
    return pooled


class _NpyWriter:
    """Writes a float32 ``.npy`` of a known shape front to back, one block of rows at a time.

    Plain sequential writes: a fresh memory map instead page-faults on every page it touches and
    must be flushed, which made up about half of ``prepare``'s time. ``close`` checks that exactly
    ``shape[0]`` rows were written.
    """

    def __init__(self, path: Path, shape: tuple[int, ...]):
        self.path, self.shape, self.rows = path, tuple(int(n) for n in shape), 0
        self.file = open(path, "wb")
        np.lib.format.write_array_header_2_0(self.file, {"descr": np.lib.format.dtype_to_descr(np.dtype("<f4")),
                                                         "fortran_order": False, "shape": self.shape})

    def write(self, block: np.ndarray) -> None:
        if tuple(block.shape[1:]) != self.shape[1:] or self.rows + len(block) > self.shape[0]:
            raise ValueError(f"{self.path}: block of shape {block.shape} does not fit at row {self.rows} of "
                             f"{self.shape}")
        self.file.write(np.ascontiguousarray(block, dtype="<f4").data)
        self.rows += len(block)

    def close(self) -> None:
        self.file.close()
        if self.rows != self.shape[0]:
            raise ValueError(f"{self.path}: {self.rows} rows written; expected {self.shape[0]}")

    def __enter__(self) -> "_NpyWriter":
        return self

    def __exit__(self, error_type, *_) -> None:
        if error_type is None:
            self.close()
        else:  # an error is already on its way: release the file, keep that error
            self.file.close()


def stream_videos(out: Path, videos, n_train: int, open_video, reduce, out_crops: int, dim: int, step: int,
                  test_labels, progress: bool = True) -> list[np.ndarray]:
    """Write ``train_bags.npy`` and ``test_snippets.npy`` in ``out``, front to back, one video at a time.

    ``videos``: ``(source, T)`` of every video, the ``n_train`` training videos first (each pooled
    into a bag ``[C, 32, D]``), then the test videos (their ``T`` snippets written as they are
    read, a slice of ``step`` snippets at a time); ``open_video(video)`` gives its reader (short
    videos are opened whole, by a helper thread one video ahead, so that reading overlaps pooling
    and writing); ``reduce`` maps a ``[t, C, D]`` slice to the ``out_crops`` kept. Returns
    ``test_labels(k)`` (the frame ground truth) of each test video k, in order.
    """
    n_test_snippets = int(sum(t for _, t in videos[n_train:]))
    bar = tqdm(total=len(videos), desc="prepare", unit="video", disable=not progress)
    labels = []
    with (_NpyWriter(out / "train_bags.npy", (n_train, out_crops, N_SEGMENTS, dim)) as bags,
          _NpyWriter(out / "test_snippets.npy", (n_test_snippets, out_crops, dim)) as snippets,
          ThreadPoolExecutor(max_workers=1) as pool):
        ahead = pool.submit(open_video, videos[0]) if videos else None
        for v, (_, t) in enumerate(videos):
            reader = ahead.result()
            if v + 1 < len(videos):
                ahead = pool.submit(open_video, videos[v + 1])
            if v < n_train:
                bags.write(_pool_bag(reader, t, reduce, out_crops, dim, step)[None])
            else:
                for t0 in range(0, t, step):
                    snippets.write(reduce(reader.read(t0, min(t0 + step, t))))
                labels.append(test_labels(v - n_train))
            del reader
            bar.update()
    bar.close()
    return labels


def _missing(records, sources, folder) -> list[str]:
    return [f"{r.key} (looked in {folder})" for r in records if r.key not in sources]


def prepare(train_dir, test_dir, annotations_dir, out, crop_mean: bool = False,
            frame_counts: str | Path | None = None, progress: bool = True) -> Path:
    """Build a cache at ``out`` from feature folders and the two official split files.

    Parameters
    ----------
    train_dir, test_dir : folders holding one feature file (or per-crop files) per video, in
        any layout of :mod:`cbmil.data.features`, searched recursively.
    annotations_dir : folder with ``Anomaly_Train.txt`` and
        ``Temporal_Anomaly_Annotation_for_Testing_Videos.txt``.
    out : cache folder to (re)create; see :mod:`cbmil.data.dataset` for its files.
    crop_mean : average the crops (C becomes 1) instead of keeping all C crops.
    frame_counts : optional ``path nframes ...`` list giving real frame counts of the test
        videos; required when test features are 32-segment C3D files (T is not 16-frame
        snippets there). Otherwise a video of T snippets is ``16 * T`` frames long.

    Returns
    -------
    The cache folder, ready for :func:`cbmil.data.dataset.load`.
    """
    annotations_dir = Path(annotations_dir)
    train_records = parse_train_list(annotations_dir / TRAIN_LIST)
    test_records = parse_test_annotations(annotations_dir / TEST_ANNOTATIONS)
    train_sources = index_feature_folder(train_dir)
    test_sources = train_sources if Path(test_dir) == Path(train_dir) else index_feature_folder(test_dir)

    missing = _missing(train_records, train_sources, train_dir) + _missing(test_records, test_sources, test_dir)
    if missing:
        shown = "\n  ".join(missing[:10])
        raise FileNotFoundError(f"{len(missing)} listed video(s) have no feature file; first ones:\n  {shown}")

    # Shapes from file headers only: check C and D agree before reading any feature.
    shapes = {}
    for record, sources in [(r, train_sources) for r in train_records] + [(r, test_sources) for r in test_records]:
        src = sources[record.key]
        shapes[record.key] = src.shape()
    first_key = train_records[0].key
    _, n_crops, dim = shapes[first_key]
    for key, (t, c, d) in shapes.items():
        src = (train_sources.get(key) or test_sources[key]).paths[0]
        if d != dim or c != n_crops:
            raise ValueError(f"{src}: {c} crops x D = {d}; expected {n_crops} crops x D = {dim} "
                             f"like {train_sources[first_key].paths[0]}")
        if t < 1:
            raise ValueError(f"{src}: no snippets (T = 0)")
    out_crops = 1 if crop_mean else n_crops

    counts = parse_frame_counts(frame_counts) if frame_counts else {}
    test_lengths = [shapes[r.key][0] for r in test_records]
    n_frames = []
    for record, t in zip(test_records, test_lengths):
        if test_sources[record.key].layout == "c3d" or record.key in counts:
            if record.key not in counts:
                raise ValueError(f"{test_sources[record.key].paths[0]}: 32-segment C3D test features need the "
                                 "video's frame count; pass --frame-counts FILE listing it")
            n_frames.append(counts[record.key])
        else:
            n_frames.append(snippet_frames(t))
    n_frames = np.array(n_frames, dtype=np.int64)

    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    row_bytes = n_crops * dim * 4
    step = max(1, SLICE_BYTES // row_bytes)

    def reduce(x):
        return x.mean(axis=1, keepdims=True) if crop_mean else x

    # Videos that fit in a slice are read whole by a helper thread one video ahead (file reads
    # release the GIL), so reading overlaps pooling and writing; at most two such videos are in
    # memory at once. Longer videos are memory-mapped and read slice by slice.
    videos = [(train_sources[r.key], shapes[r.key][0]) for r in train_records]
    videos += [(test_sources[r.key], t) for r, t in zip(test_records, test_lengths)]

    def open_video(video):
        source, t = video
        return _Reader(source, dim, whole=t * row_bytes <= SLICE_BYTES)

    labels = stream_videos(out, videos, len(train_records), open_video, reduce, out_crops, dim, step,
                           lambda k: frame_ground_truth(test_records[k].intervals, n_frames[k]), progress)
    offsets = offsets_from_lengths(test_lengths)

    np.save(out / "train_classes.npy", np.array([r.class_index for r in train_records], dtype=np.int64))
    np.save(out / "test_offsets.npy", offsets)
    np.save(out / "test_classes.npy", np.array([r.class_index for r in test_records], dtype=np.int64))
    np.save(out / "test_n_frames.npy", n_frames)
    np.save(out / "test_frame_labels.npy", np.concatenate(labels))
    np.save(out / "test_frame_offsets.npy", offsets_from_lengths(n_frames))
    # meta.json last: a cache interrupted before this point is not mistaken for a whole one.
    write_meta(out, [r.key for r in train_records], [r.key for r in test_records], {
        "source": "features", "train_dir": str(train_dir), "test_dir": str(test_dir),
        "layout": train_sources[first_key].layout, "crops_in_files": n_crops, "crop_mean": crop_mean,
    })
    return out

