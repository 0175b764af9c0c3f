import pytest

from cbmil.data.ucf_crime import (CLASSES, NORMAL, TEST_COUNTS, TRAIN_COUNTS, class_of_key, count_by_class,
                             parse_test_annotations, parse_train_list, video_key)


def test_facts_table_totals_match_the_official_split():
    assert len(CLASSES) == 13
    assert sum(TRAIN_COUNTS[c] for c in CLASSES) == 810 and TRAIN_COUNTS[NORMAL] == 800
    assert sum(TEST_COUNTS[c] for c in CLASSES) == 140 and TEST_COUNTS[NORMAL] == 150


@pytest.mark.parametrize("spelling, key", [
    ("Normal_Videos_003_x264", "Normal_Videos_003_x264"),
    ("Normal_Videos003_x264.mp4", "Normal_Videos_003_x264"),
    ("Training_Normal_Videos_Anomaly/Normal_Videos003_x264.mp4", "Normal_Videos_003_x264"),
    ("Abuse028_x264_i3d.npy", "Abuse028_x264"),
    ("Abuse028_x264__0.npy", "Abuse028_x264"),
    ("Abuse028_x264__9.npy", "Abuse028_x264"),
    ("Abuse028_x264.txt", "Abuse028_x264"),
    (r"G:\UCF_Test_ten_crop_i3d\Abuse028_x264_i3d.npy", "Abuse028_x264"),
    ("/data/UCF_Train_ten_crop_i3d/Normal_Videos308_x264_i3d.npy", "Normal_Videos_308_x264"),
    ("Normal_Videos_1003_x264.mp4", "Normal_Videos_1003_x264"),
])
def test_every_public_spelling_resolves_to_one_key(spelling, key):
    assert video_key(spelling) == key


def test_key_normalisation_is_idempotent():
    from hypothesis import given, strategies as st

    @given(st.sampled_from(CLASSES + ("Normal_Videos", "Normal_Videos_")), st.integers(0, 999),
           st.sampled_from(["", ".mp4", "_i3d.npy", "__3.npy", ".txt"]))
    def check(prefix, number, suffix):
        key = video_key(f"{prefix}{number:03d}_x264{suffix}")
        assert video_key(key) == key
        assert video_key(f"some/dir/{key}_i3d.npy") == key

    check()


def test_class_is_read_off_the_key():
    assert class_of_key("RoadAccidents123_x264") == "RoadAccidents"
    assert class_of_key("Normal_Videos_006_x264") == NORMAL
    with pytest.raises(ValueError, match="cannot tell the class"):
        class_of_key("Cooking001_x264")


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_test_annotations_parse_runs_of_spaces_and_missing_events(tmp_path):
    path = write(tmp_path, "ann.txt",
                 "Abuse028_x264.mp4  Abuse  165  240  -1  -1  \n"
                 "Arrest001_x264.mp4 Arrest 10 20   30 40\n"
                 "\n"
                 "Normal_Videos_003_x264.mp4  Normal  -1  -1  -1  -1  \n")
    records = parse_test_annotations(path)
    assert [r.key for r in records] == ["Abuse028_x264", "Arrest001_x264", "Normal_Videos_003_x264"]
    assert records[0].intervals == ((165, 240),)
    assert records[1].intervals == ((10, 20), (30, 40))
    assert records[2].label == NORMAL and records[2].intervals == ()


@pytest.mark.parametrize("line, message", [
    ("Abuse028_x264.mp4  Abuse  165  240  -1\n", "6 fields"),
    ("Abuse028_x264.mp4  Cooking  165  240  -1  -1\n", "got 'Cooking'"),
    ("Abuse028_x264.mp4  Abuse  240  165  -1  -1\n", "end >= start"),
    ("Abuse028_x264.mp4  Abuse  1a5  240  -1  -1\n", "integer frame numbers"),
    ("Abuse028_x264.mp4  Arson  165  240  -1  -1\n", "to match the video name"),
    ("Normal_Videos_003_x264.mp4  Normal  1  2  -1  -1\n", "no event"),
    ("Abuse028_x264.mp4  Abuse  -1  -1  -1  -1\n", "at least one event"),
])
def test_malformed_annotation_line_names_file_line_and_expectation(tmp_path, line, message):
    path = write(tmp_path, "ann.txt", "Abuse030_x264.mp4  Abuse  1275  1360  -1  -1  \n" + line)
    with pytest.raises(ValueError) as err:
        parse_test_annotations(path)
    text = str(err.value)
    assert str(path) in text and "line 2" in text and line.split()[0] in text and message in text


def test_train_list_parses_both_folders(tmp_path):
    path = write(tmp_path, "train.txt", "Abuse/Abuse001_x264.mp4\n"
                 "Training_Normal_Videos_Anomaly/Normal_Videos003_x264.mp4\n")
    records = parse_train_list(path)
    assert [(r.key, r.label) for r in records] == [("Abuse001_x264", "Abuse"), ("Normal_Videos_003_x264", NORMAL)]
    assert count_by_class(records)["Abuse"] == 1


@pytest.mark.parametrize("line, message", [
    ("Abuse001_x264.mp4", "'Class/Name_x264.mp4'"),
    ("Cooking/Cooking001_x264.mp4", "a class folder"),
    ("Arson/Abuse001_x264.mp4", "in folder Arson"),
])
def test_malformed_train_line_is_an_error(tmp_path, line, message):
    path = write(tmp_path, "train.txt", "Abuse/Abuse001_x264.mp4\n" + line + "\n")
    with pytest.raises(ValueError, match=message) as err:
        parse_train_list(path)
    assert "line 2" in str(err.value) and str(path) in str(err.value)
