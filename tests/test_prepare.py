import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from cbmil.data import dataset
from cbmil.data.features import segment_pool
from cbmil.data.prepare import prepare
from cbmil.data.synthetic import write_feature_folders
from cbmil.data.ucf_crime import TEST_ANNOTATIONS, parse_test_annotations
from conftest import SMALL_COUNTS


@pytest.mark.parametrize("layout", ["ten_crop", "per_crop", "plain"])
def test_prepare_builds_the_cache_from_each_layout(tmp_path, layout):
    dirs = write_feature_folders(tmp_path / "src", layout, train_counts=SMALL_COUNTS,
                                 test_counts=SMALL_COUNTS, max_snippets=60, n_crops=3)
    out = prepare(dirs["train"], dirs["test"], dirs["annotations"], tmp_path / "cache", progress=False)
    data = dataset.load(out)
    crops = 1 if layout == "plain" else 3
    assert data.train_bags.shape == (16, crops, 32, 64)
    assert data.test_snippets.shape[1:] == (crops, 64)
    assert data.counts("train") == SMALL_COUNTS and data.counts("test") == SMALL_COUNTS
    assert isinstance(data.train_bags, np.memmap)
    # the first training video, pooled by hand from its file
    key = data.train_keys[0]
    raw = np.load(next(dirs["train"].glob(f"{key}*")))
    raw = raw[:, None] if raw.ndim == 2 else raw
    if layout != "per_crop":
        np.testing.assert_allclose(data.train_bags[0], np.moveaxis(segment_pool(raw), 0, 1), atol=1e-5)
    # frame ground truth matches the annotation file
    records = parse_test_annotations(dirs["annotations"] / TEST_ANNOTATIONS)
    first = records[0]
    fo = data.test_frame_offsets
    gt = data.test_frame_labels[fo[0]:fo[1]]
    start, end = first.intervals[0]
    assert gt[start] == 1 and gt[end] == 1 and (end + 1 >= len(gt) or gt[end + 1] == 0 or len(first.intervals) > 1)
    assert data.test_n_frames[0] == 16 * (data.test_offsets[1] - data.test_offsets[0])


def test_crop_mean_option_averages_crops(tmp_path, ten_crop_folder):
    d = ten_crop_folder
    full = dataset.load(prepare(d["train"], d["test"], d["annotations"], tmp_path / "a", progress=False))
    mean = dataset.load(prepare(d["train"], d["test"], d["annotations"], tmp_path / "b", crop_mean=True,
                                progress=False))
    assert full.n_crops == 10 and mean.n_crops == 1
    np.testing.assert_allclose(mean.train_bags[:, 0], full.train_bags.mean(axis=1), atol=1e-5)
    np.testing.assert_allclose(mean.test_snippets[:, 0], full.test_snippets.mean(axis=1), atol=1e-5)


def test_long_videos_are_read_in_slices(tmp_path, ten_crop_folder, monkeypatch):
    import cbmil.data.prepare as prep
    d = ten_crop_folder
    whole = dataset.load(prepare(d["train"], d["test"], d["annotations"], tmp_path / "a", progress=False))
    monkeypatch.setattr(prep, "SLICE_BYTES", 3 * 10 * 64 * 4)  # three snippets at a time
    sliced = dataset.load(prepare(d["train"], d["test"], d["annotations"], tmp_path / "b", progress=False))
    np.testing.assert_allclose(sliced.train_bags, whole.train_bags, atol=1e-5)
    assert np.array_equal(sliced.test_snippets, whole.test_snippets)


def test_missing_feature_file_stops_before_any_work(tmp_path, ten_crop_folder):
    src = tmp_path / "train"
    shutil.copytree(ten_crop_folder["train"], src)
    (src / "Arson001_x264_i3d.npy").unlink()
    with pytest.raises(FileNotFoundError, match=r"(?s)1 listed video\(s\) have no feature file.*Arson001_x264"):
        prepare(src, ten_crop_folder["test"], ten_crop_folder["annotations"], tmp_path / "cache", progress=False)
    assert not (tmp_path / "cache").exists()


def test_nan_file_is_rejected_by_name(tmp_path, ten_crop_folder):
    src = tmp_path / "test"
    shutil.copytree(ten_crop_folder["test"], src)
    victim = sorted(src.glob("*.npy"))[2]
    x = np.load(victim)
    x[1, 4, 7] = np.inf
    np.save(victim, x)
    with pytest.raises(ValueError, match=f"{victim.name}.*NaN/Inf"):
        prepare(ten_crop_folder["train"], src, ten_crop_folder["annotations"], tmp_path / "cache", progress=False)
    assert not (tmp_path / "cache" / "meta.json").exists()


