"""Readers for the public UCF-Crime feature layouts, and the 32-segment pooling of a video.

Every reader returns float32 ``[T, C, D]``: T units in time (16-frame snippets for I3D, the
32 segments of a Sultani C3D file), C crops (10 for the I3D ten-crop release, 1 otherwise) and
the feature dimension D, whatever D is.

Layouts (the public releases of UCF-Crime features):

============  ================================  =============================
layout        files per video                   array in the file
============  ================================  =============================
``c3d``       ``Name_x264.txt``                 32 rows x D floats (text)
``ten_crop``  ``Name_x264_i3d.npy``             ``[T, 10, D]``
``per_crop``  ``Name_x264__K.npy``, K = 0..9    ``[T, D]`` each (K = 0: centre)
``plain``     ``Name_x264.npy``                 ``[T, D]``
============  ================================  =============================
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cbmil.data.ucf_crime import video_key

N_SEGMENTS = 32
LAYOUTS = ("c3d", "ten_crop", "per_crop", "plain")
_CROP_RE = re.compile(r"__(\d+)\.npy$")


@dataclass(frozen=True)
class FeatureSource:
    """Where one video's features live: its layout and file(s) (per-crop files in crop order)."""

    key: str
    layout: str
    paths: tuple[Path, ...]

    def shape(self) -> tuple[int, int, int]:
        """``(T, C, D)`` read from the file headers only (no feature data is loaded)."""
        if self.layout == "c3d":
            with open(self.paths[0], encoding="utf-8") as fh:
                rows = [line for line in fh if line.strip()]
            return len(rows), 1, len(rows[0].split()) if rows else 0
        arr = _open_npy(self.paths[0])
        if self.layout == "ten_crop":
            _check_ndim(arr, 3, self.paths[0], "[T, crops, D]")
            return arr.shape
        _check_ndim(arr, 2, self.paths[0], "[T, D]")
        return arr.shape[0], len(self.paths), arr.shape[1]


def _layout_of(filename: str) -> str | None:
    if filename.endswith(".txt"):
        return "c3d"
    if filename.endswith("_i3d.npy"):
        return "ten_crop"
    if _CROP_RE.search(filename):
        return "per_crop"
    if filename.endswith(".npy"):
        return "plain"
    return None


