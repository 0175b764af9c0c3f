import numpy as np
import pytest

from cbmil.data.frames import frame_ground_truth, frame_scores, spread_over_frames, video_frame_scores


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


def test_segment_protocol_puts_each_segment_on_its_own_snippets_frames():
    # T = 50 snippets: segment i averages snippets floor(50 i / 32) .. floor(50 (i+1) / 32) - 1 and
    # its score must land on exactly those snippets' frames (the old spread over
    # floor(linspace(0, 800, 33)) misplaced 30 of the 32 segments by up to 15 frames)
    snippets = np.arange(50, dtype=np.float64)
    frames = video_frame_scores(snippets, 800, "segment")
    assert frames.shape == (800,)
    bounds = (np.arange(33) * 50) // 32
    for i in range(32):
        mean = snippets[bounds[i]:bounds[i + 1]].mean()
        assert np.all(frames[16 * bounds[i]:16 * bounds[i + 1]] == mean), i
    owner = np.searchsorted(bounds, np.arange(800) // 16, side="right") - 1  # segment of each frame's snippet
    assert np.array_equal(frames, np.array([snippets[bounds[k]:bounds[k + 1]].mean() for k in owner]))


def test_segment_protocol_pads_with_the_last_score_and_cuts_a_shorter_video():
    snippets = np.arange(64, dtype=np.float32)  # 32 segments of 2 snippets: 0.5, 2.5, ..., 62.5
    longer = video_frame_scores(snippets, 16 * 64 + 10, "segment")
    assert np.all(longer[:32] == 0.5) and np.all(longer[16 * 64 - 32:] == 62.5) and len(longer) == 1034
    shorter = video_frame_scores(snippets, 100, "segment")
    assert shorter.tolist() == [0.5] * 32 + [2.5] * 32 + [4.5] * 32 + [6.5] * 4


def test_spread_uses_exact_integer_bounds():
    # 540 frames over 198 units: unit 10 ends at floor(11 * 540 / 198) = 30 (linspace gives 29)
    frames = spread_over_frames(np.arange(198), 540)
    assert len(frames) == 540
    assert np.flatnonzero(frames == 11)[0] == 30
    bounds = np.arange(199) * 540 // 198
    assert np.array_equal(frames, np.repeat(np.arange(198), np.diff(bounds)))


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
