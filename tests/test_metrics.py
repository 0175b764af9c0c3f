"""Tests for cbmil.eval.metrics: hand-computed cases, agreement with sklearn, validation, scale."""

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
    paired_difference,
    per_class_auc,
    roc_curve_points,
    seed_summary,
    total_auc,
)
from cbmil.data.ucf_crime import CLASSES, LABELS, NORMAL_INDEX, TEST_COUNTS

ABUSE, ARREST = CLASSES.index("Abuse"), CLASSES.index("Arrest")


def three_videos():
    """One Abuse video, one Arrest video, one normal video (8 frames).

    video   class   scores            labels
    A       Abuse   0.8 0.4 0.3       1 1 0
    B       Arrest  0.6 0.7 0.2       1 0 0
    N       Normal  0.5 0.1           0 0
    """
    scores = np.array([0.8, 0.4, 0.3, 0.6, 0.7, 0.2, 0.5, 0.1])
    labels = np.array([1, 1, 0, 1, 0, 0, 0, 0], dtype=np.uint8)
    offsets = np.array([0, 3, 6, 8], dtype=np.int64)
    classes = np.array([ABUSE, ARREST, NORMAL_INDEX])
    return scores, labels, offsets, classes


# ----------------------------------------------------------------------------- total AUC and AP

def test_total_auc_hand_case_is_three_quarters():
    # positives 0.35, 0.8; negatives 0.1, 0.4. Pairs won: 0.35>0.1, 0.8>0.1, 0.8>0.4 -> 3 of 4.
    assert total_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == pytest.approx(0.75)


def test_total_auc_counts_ties_as_half():
    assert total_auc([0.3, 0.3, 0.3, 0.3], [0, 1, 0, 1]) == pytest.approx(0.5)


def test_total_auc_on_three_videos_by_hand():
    # positives 0.8, 0.4, 0.6 vs negatives 0.3, 0.7, 0.2, 0.5, 0.1:
    # 0.8 beats 5, 0.4 beats 3 (0.3, 0.2, 0.1), 0.6 beats 4 (all but 0.7) -> 12 / 15.
    scores, labels, _, _ = three_videos()
    assert total_auc(scores, labels) == pytest.approx(12 / 15)


def test_average_precision_on_three_videos_by_hand():
    # Ranked: 0.8(+) 0.7 0.6(+) 0.5 0.4(+) ... -> precision 1/1, 2/3, 3/5 at each recall step of 1/3.
    scores, labels, _, _ = three_videos()
    assert average_precision(scores, labels) == pytest.approx((1 + 2 / 3 + 3 / 5) / 3)  # 34/45


def test_total_auc_and_average_precision_equal_sklearn():
    rng = np.random.default_rng(1)
    scores = np.round(rng.random(500), 2)  # ties on purpose
    labels = rng.random(500) < 0.3
    assert total_auc(scores, labels) == roc_auc_score(labels, scores)
    assert average_precision(scores, labels) == average_precision_score(labels, scores)


def test_one_label_gives_nan_auc_and_ap_without_positives_is_nan():
    assert math.isnan(total_auc([0.1, 0.9], [0, 0]))
    assert math.isnan(average_precision([0.1, 0.9], [0, 0]))
    assert average_precision([0.1, 0.9], [1, 1]) == pytest.approx(1.0)


