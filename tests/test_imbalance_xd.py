"""The imbalance dial on the synthetic XD-Violence world: its levels, the cycled label sets, a tiny
grid's AP columns and Holm p, and the combinations it refuses."""

import csv
import filecmp
import json
import math
import shutil
from collections import Counter, defaultdict

import numpy as np
import pytest

from cbmil.data import synthetic, xd_violence as xd
from cbmil.data.synthetic import XD_IMBALANCE_LEVELS, imbalanced_counts
from cbmil.eval import stats as seed_stats
from cbmil.study.imbalance import DIALS, check_levels, imbalance_dial, rare_third, run_cell
from cbmil.train import RunSettings, TrainConfig

CPU = RunSettings(progress=False, device="cpu", precision="fp32")
#: few, short test videos (the training split is the level's: 1,905 violent + 2,049 normal)
SMALL = {"test_counts": {c: 2 for c in xd.CLASSES} | {"Normal": 4}, "max_snippets": 40}
VIOLENT = sum(xd.TRAIN_COUNTS[c] for c in xd.CLASSES)


def _violent(counts):
    return [counts[c] for c in xd.CLASSES]


@pytest.mark.parametrize("level", sorted(XD_IMBALANCE_LEVELS))
def test_every_level_keeps_1905_violent_and_2049_normal_videos(level):
    counts = imbalanced_counts(level, benchmark="xd_violence")
    assert list(counts) == list(xd.LABELS)
    assert sum(_violent(counts)) == VIOLENT == 1905
    assert counts["Normal"] == xd.TRAIN_COUNTS["Normal"] == 2049


def test_uniform_xd_and_extreme_levels():
    uniform = _violent(imbalanced_counts("uniform", benchmark="xd_violence"))
    assert max(uniform) - min(uniform) <= 1  # 1905 / 6 = 317.5
    assert imbalanced_counts("xd", benchmark="xd_violence") == xd.TRAIN_COUNTS  # exponent 1: its own counts
    assert imbalanced_counts(1.0, benchmark="xd_violence") == xd.TRAIN_COUNTS
    extreme = imbalanced_counts("extreme", benchmark="xd_violence")
    own = xd.TRAIN_COUNTS
    assert XD_IMBALANCE_LEVELS["extreme"] == pytest.approx(math.log(50) / math.log(445 / 36))
    assert max(_violent(extreme)) / min(_violent(extreme)) == pytest.approx(50, abs=1)  # 494 / 10 after rounding
    # same order of classes as XD-Violence's own split (Fighting most, Abuse least)
    assert sorted(xd.CLASSES, key=extreme.get) == sorted(xd.CLASSES, key=own.get)


def test_the_ucf_dial_is_unchanged_and_the_levels_are_per_benchmark():
    from cbmil.data import ucf_crime
    assert imbalanced_counts("ucf") == ucf_crime.TRAIN_COUNTS
    assert imbalanced_counts("ucf", benchmark="ucf_crime") == imbalanced_counts("ucf")
    with pytest.raises(ValueError, match="xd_violence"):
        imbalanced_counts("ucf", benchmark="xd_violence")
    with pytest.raises(ValueError, match="ucf_crime"):
        imbalanced_counts("xd")
    with pytest.raises(ValueError, match="benchmark"):
        imbalanced_counts("uniform", benchmark="kinetics")


def test_a_count_above_the_lists_cycles_through_its_real_label_sets():
    counts = imbalanced_counts("uniform", benchmark="xd_violence")  # Abuse: 317 videos, the list has 36
    keys = synthetic._xd_keys(synthetic.config("ci", "xd_violence", train_counts=counts), "train")
    listed = xd.train_videos()
    assert Counter(labels[0] for _, labels in keys) == Counter(counts)
    real = defaultdict(set)
    for video in listed:
        real[video.label].add(video.labels)
    assert all(labels in real[labels[0]] for _, labels in keys)  # a real label set of that first label
    assert all(xd.labels_of(key) == labels for key, labels in keys)  # the names carry the codes
    # the i-th Abuse video is the list's (i mod 36)-th: the list again, in its order
    abuse = [v.labels for v in listed if v.label == "Abuse"]
    ours = [labels for _, labels in keys if labels[0] == "Abuse"]
    assert len(abuse) == 36 and ours == [abuse[i % 36] for i in range(317)]
    first_normal = next(i for i, (_, labels) in enumerate(keys) if labels == ("Normal",))
    assert first_normal == VIOLENT and len(keys) == VIOLENT + 2049  # violent first, cycled ones included
    assert len({key for key, _ in keys}) == len(keys)


