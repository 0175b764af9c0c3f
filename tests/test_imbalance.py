"""The imbalance dial: grid rows, cell statistics, the figure; losses x remedies."""

import csv
import filecmp
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from cbmil.study.imbalance import cell_statistics, figure, imbalance_dial, rare_third, run_cell, write_csv
from cbmil.data.synthetic import imbalanced_counts
from cbmil.eval import stats as seed_stats
from cbmil.train import RunSettings, TrainConfig
from cbmil.data.ucf_crime import CLASSES

REPO = Path(__file__).resolve().parents[1]

SMALL = {"test_counts": {c: 1 for c in CLASSES} | {"Normal": 3}, "max_snippets": 40}
CPU = RunSettings(progress=False, device="cpu", precision="fp32")


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    config = TrainConfig(iterations=3, batch_size=6)
    rows = []
    for level in ("uniform", "extreme"):
        for overlap in (0.0, 0.9):
            rows += run_cell("ci", level, overlap, (0.9999,), 3, config, settings=CPU, **SMALL)
    out = tmp_path_factory.mktemp("imbalance")
    write_csv(rows, out / "imbalance.csv")
    return rows, out


def test_csv_has_one_row_per_cell_method_and_world(grid):
    rows, out = grid
    with open(out / "imbalance.csv") as fh:
        table = list(csv.DictReader(fh))
    assert len(table) == 2 * 2 * 2 * 3  # levels x overlaps x (MIL, CB-MIL) x worlds
    for column in ["imbalance", "overlap", "loss", "remedy", "method", "beta", "world", "seed", "total_auc",
                   "mean_class_auc",
                   "rare_third_auc", "median_video_auc", "inside_above_share", "top_in_event_share"]:
        assert column in table[0]
    assert {f"auc_{c}" for c in CLASSES} <= set(table[0])
    for row in table:
        assert 0 <= float(row["total_auc"]) <= 1
        assert float(row["mean_class_auc"]) == pytest.approx(np.mean([float(row[f"auc_{c}"]) for c in CLASSES]))


def test_uniform_spreads_810_videos_evenly_and_extreme_keeps_the_total(grid):
    rows, _ = grid
    for level in ("uniform", "extreme"):
        row = next(r for r in rows if r["imbalance"] == level)
        counts = [row[f"train_{c}"] for c in CLASSES]
        assert sum(counts) == 810
        if level == "uniform":
            assert max(counts) - min(counts) <= 1  # 810 / 13 = 62.3: 62 or 63 each
        else:
            assert row["max_min_ratio"] > 40


def test_cell_statistics_pair_worlds_and_adjust_over_the_grid(grid):
    rows, _ = grid
    cells = cell_statistics(rows, (0.9999,))
    assert len(cells) == 4
    for cell in cells:
        mine = [r for r in rows if r["imbalance"] == cell["imbalance"] and r["overlap"] == cell["overlap"]]
        mil = sorted((r for r in mine if r["method"] == "MIL"), key=lambda r: r["world"])
        cb = sorted((r for r in mine if r["method"] != "MIL"), key=lambda r: r["world"])
        expected = np.mean([100 * (a["rare_third_auc"] - b["rare_third_auc"]) for a, b in zip(cb, mil)])
        assert cell["rare_third_auc_diff"] == pytest.approx(expected)
        assert cell["mean_class_auc_p_holm"] >= cell["mean_class_auc_p"]
    uniform = [c for c in cells if c["imbalance"] == "uniform"]
    extreme = [c for c in cells if c["imbalance"] == "extreme"]
    assert all(np.isfinite(c["mil_spearman_rho"]) for c in extreme)
    assert all(np.isnan(c["mil_spearman_rho"]) for c in uniform)  # counts differ by rounding only


def test_rare_third_are_the_four_least_frequent_classes():
    counts = imbalanced_counts("ucf")
    assert rare_third(counts) == ["Shooting", "Explosion", "Shoplifting", "Arson"]


