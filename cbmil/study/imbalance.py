"""``cbmil imbalance``: the paper's subject as a dial. When does balancing the classes help?

The study of :mod:`cbmil.study.reproduction` asks whether CB-MIL helps the rare classes at one point:
UCF-Crime's imbalance and one ``overlap`` of the class signatures. This command maps a grid of
synthetic worlds that differ only in

* the **imbalance of the training split** (:func:`cbmil.data.synthetic.imbalanced_counts`): the 810
  abnormal training videos spread uniformly, as in UCF-Crime, or more extremely (max/min about
  50), same order of classes; test split unchanged;
* **overlap**: how much the anomaly classes share one direction of evidence (0 = every class has
  its own, 1 = all look alike).

In every cell, for each MIL loss ``L`` in ``losses`` (:data:`cbmil.train.LOSSES`: ``"ranking"``,
the paper's hinge, or ``"topk"``), it trains the plain loss and, for each remedy ``R`` in
``balance`` (:data:`REMEDIES`) and each beta, "``L`` balanced by ``R``", on ``worlds`` synthetic
worlds, one per seed (seed i draws world i, all models of that seed share it: paired), and
evaluates every model. The remedies:

* ``"weights"``: class-balanced **re-weighting**, CB-MIL: the ranking term of a bag of class c
  scaled by its class weight at beta (in the same Trainer as the plain model: same batches);
* ``"sampler"``: class-balanced **re-sampling** (``TrainConfig(sampler_beta=beta)``, unit
  weights, :mod:`cbmil.sampling`): a Trainer of its own whose seed s shares with the plain
  model of seed s the world, initial weights, dropout masks, normal bags and crops, not the
  abnormal bags.

The plain model of a loss and cell is trained once and is the reference of every remedy. All
worlds of a cell are drawn once and serve every loss and remedy.

Outputs (``--out``):

* ``imbalance.csv``: one row per (cell, loss, model, world/seed): ``loss``, ``remedy`` (``"none"``
  for the plain model, else the remedy), ``method`` (``"MIL"``, ``"CB-MIL <beta>"`` or
  ``"CB-sampler <beta>"``, whatever the loss), per-class AUC (``auc_<Class>``),
  ``mean_class_auc`` (the paper's Abnormal AUC), ``rare_third_auc`` (mean over the rarest
  third of the classes in that cell's training split), ``total_auc`` and the localisation
  summaries of :func:`cbmil.eval.metrics.localisation`.
* ``imbalance_cells.csv``: per loss, remedy, cell and beta, the paired difference "balanced -
  plain" (mean, 95 % t-interval, raw p-value and Holm-adjusted p-value over the cells of the
  grid, one family per loss x remedy x beta x quantity, for the mean over classes and for the
  rarest third), and for the plain model alone the Spearman rank correlation
  (``scipy.stats.spearmanr``, ties averaged) of per-class AUC against training count, with its
  p-value (per-class AUCs averaged over worlds first; undefined, ``nan``, at the uniform level,
  where counts differ by at most the one video of rounding). Columns prefixed ``mil_`` describe
  the plain model of the row's loss.
* heat maps of those three quantities (in ``--figures``): ``imbalance_<beta>.png`` for the
  default run (ranking loss, re-weighting only: one row of three panels); otherwise
  ``imbalance_<loss>_<beta>.png``, one figure per loss, one row of panels per remedy, the
  plain model's rank correlation once.

A grid written before losses and remedies existed has neither column: it reads as ``loss =
"ranking"`` and remedy ``"weights"`` (``"none"`` for its MIL rows), and ``--replot`` rewrites
its ``imbalance_cells.csv`` in its own columns.

**XD-Violence** (``dataset="xd"``, ``cbmil imbalance --dataset xd``): the same dial on the
synthetic XD-Violence world (:func:`cbmil.data.synthetic.make_dataset` with
``benchmark="xd_violence"``: 6 classes, multi-label videos). The levels apply to XD-Violence's
own training counts by first label (:data:`cbmil.data.xd_violence.TRAIN_COUNTS`, 1,905 violent
videos, max/min 445/36 = 12.4): ``"uniform"``, ``"xd"`` (its own counts) and ``"extreme"``
(max/min about 50; :data:`cbmil.data.synthetic.XD_IMBALANCE_LEVELS`); Normal keeps its 2,049
videos. The per-class metric is XD-Violence's, the per-class **AP** (trapezoid, as its public
code computes it; :func:`cbmil.eval.metrics.per_class_ap`), so the columns say AP where
UCF-Crime's say AUC (:data:`DIALS`): ``ap_<Class>``, ``mean_class_ap``, ``rare_third_ap`` (the
rarest 2 of the 6 classes), ``frame_ap`` (the AP over all test frames, its headline; the frame
ROC AUC stays in ``total_auc`` as a row column), ``train_<Class>`` (first label, the dial's
counts) and ``train_any_<Class>`` (any label: the counts the class weights are computed from);
in ``imbalance_cells.csv`` ``mil_mean_class_ap``, ``mil_rare_third_ap``, the changes of
``mean_class_ap``, ``rare_third_ap`` and ``frame_ap``, and ``mil_ap_spearman_rho`` (per-class AP
against training count by first label). Holm's families are UCF-Crime's. Its figures are
``xd_imbalance_<beta>.png`` (``xd_imbalance_<loss>_<beta>.png`` beyond the default run).

Nothing in the generator depends on a class's training count (:mod:`cbmil.data.synthetic`): any
effect of frequency comes out of training. All numbers are SYNTHETIC.
"""

from __future__ import annotations

import csv
import json
import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Sequence

import numpy as np
from scipy import stats

from cbmil.eval import stats as seed_stats
from cbmil import plots
from cbmil.study.reproduction import (DATASETS, read_csv as read_csv_rows, synthetic_worlds, train_and_score,
                                      write_csv)
