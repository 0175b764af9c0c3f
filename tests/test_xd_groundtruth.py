"""XD-Violence's frame ground truth: ``data export-gt --dataset xd`` writes what the two public
builders write, and ``data audit --dataset xd`` recognises either builder's array and names what is
wrong with a broken one. The builders are re-implemented here from their description
(docs: method.md, "XD-Violence facts"), on the shipped list and annotations and made-up lengths."""

import json

import numpy as np
import pytest

from cbmil import cli
from cbmil.data import xd_violence as xd
from cbmil.data.prepare_xd import write_xd_standin
from cbmil.interop import xd_groundtruth as xg

LIST = xd.LIST_DIR / xd.TEST_LIST
ANNOTATION_LINES = (xd.LIST_DIR / xd.ANNOTATIONS).read_text(encoding="utf-8").splitlines()


def _first_crop_names(list_path):
    """The builders' names: the file name of each ``__0`` line without ``__0.npy``, in list order."""
    names = [line.strip().split("/")[-1] for line in list_path.read_text().splitlines() if line.strip()]
    return [name[:-len("__0.npy")] for name in names if name.endswith("__0.npy")]


def _mark(vec, name):
    """Both builders: the first annotation line holding the name sets ``vec[s:e] = 1`` for each pair."""
    if "_label_A" in name:
        return
    for line in ANNOTATION_LINES:
        if name in line:
            numbers = [int(x) for x in line.split()[1:]]
            for s, e in zip(numbers[0::2], numbers[1::2]):
                vec[s:e] = 1.0
            break


def vadclip_gt(snippets):
    """VadCLIP's make_gt_xd.py: zeros of 16 * (T + 1), the intervals marked, the last 16 frames cut."""
    out = []
    for name in _first_crop_names(LIST):
        vec = np.zeros(16 * (snippets[name] + 1), dtype=np.float32)
        _mark(vec, name)
        out.append(vec[:-16])
    return np.concatenate(out)


def xdviodet_gt(frames):
    """XDVioDet's make_gt.py: zeros of the decoded frame count n, the intervals marked, the last frame
    dropped, then the (n - 1) % 16 frames of the incomplete last snippet."""
    out = []
    for name in _first_crop_names(LIST):
        vec = np.zeros(frames[name], dtype=np.float32)
        _mark(vec, name)
        vec = vec[:-1]
        mod = (frames[name] - 1) % 16
        out.append(vec[:-mod] if mod else vec)
    return np.concatenate(out)


