import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

from cbmil import cli
from cbmil.interop.groundtruth import read_annotations
from cbmil.interop.score import feature_source, load_model, read_models, read_video_features, save_models, score_video
from cbmil.train import RunSettings, TrainConfig, Trainer, paper_variants, score_snippets

MODEL = "CB-MIL 0.9999 / seed 1"


def train(data, **kw):
    cfg = TrainConfig(iterations=5, batch_size=6, **kw)
    return Trainer(data, paper_variants((0.9999,)), [0, 1], cfg, RunSettings(progress=False, device="cpu",
                                                                                precision="fp32")).run()


@pytest.fixture(scope="module")
def saved(tiny, tmp_path_factory):
    """A trained bank and its models file."""
    trainer = train(tiny)
    return trainer, save_models(trainer, tmp_path_factory.mktemp("models") / "models.pt")


def run_cli(capsys, *argv):
    code = cli.main(["score", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


# ---------------------------------------------------------------------- models on disk

@pytest.mark.parametrize("layer2", ["relu", "linear"])
def test_saved_models_score_as_the_bank(tiny, tmp_path, layer2):
    trainer = train(tiny, layer2=layer2)
    path = save_models(trainer, tmp_path / "sub" / "models.pt")
    state = torch.load(path, weights_only=True)  # plain values only
    assert state["names"] == trainer.model_names and state["layer2"] == layer2
    assert state["config"]["layer2"] == layer2 and state["seeds"] == [0, 1] and state["steps"] == 5
    assert [v["beta"] for v in state["variants"]] == [None, 0.9999]
    bank_scores = score_snippets(trainer.bank, tiny.test_snippets)  # [M, S]
    for m, name in enumerate(trainer.model_names):
        scorer = load_model(path, name)
        assert not scorer.training
        np.testing.assert_allclose(score_video(scorer, tiny.test_snippets), bank_scores[m], atol=1e-5, rtol=0)


def test_unknown_model_names_the_available_ones(saved):
    _, path = saved
    with pytest.raises(ValueError, match=r"no model named 'CB-MIL 0.99 / seed 0'.*'MIL / seed 0'.*'CB-MIL 0.9999 / seed 1'"):
        load_model(path, "CB-MIL 0.99 / seed 0")


def test_wrong_files_are_named(saved, tmp_path):
    trainer, _ = saved
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="corrupt.pt: unreadable model file"):
        read_models(corrupt)
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        load_model(tmp_path / "missing.pt", MODEL)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, other)
    with pytest.raises(ValueError, match="other.pt: not a cbmil models file"):
        read_models(other)
    state = trainer.state_dict()  # a training checkpoint, without its RNG states (weights_only refuses none)
    torch.save({k: state[k] for k in ("bank", "step", "seeds")}, tmp_path / "train.pt")
    with pytest.raises(ValueError, match="training checkpoint"):
        read_models(tmp_path / "train.pt")


# ---------------------------------------------------------------------- one video's features

def test_reads_a_ten_crop_file(ten_crop_folder):
    path = sorted(ten_crop_folder["test"].glob("*_i3d.npy"))[0]
    feats = read_video_features(path, dim=64)
    assert feats.dtype == np.float32 and feats.shape[1:] == (10, 64)
    np.testing.assert_array_equal(feats, np.load(path))


def test_reads_a_per_crop_file_with_its_siblings(tmp_path):
    rng = np.random.default_rng(0)
    crops = rng.standard_normal((7, 3, 16), dtype=np.float32)
    for k in range(3):
        np.save(tmp_path / f"Abuse001_x264__{k}.npy", crops[:, k])
    np.save(tmp_path / "Abuse0011_x264__0.npy", crops[:, 0])  # another video: not a sibling
    source = feature_source(tmp_path / "Abuse001_x264__2.npy")
    assert source.key == "Abuse001_x264" and source.layout == "per_crop" and len(source.paths) == 3
    np.testing.assert_array_equal(read_video_features(tmp_path / "Abuse001_x264__2.npy"), crops)
    (tmp_path / "Abuse001_x264__1.npy").unlink()
    with pytest.raises(ValueError, match=r"crop files \[0, 2\]"):
        read_video_features(tmp_path / "Abuse001_x264__0.npy")


