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
    benchmark: str = "ucf_crime"


PRESETS = {
    # "full": D = 2048 like the I3D features.
    "full": SyntheticConfig(),
    # "ci": the same videos, lengths and anomalies with small features, for tests and notebooks.
    "ci": SyntheticConfig(dim=64, max_snippets=600),
}

#: The benchmarks the generator can imitate.
BENCHMARKS = ("ucf_crime", "xd_violence")


def _xd_config(**fields) -> SyntheticConfig:
    """XD-Violence's world: its split sizes, per-class counts and multi-label videos (the label sets
    of the shipped lists, :mod:`cbmil.data.xd_violence`), shorter videos with longer and more
    events than UCF-Crime's (docs/data.md, "Synthetic XD-Violence"), the rest as UCF-Crime's."""
    from cbmil.data import xd_violence as xd
    counts = {split: tuple(xd.count_by_class(videos).items())
              for split, videos in (("train", xd.train_videos()), ("test", xd.test_videos()))}
    base = dict(benchmark="xd_violence", dim=1024, train_counts=counts["train"], test_counts=counts["test"],
                train_median_frames=XD_MEDIAN_FRAMES, test_median_frames=XD_MEDIAN_FRAMES,
                anomaly_share_median=XD_ANOMALY_SHARE, two_event_prob=XD_TWO_EVENT_PROB, ramp=XD_RAMP,
                signal=XD_SIGNAL)
    return SyntheticConfig(**(base | fields))


#: XD-Violence's lengths and events in the generator (docs/data.md, "Synthetic XD-Violence"):
#: median video length in frames, median anomalous share of a violent video, share of violent
#: videos with two events (its test annotations: 260 of 500 violent videos have two or more
#: intervals, which cover about half of the span up to the last one), and the activation's tails
#: in snippets (8: XD-Violence's clips are cut around their events, and a UCF-Crime-like 32
#: would lift all of a median clip of ~94 snippets).
XD_MEDIAN_FRAMES = 1500.0
XD_ANOMALY_SHARE = 0.35
XD_TWO_EVENT_PROB = 0.5
XD_RAMP = 8.0
#: The median class strength of XD-Violence's world, calibrated so that plain MIL's AP (trapezoid)
#: over 5 worlds of the main job lands in 70-80 % (docs/xd-violence.md, "Calibration").
XD_SIGNAL = 3.0


def presets(benchmark: str = "ucf_crime") -> dict[str, SyntheticConfig]:
    """The presets ``{"full", "ci"}`` of ``benchmark``: UCF-Crime's :data:`PRESETS`, or XD-Violence's
    (``full``: D = 1024 like its I3D features; ``ci``: D = 64)."""
    if benchmark not in BENCHMARKS:
        raise ValueError(f"benchmark must be one of {', '.join(BENCHMARKS)}, got {benchmark!r}")
    if benchmark == "ucf_crime":
        return PRESETS
    return {"full": _xd_config(), "ci": _xd_config(dim=64, max_snippets=600)}


def _labels(cfg: SyntheticConfig) -> tuple[str, ...]:
    """The benchmark's class names, Normal last."""
    if cfg.benchmark == "xd_violence":
        from cbmil.data import xd_violence
        return xd_violence.LABELS
    return CLASSES + (NORMAL,)


#: Named points of the imbalance dial (:func:`imbalanced_counts`): the exponent applied to
#: UCF-Crime's own training counts. 0 = uniform, 1 = UCF-Crime (max/min 145/27 = 5.4),
#: "extreme" = the exponent that makes max/min = 50.
IMBALANCE_LEVELS = {
    "uniform": 0.0,
    "ucf": 1.0,
    "extreme": float(np.log(50) / np.log(max(TRAIN_COUNTS[c] for c in CLASSES) / min(TRAIN_COUNTS[c] for c in CLASSES))),
}


