import numpy as np
import pytest

from cbmil.data import dataset
from cbmil.data.synthetic import config, make_dataset
from cbmil.data.ucf_crime import CLASSES, NORMAL_INDEX, TEST_COUNTS, TRAIN_COUNTS


def test_synthetic_has_the_real_split_sizes_and_shapes(ci_data):
    assert ci_data.counts("train") == TRAIN_COUNTS
    assert ci_data.counts("test") == TEST_COUNTS
    assert ci_data.train_bags.shape == (1610, 1, 32, 64)
    assert ci_data.train_bags.dtype == np.float32 and ci_data.test_snippets.dtype == np.float32
    assert len(ci_data.test_offsets) == 291
    assert ci_data.meta["source"] == "synthetic"


def test_synthetic_lengths_and_spans_look_like_ucf_crime(ci_data):
    frames = ci_data.test_n_frames
    assert 1200 < np.median(frames) < 2600
    assert frames.min() >= 96
    abnormal = ci_data.test_classes != NORMAL_INDEX
    fo = ci_data.test_frame_offsets
    shares = np.array([ci_data.test_frame_labels[a:b].mean() for a, b in zip(fo[:-1], fo[1:])])
    assert np.all(shares[abnormal] > 0) and np.all(shares[~abnormal] == 0)
    assert 0.05 < np.median(shares[abnormal]) < 0.3


def test_same_seed_same_arrays_other_seed_other_arrays():
    small = {c: 2 for c in CLASSES} | {"Normal": 4}
    a = make_dataset("ci", seed=3, train_counts=small, test_counts=small)
    b = make_dataset("ci", seed=3, train_counts=small, test_counts=small)
    c = make_dataset("ci", seed=4, train_counts=small, test_counts=small)
    for name in ("train_bags", "test_snippets", "test_frame_labels"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert not np.array_equal(a.train_bags, c.train_bags)


def test_balanced_control_spreads_abnormal_videos_evenly():
    data = make_dataset("ci", seed=0, balanced=True, test_counts={c: 1 for c in CLASSES} | {"Normal": 1})
    counts = data.counts("train")
    assert sum(counts[c] for c in CLASSES) == 810 and counts["Normal"] == 800
    assert max(counts[c] for c in CLASSES) - min(counts[c] for c in CLASSES) <= 1


def test_anomalies_shift_features_along_their_class_signature(ci_data):
    # inside the events the mean feature moves away from the outside mean; in normal videos nothing
    fo, so = ci_data.test_frame_offsets, ci_data.test_offsets
    v = int(np.flatnonzero(ci_data.test_classes == CLASSES.index("Explosion"))[0])
    labels = ci_data.test_frame_labels[fo[v]:fo[v + 1]].reshape(-1, 16).mean(1)
    x = ci_data.test_snippets[so[v]:so[v + 1], 0]
    assert np.linalg.norm(x[labels == 1].mean(0) - x[labels == 0].mean(0)) > 1.0


def test_unknown_parameter_and_preset_are_errors():
    with pytest.raises(ValueError, match="unknown synthetic parameter"):
        config("ci", snr=3)
    with pytest.raises(ValueError, match="preset"):
        make_dataset("huge")


def test_cache_round_trip(tmp_path):
    small = {c: 1 for c in CLASSES} | {"Normal": 2}
    data = make_dataset("ci", seed=1, train_counts=small, test_counts=small)
    loaded = dataset.load(dataset.save(data, tmp_path / "cache"))
    assert loaded.train_keys == data.train_keys and loaded.meta == data.meta
    for name in ("train_bags", "test_snippets", "test_frame_labels", "test_offsets"):
        assert np.array_equal(getattr(loaded, name), getattr(data, name))


def test_dataset_validation_names_the_array(ci_data):
    with pytest.raises(ValueError, match="VADDataset.train_classes"):
        dataset.VADDataset(**{**_arrays(ci_data), "train_classes": ci_data.train_classes[:-1]})
    with pytest.raises(ValueError, match="VADDataset.test_frame_labels"):
        dataset.VADDataset(**{**_arrays(ci_data), "test_frame_labels": ci_data.test_frame_labels[:-1]})


def _arrays(data):
    names = ("train_bags", "train_classes", "test_snippets", "test_offsets", "test_classes", "test_n_frames",
             "test_frame_labels", "test_frame_offsets")
    return {n: getattr(data, n) for n in names}


def test_context_cap_only_touches_classes_stronger_than_the_cap():
    from cbmil.data.ucf_crime import CLASSES
    small = {"train_counts": {c: 1 for c in CLASSES} | {"Normal": 2}, "test_counts": {c: 1 for c in CLASSES} |
             {"Normal": 1}, "max_snippets": 20}
    capped = make_dataset("ci", seed=0, **small)
    uncapped = make_dataset("ci", seed=0, context_cap=float("inf"), **small)
    signal = capped.meta["config"]["signal"]
    for i, c in enumerate(CLASSES):
        a, b = capped.test_snippets[capped.test_offsets[i]:capped.test_offsets[i + 1]], \
            uncapped.test_snippets[uncapped.test_offsets[i]:uncapped.test_offsets[i + 1]]
        if capped.meta["class_strengths"][c] <= signal:
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
        else:
            assert not np.allclose(a, b, atol=1e-3), c
    normal = slice(capped.test_offsets[len(CLASSES)], None)
    np.testing.assert_array_equal(capped.test_snippets[normal], uncapped.test_snippets[normal])


SMALL = {"test_counts": {c: 1 for c in CLASSES} | {"Normal": 2}, "max_snippets": 30}


@pytest.fixture(scope="module")
def strength_rows():
    from cbmil.study.strength import generator_settings, run
    from cbmil.train import RunSettings, TrainConfig
    setups = [(label, {**o, **SMALL}) for label, o in generator_settings([1.2, 0.0])]
    assert [label for label, _ in setups] == ["context 1.2, capped (default)", "context 1.2, uncapped (v1)",
                                              "context 0"]
    return run("ci", setups[::2], 2, TrainConfig(iterations=2, batch_size=6), RunSettings(progress=False, device="cpu"))


def test_strength_study_rows_carry_the_world_strengths(strength_rows):
    rows = strength_rows
    assert len(rows) == 2 * 2 * len(CLASSES)
    world1 = make_dataset("ci", seed=1, **SMALL)
    row = next(r for r in rows if r["world"] == 1 and r["class"] == "Shooting")
    assert row["strength"] == world1.meta["class_strengths"]["Shooting"]
    assert 0 <= row["class_auc"] <= 1


def test_strength_csv_reads_back_for_replot(strength_rows, tmp_path):
    from cbmil.study.reproduction import write_csv
    from cbmil.study.strength import figure, read_rows
    rows = strength_rows
    write_csv(rows, tmp_path / "strength.csv")
    again = read_rows(tmp_path / "strength.csv")
    assert [(r["setting"], r["world"], r["class"]) for r in again] == [(r["setting"], r["world"], r["class"])
                                                                        for r in rows]
    assert all(a["class_auc"] == pytest.approx(b["class_auc"]) and isinstance(a["world"], int)
               for a, b in zip(again, rows))
    assert len(figure(again, "SYNTHETIC test").axes) == 3