def test_feature_dimension_is_checked(tmp_path):
    np.save(tmp_path / "Abuse001_x264.npy", np.zeros((5, 32), dtype=np.float32))
    with pytest.raises(ValueError, match=r"Abuse001_x264.npy: feature dimension 32; expected D = 64"):
        read_video_features(tmp_path / "Abuse001_x264.npy", dim=64)
    (tmp_path / "Abuse001_x264.csv").write_text("")
    with pytest.raises(ValueError, match="not a feature file"):
        read_video_features(tmp_path / "Abuse001_x264.csv")


# ---------------------------------------------------------------------- the command

def test_cli_scores_an_annotated_video(saved, ten_crop_folder, tmp_path, capsys):
    _, models = saved
    records = read_annotations(ten_crop_folder["annotations"])
    key = next(k for k, r in records.items() if r.intervals)
    features = ten_crop_folder["test"] / f"{key}_i3d.npy"
    out = tmp_path / "plots" / "timeline.png"
    code, stdout, _ = run_cli(capsys, "--checkpoint", models, "--model", MODEL, "--features", features,
                              "--annotations-dir", ten_crop_folder["annotations"], "--out", out, "--json")
    assert code == 0
    result = json.loads(stdout)  # stdout holds the JSON object only
    expected = score_video(load_model(models, MODEL), read_video_features(features))
    np.testing.assert_array_equal(np.array(result["snippet_scores"], dtype=np.float32), expected)
    assert result["video"] == key and result["model"] == MODEL and result["frames_per_snippet"] == 16
    assert result["annotated"] and result["events"] == [list(e) for e in records[key].intervals]
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_video_not_annotated_and_c3d_segments(saved, ten_crop_folder, tmp_path, capsys):
    _, models = saved
    source = sorted(ten_crop_folder["test"].glob("*_i3d.npy"))[0]
    stranger = tmp_path / "Abuse999_x264_i3d.npy"
    shutil.copy(source, stranger)
    code, stdout, _ = run_cli(capsys, "--checkpoint", models, "--model", MODEL, "--features", stranger,
                              "--annotations-dir", ten_crop_folder["annotations"], "--out", tmp_path / "a.png",
                              "--json")
    result = json.loads(stdout)
    assert code == 0 and not result["annotated"] and result["events"] is None
    segments = np.random.default_rng(1).standard_normal((32, 64)).astype(np.float32)
    np.savetxt(tmp_path / "Arson001_x264.txt", segments, fmt="%.6f")
    code, stdout, _ = run_cli(capsys, "--checkpoint", models, "--model", MODEL, "--features",
                              tmp_path / "Arson001_x264.txt", "--out", tmp_path / "c3d.png", "--json")
    result = json.loads(stdout)
    assert code == 0 and result["unit"] == "segment" and result["frames_per_snippet"] is None
    assert len(result["snippet_scores"]) == 32 and (tmp_path / "c3d.png").is_file()


def test_cli_dimension_mismatch_exits_2_naming_the_file(saved, tmp_path, capsys):
    _, models = saved
    np.save(tmp_path / "Abuse001_x264.npy", np.zeros((5, 32), dtype=np.float32))
    code, _, err = run_cli(capsys, "--checkpoint", models, "--model", MODEL, "--features",
                           tmp_path / "Abuse001_x264.npy", "--out", tmp_path / "t.png")
    assert code == 2 and "cbmil: error:" in err and "Abuse001_x264.npy" in err and "D = 64" in err
    code, _, err = run_cli(capsys, "--checkpoint", models, "--model", "nope", "--features",
                           tmp_path / "Abuse001_x264.npy")
    assert code == 2 and "MIL / seed 0" in err


def test_python_m_cbmil_score(saved, ten_crop_folder, tmp_path):
    _, models = saved
    features = sorted(ten_crop_folder["test"].glob("*_i3d.npy"))[-1]
    out = tmp_path / "timeline.png"
    done = subprocess.run([sys.executable, "-m", "cbmil", "score", "--checkpoint", str(models), "--model", MODEL,
                           "--features", str(features), "--out", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "timeline written to" in done.stdout and out.is_file()