def _dial_counts(benchmark: str) -> tuple[tuple[str, ...], dict[str, int]]:
    """The anomaly classes of ``benchmark`` and the training counts the dial's exponent applies to:
    the benchmark's own, by first label, Normal included (UCF-Crime:
    :data:`cbmil.data.ucf_crime.TRAIN_COUNTS`; XD-Violence: :data:`cbmil.data.xd_violence.TRAIN_COUNTS`)."""
    if benchmark not in BENCHMARKS:
        raise ValueError(f"benchmark must be one of {', '.join(BENCHMARKS)}, got {benchmark!r}")
    if benchmark == "ucf_crime":
        return CLASSES, dict(TRAIN_COUNTS)
    from cbmil.data import xd_violence
    return xd_violence.CLASSES, dict(xd_violence.TRAIN_COUNTS)


def _xd_levels() -> dict[str, float]:
    from cbmil.data import xd_violence as xd
    counts = [xd.TRAIN_COUNTS[c] for c in xd.CLASSES]
    return {"uniform": 0.0, "xd": 1.0, "extreme": float(np.log(50) / np.log(max(counts) / min(counts)))}


#: The dial's named points on XD-Violence's own training counts by first label
#: (:data:`cbmil.data.xd_violence.TRAIN_COUNTS`, 1,905 violent videos): 0 = uniform, 1 = XD-Violence
#: (max/min 445/36 = 12.4), "extreme" = the exponent that makes max/min = 50.
XD_IMBALANCE_LEVELS = _xd_levels()


def imbalance_levels(benchmark: str = "ucf_crime") -> dict[str, float]:
    """The named points of the dial on ``benchmark``: :data:`IMBALANCE_LEVELS` (UCF-Crime, level
    ``"ucf"``) or :data:`XD_IMBALANCE_LEVELS` (XD-Violence, level ``"xd"``)."""
    _dial_counts(benchmark)  # refuses an unknown benchmark
    return IMBALANCE_LEVELS if benchmark == "ucf_crime" else XD_IMBALANCE_LEVELS


def imbalanced_counts(level: float | str, total: int | None = None, benchmark: str = "ucf_crime") -> dict[str, int]:
    """Training counts of the anomaly classes of ``benchmark`` on the imbalance dial, summing to ``total``.

    Class c gets a share proportional to ``n_c ** level``, with ``n_c`` its training count in the
    benchmark's own split (by first label; UCF-Crime, the default:
    :data:`cbmil.data.ucf_crime.TRAIN_COUNTS`, 13 classes; ``benchmark="xd_violence"``:
    :data:`cbmil.data.xd_violence.TRAIN_COUNTS`, 6 classes): ``level = 0`` spreads the videos evenly,
    ``1`` keeps the benchmark's proportions, larger values exaggerate them while keeping the same
    order of classes (names in :func:`imbalance_levels`: ``"uniform"``, ``"ucf"`` or ``"xd"``,
    ``"extreme"``). Rounded by largest remainder so the total is exact (default: the benchmark's
    abnormal training videos, 810 for UCF-Crime, 1,905 for XD-Violence; ``level = 1`` then gives its
    counts exactly), at least 1 per class.
    Normal keeps its videos (UCF-Crime 800, XD-Violence 2,049).

    >>> uniform = imbalanced_counts("uniform")
    >>> sum(imbalanced_counts("extreme").values()) - 800, sorted({n for c, n in uniform.items() if c != "Normal"})
    (810, [62, 63])
    >>> xd = imbalanced_counts("extreme", benchmark="xd_violence")
    >>> sum(xd.values()) - xd["Normal"], xd["Fighting"], xd["Abuse"]  # max/min 494/10 = 49.4
    (1905, 494, 10)
    """
    names, own = _dial_counts(benchmark)
    levels = imbalance_levels(benchmark)
    if isinstance(level, str) and level not in levels:
        raise ValueError(f"imbalance level must be a number or one of {sorted(levels)} for {benchmark}, "
                         f"got {level!r}")
    exponent = levels[level] if isinstance(level, str) else float(level)
    if total is None:
        total = sum(own[c] for c in names)
    if total < len(names):
        raise ValueError(f"total must be at least {len(names)} (one video per class), got {total}")
    base = np.array([own[c] for c in names], dtype=np.float64)
    ideal = total * base ** exponent / (base ** exponent).sum()
    counts = np.floor(ideal).astype(np.int64)
    order = np.lexsort((-base, -(ideal - counts)))  # largest remainder; ties to the more frequent class
    counts[order[:total - counts.sum()]] += 1
    while counts.min() < 1:  # every class keeps a video, taken from the largest
        counts[np.argmin(counts)] += 1
        counts[np.argmax(counts)] -= 1
    return {c: int(n) for c, n in zip(names, counts)} | {NORMAL: own[NORMAL]}