def test_roc_curve_points_match_sklearn_and_span_unit_square():
    scores, labels, _, _ = three_videos()
    fpr, tpr = roc_curve_points(scores, labels)
    ref_fpr, ref_tpr, _ = roc_curve(labels, scores, drop_intermediate=True)
    np.testing.assert_array_equal(fpr, ref_fpr)
    np.testing.assert_array_equal(tpr, ref_tpr)
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0.0, 0.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="both anomalous and normal"):
        roc_curve_points([0.1, 0.2], [1, 1])


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
    assert math.isnan(per_class_auc(scores, labels, offsets, classes)["Abuse"])
    # with the normal video: 0.9 beats 0.2, 0.8; 0.7 beats 0.2 only -> 3/4
    with_normal = per_class_auc(scores, labels, offsets, classes, include_normal=True)
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
    got = evaluate(scores, labels, offsets, classes, include_normal=include_normal)

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
    scores, _, offsets, classes = three_videos()
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
        got = evaluate(scores, labels, offsets, classes, include_normal=include_normal)
        assert classes.size == 290 and offsets[-1] == 1_110_000
        assert 0.5 < got["total_auc"] < 1.0
        assert all(0.5 < v < 1.0 for v in got["per_class_auc"].values())
        assert 0.5 < got["median_video_auc"] < 1.0 and got["inside_above_share"] > 0.9


# ----------------------------------------------------------------------------- localisation

def one_video(scores, labels, cls=ABUSE):
    """Arrays for a single test video of class ``cls``."""
    scores = np.asarray(scores, dtype=np.float64)
    return scores, np.asarray(labels, dtype=bool), np.array([0, scores.size]), np.array([cls])


def per_video(result, key):
    return result["per_video"][key].tolist()


def snippet_video(top_snippet, event, n_snippets=4):
    """A 16-frame-snippet video: snippet k scores 0.1 * (k + 1), the top snippet 0.9;
    ``event`` = (first, last) anomalous frame, inclusive."""
    snippet_scores = 0.1 * (np.arange(n_snippets) + 1)
    snippet_scores[top_snippet] = 0.9
    labels = np.zeros(16 * n_snippets, dtype=bool)
    labels[event[0]:event[1] + 1] = True
    return one_video(np.repeat(snippet_scores, 16), labels)


def test_localisation_event_scored_high_is_found_every_way():
    scores = [0.1, 0.2, 0.1, 0.9, 0.8, 0.9, 0.2, 0.1]
    labels = [0, 0, 0, 1, 1, 1, 0, 0]
    got = localisation(*one_video(scores, labels))
    assert per_video(got, "video_index") == [0]
    assert per_video(got, "video_auc") == [1.0]
    assert per_video(got, "inside_above_outside") == [1.0]
    assert per_video(got, "top_in_event") == [1.0]
    assert (got["median_video_auc"], got["inside_above_share"], got["top_in_event_share"]) == (
        1.0, 1.0, 1.0)


def test_localisation_flat_video_is_chance_not_above_and_top_run_is_whole_video():
    # 0.1 does not sum exactly (3 * 0.1 != 0.3): the means must still compare equal.
    labels = [0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0]
    got = localisation(*one_video([0.1] * 11, labels))
    assert per_video(got, "video_auc") == [0.5]
    assert per_video(got, "inside_above_outside") == [0.0]  # equal means: not strictly greater
    assert per_video(got, "top_in_event") == [1.0]  # the run of the first max frame is the video


def test_localisation_video_scored_low_inside_its_event():
    # lifted everywhere but lowest on the event: the video-level signal does not help here
    got = localisation(*one_video([0.9, 0.9, 0.7, 0.7, 0.9], [0, 0, 1, 1, 0]))
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
    assert per_video(localisation(*one_video(scores, labels)), "top_in_event") == [0.0]
    # Adjacent tied snippets form one run (frames 16..47), which reaches the event at 40.
    scores = np.repeat([0.2, 0.9, 0.9, 0.3], 16)
    assert per_video(localisation(*one_video(scores, labels)), "top_in_event") == [1.0]


