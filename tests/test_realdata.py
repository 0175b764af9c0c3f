"""Tests on the real UCF-Crime files. The split files and frame counts ship with the package
(``cbmil.data.ucf_crime.SPLIT_DIR``), so their tests run everywhere; the real C3D features run when
CBMIL_DATA_DIR points at them (see conftest)."""

import numpy as np

from cbmil.data.features import index_feature_folder, load_video
from cbmil.data.frames import frame_ground_truth, video_frame_scores
from cbmil.data.ucf_crime import (SPLIT_DIR, TEST_ANNOTATIONS, TEST_COUNTS, TRAIN_COUNTS, TRAIN_LIST, count_by_class,
                             parse_frame_counts, parse_test_annotations, parse_train_list)


def test_official_split_files_give_the_facts_table():
    train = parse_train_list(SPLIT_DIR / TRAIN_LIST)
    test = parse_test_annotations(SPLIT_DIR / TEST_ANNOTATIONS)
    assert len(train) == 1610 and len(test) == 290
    assert count_by_class(train) == TRAIN_COUNTS
    assert count_by_class(test) == TEST_COUNTS
    assert len({r.key for r in train} | {r.key for r in test}) == 1900  # no video in both splits


def test_frame_count_list_covers_the_test_split():
    counts = parse_frame_counts(SPLIT_DIR / "frame_counts_test.txt")
    test = parse_test_annotations(SPLIT_DIR / TEST_ANNOTATIONS)
    assert {r.key for r in test} == set(counts)
    assert sum(counts.values()) == 1_111_808


def test_sultani_c3d_samples_load_with_their_ground_truth(data_dir):
    sources = index_feature_folder(data_dir / "sultani_c3d_samples")
    assert len(sources) == 10
    test = {r.key: r for r in parse_test_annotations(SPLIT_DIR / TEST_ANNOTATIONS)}
    counts = parse_frame_counts(SPLIT_DIR / "frame_counts_test.txt")
    for key, source in sources.items():
        feats = load_video(source, dim=4096)
        assert feats.shape == (32, 1, 4096)
        np.testing.assert_allclose(np.linalg.norm(feats[:, 0], axis=1), 1.0, atol=1e-3)
        record = test[key]
        gt = frame_ground_truth(record.intervals, counts[key])
        assert len(gt) == counts[key]
        assert (gt.sum() > 0) == record.is_anomalous
        # the segment protocol puts 32 segment scores on exactly these frames
        assert video_frame_scores(np.linspace(0, 1, 32), counts[key], "segment").shape == gt.shape


def test_real_test_split_under_the_snippet_convention_gives_the_published_gt_length(tmp_path):
    """`data export-gt` for the 290 official test videos in the official order, T = floor(frames / 16)
    snippets each: 69,364 snippets, 1,109,824 frames (one of the two totals discussed for the public
    gt-ucf.npy); `data audit` of it is consistent, and of the array 9 snippets short (the other
    total, 1,109,680) it is not."""
    from cbmil import cli
    from cbmil.interop import groundtruth
    annotations = SPLIT_DIR / TEST_ANNOTATIONS
    frames = parse_frame_counts(SPLIT_DIR / "frame_counts_test.txt")
    keys = list(groundtruth.read_annotations(annotations))
    listing, snippets = tmp_path / "test.list", tmp_path / "snippets.txt"
    listing.write_text("".join(f"/data/UCF_Test_ten_crop_i3d/{k}_i3d.npy\n" for k in keys))
    snippets.write_text("".join(f"{k} {frames[k] // 16}\n" for k in keys))
    args = ["--list", str(listing), "--annotations-dir", str(annotations.parent), "--snippets", str(snippets)]
    assert cli.main(["data", "export-gt", *args, "--out", str(tmp_path / "gt.npy")]) == 0
    gt = np.load(tmp_path / "gt.npy")
    assert sum(frames[k] // 16 for k in keys) == 69_364 and len(gt) == 1_109_824
    assert cli.main(["data", "audit", "--gt", str(tmp_path / "gt.npy"), *args]) == 0
    np.save(tmp_path / "short.npy", gt[:1_109_680])
    assert cli.main(["data", "audit", "--gt", str(tmp_path / "short.npy"), *args]) == 1


def test_shipped_split_files_are_unchanged_copies_of_the_data_folders(data_dir):
    for name in (TRAIN_LIST, TEST_ANNOTATIONS, "frame_counts_test.txt", "frame_counts_train.txt"):
        assert (SPLIT_DIR / name).read_bytes() == (data_dir / "ucf_crime" / name).read_bytes(), name
