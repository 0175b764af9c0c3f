"""The metrics on another benchmark's class list (XD-Violence: 6 classes, multi-label test videos):
per-class AP against independent sklearn recomputations on hand-built masks, the class-set
checks, the scores-file loader, and UCF-Crime's defaults left bit-identical."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
from sklearn.metrics import auc, average_precision_score, precision_recall_curve, roc_auc_score

from cbmil.data.synthetic import make_dataset
from cbmil.data.ucf_crime import CLASSES, LABELS, NORMAL_INDEX
from cbmil.eval import metrics, protocols

XD = ("Fighting", "Shooting", "Riot", "Abuse", "CarAccident", "Explosion")  # K = 6, Normal = 6
K = len(XD)
FIGHTING, RIOT, ABUSE = XD.index("Fighting"), XD.index("Riot"), XD.index("Abuse")
UCF_ABUSE, UCF_ARREST = CLASSES.index("Abuse"), CLASSES.index("Arrest")


def trapezoid_reference(y, s):
    return auc(*precision_recall_curve(y, s)[1::-1])  # (recall, precision)


def multilabel_world(seed, n_videos=40, absent=(ABUSE,)):
    """Random XD-shaped test set with the 7 labels: ``(y, s, offsets, classes, sets)``. Every third
    abnormal video carries a second class; the classes in ``absent`` have no video; scores tie
    on purpose (16-frame snippets, two decimals)."""
    rng = np.random.default_rng(seed)
    present = [c for c in range(K) if c not in absent]
    classes = np.where(rng.random(n_videos) < 0.35, K, rng.choice(present, n_videos))
    classes[:len(present)] = present  # every present class has a video
    classes[-1] = K                   # and there is a normal video
    sets = np.zeros((n_videos, K), bool)
    abnormal = np.flatnonzero(classes < K)
    sets[abnormal, classes[abnormal]] = True
    for v in abnormal[::3]:
        sets[v, rng.choice([c for c in present if c != classes[v]])] = True
    lengths = 16 * rng.integers(1, 12, n_videos)
    offsets = np.concatenate(([0], np.cumsum(lengths)))
    y = np.zeros(offsets[-1], np.uint8)
    s = np.round(np.repeat(rng.random(offsets[-1] // 16), 16), 2)
    for v in abnormal:
        a, b = offsets[v], offsets[v + 1]
        start = rng.integers(a, b)
        y[start:rng.integers(start, b) + 1] = 1
    s = s + 0.25 * y
    return y, s, offsets, classes, sets


def class_mask(offsets, classes, sets, c, with_normal=True):
    """Frames of class c's videos (by the class sets), plus every normal video's, built video by video."""
    mask = np.zeros(offsets[-1], bool)
    for v in range(len(classes)):
        if sets[v, c] or (with_normal and classes[v] == K):
            mask[offsets[v]:offsets[v + 1]] = True
    return mask


# ----------------------------------------------------------------------------- per-class AP

@pytest.mark.parametrize("seed", [0, 1, 2])
def test_per_class_ap_equals_sklearn_on_hand_built_masks(seed):
    y, s, offsets, classes, sets = multilabel_world(seed)
    trap = metrics.per_class_ap(y, s, offsets, classes, class_names=XD, video_class_sets=sets)
    step = metrics.per_class_ap(y, s, offsets, classes, class_names=XD, video_class_sets=sets, method="step")
    assert tuple(trap) == XD and tuple(step) == XD
    for c, name in enumerate(XD):
        if name == "Abuse":  # no test video
            assert math.isnan(trap[name]) and math.isnan(step[name])
            continue
        m = class_mask(offsets, classes, sets, c)
        assert trap[name] == pytest.approx(trapezoid_reference(y[m], s[m]), abs=1e-12)
        assert step[name] == pytest.approx(average_precision_score(y[m], s[m]), abs=1e-12)
        assert trap[name] != pytest.approx(step[name], abs=1e-6)  # two different numbers on tied data
    # the per-class AUC with class sets, against the same masks without the normal videos
    own = metrics.per_class_auc(y, s, offsets, classes, class_names=XD, video_class_sets=sets)
    for c, name in enumerate(XD):
        if name != "Abuse":
            m = class_mask(offsets, classes, sets, c, with_normal=False)
            assert own[name] == pytest.approx(roc_auc_score(y[m], s[m]), abs=1e-12)


def three_xd_videos():
    """Fighting+Riot, Riot, Normal (two frames each): ``(y, s, offsets, classes, sets)``.

    video  classes          labels  scores
    A      Fighting, Riot   1 0     0.9 0.2
    B      Riot             1 0     0.4 0.6
    N      Normal           0 0     0.5 0.1
    """
    y = np.array([1, 0, 1, 0, 0, 0])
    s = np.array([0.9, 0.2, 0.4, 0.6, 0.5, 0.1])
    offsets = np.array([0, 2, 4, 6])
    classes = np.array([FIGHTING, RIOT, K])
    sets = np.zeros((3, K), bool)
    sets[0, [FIGHTING, RIOT]] = True
    sets[1, RIOT] = True
    return y, s, offsets, classes, sets


def test_a_multilabel_video_counts_for_each_class_and_normal_frames_are_negatives():
    y, s, offsets, classes, sets = three_xd_videos()
    kw = {"class_names": XD}
    # Riot with the class sets: 0.9+ 0.6- 0.5- 0.4+ 0.2- 0.1- -> step AP (1/1 + 2/4) / 2
    step = metrics.per_class_ap(y, s, offsets, classes, video_class_sets=sets, method="step", **kw)
    assert step["Riot"] == pytest.approx(0.75)
    assert step["Fighting"] == pytest.approx(1.0)  # 0.9+ above 0.5- 0.2- 0.1-
    # PR points (recall, precision): (0, 1) (.5, 1) (.5, .5) (.5, 1/3) (1, .5) -> .5 + .5 (1/3 + 1/2) / 2
    trap = metrics.per_class_ap(y, s, offsets, classes, video_class_sets=sets, **kw)
    assert trap["Riot"] == pytest.approx(0.5 + 0.5 * (1 / 3 + 1 / 2) / 2)
    # without the sets, video A is Fighting only: Riot is 0.6- 0.5- 0.4+ -> 1/3
    assert metrics.per_class_ap(y, s, offsets, classes, method="step", **kw)["Riot"] == pytest.approx(1 / 3)
    # the normal video's 0.5 is a negative: over Riot's own videos alone the AP would be (1 + 2/3) / 2
    assert step["Riot"] != pytest.approx((1 + 2 / 3) / 2)
    # classes without a test video are nan; nothing else is
    assert [name for name, v in trap.items() if math.isnan(v)] == ["Shooting", "Abuse", "CarAccident", "Explosion"]


def test_trapezoid_ap_is_xd_violences_auc_of_the_pr_curve():
    y, s = np.array([1, 0, 1, 0]), np.array([0.9, 0.8, 0.7, 0.6])
    assert metrics.trapezoid_ap(y, s) == pytest.approx(0.5 + 0.5 * (0.5 + 2 / 3) / 2)
    assert metrics.trapezoid_ap(y, s) == protocols.trapezoid_ap(s, y)  # the old (scores, labels) order delegates
    assert math.isnan(metrics.trapezoid_ap(np.zeros(4), s))
    rng = np.random.default_rng(4)
    y, s = rng.random(300) < 0.3, np.round(rng.random(300), 1)
    assert metrics.trapezoid_ap(y, s) == trapezoid_reference(y, s)


def test_swapped_arguments_raise():
    y, s, offsets, classes, sets = three_xd_videos()
    with pytest.raises(ValueError, match="labels first"):
        metrics.per_class_ap(s, y, offsets, classes, class_names=XD)
    with pytest.raises(ValueError, match="labels first"):
        metrics.trapezoid_ap(s, y)
    with pytest.raises(ValueError, match=r"takes \(scores, labels\), scores first"):
        protocols.trapezoid_ap(y, s)
    with pytest.raises(ValueError, match="method must be one of"):
        metrics.per_class_ap(y, s, offsets, classes, class_names=XD, method="interpolated")


@pytest.mark.parametrize("change, match", [
    (lambda sets: sets[:, :5], r"video_class_sets must have shape \(V, K\) = \(3, 6\)"),
    (lambda sets: sets.astype(int) * 2, "bool"),
    (lambda sets: np.vstack([sets[:2], np.eye(1, K, 3, dtype=bool)]), r"row 2 holds \['Abuse'\].*normal video"),
    (lambda sets: np.vstack([np.eye(1, K, RIOT, dtype=bool), sets[1:]]),
     r"row 0 holds \['Riot'\], which lacks video_classes\[0\] = 0 \(Fighting\)"),
])
def test_inconsistent_class_sets_raise_naming_the_array_and_video(change, match):
    y, s, offsets, classes, sets = three_xd_videos()
    for call in (metrics.per_class_ap, metrics.per_class_auc, metrics.localisation, metrics.evaluate):
        with pytest.raises(ValueError, match=match):
            call(y, s, offsets, classes, class_names=XD, video_class_sets=change(sets))
    with pytest.raises(ValueError, match=match):
        metrics.false_alarm_rate(s, offsets, classes, class_names=XD, video_class_sets=change(sets))


def test_class_names_set_the_normal_index():
    y, s, offsets, classes, sets = three_xd_videos()
    with pytest.raises(ValueError, match=r"class indices 0..6 \(6 = Normal\)"):
        metrics.evaluate(y, s, offsets, np.array([0, 2, 7]), class_names=XD)
    with pytest.raises(ValueError, match="without 'Normal'"):
        metrics.per_class_ap(y, s, offsets, classes, class_names=XD + ("Normal",))
    with pytest.raises(ValueError, match="distinct"):
        metrics.per_class_auc(y, s, offsets, classes, class_names=("Riot",) * 6)
    # normal frames are those of class len(class_names): 0.5 of the normal video's 0.5, 0.1 at 0.5
    assert metrics.false_alarm_rate(s, offsets, classes, class_names=XD) == pytest.approx(0.5)
    local = metrics.localisation(y, s, offsets, classes, class_names=XD, video_class_sets=sets)
    assert list(local["per_class"]) == list(XD)
    assert local["per_class"]["Riot"]["n_videos"] == 2 and local["per_class"]["Fighting"]["n_videos"] == 1
    assert local["per_video"]["video_index"].tolist() == [0, 1]


def test_evaluate_adds_the_aps_only_when_asked_and_after_the_other_keys():
    y, s, offsets, classes, sets = multilabel_world(5)
    kw = {"class_names": XD, "video_class_sets": sets}
    plain = metrics.evaluate(y, s, offsets, classes, **kw)
    full = metrics.evaluate(y, s, offsets, classes, per_class_ap=True, **kw)
    assert list(full) == list(plain) + ["average_precision_trapezoid", "per_class_ap", "per_class_ap_step"]
    assert list(full["per_class_auc"]) == list(XD)
    assert full["average_precision_trapezoid"] == metrics.trapezoid_ap(y, s)
    for method, key in (("trapezoid", "per_class_ap"), ("step", "per_class_ap_step")):
        expected = metrics.per_class_ap(y, s, offsets, classes, method=method, **kw)
        assert json.dumps(full[key]) == json.dumps(expected)  # same floats, nan included, same order
    assert json.dumps(full["per_class_auc"]) == json.dumps(metrics.per_class_auc(y, s, offsets, classes, **kw))


# ----------------------------------------------------------------------------- UCF-Crime unchanged

def three_ucf_videos():
    """tests/test_metrics.py's three_videos: Abuse, Arrest, Normal."""
    labels = np.array([1, 1, 0, 1, 0, 0, 0, 0], dtype=np.uint8)
    scores = np.array([0.8, 0.4, 0.3, 0.6, 0.7, 0.2, 0.5, 0.1])
    return labels, scores, np.array([0, 3, 6, 8]), np.array([UCF_ABUSE, UCF_ARREST, NORMAL_INDEX])


