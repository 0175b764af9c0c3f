"""Working beside the public implementations: .list files, snippet counts, export and audit of gt-ucf.npy."""

import json
import subprocess
import sys

import numpy as np
import pytest

from cbmil import cli
from cbmil.interop import groundtruth as gtm
from cbmil.data.features import index_feature_folder
from cbmil.data.lists import feature_snippet_counts, read_list, read_snippet_counts, snippet_counts
from cbmil.data.ucf_crime import NORMAL_INDEX, TEST_ANNOTATIONS, VideoRecord, parse_test_annotations

# ----------------------------------------------------------------------------- lists


def test_read_list_reads_every_public_spelling_in_file_order(tmp_path):
    path = tmp_path / "test.list"
    path.write_text("/data/UCF_Test_ten_crop_i3d/Abuse028_x264_i3d.npy\n"
                    "\n"
                    "G:\\feats\\UCF_Test\\Normal_Videos003_x264_i3d.npy\r\n"
                    "./rel/path/Arrest001_x264__0.npy\n"
                    "   \n"
                    "C:/mixed\\sep/Normal_Videos_010_x264.npy  \n")
    assert read_list(path) == ["Abuse028_x264", "Normal_Videos_003_x264", "Arrest001_x264", "Normal_Videos_010_x264"]


def test_read_list_names_the_lines_of_a_duplicate(tmp_path):
    path = tmp_path / "dup.list"
    path.write_text("/a/Abuse028_x264_i3d.npy\n/a/Arrest001_x264_i3d.npy\n\nD:\\b\\Abuse028_x264__3.npy\n")
    with pytest.raises(ValueError, match=r"dup.list, line 4: .*Abuse028_x264 is already listed on line 1.*per crop"):
        read_list(path)
    path.write_text("/a/Abuse028_x264_i3d.npy\n/b/Abuse028_x264_i3d.npy\n")
    with pytest.raises(ValueError, match=r"line 2: .*already listed on line 1; expected each video once$"):
        read_list(path)


@pytest.mark.parametrize("bad", ["/data/README.md", "/data/Cooking001_x264_i3d.npy", "/data/"])
def test_read_list_names_the_line_of_an_unknown_name(tmp_path, bad):
    path = tmp_path / "bad.list"
    path.write_text(f"/data/Abuse028_x264_i3d.npy\n{bad}\n")
    with pytest.raises(ValueError, match=r"bad.list, line 2: .*expected a feature path"):
        read_list(path)


def test_read_list_of_a_missing_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.list"):
        read_list(tmp_path / "nope.list")


