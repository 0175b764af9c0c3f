"""XD-Violence facts and parsers (cbmil.data.xd_violence), checked against the shipped public files."""

import fnmatch
import tomllib
from pathlib import Path

import numpy as np
import pytest

from cbmil.data import frames
from cbmil.data import xd_violence as xd

# Real names from the public lists, one per label form.
MULTI = "Bad.Boys.1995__#01-11-55_01-12-40_label_G-B2-B6"
SINGLE = "Bad.Boys.1995__#00-26-51_00-27-53_label_B2-0-0"
NORMAL = "wangted.2008__#01-26-25_01-27-00_label_A"


@pytest.fixture(scope="module", name="train")
def videos_train():
    return xd.train_videos()


@pytest.fixture(scope="module", name="test")
def videos_test():
    return xd.test_videos()


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def crops(key, which=range(5), folder="/feat/RGB/"):
    return "".join(f"{folder}{key}__{k}.npy\n" for k in which)


def assert_names(err, path, line, *parts):
    text = str(err.value)
    assert str(path) in text and f"line {line}:" in text, text
    for part in parts:
        assert part in text, text


# ----------------------------------------------------------------------------- the facts

def test_facts_tables_are_consistent():
    assert xd.LABELS == xd.CLASSES + (xd.NORMAL,) and xd.LABELS[xd.NORMAL_INDEX] == xd.NORMAL
    assert set(xd.CODES.values()) == set(xd.LABELS) and xd.CODES["A"] == xd.NORMAL
    for table in (xd.TRAIN_COUNTS, xd.TEST_COUNTS, xd.TRAIN_COUNTS_ANY, xd.TEST_COUNTS_ANY):
        assert list(table) == list(xd.LABELS)
    assert sum(xd.TRAIN_COUNTS.values()) == 3954 and xd.TRAIN_COUNTS[xd.NORMAL] == 2049
    assert sum(xd.TEST_COUNTS.values()) == 800 and xd.TEST_COUNTS[xd.NORMAL] == 300
    assert max(xd.TRAIN_COUNTS[c] for c in xd.CLASSES) == 445 and min(xd.TRAIN_COUNTS[c] for c in xd.CLASSES) == 36


def test_count_tables_are_recounted_from_the_shipped_lists(train, test):
    assert xd.count_by_class(train) == xd.TRAIN_COUNTS
    assert xd.count_by_class(test) == xd.TEST_COUNTS
    assert xd.count_by_class(train, any_label=True) == xd.TRAIN_COUNTS_ANY
    assert xd.count_by_class(test, any_label=True) == xd.TEST_COUNTS_ANY
    assert sum(len(v.labels) > 1 for v in train) == 243 and sum(len(v.labels) > 1 for v in test) == 47


def test_lists_hold_five_crops_per_video_violent_first_and_disjoint(train, test):
    for videos, name in ((train, xd.TRAIN_LIST), (test, xd.TEST_LIST)):
        n_lines = sum(1 for line in (xd.LIST_DIR / name).read_text().splitlines() if line.strip())
        assert n_lines == xd.N_CROPS * len(videos)
        violent = [v.is_anomalous for v in videos]
        n_violent = sum(violent)
        assert violent == [True] * n_violent + [False] * (len(videos) - n_violent)
    assert (len(train), len(test)) == (3954, 800)
    assert not {v.key for v in train} & {v.key for v in test}


def test_two_training_names_carry_an_unpadded_single_code(train):
    unpadded = {v.key.rsplit("_label_", 1)[1]: v.labels for v in train
                if v.is_anomalous and "-" not in v.key.rsplit("_label_", 1)[1]}
    assert unpadded == {"B1": ("Fighting",), "G": ("Explosion",)}


def test_test_videos_carry_the_annotations(test):
    violent = [v for v in test if v.is_anomalous]
    assert len(violent) == 500
    assert all(v.intervals and len(v.interval_classes) == len(v.intervals) and v.class_intervals for v in violent)
    assert all(not v.intervals and not v.class_intervals for v in test if not v.is_anomalous)
    assert all(0 <= s < e for v in violent for s, e in v.intervals)


