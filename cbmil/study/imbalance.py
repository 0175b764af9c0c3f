"""``cbmil imbalance``: the paper's subject as a dial. When does balancing the classes help?

The study of :mod:`cbmil.study.reproduction` asks whether CB-MIL helps the rare classes at one point:
UCF-Crime's imbalance and one ``overlap`` of the class signatures. This command maps a grid of
synthetic worlds that differ only in

* the **imbalance of the training split** (:func:`cbmil.data.synthetic.imbalanced_counts`): the 810
  abnormal training videos spread uniformly, as in UCF-Crime, or more extremely (max/min about
  50), same order of classes; test split unchanged;
* **overlap**: how much the anomaly classes share one direction of evidence (0 = every class has
  its own, 1 = all look alike).

In every cell it trains MIL and CB-MIL (each beta) on ``worlds`` synthetic worlds, one per seed
(seed i draws world i, all methods of that seed share it: paired), and evaluates every model.

Outputs (``--out``):

* ``imbalance.csv``: one row per (cell, method, world/seed): per-class AUC (``auc_<Class>``),
  ``mean_class_auc`` (the paper's Abnormal AUC), ``rare_third_auc`` (mean over the rarest
  third of the classes in that cell's training split), ``total_auc`` and the localisation
  summaries of :func:`cbmil.eval.metrics.localisation`.
* ``imbalance_cells.csv``: per cell and beta, the paired difference CB-MIL - MIL (mean, 95 %
  t-interval, raw p-value and Holm-adjusted p-value over the cells of the grid, for the mean
  over classes and for the rarest third), and for MIL alone the Spearman rank correlation
  (``scipy.stats.spearmanr``, ties averaged) of per-class AUC against training count, with its
  p-value (per-class AUCs averaged over worlds first; undefined, ``nan``, at the uniform level,
  where counts differ by at most the one video of rounding).
* ``imbalance_<beta>.png`` (in ``--figures``): heat maps of those three quantities.

Nothing in the generator depends on a class's training count (:mod:`cbmil.data.synthetic`): any
effect of frequency comes out of training. All numbers are SYNTHETIC.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
from scipy import stats

from cbmil.eval import stats as seed_stats
from cbmil import plots
from cbmil.study.reproduction import read_csv as read_csv_rows, run_study, synthetic_worlds, write_csv
from cbmil.data.synthetic import IMBALANCE_LEVELS, imbalanced_counts
from cbmil.train import RunSettings, TrainConfig, check_settings
from cbmil.data.ucf_crime import CLASSES, TRAIN_COUNTS

LOCALISATION_KEYS = ("median_video_auc", "inside_above_share", "top_in_event_share")


def rare_third(counts: dict[str, int]) -> list[str]:
    """The rarest third of the 13 classes (4 classes) by training count; ties go to the class
    that is rarer in UCF-Crime's own split, then to the earlier name (a fixed order)."""
    order = sorted(CLASSES, key=lambda c: (counts[c], TRAIN_COUNTS[c], c))
    return order[:len(CLASSES) // 3]


def run_cell(preset: str, level: str | float, overlap: float, betas, n_worlds: int, config: TrainConfig,
             first_world: int = 0, timing: dict | None = None, settings: RunSettings | None = None,
             **overrides) -> list[dict]:
    """Train and evaluate one cell; return one row per (method, world). ``overrides``: other
    generator parameters (e.g. a small ``test_counts`` in tests). ``timing``: if given, its
    ``"train_seconds"`` grows by the cell's training time (worlds and evaluation excluded)."""
    counts = imbalanced_counts(level)
    world_seeds = list(range(first_world, first_world + n_worlds))
    worlds = synthetic_worlds(preset, world_seeds, train_counts=counts, overlap=overlap, **overrides)
    study = run_study(worlds, betas, world_seeds, config, settings=settings or RunSettings(progress=False))
    if timing is not None:
        timing["train_seconds"] = timing.get("train_seconds", 0.0) + study.trainer.seconds
    variants, results = study.variants, study.results
    rare = rare_third(counts)
    ratio = max(counts[c] for c in CLASSES) / min(counts[c] for c in CLASSES)
    rows = []
    for i, result in enumerate(results):
        w, v = divmod(i, len(variants))
        variant = variants[v]
        per_class = result["per_class_auc"]
        row = {"imbalance": level if isinstance(level, str) else f"{level:g}",
               "exponent": IMBALANCE_LEVELS[level] if isinstance(level, str) else float(level),
               "max_min_ratio": ratio, "overlap": overlap, "method": variant.name,
               "beta": "" if variant.beta is None else variant.beta, "world": world_seeds[w], "seed": world_seeds[w],
               "total_auc": result["total_auc"], "mean_class_auc": result["abnormal_auc"],
               "rare_third_auc": float(np.mean([per_class[c] for c in rare]))}
        row.update({k: result[k] for k in LOCALISATION_KEYS})
        row.update({f"auc_{c}": per_class[c] for c in CLASSES})
        row.update({f"train_{c}": counts[c] for c in CLASSES})
        rows.append(row)
    return rows


def cell_statistics(rows: list[dict], betas) -> list[dict]:
    """Per cell and beta: paired CB-MIL - MIL differences (pp) with Holm over the cells, and
    MIL's rank correlation of per-class AUC with training count."""
    cells = sorted({(r["imbalance"], r["overlap"]) for r in rows}, key=lambda k: (str(k[0]), k[1]))
    out = []
    for level, overlap in cells:
        in_cell = [r for r in rows if r["imbalance"] == level and r["overlap"] == overlap]
        mil = sorted((r for r in in_cell if r["method"] == "MIL"), key=lambda r: r["world"])
        # MIL: per-class AUC (mean over worlds) against training count
        auc = np.mean([[r[f"auc_{c}"] for c in CLASSES] for r in mil], axis=0)
        counts = [mil[0][f"train_{c}"] for c in CLASSES]
        if max(counts) - min(counts) > 1 and np.isfinite(auc).all():  # uniform (62 or 63 each): no ranking
            rho, p_rho = stats.spearmanr(counts, auc)
        else:
            rho, p_rho = math.nan, math.nan
        for beta in betas:
            cb = sorted((r for r in in_cell if r["beta"] == beta), key=lambda r: r["world"])
            row = {"imbalance": level, "max_min_ratio": mil[0]["max_min_ratio"], "overlap": overlap, "beta": beta,
                   "worlds": len(mil), "mil_mean_class_auc": 100 * np.mean([r["mean_class_auc"] for r in mil]),
                   "mil_rare_third_auc": 100 * np.mean([r["rare_third_auc"] for r in mil]),
                   "mil_spearman_rho": float(rho), "mil_spearman_p": float(p_rho)}
            for key in ("mean_class_auc", "rare_third_auc", "total_auc"):
                diff = seed_stats.paired_difference([100 * r[key] for r in cb], [100 * r[key] for r in mil])
                row.update({f"{key}_diff": diff["mean"], f"{key}_ci_low": diff["ci_low"],
                            f"{key}_ci_high": diff["ci_high"], f"{key}_p": diff["p_value"]})
            out.append(row)
    for beta in betas:  # Holm within each beta's grid, one family per quantity
        family = [r for r in out if r["beta"] == beta]
        for key in ("mean_class_auc", "rare_third_auc", "total_auc"):
            adjusted = seed_stats.holm([r[f"{key}_p"] for r in family])
            for r, p in zip(family, adjusted):
                r[f"{key}_p_holm"] = float(p)
                r[f"{key}_excludes_0_holm"] = bool(p < 0.05)
        adjusted = seed_stats.holm([r["mil_spearman_p"] for r in family])
        for r, p in zip(family, adjusted):
            r["mil_spearman_p_holm"] = float(p)
    return out


def read_csv(path: str | Path) -> list[dict]:
    """Rows of an ``imbalance.csv`` with their numbers as numbers (to redo statistics and figures)."""
    return read_csv_rows(path, text={"imbalance", "method"},
                         integer=lambda key: key in ("world", "seed") or key.startswith("train_"))


def figure(cells: list[dict], beta: float, levels, overlaps, label: str):
    """Three heat maps over (imbalance, overlap): CB-MIL - MIL on the mean over classes and on the
    rarest third (pp; * = Holm-adjusted p < 0.05 over the grid), and MIL's Spearman rho (p
    Holm-adjusted over the grid): one family of p-values, Holm's, in every panel."""
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns

    table = pd.DataFrame(cells)
    table = table[table["beta"] == beta].set_index(["imbalance", "overlap"])
    cell = lambda column: table[column].unstack("overlap").reindex(index=list(levels), columns=list(overlaps))
    # 12 in wide: at the README's width (~880 px) its 9 pt cell text stays about 10 px high
    fig, axes = plt.subplots(1, 3, figsize=(12, 4.4), sharey=True, layout="constrained")
    panels = (("mean_class_auc", f"CB-MIL β={beta:g} − MIL,\nmean over classes (pp)"),
              ("rare_third_auc", f"CB-MIL β={beta:g} − MIL,\nrarest third of classes (pp)"),
              ("mil_spearman_rho", "MIL: Spearman ρ of per-class AUC\nvs training count (Holm p)"))
    for ax, (key, title) in zip(axes, panels):
        if key == "mil_spearman_rho":
            grid, p = cell(key), cell("mil_spearman_p_holm")
            text = np.vectorize(lambda rho, pv: "n/a" if math.isnan(rho) else f"{rho:+.2f}\np={pv:.2f}")(grid, p)
            limit = 1.0
        else:
            grid = cell(f"{key}_diff")
            star = cell(f"{key}_excludes_0_holm").map(lambda holm: "*" if holm else "")
            text = (grid.map(lambda d: f"{d:+.2f}") + star + cell(f"{key}_ci_low").map(lambda lo: f"\n[{lo:+.1f}, ")
                    + cell(f"{key}_ci_high").map(lambda hi: f"{hi:+.1f}]")).to_numpy()
            limit = max(0.5, float(np.nanmax(np.abs(grid.to_numpy()))) if np.isfinite(grid.to_numpy()).any() else 1)
        sns.heatmap(grid, ax=ax, cmap="PuOr_r", vmin=-limit, vmax=limit, annot=text, fmt="",
                    annot_kws={"fontsize": 9}, cbar_kws={"shrink": 0.8, "pad": 0.02})
        for i, j in np.argwhere(~np.isfinite(grid.to_numpy(dtype=float))):  # seaborn leaves undefined cells blank
            ax.text(j + 0.5, i + 0.5, text[i, j] if text[i, j] else "n/a", ha="center", va="center", fontsize=9)
        ax.set_xticks(np.arange(len(overlaps)) + 0.5, [f"{o:g}" for o in overlaps])
        ax.set_xlabel("overlap of class evidence")
        ax.set_ylabel("")
        ax.set_title(title, fontsize=10)
    ratios = cell("max_min_ratio")[overlaps[0]]
    axes[0].set_yticks(np.arange(len(levels)) + 0.5, [f"{lv}\n(max/min {ratios[lv]:.0f})" for lv in levels],
                       rotation=0)
    axes[0].set_ylabel("training-split imbalance")
    fig.suptitle(label, fontsize=10)
    return fig


@dataclass
class DialResult:
    """A finished imbalance grid: ``rows`` (one per cell, method and world, ``imbalance.csv``),
    ``cells`` (:func:`cell_statistics`, ``imbalance_cells.csv``), ``run`` (its settings and
    timing, ``imbalance_run.json``) and the ``paths`` written."""

    rows: list[dict]
    cells: list[dict]
    run: dict
    paths: dict = field(default_factory=dict)

    def summary(self) -> str:
        """One line per cell and beta: the paired changes with their intervals and Holm p."""
        lines = []
        for r in self.cells:
            rho = "n/a (uniform)" if math.isnan(r["mil_spearman_rho"]) else \
                f"{r['mil_spearman_rho']:+.2f} (Holm p {r['mil_spearman_p_holm']:.2f})"
            lines.append(f"imbalance={r['imbalance']:<8} overlap={r['overlap']:<4g} β={r['beta']:g}: "
                         f"mean-of-classes {r['mean_class_auc_diff']:+.2f} pp [{r['mean_class_auc_ci_low']:+.2f}, "
                         f"{r['mean_class_auc_ci_high']:+.2f}] (Holm p {r['mean_class_auc_p_holm']:.2f}), "
                         f"rarest third {r['rare_third_auc_diff']:+.2f} pp [{r['rare_third_auc_ci_low']:+.2f}, "
                         f"{r['rare_third_auc_ci_high']:+.2f}] (Holm p {r['rare_third_auc_p_holm']:.2f}); "
                         f"MIL rho(AUC, count) {rho}")
        trained = f", of which training {self.run['train_seconds']:.0f} s" if "train_seconds" in self.run else ""
        lines.append(f"{len(self.rows)} models; the grid took {self.run['seconds']:.0f} s in all "
                     f"(worlds, training, evaluation){trained}")
        return "\n".join(lines)


def imbalance_dial(*, preset: str = "ci", levels: Sequence[str | float] = ("uniform", "ucf", "extreme"),
                   overlaps: Sequence[float] = (0.0, 0.5, 0.9), betas: Sequence[float] = (0.9999,), worlds: int = 4,
                   iterations: int = 250, out: str | Path = "results/imbalance",
                   figures: str | Path | None = None, settings: RunSettings | None = None,
                   keep_memory: bool = False, replot: bool = False, quiet: bool = False) -> DialResult:
    """When does balancing help? MIL vs CB-MIL over the grid ``levels x overlaps`` of
    training-split imbalance and class overlap, ``worlds`` synthetic worlds (= seeds) a cell,
    paired over worlds with Holm's correction over the grid (:func:`cell_statistics`).

    ``out``: folder for the CSVs and ``imbalance_run.json``; ``figures``: folder for the heat maps
    (``None`` = ``out``, ``"none"`` = none). ``replot``: no training, the statistics and figures
    again from ``out``'s ``imbalance.csv``. ``quiet``: no line per finished cell.
    ``settings``: how the models train (default: no progress bar); ``keep_memory``: as in
    :func:`cbmil.study.reproduction.reproduce`."""
    from cbmil.model import resolve_precision

    start = time.perf_counter()
    settings = settings or RunSettings(progress=False)
    config = TrainConfig(iterations=iterations)
    device = check_settings(settings, config)
    levels = [lv if lv in IMBALANCE_LEVELS else f"{float(lv):g}" for lv in levels]
    out = Path(out)
    if replot:  # statistics and figures again from a finished grid
        rows = read_csv(out / "imbalance.csv")
        run = json.loads((out / "imbalance_run.json").read_text())
    else:
        if keep_memory and device.type == "cpu":
            from cbmil.accel.memory import keep_freed_memory
            keep_freed_memory()
        rows, timing = [], {"train_seconds": 0.0}
        for level in levels:
            for overlap in overlaps:
                cell_start = time.perf_counter()
                dial = level if level in IMBALANCE_LEVELS else float(level)
                rows += run_cell(preset, dial, overlap, betas, worlds, config, timing=timing, settings=settings)
                if not quiet:
                    print(f"cell imbalance={level} overlap={overlap:g}: {time.perf_counter() - cell_start:.0f} s",
                          flush=True)
        run = {"preset": preset, "levels": levels, "overlaps": list(overlaps), "betas": list(betas),
               "worlds": worlds, "iterations": iterations,
               "precision": resolve_precision(settings.precision, device),
               "seconds": round(time.perf_counter() - start, 1), "train_seconds": round(timing["train_seconds"], 1),
               "cuda_graph": settings.cuda_graph}
        out.mkdir(parents=True, exist_ok=True)
        write_csv(rows, out / "imbalance.csv")
        (out / "imbalance_run.json").write_text(json.dumps(run, indent=1))
    cells = cell_statistics(rows, run["betas"])
    write_csv(cells, out / "imbalance_cells.csv")
    paths = {"rows": out / "imbalance.csv", "cells": out / "imbalance_cells.csv"}
    label = (f"SYNTHETIC data ({run['preset']} preset), {run['worlds']} worlds x {run['iterations']} steps per cell; "
             "paired 95 % t-intervals, * = Holm-adjusted p < 0.05 over the grid")
    figures = plots.figure_folder(figures, out)
    if figures is not None:
        import matplotlib.pyplot as plt
        for beta in run["betas"]:
            fig = figure(cells, beta, run["levels"], list(run["overlaps"]), label)
            paths[f"figure_{beta:g}"] = plots.save(fig, f"imbalance_{beta:g}", figures)
            plt.close(fig)
    return DialResult(rows, cells, run, paths)
