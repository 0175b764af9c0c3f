"""A 2-D toy of multiple-instance learning whose segment labels are known, for teaching the loop.

Every bag holds 32 segments, each a point in the plane. The segments of normal bags, and most
segments of abnormal bags, come from the *normal* distribution, a standard Gaussian at the
origin. In each abnormal bag one run of consecutive segments (an "event" of 1 to 4 segments,
like an anomaly inside a video) comes from the *anomalous region* instead: a ring around the
normal cloud (radius about 3, where a normal segment rarely lies), each event at one random
angle. Training sees only the bag labels, as on UCF-Crime; the segment labels stay known, so a
learned scorer can be drawn over the plane and checked point by point.

Why a ring and not one blob: a freshly initialised scorer (ReLU layers, zero biases) is a
piecewise-linear function that grows with the distance from the origin in some directions and
falls in others, so it ranks one side of the plane above the other. A single blob
on the low side is rarely any bag's top-scoring segment, so the max of the MIL loss rarely sends
it a gradient (tried with a blob: about two seeds in five had not found it after 300-600 steps).
Around a ring, some events lie on the high side from any start.

:func:`toy_bags` draws bags; :func:`toy_dataset` lays a training and a test draw out as a
:class:`~cbmil.data.dataset.VADDataset` (one crop, D = 2, a test "video" per test bag with 16
frames a snippet), so that :class:`cbmil.train.Trainer` trains on exactly the same bags.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cbmil.data.dataset import VADDataset, offsets_from_lengths
from cbmil.data.features import N_SEGMENTS
from cbmil.data.ucf_crime import FRAMES_PER_SNIPPET, NORMAL_INDEX

#: The anomalous ring (the normal distribution is N(0, I)): radius, radial standard deviation,
#: and the spread (radians) of one event's segments around its angle.
RING_RADIUS = 3.0
RING_SD = 0.3
EVENT_ANGLE_SD = 0.15
#: Shortest and longest event (consecutive anomalous segments) of an abnormal bag.
EVENT_LENGTHS = (1, 4)
#: Class index of every abnormal toy bag (the first UCF-Crime class): one class, the toy is
#: about instances inside bags, not about class balance.
TOY_CLASS = 0


@dataclass
class ToyBags:
    """Bags of the 2-D toy.

    Attributes
    ----------
    bags : float32 ``[N, 32, 2]`` the segments' points, abnormal bags first.
    labels : int64 ``[N]`` 1 for an abnormal bag, 0 for a normal one.
    segment_labels : uint8 ``[N, 32]`` 1 for a segment drawn from the anomalous region.
    """

    bags: np.ndarray
    labels: np.ndarray
    segment_labels: np.ndarray

    @property
    def abnormal(self) -> np.ndarray:
        """``[N_a, 32, 2]`` the abnormal bags."""
        return self.bags[self.labels == 1]

    @property
    def normal(self) -> np.ndarray:
        """``[N_n, 32, 2]`` the normal bags."""
        return self.bags[self.labels == 0]


def toy_bags(n_abnormal: int, n_normal: int, seed: int = 0, segments: int = N_SEGMENTS,
             event_lengths: tuple[int, int] = EVENT_LENGTHS, radius: float = RING_RADIUS,
             ring_sd: float = RING_SD, angle_sd: float = EVENT_ANGLE_SD) -> ToyBags:
    """Draw ``n_abnormal`` abnormal and ``n_normal`` normal bags of ``segments`` 2-D points.

    Each abnormal bag's event length is uniform on ``event_lengths`` (inclusive), its start
    uniform over the positions where it fits, and its angle uniform on the circle; an event
    segment lies at radius ``radius + ring_sd * N(0, 1)`` and angle ``angle + angle_sd * N(0, 1)``.

    Returns
    -------
    ToyBags with ``bags [n_abnormal + n_normal, segments, 2]`` (abnormal bags first).

    Examples
    --------
    >>> toy = toy_bags(3, 2, seed=0)
    >>> toy.bags.shape, toy.labels.tolist()
    ((5, 32, 2), [1, 1, 1, 0, 0])
    >>> bool(toy.segment_labels[3:].any()), bool(toy.segment_labels[:3].any(axis=1).all())
    (False, True)
    """
    low, high = (int(v) for v in event_lengths)
    if n_abnormal < 0 or n_normal < 0 or n_abnormal + n_normal < 1:
        raise ValueError(f"toy_bags needs n_abnormal, n_normal >= 0 and at least one bag, got {n_abnormal}, {n_normal}")
    if not 1 <= low <= high <= segments:
        raise ValueError(f"event_lengths must satisfy 1 <= low <= high <= segments ({segments}), got {event_lengths}")
    rng = np.random.default_rng(seed)
    n = n_abnormal + n_normal
    bags = rng.standard_normal((n, segments, 2))
    segment_labels = np.zeros((n, segments), dtype=np.uint8)
    for i in range(n_abnormal):
        length = rng.integers(low, high + 1)
        start = rng.integers(0, segments - length + 1)
        segment_labels[i, start:start + length] = 1
        angle = rng.uniform(0.0, 2 * np.pi) + angle_sd * rng.standard_normal(length)
        r = radius + ring_sd * rng.standard_normal(length)
        bags[i, start:start + length] = np.c_[r * np.cos(angle), r * np.sin(angle)]
    labels = np.r_[np.ones(n_abnormal), np.zeros(n_normal)].astype(np.int64)
    return ToyBags(bags.astype(np.float32), labels, segment_labels)


def toy_dataset(train: ToyBags, test: ToyBags) -> VADDataset:
    """``train`` and ``test`` as a :class:`VADDataset` for :class:`cbmil.train.Trainer`.

    Training bags ``[N, 1, 32, 2]`` (one crop) of class :data:`TOY_CLASS` (abnormal) or Normal;
    every test bag becomes one test video of 32 snippets, ``16 * 32`` frames, whose frame
    labels are its segment labels repeated 16 times (the "snippet" protocol's layout).
    """
    def classes(labels):
        return np.where(labels == 1, TOY_CLASS, NORMAL_INDEX).astype(np.int64)

    n_test, segments = test.segment_labels.shape
    n_frames = np.full(n_test, segments * FRAMES_PER_SNIPPET, dtype=np.int64)
    return VADDataset(
        train_bags=np.ascontiguousarray(train.bags[:, None]), train_classes=classes(train.labels),
        test_snippets=np.ascontiguousarray(test.bags.reshape(-1, 1, 2)),
        test_offsets=offsets_from_lengths(np.full(n_test, segments)), test_classes=classes(test.labels),
        test_n_frames=n_frames, test_frame_labels=np.repeat(test.segment_labels.ravel(), FRAMES_PER_SNIPPET),
        test_frame_offsets=offsets_from_lengths(n_frames),
        meta={"source": "toy", "description": "2-D toy bags (cbmil.toy), SYNTHETIC"})


__all__ = ["ToyBags", "toy_bags", "toy_dataset", "RING_RADIUS", "RING_SD", "EVENT_ANGLE_SD", "EVENT_LENGTHS",
           "TOY_CLASS"]