def config(preset: str = "ci", benchmark: str = "ucf_crime", **overrides) -> SyntheticConfig:
    """The parameters of ``preset`` (``"ci"`` or ``"full"``) of ``benchmark`` (``"ucf_crime"``, the
    default, or ``"xd_violence"``) with ``overrides`` applied."""
    table = presets(benchmark)
    if preset not in table:
        raise ValueError(f"preset must be one of {sorted(table)}, got {preset!r}")
    for name in ("train_counts", "test_counts"):
        if isinstance(overrides.get(name), dict):
            overrides[name] = tuple(overrides[name].items())
    unknown = set(overrides) - set(SyntheticConfig.__dataclass_fields__)
    if unknown:
        raise ValueError(f"unknown synthetic parameter(s) {sorted(unknown)}; "
                         f"expected some of {sorted(SyntheticConfig.__dataclass_fields__)}")
    return replace(table[preset], **overrides)


@dataclass
class SyntheticVideo:
    """One generated video: key, class label (the first, for a multi-label video), frame events,
    snippet features ``[T, D]`` and every class it carries (``labels``)."""

    key: str
    label: str
    intervals: tuple[tuple[int, int], ...]
    snippets: np.ndarray
    labels: tuple[str, ...] = ()

    @property
    def n_frames(self) -> int:
        return snippet_frames(len(self.snippets))


class _World:
    """The fixed parts of the model for one seed: scenes, drift basis, class signatures."""

    def __init__(self, cfg: SyntheticConfig, rng: np.random.Generator):
        d, n_classes = cfg.dim, len(_labels(cfg)) - 1
        self.scenes = (cfg.scene_scale * rng.standard_normal((cfg.n_scenes, d))).astype(np.float32)
        self.drift_basis = (cfg.drift_scale * rng.standard_normal((cfg.drift_rank, d))
                            / np.sqrt(cfg.drift_rank)).astype(np.float32)

        def unit(n):
            u = rng.standard_normal((n, d))
            return u / np.linalg.norm(u, axis=1, keepdims=True)

        shared, specific = unit(1), unit(n_classes)
        g = np.sqrt(cfg.overlap) * shared + np.sqrt(1 - cfg.overlap) * specific
        self.signatures = (g / np.linalg.norm(g, axis=1, keepdims=True)).astype(np.float32)
        self.strengths = cfg.signal * np.exp(cfg.class_spread * rng.standard_normal(n_classes))
        # one overall scale, so that a background snippet's L2 norm is about feature_norm whatever D
        self.scale = cfg.feature_norm / np.sqrt(d * (cfg.scene_scale ** 2 + cfg.drift_scale ** 2 + cfg.noise ** 2))


def _counts(cfg: SyntheticConfig, split: str) -> dict[str, int]:
    counts = dict(cfg.train_counts if split == "train" else cfg.test_counts)
    if split == "train" and cfg.balanced:
        if cfg.benchmark != "ucf_crime":
            raise ValueError("balanced=True spreads UCF-Crime's training videos over its classes; XD-Violence's "
                             "multi-label split has no balanced control in the generator")
        total = sum(counts[c] for c in CLASSES)
        base, extra = divmod(total, len(CLASSES))
        counts.update({c: base + (i < extra) for i, c in enumerate(CLASSES)})
    return counts