def test_figure_draws_three_panels(grid):
    rows, _ = grid
    fig = figure(cell_statistics(rows, (0.9999,)), 0.9999, ["uniform", "extreme"], [0.0, 0.9], "SYNTHETIC test")
    assert len([ax for ax in fig.axes if ax.get_title()]) == 3


def test_replot_reads_the_csv_back_to_the_same_statistics(grid):
    from cbmil.study.imbalance import read_csv
    rows, out = grid
    again = read_csv(out / "imbalance.csv")
    assert [r["method"] for r in again] == [r["method"] for r in rows]
    first, second = cell_statistics(rows, (0.9999,)), cell_statistics(again, (0.9999,))
    for a, b in zip(first, second):
        assert a["imbalance"] == b["imbalance"] and a["overlap"] == b["overlap"]
        assert a["mean_class_auc_diff"] == pytest.approx(b["mean_class_auc_diff"])
        assert a["rare_third_auc_p_holm"] == pytest.approx(b["rare_third_auc_p_holm"], nan_ok=True)


def test_rank_correlation_gives_tied_counts_their_mean_rank(grid):
    """Training counts tie (UCF-Crime: 45 x 3, 29 x 2; the dial keeps the ties): the correlation
    must rank them equally (Spearman with average ranks), not in an arbitrary order."""
    from scipy.stats import rankdata
    rows, _ = grid
    cell = next(c for c in cell_statistics(rows, (0.9999,)) if c["imbalance"] == "extreme")
    mil = [r for r in rows if r["imbalance"] == "extreme" and r["overlap"] == cell["overlap"] and r["method"] == "MIL"]
    counts = np.array([mil[0][f"train_{c}"] for c in CLASSES])
    assert len(set(counts)) < len(counts)  # ties present
    auc = np.mean([[r[f"auc_{c}"] for c in CLASSES] for r in mil], axis=0)
    by_hand = np.corrcoef(rankdata(counts), rankdata(auc))[0, 1]  # Pearson of average ranks
    assert cell["mil_spearman_rho"] == pytest.approx(by_hand, abs=1e-12)
    arbitrary = np.corrcoef(np.argsort(np.argsort(counts)), np.argsort(np.argsort(auc)))[0, 1]
    assert arbitrary != pytest.approx(by_hand, abs=1e-6)  # breaking ties by position gives another number


def test_run_cell_adds_its_training_time_to_timing():
    config = TrainConfig(iterations=2, batch_size=6)
    timing = {}
    run_cell("ci", "uniform", 0.0, (0.9999,), 2, config, timing=timing, settings=CPU, **SMALL)
    first = timing["train_seconds"]
    run_cell("ci", "uniform", 0.0, (0.9999,), 2, config, timing=timing, settings=CPU, **SMALL)
    assert 0 < first < timing["train_seconds"]


# ------------------------------------------------------------------ losses x remedies

LEVELS, OVERLAPS, WORLDS = ("uniform", "extreme"), (0.0, 0.9), 3
#: the columns of imbalance.csv and imbalance_cells.csv before losses and remedies existed
OLD_ROW_COLUMNS = (["imbalance", "exponent", "max_min_ratio", "overlap", "method", "beta", "world", "seed",
                    "total_auc", "mean_class_auc", "rare_third_auc", "median_video_auc", "inside_above_share",
                    "top_in_event_share"] + [f"auc_{c}" for c in CLASSES] + [f"train_{c}" for c in CLASSES])


@pytest.fixture(scope="module")
def extended(tmp_path_factory):
    """The dial end to end: both losses x both remedies on the tiny grid of ``grid`` (3 steps)."""
    out = tmp_path_factory.mktemp("extended")
    result = imbalance_dial(levels=LEVELS, overlaps=OVERLAPS, worlds=WORLDS, iterations=3, out=out, settings=CPU,
                            losses=("ranking", "topk"), balance=("weights", "sampler"), quiet=True,
                            overrides=SMALL)
    return result, out


