"""XD-Violence in the dataset, the trainer's class weights, the synthetic world and the study."""

import json

import numpy as np
import pytest
import torch

from cbmil.data import dataset as ds
from cbmil.data import xd_violence as xd
from cbmil.data.synthetic import make_dataset
from cbmil.losses import class_balanced_weights
from cbmil.train import (RunSettings, TrainConfig, Trainer, Variant, group_weights, paper_variants, variant_weights,
                         weight_groups)

#: A small XD-Violence world: the first videos of each first label of the shipped lists.
SMALL = dict(train_counts={c: 40 for c in xd.CLASSES} | {"Abuse": 12, "Normal": 120},
             test_counts={c: 6 for c in xd.CLASSES} | {"Normal": 20}, max_snippets=120)


@pytest.fixture(scope="module")
def small_xd():
    return make_dataset("ci", seed=0, benchmark="xd_violence", **SMALL)


@pytest.fixture(scope="module")
def full_xd():
    return make_dataset("ci", seed=0, benchmark="xd_violence", max_snippets=40)


def test_synthetic_xd_has_the_real_split(full_xd):
    assert full_xd.labels == xd.LABELS and full_xd.normal_index == 6
    assert full_xd.counts("train") == xd.TRAIN_COUNTS and full_xd.counts("test") == xd.TEST_COUNTS
    assert full_xd.counts("train", any_label=True) == xd.TRAIN_COUNTS_ANY
    assert full_xd.counts("test", any_label=True) == xd.TEST_COUNTS_ANY
    assert full_xd.summary()["multi_label_videos"] == {"train": 243, "test": 47}
    assert full_xd.train_bags.shape == (3954, 1, 32, 64) and full_xd.meta["benchmark"] == "xd_violence"
    # the synthetic keys keep the label codes of the videos they stand for, and say they are synthetic
    assert all(k.startswith("synthetic_") for k in full_xd.train_keys)
    assert [xd.labels_of(k) for k in full_xd.test_keys] == [v.labels for v in xd.test_videos()]


def test_synthetic_xd_is_deterministic_and_carries_every_class(small_xd):
    again = make_dataset("ci", seed=0, benchmark="xd_violence", **SMALL)
    np.testing.assert_array_equal(again.train_bags, small_xd.train_bags)
    np.testing.assert_array_equal(again.test_frame_labels, small_xd.test_frame_labels)
    assert small_xd.counts("train")["Abuse"] == 12
    # a multi-label video's snippets carry the signatures of all its classes: compare its
    # projection on each class's direction with a normal video's
    from cbmil.data.synthetic import _world, config
    cfg = config("ci", "xd_violence", **SMALL)
    world = _world(cfg, 0)
    from cbmil.data.synthetic import iter_videos
    video = next(v for v in iter_videos(cfg, "train", 0) if len(v.labels) == 2)
    normal = next(v for v in iter_videos(cfg, "train", 0) if v.label == "Normal")
    for name in video.labels:
        g = world.signatures[xd.LABELS.index(name)]
        assert (video.snippets @ g).mean() > (normal.snippets @ g).mean() + 0.05


def test_ucf_synthetic_meta_has_no_benchmark_field():
    data = make_dataset("ci", seed=0, train_counts={"Abuse": 2, "Normal": 2}, test_counts={"Abuse": 1, "Normal": 1})
    assert "benchmark" not in data.meta["config"] and data.train_class_sets is None
    assert data.labels[-1] == "Normal" and data.normal_index == 13


def test_cache_round_trip_keeps_labels_and_class_sets(small_xd, tmp_path):
    back = ds.load(ds.save(small_xd, tmp_path / "cache"))
    assert back.labels == xd.LABELS
    np.testing.assert_array_equal(back.train_class_sets, small_xd.train_class_sets)
    np.testing.assert_array_equal(back.test_class_sets, small_xd.test_class_sets)
    meta = json.loads((tmp_path / "cache" / "meta.json").read_text())
    meta["labels"] = ["Fighting", "Normal"]
    (tmp_path / "cache" / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="labels"):
        ds.load(tmp_path / "cache")