@pytest.fixture(scope="module")
def counts(tmp_path_factory):
    """Snippets T and decoded frames n for the 800 test videos, as ``name N`` files: T covers every
    interval; n = 16 T + r with r in -40..40, so the two conventions give other lengths."""
    root = tmp_path_factory.mktemp("xd_gt")
    rng = np.random.default_rng(0)
    intervals = xd.parse_annotations(xd.LIST_DIR / xd.ANNOTATIONS)
    snippets, frames = {}, {}
    for video in xd.parse_list(LIST):
        t = int(rng.integers(20, 300))
        if video.key in intervals:
            t = max(t, max(e for _, e in intervals[video.key]) // 16 + 3)
        snippets[video.key], frames[video.key] = t, 16 * t + int(rng.integers(-40, 41))
    (root / "snippets.txt").write_text("".join(f"{k} {t}\n" for k, t in snippets.items()))
    (root / "frames.txt").write_text("".join(f"{k}.mp4 {n}\n" for k, n in frames.items()))
    return {"root": root, "snippets": snippets, "frames": frames,
            "snippet_file": root / "snippets.txt", "frame_file": root / "frames.txt"}


def _audit(capsys, gt, counts, *extra):
    np.save(counts["root"] / "gt.npy", gt)
    code = cli.main(["data", "audit", "--dataset", "xd", "--gt", str(counts["root"] / "gt.npy"), "--list", str(LIST),
                     "--snippets", str(counts["snippet_file"]), *extra])
    return code, capsys.readouterr().out


def test_export_gt_is_what_each_builder_writes(counts, capsys):
    out = counts["root"] / "mine.npy"
    args = ["data", "export-gt", "--dataset", "xd", "--list", str(LIST), "--snippets", str(counts["snippet_file"]),
            "--out", str(out)]
    assert cli.main(args) == 0
    assert "800 videos" in capsys.readouterr().out
    assert np.array_equal(np.load(out), vadclip_gt(counts["snippets"]))
    assert cli.main(args + ["--frame-counts", str(counts["frame_file"])]) == 0  # convention decoded
    assert "convention 'decoded'" in capsys.readouterr().out
    assert np.array_equal(np.load(out), xdviodet_gt(counts["frames"]))


def test_vadclip_builders_array_passes_the_audit(counts, capsys):
    code, out = _audit(capsys, vadclip_gt(counts["snippets"]), counts)
    assert code == 0, out
    assert "convention: 'snippets', the array of VadCLIP's list/make_gt_xd.py" in out and out.endswith("consistent\n")


def test_xdviodet_builders_array_is_recognised_as_such(counts, capsys):
    gt = xdviodet_gt(counts["frames"])
    code, out = _audit(capsys, gt, counts, "--frame-counts", str(counts["frame_file"]), "--json")
    report = json.loads(out)
    assert code == 0 and report["consistent"] and report["convention"] == "decoded"
    assert report["conventions"]["snippets"]["consistent"] is False


def test_without_frame_counts_a_decoded_array_gets_a_hint(counts, capsys):
    frames = {k: 16 * t + 1 for k, t in counts["snippets"].items()}  # n - 1 = 16 T: the same lengths ...
    keys = list(frames)
    frames[keys[3]] -= 32  # ... but for two videos, two snippets shorter
    frames[keys[600]] -= 32
    code, out = _audit(capsys, xdviodet_gt(frames), counts)
    assert code == 1 and "length: " in out and "(-64)" in out
    assert keys[3] in out and "hint: if the array was built by XDVioDet's make_gt.py" in out


def test_equal_lengths_under_both_conventions(counts, capsys):
    frames = {k: 16 * t + 1 for k, t in counts["snippets"].items()}  # n - 1 = 16 T: the same lengths
    (counts["root"] / "same.txt").write_text("".join(f"{k} {n}\n" for k, n in frames.items()))
    code, out = _audit(capsys, xdviodet_gt(frames), counts, "--frame-counts", str(counts["root"] / "same.txt"))
    assert code == 0 and "the two conventions give these videos the same lengths" in out


def _layout(counts):
    return xg.xd_list_layout(LIST, snippets_file=counts["snippet_file"])


def test_one_interval_shifted_by_16_frames_is_reported(counts, capsys):
    layout = _layout(counts)
    gt = vadclip_gt(counts["snippets"])
    v = next(i for i, video in enumerate(layout.videos) if video.intervals and i > 10)
    key, (s, e) = layout.keys[v], layout.videos[v].intervals[0]
    start = layout.frame_offsets[v]
    gt[start + s:start + e] = 0
    gt[start + s + 16:start + min(e + 16, layout.n_frames[v])] = 1
    code, out = _audit(capsys, gt, counts)
    assert code == 1 and f"first mismatch: video {v} ({key})" in out
    assert f"videos: 1 differs from the annotations (other 1): {key}" in out


def test_inclusive_reading_and_dropped_frames_are_reported(counts, capsys):
    layout = _layout(counts)
    inclusive = np.concatenate([xd.frame_ground_truth([(s, e + 1) for s, e in video.intervals], n)
                                for video, n in zip(layout.videos, layout.n_frames)])
    code, out = _audit(capsys, inclusive, counts, "--json")
    report = json.loads(out)
    assert code == 1 and report["differing_by_kind"]["off_by_one"] == 500
    v = 7  # this video's last 16 frames missing: every later video 16 frames early
    gt = vadclip_gt(counts["snippets"])
    gt = np.delete(gt, np.arange(layout.frame_offsets[v + 1] - 16, layout.frame_offsets[v + 1]))
    code, out = _audit(capsys, gt, counts, "--json")
    report = json.loads(out)
    assert code == 1 and len(report["shifts"]) == 1 and report["shifts"][0]["frames"] == -16
    assert layout.keys[v] in " ".join(report["findings"])


def test_whole_classes_labelled_normal_are_named(counts, capsys):
    layout = _layout(counts)
    gt = vadclip_gt(counts["snippets"])
    for v in np.flatnonzero(layout.video_classes == xd.class_index("CarAccident")):
        gt[layout.frame_offsets[v]:layout.frame_offsets[v + 1]] = 0
    code, out = _audit(capsys, gt, counts, "--json")
    report = json.loads(out)
    assert code == 1 and report["classes_without_anomalies"] == ["CarAccident"]
    assert list(report["per_class"]) == list(xd.LABELS)


def test_snippets_from_feature_headers(tmp_path, capsys):
    src = write_xd_standin(tmp_path / "src", dim=4, max_videos=10, max_snippets=30)
    snippets = src["lengths"]
    out = tmp_path / "gt.npy"
    assert cli.main(["data", "export-gt", "--dataset", "xd", "--list", str(src["test_list"]), "--annotations-dir",
                     str(src["annotations"]), "--features", str(src["features"]), "--out", str(out)]) == 0
    layout = xg.xd_list_layout(src["test_list"], src["annotations"], features_dir=src["features"])
    assert layout.n_snippets.tolist() == [snippets[k] for k in layout.keys]
    assert np.array_equal(np.load(out), layout.frame_labels) and layout.frame_labels.any()
    capsys.readouterr()
    assert cli.main(["data", "audit", "--dataset", "xd", "--gt", str(out), "--list", str(src["test_list"]),
                     "--annotations-dir", str(src["annotations"].parent), "--features", str(src["features"])]) == 0
    assert capsys.readouterr().out.endswith("consistent\n")


def test_option_errors(counts, capsys):
    base = ["data", "export-gt", "--list", str(LIST), "--snippets", str(counts["snippet_file"]),
            "--out", str(counts["root"] / "x.npy")]
    assert cli.main(base + ["--convention", "decoded"]) == 2  # UCF-Crime: no conventions
    assert "takes no --convention" in capsys.readouterr().err
    assert cli.main(base[:2] + ["--dataset", "xd"] + base[2:] + ["--convention", "decoded"]) == 2
    assert "needs the decoded frame count" in capsys.readouterr().err
    assert cli.main(["data", "audit", "--dataset", "xd", "--gt", "x.npy", "--snippets", "s.txt"]) == 2
    assert "needs --list" in capsys.readouterr().err