from cbmil.data import xd_violence
from cbmil.data.synthetic import imbalance_levels, imbalanced_counts
from cbmil.losses import TOPK
from cbmil.train import LOSSES, RunSettings, TrainConfig, Variant, check_settings, paper_variants
from cbmil.data.ucf_crime import CLASSES, TRAIN_COUNTS

LOCALISATION_KEYS = ("median_video_auc", "inside_above_share", "top_in_event_share")
#: The remedies for class imbalance the dial compares with the plain loss (``balance``):
#: class-balanced re-weighting (CB-MIL) and class-balanced re-sampling with unit weights.
REMEDIES = ("weights", "sampler")
#: The ``remedy`` of a plain model's rows.
PLAIN = "none"
#: What a run compares unless told otherwise: the paper's loss, re-weighted (the dial before
#: losses and remedies existed; its figure keeps its name, ``imbalance_<beta>.png``).
DEFAULT_LOSSES, DEFAULT_BALANCE = ("ranking",), ("weights",)


@dataclass(frozen=True)
class Dial:
    """What the dial measures on one benchmark: its classes, its own training counts (by first
    label, the counts the levels scale), its own level's name and the per-class metric, which
    names the columns (``<metric>_<Class>``, ``mean_class_<metric>``, ``rare_third_<metric>``)."""

    dataset: str                   # "ucf" | "xd" (--dataset)
    benchmark: str                 # "ucf_crime" | "xd_violence" (make_dataset's benchmark)
    title: str                     # how captions name it
    classes: tuple[str, ...]
    train_counts: dict             # the benchmark's own, by first label (Normal included)
    own_level: str                 # the level of its own counts: "ucf" | "xd"
    metric: str                    # per-class metric: "auc" (UCF-Crime) | "ap" (XD-Violence, trapezoid)
    metric_words: str              # how titles name it
    result_key: str                # evaluate()'s per-class dict of that metric
    total: tuple[str, str]         # (column, evaluate()'s key) of the whole-test-set quantity
    rho: str                       # cells column of the plain model's Spearman rho

    @property
    def mean(self) -> str:
        return f"mean_class_{self.metric}"

    @property
    def rare(self) -> str:
        return f"rare_third_{self.metric}"

    @property
    def quantities(self) -> tuple[str, str, str]:
        """The cells' paired changes (each its own Holm family per loss x remedy x beta)."""
        return self.mean, self.rare, self.total[0]

    @property
    def rho_p(self) -> str:
        return self.rho.replace("_rho", "_p")

    @property
    def default_levels(self) -> tuple[str, str, str]:
        return "uniform", self.own_level, "extreme"


#: The dial on each ``--dataset``: UCF-Crime (per-class AUC, the paper's) and XD-Violence
#: (per-class AP, trapezoid, XD-Violence's; the whole-test-set frame AP as ``frame_ap``).
DIALS = {
    "ucf": Dial("ucf", DATASETS["ucf"], "UCF-Crime", CLASSES, dict(TRAIN_COUNTS), "ucf", "auc", "AUC", "per_class_auc",
                ("total_auc", "total_auc"), "mil_spearman_rho"),
    "xd": Dial("xd", DATASETS["xd"], "XD-Violence", xd_violence.CLASSES, dict(xd_violence.TRAIN_COUNTS), "xd", "ap",
               "AP", "per_class_ap", ("frame_ap", "average_precision_trapezoid"), "mil_ap_spearman_rho"),
}


#: Where a run writes without ``out``: each dataset its own folder.
DEFAULT_OUT = {"ucf": "results/imbalance", "xd": "results/xd_violence/imbalance"}


def dial_of(dataset: str) -> Dial:
    """:data:`DIALS` of ``dataset`` (``"ucf"`` or ``"xd"``), refusing another name."""
    if dataset not in DIALS:
        raise ValueError(f"dataset must be one of {', '.join(map(repr, DIALS))}; got {dataset!r}")
    return DIALS[dataset]


def _dial_of_columns(columns) -> Dial:
    """The dial whose columns ``columns`` (of rows or cells) carry: XD-Violence's say AP."""
    columns = set(columns)
    return DIALS["xd"] if {"mean_class_ap", "mean_class_ap_diff"} & columns else DIALS["ucf"]


def check_levels(levels: Sequence[str | float], dataset: str = "ucf") -> list[str]:
    """``levels`` as the grid's names: a named level of ``dataset``'s dial
    (:func:`cbmil.data.synthetic.imbalance_levels`) or a number, written ``f"{x:g}"``. Refuses
    anything else, and the other benchmark's own level (``"ucf"`` on XD-Violence and ``"xd"`` on
    UCF-Crime), naming the levels that apply, before any world is made."""
    dial = dial_of(dataset)
    named = imbalance_levels(dial.benchmark)
    out = []
    for level in [levels] if isinstance(levels, str) else levels:
        if isinstance(level, str) and level in named:
            out.append(level)
            continue
        try:
            out.append(f"{float(level):g}")
        except (TypeError, ValueError):
            other = next((d for d in DIALS.values() if d is not dial and level == d.own_level), None)
            hint = (f"; {level!r} is {other.title}'s own counts (--dataset {other.dataset})" if other else "")
            raise ValueError(f"imbalance level {level!r} is not one of {dial.title}'s: "
                             f"{', '.join(dial.default_levels)} or a number (an exponent of {dial.title}'s own "
                             f"training counts){hint}") from None
    if not out:
        raise ValueError("levels must name at least one imbalance level")
    return out