def test_losses_x_remedies_write_rows_cells_and_one_figure_per_loss(extended):
    result, out = extended
    with open(out / "imbalance.csv") as fh:
        table = list(csv.DictReader(fh))
    # cells x losses x (plain, CB-MIL, CB-sampler) x worlds
    assert len(table) == len(LEVELS) * len(OVERLAPS) * 2 * 3 * WORLDS
    assert set(OLD_ROW_COLUMNS) | {"loss", "remedy"} == set(table[0])
    assert {(r["loss"], r["remedy"], r["method"]) for r in table} == {
        (loss, remedy, method) for loss in ("ranking", "topk")
        for remedy, method in (("none", "MIL"), ("weights", "CB-MIL 0.9999"), ("sampler", "CB-sampler 0.9999"))}
    with open(out / "imbalance_cells.csv") as fh:
        cells = list(csv.DictReader(fh))
    assert len(cells) == 2 * 2 * len(LEVELS) * len(OVERLAPS)  # losses x remedies x cells (one beta)
    assert {"loss", "remedy", "mean_class_auc_p_holm", "rare_third_auc_p_holm", "mil_spearman_p_holm"} <= set(cells[0])
    run = json.loads((out / "imbalance_run.json").read_text())
    assert run["losses"] == ["ranking", "topk"] and run["balance"] == ["weights", "sampler"]
    # one figure per loss, named by loss; the default run's name (imbalance_0.9999.png) is not taken
    assert sorted(p.name for p in out.glob("*.png")) == ["imbalance_ranking_0.9999.png", "imbalance_topk_0.9999.png"]
    assert set(result.paths) == {"rows", "cells", "figure_ranking_0.9999", "figure_topk_0.9999"}


def test_sampler_rows_differ_from_weights_rows(extended):
    result, _ = extended
    for loss in ("ranking", "topk"):
        pick = lambda remedy: np.array([[r[f"auc_{c}"] for c in CLASSES] for r in result.rows
                                        if r["loss"] == loss and r["remedy"] == remedy])
        weights, sampler, plain = pick("weights"), pick("sampler"), pick("none")
        assert weights.shape == sampler.shape == plain.shape
        assert not np.allclose(sampler, weights) and not np.allclose(sampler, plain)
    ranking = np.array([r["mean_class_auc"] for r in result.rows if r["loss"] == "ranking" and r["remedy"] == "none"])
    topk = np.array([r["mean_class_auc"] for r in result.rows if r["loss"] == "topk" and r["remedy"] == "none"])
    assert not np.allclose(ranking, topk)  # the loss reaches the Trainer


def test_holm_families_are_per_loss_and_remedy(extended):
    result, _ = extended
    families = {}
    for c in result.cells:
        families.setdefault((c["loss"], c["remedy"]), []).append(c)
    assert set(families) == {(loss, remedy) for loss in ("ranking", "topk") for remedy in ("weights", "sampler")}
    for family in families.values():
        assert len(family) == len(LEVELS) * len(OVERLAPS)  # the grid, once
        for key in ("mean_class_auc", "rare_third_auc", "total_auc"):
            adjusted = seed_stats.holm([c[f"{key}_p"] for c in family])
            np.testing.assert_allclose([c[f"{key}_p_holm"] for c in family], adjusted)
    pooled = seed_stats.holm([c["mean_class_auc_p"] for c in result.cells])  # one family of 16 would differ
    assert not np.allclose(pooled, [c["mean_class_auc_p_holm"] for c in result.cells])
    # the plain model's correlation is one per loss and cell, the same in each remedy's row
    for loss in ("ranking", "topk"):
        w = [c["mil_spearman_rho"] for c in families[(loss, "weights")]]
        s = [c["mil_spearman_rho"] for c in families[(loss, "sampler")]]
        np.testing.assert_array_equal(w, s)