def test_annotation_files_have_500_lines_and_14_stray_mp4_names():
    for name in (xd.ANNOTATIONS, xd.ANNOTATIONS_MULTICLASS):
        text = (xd.LIST_DIR / name).read_text()
        lines = text.splitlines()
        assert len(lines) == 500 and not text.endswith("\n")
        assert sum(line.split()[0].endswith(".mp4") for line in lines) == 14
    assert len(xd.parse_annotations(xd.LIST_DIR / xd.ANNOTATIONS)) == 500
    assert len(xd.parse_multiclass_annotations(xd.LIST_DIR / xd.ANNOTATIONS_MULTICLASS)) == 500


def test_key_matching_finds_the_lines_the_public_substring_match_finds(test):
    """The public builders take the first annotation line containing the name; for the shipped
    files that is always the video's own line, and no normal video's name is in any line."""
    lines = (xd.LIST_DIR / xd.ANNOTATIONS).read_text().splitlines()
    for video in test:
        hits = [line for line in lines if video.key in line]
        if video.is_anomalous:
            assert len(hits) == 1 and xd.video_key(hits[0].split()[0]) == video.key
        else:
            assert hits == []


def test_known_disagreements_are_recomputed_from_the_shipped_files(test):
    plain = xd.parse_annotations(xd.LIST_DIR / xd.ANNOTATIONS)
    classed = xd.parse_multiclass_annotations(xd.LIST_DIR / xd.ANNOTATIONS_MULTICLASS)
    labels = {v.key: v.labels for v in test}
    recut, disagree = set(), set()
    for key, intervals in plain.items():
        theirs = [(s, e) for _, s, e in classed[key]]
        if list(intervals) != theirs:
            recut.add(key)
        if (xd._covered(intervals) != xd._covered(theirs)
                or not {c for c, _, _ in classed[key]} <= set(labels[key])):
            disagree.add(key)
    assert len(recut) == 28
    assert disagree == set(xd.KNOWN_DISAGREEMENTS)
    # Read end-exclusive without closing one-frame gaps, 4 more videos differ by one frame each:
    # the multiclass file re-cut (s, e) there as (s, m) (m + 1, e).
    one_frame = set()
    for key in recut - disagree:
        n = max(e for _, _, e in classed[key])
        mine = xd.frame_ground_truth(plain[key], n)
        theirs = xd.frame_ground_truth([(s, e) for _, s, e in classed[key]], n)
        if (mine != theirs).any():
            assert int((mine != theirs).sum()) == 1 and (mine >= theirs).all()
            one_frame.add(key)
    assert len(one_frame) == 4


def test_interval_classes_are_the_multiclass_ones_where_the_files_list_the_same_intervals(test):
    by_key = {v.key: v for v in test}
    for video in by_key.values():
        if video.is_anomalous and [(s, e) for _, s, e in video.class_intervals] == list(video.intervals):
            assert video.interval_classes == tuple(c for c, _, _ in video.class_intervals)
    recut = by_key["Casino.Royale.2006__#00-18-30_00-19-20_label_G-B2-0"]
    assert recut.intervals == ((261, 580),)
    assert recut.class_intervals == (("Shooting", 261, 293), ("Explosion", 293, 580))
    assert recut.interval_classes == ("Explosion",)  # the class of most of its frames


def test_shipped_files_are_unchanged_copies_of_the_data_folder(data_dir):
    folder = data_dir / "xd_violence"
    if not folder.is_dir():
        pytest.skip(f"{data_dir} has no xd_violence/ folder")
    for name in (xd.TRAIN_LIST, xd.TEST_LIST, xd.ANNOTATIONS, xd.ANNOTATIONS_MULTICLASS):
        assert (xd.LIST_DIR / name).read_bytes() == (folder / name).read_bytes(), name


def test_package_data_ships_every_file_of_the_folder():
    root = Path(__file__).resolve().parents[1]
    patterns = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["cbmil.data"]
    package = root / "cbmil" / "data"
    shipped = sorted(p.relative_to(package).as_posix() for p in xd.LIST_DIR.iterdir())
    assert len(shipped) == 5
    for name in shipped:
        assert any(fnmatch.fnmatch(name, pattern) for pattern in patterns), name


# ----------------------------------------------------------------------------- names and labels