def test_localisation_ignores_normal_videos():
    # Abuse video, then a normal video scored far higher, then an Arrest video.
    scores = np.array([0.1, 0.8, 0.2, 5.0, 5.0, 0.3, 0.6, 0.4])
    labels = np.array([0, 1, 0, 0, 0, 1, 0, 0], dtype=bool)
    offsets = np.array([0, 3, 5, 8])
    classes = np.array([ABUSE, NORMAL_INDEX, ARREST])
    got = localisation(scores, labels, offsets, classes)
    assert per_video(got, "video_index") == [0, 2]
    assert per_video(got, "video_auc") == [1.0, 0.0]
    assert per_video(got, "top_in_event") == [1.0, 0.0]
    # the normal video's frames do not change anything
    without = localisation(np.delete(scores, [3, 4]), np.delete(labels, [3, 4]), [0, 3, 6],
                           [ABUSE, ARREST])
    for key in ("video_auc", "inside_above_outside", "top_in_event"):
        assert per_video(got, key) == per_video(without, key)
    only_normal = localisation([0.1, 0.2], [0, 0], [0, 2], [NORMAL_INDEX])
    assert got["per_video"]["video_index"].dtype.kind == "i"
    assert only_normal["per_video"]["video_auc"].shape == (0,)
    assert math.isnan(only_normal["median_video_auc"])
    assert math.isnan(only_normal["top_in_event_share"])


