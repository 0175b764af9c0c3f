"""`cbmil evaluate --scores`: every protocol, checked against independent recomputations."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from cbmil.eval import protocols
from cbmil.data.frames import segment_frame_scores
from cbmil.data.synthetic import make_dataset
from cbmil.data.ucf_crime import CLASSES, NORMAL_INDEX

TINY = {c: 4 for c in CLASSES} | {"Normal": 10}
TINY_TEST = {c: 2 for c in CLASSES} | {"Normal": 6}
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))


@pytest.fixture(scope="module")
def scores_file(tmp_path_factory):
    """A scores.npz as `reproduce --save-scores` writes it, with two made-up models."""
    data = make_dataset("ci", seed=3, train_counts=TINY, test_counts=TINY_TEST, max_snippets=70)
    rng = np.random.default_rng(0)
    labels = np.asarray(data.test_frame_labels)
    snippet_labels = labels[::16].astype(np.float32)  # synthetic: 16 x T frames per video
    good = (0.6 * snippet_labels + rng.normal(0, 0.3, len(snippet_labels))).astype(np.float32)
    noise = rng.random(len(snippet_labels)).astype(np.float32)
    path = tmp_path_factory.mktemp("scores") / "scores.npz"
    np.savez_compressed(path, snippet_scores=np.stack([good, noise]), model_names=np.array(["good", "noise"]),
                        test_offsets=data.test_offsets, test_n_frames=data.test_n_frames,
                        test_classes=data.test_classes, test_keys=np.array(data.test_keys),
                        test_frame_labels=labels.astype(np.uint8), test_frame_offsets=data.test_frame_offsets,
                        class_names=np.array(CLASSES + ("Normal",)), protocol=np.array("snippet"))
    return path


def test_every_protocol_agrees_with_an_independent_recomputation(scores_file):
    z = np.load(scores_file)
    results = protocols.evaluate_file(scores_file)
    labels = z["test_frame_labels"].astype(bool)
    fo, classes = z["test_frame_offsets"], z["test_classes"]
    frame_class = np.repeat(classes, np.diff(fo))
    for name, s in zip(z["model_names"], z["snippet_scores"]):
        m = results[str(name)]
        frames = np.repeat(s.astype(np.float64), 16)  # snippet x16, by hand
        assert m["total_auc"] == pytest.approx(roc_auc_score(labels, frames), abs=1e-12)
        own = [roc_auc_score(labels[frame_class == c], frames[frame_class == c]) for c in range(len(CLASSES))]
        assert m["abnormal_auc"] == pytest.approx(np.mean(own), abs=1e-12)
        assert [m[f"per_class_auc.{c}"] for c in CLASSES] == pytest.approx(own, abs=1e-12)
        abnormal = frame_class != NORMAL_INDEX
        assert m["abnormal_auc_pooled"] == pytest.approx(roc_auc_score(labels[abnormal], frames[abnormal]), abs=1e-12)
        normal = frame_class == NORMAL_INDEX
        plus = [roc_auc_score(labels[(frame_class == c) | normal], frames[(frame_class == c) | normal])
                for c in range(len(CLASSES))]
        assert m["abnormal_auc_with_normal"] == pytest.approx(np.mean(plus), abs=1e-12)
        assert m["ap"] == pytest.approx(average_precision_score(labels, frames), abs=1e-12)
        assert m["false_alarm_rate"] == pytest.approx(np.mean(frames[normal] >= 0.5))
        seg = np.concatenate([segment_frame_scores(s[a:b], n) for a, b, n in
                              zip(z["test_offsets"][:-1], z["test_offsets"][1:], z["test_n_frames"])])
        assert m["total_auc_segment"] == pytest.approx(roc_auc_score(labels, seg), abs=1e-12)
    assert results["good"]["total_auc"] > 0.8 and abs(results["noise"]["total_auc"] - 0.5) < 0.05
    # the segment protocol smooths within 32 segments, so it is a different number, not a relabelling
    assert results["good"]["total_auc_segment"] != pytest.approx(results["good"]["total_auc"], abs=1e-6)


def test_agrees_with_the_kit_free_checker(scores_file):
    from check_scores import evaluate as check  # numpy + sklearn only
    independent = check(str(scores_file))
    for name, m in protocols.evaluate_file(scores_file).items():
        assert m["total_auc"] == pytest.approx(independent[name]["total_auc"], abs=1e-12)
        assert m["abnormal_auc"] == pytest.approx(independent[name]["abnormal_auc"], abs=1e-12)


def test_trapezoid_and_step_wise_ap_by_hand():
    scores, labels = np.array([0.9, 0.8, 0.7, 0.6]), np.array([1, 0, 1, 0])
    # PR points (recall, precision): (0, 1), (0.5, 1), (0.5, 0.5), (1, 2/3)
    assert protocols.trapezoid_ap(scores, labels) == pytest.approx(0.5 + 0.5 * (0.5 + 2 / 3) / 2)
    assert average_precision_score(labels, scores) == pytest.approx(0.5 + 0.5 * 2 / 3)  # step-wise differs
    assert np.isnan(protocols.trapezoid_ap(scores, np.zeros(4)))


def test_cli_json_has_every_metric_per_model_and_a_table_without(scores_file):
    run = subprocess.run([sys.executable, "-m", "cbmil", "evaluate", "--scores", str(scores_file), "--json"],
                         capture_output=True, text=True, check=True)
    out = json.loads(run.stdout)
    assert list(out) == ["good", "noise"]
    for m in out.values():
        assert set(protocols.METRICS) <= set(m)
        assert {f"per_class_auc.{c}" for c in CLASSES} | {f"per_class_auc_with_normal.{c}" for c in CLASSES} <= set(m)
    table = subprocess.run([sys.executable, "-m", "cbmil", "evaluate", "--scores", str(scores_file)],
                           capture_output=True, text=True, check=True).stdout
    assert "| good |" in table and "mean of 2" in table and "Δ trapezoid" in table


def test_a_file_without_the_layout_is_refused_by_name(tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(path, snippet_scores=np.zeros((1, 4)), model_names=np.array(["m"]))
    with pytest.raises(ValueError, match=r"bad.npz: missing array\(s\) test_offsets"):
        protocols.load_scores(path)
    run = subprocess.run([sys.executable, "-m", "cbmil", "evaluate", "--scores", str(tmp_path / "none.npz")],
                         capture_output=True, text=True)
    assert run.returncode == 2 and "none.npz" in run.stderr