@pytest.mark.parametrize("spelling", [
    MULTI, MULTI + ".mp4", MULTI + "__0.npy", MULTI + "__4", f"/media/x/RGBTest/{MULTI}__3.npy",
    f"D:\\xd\\RGBTest\\{MULTI}__2.npy", f"  {MULTI}.mp4 ",
])
def test_every_spelling_resolves_to_one_key(spelling):
    assert xd.video_key(spelling) == MULTI
    assert xd.video_key(xd.video_key(spelling)) == MULTI


def test_empty_name_is_an_error():
    with pytest.raises(ValueError, match="empty video name"):
        xd.video_key("  ")


@pytest.mark.parametrize("name, labels", [
    (MULTI, ("Explosion", "Shooting", "CarAccident")),
    (SINGLE, ("Shooting",)),
    ("x__#1_label_B1-B5-0", ("Fighting", "Abuse")),
    ("v=4FzhVu2PR8Y__#1_label_B1", ("Fighting",)),
    ("v=l0N5tPaagbc__#1_label_G__3.npy", ("Explosion",)),
    (NORMAL, ("Normal",)),
])
def test_labels_are_read_off_the_name_in_code_order(name, labels):
    assert xd.labels_of(name) == labels


@pytest.mark.parametrize("name, why", [
    ("x__#1_label_B3-0-0", "unknown code 'B3'"),
    ("x__#1_label_b1-0-0", "unknown code 'b1'"),
    ("x__#1_label_B1--0", "unknown code ''"),
    ("x__#1_label_A-B1-0", "'A' (normal) next to other codes"),
    ("x__#1_label_A-0-0", "'A' (normal) next to other codes"),
    ("x__#1_label_B1-B1-0", "code 'B1' repeated"),
    ("x__#1_label_B1-0-B2", "class code 'B2' after a 0 pad"),
    ("x__#1_label_0-B1-0", "a 0 pad where the first class code belongs"),
    ("x__#1_label_B1-B2-B4-B5", "4 codes"),
    ("x__#1_B1-0-0", "no '_label_' part"),
])
def test_bad_label_names_the_name_and_the_expected_form(name, why):
    with pytest.raises(ValueError) as err:
        xd.labels_of(name)
    text = str(err.value)
    assert name in text and why in text and "'_label_B2-G-0'" in text and "'_label_A'" in text


def test_video_record_properties():
    video = xd.XDVideo(MULTI, xd.labels_of(MULTI))
    assert video.label == "Explosion" and video.is_anomalous and video.class_index == 5
    assert video.class_set.tolist() == [False, True, False, False, True, True]
    normal = xd.XDVideo(NORMAL, ("Normal",))
    assert not normal.is_anomalous and normal.class_index == xd.NORMAL_INDEX and not normal.class_set.any()
    sets, first = xd.class_sets([video, normal]), xd.first_classes([video, normal])
    assert sets.dtype == bool and sets.shape == (2, 6) and sets[0].sum() == 3
    assert first.dtype == np.int64 and first.tolist() == [5, 6]
    assert xd.class_sets([]).shape == (0, 6)
    with pytest.raises(ValueError, match="stands alone"):
        xd.XDVideo(NORMAL, ("Normal", "Riot"))
    with pytest.raises(ValueError, match="one class per interval"):
        xd.XDVideo(SINGLE, ("Shooting",), ((1, 2), (3, 4)), ("Shooting",))


# ----------------------------------------------------------------------------- feature lists

def test_list_parses_crops_with_either_separator_in_order(tmp_path):
    path = write(tmp_path, "rgb.list", crops(MULTI) + "\n" + crops(NORMAL, folder="C:\\feat\\RGB\\"))
    videos = xd.parse_list(path)
    assert [(v.key, v.labels) for v in videos] == [(MULTI, ("Explosion", "Shooting", "CarAccident")),
                                                    (NORMAL, ("Normal",))]


