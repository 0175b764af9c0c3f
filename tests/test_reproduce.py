import csv
import json
import subprocess
import sys

import numpy as np
import pytest

from cbmil.study import paper
from cbmil.data.prepare import prepare
from cbmil.study.reproduction import run_study, table1_markdown, table2_markdown
from cbmil.data.synthetic import make_dataset
from cbmil.train import RunSettings, TrainConfig
from cbmil.data.ucf_crime import CLASSES

TINY = {c: 4 for c in CLASSES} | {"Normal": 40}
TINY_TEST = {c: 1 for c in CLASSES} | {"Normal": 3}
CPU = RunSettings(progress=False, device="cpu")


@pytest.fixture(scope="module")
def study():
    data = make_dataset("ci", seed=0, train_counts=TINY, test_counts=TINY_TEST, max_snippets=60)
    cfg = TrainConfig(iterations=8, batch_size=6)
    return run_study(data, betas=(0.99, 0.9999), seeds=(0, 1, 2), config=cfg, label="SYNTHETIC test", settings=CPU)


def test_tables_have_a_row_per_method_and_class(study):
    t2 = study.table2()
    assert [r["method"] for r in t2] == ["MIL", "CB-MIL 0.99", "CB-MIL 0.9999"]
    assert t2[0]["abnormal_diff"] is None and t2[1]["abnormal_diff"] is not None
    assert (t2[0]["paper_abnormal"], t2[0]["paper_total"]) == paper.TABLE2[None]
    for r in t2:
        assert 0 <= r["abnormal_mean"] <= 100 and 0 <= r["total_mean"] <= 100
    t1 = study.table1()
    assert [r["class"] for r in t1] == list(CLASSES) + ["mean of classes"]
    assert t1[0]["paper_change_0.9999"] == paper.TABLE1["Abuse"][1]
    assert "paper_change_0.99" not in t1[0]


def test_paired_difference_is_the_mean_of_per_seed_differences(study):
    t2 = study.table2()
    expected = (100 * (study.abnormal[:, 2] - study.abnormal[:, 0])).mean()
    assert t2[2]["abnormal_diff"] == pytest.approx(expected)
    assert t2[2]["abnormal_ci_low"] <= expected <= t2[2]["abnormal_ci_high"]


def test_markdown_labels_the_source_and_keeps_paper_columns_apart(study):
    md2 = table2_markdown(study.table2(), study.label)
    md1 = table1_markdown(study.table1(), [0.99, 0.9999], study.label)
    assert "SYNTHETIC test" in md2 and "paper Abnormal %" in md2 and "76.22" in md2
    assert md1.count("\n|") == 2 + len(CLASSES) + 1
    assert "paper Δ β=0.9999" in md1 and "paper Δ β=0.99 " not in md1


