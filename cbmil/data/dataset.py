"""The one shape every data source arrives in, and its on-disk cache.

A :class:`VADDataset` holds what training and evaluation need and nothing else:

* training bags: each training video cut into 32 segments (:func:`cbmil.data.features.segment_pool`),
  ``train_bags [N, C, 32, D]`` with C crops, and each video's class;
* test snippets: every test video's snippet features back to back, ``test_snippets [S, C, D]``
  with ``test_offsets [V + 1]``, each video's class, length in frames and frame ground truth.

The synthetic generator (:mod:`cbmil.data.synthetic`) and ``cbmil data prepare`` (:mod:`cbmil.data.prepare`)
both produce it; :func:`save` / :func:`load` move it to and from a folder of ``.npy`` files that
:func:`load` memory-maps, so a cache of any size opens in milliseconds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cbmil.data.ucf_crime import LABELS, NORMAL_INDEX

CACHE_VERSION = 1
_ARRAYS = ("train_bags", "train_classes", "test_snippets", "test_offsets", "test_classes",
           "test_n_frames", "test_frame_labels", "test_frame_offsets")
#: Arrays a cache holds only for a multi-label benchmark (XD-Violence).
_OPTIONAL = ("train_class_sets", "test_class_sets")


@dataclass
class VADDataset:
    """Training bags and test snippets of a UCF-Crime-shaped dataset.

    Attributes
    ----------
    train_bags : float32 ``[N, C, 32, D]`` segment features of the N training videos.
    train_classes : int64 ``[N]`` class index (0..12 anomaly classes, 13 = Normal).
    test_snippets : float32 ``[S, C, D]`` snippet features of all test videos, back to back.
    test_offsets : int64 ``[V + 1]`` video v owns ``test_snippets[offsets[v]:offsets[v+1]]``.
    test_classes : int64 ``[V]`` class index of each test video.
    test_n_frames : int64 ``[V]`` length of each test video in frames.
    test_frame_labels : uint8 ``[F]`` frame ground truth of all test videos, back to back.
    test_frame_offsets : int64 ``[V + 1]`` video v owns frames ``[fo[v]:fo[v+1]]``.
    train_keys, test_keys : video keys, in the order above.
    meta : free-form description (source, preset, generator parameters, ``benchmark``, ...).
    labels : the benchmark's class names with ``"Normal"`` last (default UCF-Crime's 13 + Normal;
        XD-Violence: :data:`cbmil.data.xd_violence.LABELS`). Class indices index this tuple.
    train_class_sets, test_class_sets : bool ``[N, K]`` / ``[V, K]`` (K = ``len(labels) - 1``) or
        None: every class a video carries, for a multi-label benchmark. ``*_classes`` then hold
        the *first* label; None means one label per video (see :attr:`train_sets`).
    """

    train_bags: np.ndarray
    train_classes: np.ndarray
    test_snippets: np.ndarray
    test_offsets: np.ndarray
    test_classes: np.ndarray
    test_n_frames: np.ndarray
    test_frame_labels: np.ndarray
    test_frame_offsets: np.ndarray
    train_keys: list[str] = field(default_factory=list)
    test_keys: list[str] = field(default_factory=list)
    meta: dict = field(default_factory=dict)
    labels: tuple[str, ...] = LABELS
    train_class_sets: np.ndarray | None = None
    test_class_sets: np.ndarray | None = None

    def __post_init__(self):
        self.labels = tuple(self.labels)
        self.validate()

    # ------------------------------------------------------------------ derived views
    @property
    def dim(self) -> int:
        return int(self.train_bags.shape[-1])

    @property
    def n_crops(self) -> int:
        return int(self.train_bags.shape[1])

    @property
    def class_names(self) -> tuple[str, ...]:
        """The anomaly classes (``labels`` without Normal)."""
        return self.labels[:-1]

    @property
    def normal_index(self) -> int:
        """Class index of normal videos (13 for UCF-Crime, 6 for XD-Violence)."""
        return len(self.labels) - 1

    @property
    def multi_label(self) -> bool:
        """Whether some video carries more than one class."""
        return any(s is not None and bool((np.asarray(s).sum(axis=1) > 1).any())
                   for s in (self.train_class_sets, self.test_class_sets))

    @property
    def train_labels(self) -> np.ndarray:
        """``[N]`` 1 for an abnormal training video, 0 for a normal one."""
        return (self.train_classes != self.normal_index).astype(np.int64)

    @property
    def train_sets(self) -> np.ndarray:
        """bool ``[N, K]``: the classes of each training video (one-hot of ``train_classes`` for a
        single-label benchmark; a normal video's row is all False)."""
        return _sets(self.train_class_sets, self.train_classes, self.normal_index)

    @property
    def test_sets(self) -> np.ndarray:
        """bool ``[V, K]``: the classes of each test video, as :attr:`train_sets`."""
        return _sets(self.test_class_sets, self.test_classes, self.normal_index)

    def counts(self, split: str, any_label: bool = False) -> dict[str, int]:
        """Videos per label of ``split`` (``"train"`` or ``"test"``), in :attr:`labels` order: by
        first label, or with ``any_label`` a multi-label video counted for each of its classes."""
        classes = {"train": self.train_classes, "test": self.test_classes}[split]
        hist = np.bincount(np.asarray(classes), minlength=len(self.labels))
        if any_label:
            sets = self.train_sets if split == "train" else self.test_sets
            hist = np.append(sets.sum(axis=0), hist[-1])
        return {label: int(n) for label, n in zip(self.labels, hist)}

    def summary(self) -> dict:
        """Per-class counts and test frame totals (what ``cbmil data summary`` prints); for a
        multi-label benchmark also the counts by any label and the multi-label videos."""
        out = {
            "train_counts": self.counts("train"),
            "test_counts": self.counts("test"),
            "test_frames": int(self.test_frame_offsets[-1]),
            "test_anomalous_frames": int(np.asarray(self.test_frame_labels, dtype=np.int64).sum()),
        }
        if self.train_class_sets is not None or self.test_class_sets is not None:
            out["train_counts_any"] = self.counts("train", any_label=True)
            out["test_counts_any"] = self.counts("test", any_label=True)
            out["multi_label_videos"] = {"train": int((self.train_sets.sum(axis=1) > 1).sum()),
                                         "test": int((self.test_sets.sum(axis=1) > 1).sum())}
        return out

    # ------------------------------------------------------------------ checks
    def validate(self) -> None:
        """Check shapes and consistency; raise ``ValueError`` naming the array at fault."""
        def fail(name, expected, got):
            raise ValueError(f"VADDataset.{name}: expected {expected}, got {got}")

        if self.train_bags.ndim != 4:
            fail("train_bags", "[N, C, 32, D]", self.train_bags.shape)
        n = self.train_bags.shape[0]
        if self.train_classes.shape != (n,):
            fail("train_classes", f"shape ({n},)", self.train_classes.shape)
        if self.test_snippets.ndim != 3 or self.test_snippets.shape[1:] != self.train_bags.shape[1:2] + self.train_bags.shape[3:]:
            fail("test_snippets", f"[S, {self.n_crops}, {self.dim}]", self.test_snippets.shape)
        v = len(self.test_classes)
        for name, arr, length in (("test_offsets", self.test_offsets, v + 1),
                                  ("test_frame_offsets", self.test_frame_offsets, v + 1),
                                  ("test_n_frames", self.test_n_frames, v)):
            if arr.shape != (length,):
                fail(name, f"shape ({length},)", arr.shape)
        if self.test_offsets[0] != 0 or self.test_offsets[-1] != len(self.test_snippets) or np.any(np.diff(self.test_offsets) < 1):
            fail("test_offsets", f"increasing from 0 to S = {len(self.test_snippets)}", self.test_offsets[[0, -1]])
        if not np.array_equal(np.diff(self.test_frame_offsets), self.test_n_frames) or self.test_frame_offsets[0] != 0:
            fail("test_frame_offsets", "cumulative sums of test_n_frames from 0", self.test_frame_offsets[:3])
        if len(self.test_frame_labels) != self.test_frame_offsets[-1]:
            fail("test_frame_labels", f"length {self.test_frame_offsets[-1]}", len(self.test_frame_labels))
        if len(self.labels) < 2 or self.labels[-1] != LABELS[NORMAL_INDEX]:
            fail("labels", "class names with 'Normal' last", self.labels)
        normal = self.normal_index
        for name, arr in (("train_classes", self.train_classes), ("test_classes", self.test_classes)):
            if len(arr) and (arr.min() < 0 or arr.max() > normal):
                fail(name, f"class indices in 0..{normal}", (arr.min(), arr.max()))
        for name, sets, classes in (("train_class_sets", self.train_class_sets, self.train_classes),
                                    ("test_class_sets", self.test_class_sets, self.test_classes)):
            if sets is None:
                continue
            sets = np.asarray(sets)
            if sets.dtype != bool or sets.shape != (len(classes), normal):
                fail(name, f"bool [{len(classes)}, {normal}]", f"{sets.dtype} {sets.shape}")
            first = np.asarray(classes)
            rows = np.arange(len(first))
            abnormal = first != normal
            bad = np.flatnonzero((abnormal & ~sets[rows, np.minimum(first, normal - 1)])
                                 | (~abnormal & sets.any(axis=1)) | (abnormal & ~sets.any(axis=1)))
            if len(bad):
                fail(name, f"each row to hold the video's first class ({name.replace('_sets', 'es')}) and a normal "
                     f"video's row to be empty; first bad video {bad[0]}", sets[bad[0]].tolist())
        for name, keys, length in (("train_keys", self.train_keys, n), ("test_keys", self.test_keys, v)):
            if keys and len(keys) != length:
                fail(name, f"{length} keys", len(keys))


def _sets(sets, classes, normal: int) -> np.ndarray:
    if sets is not None:
        return np.asarray(sets, dtype=bool)
    classes = np.asarray(classes)
    out = np.zeros((len(classes), normal), dtype=bool)
    abnormal = np.flatnonzero(classes != normal)
    out[abnormal, classes[abnormal]] = True
    return out


def offsets_from_lengths(lengths) -> np.ndarray:
    """``[V + 1]`` offsets ``[0, l0, l0 + l1, ...]`` from ``[V]`` lengths."""
    return np.concatenate([[0], np.cumsum(np.asarray(lengths, dtype=np.int64))]).astype(np.int64)


def save(dataset: VADDataset, folder: str | Path) -> Path:
    """Write ``dataset`` to ``folder`` as one ``.npy`` per array plus ``meta.json``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name in _ARRAYS + _OPTIONAL:
        if getattr(dataset, name) is not None:
            np.save(folder / f"{name}.npy", np.asarray(getattr(dataset, name)))
    write_meta(folder, dataset.train_keys, dataset.test_keys, dataset.meta, dataset.labels)
    return folder


def write_meta(folder: Path, train_keys, test_keys, meta: dict, labels=LABELS) -> None:
    """``meta.json`` of a cache: its version, its benchmark's ``labels``, the video keys, ``meta``."""
    payload = {"version": CACHE_VERSION, "labels": list(labels), "train_keys": list(train_keys),
               "test_keys": list(test_keys), "meta": meta}
    (Path(folder) / "meta.json").write_text(json.dumps(payload, indent=1))


def load(folder: str | Path, mmap: bool = True) -> VADDataset:
    """Open a cache written by :func:`save` or ``cbmil data prepare``; arrays are memory-mapped
    (read-only) unless ``mmap=False``."""
    folder = Path(folder)
    meta_path = folder / "meta.json"
    if not meta_path.is_file():
        raise FileNotFoundError(f"{folder} is not a cbmil cache: {meta_path} is missing "
                                "(make one with `python -m cbmil data prepare`)")
    payload = json.loads(meta_path.read_text())
    if payload.get("version") != CACHE_VERSION:
        raise ValueError(f"{meta_path}: cache version {payload.get('version')}; expected {CACHE_VERSION} "
                         "(re-run `cbmil data prepare`)")
    labels = payload.get("labels")
    if labels not in [list(known) for known in benchmark_labels().values()]:
        raise ValueError(f"{meta_path}: labels {labels}; expected those of one of {sorted(benchmark_labels())} "
                         "(re-run `cbmil data prepare`)")
    arrays = {}
    for name in _ARRAYS + _OPTIONAL:
        path = folder / f"{name}.npy"
        if name in _OPTIONAL and not path.is_file():
            continue
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing from the cache")
        arrays[name] = np.load(path, mmap_mode="r" if mmap else None)
    return VADDataset(**arrays, train_keys=payload["train_keys"], test_keys=payload["test_keys"],
                      meta=payload["meta"], labels=tuple(labels))


def benchmark_labels() -> dict[str, tuple[str, ...]]:
    """``{benchmark: labels}`` of the benchmarks the kit knows (``ucf_crime``, ``xd_violence``)."""
    from cbmil.data import xd_violence
    return {"ucf_crime": LABELS, "xd_violence": xd_violence.LABELS}
