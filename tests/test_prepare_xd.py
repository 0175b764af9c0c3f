"""``cbmil data prepare --dataset xd`` on stand-in features (random numbers under the real names of
the shipped lists): the real counts and ground truth come out, and bad folders stop it by name."""

import json
import shutil

import numpy as np
import pytest

from cbmil import cli
from cbmil.data import dataset
from cbmil.data import xd_violence as xd
from cbmil.data.features import segment_pool
from cbmil.data.prepare_xd import prepare_xd, write_xd_standin

DIM = 8


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    """All 3,954 + 800 videos of the shipped lists at D = 8, prepared once."""
    root = tmp_path_factory.mktemp("xd_full")
    src = write_xd_standin(root / "src", dim=DIM, max_snippets=40)
    out = prepare_xd(None, None, src["features"], root / "cache", progress=False)
    return src, dataset.load(out)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """12 videos of each list (violent and normal), their lists and annotations beside them."""
    return write_xd_standin(tmp_path_factory.mktemp("xd_small") / "src", dim=DIM, max_videos=12, max_snippets=60)


def _prepare(src, out, **kw):
    return prepare_xd(src["train_list"], src["test_list"], src["features"], out, annotations=src["annotations"],
                      progress=False, **kw)


def test_full_standin_gives_the_real_counts(full):
    _, data = full
    assert data.labels == xd.LABELS and data.meta["benchmark"] == "xd_violence"
    assert data.train_bags.shape == (3954, 5, 32, DIM) and data.test_snippets.shape[1:] == (5, DIM)
    assert data.counts("train") == xd.TRAIN_COUNTS and data.counts("test") == xd.TEST_COUNTS
    assert data.counts("train", any_label=True) == xd.TRAIN_COUNTS_ANY
    assert data.counts("test", any_label=True) == xd.TEST_COUNTS_ANY
    summary = data.summary()
    assert summary["multi_label_videos"] == {"train": 243, "test": 47}
    assert data.train_keys == [v.key for v in xd.train_videos()]
    assert np.array_equal(data.test_sets, xd.class_sets(xd.test_videos()))


def test_full_standin_ground_truth_is_the_annotations(full):
    src, data = full
    intervals = xd.parse_annotations(xd.LIST_DIR / xd.ANNOTATIONS)
    snippets = np.diff(data.test_offsets)
    assert np.array_equal(data.test_n_frames, 16 * snippets)
    assert [src["lengths"][k] for k in data.test_keys] == snippets.tolist()
    fo = data.test_frame_offsets
    for v, key in enumerate(data.test_keys):
        expected = np.zeros(data.test_n_frames[v], dtype=np.uint8)
        for s, e in intervals.get(key, ()):  # end exclusive, every interval inside the stand-in's frames
            assert e <= len(expected)
            expected[s:e] = 1
        assert np.array_equal(data.test_frame_labels[fo[v]:fo[v + 1]], expected), key
    assert sum(key in intervals for key in data.test_keys) == len(intervals) == 500


def test_bags_and_snippets_are_the_files(small, tmp_path):
    data = dataset.load(_prepare(small, tmp_path / "cache"))
    key = data.train_keys[1]
    crops = np.stack([np.load(small["features"] / "RGB" / f"{key}__{k}.npy") for k in range(5)], axis=1)
    np.testing.assert_allclose(data.train_bags[1], np.moveaxis(segment_pool(crops), 0, 1), atol=1e-5)
    key = data.test_keys[-1]
    crops = np.stack([np.load(small["features"] / "RGBTest" / f"{key}__{k}.npy") for k in range(5)], axis=1)
    assert np.array_equal(data.test_snippets[data.test_offsets[-2]:], crops)
    assert data.counts("train")[xd.NORMAL] > 0 and data.train_labels.any()  # violent and normal videos
    assert data.counts("test")[xd.NORMAL] > 0 and data.test_frame_labels.any()