def ucf_world(seed):
    rng = np.random.default_rng(seed)
    classes = rng.integers(0, NORMAL_INDEX + 1, 60)
    lengths = rng.integers(0, 200, 60)
    offsets = np.concatenate(([0], np.cumsum(lengths)))
    labels = (np.repeat(classes, lengths) != NORMAL_INDEX) & (rng.random(offsets[-1]) < 0.4)
    return labels, rng.integers(0, 9, offsets[-1]) / 9, offsets, classes


def one_hot(classes):
    sets = np.zeros((len(classes), len(CLASSES)), bool)
    abnormal = np.flatnonzero(classes != NORMAL_INDEX)
    sets[abnormal, classes[abnormal]] = True
    return sets


@pytest.mark.parametrize("data", [three_ucf_videos(), ucf_world(0), ucf_world(1)])
def test_ucf_crime_defaults_spelled_out_or_as_one_hot_sets_are_bit_identical(data):
    labels, scores, offsets, classes = data
    keys = ["total_auc", "abnormal_auc", "per_class_auc", "average_precision", "false_alarm_rate",
            "median_video_auc", "inside_above_share", "top_in_event_share", "per_class_localisation"]
    for include_normal in (False, True):
        base = metrics.evaluate(labels, scores, offsets, classes, include_normal)
        assert list(base) == keys and tuple(base["per_class_auc"]) == CLASSES
        for kw in ({"class_names": CLASSES}, {"class_names": list(CLASSES), "video_class_sets": one_hot(classes)}):
            assert json.dumps(metrics.evaluate(labels, scores, offsets, classes, include_normal, **kw)) == json.dumps(base)
            assert (json.dumps(metrics.per_class_auc(labels, scores, offsets, classes, include_normal, **kw))
                    == json.dumps(metrics.per_class_auc(labels, scores, offsets, classes, include_normal)))
    got = protocols.evaluate_frame_scores(scores, labels, offsets, classes)
    assert list(got) == list(protocols.evaluate_frame_scores(scores, labels, offsets, classes, class_names=CLASSES))
    assert not any(k.startswith("per_class_ap") for k in got)
    assert json.dumps(got) == json.dumps(protocols.evaluate_frame_scores(
        scores, labels, offsets, classes, class_names=CLASSES, video_class_sets=one_hot(classes)))