@pytest.mark.parametrize("where", ["train", "test"])
def test_nan_in_a_per_crop_file_names_that_crop(tmp_path, where):
    dirs = write_feature_folders(tmp_path / "src", "per_crop", train_counts=SMALL_COUNTS,
                                 test_counts=SMALL_COUNTS, max_snippets=60, n_crops=3)
    victim = sorted(dirs[where].glob("*__2.npy"))[0]  # crop 2 of a video: not the first crop's file
    x = np.load(victim)
    x[1, 7] = np.nan
    np.save(victim, x)
    with pytest.raises(ValueError, match=f"{victim.name}.*NaN/Inf"):
        prepare(dirs["train"], dirs["test"], dirs["annotations"], tmp_path / "cache", progress=False)


def test_wrong_dimension_is_rejected_by_name(tmp_path, ten_crop_folder):
    src = tmp_path / "test"
    shutil.copytree(ten_crop_folder["test"], src)
    victim = sorted(src.glob("*.npy"))[0]
    np.save(victim, np.ones((5, 10, 32), dtype=np.float32))
    with pytest.raises(ValueError, match=f"{victim.name}: 10 crops x D = 32; expected 10 crops x D = 64"):
        prepare(ten_crop_folder["train"], src, ten_crop_folder["annotations"], tmp_path / "cache", progress=False)


def test_c3d_test_features_need_frame_counts(tmp_path):
    dirs = write_feature_folders(tmp_path / "src", "c3d", train_counts=SMALL_COUNTS, test_counts=SMALL_COUNTS,
                                 max_snippets=60)
    with pytest.raises(ValueError, match="--frame-counts"):
        prepare(dirs["train"], dirs["test"], dirs["annotations"], tmp_path / "cache", progress=False)
    records = parse_test_annotations(dirs["annotations"] / TEST_ANNOTATIONS)
    counts = tmp_path / "frames.txt"
    counts.write_text("".join(f"x/{r.key}.mp4 {2000 + i}\n" for i, r in enumerate(records)))
    data = dataset.load(prepare(dirs["train"], dirs["test"], dirs["annotations"], tmp_path / "cache",
                                frame_counts=counts, progress=False))
    assert data.test_n_frames.tolist() == [2000 + i for i in range(len(records))]
    assert np.all(np.diff(data.test_offsets) == 32)


def test_cli_prepare_and_summary(tmp_path, ten_crop_folder):
    d = ten_crop_folder
    out = tmp_path / "cache"
    run = subprocess.run([sys.executable, "-m", "cbmil", "data", "prepare", "--train-dir", str(d["train"]),
                          "--test-dir", str(d["test"]), "--annotations-dir", str(d["annotations"]),
                          "--out", str(out), "--quiet"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    run = subprocess.run([sys.executable, "-m", "cbmil", "data", "summary", "--source", str(out), "--json"],
                         capture_output=True, text=True)
    summary = json.loads(run.stdout)
    assert summary["train_counts"] == SMALL_COUNTS
    data = dataset.load(out)
    assert summary["test_frames"] == int(data.test_n_frames.sum())
    assert summary["test_anomalous_frames"] == int(data.test_frame_labels.sum()) > 0


def test_cli_reports_errors_without_a_traceback(tmp_path):
    run = subprocess.run([sys.executable, "-m", "cbmil", "data", "summary", "--source", str(tmp_path)],
                         capture_output=True, text=True)
    assert run.returncode == 2
    assert "is not a cbmil cache" in run.stderr and "Traceback" not in run.stderr


def test_npy_writer_checks_shapes_and_row_count(tmp_path):
    import cbmil.data.prepare as prep
    path = tmp_path / "x.npy"
    with prep._NpyWriter(path, (3, 2)) as writer:
        writer.write(np.ones((2, 2), dtype=np.float32))
        writer.write(np.zeros((1, 2), dtype=np.float64))  # converted to float32
    np.testing.assert_array_equal(np.load(path), [[1, 1], [1, 1], [0, 0]])
    with pytest.raises(ValueError, match="does not fit"):
        with prep._NpyWriter(path, (3, 2)) as writer:
            writer.write(np.ones((2, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="1 rows written; expected 3"):
        with prep._NpyWriter(path, (3, 2)) as writer:
            writer.write(np.ones((1, 2), dtype=np.float32))