def _keys(cfg: SyntheticConfig, split: str) -> list[tuple[str, tuple[str, ...]]]:
    """(key, labels) of every video of ``split``: abnormal classes first, then Normal."""
    if cfg.benchmark == "xd_violence":
        return _xd_keys(cfg, split)
    counts = _counts(cfg, split)
    first = 1 if split == "train" else 1 + max(max(dict(cfg.train_counts).values()), max(counts.values()))
    first = 1 if split == "train" else max(first, 1000)
    out = []
    for label in CLASSES + (NORMAL,):
        for i in range(counts.get(label, 0)):
            n = first + i
            out.append((f"Normal_Videos_{n:03d}_x264" if label == NORMAL else f"{label}{n:03d}_x264", (label,)))
    return out


def _xd_keys(cfg: SyntheticConfig, split: str) -> list[tuple[str, tuple[str, ...]]]:
    """XD-Violence's videos in the order of its list (violent first): the label sets of the shipped
    list, under synthetic names that keep the label codes (``synthetic_train0001_label_B2-G-0``).

    With counts other than the list's (``train_counts=`` / ``test_counts=``, by first label):
    a count below the list's keeps the first that many videos of that first label; a count above
    it (the imbalance dial's uniform level asks for 317 training videos of first label Abuse, of
    which the list has 36) cycles through the list's videos of that first label again, in list
    order, as often as needed, so that every synthetic video carries a real label set of its
    first label (and the label sets recur in about the list's proportions). The cycled videos
    follow the list's pass over the violent videos (or over the normal ones), so violent videos
    still come first; with the list's own counts the keys are exactly those of one pass.
    """
    from cbmil.data import xd_violence as xd
    videos = xd.train_videos() if split == "train" else xd.test_videos()
    counts = _counts(cfg, split)
    code_of = {name: code for code, name in xd.CODES.items()}
    seen: dict[str, int] = {}
    out = []
    for group in ([v for v in videos if v.is_anomalous], [v for v in videos if not v.is_anomalous]):
        while True:  # one pass over the group's videos in list order, again while a count is not reached
            added = len(out)
            for video in group:
                if seen.get(video.label, 0) >= counts.get(video.label, 0):
                    continue
                seen[video.label] = seen.get(video.label, 0) + 1
                codes = "-".join([code_of[c] for c in video.labels] + ["0"] * (3 - len(video.labels)))
                out.append((f"synthetic_{split}{len(out) + 1:04d}_label_{codes if video.is_anomalous else 'A'}",
                            video.labels))
            if len(out) == added:  # every count of the group reached, or a label the list lacks
                break
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


def _video(cfg, world: _World, rng, key: str, labels: tuple[str, ...], median_frames: float) -> SyntheticVideo:
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
    names = _labels(cfg)
    if labels[0] != NORMAL:
        intervals = _intervals(cfg, rng, snippet_frames(t))
        activation = _activation(intervals, t, cfg.ramp)
        # a video of several classes carries each class's shift, at 1/k of its strength (k classes)
        for c in [names.index(label) for label in labels]:
            strength = world.strengths[c]
            context = cfg.context * min(strength, cfg.context_cap * cfg.signal)
            amplitude = (activation * strength + context) * cfg.noise
            if len(labels) > 1:
                amplitude /= len(labels)
            x += amplitude[:, None] * world.signatures[c]
    x *= world.scale
    return SyntheticVideo(key, labels[0], intervals, x, tuple(labels))


def _world(cfg: SyntheticConfig, seed: int) -> _World:
    return _World(cfg, np.random.default_rng(np.random.SeedSequence(seed).spawn(3)[0]))


def class_strengths(cfg: SyntheticConfig, seed: int = 0) -> dict[str, float]:
    """The per-class strength ``s_c`` of the world of ``seed`` (noise standard deviations)."""
    return {c: float(v) for c, v in zip(_labels(cfg)[:-1], _world(cfg, seed).strengths)}