def test_counts_below_the_lists_keep_its_first_videos_and_its_own_counts_one_pass():
    listed = xd.train_videos()
    own = synthetic._xd_keys(synthetic.config("ci", "xd_violence"), "train")
    assert [labels for _, labels in own] == [v.labels for v in listed]
    few = {c: 3 for c in xd.LABELS}
    keys = synthetic._xd_keys(synthetic.config("ci", "xd_violence", train_counts=few), "train")
    for c in xd.LABELS:
        assert [labels for _, labels in keys if labels[0] == c] == [v.labels for v in listed if v.label == c][:3]


def test_rare_third_is_two_of_six_classes():
    assert rare_third(xd.TRAIN_COUNTS, "xd") == ["Abuse", "Explosion"]  # 36 and 314
    uniform = imbalanced_counts("uniform", benchmark="xd_violence")  # ties at 317 go to the rarer in XD-Violence
    assert rare_third(uniform, "xd") == ["Abuse", "Explosion"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("xd_imbalance")
    result = imbalance_dial(dataset="xd", levels=("uniform", "extreme"), overlaps=(0.0,), worlds=2, iterations=3,
                            out=out, settings=CPU, overrides=SMALL, quiet=True)
    return result, out


def test_tiny_dial_writes_the_ap_columns(tiny):
    result, out = tiny
    with open(out / "imbalance.csv") as fh:
        table = list(csv.DictReader(fh))
    assert len(table) == 2 * 2 * 2  # levels x (MIL, CB-MIL) x worlds
    header = set(table[0])
    assert {f"ap_{c}" for c in xd.CLASSES} | {"mean_class_ap", "rare_third_ap", "frame_ap", "total_auc"} <= header
    assert {f"train_{c}" for c in xd.CLASSES} | {f"train_any_{c}" for c in xd.CLASSES} <= header
    assert not any(k.startswith("auc_") or k.endswith("class_auc") or k == "rare_third_auc" for k in header)
    for row in table:
        ap = {c: float(row[f"ap_{c}"]) for c in xd.CLASSES}
        assert all(0 <= v <= 1 for v in ap.values())
        assert float(row["mean_class_ap"]) == pytest.approx(np.mean(list(ap.values())))
        assert float(row["rare_third_ap"]) == pytest.approx((ap["Abuse"] + ap["Explosion"]) / 2)
        counts = imbalanced_counts(row["imbalance"], benchmark="xd_violence")
        assert [int(row[f"train_{c}"]) for c in xd.CLASSES] == _violent(counts)
        assert all(int(row[f"train_any_{c}"]) >= int(row[f"train_{c}"]) for c in xd.CLASSES)
    run = json.loads((out / "imbalance_run.json").read_text())
    assert run["dataset"] == "xd" and run["benchmark"] == "xd_violence" and run["levels"] == ["uniform", "extreme"]


def test_tiny_dial_cells_carry_holm_p_over_the_grid(tiny):
    result, out = tiny
    cells = result.cells
    assert len(cells) == 2  # one loss x one remedy x 2 cells x 1 beta
    for key in DIALS["xd"].quantities:
        raw = [c[f"{key}_p"] for c in cells]
        assert [c[f"{key}_p_holm"] for c in cells] == pytest.approx(list(seed_stats.holm(raw)))
        assert all(c[f"{key}_p_holm"] >= c[f"{key}_p"] for c in cells)
        assert all(c[f"{key}_excludes_0_holm"] == (c[f"{key}_p_holm"] < 0.05) for c in cells)
    uniform = next(c for c in cells if c["imbalance"] == "uniform")
    extreme = next(c for c in cells if c["imbalance"] == "extreme")
    assert math.isnan(uniform["mil_ap_spearman_rho"])  # 317 or 318 each: no ranking
    assert -1 <= extreme["mil_ap_spearman_rho"] <= 1 and extreme["max_min_ratio"] == pytest.approx(49.4)
    # the change is "CB-MIL - MIL" of the same worlds
    mil = sorted((r for r in result.rows if r["imbalance"] == "extreme" and r["remedy"] == "none"),
                 key=lambda r: r["world"])
    cb = sorted((r for r in result.rows if r["imbalance"] == "extreme" and r["remedy"] == "weights"),
                key=lambda r: r["world"])
    assert extreme["mean_class_ap_diff"] == pytest.approx(
        100 * np.mean([b["mean_class_ap"] - a["mean_class_ap"] for a, b in zip(mil, cb)]))
    with open(out / "imbalance_cells.csv") as fh:
        header = next(csv.reader(fh))
    assert {"mil_mean_class_ap", "mil_rare_third_ap", "mil_ap_spearman_p_holm", "frame_ap_p_holm"} <= set(header)
    assert "SYNTHETIC XD-Violence" in result.summary()


def test_tiny_dial_figure_says_xd_violence_and_synthetic_and_replots_unchanged(tiny, tmp_path):
    import matplotlib.pyplot as plt
    from cbmil.study.imbalance import figure, figure_label
    result, out = tiny
    assert result.paths["figure_0.9999"].name == "xd_imbalance_0.9999.png"
    label = figure_label(result.run, "ranking")
    assert "SYNTHETIC XD-Violence" in label and "per-class AP" in label
    fig = figure(result.cells, 0.9999, ["uniform", "extreme"], [0.0], label)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert "XD-Violence" in fig._suptitle.get_text()
    plt.close(fig)
    assert len(titles) == 3 and all("AP" in t for t in titles) and not any("AUC" in t for t in titles)
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    again = imbalance_dial(out=copy, figures="none", replot=True)  # the run's own dataset
    assert again.run["dataset"] == "xd"
    assert filecmp.cmp(copy / "imbalance_cells.csv", out / "imbalance_cells.csv", shallow=False)


def test_wrong_combinations_are_refused_before_any_world(tiny, tmp_path, capsys):
    from cbmil import cli
    _, out = tiny
    with pytest.raises(ValueError, match=r"'ucf' is UCF-Crime's own counts \(--dataset ucf\)"):
        imbalance_dial(dataset="xd", levels=("ucf",), out=tmp_path / "a", settings=CPU)
    with pytest.raises(ValueError, match=r"'xd' is XD-Violence's own counts \(--dataset xd\)"):
        imbalance_dial(levels=("xd",), out=tmp_path / "a", settings=CPU)
    with pytest.raises(ValueError, match="dataset must be one of"):
        imbalance_dial(dataset="kinetics", out=tmp_path / "a", settings=CPU)
    with pytest.raises(ValueError, match="XD-Violence grid"):
        imbalance_dial(dataset="ucf", out=out, replot=True)
    with pytest.raises(ValueError, match="benchmark"):
        run_cell("ci", "uniform", 0.0, (0.9999,), 1, TrainConfig(iterations=1), settings=CPU, dataset="xd",
                 benchmark="ucf_crime", **SMALL)
    assert check_levels(["uniform", "xd", 2], "xd") == ["uniform", "xd", "2"]
    assert cli.main(["imbalance", "--dataset", "xd", "--levels", "ucf", "--device", "cpu",
                     "--out", str(tmp_path / "cli")]) == 2
    assert "XD-Violence" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_cli_passes_the_dataset_and_each_dataset_has_its_own_folder(monkeypatch):
    from cbmil import cli
    from cbmil.study import imbalance
    args = cli.build_parser().parse_args(["imbalance", "--dataset", "xd"])
    assert args.dataset == "xd" and args.levels is None and args.out is None
    seen = {}

    class Done:
        paths = {}

        def summary(self):
            return ""

    monkeypatch.setattr(imbalance, "imbalance_dial", lambda **kw: seen.update(kw) or Done())
    assert args.func(args) == 0
    assert seen["dataset"] == "xd" and seen["levels"] is None and seen["out"] is None
    assert imbalance.DEFAULT_OUT == {"ucf": "results/imbalance", "xd": "results/xd_violence/imbalance"}
    assert DIALS["xd"].default_levels == ("uniform", "xd", "extreme")
    assert cli.build_parser().parse_args(["imbalance"]).dataset is None  # a new run: UCF-Crime
