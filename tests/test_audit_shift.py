"""`data audit` on a length-changing shift: one finding that names the video(s) where the frames
can lie, and the later videos compared at the new shift, not counted as differing one by one.

Built on the real test list from the split files shipped with the package
(``cbmil.data.ucf_crime.SPLIT_DIR``): the 290 official test videos in the annotation file's
order, T = floor(frames / 16) snippets each, so these tests run without CBMIL_DATA_DIR."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cbmil import cli
from cbmil.data.ucf_crime import (CLASSES, FRAMES_PER_SNIPPET, NORMAL, SPLIT_DIR, TEST_ANNOTATIONS, VideoRecord,
                                  parse_frame_counts)
from cbmil.interop import groundtruth as gtm

AMBIGUOUS, NEXT = "Explosion007_x264", "Explosion008_x264"


@pytest.fixture(scope="module")
def official():
    records = gtm.read_annotations(SPLIT_DIR / TEST_ANNOTATIONS)
    frames = parse_frame_counts(SPLIT_DIR / "frame_counts_test.txt")
    keys = list(records)
    counts = np.array([frames[k] // FRAMES_PER_SNIPPET for k in keys], dtype=np.int64)
    gt = gtm.expected_gt(keys, records, counts)
    offsets = np.concatenate([[0], np.cumsum(FRAMES_PER_SNIPPET * counts)])
    return {"records": records, "keys": keys, "counts": counts, "gt": gt, "offsets": offsets}


def _audit(official, gt) -> dict:
    report = gtm.audit(gt.astype(np.float32), official["keys"], official["records"], official["counts"])
    assert json.loads(json.dumps(report)) == report
    return report


def _drop(gt, start: int, n: int = FRAMES_PER_SNIPPET) -> np.ndarray:
    return np.delete(gt, np.arange(start, start + n))


def _lines(report, prefix: str) -> list[str]:
    return [f for f in report["findings"] if f.startswith(prefix)]


def _tail_anomalous(official) -> int:
    """The first video whose last 16 frames are all anomalous and whose successor starts normal."""
    gt, off = official["gt"], official["offsets"]
    for u in range(len(official["keys"]) - 1):
        if gt[off[u + 1] - FRAMES_PER_SNIPPET:off[u + 1]].all() and not gt[off[u + 1]]:
            return u
    raise AssertionError("no test video ends inside an event")


def test_explosion007_cut_by_16_frames_is_one_shift_naming_both_videos(official):
    keys, gt, off = official["keys"], official["gt"], official["offsets"]
    v = keys.index(AMBIGUOUS)
    assert keys[v + 1] == NEXT
    assert not gt[off[v + 1] - 16:off[v + 1] + 16].any()  # why the labels cannot tell the two apart
    report = _audit(official, _drop(gt, off[v + 1] - 16))
    [shift] = report["shifts"]
    assert shift["frames"] == -16 and shift["shift"] == -16 and shift["holders"] == []
    assert [c["key"] for c in shift["candidates"]] == [AMBIGUOUS, NEXT]
    end_of_7, start_of_8 = shift["candidates"]
    # the 16 frames can be any 16 of the normal stretch between Explosion007's last event and
    # Explosion008's first one
    assert (end_of_7["place"], end_of_7["at_end"]) == ("end", True)
    assert end_of_7["first"] == official["records"][AMBIGUOUS].intervals[-1][1] + 1
    assert end_of_7["last"] == 16 * official["counts"][v] - 1
    assert (start_of_8["place"], start_of_8["first"]) == ("start", 0)
    assert start_of_8["last"] == official["records"][NEXT].intervals[0][0] - 1
    assert shift["first"] == off[v] + end_of_7["first"] and shift["last"] == off[v + 1] + start_of_8["last"]
    assert shift["videos_after"] == len(keys) - (v + 2)
    # no later video is counted as differing: they are compared 16 frames early
    assert report["videos_differing"] == [] and set(report["differing_by_kind"].values()) == {0}
    [line] = _lines(report, "shift:")
    assert AMBIGUOUS in line and NEXT in line and "cannot tell" in line and "16 frames missing" in line
    assert _lines(report, "videos:") == []
    length = report["findings"][0]
    assert len(report["findings"]) == 2 and length.startswith("length") and "(-16); the shift below" in length
    # the first video whose labels moved is Explosion008; the report points at both candidates
    assert report["first_mismatch"]["index"] == v + 1 and report["first_mismatch"]["shift"] == -16
    text = gtm.format_report(report)
    assert f"the frames can lie in {AMBIGUOUS} or {NEXT}" in text and text.endswith("2 findings")


def test_the_cli_reports_the_explosion007_shift(official, tmp_path, capsys):
    keys, gt, off = official["keys"], official["gt"], official["offsets"]
    v = keys.index(AMBIGUOUS)
    np.save(tmp_path / "gt.npy", _drop(gt, off[v + 1] - 16).astype(np.float32))
    (tmp_path / "test.list").write_text("".join(f"/data/UCF_Test_ten_crop_i3d/{k}_i3d.npy\n" for k in keys))
    (tmp_path / "snippets.txt").write_text("".join(f"{k} {t}\n" for k, t in zip(keys, official["counts"])))
    args = ["data", "audit", "--gt", str(tmp_path / "gt.npy"), "--list", str(tmp_path / "test.list"),
            "--annotations-dir", str(SPLIT_DIR), "--snippets", str(tmp_path / "snippets.txt")]
    assert cli.main([*args, "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [[c["key"] for c in s["candidates"]] for s in report["shifts"]] == [[AMBIGUOUS, NEXT]]
    assert report["videos_differing"] == []
    assert cli.main(args) == 1
    out = capsys.readouterr().out
    assert sum(line.startswith("- shift:") for line in out.splitlines()) == 1 and "- videos:" not in out


def test_frames_added_between_two_normal_stretches_name_both_videos(official):
    keys, gt, off = official["keys"], official["gt"], official["offsets"]
    v = keys.index(AMBIGUOUS)
    report = _audit(official, np.insert(gt, off[v + 1], np.zeros(16, dtype=gt.dtype)))
    [shift] = report["shifts"]
    assert shift["frames"] == 16 and [c["key"] for c in shift["candidates"]] == [AMBIGUOUS, NEXT]
    assert shift["candidates"][0]["at_end"] and report["videos_differing"] == []
    [line] = _lines(report, "shift:")
    assert "16 frames added" in line and "found 16 frames late" in line


def test_a_cut_inside_an_event_names_exactly_that_video(official):
    keys, gt, off, records = official["keys"], official["gt"], official["offsets"], official["records"]
    v = keys.index(AMBIGUOUS)
    s, e = records[AMBIGUOUS].intervals[0]
    assert e - s > 100
    report = _audit(official, _drop(gt, off[v] + s + 50))
    [shift] = report["shifts"]
    [only] = shift["candidates"]
    # 16 frames out of a run of anomalous frames: any 16 of the run, and only of this video
    assert (only["key"], only["place"], only["first"], only["last"]) == (AMBIGUOUS, "inside", s, e)
    assert shift["holders"] == [v] and shift["videos_after"] == len(keys) - v - 1
    assert [(d["key"], d["kind"]) for d in report["videos_differing"]] == [(AMBIGUOUS, "other")]
    [line] = _lines(report, "shift:")
    assert AMBIGUOUS in line and NEXT not in line and "cannot tell" not in line
    assert _lines(report, "videos:") == []  # the video is named once, by its shift


def test_a_video_that_ends_in_an_event_and_loses_its_last_16_frames_is_named_alone(official):
    keys, gt, off, records = official["keys"], official["gt"], official["offsets"], official["records"]
    u = _tail_anomalous(official)
    report = _audit(official, _drop(gt, off[u + 1] - 16))
    [shift] = report["shifts"]
    [only] = shift["candidates"]
    n = 16 * official["counts"][u]
    last_event = next(s for s, e in reversed(records[keys[u]].intervals) if e >= n - 1)
    assert (only["key"], only["place"], only["at_end"]) == (keys[u], "end", True)
    assert (only["first"], only["last"]) == (last_event, n - 1)
    assert shift["holders"] == [u] and shift["videos_after"] == len(keys) - u - 1
    assert report["videos_differing"] == [{"index": u, "key": keys[u], "label": records[keys[u]].label,
                                           "frames_differing": 16, "kind": "truncated_16"}]
    assert len(_lines(report, "shift:")) == 1 and _lines(report, "videos:") == []


@pytest.mark.parametrize("reading", [(0, -1), (-1, -1)])
def test_a_cut_in_an_array_read_off_by_one_throughout_is_still_one_shift(official, reading):
    """Every video read with an exclusive end, or 1-based, and Explosion007 cut by 16 frames: the
    off-by-one videos are compared under their reading on both sides of the cut."""
    keys, off, records, counts = official["keys"], official["offsets"], official["records"], official["counts"]
    v = keys.index(AMBIGUOUS)
    gt = np.concatenate([gtm._labels(records[k].intervals, 16 * t, *reading) for k, t in zip(keys, counts)])
    report = _audit(official, _drop(gt, off[v + 1] - 16))
    [shift] = report["shifts"]
    assert [c["key"] for c in shift["candidates"]] == [AMBIGUOUS, NEXT] and shift["holders"] == []
    assert shift["frames"] == -16 and shift["videos_after"] == len(keys) - (v + 2)
    moved = [i for i, (k, t) in enumerate(zip(keys, counts))  # the videos whose labels the reading changes
             if not np.array_equal(gtm._labels(records[k].intervals, 16 * t, *reading),
                                   gtm._labels(records[k].intervals, 16 * t))]
    assert len(moved) > 100 and [d["index"] for d in report["videos_differing"]] == moved
    assert report["differing_by_kind"] == {"truncated_16": 0, "off_by_one": len(moved), "other": 0}


def test_two_cuts_and_an_off_by_one_video_are_three_findings(official):
    keys, gt, off, records = official["keys"], official["gt"], official["offsets"], official["records"]
    u, v = _tail_anomalous(official), keys.index(AMBIGUOUS)
    w = next(i for i in range(v + 2, len(keys)) if records[keys[i]].intervals)  # an abnormal video after both
    assert u < v
    parts = np.split(gt, off[1:-1])
    parts[w] = gtm._labels(records[keys[w]].intervals, len(parts[w]), 0, -1)  # exclusive end
    parts[u], parts[v] = parts[u][:-16], parts[v][:-16]
    report = _audit(official, np.concatenate(parts))
    first, second = report["shifts"]
    assert (first["frames"], first["shift"], first["holders"]) == (-16, -16, [u])
    assert [c["key"] for c in first["candidates"]] == [keys[u]] and first["videos_after"] == v - u - 1
    assert (second["frames"], second["shift"], second["holders"]) == (-16, -32, [])
    assert [c["key"] for c in second["candidates"]] == [AMBIGUOUS, NEXT]
    assert [(d["key"], d["kind"]) for d in report["videos_differing"]] == [(keys[u], "truncated_16"),
                                                                          (keys[w], "off_by_one")]
    assert "(-32)" in report["findings"][0] and "the shifts below account for it" in report["findings"][0]
    assert len(_lines(report, "shift:")) == 2
    assert _lines(report, "videos:") == [f"videos: 1 differs from the annotations (off_by_one 1): {keys[w]}"]


# ----------------------------------------------------------------------------- any small list


@st.composite
def small_lists(draw):
    """Up to 6 listed videos, T in 1..12, 0-2 events each (some running past the video's end),
    the annotations in an order of their own."""
    n = draw(st.integers(1, 6))
    keys, records, counts = [], {}, []
    for i in range(n):
        label = draw(st.sampled_from(CLASSES + (NORMAL,)))
        key = f"Normal_Videos_{i:03d}_x264" if label == NORMAL else f"{label}{i:03d}_x264"
        t = draw(st.integers(1, 12))
        events = ()
        if label != NORMAL:
            starts = draw(st.lists(st.integers(0, 16 * t + 8), min_size=1, max_size=2))
            events = tuple((s, s + draw(st.integers(0, 60))) for s in sorted(starts))
        keys.append(key)
        counts.append(t)
        records[key] = VideoRecord(key, label, events)
    order = draw(st.permutations(keys))
    return keys, {k: records[k] for k in order}, counts


@settings(max_examples=50, deadline=None)
@given(small_lists())
def test_audit_of_any_export_gt_output_is_consistent(world):
    keys, records, counts = world
    gt = gtm.expected_gt(keys, records, counts)  # what `data export-gt` writes (as float32)
    report = gtm.audit(gt.astype(np.float32), keys, records, counts)
    assert report["consistent"] and report["findings"] == [] and report["shifts"] == []
    assert report["videos_differing"] == [] and report["first_mismatch"] is None


@settings(max_examples=50, deadline=None)
@given(small_lists(), st.data())
def test_16_frames_cut_anywhere_are_one_shift_whose_range_holds_them(world, data):
    keys, records, counts = world
    gt = gtm.expected_gt(keys, records, counts)
    c = data.draw(st.integers(0, len(gt) - 16), label="cut")
    report = gtm.audit(_drop(gt, c), keys, records, counts)
    assert not report["consistent"]
    if len(keys) == 1:  # one video 16 frames short is also every video counted as 16 * (T - 1) frames
        assert report["findings"][0].endswith("every video counted as 16 * (T - 1) frames")
        assert report["shifts"] == []
        return
    [shift] = report["shifts"]  # a cut in the last video too: the array's end lines up with the shift
    assert shift["frames"] == -16 and shift["first"] <= c and c + 15 <= shift["last"]
    assert len(_lines(report, "shift:")) == 1
    # the videos listed as differing are the ones that lose frames wherever the cut lies, or,
    # where the lost frames make a candidate look read off by one (an event's first or last
    # frame among them), that candidate
    candidates = {x["index"] for x in shift["candidates"]}
    assert set(shift["holders"]) <= candidates
    assert {d["index"] for d in report["videos_differing"]} - set(shift["holders"]) <= candidates
    assert all(d["kind"] == "off_by_one" for d in report["videos_differing"] if d["index"] not in shift["holders"])