def test_read_snippet_counts_any_spelling_and_errors_name_the_line(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("Abuse028_x264 10\n\n/x/Normal_Videos003_x264_i3d.npy 5\nC:\\y z\\Arrest001_x264__2.npy\t7\n")
    assert read_snippet_counts(path) == {"Abuse028_x264": 10, "Normal_Videos_003_x264": 5, "Arrest001_x264": 7}
    for text, pattern in [("Abuse028_x264 10\nArrest001_x264 ten\n", "line 2: .*expected 'name T'"),
                          ("Abuse028_x264 0\n", "line 1: .*T >= 1"),
                          ("Abuse028_x264\n", "line 1: .*expected 'name T'"),
                          ("Abuse028_x264 3\n\nAbuse028_x264_i3d.npy 3\n", "line 3: video Abuse028_x264 .* line 1"),
                          ("Frobnicate9 3\n", "line 1: .*UCF-Crime video name")]:
        path.write_text(text)
        with pytest.raises(ValueError, match=pattern):
            read_snippet_counts(path)


def test_snippet_counts_from_a_feature_folder_never_skip_a_video(ten_crop_folder, tmp_path):
    sources = index_feature_folder(ten_crop_folder["test"])
    keys = list(sources)[:4]
    counts = feature_snippet_counts(keys, ten_crop_folder["test"])
    assert counts == {k: int(np.load(sources[k].paths[0]).shape[0]) for k in keys}
    with pytest.raises(ValueError, match="Abuse999_x264"):
        feature_snippet_counts(keys + ["Abuse999_x264"], ten_crop_folder["test"])
    file = tmp_path / "counts.txt"
    file.write_text("".join(f"{k} {t}\n" for k, t in counts.items()))
    np.testing.assert_array_equal(snippet_counts(keys[::-1], snippets_file=file), [counts[k] for k in keys[::-1]])
    with pytest.raises(ValueError, match=r"counts.txt: no snippet count for listed video\(s\) Abuse999_x264"):
        snippet_counts(keys + ["Abuse999_x264"], snippets_file=file)
    with pytest.raises(ValueError, match="exactly one"):
        snippet_counts(keys, ten_crop_folder["test"], file)


# ----------------------------------------------------------------------------- a tiny hand-built test set

KEYS = ["Abuse001_x264", "Arrest001_x264", "Normal_Videos_001_x264", "Arson001_x264"]
T = [20, 20, 5, 10]  # 320, 320, 80, 160 frames
RECORDS = {
    "Abuse001_x264": VideoRecord("Abuse001_x264", "Abuse", ((40, 79),)),
    "Arrest001_x264": VideoRecord("Arrest001_x264", "Arrest", ((200, 263),)),
    "Normal_Videos_001_x264": VideoRecord("Normal_Videos_001_x264", "Normal"),
    "Arson001_x264": VideoRecord("Arson001_x264", "Arson", ((20, 40), (100, 200))),  # 2nd event runs past 159
}


def _by_hand() -> list[np.ndarray]:
    videos = [np.zeros(16 * t, dtype=np.uint8) for t in T]
    videos[0][40:80] = 1
    videos[1][200:264] = 1
    videos[3][20:41] = 1
    videos[3][100:160] = 1
    return videos


def _audit(gt, keys=KEYS, records=RECORDS, counts=T):
    report = gtm.audit(gt, keys, records, counts)
    assert json.loads(json.dumps(report)) == report  # JSON-serialisable, nothing lost
    return report


def test_expected_gt_equals_a_hand_built_gt():
    gt = gtm.expected_gt(KEYS, RECORDS, T)
    assert gt.dtype == np.uint8 and len(gt) == 880
    np.testing.assert_array_equal(gt, np.concatenate(_by_hand()))
    np.testing.assert_array_equal(gtm.expected_gt(KEYS, RECORDS, dict(zip(KEYS, T))), gt)  # counts as a mapping
    with pytest.raises(ValueError, match="Burglary001_x264"):
        gtm.expected_gt(KEYS + ["Burglary001_x264"], RECORDS, T + [3])


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8, bool])
def test_audit_of_the_right_gt_is_consistent(dtype):
    report = _audit(np.concatenate(_by_hand()).astype(dtype))
    assert report["consistent"] and report["findings"] == []
    assert report["expected_frames"] == report["found_frames"] == 880
    assert report["first_mismatch"] is None and report["videos_differing"] == []
    assert report["per_class"]["Arson"] == {"videos": 1, "expected": 81, "found": 81}
    assert not report["order_differs"] and report["classes_without_anomalies"] == []


def test_audit_finds_144_frames_missing_at_one_video_and_the_shift_after_it():
    videos = _by_hand()
    videos[0] = videos[0][:-144]  # the Abuse video is 9 snippets short; its last 144 frames are all normal
    report = _audit(np.concatenate(videos))
    assert (report["expected_frames"], report["found_frames"]) == (880, 736)
    assert report["first_mismatch"]["index"] == 1 and report["first_mismatch"]["key"] == "Arrest001_x264"
    assert report["first_mismatch"]["shift"] == -144
    assert not report["consistent"] and any(f.startswith("length") and "(-144)" in f for f in report["findings"])