def rare_third(counts: dict[str, int], dataset: str = "ucf") -> list[str]:
    """The rarest third of the classes by training count: 4 of UCF-Crime's 13, 2 of
    XD-Violence's 6 (``dataset="xd"``; counts by first label); ties go to the class that is
    rarer in the benchmark's own split, then to the earlier name (a fixed order)."""
    dial = dial_of(dataset)
    order = sorted(dial.classes, key=lambda c: (counts[c], dial.train_counts[c], c))
    return order[:len(dial.classes) // 3]


def method_name(remedy: str, beta: float | None = None) -> str:
    """The ``method`` of a row: ``"MIL"`` (plain), ``"CB-MIL <beta>"`` (re-weighted, as
    :func:`cbmil.train.paper_variants` names it) or ``"CB-sampler <beta>"`` (re-sampled)."""
    if remedy == PLAIN:
        return "MIL"
    return {"weights": "CB-MIL", "sampler": "CB-sampler"}[remedy] + f" {beta:g}"


def check_choices(losses: Sequence[str], balance: Sequence[str]) -> tuple[list[str], list[str]]:
    """``losses`` and ``balance`` as lists, refusing an unknown, repeated or missing entry before
    any world is made."""
    checked = []
    for name, values, allowed in (("losses", losses, LOSSES), ("balance", balance, REMEDIES)):
        values = [values] if isinstance(values, str) else list(values)
        unknown = [v for v in values if v not in allowed]
        if not values or unknown or len(set(values)) != len(values):
            raise ValueError(f"{name} must be one or more distinct of {', '.join(map(repr, allowed))}; "
                             f"got {values!r}")
        checked.append(values)
    return checked[0], checked[1]


def _cell_rows(results, models, level, overlap, counts, world_seeds, loss, dataset: str = "ucf",
               counts_any: dict | None = None) -> list[dict]:
    """One row per (model, world) of a trained Trainer's ``results``: ``models`` lists (remedy,
    beta) of its variants in order. ``counts``: the cell's training counts by first label;
    ``counts_any`` (XD-Violence): by any label."""
    dial = dial_of(dataset)
    classes = dial.classes
    rare = rare_third(counts, dataset)
    ratio = max(counts[c] for c in classes) / min(counts[c] for c in classes)
    levels = imbalance_levels(dial.benchmark)
    rows = []
    for i, result in enumerate(results):
        w, v = divmod(i, len(models))
        remedy, beta = models[v]
        per_class = result[dial.result_key]
        row = {"imbalance": level if isinstance(level, str) else f"{level:g}",
               "exponent": levels[level] if isinstance(level, str) else float(level),
               "max_min_ratio": ratio, "overlap": overlap, "loss": loss, "remedy": remedy,
               "method": method_name(remedy, beta), "beta": "" if beta is None else beta,
               "world": world_seeds[w], "seed": world_seeds[w]}
        if dataset == "ucf":
            row.update({"total_auc": result["total_auc"], "mean_class_auc": result["abnormal_auc"]})
        else:  # XD-Violence: its frame AP (trapezoid), the frame AUC beside it, the mean of per-class APs
            row.update({dial.total[0]: result[dial.total[1]], "total_auc": result["total_auc"],
                        dial.mean: float(np.mean([per_class[c] for c in classes]))})
        row[dial.rare] = float(np.mean([per_class[c] for c in rare]))
        row.update({k: result[k] for k in LOCALISATION_KEYS})
        row.update({f"{dial.metric}_{c}": per_class[c] for c in classes})
        row.update({f"train_{c}": counts[c] for c in classes})
        if counts_any is not None:
            row.update({f"train_any_{c}": counts_any[c] for c in classes})
        rows.append(row)
    return rows


def run_cell(preset: str, level: str | float, overlap: float, betas, n_worlds: int, config: TrainConfig,
             first_world: int = 0, timing: dict | None = None, settings: RunSettings | None = None,
             losses: Sequence[str] | None = None, balance: Sequence[str] = DEFAULT_BALANCE,
             dataset: str = "ucf", **overrides) -> list[dict]:
    """Train and evaluate one cell; return one row per (loss, model, world).

    ``dataset``: ``"ucf"`` (default) or ``"xd"``, the synthetic XD-Violence world, its levels on
    XD-Violence's own counts and per-class AP (:data:`DIALS`).

    ``losses``: the MIL losses (default: ``config.loss`` alone); each trains with ``config`` but
    for its loss. Per loss, one Trainer holds the plain model and, with ``"weights"`` in
    ``balance``, CB-MIL at each beta (same batches); with ``"sampler"``, one more Trainer per
    beta re-samples (``sampler_beta=beta``, unit weights). The worlds are drawn once for all.
    ``overrides``: other generator parameters (e.g. a small ``test_counts`` in tests).
    ``timing``: if given, its ``"train_seconds"`` grows by the cell's training time (worlds and
    evaluation excluded)."""
    losses, balance = check_choices([config.loss] if losses is None else losses, balance)
    if config.sampler_beta is not None:
        raise ValueError(f"run_cell sets sampler_beta itself (balance={balance!r}); got a config with "
                         f"sampler_beta={config.sampler_beta!r}")
    dial = dial_of(dataset)
    if "benchmark" in overrides:
        raise ValueError(f"run_cell sets the benchmark from dataset={dataset!r}; got benchmark="
                         f"{overrides['benchmark']!r} among the generator's overrides")
    counts = imbalanced_counts(level, benchmark=dial.benchmark)
    world_seeds = list(range(first_world, first_world + n_worlds))
    extra = {} if dataset == "ucf" else {"benchmark": dial.benchmark}
    worlds = synthetic_worlds(preset, world_seeds, train_counts=counts, overlap=overlap, **extra, **overrides)
    counts_any = None
    if dataset != "ucf":
        found = worlds[0].counts("train")
        if any(found[c] != counts[c] for c in counts):
            raise ValueError(f"the {dial.title} world has training counts {found}, not the level's {counts}")
        counts_any = worlds[0].counts("train", any_label=True)
    settings = settings or RunSettings(progress=False)
    rows = []
    for loss in losses:
        plain = replace(config, loss=loss)
        weighted = list(betas) if "weights" in balance else []
        # the plain model and CB-MIL at each beta: one Trainer, the same batches (paper_variants' order)
        trainings = [(plain, paper_variants(weighted), [(PLAIN, None)] + [("weights", float(b)) for b in weighted])]
        if "sampler" in balance:  # unit weights (plain MIL's variant) on a class-balanced draw
            trainings += [(replace(plain, sampler_beta=float(b)), [Variant("MIL")], [("sampler", float(b))])
                          for b in betas]
        for train_config, variants, models in trainings:
            trainer, _, results = train_and_score(worlds, variants, world_seeds, train_config, settings)
            seconds = trainer.seconds
            if timing is not None:
                timing["train_seconds"] = timing.get("train_seconds", 0.0) + seconds
            rows += _cell_rows(results, models, level, overlap, counts, world_seeds, loss, dataset, counts_any)
    return rows


def _loss(row: dict) -> str:
    return row.get("loss") or "ranking"


def _remedy(row: dict) -> str:
    """A row's remedy; rows written before remedies existed: MIL plain, CB-MIL re-weighted."""
    return row.get("remedy") or (PLAIN if row["beta"] in ("", None) else "weights")


def cell_statistics(rows: list[dict], betas, losses: Sequence[str] | None = None,
                    balance: Sequence[str] | None = None, dataset: str | None = None) -> list[dict]:
    """Per loss, remedy, cell and beta: the paired differences "balanced - plain" (pp) with Holm
    over the cells (one family per loss x remedy x beta x quantity), and the plain model's rank
    correlation of per-class AUC (XD-Violence: AP) with training count (by first label).

    ``losses``/``balance``: which to summarise (default: all the rows hold, losses in order of
    appearance, remedies in the order of :data:`REMEDIES`). ``dataset``: ``"ucf"`` or ``"xd"``
    (default: the one whose columns the rows carry, :data:`DIALS`). Every cell row carries
    ``loss`` and ``remedy``; the other columns are those of the dial before losses and remedies
    existed (XD-Violence: AP in place of AUC, :data:`DIALS`)."""
    dial = (_dial_of_columns(rows[0]) if rows else DIALS["ucf"]) if dataset is None else dial_of(dataset)
    if rows and dial.mean not in rows[0]:
        raise ValueError(f"the rows carry no {dial.mean!r} column: they are not rows of the {dial.title} dial")
    losses = list(dict.fromkeys(_loss(r) for r in rows)) if losses is None else list(losses)
    present = {_remedy(r) for r in rows}
    balance = [m for m in REMEDIES if m in present] if balance is None else list(balance)
    cells = sorted({(r["imbalance"], r["overlap"]) for r in rows}, key=lambda k: (str(k[0]), k[1]))
    out = []
    for loss in losses:
        for remedy in balance:
            out += _family_statistics(rows, betas, loss, remedy, cells, dial)
    return out


def _family_statistics(rows, betas, loss, remedy, cells, dial: Dial = DIALS["ucf"]) -> list[dict]:
    """:func:`cell_statistics` of one loss and remedy on ``dial``'s columns."""
    classes, metric, rho_key, p_key = dial.classes, dial.metric, dial.rho, dial.rho_p
    out = []
    for level, overlap in cells:
        in_cell = [r for r in rows if r["imbalance"] == level and r["overlap"] == overlap and _loss(r) == loss]
        mil = sorted((r for r in in_cell if _remedy(r) == PLAIN), key=lambda r: r["world"])
        if not mil:
            raise ValueError(f"no plain rows for loss {loss!r} in cell imbalance={level} overlap={overlap:g}")
        # the plain model: per-class AUC (XD-Violence: AP; mean over worlds) against training count
        auc = np.mean([[r[f"{metric}_{c}"] for c in classes] for r in mil], axis=0)
        counts = [mil[0][f"train_{c}"] for c in classes]
        if max(counts) - min(counts) > 1 and np.isfinite(auc).all():  # uniform (62 or 63 each): no ranking
            rho, p_rho = stats.spearmanr(counts, auc)
        else:
            rho, p_rho = math.nan, math.nan
        for beta in betas:
            cb = sorted((r for r in in_cell if _remedy(r) == remedy and r["beta"] == beta), key=lambda r: r["world"])
            if [r["world"] for r in cb] != [r["world"] for r in mil]:
                raise ValueError(f"loss {loss!r}, remedy {remedy!r}, beta {beta:g}, cell imbalance={level} "
                                 f"overlap={overlap:g}: worlds {[r['world'] for r in cb]} do not pair with the "
                                 f"plain model's {[r['world'] for r in mil]}")
            row = {"loss": loss, "remedy": remedy,
                   "imbalance": level, "max_min_ratio": mil[0]["max_min_ratio"], "overlap": overlap, "beta": beta,
                   "worlds": len(mil), f"mil_{dial.mean}": 100 * np.mean([r[dial.mean] for r in mil]),
                   f"mil_{dial.rare}": 100 * np.mean([r[dial.rare] for r in mil]),
                   rho_key: float(rho), p_key: float(p_rho)}
            for key in dial.quantities:
                diff = seed_stats.paired_difference([100 * r[key] for r in cb], [100 * r[key] for r in mil])
                row.update({f"{key}_diff": diff["mean"], f"{key}_ci_low": diff["ci_low"],
                            f"{key}_ci_high": diff["ci_high"], f"{key}_p": diff["p_value"]})
            out.append(row)
    for beta in betas:  # Holm within each beta's grid, one family per quantity
        family = [r for r in out if r["beta"] == beta]
        for key in dial.quantities:
            adjusted = seed_stats.holm([r[f"{key}_p"] for r in family])
            for r, p in zip(family, adjusted):
                r[f"{key}_p_holm"] = float(p)
                r[f"{key}_excludes_0_holm"] = bool(p < 0.05)
        adjusted = seed_stats.holm([r[p_key] for r in family])
        for r, p in zip(family, adjusted):
            r[f"{p_key}_holm"] = float(p)
    return out


def read_csv(path: str | Path) -> list[dict]:
    """Rows of an ``imbalance.csv`` with their numbers as numbers (to redo statistics and figures).
    A grid written before losses and remedies existed gets ``loss = "ranking"`` and ``remedy``
    ``"none"`` (MIL) or ``"weights"`` (CB-MIL)."""
    rows = read_csv_rows(path, text={"imbalance", "method", "loss", "remedy"},
                         integer=lambda key: key in ("world", "seed") or key.startswith("train_"))
    for row in rows:
        row.setdefault("loss", _loss(row))
        row.setdefault("remedy", _remedy(row))
    return rows


def has_loss_columns(path: str | Path) -> bool:
    """Whether an ``imbalance.csv`` carries the ``loss`` and ``remedy`` columns (not one written
    before losses and remedies existed)."""
    with open(path, newline="") as fh:
        header = next(csv.reader(fh), [])
    return "loss" in header and "remedy" in header


def loss_name(loss: str, topk: int = TOPK) -> str:
    """How figures name a loss's plain model: ``"MIL"`` (the ranking hinge) or ``"top-3 MIL"``."""
    return "MIL" if loss == "ranking" else f"top-{topk} MIL"


def balanced_name(loss: str, remedy: str, topk: int = TOPK) -> str:
    """How figures name a balanced model: ``"CB-MIL"`` (re-weighted ranking loss), ``"CB top-3
    MIL"``, ``"CB-sampled MIL"``, ``"CB-sampled top-3 MIL"``."""
    if remedy == "weights":
        return "CB-MIL" if loss == "ranking" else f"CB {loss_name(loss, topk)}"
    return f"CB-sampled {loss_name(loss, topk)}"


#: The captions' words for each loss and remedy.
LOSS_WORDS = {"ranking": "Sultani's ranking hinge on each bag's top score",
              "topk": "binary cross-entropy on the mean of each bag's top {k} scores"}
REMEDY_WORDS = {"weights": "class-balanced weights (CB-MIL)", "sampler": "class-balanced re-sampling, unit weights"}


def panel_titles(dial: Dial, name: str, plain: str, beta: float) -> dict[str, str]:
    """The heat maps' panel titles on ``dial``'s benchmark: UCF-Crime's as they always were; on
    XD-Violence each says per-class AP (and the rarest third's 2 of 6 classes, the first label's
    counts)."""
    if dial.dataset == "ucf":
        return {dial.mean: f"{name} β={beta:g} − {plain},\nmean over classes (pp)",
                dial.rare: f"{name} β={beta:g} − {plain},\nrarest third of classes (pp)",
                dial.rho: f"{plain}: Spearman ρ of per-class AUC\nvs training count (Holm p)"}
    n = len(dial.classes)
    return {dial.mean: f"{name} β={beta:g} − {plain},\nper-class AP, mean over the {n} classes (pp)",
            dial.rare: f"{name} β={beta:g} − {plain},\nper-class AP, rarest {n // 3} of {n} classes (pp)",
            dial.rho: f"{plain}: Spearman ρ of per-class AP vs\ntraining count, first label (Holm p)"}


def figure(cells: list[dict], beta: float, levels, overlaps, label: str, loss: str = "ranking",
           balance: Sequence[str] | None = None, topk: int = TOPK, dataset: str | None = None):
    """Heat maps over (imbalance, overlap) for one ``loss``: per remedy in ``balance`` (default:
    those ``cells`` hold for the loss) one row with "balanced - plain" on the mean over classes
    and on the rarest third (pp; * = Holm-adjusted p < 0.05 over the grid), and in the first
    row the plain model's Spearman rho (p Holm-adjusted over the grid): one family of p-values,
    Holm's, in every panel. Colour limits are shared by a column's panels. ``dataset``: whose
    columns (``"ucf"``: per-class AUC, ``"xd"``: per-class AP; default: the ones ``cells`` carry)."""
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns

    dial = (_dial_of_columns(cells[0]) if cells else DIALS["ucf"]) if dataset is None else dial_of(dataset)
    table = pd.DataFrame(cells)
    if "loss" not in table:
        table["loss"], table["remedy"] = "ranking", "weights"
    table = table[(table["beta"] == beta) & (table["loss"] == loss)]
    if balance is None:
        balance = [m for m in REMEDIES if (table["remedy"] == m).any()]
    if not len(balance):
        raise ValueError(f"no cells for loss {loss!r} at beta {beta:g}")
    tables = {remedy: table[table["remedy"] == remedy].set_index(["imbalance", "overlap"]) for remedy in balance}
    grid_of = lambda remedy, column: (tables[remedy][column].unstack("overlap")
                                      .reindex(index=list(levels), columns=list(overlaps)))
    limits = {}
    for key in (dial.mean, dial.rare):  # one colour scale per column
        values = np.concatenate([grid_of(m, f"{key}_diff").to_numpy(dtype=float).ravel() for m in balance])
        limits[key] = max(0.5, float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 1)
    limits[dial.rho] = 1.0
    # 12 in wide: at the README's width (~880 px) its 9 pt cell text stays about 10 px high
    fig, axes = plt.subplots(len(balance), 3, figsize=(12, 4.4 * len(balance)), sharey=True, layout="constrained",
                             squeeze=False)
    plain, first = loss_name(loss, topk), balance[0]
    for row_axes, remedy in zip(axes, balance):
        cell = lambda column: grid_of(remedy, column)
        titles = panel_titles(dial, balanced_name(loss, remedy, topk), plain, beta)
        panels = [(dial.mean, titles[dial.mean]), (dial.rare, titles[dial.rare])]
        if remedy == first:
            panels.append((dial.rho, titles[dial.rho]))
        else:  # the plain model is the same in every row: its correlation is drawn once, above
            row_axes[2].axis("off")
            row_axes[2].text(0.5, 0.5, f"{plain}: Spearman ρ as in the first row\n(one plain model for every remedy)",
                             ha="center", va="center", fontsize=10, transform=row_axes[2].transAxes)
        for ax, (key, title) in zip(row_axes, panels):
            if key == dial.rho:
                grid, p = cell(key), cell(f"{dial.rho_p}_holm")
                text = np.vectorize(lambda rho, pv: "n/a" if math.isnan(rho) else f"{rho:+.2f}\np={pv:.2f}")(grid, p)
            else:
                grid = cell(f"{key}_diff")
                star = cell(f"{key}_excludes_0_holm").map(lambda holm: "*" if holm else "")
                text = (grid.map(lambda d: f"{d:+.2f}") + star
                        + cell(f"{key}_ci_low").map(lambda lo: f"\n[{lo:+.1f}, ")
                        + cell(f"{key}_ci_high").map(lambda hi: f"{hi:+.1f}]")).to_numpy()
            limit = limits[key]
            sns.heatmap(grid, ax=ax, cmap="PuOr_r", vmin=-limit, vmax=limit, annot=text, fmt="",
                        annot_kws={"fontsize": 9}, cbar_kws={"shrink": 0.8, "pad": 0.02})
            for i, j in np.argwhere(~np.isfinite(grid.to_numpy(dtype=float))):  # seaborn leaves undefined cells blank
                ax.text(j + 0.5, i + 0.5, text[i, j] if text[i, j] else "n/a", ha="center", va="center", fontsize=9)
            ax.set_xticks(np.arange(len(overlaps)) + 0.5, [f"{o:g}" for o in overlaps])
            ax.set_xlabel("overlap of class evidence")
            ax.set_ylabel("")
            ax.set_title(title, fontsize=10)
        ratios = cell("max_min_ratio")[overlaps[0]]
        row_axes[0].set_yticks(np.arange(len(levels)) + 0.5, [f"{lv}\n(max/min {ratios[lv]:.0f})" for lv in levels],
                               rotation=0)
        row_axes[0].set_ylabel("training-split imbalance")
    fig.suptitle(label, fontsize=10)
    return fig


def figure_name(loss: str, beta: float, losses: Sequence[str], balance: Sequence[str], dataset: str = "ucf") -> str:
    """File name (no suffix) of a figure: ``imbalance_<beta>`` for the default run (the ranking
    loss re-weighted, as before losses and remedies existed), else ``imbalance_<loss>_<beta>``;
    on XD-Violence (``dataset="xd"``) the same with the prefix ``xd_``."""
    prefix = "" if dial_of(dataset).dataset == "ucf" else f"{dataset}_"
    if tuple(losses) == DEFAULT_LOSSES and tuple(balance) == DEFAULT_BALANCE:
        return f"{prefix}imbalance_{beta:g}"
    return f"{prefix}imbalance_{loss}_{beta:g}"


def figure_label(run: dict, loss: str) -> str:
    """The caption of a figure of ``run`` for ``loss``: data, worlds and steps, and, beyond the
    default run, the loss and the remedies by row."""
    if run.get("dataset", "ucf") == "ucf":
        label = (f"SYNTHETIC data ({run['preset']} preset), {run['worlds']} worlds x {run['iterations']} steps per "
                 "cell; paired 95 % t-intervals, * = Holm-adjusted p < 0.05 over the grid")
    else:  # two lines, each narrower than the panels
        dial = dial_of(run["dataset"])
        label = (f"SYNTHETIC {dial.title} data ({run['preset']} preset), {run['worlds']} worlds x {run['iterations']} "
                 f"steps per cell; per-class AP (trapezoid, as {dial.title}'s public code)\n"
                 "paired 95 % t-intervals, * = Holm-adjusted p < 0.05 over the grid")
    losses, balance = run.get("losses", list(DEFAULT_LOSSES)), run.get("balance", list(DEFAULT_BALANCE))
    if tuple(losses) == DEFAULT_LOSSES and tuple(balance) == DEFAULT_BALANCE:
        return label
    topk = run.get("topk", TOPK)
    rows = "; ".join(f"row {i + 1}: {REMEDY_WORDS[m]}" for i, m in enumerate(balance)) if len(balance) > 1 \
        else f"remedy: {REMEDY_WORDS[balance[0]]}"
    # three lines, each narrower than the 12 in of the panels (a wider caption would widen the PNG)
    return (f"loss: {loss_name(loss, topk)} ({LOSS_WORDS[loss].format(k=topk)}), plain and balanced\n"
            f"{rows}; each vs the plain loss on the same worlds and seeds\n"
            f"{label} (one family per loss x remedy x panel)")


@dataclass
class DialResult:
    """A finished imbalance grid: ``rows`` (one per cell, loss, model and world,
    ``imbalance.csv``), ``cells`` (:func:`cell_statistics`, ``imbalance_cells.csv``), ``run``
    (its settings and timing, ``imbalance_run.json``) and the ``paths`` written."""

    rows: list[dict]
    cells: list[dict]
    run: dict
    paths: dict = field(default_factory=dict)

    def summary(self) -> str:
        """One line per loss, remedy, cell and beta: the paired changes with their intervals and
        Holm p."""
        dial = dial_of(self.run.get("dataset", "ucf"))
        change = lambda r, key: (f"{r[f'{key}_diff']:+.2f} pp [{r[f'{key}_ci_low']:+.2f}, {r[f'{key}_ci_high']:+.2f}] "
                                 f"(Holm p {r[f'{key}_p_holm']:.2f})")
        lines = [] if dial.dataset == "ucf" else [
            f"SYNTHETIC {dial.title} data: changes of per-class AP (trapezoid) and of the frame AP, balanced - plain"]
        metric = "" if dial.dataset == "ucf" else f" {dial.metric_words}"
        for r in self.cells:
            rho = "n/a (uniform)" if math.isnan(r[dial.rho]) else \
                f"{r[dial.rho]:+.2f} (Holm p {r[f'{dial.rho_p}_holm']:.2f})"
            total = "" if dial.dataset == "ucf" else f", frame AP {change(r, dial.total[0])}"
            lines.append(f"{r['loss']}/{r['remedy']:<7} imbalance={r['imbalance']:<8} overlap={r['overlap']:<4g} "
                         f"β={r['beta']:g}: "
                         f"mean-of-classes{metric} {change(r, dial.mean)}, rarest third{metric} {change(r, dial.rare)}"
                         f"{total}; plain rho({dial.metric_words}, count) {rho}")
        trained = f", of which training {self.run['train_seconds']:.0f} s" if "train_seconds" in self.run else ""
        lines.append(f"{len(self.rows)} models; the grid took {self.run['seconds']:.0f} s in all "
                     f"(worlds, training, evaluation){trained}")
        return "\n".join(lines)


def imbalance_dial(*, preset: str = "ci", levels: Sequence[str | float] | None = None,
                   overlaps: Sequence[float] = (0.0, 0.5, 0.9), betas: Sequence[float] = (0.9999,), worlds: int = 4,
                   iterations: int = 250, out: str | Path | None = None,
                   figures: str | Path | None = None, settings: RunSettings | None = None,
                   keep_memory: bool = False, replot: bool = False, quiet: bool = False,
                   losses: Sequence[str] = DEFAULT_LOSSES, balance: Sequence[str] = DEFAULT_BALANCE,
                   overrides: dict | None = None, dataset: str | None = None) -> DialResult:
    """When does balancing help? Each loss in ``losses``, plain and balanced by each remedy in
    ``balance`` (:data:`REMEDIES`) at each beta, over the grid ``levels x overlaps`` of
    training-split imbalance and class overlap, ``worlds`` synthetic worlds (= seeds) a cell,
    paired over worlds with Holm's correction over the grid, one family per loss x remedy
    (:func:`cell_statistics`). The default, the ranking loss re-weighted, is MIL vs CB-MIL.

    ``out``: folder for the CSVs and ``imbalance_run.json`` (default :data:`DEFAULT_OUT` of the
    dataset: ``results/imbalance``, XD-Violence ``results/xd_violence/imbalance``); ``figures``: folder for the heat maps
    (``None`` = ``out``, ``"none"`` = none; :func:`figure_name`). ``replot``: no training, the
    statistics and figures again from ``out``'s ``imbalance.csv`` (levels, overlaps, betas,
    losses and remedies are then the run's own, from ``imbalance_run.json``). ``quiet``: no line
    per finished cell. ``settings``: how the models train (default: no progress bar);
    ``keep_memory``: as in :func:`cbmil.study.reproduction.reproduce`. ``overrides``: other
    generator parameters of every world (:func:`cbmil.data.synthetic.make_dataset`, e.g. a small
    ``test_counts`` in tests), recorded in ``imbalance_run.json``.

    ``dataset``: ``"ucf"`` (UCF-Crime's synthetic world, per-class AUC; the default of a new
    run) or ``"xd"`` (XD-Violence's, per-class AP; :data:`DIALS`); with ``replot`` the run's own
    (``imbalance_run.json``), and another one is refused. ``levels``: named levels of the
    dataset's dial or exponents (:func:`check_levels`; default ``uniform``, its own counts
    ``ucf`` / ``xd``, ``extreme``)."""
    from cbmil.model import resolve_precision

    start = time.perf_counter()
    settings = settings or RunSettings(progress=False)
    config = TrainConfig(iterations=iterations)
    device = check_settings(settings, config)
    losses, balance = check_choices(losses, balance)
    if dataset is not None:
        dial_of(dataset)  # refuses an unknown dataset before anything is read or made
    out = Path(out if out is not None else DEFAULT_OUT[dataset or "ucf"])
    legacy = False  # a grid written before losses and remedies: its cells CSV keeps its own columns
    if replot:  # statistics and figures again from a finished grid
        run = json.loads((out / "imbalance_run.json").read_text())
        own = run.get("dataset", "ucf")
        if dataset is not None and dataset != own:
            raise ValueError(f"{out} holds a {dial_of(own).title} grid (dataset {own!r} in imbalance_run.json); "
                             f"got dataset={dataset!r} (--dataset {dataset}) with replot")
        dataset = own
        legacy = not has_loss_columns(out / "imbalance.csv")
        rows = read_csv(out / "imbalance.csv")
    else:
        dataset = "ucf" if dataset is None else dataset
        dial = dial_of(dataset)
        levels = check_levels(dial.default_levels if levels is None else levels, dataset)
        named = imbalance_levels(dial.benchmark)
        if keep_memory and device.type == "cpu":
            from cbmil.accel.memory import keep_freed_memory
            keep_freed_memory()
        rows, timing = [], {"train_seconds": 0.0}
        for level in levels:
            for overlap in overlaps:
                cell_start = time.perf_counter()
                point = level if level in named else float(level)
                rows += run_cell(preset, point, overlap, betas, worlds, config, timing=timing, settings=settings,
                                 losses=losses, balance=balance, dataset=dataset, **(overrides or {}))
                if not quiet:
                    print(f"cell imbalance={level} overlap={overlap:g}: {time.perf_counter() - cell_start:.0f} s",
                          flush=True)
        run = {"preset": preset, "levels": levels, "overlaps": list(overlaps), "betas": list(betas),
               "worlds": worlds, "iterations": iterations,
               "precision": resolve_precision(settings.precision, device),
               "seconds": round(time.perf_counter() - start, 1), "train_seconds": round(timing["train_seconds"], 1),
               "cuda_graph": settings.cuda_graph, "losses": losses, "balance": balance, "topk": config.topk}
        if dataset != "ucf":  # UCF-Crime's run record as before the dataset existed
            run |= {"dataset": dataset, "benchmark": dial.benchmark, "metric": "per-class AP (trapezoid)",
                    "multi_label_weight": config.multi_label_weight}
        if overrides:
            run["overrides"] = overrides
        out.mkdir(parents=True, exist_ok=True)
        write_csv(rows, out / "imbalance.csv")
        (out / "imbalance_run.json").write_text(json.dumps(run, indent=1))
    run_losses = run.get("losses", list(DEFAULT_LOSSES))
    run_balance = run.get("balance", list(DEFAULT_BALANCE))
    cells = cell_statistics(rows, run["betas"], run_losses, run_balance, dataset=dataset)
    written = [{k: v for k, v in c.items() if k not in ("loss", "remedy")} for c in cells] if legacy else cells
    write_csv(written, out / "imbalance_cells.csv")
    paths = {"rows": out / "imbalance.csv", "cells": out / "imbalance_cells.csv"}
    figures = plots.figure_folder(figures, out)
    if figures is not None:
        import matplotlib.pyplot as plt
        for loss in run_losses:
            for beta in run["betas"]:
                fig = figure(cells, beta, run["levels"], list(run["overlaps"]), figure_label(run, loss), loss,
                             run_balance, run.get("topk", TOPK), dataset=dataset)
                name = figure_name(loss, beta, run_losses, run_balance, dataset)
                paths[f"figure_{name.split('imbalance_', 1)[1]}"] = plots.save(fig, name, figures)
                plt.close(fig)
    return DialResult(rows, cells, run, paths)


#: The quantities of a cell compared across schedules by :func:`schedule_table`.
SCHEDULE_QUANTITIES = (("mean_class_auc", "mean over classes"), ("rare_third_auc", "rarest third"))


def schedule_table(short: str | Path, long: str | Path):
    """Each cell's paired change at two schedules: the dial run in folder ``short`` against the
    one in folder ``long`` (both written by :func:`imbalance_dial`: ``imbalance_cells.csv`` and
    ``imbalance_run.json``), on the cells, losses, remedies and betas the two runs share.

    Returns a pandas DataFrame, one row per (loss, remedy, imbalance, overlap, beta, quantity),
    with the two runs' steps, each run's change ``diff`` with its raw 95 % interval, its
    Holm-adjusted p (Holm over *that run's* grid, so the two families differ when the runs
    cover different cells) and ``verdict`` per run ("+" / "-": the raw interval excludes 0 above
    / below it, "0": it contains 0), and ``survives``: True when both runs give the same verdict.
    """
    import pandas as pd

    runs = []
    for folder in (Path(short), Path(long)):
        cells = pd.read_csv(folder / "imbalance_cells.csv")
        steps = json.loads((folder / "imbalance_run.json").read_text())["iterations"]
        if "loss" not in cells:
            cells["loss"], cells["remedy"] = "ranking", "weights"
        runs.append((cells, steps))
    (a, steps_a), (b, steps_b) = runs
    if steps_a == steps_b:
        raise ValueError(f"{short} and {long} both trained {steps_a} steps; expected two schedules")
    key = ["loss", "remedy", "imbalance", "overlap", "beta"]
    rows = []
    for quantity, name in SCHEDULE_QUANTITIES:
        cols = {f"{quantity}_{c}": c for c in ("diff", "ci_low", "ci_high", "p_holm")}
        left = a[key + list(cols)].rename(columns=cols)
        right = b[key + list(cols)].rename(columns=cols)
        both = left.merge(right, on=key, suffixes=(f"_{steps_a}", f"_{steps_b}"))
        both.insert(len(key), "quantity", name)
        rows.append(both)
    table = pd.concat(rows, ignore_index=True)
    if table.empty:
        raise ValueError(f"{short} and {long} share no cell (loss, remedy, imbalance, overlap, beta)")
    for steps in (steps_a, steps_b):
        low, high = table[f"ci_low_{steps}"].astype(float), table[f"ci_high_{steps}"].astype(float)
        table[f"verdict_{steps}"] = np.where(low > 0, "+", np.where(high < 0, "-", "0"))
    table["survives"] = table[f"verdict_{steps_a}"] == table[f"verdict_{steps_b}"]
    return table.sort_values(["quantity", "loss", "remedy", "imbalance", "overlap"], ignore_index=True)


def schedule_markdown(table) -> str:
    """:func:`schedule_table` as a markdown table: each change with its raw 95 % interval and
    Holm-adjusted p at both schedules, and whether its verdict survives."""
    steps = sorted(int(c.split("_")[-1]) for c in table.columns if c.startswith("verdict_"))
    head = ("| loss | remedy | imbalance | overlap | quantity | "
            + " | ".join(f"Δ at {s} steps [95 % CI] (Holm p)" for s in steps) + " | same verdict |")
    lines = [head, "|---|---|---|---:|---|" + "---:|" * len(steps) + "---|"]
    for r in table.to_dict("records"):
        cells = [f"{float(r[f'diff_{s}']):+.2f} [{float(r[f'ci_low_{s}']):+.2f}, {float(r[f'ci_high_{s}']):+.2f}] "
                 f"({float(r[f'p_holm_{s}']):.2f})" for s in steps]
        lines.append(f"| {r['loss']} | {r['remedy']} | {r['imbalance']} | {float(r['overlap']):g} | {r['quantity']} | "
                     + " | ".join(cells) + f" | {'yes' if r['survives'] else 'no'} |")
    return "\n".join(lines)


def schedule_report(short: str | Path, long: str | Path, out: str | Path | None = None):
    """:func:`schedule_table` and its :func:`schedule_markdown`; with ``out``, the markdown is
    written there and the table as CSV beside it (``out`` with the suffix ``.csv``). Returns
    ``(table, markdown, paths written)``."""
    table = schedule_table(short, long)
    text = schedule_markdown(table)
    paths = []
    if out is not None:
        out = Path(out)
        out.write_text(text + "\n")
        table.to_csv(out.with_suffix(".csv"), index=False)
        paths = [out, out.with_suffix(".csv")]
    return table, text, paths