@pytest.mark.parametrize("text, line, expectation", [
    (crops(MULTI, [0, 1, 2, 3]) + crops(SINGLE), 5, "crop __4 of video " + MULTI),          # a crop missing
    (crops(MULTI, [0, 1, 1, 2, 3, 4]), 3, "crop __2 of video " + MULTI),                     # a crop twice
    (crops(MULTI, [0, 2, 1, 3, 4]), 2, "crop __1 of video " + MULTI),                        # out of order
    (crops(MULTI, [1, 2, 3, 4, 0]), 1, "crop __0 of a new video"),                           # no __0 first
    (crops(MULTI) + crops(SINGLE, [0, 1, 2]), 8, "crops __3..__4 of video " + SINGLE),       # list stops
    (crops(MULTI) + crops(MULTI), 6, f"each video once; {MULTI} is already listed from line 1"),
    (crops(MULTI) + "/feat/RGB/" + MULTI + "__5.npy\n", 6, "crop K in 0..4"),
    (crops(MULTI) + "/feat/RGB/" + MULTI + ".npy\n", 6, "a feature file"),
    (crops(MULTI) + crops("x__#1_label_B9-0-0"), 6, "unknown code 'B9'"),
])
def test_malformed_list_names_file_line_and_expectation(tmp_path, text, line, expectation):
    path = write(tmp_path, "rgb.list", text)
    with pytest.raises(ValueError) as err:
        xd.parse_list(path)
    assert_names(err, path, line, "expected", expectation)


# ----------------------------------------------------------------------------- annotation files

def test_annotations_parse_stray_mp4_trailing_spaces_and_a_last_line_without_newline(tmp_path):
    path = write(tmp_path, "ann.txt", f"{MULTI}.mp4 157 180  185 244 \n\n{SINGLE} 0 10")
    assert xd.parse_annotations(path) == {MULTI: ((157, 180), (185, 244)), SINGLE: ((0, 10),)}
    path = write(tmp_path, "mc.txt", f"{MULTI}.mp4 B2 157 180 G 185 244\n{SINGLE} B2 0 10")
    assert xd.parse_multiclass_annotations(path) == {MULTI: (("Shooting", 157, 180), ("Explosion", 185, 244)),
                                                     SINGLE: (("Shooting", 0, 10),)}


@pytest.mark.parametrize("line, expectation", [
    (f"{MULTI} 157 180 185", "an even number (at least 2) of frame numbers, got 3"),
    (f"{MULTI}", "an even number (at least 2) of frame numbers, got 0"),
    (f"{MULTI} 157 1a0", "integer frame numbers"),
    (f"{MULTI} 180 180", "0 <= start < end"),
    (f"{MULTI} 180 157", "0 <= start < end"),
    (f"{MULTI} -5 157", "0 <= start < end"),
    (f"{NORMAL} 0 10", "violent videos only"),
    ("x__#1_label_B1-B1-0 0 10", "code 'B1' repeated"),
    (f"{SINGLE}.mp4 5 6", f"{SINGLE} is already on line 1"),
])
def test_malformed_annotation_line_names_file_line_and_expectation(tmp_path, line, expectation):
    path = write(tmp_path, "ann.txt", f"{SINGLE} 0 10\n{line}\n")
    with pytest.raises(ValueError) as err:
        xd.parse_annotations(path)
    assert_names(err, path, 2, "expected", expectation)


@pytest.mark.parametrize("line, expectation", [
    (f"{MULTI} B2 157 180 G 185", "groups of three"),
    (f"{MULTI} 157 180 B2", "class codes from B1 B2 B4 B5 B6 G, got '157'"),
    (f"{MULTI} A 157 180", "got 'A'"),
    (f"{MULTI} B2 180 157", "0 <= start < end"),
    (f"{SINGLE} B2 5 6", f"{SINGLE} is already on line 1"),
])
def test_malformed_multiclass_line_names_file_line_and_expectation(tmp_path, line, expectation):
    path = write(tmp_path, "mc.txt", f"{SINGLE} B2 0 10\n{line}\n")
    with pytest.raises(ValueError) as err:
        xd.parse_multiclass_annotations(path)
    assert_names(err, path, 2, "expected", expectation)


def small_split(tmp_path, plain, classed, videos=(MULTI, SINGLE, NORMAL)):
    write(tmp_path, xd.TEST_LIST, "".join(crops(v) for v in videos))
    write(tmp_path, xd.ANNOTATIONS, plain)
    write(tmp_path, xd.ANNOTATIONS_MULTICLASS, classed)
    return tmp_path