def test_cli_reproduce_on_a_prepared_ten_crop_cache(tmp_path, ten_crop_folder):
    d = ten_crop_folder
    cache = prepare(d["train"], d["test"], d["annotations"], tmp_path / "cache", progress=False)
    out = tmp_path / "results"
    run = subprocess.run([sys.executable, "-m", "cbmil", "reproduce", "--data", str(cache), "--seeds", "2",
                          "--iterations", "4", "--betas", "0.9", "0.999", "--out", str(out),
                          "--figures", str(tmp_path / "figs"), "--quiet", "--batch-size", "3"],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    for name in ("table1_per_class.csv", "table1_per_class.md", "table2_beta.csv", "table2_beta.md", "runs.json"):
        assert (out / name).is_file(), name
    runs = json.loads((out / "runs.json").read_text())
    assert len(runs["runs"]) == 2 * 3 and runs["config"]["iterations"] == 4
    for r in runs["runs"]:
        assert 0 <= r["total_auc"] <= 1
    with open(out / "table2_beta.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["method"] for r in rows] == ["MIL", "CB-MIL 0.9", "CB-MIL 0.999"]
    assert (tmp_path / "figs" / "reproduce_change_vs_beta.png").is_file()


@pytest.fixture(scope="module")
def world_study():
    from cbmil.study.reproduction import synthetic_worlds
    worlds = synthetic_worlds("ci", [0, 1, 2], train_counts=TINY, test_counts=TINY_TEST, max_snippets=60)
    cfg = TrainConfig(iterations=8, batch_size=6)
    return run_study(worlds, betas=(0.9999,), seeds=(0, 1, 2), config=cfg, label="SYNTHETIC worlds", settings=CPU)


def test_world_per_seed_study_records_its_design_and_localisation(world_study, tmp_path):
    from cbmil.study.reproduction import write_outputs
    assert world_study.design == "one world per seed" and world_study.snippet_scores is None
    paths = write_outputs(world_study, tmp_path, figures=None)
    runs = json.loads(paths["runs"].read_text())
    assert runs["design"] == "one world per seed" and runs["world_seeds"] == [0, 1, 2]
    assert runs["config"]["iterations"] == 8 and "device" not in runs["config"]  # what defines the models
    assert runs["settings"]["device"] == "cpu" and runs["settings"]["precision"] in ("fp32", "bf16")  # how they ran
    assert [r["world"] for r in runs["runs"]] == [0, 0, 1, 1, 2, 2]
    for r in runs["runs"]:
        assert r["model"] == f"{r['method']} / seed {r['seed']}"
        for key in ("median_video_auc", "inside_above_share", "top_in_event_share", "per_class_localisation"):
            assert key in r
    md = paths["table2_md"].read_text()
    assert "median per-video AUC %" in md and "top snippet in event %" in md
    assert "Localisation per class, MIL" in paths["table1_md"].read_text()
    t2 = world_study.table2()
    assert t2[0]["median_video_auc_mean"] == pytest.approx(100 * world_study.localisation["median_video_auc"][:, 0].mean())


def test_saved_scores_re_evaluate_without_the_kit(world_study, tmp_path):
    from sklearn.metrics import roc_auc_score

    from cbmil.study.reproduction import write_scores
    paths = write_scores(world_study, tmp_path)
    assert [p.name for p in paths] == ["scores_world0.npz", "scores_world1.npz", "scores_world2.npz"]
    for w, path in enumerate(paths):
        z = np.load(path)
        assert z["snippet_scores"].dtype == np.float32 and z["snippet_scores"].shape == (2, z["test_offsets"][-1])
        assert list(z["model_names"]) == [f"MIL / seed {w}", f"CB-MIL 0.9999 / seed {w}"]
        assert z["test_frame_labels"].dtype == np.uint8 and len(z["test_frame_labels"]) == z["test_frame_offsets"][-1]
        assert len(z["test_keys"]) == len(z["test_classes"]) == len(z["test_n_frames"])
        for m in range(2):
            frames = np.repeat(z["snippet_scores"][m].astype(np.float64), 16)  # snippet protocol, by hand
            assert roc_auc_score(z["test_frame_labels"], frames) == pytest.approx(world_study.total[w, m], abs=1e-9)


def test_tables_carry_raw_and_holm_verdicts(study):
    from cbmil.eval.stats import holm
    t1 = study.table1()
    tags = ["0.99", "0.9999"]
    raw = [r[f"change_{t}_p"] for r in t1[:len(CLASSES)] for t in tags]
    expected = holm(raw)
    got = [r[f"change_{t}_p_holm"] for r in t1[:len(CLASSES)] for t in tags]
    np.testing.assert_allclose(np.array(got, dtype=float), expected)
    assert t1[-1]["change_0.99_p_holm"] is None  # the mean row is not in the family
    t2 = study.table2()
    family = holm([r[f"{k}_p"] for r in t2[1:] for k in ("abnormal", "total")])
    assert [r["abnormal_p_holm"] for r in t2[1:]] == pytest.approx(family[0::2].tolist())
    assert "Holm" in table2_markdown(t2, study.label) and "Holm" in table1_markdown(t1, [0.99, 0.9999], "x")


def test_tables_rebuild_from_runs_json(world_study, tmp_path):
    from cbmil.study.reproduction import Study, write_outputs
    paths = write_outputs(world_study, tmp_path / "a", figures=None)
    rebuilt = Study.from_runs(json.loads(paths["runs"].read_text()))
    assert rebuilt.design == world_study.design and rebuilt.seeds == world_study.seeds
    for a, b in zip(rebuilt.table2(), world_study.table2()):
        assert a["abnormal_diff"] == pytest.approx(b["abnormal_diff"]) and a["method"] == b["method"]
    assert rebuilt.table1()[0]["train_videos"] == world_study.table1()[0]["train_videos"]
    runs = json.loads(paths["runs"].read_text())
    verdicts = runs.pop("verdicts")  # as in a runs.json written before the verdicts
    paths["runs"].write_text(json.dumps(runs))
    out = tmp_path / "b"
    run = subprocess.run([sys.executable, "-m", "cbmil", "tables", str(paths["runs"]), "--out", str(out),
                          "--figures", "none"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert (out / "table1_per_class.md").read_text() == paths["table1_md"].read_text()
    assert json.loads((out / "runs.json").read_text())["verdicts"] == verdicts  # brought up to date in out
    assert "verdicts" not in json.loads(paths["runs"].read_text())  # the file it was rebuilt from is untouched
    from cbmil import cli
    assert cli.main(["tables", str(paths["runs"])]) == 0  # tables and figures default to the folder of runs.json
    assert (tmp_path / "a" / "reproduce_change_vs_beta.png").is_file()
    assert json.loads(paths["runs"].read_text())["verdicts"] == verdicts  # by default in place


def test_tables_rebuild_from_a_runs_json_written_before_v2(world_study, tmp_path):
    from cbmil.study.reproduction import Study, write_outputs
    runs = json.loads(write_outputs(world_study, tmp_path, figures=None)["runs"].read_text())
    for r in runs["runs"]:  # v1 files had no localisation and no counts
        for key in ("median_video_auc", "inside_above_share", "top_in_event_share", "per_class_localisation"):
            del r[key]
    del runs["counts"]
    old = Study.from_runs(runs)
    assert old.table2()[1]["abnormal_diff"] == pytest.approx(world_study.table2()[1]["abnormal_diff"])
    assert np.isnan(old.table2()[0]["median_video_auc_mean"])
    del runs["data"]["config"]
    with pytest.raises(ValueError, match="no per-class video counts"):
        Study.from_runs(runs)


@pytest.fixture(scope="module")
def picked_study():
    from cbmil.study.reproduction import synthetic_worlds
    worlds = synthetic_worlds("ci", [0, 1], train_counts=TINY, test_counts=TINY_TEST, max_snippets=60)
    cfg = TrainConfig(iterations=10, batch_size=6)
    return run_study(worlds, betas=(0.9999,), seeds=(0, 1), config=cfg, label="SYNTHETIC worlds",
                     settings=RunSettings(progress=False, device="cpu", eval_every=3))


def test_evaluating_during_training_changes_nothing_in_training(picked_study):
    from cbmil.study.reproduction import synthetic_worlds
    worlds = synthetic_worlds("ci", [0, 1], train_counts=TINY, test_counts=TINY_TEST, max_snippets=60)
    cfg = TrainConfig(iterations=10, batch_size=6)
    plain = run_study(worlds, betas=(0.9999,), seeds=(0, 1), config=cfg, label="x", settings=CPU)
    for a, b in zip(plain.world_scores, picked_study.world_scores):
        assert np.array_equal(a, b)  # bit-identical scores: the evaluations draw no random numbers
    assert picked_study.history["eval_step"] == [3, 6, 9, 10]  # every 3 steps and the last


def test_selection_bias_rows_and_table_column(picked_study, tmp_path):
    from cbmil.study.reproduction import Study, write_outputs
    rows = picked_study.selection_bias()
    assert [r["model"] for r in rows] == picked_study.model_names
    for m, r in enumerate(rows):
        s, v = divmod(m, 2)
        for key, finals in (("total", picked_study.total), ("abnormal", picked_study.abnormal)):
            assert r[f"best_{key}"] >= r[f"final_{key}"]
            assert r[f"final_{key}"] == pytest.approx(100 * finals[s, v], abs=1e-9)  # the last evaluation is the final model
            assert r[f"{key}_inflation"] == pytest.approx(r[f"best_{key}"] - r[f"final_{key}"])
            assert r[f"best_{key}_step"] in (3, 6, 9, 10)
    paths = write_outputs(picked_study, tmp_path, figures=None)
    with open(paths["selection_bias"]) as fh:
        written = list(csv.DictReader(fh))
    assert len(written) == 4 and all(float(r["best_total"]) >= float(r["final_total"]) for r in written)
    md = paths["table2_md"].read_text()
    assert "best − final Abn / Total (pp)" in md and "every 3 steps" in md
    t2 = picked_study.table2()
    inflation = np.array([r["abnormal_inflation"] for r in rows]).reshape(2, 2)
    assert t2[1]["abnormal_inflation_mean"] == pytest.approx(inflation[:, 1].mean())
    rebuilt = Study.from_runs(json.loads(paths["runs"].read_text()))
    assert rebuilt.selection_bias() == rows and rebuilt.eval_every == 3


def test_runs_json_carries_raw_and_holm_verdicts(picked_study, tmp_path):
    from cbmil.study.reproduction import write_outputs
    runs = json.loads(write_outputs(picked_study, tmp_path, figures=None)["runs"].read_text())
    families = {v["family"] for v in runs["verdicts"]}
    assert families == {"table2_auc", "table2_localisation", "table1_per_class"}
    per_class = [v for v in runs["verdicts"] if v["family"] == "table1_per_class"]
    assert len(per_class) == len(CLASSES)
    for v in runs["verdicts"]:
        assert set(v) >= {"p", "p_holm", "exceeds_noise", "exceeds_noise_holm"}
        if v["p"] is not None and v["p_holm"] is not None:
            assert v["p_holm"] >= v["p"] - 1e-12  # Holm never lowers a p-value


def test_every_comparison_comes_from_the_one_results_table(world_study):
    """Study.changes: the paired differences by groupby over results_table, Holm within each family."""
    from cbmil.eval.stats import holm, paired_difference
    from cbmil.study.reproduction import FAMILIES
    from cbmil.data.ucf_crime import CLASSES
    changes = world_study.changes()
    t = world_study.results_table
    def values(method, metric, cls):
        sel = t[(t.method == method) & (t.metric == metric) & (t["class"] == cls)].set_index("seed")
        return 100 * sel["value"].reindex(world_study.seeds).to_numpy()
    method = world_study.variants[1].name
    row = changes.loc[(method, "total_auc", "all")]
    expected = paired_difference(values(method, "total_auc", "all"), values("MIL", "total_auc", "all"))
    assert row["diff"] == expected["mean"] and row["p"] == expected["p_value"]
    sizes = changes.groupby("family").size().to_dict()
    assert sizes == {"table1_per_class": len(CLASSES), "table2_auc": 2, "table2_localisation": 3}
    family = changes[changes.family == "table1_per_class"]
    assert np.array_equal(family["p_holm"].to_numpy(), holm(family["p"].to_numpy()), equal_nan=True)
    assert changes.loc[(method, "auc", "mean of classes"), "family"] not in FAMILIES  # in no family
    # the tables and verdicts read these numbers
    assert world_study.table2()[1]["total_diff"] == row["diff"]
    verdict = next(v for v in world_study.verdicts() if v["metric"] == "total")
    assert verdict["p_holm"] == pytest.approx(row["p_holm"]) and verdict["family"] == "table2_auc"


def test_a_study_loads_back_with_its_scores(world_study, tmp_path):
    from cbmil.study import load_study
    from cbmil.study.reproduction import write_outputs, write_scores
    write_outputs(world_study, tmp_path, figures=None)
    write_scores(world_study, tmp_path)
    loaded = load_study(tmp_path)
    assert loaded.model_names == world_study.model_names and len(loaded.layouts) == 3
    for a, b in zip(loaded.world_scores, world_study.world_scores):
        np.testing.assert_array_equal(a, b.astype(np.float32))
    np.testing.assert_array_equal(loaded.layouts[1]["test_offsets"], world_study.worlds[1].test_offsets)
    assert loaded.table2()[1]["abnormal_diff"] == pytest.approx(world_study.table2()[1]["abnormal_diff"])
    (tmp_path / "scores_world1.npz").rename(tmp_path / "scores_world9.npz")  # a file of another run
    with pytest.raises(ValueError, match="one run"):
        load_study(tmp_path)
    with pytest.raises(FileNotFoundError, match="runs.json"):
        load_study(tmp_path / "empty")


# ----------------------------------------------------------------------------- --balance weights | sampler | none

IMBALANCED = {c: 2 + 2 * i for i, c in enumerate(CLASSES)} | {"Normal": 30}  # 2 ... 26 bags per class


def imbalanced_worlds(preset, seeds, **kw):
    """Stands in for synthetic_worlds in these tests: the small imbalanced world of each seed."""
    from conftest import tiny_world
    return [tiny_world(int(s), train_counts=IMBALANCED) for s in seeds]


def tiny_reproduce(out, **kw):
    from cbmil.study.reproduction import reproduce
    return reproduce(**{"seeds": 2, "iterations": 3, "batch_size": 6, "betas": (0.99,), "out": out,
                        "figures": "none", "settings": RunSettings(progress=False, device="cpu", precision="fp32"),
                        **kw})


def _same(a, b) -> bool:
    """Equal, nan equal to nan (table rows read back through JSON)."""
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b):
        return True
    return a == b


def assert_rows_equal(first: list[dict], second: list[dict]):
    assert len(first) == len(second)
    for a, b in zip(first, second):
        assert a.keys() == b.keys()
        for key in a:
            assert _same(a[key], b[key]), (key, a[key], b[key])


@pytest.mark.parametrize("loss", ["ranking", "topk"])
@pytest.mark.parametrize("balance, methods", [("weights", ["MIL", "CB-MIL 0.99"]),
                                              ("sampler", ["MIL", "CB-sampler 0.99"]), ("none", ["MIL"])])
def test_every_balance_with_every_loss(tmp_path, monkeypatch, balance, methods, loss):
    import cbmil.study.reproduction as reproduction
    monkeypatch.setattr(reproduction, "synthetic_worlds", imbalanced_worlds)
    study = tiny_reproduce(tmp_path, balance=balance, loss=loss)
    assert study.balance == balance and [r["method"] for r in study.table2()] == methods
    assert study.model_names == [f"{m} / seed {s}" for s in (0, 1) for m in methods]
    runs = json.loads((tmp_path / "runs.json").read_text())
    assert runs["balance"] == balance and runs["config"]["loss"] == loss and runs["config"]["sampler_beta"] is None
    assert [v["name"] for v in runs["variants"]] == methods
    with open(tmp_path / "table2_beta.csv") as fh:
        assert [r["method"] for r in csv.DictReader(fh)] == methods
    assert len(study.trainers) == (2 if balance == "sampler" else 1)
    assert all(t.config.loss == loss for t in study.trainers)
    label = (tmp_path / "table2_beta.md").read_text().splitlines()[0]
    assert ("re-sampling" in label) == (balance == "sampler") and ("MIL only" in label) == (balance == "none")
    assert ("top-3 MIL loss" in label) == (loss == "topk")
    for r in runs["runs"]:
        assert 0 <= r["total_auc"] <= 1


@pytest.fixture(scope="module")
def sampler_study(tmp_path_factory):
    import cbmil.study.reproduction as reproduction
    out = tmp_path_factory.mktemp("sampler")
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(reproduction, "synthetic_worlds", imbalanced_worlds)
        study = tiny_reproduce(out, seeds=3, iterations=4, betas=(0.9, 0.9999), balance="sampler", save_scores=True,
                               figures=out / "figures")
    return study, out


def test_a_sampler_study_writes_cb_sampler_rows_paired_with_mil(sampler_study):
    study, out = sampler_study
    methods = ["MIL", "CB-sampler 0.9", "CB-sampler 0.9999"]
    t2 = study.table2()
    assert [r["method"] for r in t2] == methods and [r["beta"] for r in t2] == [None, 0.9, 0.9999]
    # paired with MIL by seed, as CB-MIL is
    expected = (100 * (study.abnormal[:, 2] - study.abnormal[:, 0])).mean()
    assert t2[2]["abnormal_diff"] == pytest.approx(expected) and t2[0]["abnormal_diff"] is None
    # the paper published MIL's numbers, not re-sampling's
    assert (t2[0]["paper_abnormal"], t2[0]["paper_total"]) == paper.TABLE2[None]
    assert t2[1]["paper_abnormal"] is None and t2[2]["paper_total"] is None
    md2, md1 = (out / "table2_beta.md").read_text(), (out / "table1_per_class.md").read_text()
    assert "| CB-sampler 0.9999 |" in md2 and "| CB-sampler 0.9 |" in md2 and "re-sampling" in md2.splitlines()[0]
    assert "Δ β=0.9999 (pp)" in md1 and "paper Δ" not in md1 and "Seeds needed" not in md2
    assert "paper_change_0.9999" not in study.table1()[0]
    # Holm families as for CB-MIL: 2 AUCs, 3 localisation summaries and 13 classes per beta
    sizes = study.changes().groupby("family").size().to_dict()
    assert sizes == {"table2_auc": 4, "table2_localisation": 6, "table1_per_class": 26}
    assert {v["method"] for v in study.verdicts()} == set(methods[1:])
    assert (out / "figures" / "reproduce_change_vs_beta.png").is_file()


def test_a_sampler_study_is_one_trainer_per_row_with_its_own_draw(sampler_study):
    from cbmil.train import score_bank
    study, out = sampler_study
    mil, *samplers = study.trainers
    assert [t.config.sampler_beta for t in study.trainers] == [None, 0.9, 0.9999]
    assert [[v.name for v in t.variants] for t in study.trainers] == [
        ["MIL"], ["CB-sampler 0.9"], ["CB-sampler 0.9999"]]
    assert all(v.beta is None for t in study.trainers for v in t.variants)  # unit weights: the draw balances
    assert study.trainer is None and study.train_seconds == pytest.approx(sum(t.seconds for t in study.trainers))
    assert all(t.worlds[0] is mil.worlds[0] and t.seeds == [0, 1, 2] for t in samplers)  # same worlds and seeds
    # world_scores: per world, the models in the study's order s * V + v
    for v, trainer in enumerate(study.trainers):
        for s, scores in enumerate(score_bank(trainer.bank, trainer.worlds)):
            np.testing.assert_array_equal(study.world_scores[s][v], scores[0])
    runs = json.loads((out / "runs.json").read_text())
    assert runs["balance"] == "sampler"
    assert {name: c["sampler_beta"] for name, c in runs["configs"].items()} == {
        "MIL": None, "CB-sampler 0.9": 0.9, "CB-sampler 0.9999": 0.9999}
    assert [r["model"] for r in runs["runs"]] == study.model_names
    assert [r["world"] for r in runs["runs"]] == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert len(runs["history"]["loss"][-1]) == 9  # per logged step, every model in the study's order
    assert runs["history"]["loss"][-1][1::3] == study.trainers[1].history["loss"][-1]


def test_a_sampler_study_reads_back_identically(sampler_study, tmp_path):
    from cbmil.study import load_study
    from cbmil.study.reproduction import Study
    study, out = sampler_study
    for loaded in (load_study(out), Study.from_runs(json.loads((out / "runs.json").read_text()))):
        assert loaded.balance == "sampler" and loaded.model_names == study.model_names
        assert [(v.name, v.beta) for v in loaded.variants] == [(v.name, v.beta) for v in study.variants]
        assert_rows_equal(loaded.table2(), study.table2())
        assert_rows_equal(loaded.table1(), study.table1())
        assert loaded.verdicts() == study.verdicts()
        assert loaded.table2_markdown() == study.table2_markdown()
    loaded = load_study(out)
    assert len(loaded.world_scores) == 3
    for a, b in zip(loaded.world_scores, study.world_scores):
        np.testing.assert_array_equal(a, b.astype(np.float32))
    run = subprocess.run([sys.executable, "-m", "cbmil", "tables", str(out / "runs.json"), "--out", str(tmp_path),
                          "--figures", "none"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    for name in ("table1_per_class.md", "table2_beta.md", "table2_beta.csv"):
        assert (tmp_path / name).read_text() == (out / name).read_text(), name


def test_cli_balance_option_and_its_refusals(tmp_path, monkeypatch, capsys):
    import cbmil.study.reproduction as reproduction
    from cbmil import cli
    assert cli.build_parser().parse_args(["reproduce"]).balance == "weights"
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["reproduce", "--balance", "resample"])
    monkeypatch.setattr(reproduction, "synthetic_worlds", imbalanced_worlds)
    out = tmp_path / "out"
    assert cli.main(["reproduce", "--balance", "sampler", "--loss", "topk", "--seeds", "2", "--iterations", "2",
                     "--batch-size", "6", "--betas", "0.999", "--out", str(out), "--figures", "none", "--quiet",
                     "--device", "cpu", "--precision", "fp32", "--save-checkpoints"]) == 0
    printed = capsys.readouterr().out
    assert "| CB-sampler 0.999 |" in printed and "4 models x 2 steps in 2 runs" in printed
    runs = json.loads((out / "runs.json").read_text())
    assert runs["balance"] == "sampler" and runs["configs"]["CB-sampler 0.999"]["loss"] == "topk"
    from cbmil.interop.score import read_models
    assert read_models(out / "models.pt")["names"] == ["MIL / seed 0", "MIL / seed 1"]
    assert read_models(out / "models_CB-sampler_0.999.pt")["config"]["sampler_beta"] == 0.999
    # refused before any data is made
    monkeypatch.setattr(reproduction, "synthetic_worlds", lambda *a, **k: pytest.fail("data was made"))
    with pytest.raises(ValueError, match="balance must be one of 'weights', 'sampler', 'none'"):
        reproduction.reproduce(balance="resample", out=tmp_path)
    with pytest.raises(ValueError, match="use balance='sampler'"):
        reproduction.reproduce(config=TrainConfig(sampler_beta=0.9), out=tmp_path)


def test_run_study_docstring_example():
    import doctest

    from cbmil.study import reproduction
    finder = doctest.DocTestFinder()
    tests = [t for t in finder.find(reproduction) if t.name.endswith(".run_study")]
    assert len(tests) == 1 and tests[0].examples
    runner = doctest.DocTestRunner()
    runner.run(tests[0])
    assert runner.summarize(verbose=False).failed == 0
