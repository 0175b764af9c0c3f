"""Tests for cbmil.eval.metrics: hand-computed cases, agreement with sklearn, validation, scale,
and the (y_true, y_score) argument order. The seed statistics are tested in tests/test_stats.py."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

from cbmil.eval.metrics import (
    abnormal_auc,
    average_precision,
    evaluate,
    false_alarm_rate,
    localisation,
    per_class_auc,
    roc_curve_points,
    total_auc,
)
from cbmil.data.ucf_crime import CLASSES, LABELS, NORMAL_INDEX, TEST_COUNTS

ABUSE, ARREST = CLASSES.index("Abuse"), CLASSES.index("Arrest")


def three_videos():
    """One Abuse video, one Arrest video, one normal video (8 frames), as
    ``(y_true, y_score, frame_offsets, video_classes)``.

    video   class   labels   scores
    A       Abuse   1 1 0    0.8 0.4 0.3
    B       Arrest  1 0 0    0.6 0.7 0.2
    N       Normal  0 0      0.5 0.1
    """
    labels = np.array([1, 1, 0, 1, 0, 0, 0, 0], dtype=np.uint8)
    scores = np.array([0.8, 0.4, 0.3, 0.6, 0.7, 0.2, 0.5, 0.1])
    offsets = np.array([0, 3, 6, 8], dtype=np.int64)
    classes = np.array([ABUSE, ARREST, NORMAL_INDEX])
    return labels, scores, offsets, classes


# ----------------------------------------------------------------------------- total AUC and AP

def test_total_auc_hand_case_is_three_quarters():
    # positives 0.35, 0.8; negatives 0.1, 0.4. Pairs won: 0.35>0.1, 0.8>0.1, 0.8>0.4 -> 3 of 4.
    assert total_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)


def test_total_auc_counts_ties_as_half():
    assert total_auc([0, 1, 0, 1], [0.3, 0.3, 0.3, 0.3]) == pytest.approx(0.5)


def test_total_auc_on_three_videos_by_hand():
    # positives 0.8, 0.4, 0.6 vs negatives 0.3, 0.7, 0.2, 0.5, 0.1:
    # 0.8 beats 5, 0.4 beats 3 (0.3, 0.2, 0.1), 0.6 beats 4 (all but 0.7) -> 12 / 15.
    labels, scores, _, _ = three_videos()
    assert total_auc(labels, scores) == pytest.approx(12 / 15)


def test_average_precision_on_three_videos_by_hand():
    # Ranked: 0.8(+) 0.7 0.6(+) 0.5 0.4(+) ... -> precision 1/1, 2/3, 3/5 at each recall step of 1/3.
    labels, scores, _, _ = three_videos()
    assert average_precision(labels, scores) == pytest.approx((1 + 2 / 3 + 3 / 5) / 3)  # 34/45


def test_total_auc_and_average_precision_equal_sklearn():
    rng = np.random.default_rng(1)
    scores = np.round(rng.random(500), 2)  # ties on purpose
    labels = rng.random(500) < 0.3
    assert total_auc(labels, scores) == roc_auc_score(labels, scores)
    assert average_precision(labels, scores) == average_precision_score(labels, scores)
    # keyword names as in sklearn.metrics
    assert total_auc(y_score=scores, y_true=labels) == roc_auc_score(y_true=labels, y_score=scores)


def test_one_label_gives_nan_auc_and_ap_without_positives_is_nan():
    assert math.isnan(total_auc([0, 0], [0.1, 0.9]))
    assert math.isnan(average_precision([0, 0], [0.1, 0.9]))
    assert average_precision([1, 1], [0.1, 0.9]) == pytest.approx(1.0)


def test_roc_curve_points_match_sklearn_and_span_unit_square():
    labels, scores, _, _ = three_videos()
    fpr, tpr = roc_curve_points(labels, scores)
    ref_fpr, ref_tpr, _ = roc_curve(labels, scores, drop_intermediate=True)
    np.testing.assert_array_equal(fpr, ref_fpr)
    np.testing.assert_array_equal(tpr, ref_tpr)
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0.0, 0.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="both anomalous and normal"):
        roc_curve_points([1, 1], [0.1, 0.2])


# ----------------------------------------------------------------------------- per-class AUC

def test_per_class_auc_default_uses_only_the_class_videos():
    # Abuse: positives 0.8, 0.4 vs negative 0.3 -> 2/2 = 1.0.
    # Arrest: positive 0.6 vs negatives 0.7, 0.2 -> 1/2 = 0.5.
    got = per_class_auc(*three_videos())
    assert got["Abuse"] == pytest.approx(1.0)
    assert got["Arrest"] == pytest.approx(0.5)


def test_per_class_auc_include_normal_adds_normal_videos_and_differs():
    # Abuse + normal: positives 0.8, 0.4 vs negatives 0.3, 0.5, 0.1 -> (3 + 2) / 6 = 5/6.
    # Arrest + normal: positive 0.6 vs negatives 0.7, 0.2, 0.5, 0.1 -> 3/4.
    with_normal = per_class_auc(*three_videos(), include_normal=True)
    own_only = per_class_auc(*three_videos())
    assert with_normal["Abuse"] == pytest.approx(5 / 6)
    assert with_normal["Arrest"] == pytest.approx(3 / 4)
    assert with_normal["Abuse"] != pytest.approx(own_only["Abuse"])
    assert abnormal_auc(own_only) == pytest.approx((1.0 + 0.5) / 2)
    assert abnormal_auc(with_normal) == pytest.approx((5 / 6 + 3 / 4) / 2)


def test_per_class_auc_keys_are_the_13_classes_in_order_and_absent_classes_are_nan():
    got = per_class_auc(*three_videos())
    assert tuple(got) == CLASSES
    missing = [name for name in CLASSES if name not in ("Abuse", "Arrest")]
    assert all(math.isnan(got[name]) for name in missing)


def test_class_whose_frames_are_all_anomalous_is_nan_only_without_normals():
    scores = np.array([0.9, 0.7, 0.2, 0.8])
    labels = np.array([1, 1, 0, 0])
    offsets = np.array([0, 2, 4])
    classes = np.array([ABUSE, NORMAL_INDEX])
    assert math.isnan(per_class_auc(labels, scores, offsets, classes)["Abuse"])
    # with the normal video: 0.9 beats 0.2, 0.8; 0.7 beats 0.2 only -> 3/4
    with_normal = per_class_auc(labels, scores, offsets, classes, include_normal=True)
    assert with_normal["Abuse"] == pytest.approx(0.75)


def test_abnormal_auc_averages_defined_classes_only():
    assert abnormal_auc({"Abuse": 0.6, "Arrest": float("nan"), "Arson": 0.8}) == pytest.approx(0.7)
    assert abnormal_auc([0.5, 1.0]) == pytest.approx(0.75)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # all-nan must not emit numpy's "mean of empty slice"
        assert math.isnan(abnormal_auc({"Abuse": float("nan")}))


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_videos=st.integers(2, 12),
    levels=st.integers(2, 6),
    include_normal=st.booleans(),
)
def test_evaluate_equals_plain_sklearn_on_tie_heavy_data(seed, n_videos, levels, include_normal):
    # evaluate and per_class_auc compress the frames before sklearn; this pins that the
    # compression is exact, ties included (scores take only `levels` distinct values).
    rng = np.random.default_rng(seed)
    classes = rng.choice([ABUSE, ARREST, 5, NORMAL_INDEX], size=n_videos)
    lengths = rng.integers(0, 15, size=n_videos)
    offsets = np.concatenate(([0], np.cumsum(lengths)))
    frame_class = np.repeat(classes, lengths)
    labels = (frame_class != NORMAL_INDEX) & (rng.random(offsets[-1]) < 0.5)
    scores = rng.integers(0, levels, size=offsets[-1]) / levels
    got = evaluate(labels, scores, offsets, classes, include_normal=include_normal)

    def ref_auc(mask):
        y = labels[mask]
        return roc_auc_score(y, scores[mask]) if 0 < y.sum() < y.size else float("nan")

    np.testing.assert_allclose(got["total_auc"], ref_auc(np.ones_like(labels)), rtol=1e-12)
    ref_ap = average_precision_score(labels, scores) if labels.any() else float("nan")
    np.testing.assert_allclose(got["average_precision"], ref_ap, rtol=1e-12)
    for index, name in enumerate(CLASSES):
        mask = frame_class == index
        if include_normal and mask.any():
            mask |= frame_class == NORMAL_INDEX
        expected = ref_auc(mask) if mask.any() else float("nan")
        np.testing.assert_allclose(got["per_class_auc"][name], expected, rtol=1e-12)


# ----------------------------------------------------------------------------- false alarms, evaluate

def test_false_alarm_rate_counts_normal_frames_at_or_above_threshold():
    _, scores, offsets, classes = three_videos()
    # normal frames 0.5, 0.1: 0.5 >= 0.5 is a false alarm (inclusive threshold); abnormal
    # videos' frames (0.8, 0.7, ...) never count.
    assert false_alarm_rate(scores, offsets, classes) == pytest.approx(0.5)
    assert false_alarm_rate(scores, offsets, classes, threshold=0.51) == pytest.approx(0.0)
    assert false_alarm_rate(scores, offsets, classes, threshold=0.05) == pytest.approx(1.0)


def test_false_alarm_rate_without_normal_videos_is_nan():
    assert math.isnan(false_alarm_rate([0.9, 0.1], [0, 1, 2], [ABUSE, ARREST]))


def test_evaluate_returns_every_metric_with_hand_values():
    got = evaluate(*three_videos())
    assert set(got) == {"total_auc", "abnormal_auc", "per_class_auc", "average_precision",
                        "false_alarm_rate", "median_video_auc", "inside_above_share",
                        "top_in_event_share", "per_class_localisation"}
    assert got["total_auc"] == pytest.approx(12 / 15)
    assert got["abnormal_auc"] == pytest.approx(0.75)
    assert got["per_class_auc"]["Abuse"] == pytest.approx(1.0)
    assert got["average_precision"] == pytest.approx(34 / 45)
    assert got["false_alarm_rate"] == pytest.approx(0.5)
    assert evaluate(*three_videos(), include_normal=True)["abnormal_auc"] == pytest.approx(19 / 24)


def test_evaluate_at_ucf_crime_test_scale():
    # 290 test videos with the official class counts, 1.11 M frames; must simply run.
    rng = np.random.default_rng(0)
    classes = np.concatenate([np.full(TEST_COUNTS[name], i) for i, name in enumerate(LABELS)])
    lengths = rng.multinomial(1_110_000 - classes.size, np.full(classes.size, 1 / classes.size)) + 1
    offsets = np.concatenate(([0], np.cumsum(lengths)))
    frame_class = np.repeat(classes, lengths)
    labels = (frame_class != NORMAL_INDEX) & (rng.random(offsets[-1]) < 0.3)
    scores = (rng.random(offsets[-1]) + 0.3 * labels).astype(np.float32)
    for include_normal in (False, True):
        got = evaluate(labels, scores, offsets, classes, include_normal=include_normal)
        assert classes.size == 290 and offsets[-1] == 1_110_000
        assert 0.5 < got["total_auc"] < 1.0
        assert all(0.5 < v < 1.0 for v in got["per_class_auc"].values())
        assert 0.5 < got["median_video_auc"] < 1.0 and got["inside_above_share"] > 0.9


# ----------------------------------------------------------------------------- localisation

def one_video(labels, scores, cls=ABUSE):
    """``(y_true, y_score, frame_offsets, video_classes)`` of a single test video of class ``cls``."""
    scores = np.asarray(scores, dtype=np.float64)
    return np.asarray(labels, dtype=bool), scores, np.array([0, scores.size]), np.array([cls])


def per_video(result, key):
    return result["per_video"][key].tolist()


def snippet_video(top_snippet, event, n_snippets=4):
    """A 16-frame-snippet video: snippet k scores 0.1 * (k + 1), the top snippet 0.9;
    ``event`` = (first, last) anomalous frame, inclusive."""
    snippet_scores = 0.1 * (np.arange(n_snippets) + 1)
    snippet_scores[top_snippet] = 0.9
    labels = np.zeros(16 * n_snippets, dtype=bool)
    labels[event[0]:event[1] + 1] = True
    return one_video(labels, np.repeat(snippet_scores, 16))


def test_localisation_event_scored_high_is_found_every_way():
    scores = [0.1, 0.2, 0.1, 0.9, 0.8, 0.9, 0.2, 0.1]
    labels = [0, 0, 0, 1, 1, 1, 0, 0]
    got = localisation(*one_video(labels, scores))
    assert per_video(got, "video_index") == [0]
    assert per_video(got, "video_auc") == [1.0]
    assert per_video(got, "inside_above_outside") == [1.0]
    assert per_video(got, "top_in_event") == [1.0]
    assert (got["median_video_auc"], got["inside_above_share"], got["top_in_event_share"]) == (
        1.0, 1.0, 1.0)


def test_localisation_flat_video_is_chance_not_above_and_top_run_is_whole_video():
    # 0.1 does not sum exactly (3 * 0.1 != 0.3): the means must still compare equal.
    labels = [0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0]
    got = localisation(*one_video(labels, [0.1] * 11))
    assert per_video(got, "video_auc") == [0.5]
    assert per_video(got, "inside_above_outside") == [0.0]  # equal means: not strictly greater
    assert per_video(got, "top_in_event") == [1.0]  # the run of the first max frame is the video


def test_localisation_video_scored_low_inside_its_event():
    # lifted everywhere but lowest on the event: the video-level signal does not help here
    got = localisation(*one_video([0, 0, 1, 1, 0], [0.9, 0.9, 0.7, 0.7, 0.9]))
    assert per_video(got, "video_auc") == [0.0]
    assert per_video(got, "inside_above_outside") == [0.0]
    assert per_video(got, "top_in_event") == [0.0]


@pytest.mark.parametrize(
    "top_snippet, event, expected",
    [
        (1, (20, 40), 1.0),   # frames 16..31: overlaps the event's start
        (2, (20, 40), 1.0),   # frames 32..47: overlaps its end (frame 40)
        (3, (20, 40), 0.0),   # frames 48..63: after the event
        (0, (20, 40), 0.0),   # frames 0..15: before it
        (2, (0, 31), 0.0),    # event ends at frame 31, top snippet starts at 32: just misses
        (1, (31, 31), 1.0),   # a single event frame on the snippet's last frame counts
    ],
)
def test_top_in_event_uses_the_top_snippet_with_an_overlap_rule(top_snippet, event, expected):
    got = localisation(*snippet_video(top_snippet, event))
    assert per_video(got, "top_in_event") == [expected]


def test_top_unit_is_the_run_of_the_first_maximal_frame():
    # Two separate snippets tie for the maximum: only the first one (frames 0..15) counts.
    scores = np.repeat([0.9, 0.2, 0.9, 0.3], 16)
    labels = np.zeros(64, dtype=bool)
    labels[40] = True
    assert per_video(localisation(*one_video(labels, scores)), "top_in_event") == [0.0]
    # Adjacent tied snippets form one run (frames 16..47), which reaches the event at 40.
    scores = np.repeat([0.2, 0.9, 0.9, 0.3], 16)
    assert per_video(localisation(*one_video(labels, scores)), "top_in_event") == [1.0]


def test_localisation_ignores_normal_videos():
    # Abuse video, then a normal video scored far higher, then an Arrest video.
    scores = np.array([0.1, 0.8, 0.2, 5.0, 5.0, 0.3, 0.6, 0.4])
    labels = np.array([0, 1, 0, 0, 0, 1, 0, 0], dtype=bool)
    offsets = np.array([0, 3, 5, 8])
    classes = np.array([ABUSE, NORMAL_INDEX, ARREST])
    got = localisation(labels, scores, offsets, classes)
    assert per_video(got, "video_index") == [0, 2]
    assert per_video(got, "video_auc") == [1.0, 0.0]
    assert per_video(got, "top_in_event") == [1.0, 0.0]
    # the normal video's frames do not change anything
    without = localisation(np.delete(labels, [3, 4]), np.delete(scores, [3, 4]), [0, 3, 6],
                           [ABUSE, ARREST])
    for key in ("video_auc", "inside_above_outside", "top_in_event"):
        assert per_video(got, key) == per_video(without, key)
    only_normal = localisation([0, 0], [0.1, 0.2], [0, 2], [NORMAL_INDEX])
    assert got["per_video"]["video_index"].dtype.kind == "i"
    assert only_normal["per_video"]["video_auc"].shape == (0,)
    assert math.isnan(only_normal["median_video_auc"])
    assert math.isnan(only_normal["top_in_event_share"])


def test_localisation_undefined_cases_are_nan():
    all_anomalous = localisation(*one_video([1, 1, 1], [0.3, 0.7, 0.5]))
    assert math.isnan(per_video(all_anomalous, "video_auc")[0])
    assert math.isnan(per_video(all_anomalous, "inside_above_outside")[0])
    assert per_video(all_anomalous, "top_in_event") == [1.0]
    no_event = localisation(*one_video([0, 0, 0], [0.3, 0.7, 0.5]))
    assert all(math.isnan(per_video(no_event, key)[0])
               for key in ("video_auc", "inside_above_outside", "top_in_event"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "mean of empty slice" / division warnings
        summary = localisation(*one_video([0, 0, 0], [0.3, 0.7, 0.5]))
        empty_video = localisation(np.zeros(0, bool), np.zeros(0), [0, 0], [ABUSE])
    assert math.isnan(summary["median_video_auc"]) and math.isnan(summary["inside_above_share"])
    assert math.isnan(per_video(empty_video, "top_in_event")[0])


def test_localisation_per_class_summaries_and_absent_classes():
    # Abuse 1: AUC 1, inside 1, top 1. Arrest: AUC 0, inside 0, top 0.
    scores = np.array([0.9, 0.1, 0.5, 0.5, 0.7, 0.2, 0.8])
    labels = np.array([1, 0, 1, 0, 0, 1, 0], dtype=bool)
    offsets = np.array([0, 2, 5, 7])
    classes = np.array([ABUSE, ABUSE, ARREST])
    # video 2 (Abuse): 0.5(+) vs 0.5, 0.7 -> (0.5 + 0) / 2 = 0.25; inside 0.5 < 0.6; top 0.7 normal
    got = localisation(labels, scores, offsets, classes)
    assert per_video(got, "video_auc") == [1.0, 0.25, 0.0]
    per_class = got["per_class"]
    assert tuple(per_class) == CLASSES
    assert per_class["Abuse"] == {"median_video_auc": 0.625, "inside_above_share": 0.5,
                                  "top_in_event_share": 0.5, "n_videos": 2}
    assert per_class["Arrest"] == {"median_video_auc": 0.0, "inside_above_share": 0.0,
                                   "top_in_event_share": 0.0, "n_videos": 1}
    for name in CLASSES:
        if name not in ("Abuse", "Arrest"):
            entry = per_class[name]
            assert entry["n_videos"] == 0
            assert all(math.isnan(entry[key]) for key in
                       ("median_video_auc", "inside_above_share", "top_in_event_share"))
    assert got["median_video_auc"] == pytest.approx(0.25)
    assert got["inside_above_share"] == pytest.approx(1 / 3)
    assert got["top_in_event_share"] == pytest.approx(1 / 3)


def reference_localisation(labels, scores, offsets, classes):
    """Per-video reference: sklearn for the AUC, plain Python for the rest."""
    rows = []
    for v, cls in enumerate(classes):
        if cls == NORMAL_INDEX:
            continue
        s, y = scores[offsets[v]:offsets[v + 1]], labels[offsets[v]:offsets[v + 1]]
        both = 0 < y.sum() < y.size
        auc = roc_auc_score(y, s) if both else math.nan
        inside = float(np.mean(s[y]) > np.mean(s[~y])) if both else math.nan
        top = math.nan
        if y.any():
            first = int(np.argmax(s))
            last = first
            while last + 1 < s.size and s[last + 1] == s[first]:
                last += 1
            top = float(y[first:last + 1].any())
        rows.append((v, auc, inside, top))
    return rows


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_videos=st.integers(1, 12),
    levels=st.integers(1, 5),
)
def test_localisation_equals_sklearn_per_video_on_tie_heavy_data(seed, n_videos, levels):
    # Scores take only `levels` distinct values, so ties within and across the event are
    # everywhere; lengths 0 and one-label videos occur. The values are multiples of 1/8, so sums
    # are exact and equal means compare equal in both implementations (inside_above_outside).
    rng = np.random.default_rng(seed)
    classes = rng.choice([ABUSE, ARREST, 5, NORMAL_INDEX], size=n_videos)
    lengths = rng.integers(0, 40, size=n_videos)
    offsets = np.concatenate(([0], np.cumsum(lengths)))
    frame_class = np.repeat(classes, lengths)
    labels = (frame_class != NORMAL_INDEX) & (rng.random(offsets[-1]) < rng.random())
    scores = rng.integers(0, levels, size=offsets[-1]) / 8
    got = localisation(labels, scores, offsets, classes)
    ref = reference_localisation(labels, scores, offsets, classes)
    assert per_video(got, "video_index") == [row[0] for row in ref]
    for column, key in enumerate(("video_auc", "inside_above_outside", "top_in_event"), start=1):
        np.testing.assert_allclose(got["per_video"][key], [row[column] for row in ref],
                                   rtol=1e-12, atol=1e-15)
    # evaluate carries the same summaries
    flat = evaluate(labels, scores, offsets, classes)
    for key in ("median_video_auc", "inside_above_share", "top_in_event_share"):
        np.testing.assert_array_equal(flat[key], got[key])
    assert json.dumps(flat["per_class_localisation"]) == json.dumps(got["per_class"])


def test_localisation_equals_sklearn_on_distinct_continuous_scores():
    rng = np.random.default_rng(3)
    lengths = rng.integers(50, 400, size=20)
    offsets = np.concatenate(([0], np.cumsum(lengths)))
    classes = rng.choice([ABUSE, ARREST, NORMAL_INDEX], size=20)
    labels = rng.random(offsets[-1]) < 0.3
    scores = rng.random(offsets[-1]).astype(np.float32) + 0.2 * labels
    got = localisation(labels, scores, offsets, classes)
    ref = reference_localisation(labels, scores.astype(np.float64), offsets, classes)
    np.testing.assert_allclose(got["per_video"]["video_auc"], [row[1] for row in ref], rtol=1e-12)
    np.testing.assert_array_equal(got["per_video"]["top_in_event"], [row[3] for row in ref])


def test_evaluate_carries_the_localisation_summaries():
    # Abuse video: 0.8 0.4 (+) vs 0.3 -> AUC 1, inside, top 0.8 anomalous.
    # Arrest video: 0.6 (+) vs 0.7, 0.2 -> AUC 0.5; 0.6 > 0.45 inside; top 0.7 is normal.
    got = evaluate(*three_videos())
    assert got["median_video_auc"] == pytest.approx(0.75)
    assert got["inside_above_share"] == pytest.approx(1.0)
    assert got["top_in_event_share"] == pytest.approx(0.5)
    # (compared as JSON: nan != nan in a dict comparison, "NaN" == "NaN" in text)
    assert json.dumps(got["per_class_localisation"]) == json.dumps(
        localisation(*three_videos())["per_class"])
    assert got["per_class_localisation"]["Arrest"]["top_in_event_share"] == 0.0
    assert "per_video" not in got
    json.dumps(got)  # the whole result is JSON-serialisable (nan as NaN)


def test_localisation_validates_its_input():
    with pytest.raises(ValueError, match=r"y_true \(frame labels\) must have the shape of y_score"):
        localisation([1], [0.1, 0.2], [0, 2], [ABUSE])
    with pytest.raises(ValueError, match="frame_offsets must end"):
        localisation([1, 0], [0.1, 0.2], [0, 1], [ABUSE])
    with pytest.raises(ValueError, match="video_classes must hold"):
        localisation([1, 0], [0.1, 0.2], [0, 2], [14])


# ----------------------------------------------------------------------------- validation

@pytest.mark.parametrize(
    "change, match",
    [
        ({"labels": np.array([1, 0, 0])}, r"y_true \(frame labels\).*expected \(8,\); received \(3,\)"),
        ({"labels": np.array([2, 0, 0, 0, 0, 0, 0, 0])}, r"y_true \(frame labels\) must hold only 0/1.*e\.g\. \[2\]"),
        ({"scores": np.array([0.1] * 7 + [np.nan])}, "y_score must be finite"),
        ({"scores": np.ones((8, 1))}, r"y_score must be a 1-D array; received shape \(8, 1\)"),
        ({"offsets": np.array([1, 3, 6, 8])}, "frame_offsets must start at 0"),
        ({"offsets": np.array([0, 6, 3, 8])}, "frame_offsets must be non-decreasing"),
        ({"offsets": np.array([0, 3, 6, 9])}, r"frame_offsets must end at .* F = 8"),
        ({"offsets": np.array([0.0, 3.0, 6.0, 8.0])}, "frame_offsets must be a non-empty integer"),
        ({"classes": np.array([0, 1])}, r"video_classes.*expected \(3,\).*received \(2,\)"),
        ({"classes": np.array([0, 1, 14])}, "video_classes must hold integer class indices"),
    ],
)
def test_evaluate_rejects_inconsistent_inputs(change, match):
    labels, scores, offsets, classes = three_videos()
    args = {"scores": scores, "labels": labels, "offsets": offsets, "classes": classes} | change
    with pytest.raises(ValueError, match=match):
        evaluate(args["labels"], args["scores"], args["offsets"], args["classes"])


def test_single_metrics_validate_too():
    with pytest.raises(ValueError, match=r"y_true \(frame labels\) must have the shape"):
        total_auc([1], [0.1, 0.2])
    with pytest.raises(ValueError, match=r"y_true \(frame labels\) must have the shape"):
        average_precision([1, 0, 1], [0.1, 0.2])
    with pytest.raises(ValueError, match="frame_offsets must end"):
        false_alarm_rate([0.1, 0.2], [0, 1], [NORMAL_INDEX])
    with pytest.raises(ValueError, match="video_classes"):
        per_class_auc([1, 0], [0.1, 0.2], [0, 1, 2], [ABUSE])


# ----------------------------------------------------------------------------- argument order

LABELS_FIRST = [
    ("total_auc", lambda y, s, o, c: total_auc(y, s)),
    ("average_precision", lambda y, s, o, c: average_precision(y, s)),
    ("roc_curve_points", lambda y, s, o, c: roc_curve_points(y, s)),
    ("per_class_auc", lambda y, s, o, c: per_class_auc(y, s, o, c)),
    ("localisation", lambda y, s, o, c: localisation(y, s, o, c)),
    ("evaluate", lambda y, s, o, c: evaluate(y, s, o, c)),
]


@pytest.mark.parametrize("name, call", LABELS_FIRST, ids=[name for name, _ in LABELS_FIRST])
def test_scores_passed_first_are_refused_with_the_expected_order(name, call):
    # A swapped call would otherwise give 1 - AUC without a word; here the scores land in y_true,
    # are not 0/1 and the error names the order.
    labels, scores, offsets, classes = three_videos()
    call(labels, scores, offsets, classes)  # the right order runs
    with pytest.raises(ValueError, match=r"y_true \(frame labels\) must hold only 0/1.*labels first, scores second"):
        call(scores, labels, offsets, classes)


def test_labels_first_gives_the_auc_and_not_its_complement():
    labels, scores, offsets, classes = three_videos()
    assert total_auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores)) == pytest.approx(12 / 15)
    assert total_auc(labels, -scores) == pytest.approx(1 - 12 / 15)
    assert evaluate(labels, scores, offsets, classes)["total_auc"] == pytest.approx(12 / 15)
    assert localisation(labels, scores, offsets, classes)["per_video"]["video_auc"].tolist() == [1.0, 0.5]