def test_differences_are_balanced_minus_the_same_losss_plain_model_paired_by_world(extended):
    result, _ = extended
    for c in result.cells:
        mine = [r for r in result.rows if (r["imbalance"], r["overlap"], r["loss"]) ==
                (c["imbalance"], c["overlap"], c["loss"])]
        plain = sorted((r for r in mine if r["remedy"] == "none"), key=lambda r: r["world"])
        balanced = sorted((r for r in mine if r["remedy"] == c["remedy"]), key=lambda r: r["world"])
        assert [r["world"] for r in plain] == [r["world"] for r in balanced] == list(range(WORLDS))
        expected = np.mean([100 * (a["mean_class_auc"] - b["mean_class_auc"]) for a, b in zip(balanced, plain)])
        assert c["mean_class_auc_diff"] == pytest.approx(expected)


def test_the_plain_model_is_trained_once_and_matches_the_default_run(extended):
    """The ranking loss's plain and CB-MIL rows of the extended run are the default run's (same
    worlds, seeds and Trainer); its sampler adds rows and changes none of them."""
    result, _ = extended
    default = run_cell("ci", "extreme", 0.9, (0.9999,), WORLDS, TrainConfig(iterations=3), settings=CPU, **SMALL)
    ranking = [r for r in result.rows if r["loss"] == "ranking" and r["remedy"] != "sampler"
               and r["imbalance"] == "extreme" and r["overlap"] == 0.9]
    assert len(ranking) == len(default) == 2 * WORLDS
    for a, b in zip(ranking, default):
        assert {k: a[k] for k in OLD_ROW_COLUMNS} == pytest.approx({k: b[k] for k in OLD_ROW_COLUMNS})
    assert sum(r["method"] == "MIL" for r in result.rows) == 2 * len(LEVELS) * len(OVERLAPS) * WORLDS  # once a loss


def test_sampler_alone_trains_a_plain_model_like_the_grids():
    """balance=("sampler",): the plain model trains alone; it matches the one trained beside CB-MIL
    (a model in a grid = the same alone, up to float rounding), so both remedies share a reference."""
    config = TrainConfig(iterations=3, batch_size=6)
    alone = run_cell("ci", "extreme", 0.0, (0.9999,), 2, config, settings=CPU, balance=("sampler",), **SMALL)
    both = run_cell("ci", "extreme", 0.0, (0.9999,), 2, config, settings=CPU, balance=("weights", "sampler"),
                    **SMALL)
    assert [r["method"] for r in alone] == ["MIL", "MIL", "CB-sampler 0.9999", "CB-sampler 0.9999"]
    for remedy in ("none", "sampler"):
        a = [r for r in alone if r["remedy"] == remedy]
        b = [r for r in both if r["remedy"] == remedy]
        for x, y in zip(a, b):
            assert x["world"] == y["world"]
            np.testing.assert_allclose([x[f"auc_{c}"] for c in CLASSES], [y[f"auc_{c}"] for c in CLASSES], atol=1e-6)


def test_default_rows_are_the_paper_studys_mil_and_cb_mil(grid):
    """The default cell trains exactly what it trained before losses and remedies: one
    :func:`cbmil.study.reproduction.run_study` of MIL + CB-MIL on the cell's worlds."""
    from cbmil.study.reproduction import run_study, synthetic_worlds
    rows, _ = grid
    config = TrainConfig(iterations=3, batch_size=6)
    counts = imbalanced_counts("extreme")
    worlds = synthetic_worlds("ci", [0, 1, 2], train_counts=counts, overlap=0.9, **SMALL)
    study = run_study(worlds, (0.9999,), [0, 1, 2], config, settings=CPU)
    mine = [r for r in rows if r["imbalance"] == "extreme" and r["overlap"] == 0.9]
    assert [r["method"] for r in mine] == ["MIL", "CB-MIL 0.9999"] * 3  # world by world, as before
    assert {r["loss"] for r in mine} == {"ranking"} and [r["remedy"] for r in mine] == ["none", "weights"] * 3
    for row, result in zip(mine, study.results):
        assert row["total_auc"] == result["total_auc"] and row["mean_class_auc"] == result["abnormal_auc"]
        assert [row[f"auc_{c}"] for c in CLASSES] == [result["per_class_auc"][c] for c in CLASSES]


