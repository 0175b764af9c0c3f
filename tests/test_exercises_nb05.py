"""Notebook 05's exercise checks: the right answer passes, a wrong one raises with a hint."""

from pathlib import Path

import numpy as np
import pytest
import scipy.stats

from cbmil.eval import metrics
from cbmil.eval import stats as seed_stats
from cbmil.exercises import nb05
from cbmil.data.frames import frame_scores
from cbmil.study import paper
from cbmil.study.reproduction import load_study

RESULTS = Path(__file__).resolve().parents[1] / "results"


@pytest.fixture(scope="module")
def study():
    return load_study(RESULTS)


def test_exercise_1_counts_raw_and_holm_passes(study):
    t1 = study.table1()
    rows = t1[:13]
    raw = sum(r[f"change_{b:g}_exceeds_noise"] for r in rows for b in paper.BETAS)
    holm = sum(r[f"change_{b:g}_exceeds_noise_holm"] for r in rows for b in paper.BETAS)
    assert nb05.table1_passes(t1) == (pytest.approx(2.6), raw, holm)
    assert nb05.exercise_1((2.6, raw, holm), t1)
    with pytest.raises(AssertionError, match="Exercise 1: .*Hint"):
        nb05.exercise_1((2.6, raw + 1, holm), t1)
    with pytest.raises(AssertionError, match="Exercise 1"):
        nb05.exercise_1((0.05 * 13, raw, holm), t1)          # 5 % of one beta's 13, not of all 52
    assert nb05.exercise_1(None, t1) is False


def test_exercise_2_seeds_and_minutes_scale_the_measured_time(study):
    t2 = study.table2()
    sd = t2[-1]["abnormal_diff_std"]
    seeds = seed_stats.seeds_needed(sd, paper.TABLE2[0.9999][0] - paper.TABLE2[None][0])["seeds"]
    minutes = seeds / len(study.seeds) * study.seconds / 60
    assert nb05.seeds_and_minutes(t2, study.seconds, len(study.seeds)) == (seeds, pytest.approx(minutes))
    assert nb05.exercise_2((seeds, round(minutes)), t2, study.seconds, len(study.seeds))
    with pytest.raises(AssertionError, match=r"Exercise 2 \(seeds\)"):
        nb05.exercise_2((seeds + 1, minutes), t2, study.seconds, len(study.seeds))
    with pytest.raises(AssertionError, match=r"Exercise 2 \(minutes\)"):
        nb05.exercise_2((seeds, study.seconds / 60 * seeds), t2, study.seconds, len(study.seeds))  # per seed, not per 5
    with pytest.raises(AssertionError, match="Exercise 2"):
        nb05.exercise_2(seeds, t2, study.seconds, len(study.seeds))


def test_exercise_4_is_the_gain_from_adding_the_normal_frames(study):
    layout, scores = study.layouts[0], study.world_scores[0][0]
    frames = frame_scores(scores, layout["test_offsets"], layout["test_n_frames"])
    args = (layout["test_frame_labels"], frames, layout["test_frame_offsets"], layout["test_classes"])
    gain = 100 * (metrics.abnormal_auc(metrics.per_class_auc(*args, include_normal=True))
                  - metrics.abnormal_auc(metrics.per_class_auc(*args)))
    assert gain > 0
    assert nb05.exercise_4(round(gain, 2), scores, layout)
    with pytest.raises(AssertionError, match="Exercise 4: .*Hint"):
        nb05.exercise_4(gain / 100, scores, layout)           # a fraction, not percentage points
    with pytest.raises(AssertionError, match="Exercise 4"):
        nb05.exercise_4(-gain, scores, layout)


def test_exercise_6_unpaired_interval_is_wider_by_the_ratio():
    control = np.array([78.0, 73.8, 87.5, 78.4, 73.7])
    treatment = control + np.array([-1.4, 0.7, -0.5, -0.3, -1.4])
    unpaired = scipy.stats.ttest_ind(treatment, control).confidence_interval()
    paired = seed_stats.paired_difference(treatment, control)
    ratio = (unpaired.high - unpaired.low) / (paired["ci_high"] - paired["ci_low"])
    assert ratio > 3                                           # the worlds' spread comes back without the pairing
    assert nb05.interval_width_ratio(treatment, control) == pytest.approx(ratio)
    assert nb05.exercise_6(ratio, treatment, control)
    with pytest.raises(AssertionError, match="Exercise 6: .*Hint"):
        nb05.exercise_6(1 / ratio, treatment, control)         # the other way round
    with pytest.raises(AssertionError, match="Exercise 6"):
        nb05.exercise_6("wider", treatment, control)