def test_ucf_per_class_ap_by_hand():
    # Abuse + normal: 0.8+ 0.5- 0.4+ 0.3- 0.1- -> step (1 + 2/3) / 2; Arrest + normal: 0.7- 0.6+ -> 1/2
    step = metrics.per_class_ap(*three_ucf_videos(), method="step")
    assert tuple(step) == CLASSES
    assert step["Abuse"] == pytest.approx(5 / 6) and step["Arrest"] == pytest.approx(0.5)
    assert sum(not math.isnan(v) for v in step.values()) == 2


# ----------------------------------------------------------------------------- scores files

TINY = {c: 2 for c in CLASSES} | {"Normal": 4}


@pytest.fixture(scope="module")
def ucf_file(tmp_path_factory):
    """A UCF-Crime scores file as `reproduce --save-scores` writes it (class_names included)."""
    data = make_dataset("ci", seed=3, train_counts=TINY, test_counts=TINY, max_snippets=40)
    labels = np.asarray(data.test_frame_labels)
    rng = np.random.default_rng(0)
    good = (0.6 * labels[::16] + rng.normal(0, 0.3, len(labels) // 16)).astype(np.float32)
    arrays = dict(snippet_scores=good[None], model_names=np.array(["good"]), test_offsets=data.test_offsets,
                  test_n_frames=data.test_n_frames, test_classes=data.test_classes,
                  test_frame_labels=labels.astype(np.uint8), test_frame_offsets=data.test_frame_offsets)
    root = tmp_path_factory.mktemp("scores")
    np.savez(root / "bare.npz", **arrays)
    np.savez(root / "named.npz", **arrays, class_names=np.array(LABELS), protocol=np.array("snippet"))
    return root


def test_a_ucf_file_with_or_without_class_names_evaluates_as_before(ucf_file):
    bare, named = protocols.evaluate_file(ucf_file / "bare.npz"), protocols.evaluate_file(ucf_file / "named.npz")
    assert json.dumps(bare) == json.dumps(named)
    z = np.load(ucf_file / "bare.npz")
    direct = protocols.evaluate_snippet_scores(z["snippet_scores"][0], z["test_offsets"], z["test_n_frames"],
                                               z["test_frame_labels"], z["test_frame_offsets"], z["test_classes"])
    assert json.dumps(bare["good"]) == json.dumps(direct)
    expected = list(protocols.METRICS) + [f"per_class_auc.{c}" for c in CLASSES] + [
        f"per_class_auc_with_normal.{c}" for c in CLASSES]
    assert list(bare["good"]) == expected


@pytest.fixture()
def xd_arrays():
    """An XD-shaped scores file's arrays (snippet scores, 16 x T frames per video, class sets)."""
    y, s, offsets, classes, sets = multilabel_world(7)
    n_snippets = np.diff(offsets) // 16
    return dict(snippet_scores=np.stack([s[::16], s[::16][::-1].copy()]).astype(np.float32),
                model_names=np.array(["a", "b"]), test_offsets=np.concatenate(([0], np.cumsum(n_snippets))),
                test_n_frames=16 * n_snippets, test_classes=classes, test_frame_labels=y.astype(np.uint8),
                test_frame_offsets=offsets, class_names=np.array(XD + ("Normal",)), test_class_sets=sets,
                protocol=np.array("snippet"))


def test_an_xd_file_is_evaluated_under_its_class_list_and_class_sets(tmp_path, xd_arrays):
    path = tmp_path / "xd.npz"
    np.savez(path, **xd_arrays)
    names, sets = protocols.score_file_classes(protocols.load_scores(path))
    assert names == XD and np.array_equal(sets, xd_arrays["test_class_sets"])
    results = protocols.evaluate_file(path)
    y, offsets, classes = xd_arrays["test_frame_labels"], xd_arrays["test_frame_offsets"], xd_arrays["test_classes"]
    for model, snippets in zip(["a", "b"], xd_arrays["snippet_scores"]):
        m, frames = results[model], np.repeat(snippets.astype(np.float64), 16)
        assert list(m)[:len(protocols.METRICS)] == list(protocols.METRICS)
        assert [k for k in m if "." in k] == [f"{p}.{c}" for p in ("per_class_auc", "per_class_auc_with_normal",
                                                                    "per_class_ap", "per_class_ap_step") for c in XD]
        assert m["ap_trapezoid"] == pytest.approx(trapezoid_reference(y, frames), abs=1e-12)
        for c, name in enumerate(XD):
            if name == "Abuse":
                assert math.isnan(m["per_class_ap.Abuse"]) and math.isnan(m["per_class_auc.Abuse"])
                continue
            mask = class_mask(offsets, classes, xd_arrays["test_class_sets"], c)
            assert m[f"per_class_ap.{name}"] == pytest.approx(trapezoid_reference(y[mask], frames[mask]), abs=1e-12)
            assert m[f"per_class_ap_step.{name}"] == pytest.approx(
                average_precision_score(y[mask], frames[mask]), abs=1e-12)
    # without the sets, the multi-label videos count for their first class only: a different number
    np.savez(tmp_path / "first.npz", **{k: v for k, v in xd_arrays.items() if k != "test_class_sets"})
    first = protocols.evaluate_file(tmp_path / "first.npz")["a"]
    assert any(first[f"per_class_ap.{c}"] != pytest.approx(results["a"][f"per_class_ap.{c}"]) for c in XD if c != "Abuse")


def _first_row_emptied(z):
    sets = z["test_class_sets"].copy()
    sets[0] = False
    return {"test_class_sets": sets}


@pytest.mark.parametrize("change, match", [
    (lambda z: {"class_names": np.array(XD)}, "class_names .*expected 1-D strings.*then 'Normal'"),
    (lambda z: {"class_names": np.array(XD[:3] + ("Normal",))}, r"test_classes holds .*expected class indices 0..3"),
    (lambda z: {"test_class_sets": np.zeros((3, K), bool)}, r"test_class_sets: video_class_sets must have shape"),
    (_first_row_emptied, r"test_class_sets: video_class_sets row 0 .*lacks"),
])
def test_a_file_with_bad_class_arrays_is_refused_by_name(tmp_path, xd_arrays, change, match):
    np.savez(tmp_path / "bad.npz", **(xd_arrays | change(xd_arrays)))
    with pytest.raises(ValueError, match="bad.npz: " + match):
        protocols.load_scores(tmp_path / "bad.npz")


def test_cli_evaluates_an_xd_file(tmp_path, xd_arrays):
    path = tmp_path / "xd.npz"
    np.savez(path, **xd_arrays)
    run = subprocess.run([sys.executable, "-m", "cbmil", "evaluate", "--scores", str(path), "--json"],
                         capture_output=True, text=True, check=True)
    out = json.loads(run.stdout)
    assert list(out) == ["a", "b"] and out["a"]["per_class_ap.Abuse"] is None
    assert out["a"]["per_class_ap.Riot"] == pytest.approx(protocols.evaluate_file(path)["a"]["per_class_ap.Riot"])


def test_another_methods_xd_scores_by_list_are_evaluated_under_the_xd_classes(tmp_path):
    xd = pytest.importorskip("cbmil.data.xd_violence")
    videos = xd.test_videos()
    rng = np.random.default_rng(0)
    n_snippets = rng.integers(20, 40, len(videos))
    (tmp_path / "snippets.txt").write_text("".join(f"{v.key} {t}\n" for v, t in zip(videos, n_snippets)))
    np.save(tmp_path / "other.npy", rng.random(int(n_snippets.sum())).astype(np.float32))
    kw = {"frame_scores": tmp_path / "other.npy", "list_path": xd.LIST_DIR / xd.TEST_LIST,
          "snippets": tmp_path / "snippets.txt"}
    m = protocols.evaluate_saved(**kw, dataset="xd")["other"]
    assert [k for k in m if k.startswith("per_class_ap.")] == [f"per_class_ap.{c}" for c in xd.CLASSES]
    assert all(0 < m[f"per_class_ap.{c}"] < 1 for c in xd.CLASSES)
    with pytest.raises(ValueError, match="dataset 'xdv'"):
        protocols.evaluate_saved(**kw, dataset="xdv")
    with pytest.raises(ValueError, match="needs --list, --annotations-dir"):
        protocols.evaluate_saved(**kw)  # UCF-Crime needs its annotations