def test_audit_finds_every_video_truncated_by_16_frames():
    report = _audit(np.concatenate([v[:-16] for v in _by_hand()]))
    assert report["found_frames"] == 880 - 4 * 16
    assert report["first_mismatch"]["index"] == 1 and report["first_mismatch"]["shift"] == -16
    differing = report["videos_differing"]
    assert [d["key"] for d in differing] == KEYS[1:]  # the Abuse video's dropped tail held no event
    assert {d["kind"] for d in differing} == {"truncated_16"} and report["differing_by_kind"]["truncated_16"] == 3
    assert "16 * (T - 1)" in report["findings"][0]


def test_audit_finds_one_video_missing_its_last_16_frames():
    keys, counts = ["Arrest001_x264", "Abuse001_x264"], [20, 20]
    records = {"Arrest001_x264": RECORDS["Arrest001_x264"],
               "Abuse001_x264": VideoRecord("Abuse001_x264", "Abuse", ((0, 50),))}
    arrest, abuse = gtm.expected_gt(keys[:1], records, counts[:1]), gtm.expected_gt(keys[1:], records, counts[1:])
    report = _audit(np.concatenate([arrest[:-16], abuse]), keys, records, counts)
    # the Abuse video starts anomalous, so the 16 frames can only be the Arrest video's: one shift
    # names it, and the Abuse video, found 16 frames early, is compared there (it does not differ)
    assert [(d["key"], d["kind"]) for d in report["videos_differing"]] == [("Arrest001_x264", "truncated_16")]
    [shift] = report["shifts"]
    assert shift["frames"] == -16 and [c["key"] for c in shift["candidates"]] == ["Arrest001_x264"]
    assert shift["candidates"][0]["at_end"] and shift["videos_after"] == 1
    assert report["first_mismatch"]["index"] == 0
    report = _audit(np.concatenate(_by_hand())[:-16])  # the last video's last 16 frames (anomalous) missing
    assert report["videos_differing"] == [{"index": 3, "key": "Arson001_x264", "label": "Arson",
                                           "frames_differing": 16, "kind": "truncated_16"}]


@pytest.mark.parametrize("ds, de", [(0, -1), (-1, -1), (1, 1), (1, 0)])
def test_audit_finds_an_off_by_one_reading_of_the_annotations(ds, de):
    gt = np.concatenate([gtm._labels(RECORDS[k].intervals, 16 * t, ds, de) for k, t in zip(KEYS, T)])
    report = _audit(gt)
    assert report["found_frames"] == report["expected_frames"]
    assert [d["key"] for d in report["videos_differing"]] == ["Abuse001_x264", "Arrest001_x264", "Arson001_x264"]
    assert {d["kind"] for d in report["videos_differing"]} == {"off_by_one"}
    assert not report["consistent"]


def test_audit_names_a_class_labelled_normal():
    videos = _by_hand()
    videos[1][:] = 0
    report = _audit(np.concatenate(videos))
    assert report["classes_without_anomalies"] == ["Arrest"]
    assert report["per_class"]["Arrest"] == {"videos": 1, "expected": 64, "found": 0}
    assert [(d["key"], d["kind"], d["frames_differing"]) for d in report["videos_differing"]] == [
        ("Arrest001_x264", "other", 64)]
    assert any(f.startswith("class Arrest") for f in report["findings"])


def test_audit_recognises_a_gt_in_the_annotation_order():
    gt = np.concatenate(_by_hand())  # built in the annotation file's order
    order = [3, 1, 0, 2]
    report = _audit(gt, [KEYS[i] for i in order], RECORDS, [T[i] for i in order])
    assert report["order_differs"] and report["order_matches"] == "annotations"
    assert report["found_frames"] == report["expected_frames"] and not report["consistent"]
    assert report["findings"][0].startswith("order")


