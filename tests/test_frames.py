import numpy as np
import pytest

from cbmil.frames import frame_ground_truth, frame_scores, spread_over_frames, video_frame_scores


def test_ground_truth_is_inclusive_and_clipped():
    gt = frame_ground_truth([(2, 4), (8, 20)], 10)
    assert gt.tolist() == [0, 0, 1, 1, 1, 0, 0, 0, 1, 1]
    assert frame_ground_truth([], 3).tolist() == [0, 0, 0]
    assert frame_ground_truth([(0, 0)], 2).tolist() == [1, 0]
    with pytest.raises(ValueError, match="end >= start"):
        frame_ground_truth([(5, 4)], 10)


def test_snippet_protocol_repeats_each_score_16_times():
    scores = np.array([0.1, 0.9, 0.3], dtype=np.float32)
    frames = video_frame_scores(scores, 48, "snippet")
    assert frames.shape == (48,)
    assert np.array_equal(frames, np.repeat(scores, 16))


def test_segment_protocol_spreads_32_segments_over_the_frames():
    # 64 snippets -> 32 segments of 2 snippets (their mean), spread over 100 frames:
    # boundaries floor(linspace(0, 100, 33)) -> segment 0 covers frames 0..2 (3 frames).
    snippets = np.arange(64, dtype=np.float32)
    frames = video_frame_scores(snippets, 100, "segment")
    bounds = np.linspace(0, 100, 33).astype(int)
    assert frames.shape == (100,)
    assert np.all(frames[bounds[0]:bounds[1]] == 0.5)
    assert np.all(frames[bounds[31]:] == 62.5)
    assert bounds[1] == 3


def test_spread_over_fewer_frames_than_units():
    assert spread_over_frames(np.arange(4.0), 2).tolist() == [1.0, 3.0]


def test_frame_scores_concatenates_videos_in_both_paths():
    scores = np.array([1, 2, 3, 4, 5], dtype=np.float32)
    offsets = np.array([0, 2, 5])
    fast = frame_scores(scores, offsets, np.array([32, 48]))
    assert np.array_equal(fast, np.repeat(scores, 16))
    slow = frame_scores(scores, offsets, np.array([4, 3]))  # real frame counts: spread
    assert slow.tolist() == [1, 1, 2, 2, 3, 4, 5]
    with pytest.raises(ValueError, match="protocol"):
        video_frame_scores(scores, 10, "frame")