def test_class_sets_must_hold_the_first_class(small_xd):
    sets = np.array(small_xd.train_class_sets)
    first = int(np.flatnonzero(small_xd.train_classes != 6)[0])
    sets[first, small_xd.train_classes[first]] = False
    with pytest.raises(ValueError, match="train_class_sets"):
        ds.VADDataset(**{name: getattr(small_xd, name) for name in ds._ARRAYS}, labels=xd.LABELS,
                      train_class_sets=sets, test_class_sets=small_xd.test_class_sets)


def test_weight_groups_of_a_single_label_dataset_are_its_classes():
    data = make_dataset("ci", seed=0, train_counts={"Abuse": 3, "Arson": 2, "Normal": 4},
                        test_counts={"Abuse": 1, "Normal": 1})
    group, sets = weight_groups(data)
    np.testing.assert_array_equal(group, data.train_classes)
    np.testing.assert_array_equal(sets, np.eye(13, dtype=bool))
    # the generic path gives the per-class table of UCF-Crime bit for bit
    plain = variant_weights(paper_variants(), data.train_classes)
    counts = np.bincount(data.train_classes, minlength=14)[:13]
    generic = variant_weights(paper_variants(), None, "classes", sets, "mean", counts)
    assert torch.equal(plain, generic)


def test_a_multi_label_bag_weighs_the_mean_or_the_max_of_its_classes(small_xd):
    group, sets = weight_groups(small_xd)
    counts = small_xd.train_sets.sum(axis=0)
    w = class_balanced_weights(counts, 0.9999)
    for rule, reduce in (("mean", np.mean), ("max", np.max)):
        table = variant_weights([Variant("MIL"), Variant("CB", 0.9999)], None, "classes", sets, rule, counts)
        assert table.shape == (2, len(sets) + 1) and torch.all(table[0] == 1)
        for bag in np.flatnonzero(small_xd.train_classes != 6):
            expected = reduce(w[small_xd.train_sets[bag]])
            assert table[1, group[bag]].item() == pytest.approx(expected, rel=1e-6)
    assert group_weights(np.array([1.0, 3.0]), np.array([[True, True]]), "max")[0] == 3.0
    with pytest.raises(ValueError, match="rule"):
        group_weights(np.array([1.0]), np.array([[True]]), "median")
    with pytest.raises(ValueError, match="multi_label_weight"):
        TrainConfig(multi_label_weight="median")


@pytest.mark.parametrize("loss", ["ranking", "topk"])
def test_trainer_weights_multi_label_bags_in_both_losses(small_xd, loss):
    config = TrainConfig(iterations=3, batch_size=8, loss=loss, multi_label_weight="max")
    trainer = Trainer(small_xd, [Variant("MIL"), Variant("CB", 0.9999)], [0], config,
                      RunSettings(precision="fp32", progress=False)).run()
    batch = trainer.draw()
    groups = batch[:, 16:]
    assert int(groups.max()) < len(trainer.group_sets)  # abnormal bags only, each by its class set
    assert trainer.weights.shape[1] == len(trainer.group_sets) + 1
    assert np.isfinite(trainer.history["loss"][-1]).all()


def test_sampler_draws_weight_groups_in_proportion(small_xd):
    config = TrainConfig(iterations=1, batch_size=8, sampler_beta=0.9999)
    trainer = Trainer(small_xd, [Variant("MIL")], [0], config, RunSettings(precision="fp32", progress=False))
    group = trainer.groups.numpy()
    p = trainer.sampler.probabilities.numpy()
    n = np.bincount(group, minlength=len(p) + 1)[:-1]
    table = variant_weights([Variant("s", 0.9999)], None, "classes", trainer.group_sets, "mean",
                            small_xd.train_sets.sum(axis=0))[0, :-1].double().numpy()
    np.testing.assert_allclose(p, n * table / (n * table).sum(), rtol=1e-12)
    bags = trainer.sampler.draw(4000, torch.Generator().manual_seed(0)).numpy()
    share = np.bincount(group[bags], minlength=len(p))[:len(p)] / len(bags)
    assert np.abs(share - p).max() < 0.03