def test_audit_lists_set_differences_between_list_and_annotations():
    records = {k: RECORDS[k] for k in KEYS[:3]} | {"Burglary001_x264": VideoRecord("Burglary001_x264", "Burglary",
                                                                                  ((0, 9),))}
    report = _audit(np.concatenate(_by_hand()), KEYS, records, T)
    assert report["in_list_not_annotated"] == ["Arson001_x264"]
    assert report["annotated_not_in_list"] == ["Burglary001_x264"]
    assert report["videos_differing"] == [] and len(report["findings"]) == 2


def test_audit_counts_values_that_are_not_0_or_1():
    gt = np.concatenate(_by_hand()).astype(np.float32)
    gt[5] = 0.7
    report = _audit(gt)
    assert report["non_binary_values"] == 1 and not report["consistent"]
    with pytest.raises(ValueError, match="1-D"):
        gtm.audit(gt.reshape(2, -1), KEYS, RECORDS, T)


# ----------------------------------------------------------------------------- test layout and the CLI


@pytest.fixture(scope="module")
def public(ten_crop_folder, tmp_path_factory):
    """The synthetic ten-crop folder seen as a public code base sees it: a .list file in the
    annotation order (Windows prefix, _i3d names), and a snippet-count file."""
    root = tmp_path_factory.mktemp("public")
    records = parse_test_annotations(ten_crop_folder["annotations"] / TEST_ANNOTATIONS)
    keys = [r.key for r in records]
    listing = root / "ucf-i3d-test.list"
    listing.write_text("".join(f"D:\\UCF_Test_ten_crop_i3d\\{k}_i3d.npy\n" for k in keys))
    sources = index_feature_folder(ten_crop_folder["test"])
    counts = {k: int(sources[k].shape()[0]) for k in keys}
    snippets = root / "snippets.txt"
    snippets.write_text("".join(f"{k} {t}\n" for k, t in counts.items()))
    return {"list": listing, "snippets": snippets, "keys": keys, "counts": counts, "records": records,
            "annotations": ten_crop_folder["annotations"], "features": ten_crop_folder["test"], "root": root}