def test_replot_of_the_committed_grid_rewrites_it_unchanged(tmp_path):
    """results/imbalance was written before losses and remedies: --replot reads it as the
    ranking loss re-weighted and writes its cells CSV byte for byte as committed, its figure
    under its old name with its old panels and caption."""
    committed = REPO / "results" / "imbalance"
    out = tmp_path / "imbalance"
    shutil.copytree(committed, out)
    result = imbalance_dial(out=out, figures=tmp_path / "figures", replot=True)
    assert filecmp.cmp(out / "imbalance_cells.csv", committed / "imbalance_cells.csv", shallow=False)
    assert filecmp.cmp(out / "imbalance.csv", committed / "imbalance.csv", shallow=False)  # read, not written
    assert [p.name for p in (tmp_path / "figures").glob("*.png")] == ["imbalance_0.9999.png"]
    assert {r["loss"] for r in result.rows} == {"ranking"} and {r["remedy"] for r in result.rows} == {"none",
                                                                                                       "weights"}


def test_default_figure_keeps_its_panels_and_caption(grid):
    from cbmil.study.imbalance import figure_label, figure_name
    rows, _ = grid
    run = {"preset": "ci", "worlds": 3, "iterations": 3}
    label = figure_label(run, "ranking")
    assert label == ("SYNTHETIC data (ci preset), 3 worlds x 3 steps per cell; paired 95 % t-intervals, "
                     "* = Holm-adjusted p < 0.05 over the grid")
    assert figure_name("ranking", 0.9999, ("ranking",), ("weights",)) == "imbalance_0.9999"
    fig = figure(cell_statistics(rows, (0.9999,)), 0.9999, list(LEVELS), list(OVERLAPS), label)
    assert [ax.get_title() for ax in fig.axes if ax.get_title()] == [
        "CB-MIL β=0.9999 − MIL,\nmean over classes (pp)", "CB-MIL β=0.9999 − MIL,\nrarest third of classes (pp)",
        "MIL: Spearman ρ of per-class AUC\nvs training count (Holm p)"]
    assert tuple(fig.get_size_inches()) == (12, 4.4)


def test_figure_of_a_loss_has_a_row_per_remedy_and_the_correlation_once(extended):
    import matplotlib.pyplot as plt
    from PIL import Image
    from cbmil.study.imbalance import figure_label
    result, out = extended
    fig = figure(result.cells, 0.9999, list(LEVELS), list(OVERLAPS), "caption", "topk")
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    plt.close(fig)
    assert len(titles) == 5  # 2 remedies x 2 differences + the plain model's rho once
    assert sum("Spearman" in t for t in titles) == 1
    assert any(t.startswith("CB top-3 MIL β=0.9999 − top-3 MIL") for t in titles)
    assert any(t.startswith("CB-sampled top-3 MIL β=0.9999 − top-3 MIL") for t in titles)
    # the caption (loss, remedies, worlds, steps) is no wider than the panels: same width as the default figure
    default = Image.open(REPO / "figures" / "imbalance_0.9999.png").size[0]
    for loss in ("ranking", "topk"):
        assert Image.open(out / f"imbalance_{loss}_0.9999.png").size[0] == pytest.approx(default, abs=40)
    caption = figure_label(result.run, "topk")
    for words in ("top-3 MIL", "class-balanced weights", "class-balanced re-sampling", f"{WORLDS} worlds",
                  "3 steps"):
        assert words in caption