def test_test_videos_attach_intervals_and_classes(tmp_path):
    folder = small_split(tmp_path, f"{MULTI} 157 180 185 244\n{SINGLE} 0 10\n",
                         f"{MULTI} B2 157 180 G 185 200 G 201 244\n{SINGLE} B2 0 10\n")
    multi, single, normal = xd.test_videos(folder)
    assert multi.intervals == ((157, 180), (185, 244)) and multi.interval_classes == ("Shooting", "Explosion")
    assert len(multi.class_intervals) == 3  # re-cut at 200/201: the same frames, one-frame gap closed
    assert single.interval_classes == ("Shooting",) and normal.intervals == ()


@pytest.mark.parametrize("plain, classed, expectation", [
    (f"{MULTI} 157 180\n", f"{MULTI} B2 157 180\n{SINGLE} B2 0 10\n", f"{SINGLE} has no line in"),
    (f"{MULTI} 157 180\n{SINGLE} 0 10\nother__#1_label_B1-0-0 1 2\n", f"{MULTI} B2 157 180\n{SINGLE} B2 0 10\n",
     "1 annotated videos are not in rgb_test.list (first: other__#1_label_B1-0-0)"),
    (f"{MULTI} 157 180\n{SINGLE} 0 10\n", f"{MULTI} B2 157 190\n{SINGLE} B2 0 10\n", "expected the same frames"),
    (f"{MULTI} 157 180\n{SINGLE} 0 10\n", f"{MULTI} B2 157 180\n{SINGLE} B1 0 10\n",
     "class Fighting; expected classes of its labels B2"),
])
def test_test_videos_reject_annotation_files_that_disagree(tmp_path, plain, classed, expectation):
    folder = small_split(tmp_path, plain, classed)
    with pytest.raises(ValueError, match="expected") as err:
        xd.test_videos(folder)
    assert expectation in str(err.value)


# ----------------------------------------------------------------------------- frame ground truth

def test_frame_ground_truth_is_end_exclusive_and_clipped():
    gt = xd.frame_ground_truth([(2, 4), (6, 20)], 8)
    assert gt.dtype == np.uint8 and gt.tolist() == [0, 0, 1, 1, 0, 0, 1, 1]
    assert xd.frame_ground_truth([], 3).tolist() == [0, 0, 0]
    # The kit's UCF-Crime reading is inclusive: the same interval marks one frame more there.
    assert frames.frame_ground_truth([(2, 4)], 8).sum() == xd.frame_ground_truth([(2, 4)], 8).sum() + 1
    for bad in ([(4, 4)], [(5, 4)], [(-1, 4)]):
        with pytest.raises(ValueError, match="0 <= start < end"):
            xd.frame_ground_truth(bad, 8)


def test_frame_ground_truth_of_the_real_test_videos(test):
    lengths = [xd.gt_length(max(e for _, e in v.intervals) // 16 + 1) for v in test if v.is_anomalous]
    marked = sum(int(xd.frame_ground_truth(v.intervals, n).sum())
                 for v, n in zip((v for v in test if v.is_anomalous), lengths))
    assert marked == sum(e - s for v in test for s, e in v.intervals)  # disjoint intervals, none cut


def test_gt_length_conventions():
    assert xd.GT_CONVENTIONS == ("snippets", "decoded")
    assert xd.gt_length(10) == xd.gt_length(10, "snippets") == 160
    for n in range(1, 200):
        length = xd.gt_length(0, "decoded", decoded_frames=n)
        assert length == 16 * ((n - 1) // 16) and length <= n - 1 and length % 16 == 0
    assert xd.gt_length(10, "decoded", decoded_frames=161) == 160 == xd.gt_length(10, "decoded", decoded_frames=176)
    assert xd.gt_length(10, "decoded", decoded_frames=177) == 176
    with pytest.raises(ValueError, match="needs decoded_frames"):
        xd.gt_length(10, "decoded")
    with pytest.raises(ValueError, match="only by convention 'decoded'"):
        xd.gt_length(10, "snippets", decoded_frames=161)
    with pytest.raises(ValueError, match="unknown ground-truth convention"):
        xd.gt_length(10, "frames")