def test_localisation_undefined_cases_are_nan():
    all_anomalous = localisation(*one_video([0.3, 0.7, 0.5], [1, 1, 1]))
    assert math.isnan(per_video(all_anomalous, "video_auc")[0])
    assert math.isnan(per_video(all_anomalous, "inside_above_outside")[0])
    assert per_video(all_anomalous, "top_in_event") == [1.0]
    no_event = localisation(*one_video([0.3, 0.7, 0.5], [0, 0, 0]))
    assert all(math.isnan(per_video(no_event, key)[0])
               for key in ("video_auc", "inside_above_outside", "top_in_event"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "mean of empty slice" / division warnings
        summary = localisation(*one_video([0.3, 0.7, 0.5], [0, 0, 0]))
        empty_video = localisation(np.zeros(0), np.zeros(0, bool), [0, 0], [ABUSE])
    assert math.isnan(summary["median_video_auc"]) and math.isnan(summary["inside_above_share"])
    assert math.isnan(per_video(empty_video, "top_in_event")[0])


def test_localisation_per_class_summaries_and_absent_classes():
    # Abuse 1: AUC 1, inside 1, top 1. Arrest: AUC 0, inside 0, top 0.
    scores = np.array([0.9, 0.1, 0.5, 0.5, 0.7, 0.2, 0.8])
    labels = np.array([1, 0, 1, 0, 0, 1, 0], dtype=bool)
    offsets = np.array([0, 2, 5, 7])
    classes = np.array([ABUSE, ABUSE, ARREST])
    # video 2 (Abuse): 0.5(+) vs 0.5, 0.7 -> (0.5 + 0) / 2 = 0.25; inside 0.5 < 0.6; top 0.7 normal
    got = localisation(scores, labels, offsets, classes)
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


def reference_localisation(scores, labels, offsets, classes):
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
    got = localisation(scores, labels, offsets, classes)
    ref = reference_localisation(scores, labels, offsets, classes)
    assert per_video(got, "video_index") == [row[0] for row in ref]
    for column, key in enumerate(("video_auc", "inside_above_outside", "top_in_event"), start=1):
        np.testing.assert_allclose(got["per_video"][key], [row[column] for row in ref],
                                   rtol=1e-12, atol=1e-15)
    # evaluate carries the same summaries
    flat = evaluate(scores, labels, offsets, classes)
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
    got = localisation(scores, labels, offsets, classes)
    ref = reference_localisation(scores.astype(np.float64), labels, offsets, classes)
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
    with pytest.raises(ValueError, match="frame_labels"):
        localisation([0.1, 0.2], [1], [0, 2], [ABUSE])
    with pytest.raises(ValueError, match="frame_offsets must end"):
        localisation([0.1, 0.2], [1, 0], [0, 1], [ABUSE])
    with pytest.raises(ValueError, match="video_classes must hold"):
        localisation([0.1, 0.2], [1, 0], [0, 2], [14])


# ----------------------------------------------------------------------------- seeds

def test_seed_summary_mean_and_sample_std():
    got = seed_summary([1.0, 2.0, 3.0, 4.0])
    assert got["mean"] == pytest.approx(2.5)
    assert got["std"] == pytest.approx(math.sqrt(5 / 3))  # squares 2.25+0.25+0.25+2.25 = 5, / (n-1)
    assert got["n"] == 4
    single = seed_summary(np.array([0.8]))
    assert single["mean"] == pytest.approx(0.8) and math.isnan(single["std"]) and single["n"] == 1


def test_paired_difference_matches_manual_t_interval():
    # differences 0.02, 0.02, -0.01: mean 0.01, sd sqrt((1e-4 + 1e-4 + 4e-4) / 2) = sqrt(3e-4),
    # se = sd / sqrt(3) = 0.01, t_{0.975, 2} = 4.302652729911275 (table value 4.303).
    got = paired_difference([0.80, 0.82, 0.79], [0.78, 0.80, 0.80])
    assert got["n"] == 3
    assert got["mean"] == pytest.approx(0.01)
    assert got["std"] == pytest.approx(math.sqrt(3e-4))
    assert got["ci_low"] == pytest.approx(0.01 - 4.302652729911275 * 0.01)
    assert got["ci_high"] == pytest.approx(0.01 + 4.302652729911275 * 0.01)
    assert got["exceeds_noise"] is False


def test_paired_difference_exceeds_noise_when_interval_excludes_zero_either_side():
    # differences 0.02, 0.03, 0.04: mean 0.03, se 0.01/sqrt(3), half-width 0.0248 -> [0.0052, 0.0548]
    up = paired_difference([0.82, 0.83, 0.84], [0.80, 0.80, 0.80])
    assert up["ci_low"] == pytest.approx(0.03 - 4.302652729911275 * 0.01 / math.sqrt(3))
    assert up["exceeds_noise"] is True
    down = paired_difference([0.80, 0.80, 0.80], [0.82, 0.83, 0.84])
    assert down["ci_high"] < 0 and down["exceeds_noise"] is True


def test_paired_difference_cancels_shared_seed_variance():
    # seeds differ by whole points, the treatment adds a steady 0.2: paired sees it clearly,
    # while the unpaired spread (seed_summary std ~ 2.2) would swamp it.
    control = np.array([80.0, 83.0, 78.0, 85.0, 81.0])
    treatment = control + np.array([0.21, 0.19, 0.20, 0.22, 0.18])
    assert seed_summary(control)["std"] > 2
    assert paired_difference(treatment, control)["exceeds_noise"] is True


def test_paired_difference_single_seed_has_nan_interval():
    got = paired_difference([0.9], [0.8])
    assert got["mean"] == pytest.approx(0.1) and got["n"] == 1
    assert math.isnan(got["std"]) and math.isnan(got["ci_low"]) and math.isnan(got["ci_high"])
    assert got["exceeds_noise"] is False


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: seed_summary([0.8, float("nan")]), "values contains NaN"),
        (lambda: seed_summary([]), "values is empty"),
        (lambda: paired_difference([0.8, float("nan")], [0.7, 0.7]), "treatment contains NaN"),
        (lambda: paired_difference([0.8, 0.9], [0.7]), r"treatment \(2,\), control \(1,\)"),
        (lambda: paired_difference([0.8, 0.9], [0.7, 0.7], confidence=95), "confidence"),
    ],
)
def test_seed_statistics_reject_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ----------------------------------------------------------------------------- validation

