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
    meta : free-form description (source, preset, generator parameters, ...).
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

    def __post_init__(self):
        self.validate()

    # ------------------------------------------------------------------ derived views
    @property
    def dim(self) -> int:
        return int(self.train_bags.shape[-1])

    @property
    def n_crops(self) -> int:
        return int(self.train_bags.shape[1])

    @property
    def train_labels(self) -> np.ndarray:
        """``[N]`` 1 for an abnormal training video, 0 for a normal one."""
        return (self.train_classes != NORMAL_INDEX).astype(np.int64)

    def counts(self, split: str) -> dict[str, int]:
        """Videos per label of ``split`` (``"train"`` or ``"test"``), in LABELS order."""
        classes = {"train": self.train_classes, "test": self.test_classes}[split]
        hist = np.bincount(np.asarray(classes), minlength=len(LABELS))
        return {label: int(n) for label, n in zip(LABELS, hist)}

    def summary(self) -> dict:
        """Per-class counts and test frame totals (what ``cbmil data summary`` prints)."""
        return {
            "train_counts": self.counts("train"),
            "test_counts": self.counts("test"),
            "test_frames": int(self.test_frame_offsets[-1]),
            "test_anomalous_frames": int(np.asarray(self.test_frame_labels, dtype=np.int64).sum()),
        }

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
        for name, arr in (("train_classes", self.train_classes), ("test_classes", self.test_classes)):
            if len(arr) and (arr.min() < 0 or arr.max() > NORMAL_INDEX):
                fail(name, f"class indices in 0..{NORMAL_INDEX}", (arr.min(), arr.max()))
        for name, keys, length in (("train_keys", self.train_keys, n), ("test_keys", self.test_keys, v)):
            if keys and len(keys) != length:
                fail(name, f"{length} keys", len(keys))


def offsets_from_lengths(lengths) -> np.ndarray:
    """``[V + 1]`` offsets ``[0, l0, l0 + l1, ...]`` from ``[V]`` lengths."""
    return np.concatenate([[0], np.cumsum(np.asarray(lengths, dtype=np.int64))]).astype(np.int64)


def save(dataset: VADDataset, folder: str | Path) -> Path:
    """Write ``dataset`` to ``folder`` as one ``.npy`` per array plus ``meta.json``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name in _ARRAYS:
        np.save(folder / f"{name}.npy", np.asarray(getattr(dataset, name)))
    write_meta(folder, dataset.train_keys, dataset.test_keys, dataset.meta)
    return folder


def write_meta(folder: Path, train_keys, test_keys, meta: dict) -> None:
    payload = {"version": CACHE_VERSION, "labels": list(LABELS), "train_keys": list(train_keys),
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
    if payload.get("version") != CACHE_VERSION or payload.get("labels") != list(LABELS):
        raise ValueError(f"{meta_path}: cache version {payload.get('version')}; expected {CACHE_VERSION} "
                         "(re-run `cbmil data prepare`)")
    arrays = {}
    for name in _ARRAYS:
        path = folder / f"{name}.npy"
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing from the cache")
        arrays[name] = np.load(path, mmap_mode="r" if mmap else None)
    return VADDataset(**arrays, train_keys=payload["train_keys"], test_keys=payload["test_keys"],
                      meta=payload["meta"])