def test_reproduce_on_xd_writes_ap_tables(tmp_path):
    from cbmil.study.reproduction import load_study, reproduce
    from cbmil.study import xd as xd_study
    study = reproduce("synthetic", dataset="xd", preset="ci", seeds=2, iterations=4, betas=(0.9, 0.9999),
                      out=tmp_path, figures="none", save_scores=True,
                      settings=RunSettings(precision="fp32", progress=False), keep_memory=False)
    assert study.benchmark == "xd_violence" and study.class_names == xd.CLASSES
    t2 = xd_study.table2(study)
    assert [r["method"] for r in t2] == ["MIL", "CB-MIL 0.9", "CB-MIL 0.9999"]
    assert 0 <= t2[0]["ap_mean"] <= 100 and t2[1]["ap_diff"] is not None
    families = set(study.changes()["family"].dropna())
    assert {"xd_table2", "xd_table1_per_class"} <= families
    assert (study.changes()["family"] == "xd_table1_per_class").sum() == 6 * 2
    t1 = xd_study.table1(study)
    assert [r["class"] for r in t1] == list(xd.CLASSES) + ["mean of classes"]
    assert t1[3]["train_videos"] == 36 and t1[3]["train_videos_any"] == 50 and t1[3]["test_videos_any"] == 11
    text = (tmp_path / "table2_beta.md").read_text()
    assert "XD-Violence" in text and "SYNTHETIC" in text and "trapezoid" in text
    back = load_study(tmp_path)
    assert back.benchmark == "xd_violence" and back.class_names == xd.CLASSES
    np.testing.assert_allclose(back.per_class_ap, study.per_class_ap, equal_nan=True)
    assert back.layouts[0]["test_class_sets"].shape == (800, 6)


def test_reproduce_refuses_a_cache_of_the_other_benchmark(small_xd, tmp_path):
    from cbmil.study.reproduction import reproduce
    ds.save(small_xd, tmp_path / "cache")
    with pytest.raises(ValueError, match="xd_violence cache"):
        reproduce(str(tmp_path / "cache"), dataset="ucf", out=None)


def test_evaluate_scores_ap_equals_sklearn_recomputed_from_the_file(tmp_path, capsys):
    """The issue's check: AP of `cbmil evaluate --scores` on saved XD scores equals
    auc(*precision_recall_curve(...)[1::-1]) and average_precision_score, recomputed here from the
    file's arrays alone (snippet scores x16 onto frames)."""
    from sklearn.metrics import auc, average_precision_score, precision_recall_curve

    from cbmil.cli import main
    from cbmil.study.reproduction import reproduce
    reproduce("synthetic", dataset="xd", preset="ci", seeds=1, iterations=3, betas=(0.9999,), out=tmp_path,
              figures="none", save_scores=True, one_world=True,
              settings=RunSettings(precision="fp32", progress=False), keep_memory=False)
    path = tmp_path / "scores.npz"
    assert main(["evaluate", "--scores", str(path), "--json"]) == 0
    reported = json.loads(capsys.readouterr().out)
    assert main(["evaluate", "--scores", str(path)]) == 0  # the table names XD-Violence's headline first
    table = capsys.readouterr().out.splitlines()
    assert table[0].startswith("| model | AP (public code, trapezoid) |")
    first = reported[next(iter(reported))]
    assert table[2].split(" | ")[1] == f"{100 * first['ap_trapezoid']:.2f}"
    with np.load(path) as f:
        scores, offsets, labels = f["snippet_scores"], f["test_offsets"], f["test_frame_labels"].astype(bool)
        names = f["model_names"].tolist()
    frames = np.repeat(scores, 16, axis=1)  # the snippet protocol: 16 frames per snippet
    assert frames.shape[1] == len(labels) == 16 * offsets[-1]
    for m, name in enumerate(names):
        precision, recall, _ = precision_recall_curve(labels, frames[m])
        assert reported[name]["ap_trapezoid"] == pytest.approx(auc(recall, precision), abs=1e-12)
        assert reported[name]["ap"] == pytest.approx(average_precision_score(labels, frames[m]), abs=1e-12)
        # the per-class AP of a class: its videos' frames (any label) and every normal video's frames
        with np.load(path) as f:
            sets, classes, fo = f["test_class_sets"], f["test_classes"], f["test_frame_offsets"]
        owner = np.repeat(np.arange(len(classes)), np.diff(fo))
        keep = sets[owner, 3] | (classes[owner] == 6)  # Abuse
        precision, recall, _ = precision_recall_curve(labels[keep], frames[m][keep])
        assert reported[name]["per_class_ap.Abuse"] == pytest.approx(auc(recall, precision), abs=1e-12)