@pytest.mark.parametrize(
    "change, match",
    [
        ({"labels": np.array([1, 0, 0])}, r"frame_labels.*expected \(8,\); received \(3,\)"),
        ({"labels": np.array([2, 0, 0, 0, 0, 0, 0, 0])}, "frame_labels must hold only 0/1"),
        ({"scores": np.array([0.1] * 7 + [np.nan])}, "frame_scores must be finite"),
        ({"scores": np.ones((8, 1))}, r"frame_scores must be a 1-D array; received shape \(8, 1\)"),
        ({"offsets": np.array([1, 3, 6, 8])}, "frame_offsets must start at 0"),
        ({"offsets": np.array([0, 6, 3, 8])}, "frame_offsets must be non-decreasing"),
        ({"offsets": np.array([0, 3, 6, 9])}, r"frame_offsets must end at .* F = 8"),
        ({"offsets": np.array([0.0, 3.0, 6.0, 8.0])}, "frame_offsets must be a non-empty integer"),
        ({"classes": np.array([0, 1])}, r"video_classes.*expected \(3,\).*received \(2,\)"),
        ({"classes": np.array([0, 1, 14])}, "video_classes must hold integer class indices"),
    ],
)
def test_evaluate_rejects_inconsistent_inputs(change, match):
    scores, labels, offsets, classes = three_videos()
    args = {"scores": scores, "labels": labels, "offsets": offsets, "classes": classes} | change
    with pytest.raises(ValueError, match=match):
        evaluate(args["scores"], args["labels"], args["offsets"], args["classes"])


def test_single_metrics_validate_too():
    with pytest.raises(ValueError, match="frame_labels"):
        total_auc([0.1, 0.2], [1])
    with pytest.raises(ValueError, match="frame_labels"):
        average_precision([0.1, 0.2], [1, 0, 1])
    with pytest.raises(ValueError, match="frame_offsets must end"):
        false_alarm_rate([0.1, 0.2], [0, 1], [NORMAL_INDEX])
    with pytest.raises(ValueError, match="video_classes"):
        per_class_auc([0.1, 0.2], [1, 0], [0, 1, 2], [ABUSE])


# ----------------------------------------------------------------------------- many tests

def test_paired_difference_p_value_is_scipys_paired_t_test():
    from scipy.stats import ttest_rel
    a, b = np.array([80.1, 79.5, 81.0, 80.2]), np.array([79.9, 79.6, 80.4, 79.8])
    result = paired_difference(a, b)
    assert result["p_value"] == pytest.approx(ttest_rel(a, b).pvalue)
    assert result["exceeds_noise"] == (result["p_value"] < 0.05)


def test_holm_by_hand_and_where_it_changes_a_verdict():
    from cbmil.eval.metrics import holm
    # sorted 0.01, 0.03, 0.04 -> x3, x2, x1 = 0.03, 0.06, 0.04 -> running max 0.03, 0.06, 0.06
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03]), [0.03, 0.06, 0.06])
    raw = np.array([0.01, 0.04, 0.03])
    assert (raw < 0.05).all() and (holm(raw) < 0.05).tolist() == [True, False, False]
    np.testing.assert_allclose(holm([0.5, np.nan, 0.01]), [0.5, np.nan, 0.02])
    assert holm([0.9, 0.8]).max() <= 1.0
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        holm([1.5])


def test_seeds_needed_matches_published_one_sample_t_tables_and_a_simulation():
    from cbmil.eval.metrics import paired_t_power, seeds_needed
    # Cohen's tables (two-sided one-sample / paired t, alpha .05, power .8): d = 1 -> 10, d = 0.5 -> 34
    assert seeds_needed(1.0, 1.0) == {"seeds": 10, "power": pytest.approx(paired_t_power(10, 1.0, 1.0))}
    assert seeds_needed(0.7, 0.35)["seeds"] == 34
    assert paired_t_power(9, 1.0, 1.0) < 0.8 <= paired_t_power(10, 1.0, 1.0)
    # independent check by simulation: rejection rate of scipy's t-test at n = 10, d = 1
    from scipy.stats import ttest_1samp
    rng = np.random.default_rng(0)
    d = rng.normal(1.0, 1.0, size=(20000, 10))
    rate = float((ttest_1samp(d, 0.0, axis=1).pvalue < 0.05).mean())
    assert rate == pytest.approx(paired_t_power(10, 1.0, 1.0), abs=0.01)
    assert seeds_needed(1.0, 0.0)["seeds"] is None