def iter_videos(cfg: SyntheticConfig, split: str, seed: int = 0) -> Iterator[SyntheticVideo]:
    """Generate the videos of ``split`` (``"train"`` or ``"test"``) one by one, deterministically."""
    _, train_ss, test_ss = np.random.SeedSequence(seed).spawn(3)
    world = _world(cfg, seed)
    rng = np.random.default_rng(train_ss if split == "train" else test_ss)
    median = cfg.train_median_frames if split == "train" else cfg.test_median_frames
    for key, labels in _keys(cfg, split):
        yield _video(cfg, world, rng, key, labels, median)


def make_dataset(preset: str = "ci", seed: int = 0, benchmark: str = "ucf_crime", **overrides) -> VADDataset:
    """Generate a UCF-Crime-shaped :class:`~cbmil.data.dataset.VADDataset` (one crop, C = 1), or
    with ``benchmark="xd_violence"`` an XD-Violence-shaped one (its 6 classes, multi-label videos
    with ``train_class_sets`` / ``test_class_sets``).

    Parameters
    ----------
    preset : ``"ci"`` (D = 64) or ``"full"`` (D = 2048; XD-Violence: 1024).
    seed : same seed and parameters give identical arrays.
    benchmark : ``"ucf_crime"`` (default) or ``"xd_violence"``.
    **overrides : any :class:`SyntheticConfig` field, e.g. ``signal=2.0`` or ``balanced=True``.

    Examples
    --------
    >>> data = make_dataset("ci", seed=0)
    >>> data.train_bags.shape[0], data.train_bags.shape[2]
    (1610, 32)
    """
    cfg = config(preset, benchmark, **overrides)
    names = _labels(cfg)
    # pool each training video as it is generated (holding all their snippets took ~3 GB at D = 2048)
    keys = _keys(cfg, "train")
    bags = np.empty((len(keys), 1, N_SEGMENTS, cfg.dim), dtype=np.float32)
    train_classes = np.empty(len(keys), dtype=np.int64)
    train_sets = np.zeros((len(keys), len(names) - 1), dtype=bool)
    for i, v in enumerate(iter_videos(cfg, "train", seed)):
        bags[i, 0] = segment_pool(v.snippets, N_SEGMENTS)
        train_classes[i] = names.index(v.label)
        train_sets[i, [names.index(c) for c in v.labels if c != NORMAL]] = True
    keys, classes, lengths, labels, chunks, test_sets = [], [], [], [], [], []
    for v in iter_videos(cfg, "test", seed):
        keys.append(v.key)
        classes.append(names.index(v.label))
        test_sets.append(np.isin(names[:-1], v.labels))
        lengths.append(len(v.snippets))
        labels.append(frame_ground_truth(v.intervals, v.n_frames))
        chunks.append(v.snippets)
    n_frames = np.array([snippet_frames(t) for t in lengths], dtype=np.int64)
    multi = cfg.benchmark != "ucf_crime"
    return VADDataset(
        train_bags=bags, train_classes=train_classes,
        test_snippets=np.concatenate(chunks)[:, None], test_offsets=offsets_from_lengths(lengths),
        test_classes=np.array(classes, dtype=np.int64), test_n_frames=n_frames,
        test_frame_labels=np.concatenate(labels), test_frame_offsets=offsets_from_lengths(n_frames),
        train_keys=[k for k, _ in _keys(cfg, "train")], test_keys=keys,
        meta={"source": "synthetic", "preset": preset, "seed": seed, "config": _as_json(cfg),
              "class_strengths": class_strengths(cfg, seed)} | (
            {"benchmark": cfg.benchmark} if multi else {}),
        **({"labels": names, "train_class_sets": train_sets, "test_class_sets": np.array(test_sets)} if multi else {}),
    )


def _as_json(cfg: SyntheticConfig) -> dict:
    """The parameters as plain JSON values (counts as dicts), for the dataset's meta."""
    params = asdict(cfg)
    for name in ("train_counts", "test_counts"):
        params[name] = dict(params[name])
    if params["benchmark"] == "ucf_crime":  # UCF-Crime's meta as before the benchmark field
        del params["benchmark"]
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