def _cli(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _list_args(public, listing=None, snippets=False):
    source = ["--snippets", public["snippets"]] if snippets else ["--features", public["features"]]
    return ["--list", listing or public["list"], "--annotations-dir", public["annotations"], *source]


def _by_hand_gt(public) -> np.ndarray:
    parts = []
    for record in public["records"]:
        labels = np.zeros(16 * public["counts"][record.key], dtype=np.float32)
        for s, e in record.intervals:
            labels[s:e + 1] = 1
        parts.append(labels)
    return np.concatenate(parts)


def test_test_layout_matches_the_features_and_annotations(public):
    layout = gtm.list_layout(public["list"], public["annotations"], features_dir=public["features"])
    counts = np.array([public["counts"][k] for k in public["keys"]])
    assert layout.keys == public["keys"]
    np.testing.assert_array_equal(layout.n_snippets, counts)
    np.testing.assert_array_equal(np.diff(layout.frame_offsets), 16 * counts)
    np.testing.assert_array_equal(np.diff(layout.snippet_offsets), counts)
    np.testing.assert_array_equal(layout.frame_labels, _by_hand_gt(public))
    assert layout.video_classes[public["keys"].index("Abuse1000_x264")] == 0
    assert (layout.video_classes[[k.startswith("Normal") for k in layout.keys]] == NORMAL_INDEX).all()
    again = gtm.list_layout(public["list"], public["annotations"] / TEST_ANNOTATIONS, snippets_file=public["snippets"])
    np.testing.assert_array_equal(again.frame_labels, layout.frame_labels)


def test_export_gt_and_audit_through_the_cli(public, capsys, tmp_path):
    out = tmp_path / "gt-ucf.npy"
    code, stdout, _ = _cli(capsys, "data", "export-gt", *_list_args(public), "--out", out)
    assert code == 0 and f"{len(_by_hand_gt(public)):,} frames" in stdout
    gt = np.load(out)
    assert gt.dtype == np.float32
    np.testing.assert_array_equal(gt, _by_hand_gt(public))
    code, stdout, _ = _cli(capsys, "data", "audit", "--gt", out, *_list_args(public))
    assert code == 0 and stdout.strip().splitlines()[-1] == "consistent"
    code, stdout, _ = _cli(capsys, "data", "audit", "--gt", out, *_list_args(public, snippets=True), "--json")
    report = json.loads(stdout)
    assert code == 0 and report["consistent"]
    assert {"expected_frames", "found_frames", "first_mismatch", "videos_differing", "per_class",
            "classes_without_anomalies", "in_list_not_annotated", "annotated_not_in_list", "order_differs",
            "consistent", "findings"} <= set(report)


def test_export_gt_through_python_m(public, tmp_path):
    out = tmp_path / "gt.u8"  # any name: no .npy appended
    run = subprocess.run([sys.executable, "-m", "cbmil", "data", "export-gt", *map(str, _list_args(public)),
                          "--out", str(out), "--dtype", "uint8"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    gt = np.load(out)
    assert gt.dtype == np.uint8
    np.testing.assert_array_equal(gt, _by_hand_gt(public))


def _defective(public, defect: str) -> np.ndarray:
    parts = [np.asarray(p) for p in np.split(_by_hand_gt(public), np.cumsum(
        [16 * public["counts"][k] for k in public["keys"]])[:-1])]
    if defect == "short_144":
        victim = next(i for i, p in enumerate(parts) if len(p) > 200 and not p[-144:].any())
        parts[victim] = parts[victim][:-144]
    elif defect == "truncated_16":
        parts = [p[:-16] for p in parts]
    elif defect == "class_zeroed":
        parts = [p * 0 if key.startswith("Arson") else p for p, key in zip(parts, public["keys"])]
    elif defect == "off_by_one":
        parts = [gtm._labels(r.intervals, len(p), 0, -1) for p, r in zip(parts, public["records"])]
    return np.concatenate(parts).astype(np.float32)


@pytest.mark.parametrize("defect", ["short_144", "truncated_16", "class_zeroed", "off_by_one"])
def test_audit_cli_finds_each_defect(public, capsys, tmp_path, defect):
    path = tmp_path / "gt.npy"
    np.save(path, _defective(public, defect))
    code, stdout, _ = _cli(capsys, "data", "audit", "--gt", path, *_list_args(public), "--json")
    report = json.loads(stdout)
    assert code == 1 and not report["consistent"] and report["findings"]
    if defect == "short_144":
        assert report["expected_frames"] - report["found_frames"] == 144
        # the first video after the short one that holds an event is found 144 frames early
        assert report["first_mismatch"]["index"] > 0 and report["first_mismatch"]["shift"] == -144
    elif defect == "truncated_16":
        assert report["expected_frames"] - report["found_frames"] == 16 * len(public["keys"])
        assert report["videos_differing"] and {d["kind"] for d in report["videos_differing"]} == {"truncated_16"}
        assert report["first_mismatch"]["shift"] == -16 * report["first_mismatch"]["index"]
    elif defect == "class_zeroed":
        assert report["classes_without_anomalies"] == ["Arson"]
    elif defect == "off_by_one":
        assert report["videos_differing"] and {d["kind"] for d in report["videos_differing"]} == {"off_by_one"}
    code, stdout, _ = _cli(capsys, "data", "audit", "--gt", path, *_list_args(public))  # the readable report
    lines = stdout.strip().splitlines()
    assert code == 1 and lines[-1] == f"{len(report['findings'])} finding" + "s" * (len(report["findings"]) > 1)
    assert lines[1].startswith("first mismatch")


def test_audit_cli_finds_a_shuffled_list(public, capsys, tmp_path):
    path = tmp_path / "gt.npy"
    np.save(path, _by_hand_gt(public))
    shuffled = tmp_path / "shuffled.list"
    shuffled.write_text("".join(f"/feats/{k}__0.npy\n" for k in reversed(public["keys"])))
    code, stdout, _ = _cli(capsys, "data", "audit", "--gt", path, *_list_args(public, shuffled), "--json")
    report = json.loads(stdout)
    assert code == 1 and report["order_differs"] and report["order_matches"] == "annotations"


def test_a_listed_video_missing_from_the_annotations(public, capsys, tmp_path):
    path = tmp_path / "gt.npy"
    np.save(path, _by_hand_gt(public))
    extra = tmp_path / "extra.list"
    extra.write_text(public["list"].read_text() + "/feats/Abuse999_x264_i3d.npy\n")
    snippets = tmp_path / "snippets.txt"
    snippets.write_text(public["snippets"].read_text() + "Abuse999_x264 7\n")
    args = ["--list", extra, "--annotations-dir", public["annotations"], "--snippets", snippets]
    code, stdout, _ = _cli(capsys, "data", "audit", "--gt", path, *args, "--json")
    report = json.loads(stdout)
    assert code == 1 and report["in_list_not_annotated"] == ["Abuse999_x264"]
    assert report["expected_frames"] - report["found_frames"] == 7 * 16 and report["videos_differing"] == []
    code, _, stderr = _cli(capsys, "data", "export-gt", *args, "--out", tmp_path / "out.npy")
    assert code == 2 and "Abuse999_x264" in stderr and "extra.list" in stderr
    with pytest.raises(ValueError, match="Abuse999_x264"):
        gtm.list_layout(extra, public["annotations"], snippets_file=snippets)


def test_unreadable_input_exits_2_naming_the_file(public, capsys, tmp_path):
    good = tmp_path / "gt.npy"
    np.save(good, _by_hand_gt(public))
    corrupt = tmp_path / "corrupt.npy"
    corrupt.write_bytes(b"this is not an npy file")
    matrix = tmp_path / "matrix.npy"
    np.save(matrix, np.zeros((3, 4)))
    dup = tmp_path / "dup.list"
    dup.write_text(public["list"].read_text() + f"/x/{public['keys'][0]}.npy\n")
    cases = [(["--gt", tmp_path / "missing.npy", *_list_args(public)], "missing.npy"),
             (["--gt", corrupt, *_list_args(public)], "corrupt.npy"),
             (["--gt", matrix, *_list_args(public)], "matrix.npy"),
             (["--gt", good, *_list_args(public, dup)], f"dup.list, line {len(public['keys']) + 1}"),
             (["--gt", good, "--list", public["list"], "--annotations-dir", tmp_path, "--features", public["features"]],
              TEST_ANNOTATIONS),
             (["--gt", good, *_list_args(public)[:4], "--features", tmp_path / "nofeatures"], "nofeatures")]
    for argv, name in cases:
        code, stdout, stderr = _cli(capsys, "data", "audit", *argv, "--json")
        assert code == 2 and stdout == "", argv
        assert name in stderr and len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr


# ----------------------------------------------------------------------------- bring your own scores

def test_evaluate_frame_scores_matches_an_independent_recomputation(public, tmp_path, capsys):
    import json

    from sklearn.metrics import roc_auc_score

    from cbmil.eval import protocols
    gt = _by_hand_gt(public).astype(bool)
    rng = np.random.default_rng(1)
    frames = (0.5 * gt + rng.random(len(gt))).astype(np.float32)
    path = tmp_path / "other_method.npy"
    np.save(path, frames)
    code, out, _ = _cli(capsys, "evaluate", "--frame-scores", path, *_list_args(public), "--json")
    assert code == 0
    m = json.loads(out)["other_method"]
    assert set(protocols.METRICS) <= set(m)
    assert m["total_auc"] == pytest.approx(roc_auc_score(gt, frames), abs=1e-12)
    assert m["total_auc_segment"] is None  # frame scores carry no snippets to pool
    # one score per snippet: the segment protocol is defined too, and x16 gives the frame result
    snippets = frames[::16].copy()
    np.save(path, snippets)
    code, out, _ = _cli(capsys, "evaluate", "--frame-scores", path, *_list_args(public, snippets=True), "--json")
    m = json.loads(out)["other_method"]
    assert m["total_auc"] == pytest.approx(roc_auc_score(gt, np.repeat(snippets, 16)), abs=1e-12)
    assert m["total_auc_segment"] is not None


def test_evaluate_frame_scores_refuses_a_length_mismatch_naming_the_video(public, tmp_path, capsys):
    gt = _by_hand_gt(public)
    path = tmp_path / "short.npy"
    first = 16 * public["counts"][public["keys"][0]]
    np.save(path, np.zeros(len(gt) - first - 5, dtype=np.float32))  # ends 5 frames before the last video's end
    code, _, err = _cli(capsys, "evaluate", "--frame-scores", path, *_list_args(public))
    assert code == 2 and "short.npy" in err and "ends inside video" in err
    last = public["keys"][-1]
    np.save(path, np.zeros(len(gt) - 5, dtype=np.float32))
    code, _, err = _cli(capsys, "evaluate", "--frame-scores", path, *_list_args(public))
    assert code == 2 and f"({last}), 5 frames short" in err
    np.save(path, np.zeros(len(gt) - 16 * len(public["keys"]), dtype=np.float32))
    code, _, err = _cli(capsys, "evaluate", "--frame-scores", path, *_list_args(public))
    assert code == 2 and "16 frames fewer per video" in err
    code, _, err = _cli(capsys, "evaluate", "--frame-scores", path, "--list", public["list"])
    assert code == 2 and "--annotations-dir" in err


def test_audit_names_the_video_for_one_truncation_a_swap_and_an_extra_frame_each(public, capsys, tmp_path):
    parts = np.split(_by_hand_gt(public), np.cumsum([16 * public["counts"][k] for k in public["keys"]])[:-1])
    keys = public["keys"]
    path = tmp_path / "gt.npy"
    # one video's last 16 frames dropped. Labels alone cannot show it when its last 16 frames and
    # the next video's first 16 are all normal; the first video that can show it is named, found
    # 16 frames early: here the victim is the video just before one with an event
    event = next(i for i, p in enumerate(parts) if i > 0 and p.any())
    victim = event - 1
    np.save(path, np.concatenate([p[:-16] if i == victim else p for i, p in enumerate(parts)]))
    code, out, _ = _cli(capsys, "data", "audit", "--gt", path, *_list_args(public), "--json")
    report = json.loads(out)
    assert code == 1 and report["first_mismatch"]["index"] in (victim, event)
    assert report["first_mismatch"]["shift"] == -16
    assert report["expected_frames"] - report["found_frames"] == 16
    # two videos swapped in the list, the GT in the annotation order: the order is the finding
    swapped = list(keys)
    a, b = next(i for i, p in enumerate(parts) if p.any()), len(keys) - 1  # an abnormal and the last (normal) video
    swapped[a], swapped[b] = swapped[b], swapped[a]
    listing = tmp_path / "swapped.list"
    listing.write_text("".join(f"/feats/{k}_i3d.npy\n" for k in swapped))
    np.save(path, np.concatenate(parts))
    code, out, _ = _cli(capsys, "data", "audit", "--gt", path, *_list_args(public, listing), "--json")
    report = json.loads(out)
    assert code == 1 and report["order_matches"] == "annotations"
    assert report["first_mismatch"]["key"] == swapped[min(a, b)]
    # one extra frame per video: the length and the first video whose labels move are named
    np.save(path, np.concatenate([np.append(p, 0) for p in parts]))
    code, out, _ = _cli(capsys, "data", "audit", "--gt", path, *_list_args(public), "--json")
    report = json.loads(out)
    assert code == 1 and report["found_frames"] - report["expected_frames"] == len(keys)
    first = report["first_mismatch"]
    assert first["shift"] == first["index"]  # video i starts i frames late
