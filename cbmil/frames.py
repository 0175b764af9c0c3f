"""From snippets to frames: frame-level ground truth and frame-level scores of a test video.

Convention: frames are numbered from 0; an annotated event ``(start, end)`` covers frames
``start..end`` *inclusive* (the official file reads that way: ``Abuse028  165 240`` marks 76
frames). Events running past the video's last frame are clipped to it.

Two protocols put scores on frames (README, "Frames and ground truth"):

* ``"snippet"`` (RTFM/DeepMIL): each 16-frame snippet's score is repeated over its 16
  frames; the video is taken to be ``16 * T`` frames long.
* ``"segment"`` (Sultani): the snippets are pooled into 32 segments, and each segment's
  score is spread over its share of the video's frames, boundaries
  ``floor(linspace(0, n_frames, 33))``.

Both are :func:`spread_over_frames` of some per-unit scores; they differ in the units.
"""

from __future__ import annotations

import numpy as np

from .features import N_SEGMENTS, segment_pool
from .ucf_crime import FRAMES_PER_SNIPPET

PROTOCOLS = ("snippet", "segment")


def snippet_frames(n_snippets: int) -> int:
    """Video length in frames under the snippet protocol: ``16 * T``."""
    return FRAMES_PER_SNIPPET * int(n_snippets)


def frame_ground_truth(intervals, n_frames: int) -> np.ndarray:
    """Frame labels ``uint8 [n_frames]``: 1 inside any inclusive ``(start, end)`` event."""
    labels = np.zeros(int(n_frames), dtype=np.uint8)
    for start, end in intervals:
        if end < start:
            raise ValueError(f"event ({start}, {end}): expected end >= start")
        labels[max(int(start), 0): max(int(end) + 1, 0)] = 1  # slicing clips to n_frames
    return labels


def spread_over_frames(unit_scores: np.ndarray, n_frames: int) -> np.ndarray:
    """Spread U per-unit scores over ``n_frames`` frames: unit u covers frames
    ``b[u]:b[u+1]`` with ``b = floor(linspace(0, n_frames, U + 1))``.

    With ``n_frames = 16 * U`` every unit covers exactly 16 frames (the snippet protocol).
    ``unit_scores``: ``[U]``; returns ``[n_frames]`` of the same dtype.
    """
    unit_scores = np.asarray(unit_scores)
    bounds = np.linspace(0, n_frames, len(unit_scores) + 1).astype(np.int64)
    return np.repeat(unit_scores, np.diff(bounds))


def video_frame_scores(snippet_scores: np.ndarray, n_frames: int, protocol: str = "snippet") -> np.ndarray:
    """Frame scores ``[n_frames]`` of one video from its snippet scores ``[T]``."""
    if protocol == "snippet":
        return spread_over_frames(snippet_scores, n_frames)
    if protocol == "segment":
        return spread_over_frames(segment_pool(snippet_scores, N_SEGMENTS), n_frames)
    raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")


def frame_scores(snippet_scores: np.ndarray, snippet_offsets: np.ndarray, n_frames: np.ndarray,
                 protocol: str = "snippet") -> np.ndarray:
    """Frame scores of all test videos, concatenated in video order.

    Parameters
    ----------
    snippet_scores : ``[S]`` scores of all test snippets, videos back to back.
    snippet_offsets : ``[V + 1]`` video v owns snippets ``offsets[v]:offsets[v+1]``.
    n_frames : ``[V]`` frames per video.

    Returns
    -------
    ``[sum(n_frames)]`` float32.
    """
    snippet_scores = np.asarray(snippet_scores, dtype=np.float32)
    if protocol == "snippet" and np.array_equal(np.diff(snippet_offsets) * FRAMES_PER_SNIPPET, n_frames):
        return np.repeat(snippet_scores, FRAMES_PER_SNIPPET)  # fast path: one repeat for all videos
    return np.concatenate([
        video_frame_scores(snippet_scores[a:b], n, protocol)
        for a, b, n in zip(snippet_offsets[:-1], snippet_offsets[1:], n_frames)
    ])
