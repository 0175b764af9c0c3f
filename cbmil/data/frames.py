"""From snippets to frames: frame-level ground truth and frame-level scores of a test video.

Convention: frames are numbered from 0; an annotated event ``(start, end)`` covers frames
``start..end`` *inclusive* (the official file reads that way: ``Abuse028  165 240`` marks 76
frames). Events running past the video's last frame are clipped to it.

Two protocols put scores on frames (docs/data.md, "Frames and ground truth"):

* ``"snippet"`` (RTFM/DeepMIL): each 16-frame snippet's score is repeated over its 16
  frames; the video is taken to be ``16 * T`` frames long.
* ``"segment"`` (Sultani): the snippets are pooled into 32 segments, and each segment's
  score goes on the frames of its own snippets (16 x the segment's snippet bounds), the
  video padded with the last score to its frame count (:func:`segment_frame_scores`).
"""

from __future__ import annotations

import numpy as np

from cbmil.data.features import N_SEGMENTS, segment_bounds, segment_pool
from cbmil.data.ucf_crime import FRAMES_PER_SNIPPET

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
    ``b[u]:b[u+1]`` with ``b[u] = floor(u * n_frames / U)``, in exact integer arithmetic
    (``floor(linspace(...))`` is off by one frame for some (U, n_frames) when U is not a power
    of two: ``np.linspace(0, 540, 199).astype(int)[11]`` is 29, ``11 * 540 // 198`` is 30).

    With ``n_frames = 16 * U`` every unit covers exactly 16 frames (the snippet protocol).
    ``unit_scores``: ``[U]``; returns ``[n_frames]`` of the same dtype.
    """
    unit_scores = np.asarray(unit_scores)
    bounds = np.arange(len(unit_scores) + 1, dtype=np.int64) * int(n_frames) // max(len(unit_scores), 1)
    return np.repeat(unit_scores, np.diff(bounds))


def segment_frame_scores(snippet_scores: np.ndarray, n_frames: int) -> np.ndarray:
    """Sultani's segment protocol for one video: the T snippet scores are pooled into 32
    segments (:func:`cbmil.data.features.segment_pool`, bounds ``b = floor(i * T / 32)``) and segment
    i's score goes on the frames of its own snippets, ``16 * b[i] : 16 * b[i + 1]`` (16 x the
    clip bounds, as Sultani's ``Evaluate_Anomaly_Detector.m`` does; that script draws its bounds
    by ``round(linspace(1, T, 33))``, 1-based, which differs from the training bounds used here
    by at most one snippet at a boundary for every 32 <= T < 3000); a video longer than
    ``16 * T`` frames is padded with the last score, a shorter one cut. ``[n_frames]``."""
    snippet_scores = np.asarray(snippet_scores)
    bounds = segment_bounds(len(snippet_scores), N_SEGMENTS)
    frames = np.repeat(segment_pool(snippet_scores, N_SEGMENTS), FRAMES_PER_SNIPPET * np.diff(bounds))
    if len(frames) >= n_frames:
        return frames[:n_frames]
    return np.concatenate([frames, np.full(n_frames - len(frames), frames[-1], dtype=frames.dtype)])


def video_frame_scores(snippet_scores: np.ndarray, n_frames: int, protocol: str = "snippet") -> np.ndarray:
    """Frame scores ``[n_frames]`` of one video from its snippet scores ``[T]``."""
    if protocol == "snippet":
        return spread_over_frames(snippet_scores, n_frames)
    if protocol == "segment":
        return segment_frame_scores(snippet_scores, n_frames)
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