def test_crop_mean_and_slices(small, tmp_path, monkeypatch):
    import cbmil.data.prepare_xd as prep
    whole = dataset.load(_prepare(small, tmp_path / "a"))
    mean = dataset.load(_prepare(small, tmp_path / "b", crop_mean=True))
    assert mean.n_crops == 1
    np.testing.assert_allclose(mean.train_bags[:, 0], whole.train_bags.mean(axis=1), atol=1e-5)
    np.testing.assert_allclose(mean.test_snippets[:, 0], whole.test_snippets.mean(axis=1), atol=1e-5)
    monkeypatch.setattr(prep, "SLICE_BYTES", 3 * 5 * DIM * 4)  # three snippets at a time
    sliced = dataset.load(_prepare(small, tmp_path / "c"))
    np.testing.assert_allclose(sliced.train_bags, whole.train_bags, atol=1e-5)
    assert np.array_equal(sliced.test_snippets, whole.test_snippets)


def test_cli_prepare_and_summary(small, tmp_path, capsys):
    out = tmp_path / "cache"
    args = ["data", "prepare", "--dataset", "xd", "--features-dir", str(small["features"]), "--train-list",
            str(small["train_list"]), "--test-list", str(small["test_list"]), "--annotations-dir",
            str(small["annotations"].parent), "--out", str(out), "--quiet"]
    assert cli.main(args) == 0
    assert "train bags (12, 5, 32, 8)" in capsys.readouterr().out
    assert cli.main(["data", "summary", "--source", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert sum(summary["train_counts"].values()) == 12 and list(summary["test_counts"]) == list(xd.LABELS)
    assert cli.main(args + ["--train-dir", str(small["features"])]) == 2  # UCF-Crime's option
    assert "takes no --train-dir" in capsys.readouterr().err
    assert cli.main(args[:4] + args[6:]) == 2  # no --features-dir
    assert "needs --features-dir" in capsys.readouterr().err


def _copy(small, tmp_path):
    src = dict(small, features=tmp_path / "src")
    shutil.copytree(small["features"], src["features"])
    return src


def test_missing_crop_stops_before_any_work(small, tmp_path):
    src = _copy(small, tmp_path)
    key = xd.parse_list(src["test_list"])[2].key
    (src["features"] / "RGBTest" / f"{key}__3.npy").unlink()
    with pytest.raises(FileNotFoundError, match=rf"(?s)1 listed video.*{src['features']}.*{key}: crop __3"):
        _prepare(src, tmp_path / "cache")
    assert not (tmp_path / "cache").exists()


def test_crops_of_different_length_are_named(small, tmp_path):
    src = _copy(small, tmp_path)
    key = xd.parse_list(src["train_list"])[4].key
    path = src["features"] / "RGB" / f"{key}__2.npy"
    np.save(path, np.load(path)[:-1])
    with pytest.raises(ValueError, match=rf"video {key}: crop __2 has T = \d+ snippets"):
        _prepare(src, tmp_path / "cache")
    assert not (tmp_path / "cache").exists()


def test_non_finite_feature_names_the_crop_file(small, tmp_path):
    src = _copy(small, tmp_path)
    key = xd.parse_list(src["test_list"])[1].key
    path = src["features"] / "RGBTest" / f"{key}__4.npy"
    x = np.load(path)
    x[5, 1] = np.nan
    np.save(path, x)
    with pytest.raises(ValueError, match=rf"{key}__4\.npy \(snippets 0\.\.\d+\): 1 NaN/Inf"):
        _prepare(src, tmp_path / "cache")


def test_a_crop_file_in_two_folders_is_ambiguous(small, tmp_path):
    src = _copy(small, tmp_path)
    key = xd.parse_list(src["train_list"])[0].key
    (src["features"] / "copy").mkdir()
    shutil.copy(src["features"] / "RGB" / f"{key}__0.npy", src["features"] / "copy")
    with pytest.raises(ValueError, match=rf"{key}__0\.npy is in more than one folder"):
        _prepare(src, tmp_path / "cache")


def test_a_violent_test_video_without_annotation_is_an_error(small, tmp_path):
    lines = small["annotations"].read_text().splitlines(keepends=True)
    (tmp_path / "annotations.txt").write_text("".join(lines[1:]))
    with pytest.raises(ValueError, match=f"{xd.video_key(lines[0].split()[0])} has no line"):
        prepare_xd(small["train_list"], small["test_list"], small["features"], tmp_path / "cache",
                   annotations=tmp_path, progress=False)