def test_unknown_or_repeated_losses_and_remedies_are_refused_before_training(tmp_path):
    with pytest.raises(ValueError, match="losses"):
        imbalance_dial(losses=("hinge",), out=tmp_path, settings=CPU)
    with pytest.raises(ValueError, match="balance"):
        imbalance_dial(balance=("weights", "weights"), out=tmp_path, settings=CPU)
    with pytest.raises(ValueError, match="balance"):
        imbalance_dial(balance=(), out=tmp_path, settings=CPU)
    with pytest.raises(ValueError, match="sampler_beta"):
        run_cell("ci", "uniform", 0.0, (0.9999,), 2, TrainConfig(iterations=1, sampler_beta=0.9), settings=CPU, **SMALL)
    assert not any(tmp_path.iterdir())


def test_cli_passes_losses_and_remedies(monkeypatch):
    from cbmil import cli
    from cbmil.study import imbalance
    args = cli.build_parser().parse_args(["imbalance", "--losses", "ranking", "topk", "--balance", "weights",
                                          "sampler", "--out", "x"])
    assert args.losses == ["ranking", "topk"] and args.balance == ["weights", "sampler"]
    defaults = cli.build_parser().parse_args(["imbalance"])
    assert defaults.losses == ["ranking"] and defaults.balance == ["weights"]
    seen = {}

    class Done:
        paths = {}

        def summary(self):
            return ""

    monkeypatch.setattr(imbalance, "imbalance_dial", lambda **kw: seen.update(kw) or Done())
    assert args.func(args) == 0
    assert seen["losses"] == ["ranking", "topk"] and seen["balance"] == ["weights", "sampler"]
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["imbalance", "--balance", "oversample"])


def test_schedule_table_pairs_the_cells_two_runs_share(tmp_path):
    from cbmil import cli
    from cbmil.study.imbalance import schedule_markdown, schedule_table
    from cbmil.study.reproduction import write_csv

    def cell(level, overlap, diff, low, high, remedy="weights"):
        row = {"loss": "ranking", "remedy": remedy, "imbalance": level, "overlap": overlap, "beta": 0.9999}
        for q in ("mean_class_auc", "rare_third_auc"):
            row |= {f"{q}_diff": diff, f"{q}_ci_low": low, f"{q}_ci_high": high, f"{q}_p_holm": 0.5}
        return row

    for name, steps, cells in (("short", 250, [cell("ucf", 0.0, 1.5, 0.9, 2.1), cell("ucf", 0.9, -0.1, -0.3, 0.1),
                                                cell("uniform", 0.0, 0.1, -0.1, 0.2)]),
                               ("long", 1000, [cell("ucf", 0.0, 0.2, -0.4, 0.8), cell("ucf", 0.9, -1.0, -1.5, -0.5)])):
        (tmp_path / name).mkdir()
        write_csv(cells, tmp_path / name / "imbalance_cells.csv")
        (tmp_path / name / "imbalance_run.json").write_text(json.dumps({"iterations": steps}))
    table = schedule_table(tmp_path / "short", tmp_path / "long")
    assert len(table) == 4  # 2 shared cells x 2 quantities; the uniform cell is in one run only
    first = table[(table["overlap"].astype(float) == 0.0) & (table["quantity"] == "mean over classes")].iloc[0]
    assert (first["verdict_250"], first["verdict_1000"], first["survives"]) == ("+", "0", False)
    second = table[(table["overlap"].astype(float) == 0.9) & (table["quantity"] == "rarest third")].iloc[0]
    assert (second["verdict_250"], second["verdict_1000"]) == ("0", "-")
    text = schedule_markdown(table)
    assert "Δ at 250 steps" in text and "+1.50 [+0.90, +2.10] (0.50)" in text and text.count("| no |") == 4
    assert cli.main(["schedule", str(tmp_path / "short"), str(tmp_path / "long"), "--out", str(tmp_path / "s.md")]) == 0
    assert (tmp_path / "s.md").read_text().startswith("| loss |") and (tmp_path / "s.csv").is_file()
    with pytest.raises(ValueError, match="two schedules"):
        schedule_table(tmp_path / "short", tmp_path / "short")