def index_feature_folder(folder: str | Path) -> dict[str, FeatureSource]:
    """Map each video key to its feature file(s) under ``folder`` (searched recursively).

    File names may use any public spelling (``Normal_Videos003_x264_i3d.npy``,
    ``Abuse028_x264__3.npy``, ...). Two layouts for one video, or an incomplete set of
    per-crop files (crops must be numbered 0..C-1), raise ``ValueError`` naming the files.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"feature folder {folder} does not exist")
    found: dict[str, list[tuple[str, Path]]] = {}
    for dirpath, _, filenames in os.walk(folder):
        for filename in sorted(filenames):
            layout = _layout_of(filename)
            if layout is None:
                continue
            try:
                key = video_key(filename)
            except ValueError:
                continue
            found.setdefault(key, []).append((layout, Path(dirpath) / filename))
    sources = {}
    for key, entries in found.items():
        layouts = {layout for layout, _ in entries}
        if len(layouts) > 1 or (layouts != {"per_crop"} and len(entries) > 1):
            names = ", ".join(str(p) for _, p in entries)
            raise ValueError(f"video {key} has more than one feature file: {names}; expected exactly one layout")
        layout = layouts.pop()
        paths = [p for _, p in entries]
        if layout == "per_crop":
            crops = {int(_CROP_RE.search(p.name).group(1)): p for p in paths}
            if sorted(crops) != list(range(len(crops))):
                raise ValueError(f"video {key}: per-crop files {sorted(crops)} found; expected crops 0..{len(crops) - 1}")
            paths = [crops[k] for k in range(len(crops))]
        sources[key] = FeatureSource(key, layout, tuple(paths))
    return sources


def _open_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except Exception as exc:  # corrupt header, pickled object, truncated file, ...
        raise ValueError(f"{path}: unreadable .npy feature file ({exc})") from exc


def _check_ndim(arr: np.ndarray, ndim: int, path: Path, expected: str) -> None:
    if arr.ndim != ndim:
        raise ValueError(f"{path}: array of shape {arr.shape}; expected {expected}")


def read_c3d_txt(path: str | Path) -> np.ndarray:
    """Read a Sultani C3D text file: one segment per line, whitespace-separated floats.

    Returns float32 ``[T, D]`` (32 x 4096 for the public release). A line with a different
    number of values, or a value that is not a number, raises ``ValueError`` naming the line.
    """
    path = Path(path)
    rows = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = np.array(line.split(), dtype=np.float32)
            except ValueError:
                raise ValueError(f"{path}, line {lineno}: expected whitespace-separated numbers") from None
            if rows and row.shape != rows[0].shape:
                raise ValueError(f"{path}, line {lineno}: {row.size} values; expected {rows[0].size} like line 1")
            rows.append(row)
    if not rows:
        raise ValueError(f"{path}: empty feature file; expected 32 rows of floats")
    return np.stack(rows)


def load_video(source: FeatureSource, dim: int | None = None) -> np.ndarray:
    """Load one video's features as float32 ``[T, C, D]`` and check them.

    Raises ``ValueError`` naming the file for an unreadable file, a wrong shape, a feature
    dimension other than ``dim`` (when given), an empty video, or any NaN/Inf.
    """
    if source.layout == "c3d":
        feats = read_c3d_txt(source.paths[0])[:, None, :]
    elif source.layout == "ten_crop":
        arr = _open_npy(source.paths[0])
        _check_ndim(arr, 3, source.paths[0], "[T, crops, D]")
        feats = np.asarray(arr, dtype=np.float32)
    else:
        crops = []
        for path in source.paths:
            arr = _open_npy(path)
            _check_ndim(arr, 2, path, "[T, D]")
            if crops and arr.shape != crops[0].shape:
                raise ValueError(f"{path}: shape {arr.shape}; expected {crops[0].shape} like crop 0")
            crops.append(np.asarray(arr, dtype=np.float32))
        feats = np.stack(crops, axis=1)
    check_features(feats, source.paths[0], dim)
    return feats


def check_features(feats: np.ndarray, where, dim: int | None = None) -> None:
    """Raise ``ValueError`` naming ``where`` if ``feats`` ``[T, C, D]`` is empty, has the
    wrong D, or holds NaN/Inf."""
    if feats.shape[0] == 0:
        raise ValueError(f"{where}: no snippets (T = 0)")
    if dim is not None and feats.shape[-1] != dim:
        raise ValueError(f"{where}: feature dimension {feats.shape[-1]}; expected D = {dim}")
    if not np.isfinite(feats).all():
        bad = int((~np.isfinite(feats)).sum())
        raise ValueError(f"{where}: {bad} NaN/Inf values; expected finite features")


def segment_bounds(n_snippets: int, n_segments: int = N_SEGMENTS) -> np.ndarray:
    """Segment boundaries ``floor(i * T / n)``, i = 0..n (int64 ``[n + 1]``), the rule of
    Sultani's code (``floor(linspace(0, T, n + 1))``) and its RTFM/DeepMIL descendants, in exact
    integer arithmetic (for n = 32, a power of two, the float form is exact too)."""
    if n_snippets < 1:
        raise ValueError(f"n_snippets must be >= 1, got {n_snippets}")
    return np.arange(n_segments + 1, dtype=np.int64) * int(n_snippets) // n_segments


def segment_pool(snippets: np.ndarray, n: int = N_SEGMENTS) -> np.ndarray:
    """Pool T snippet features into ``n`` segment features.

    Segment i is the mean of snippets ``b[i]:b[i+1]`` with ``b = floor(linspace(0, T, n + 1))``;
    an empty segment (possible when T < n) takes the single snippet at ``b[i]``. So T = n
    returns the snippets unchanged and T = 1 repeats the one snippet n times.

    Parameters
    ----------
    snippets : array ``[T, ...]`` (e.g. ``[T, D]`` or ``[T, C, D]``), T >= 1.

    Returns
    -------
    array ``[n, ...]``, float32.
    """
    snippets = np.asarray(snippets)
    if snippets.ndim < 1 or snippets.shape[0] < 1:
        raise ValueError(f"snippets must have shape [T, ...] with T >= 1, got {snippets.shape}")
    weights = pooling_matrix(snippets.shape[0], n)
    dtype = np.float64 if snippets.dtype == np.float64 else np.float32
    flat = snippets.reshape(snippets.shape[0], -1).astype(dtype, copy=False)
    # one matrix product [n, T] @ [T, rest]: several times faster than a strided reduction
    return (weights.astype(dtype) @ flat).reshape((n,) + snippets.shape[1:]).astype(np.float32)


def pooling_matrix(n_snippets: int, n: int = N_SEGMENTS) -> np.ndarray:
    """``[n, T]`` float32 matrix whose row i averages segment i's snippets (the rule of
    :func:`segment_pool`; an empty segment's row picks the snippet at its start)."""
    bounds = segment_bounds(n_snippets, n)
    weights = np.zeros((n, n_snippets), dtype=np.float32)
    for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
        if b > a:
            weights[i, a:b] = 1.0 / (b - a)
        else:
            weights[i, a] = 1.0
    return weights
