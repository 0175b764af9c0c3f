"""A synthetic dataset shaped like UCF-Crime, so every notebook and test runs with no download.

It has the real split sizes and per-class video counts (:mod:`cbmil.data.ucf_crime`), lengths and
anomaly spans drawn near the real ones, and features of any dimension D. **Its numbers are
synthetic**: they say what the method does on this generative model, not on UCF-Crime.

Generative model of one video (all vectors in R^D; ``N(0, I)`` draws are per dimension):

* **length** T (16-frame snippets): log-normal with median 2,200 frames (train) / 1,800
  frames (test) and log-sd 0.9, at least 6 snippets (about 100 frames), capped at
  ``max_snippets`` to bound memory.
* **anomaly intervals** (abnormal videos only; hidden in training, the test's ground truth):
  1 event, or 2 with probability 0.12; the anomalous share of the video is log-normal
  with median 0.14 (clipped to [0.02, 0.85]), like the official test annotations. Snippet t's
  *activation* ``a_t`` in [0, 1] is 1 on every snippet that touches an event and falls off as
  ``exp(-d / ramp)`` at ``d`` snippets before or after it (``ramp`` = 32 snippets by default;
  ``ramp=0``: the share of the snippet's 16 frames inside an event, no tails). For a strong class
  the tails carry the signal well past the annotated span.
* **background**: a scene prototype ``mu_s`` (one of ``n_scenes``, each ``scene_scale * N(0, I)``)
  + a temporally smooth drift ``drift_scale * P z_t`` (``z_t`` an AR(1) process of rank
  ``drift_rank`` with coefficient ``drift_phi``) + white noise ``noise * N(0, I)``.
* **anomaly signature** of class c: ``g_c = sqrt(overlap) u + sqrt(1 - overlap) u_c``, a unit
  direction mixing one direction shared by all anomalies (``u``) with one of the class
  (``u_c``); ``overlap`` sets how much the classes look alike. Snippet t of a class-c video adds
  ``a_t * s_c * noise * g_c``: the shift along ``g_c`` is ``s_c`` noise standard deviations,
  ``s_c = signal * exp(class_spread * N(0, 1))`` (a per-class difficulty drawn once per seed,
  unrelated to the class's frequency).
* **context**: every snippet of an abnormal video also carries
  ``context * min(s_c, context_cap * signal) * noise * g_c`` (the scene an anomaly happens in
  looks a little anomalous before and after it). The cap (default: the median strength
  ``signal``) keeps the strongest classes from being lifted by tens of noise standard deviations
  over their whole video: uncapped (``context_cap=inf``, the generator before v2), a class with
  ``s_c = 20`` saturated the scorer over every snippet of its videos, which cost exactly the
  strong classes their localisation (per-class AUC of the stronger half of the classes 82.6 %
  with that context, 89.5 % without; docs/data.md, "Synthetic UCF-Crime", ``cbmil strength``).
* **scale**: everything is multiplied by one factor so that a background snippet's L2 norm is
  about ``feature_norm`` whatever D (so that a scorer's pre-activations do not grow with D);
  it changes no signal-to-noise ratio.

Nothing in the model depends on how many training videos a class has: whether rare classes
end up scoring worse is left to training. With ``balanced=True`` the 810 abnormal training
videos are spread evenly over the 13 classes instead (the control of the study).

The difficulty parameters (``signal``, ``noise``, ``overlap``, ``class_spread``, ``context``,
``scene_scale``, ``drift_scale``) were calibrated so that plain MIL lands where published I3D
results on the real UCF-Crime do (see docs/data.md, "Calibration"); training and metrics were not tuned.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Iterator

import numpy as np

from cbmil.data.dataset import VADDataset, offsets_from_lengths
from cbmil.data.features import N_SEGMENTS, segment_pool
from cbmil.data.frames import frame_ground_truth, snippet_frames
from cbmil.data.ucf_crime import (CLASSES, FRAMES_PER_SNIPPET, NORMAL, TEST_ANNOTATIONS, TEST_COUNTS,
                        TRAIN_COUNTS, TRAIN_LIST, class_index)


@dataclass(frozen=True)
class SyntheticConfig:
    """Parameters of the generative model (see the module docstring)."""

    dim: int = 2048
    max_snippets: int = 1500
    train_median_frames: float = 2200.0
    test_median_frames: float = 1800.0
    length_log_sd: float = 0.9
    min_snippets: int = 6
    anomaly_share_median: float = 0.14
    anomaly_share_log_sd: float = 0.9
    two_event_prob: float = 0.12
    n_scenes: int = 20
    scene_scale: float = 1.0
    drift_rank: int = 8
    drift_phi: float = 0.95
    drift_scale: float = 0.5
    noise: float = 1.0
    signal: float = 4.0
    class_spread: float = 0.6
    overlap: float = 0.5
    context: float = 1.2
    context_cap: float = 1.0
    ramp: float = 32.0
    feature_norm: float = 10.0
    balanced: bool = False
    train_counts: tuple[tuple[str, int], ...] = tuple(TRAIN_COUNTS.items())
    test_counts: tuple[tuple[str, int], ...] = tuple(TEST_COUNTS.items())


PRESETS = {
    # "full": D = 2048 like the I3D features.
    "full": SyntheticConfig(),
    # "ci": the same videos, lengths and anomalies with small features, for tests and notebooks.
    "ci": SyntheticConfig(dim=64, max_snippets=600),
}


#: Named points of the imbalance dial (:func:`imbalanced_counts`): the exponent applied to
#: UCF-Crime's own training counts. 0 = uniform, 1 = UCF-Crime (max/min 145/27 = 5.4),
#: "extreme" = the exponent that makes max/min = 50.
IMBALANCE_LEVELS = {
    "uniform": 0.0,
    "ucf": 1.0,
    "extreme": float(np.log(50) / np.log(max(TRAIN_COUNTS[c] for c in CLASSES) / min(TRAIN_COUNTS[c] for c in CLASSES))),
}


def imbalanced_counts(level: float | str, total: int | None = None) -> dict[str, int]:
    """Training counts of the 13 anomaly classes on the imbalance dial, summing to ``total``.

    Class c gets a share proportional to ``n_c ** level``, with ``n_c`` its UCF-Crime training
    count (:data:`cbmil.data.ucf_crime.TRAIN_COUNTS`): ``level = 0`` spreads the videos evenly,
    ``1`` keeps UCF-Crime's proportions, larger values exaggerate them while keeping the same
    order of classes (names in :data:`IMBALANCE_LEVELS`). Rounded by largest remainder so the
    total is exact (default 810, UCF-Crime's abnormal training videos; ``level = 1`` then gives
    UCF-Crime's counts exactly), at least 1 per class.
    Normal keeps its 800 videos.

    >>> sum(imbalanced_counts("extreme").values()) - 800, len(set(imbalanced_counts("uniform").values()))
    (810, 2)
    """
    if isinstance(level, str) and level not in IMBALANCE_LEVELS:
        raise ValueError(f"imbalance level must be a number or one of {sorted(IMBALANCE_LEVELS)}, got {level!r}")
    exponent = IMBALANCE_LEVELS[level] if isinstance(level, str) else float(level)
    if total is None:
        total = sum(TRAIN_COUNTS[c] for c in CLASSES)
    if total < len(CLASSES):
        raise ValueError(f"total must be at least {len(CLASSES)} (one video per class), got {total}")
    ucf = np.array([TRAIN_COUNTS[c] for c in CLASSES], dtype=np.float64)
    ideal = total * ucf ** exponent / (ucf ** exponent).sum()
    counts = np.floor(ideal).astype(np.int64)
    order = np.lexsort((-ucf, -(ideal - counts)))  # largest remainder; ties to the more frequent class
    counts[order[:total - counts.sum()]] += 1
    while counts.min() < 1:  # every class keeps a video, taken from the largest
        counts[np.argmin(counts)] += 1
        counts[np.argmax(counts)] -= 1
    return {c: int(n) for c, n in zip(CLASSES, counts)} | {NORMAL: TRAIN_COUNTS[NORMAL]}


def config(preset: str = "ci", **overrides) -> SyntheticConfig:
    """The parameters of ``preset`` (``"ci"`` or ``"full"``) with ``overrides`` applied."""
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {sorted(PRESETS)}, got {preset!r}")
    for name in ("train_counts", "test_counts"):
        if isinstance(overrides.get(name), dict):
            overrides[name] = tuple(overrides[name].items())
    unknown = set(overrides) - set(SyntheticConfig.__dataclass_fields__)
    if unknown:
        raise ValueError(f"unknown synthetic parameter(s) {sorted(unknown)}; "
                         f"expected some of {sorted(SyntheticConfig.__dataclass_fields__)}")
    return replace(PRESETS[preset], **overrides)


@dataclass
class SyntheticVideo:
    """One generated video: key, class label, frame events and snippet features ``[T, D]``."""

    key: str
    label: str
    intervals: tuple[tuple[int, int], ...]
    snippets: np.ndarray

    @property
    def n_frames(self) -> int:
        return snippet_frames(len(self.snippets))


class _World:
    """The fixed parts of the model for one seed: scenes, drift basis, class signatures."""

    def __init__(self, cfg: SyntheticConfig, rng: np.random.Generator):
        d = cfg.dim
        self.scenes = (cfg.scene_scale * rng.standard_normal((cfg.n_scenes, d))).astype(np.float32)
        self.drift_basis = (cfg.drift_scale * rng.standard_normal((cfg.drift_rank, d))
                            / np.sqrt(cfg.drift_rank)).astype(np.float32)

        def unit(n):
            u = rng.standard_normal((n, d))
            return u / np.linalg.norm(u, axis=1, keepdims=True)

        shared, specific = unit(1), unit(len(CLASSES))
        g = np.sqrt(cfg.overlap) * shared + np.sqrt(1 - cfg.overlap) * specific
        self.signatures = (g / np.linalg.norm(g, axis=1, keepdims=True)).astype(np.float32)
        self.strengths = cfg.signal * np.exp(cfg.class_spread * rng.standard_normal(len(CLASSES)))
        # one overall scale, so that a background snippet's L2 norm is about feature_norm whatever D
        self.scale = cfg.feature_norm / np.sqrt(d * (cfg.scene_scale ** 2 + cfg.drift_scale ** 2 + cfg.noise ** 2))


def _counts(cfg: SyntheticConfig, split: str) -> dict[str, int]:
    counts = dict(cfg.train_counts if split == "train" else cfg.test_counts)
    if split == "train" and cfg.balanced:
        total = sum(counts[c] for c in CLASSES)
        base, extra = divmod(total, len(CLASSES))
        counts.update({c: base + (i < extra) for i, c in enumerate(CLASSES)})
    return counts


def _keys(cfg: SyntheticConfig, split: str) -> list[tuple[str, str]]:
    """(key, label) of every video of ``split``: abnormal classes first, then Normal."""
    counts = _counts(cfg, split)
    first = 1 if split == "train" else 1 + max(max(dict(cfg.train_counts).values()), max(counts.values()))
    first = 1 if split == "train" else max(first, 1000)
    out = []
    for label in CLASSES + (NORMAL,):
        for i in range(counts.get(label, 0)):
            n = first + i
            out.append((f"Normal_Videos_{n:03d}_x264" if label == NORMAL else f"{label}{n:03d}_x264", label))
    return out


def _intervals(cfg, rng, n_frames: int) -> tuple[tuple[int, int], ...]:
    share = np.clip(cfg.anomaly_share_median * np.exp(cfg.anomaly_share_log_sd * rng.standard_normal()), 0.02, 0.85)
    span = max(int(share * n_frames), 31)
    n_events = 2 if rng.random() < cfg.two_event_prob and span >= 64 else 1
    if n_events == 1:
        start = int(rng.integers(0, max(n_frames - span, 0) + 1))
        return ((start, min(start + span, n_frames) - 1),)
    # two events: split the span, place them in the first and the second half of the video
    first = int(span * rng.uniform(0.3, 0.7))
    half = n_frames // 2
    spans = (first, span - first)
    out = []
    for k, (lo, hi) in enumerate(((0, half), (half, n_frames))):
        s = min(spans[k], hi - lo)
        start = lo + int(rng.integers(0, max(hi - lo - s, 0) + 1))
        out.append((start, start + s - 1))
    return tuple(out)


def _activation(intervals, n_snippets: int, ramp: float) -> np.ndarray:
    """Anomaly activation ``[T]``: ``max(inside_t, exp(-d_t / ramp))`` with ``inside_t`` the share
    of snippet t's 16 frames inside an event and ``d_t`` its distance in snippets to the nearest
    snippet that touches an event; so 1 on every snippet that touches an event (d = 0), tails
    before and after. ``ramp <= 0``: ``inside_t`` alone."""
    frames = frame_ground_truth(intervals, snippet_frames(n_snippets)).astype(np.float32)
    inside = frames.reshape(n_snippets, FRAMES_PER_SNIPPET).mean(axis=1)
    if ramp <= 0:
        return inside
    t = np.arange(n_snippets)
    hot = np.flatnonzero(inside > 0)
    # distance of each snippet to the nearest snippet touching an event
    distance = np.abs(t[:, None] - hot[None, :]).min(axis=1) if len(hot) else np.full(n_snippets, np.inf)
    return np.maximum(inside, np.exp(-distance / ramp)).astype(np.float32)


def _video(cfg, world: _World, rng, key: str, label: str, median_frames: float) -> SyntheticVideo:
    frames = median_frames * np.exp(cfg.length_log_sd * rng.standard_normal())
    t = int(np.clip(frames // FRAMES_PER_SNIPPET, cfg.min_snippets, cfg.max_snippets))
    # background: scene + AR(1) drift + white noise
    z = np.empty((t, cfg.drift_rank), dtype=np.float32)
    eps = rng.standard_normal((t, cfg.drift_rank)).astype(np.float32) * np.sqrt(1 - cfg.drift_phi ** 2)
    z[0] = rng.standard_normal(cfg.drift_rank)
    for i in range(1, t):
        z[i] = cfg.drift_phi * z[i - 1] + eps[i]
    x = rng.standard_normal((t, cfg.dim), dtype=np.float32)
    x *= cfg.noise
    x += world.scenes[rng.integers(cfg.n_scenes)]
    x += z @ world.drift_basis
    intervals: tuple = ()
    if label != NORMAL:
        c = class_index(label)
        intervals = _intervals(cfg, rng, snippet_frames(t))
        strength = world.strengths[c]
        context = cfg.context * min(strength, cfg.context_cap * cfg.signal)
        amplitude = (_activation(intervals, t, cfg.ramp) * strength + context) * cfg.noise
        x += amplitude[:, None] * world.signatures[c]
    x *= world.scale
    return SyntheticVideo(key, label, intervals, x)


def _world(cfg: SyntheticConfig, seed: int) -> _World:
    return _World(cfg, np.random.default_rng(np.random.SeedSequence(seed).spawn(3)[0]))


def class_strengths(cfg: SyntheticConfig, seed: int = 0) -> dict[str, float]:
    """The per-class strength ``s_c`` of the world of ``seed`` (noise standard deviations)."""
    return {c: float(v) for c, v in zip(CLASSES, _world(cfg, seed).strengths)}


def iter_videos(cfg: SyntheticConfig, split: str, seed: int = 0) -> Iterator[SyntheticVideo]:
    """Generate the videos of ``split`` (``"train"`` or ``"test"``) one by one, deterministically."""
    _, train_ss, test_ss = np.random.SeedSequence(seed).spawn(3)
    world = _world(cfg, seed)
    rng = np.random.default_rng(train_ss if split == "train" else test_ss)
    median = cfg.train_median_frames if split == "train" else cfg.test_median_frames
    for key, label in _keys(cfg, split):
        yield _video(cfg, world, rng, key, label, median)


def make_dataset(preset: str = "ci", seed: int = 0, **overrides) -> VADDataset:
    """Generate a UCF-Crime-shaped :class:`~cbmil.data.dataset.VADDataset` (one crop, C = 1).

    Parameters
    ----------
    preset : ``"ci"`` (D = 64) or ``"full"`` (D = 2048).
    seed : same seed and parameters give identical arrays.
    **overrides : any :class:`SyntheticConfig` field, e.g. ``signal=2.0`` or ``balanced=True``.

    Examples
    --------
    >>> data = make_dataset("ci", seed=0)
    >>> data.train_bags.shape[0], data.train_bags.shape[2]
    (1610, 32)
    """
    cfg = config(preset, **overrides)
    # pool each training video as it is generated (holding all their snippets took ~3 GB at D = 2048)
    keys = _keys(cfg, "train")
    bags = np.empty((len(keys), 1, N_SEGMENTS, cfg.dim), dtype=np.float32)
    train_classes = np.empty(len(keys), dtype=np.int64)
    for i, v in enumerate(iter_videos(cfg, "train", seed)):
        bags[i, 0] = segment_pool(v.snippets, N_SEGMENTS)
        train_classes[i] = class_index(v.label)
    keys, classes, lengths, labels, chunks = [], [], [], [], []
    for v in iter_videos(cfg, "test", seed):
        keys.append(v.key)
        classes.append(class_index(v.label))
        lengths.append(len(v.snippets))
        labels.append(frame_ground_truth(v.intervals, v.n_frames))
        chunks.append(v.snippets)
    n_frames = np.array([snippet_frames(t) for t in lengths], dtype=np.int64)
    return VADDataset(
        train_bags=bags, train_classes=train_classes,
        test_snippets=np.concatenate(chunks)[:, None], test_offsets=offsets_from_lengths(lengths),
        test_classes=np.array(classes, dtype=np.int64), test_n_frames=n_frames,
        test_frame_labels=np.concatenate(labels), test_frame_offsets=offsets_from_lengths(n_frames),
        train_keys=[k for k, _ in _keys(cfg, "train")], test_keys=keys,
        meta={"source": "synthetic", "preset": preset, "seed": seed, "config": _as_json(cfg),
              "class_strengths": class_strengths(cfg, seed)},
    )


def _as_json(cfg: SyntheticConfig) -> dict:
    """The parameters as plain JSON values (counts as dicts), for the dataset's meta."""
    params = asdict(cfg)
    for name in ("train_counts", "test_counts"):
        params[name] = dict(params[name])
    return params


def write_feature_folders(root: str | Path, layout: str = "ten_crop", preset: str = "ci", seed: int = 0,
                          n_crops: int = 10, crop_noise: float = 0.1, **overrides) -> dict[str, Path]:
    """Write a synthetic dataset as the public files a user would download.

    Creates ``root/train/``, ``root/test/`` with one feature file (or ``n_crops`` per-crop files)
    per video in ``layout`` (see :mod:`cbmil.data.features`), and ``root/annotations/`` with
    the two official split files in their official spelling. Crops are the snippet features
    plus ``crop_noise * N(0, I)``. Use ``train_counts=`` / ``test_counts=`` overrides for a
    small folder. Returns the three folders.
    """
    cfg = config(preset, **overrides)
    root = Path(root)
    dirs = {name: root / name for name in ("train", "test", "annotations")}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(4)[3])
    train_lines, test_lines = [], []
    for split in ("train", "test"):
        for v in iter_videos(cfg, split, seed):
            _write_video(dirs[split], v, layout, n_crops, crop_noise, rng)
            if split == "train":
                number = v.key.split("_")[2] if v.label == NORMAL else None
                train_lines.append(f"Training_Normal_Videos_Anomaly/Normal_Videos{number}_x264.mp4"
                                   if v.label == NORMAL else f"{v.label}/{v.key}.mp4")
            else:
                events = list(v.intervals) + [(-1, -1)] * (2 - len(v.intervals))
                test_lines.append(f"{v.key}.mp4  {v.label}  " + "  ".join(f"{s}  {e}" for s, e in events) + "  ")
    (dirs["annotations"] / TRAIN_LIST).write_text("\n".join(train_lines) + "\n")
    (dirs["annotations"] / TEST_ANNOTATIONS).write_text("\n".join(test_lines) + "\n")
    return dirs


def _write_video(folder: Path, video: SyntheticVideo, layout: str, n_crops: int, crop_noise: float, rng) -> None:
    x = video.snippets
    if layout == "c3d":
        seg = segment_pool(x, N_SEGMENTS)
        seg /= np.linalg.norm(seg, axis=1, keepdims=True)  # Sultani's rows are L2-normalised
        np.savetxt(folder / f"{video.key}.txt", seg, fmt="%.6f")
    elif layout == "plain":
        np.save(folder / f"{video.key}.npy", x)
    elif layout in ("ten_crop", "per_crop"):
        crops = x[:, None, :] + crop_noise * rng.standard_normal((len(x), n_crops, x.shape[1]), dtype=np.float32)
        if layout == "ten_crop":
            np.save(folder / f"{video.key}_i3d.npy", crops)
        else:
            for k in range(n_crops):
                np.save(folder / f"{video.key}__{k}.npy", np.ascontiguousarray(crops[:, k]))
    else:
        raise ValueError(f"layout must be one of c3d, plain, ten_crop, per_crop; got {layout!r}")
