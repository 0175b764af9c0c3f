"""The imbalance dial: grid rows, cell statistics, the figure."""

import csv

import numpy as np
import pytest

from cbmil.study.imbalance import cell_statistics, figure, rare_third, run_cell, write_csv
from cbmil.data.synthetic import imbalanced_counts
from cbmil.train import RunSettings, TrainConfig
from cbmil.data.ucf_crime import CLASSES

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
    for column in ["imbalance", "overlap", "method", "beta", "world", "seed", "total_auc", "mean_class_auc",
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
