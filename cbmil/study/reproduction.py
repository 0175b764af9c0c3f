"""``cbmil reproduce``: the paper's study, with seeds. Trains MIL and CB-MIL at every beta over
several seeds in one vectorized run, evaluates every model, and writes Tables 1 and 2 (with
spread over seeds, paired intervals against MIL and the paper's numbers beside), ``runs.json``
and figures.

Worlds: on synthetic data each seed draws its own world (``make_dataset(seed=s)``: scenes,
class signatures, per-class strengths, every video) and all variants of that seed train and
are evaluated on it; on real features there is one world, and seeds vary the training only.
So a seed is one replicate of (world, initial weights, batches, dropout masks).

Uncertainty: for each metric, mean and sample std over seeds; for a CB-MIL variant, the
per-seed difference to MIL *of the same seed* (same world, initial weights, batches and dropout
masks), with a paired Student-t 95 % interval (:func:`cbmil.eval.stats.paired_difference`). A
difference "exceeds seed noise" when that interval excludes 0. With a world per seed the
interval covers the draw of the world as well as the training randomness.

Balance (``balance``, ``--balance``): the rows after MIL are CB-MIL at each beta ("weights", the
paper's study, the default), or "CB-sampler β", MIL's unweighted loss on batches whose abnormal
bags are drawn class-balanced at beta ("sampler", :mod:`cbmil.sampling`: one Trainer for MIL and
one per beta, combined into one study), or nothing ("none", MIL alone). A CB-sampler model keeps
MIL's world, initial weights, dropout masks, normal bags and crops of the same seed; its abnormal
bags differ by construction, so its paired difference to MIL also carries the noise of another
draw of abnormal bags (see :func:`run_study`).

Localisation (:func:`cbmil.eval.metrics.localisation`): per abnormal test video, the frame AUC inside
the video, whether its events score above the rest of it, whether its top snippet lies in an
event; summarised as the median per-video AUC and two shares, per model and per class.
"""

from __future__ import annotations

import csv
import json
import math
import platform
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from cbmil.eval import stats as seed_stats
from cbmil.study import paper
from cbmil import plots
from cbmil.data.dataset import VADDataset
from cbmil.train import (RunSettings, TrainConfig, Trainer, Variant, check_settings, evaluate_bank, paper_variants,
                         score_bank)
from cbmil.data.ucf_crime import CLASSES
from cbmil.losses import TOPK

#: Settings of ``--preset``: "ci" for a quick check, "full" for the README's main job.
PRESETS = {"ci": {"seeds": 2, "iterations": 300}, "full": {"seeds": 5, "iterations": 250}}
#: How a study balances the anomaly classes (:func:`reproduce`'s ``balance``, ``--balance``); the
#: first is the default: "weights" = CB-MIL's re-weighting (the paper's study), "sampler" = the
#: class-balanced draw with unit weights (:mod:`cbmil.sampling`), "none" = MIL only.
BALANCES = ("weights", "sampler", "none")
#: Name of the re-sampled method in the tables: ``"CB-sampler 0.9999"`` (:func:`sampler_variants`).
SAMPLER_NAME = "CB-sampler"
#: Localisation summaries of :func:`cbmil.eval.metrics.localisation` as reported in the tables.
LOCALISATION = (("median_video_auc", "median per-video AUC %"), ("inside_above_share", "inside > outside %"),
                ("top_in_event_share", "top snippet in event %"))


class Study:
    """Per-seed results of a ``seeds x variants`` grid and the tables built from them.

    ``total[s, v]``, ``abnormal[s, v]`` (fractions) and ``per_class[s, v, c]`` hold the
    metrics of variant v (0 = MIL) trained with seed s; ``localisation[key][s, v]`` and
    ``class_localisation[key][s, v, c]`` the localisation summaries (``LOCALISATION`` keys).
    ``world_scores``: the test snippet scores, one ``[M_w, S_w]`` array per world (one world:
    every model; a world per seed: that seed's V models, m = s * V + v); ``snippet_scores``
    is the ``[M, S]`` array when all models share one world, else None.

    ``balance`` (:data:`BALANCES`) says what the rows after MIL are: "weights", CB-MIL at each
    beta; "sampler", MIL's unweighted loss on the class-balanced draw at each beta (the row's
    ``beta`` is the draw's; its weights are 1); "none", no row after MIL. ``trainers``: the
    :class:`~cbmil.train.Trainer` (s) that trained the models (one for "weights" and "none"; MIL's
    and then one per beta for "sampler"); ``trainer`` is the one trainer, None for a study combined
    from several (:meth:`from_trainers`) or rebuilt from a ``runs.json``.
    """

    def __init__(self, *, label: str, design: str, variants: Sequence, seeds: Sequence[int],
                 train_counts: dict, test_counts: dict, model_names: Sequence[str], results: list[dict],
                 seed_worlds: Sequence[int], history: dict | None = None, eval_every: int = 0,
                 trainer: Trainer | None = None, world_scores: Sequence[np.ndarray] = (),
                 record: dict | None = None, trainers: Sequence[Trainer] = (), balance: str | None = None,
                 class_names: Sequence[str] = CLASSES, benchmark: str = "ucf_crime", counts_any: dict | None = None):
        self.label, self.design, self.variants, self.seeds = label, design, list(variants), list(seeds)
        # the benchmark's classes; counts_any: {"train", "test"} videos per class by any label (multi-label)
        self.class_names, self.benchmark, self.counts_any = tuple(class_names), benchmark, counts_any
        self.train_counts, self.test_counts = dict(train_counts), dict(test_counts)
        self.model_names, self.history, self.eval_every = list(model_names), history or {}, eval_every
        self.trainers = list(trainers) or ([trainer] if trainer is not None else [])
        self.trainer = trainer if trainer is not None else (self.trainers[0] if len(self.trainers) == 1 else None)
        self.world_scores, self.record = list(world_scores), record
        if balance is None:  # a runs.json written before --balance: CB-MIL rows, or MIL alone
            balance = (record or {}).get("balance", "weights" if len(self.variants) > 1 else "none")
        _check_balance(balance)
        self.balance = balance
        self.worlds = self.trainers[0].worlds if self.trainers else []
        self.snippet_scores = self.world_scores[0] if len(self.world_scores) == 1 else None
        self.paths, self.data_seconds, self.layouts = {}, 0.0, []
        self.seconds = self.train_seconds
        self._set_results(results, seed_worlds)

    @property
    def train_seconds(self) -> float:
        """Training time of all models (seconds): the sum over :attr:`trainers`, or the
        ``train_seconds`` of the ``runs.json`` a study was rebuilt from."""
        if self.trainers:
            return sum(t.seconds for t in self.trainers)
        return (self.record or {}).get("train_seconds", 0.0)

    @property
    def protocol(self) -> str:
        """How snippet scores became frame scores (:attr:`cbmil.train.RunSettings.protocol`)."""
        if self.trainers:
            return self.trainers[0].settings.protocol
        return (self.record or {}).get("settings", {}).get("protocol", "snippet")

    @classmethod
    def from_trainer(cls, trainer: Trainer, results: list[dict], label: str,
                     world_scores: Sequence[np.ndarray], balance: str | None = None) -> "Study":
        """The study of a trained grid: ``results`` as :func:`cbmil.train.evaluate_bank` returns them."""
        many = len(trainer.worlds) > 1
        return cls(label=label, design="one world per seed" if many else "one world for every seed",
                   variants=trainer.variants, seeds=trainer.seeds, train_counts=trainer.data.counts("train"),
                   test_counts=trainer.data.counts("test"), model_names=trainer.model_names, results=results,
                   seed_worlds=list(range(len(trainer.seeds))) if many else [0] * len(trainer.seeds),
                   history=trainer.history, eval_every=trainer.settings.eval_every, trainer=trainer,
                   world_scores=world_scores, balance=balance, **_benchmark_of(trainer.data))

    @classmethod
    def from_trainers(cls, trainers: Sequence[Trainer], results: Sequence[list[dict]], label: str,
                      world_scores: Sequence[Sequence[np.ndarray]], variants: Sequence[Variant] | None = None,
                      balance: str = "sampler") -> "Study":
        """One study of several trainers that trained the same seeds on the same worlds for as many
        steps (e.g. MIL and a class-balanced draw per beta): their models side by side, paired by
        seed. ``results[t]`` and ``world_scores[t]``: trainer t's, as :func:`cbmil.train.evaluate_bank`
        and :func:`cbmil.train.score_bank` return them. The study's variant v of seed s is model
        ``s * V + v``: per seed, trainer 0's variants, then trainer 1's, ...; ``variants`` names the
        study's rows (default: the trainers' own variants, in that order), one per trained variant.
        The worlds' scores are put together in that order, world by world, so :func:`write_scores`
        and :func:`load_study` read them as a single trainer's."""
        trainers = list(trainers)
        first = trainers[0]
        for t in trainers[1:]:
            if t.seeds != first.seeds or len(t.worlds) != len(first.worlds) or any(
                    a is not b for a, b in zip(t.worlds, first.worlds)):
                raise ValueError("the trainers of one study must train the same seeds on the same worlds")
            if t.step_count != first.step_count or t.history["step"] != first.history["step"] \
                    or t.history["eval_step"] != first.history["eval_step"]:
                raise ValueError("the trainers of one study must have run the same steps and logged them alike")
        trained = [v for t in trainers for v in t.variants]
        variants = trained if variants is None else list(variants)
        if len(variants) != len(trained):
            raise ValueError(f"{len(variants)} study variants for {len(trained)} trained variants")
        n_seeds = len(first.seeds)

        def per_seed(lists: Sequence[Sequence]) -> list:  # each trainer's s * V_t + v order -> s * V + v
            out = []
            for s in range(n_seeds):
                for t, items in zip(trainers, lists):
                    v = len(t.variants)
                    out += list(items[s * v:(s + 1) * v])
            return out

        if len(first.worlds) == 1:
            scores = [np.concatenate(per_seed([list(ws[0]) for ws in world_scores]))]
        else:
            scores = [np.concatenate([ws[s] for ws in world_scores]) for s in range(n_seeds)]
        history = {"step": list(first.history["step"]), "eval_step": list(first.history["eval_step"])}
        for key in ("loss", "total_auc", "abnormal_auc"):
            history[key] = [per_seed([t.history[key][i] for t in trainers]) for i in range(len(first.history[key]))]
        many = len(first.worlds) > 1
        return cls(label=label, design="one world per seed" if many else "one world for every seed",
                   variants=variants, seeds=first.seeds, train_counts=first.data.counts("train"),
                   test_counts=first.data.counts("test"),
                   model_names=[f"{v.name} / seed {s}" for s in first.seeds for v in variants],
                   results=per_seed(results), seed_worlds=list(range(n_seeds)) if many else [0] * n_seeds,
                   history=history, eval_every=first.settings.eval_every, world_scores=scores,
                   trainers=trainers, balance=balance, **_benchmark_of(first.data))

    @classmethod
    def from_runs(cls, runs: dict) -> "Study":
        """The tables of a finished study from its ``runs.json`` (no models, no scores): what
        ``cbmil tables`` uses to rebuild tables and figures after a change in the statistics."""
        from cbmil.train import Variant
        variants = [Variant(**v) for v in runs["variants"]]
        seeds = list(runs["seeds"])
        counts = runs.get("counts")
        if counts is None:  # written before runs.json carried its counts: synthetic data has them in its config
            config = runs.get("data", {}).get("config", {})
            if "train_counts" not in config:
                raise ValueError("runs.json carries no per-class video counts (a study of a cache written before "
                                 "v2); re-run `cbmil reproduce` to rebuild its tables")
            counts = {split: config[f"{split}_counts"] for split in ("train", "test")}
        by = {(r["seed"], r["method"]): r for r in runs["runs"]}
        ordered = [by[(s, v.name)] for s in seeds for v in variants]
        # eval_every moved from "config" to "settings" (a runs.json written before v2 has it in config)
        eval_every = runs.get("settings", runs.get("config", {})).get("eval_every", 0)
        return cls(label=runs["label"], design=runs.get("design", "one world for every seed"), variants=variants,
                   seeds=seeds, train_counts=counts["train"], test_counts=counts["test"],
                   model_names=[r.get("model", f"{r['method']} / seed {r['seed']}") for r in ordered],
                   results=ordered, seed_worlds=[r.get("world", 0) for r in ordered[::len(variants)]],
                   history=runs.get("history", {}), eval_every=eval_every, record=runs,
                   class_names=runs.get("class_names", CLASSES), benchmark=runs.get("benchmark", "ucf_crime"),
                   counts_any=runs.get("counts_any"))

    def _set_results(self, results: list[dict], worlds: Sequence[int] | None = None) -> None:
        """``results``: the per-model dicts of :func:`cbmil.train.evaluate_bank`, model ``s * V + v``;
        ``worlds``: the world of each seed. Builds :attr:`results_table` and the ``[S, V(, C)]``
        arrays the tables read from it."""
        self.results = results
        self.results_table = results_table(results, self.seeds, self.variants, worlds)
        self._changes = None  # Study.changes, computed when first asked for
        self.total = self.grid("total_auc")
        self.abnormal = self.grid("abnormal_auc")
        names = self.class_names
        self.per_class = np.stack([self.grid("auc", c) for c in names], axis=2)
        # per-class AP (XD-Violence's studies; nan for UCF-Crime's, which do not compute it)
        self.per_class_ap = np.stack([self.grid("ap", c) for c in names], axis=2)
        # nan where a runs.json predates the localisation metrics
        self.localisation = {k: self.grid(k) for k, _ in LOCALISATION}
        self.class_localisation = {k: np.stack([self.grid(k, c) for c in names], axis=2) for k, _ in LOCALISATION}

    def grid(self, metric: str, cls: str = "all") -> np.ndarray:
        """``[seeds, variants]`` values of ``metric`` for class ``cls`` ("all": the whole test set)
        from :attr:`results_table` (nan where a model has no such value)."""
        t = self.results_table
        sub = t[(t["metric"] == metric) & (t["class"] == cls)]
        table = sub.pivot(index="seed", columns="method", values="value")
        return table.reindex(index=self.seeds, columns=[v.name for v in self.variants]).to_numpy(dtype=float)

    # ------------------------------------------------------------------ tables
    def changes(self):
        """Every paired comparison of the study, computed once from :attr:`results_table`: one row
        per CB-MIL method, metric and class (pp) with the mean, std, 95 % interval and p of the
        per-seed differences to MIL of the same seed (:func:`cbmil.eval.stats.paired_difference`),
        and, for the comparisons of Tables 1 and 2, Holm's adjustment within their ``family``
        (:data:`FAMILIES`). Class ``"mean of classes"``: the mean over the 13 per-class AUCs.
        Computed at the first call and kept (Tables 1-2 and the verdicts all read it)."""
        if self._changes is None:
            self._changes = self._paired_changes()
        return self._changes

    def _paired_changes(self):
        import pandas as pd

        t = self.results_table
        means = []
        for metric in ("auc",) + (("ap", "ap_step") if self.benchmark != "ucf_crime" else ()):
            per_class = t[(t["metric"] == metric) & (t["class"] != "all")]
            means.append(per_class.groupby(["world", "seed", "method"], sort=False)["value"]
                         .agg(lambda v: np.nanmean(v.to_numpy())).reset_index()
                         .assign(metric=metric, **{"class": "mean of classes"}))
        t = pd.concat([t] + means, ignore_index=True)
        grid = t.pivot(index=["metric", "class", "seed"], columns="method", values="value")
        rows = []
        for (metric, cls), g in grid.groupby(level=["metric", "class"], sort=False):
            g = g.droplevel(["metric", "class"]).reindex(self.seeds)
            control = 100 * g["MIL"].to_numpy(dtype=float)
            for variant in self.variants[1:]:
                diff = _paired(100 * g[variant.name].to_numpy(dtype=float), control)
                rows.append({"method": variant.name, "beta": variant.beta, "metric": metric, "class": cls,
                             "family": _family(metric, cls, self.benchmark), "diff": diff["mean"], "std": diff["std"],
                             "ci_low": diff["ci_low"], "ci_high": diff["ci_high"],
                             "exceeds_noise": diff["exceeds_noise"], "p": diff["p_value"]})
        columns = ["method", "beta", "metric", "class", "family", "diff", "std", "ci_low", "ci_high",
                   "exceeds_noise", "p"]
        changes = pd.DataFrame(rows, columns=columns)  # no rows: MIL alone (balance "none")
        changes["p_holm"] = math.nan
        for family, g in changes.groupby("family"):
            changes.loc[g.index, "p_holm"] = seed_stats.holm(g["p"].to_numpy())
        changes["exceeds_noise_holm"] = changes["p_holm"] < 0.05
        return changes.set_index(["method", "metric", "class"])

    def table2(self) -> list[dict]:
        """One row per variant: Abnormal and Total AUC (%), spread, paired difference to MIL."""
        changes, rows = self.changes(), []
        for v, variant in enumerate(self.variants):
            published = paper.TABLE2.get(variant.beta) if self._published(v) else None
            row = {"method": variant.name, "beta": variant.beta}
            for key, values in (("abnormal", self.abnormal), ("total", self.total)):
                row.update(_seed_columns(key, 100 * values, v, changes, variant.name, f"{key}_auc"))
            row["paper_abnormal"], row["paper_total"] = published if published else (None, None)
            for key, _ in LOCALISATION:
                row.update(_seed_columns(key, 100 * self.localisation[key], v, changes, variant.name, key))
            for key, (best, inflation) in self.best_seen().items():  # with test evaluations during training
                summary = _summary(inflation[:, v])
                row[f"{key}_inflation_mean"], row[f"{key}_inflation_std"] = summary["mean"], summary["std"]
                if v:
                    picked = _paired(best[:, v], best[:, 0])
                    row[f"{key}_best_diff"] = picked["mean"]
                    row[f"{key}_best_ci_low"], row[f"{key}_best_ci_high"] = picked["ci_low"], picked["ci_high"]
            rows.append(row)
        return rows

    def table1(self) -> list[dict]:
        """One row per class (and a mean row): MIL's AUC and each beta's change against MIL (pp)."""
        train, test = self.train_counts, self.test_counts
        changes, rows = self.changes(), []
        names = self.class_names
        for c, name in enumerate(names + ("mean of classes",)):
            if c < len(names):
                values = 100 * self.per_class[:, :, c]
                row = {"class": name, "train_videos": train[name], "test_videos": test[name]}
            else:
                values = 100 * np.nanmean(self.per_class, axis=2)
                row = {"class": name, "train_videos": sum(train[k] for k in names),
                       "test_videos": sum(test[k] for k in names)}
            mil = _summary(values[:, 0])
            row["mil_mean"], row["mil_std"] = mil["mean"], mil["std"]
            for key, _ in LOCALISATION:
                loc = 100 * (self.class_localisation[key][:, 0, c] if c < len(names)
                             else self.localisation[key][:, 0])
                row[f"mil_{key}"] = _summary(loc)["mean"]
            for variant in self.variants[1:]:
                tag = f"{variant.beta:g}"
                row.update(change_columns(changes.loc[(variant.name, "auc", name)], tag))
                if variant.beta in paper.TABLE1_BETAS and self._published(self.variants.index(variant)):
                    i = paper.TABLE1_BETAS.index(variant.beta)
                    row[f"paper_change_{tag}"] = (paper.TABLE1[name][i] if c < len(names)
                                                  else paper.TABLE1_AVERAGE[i])
            rows.append(row)
        return rows

    def _published(self, v: int) -> bool:
        """Whether the paper published variant v's numbers: MIL, and CB-MIL (re-weighting); the paper
        did not re-sample, so the rows of a "sampler" study carry no paper column."""
        return v == 0 or self.balance == "weights"

    def table2_markdown(self) -> str:
        """Table 2 as markdown (:func:`table2_markdown`), as written to ``table2_beta.md``."""
        return table2_markdown(self.table2(), self.label, self.eval_every)

    def table1_markdown(self) -> str:
        """Table 1 and MIL's per-class localisation as markdown, as written to ``table1_per_class.md``."""
        rows = self.table1()
        betas = [v.beta for v in self.variants[1:]]
        return table1_markdown(rows, betas, self.label) + "\n" + localisation_markdown(rows, self.label)

    def selection_bias(self) -> list[dict]:
        """Per model: the final Total and Abnormal AUC (%), the best seen during training and its
        step, and the inflation best - final (pp), from the test evaluations of
        ``reproduce --eval-every K`` (empty without them). Best is the first maximum over the
        evaluated steps, the final step included, so best >= final by construction: picking the
        checkpoint with the best *test* AUC, as most public implementations do."""
        h = self.history or {}
        if not h.get("eval_step"):
            return []
        steps = np.asarray(h["eval_step"])
        rows = []
        for m, name in enumerate(self.model_names):
            row = {"model": name, "method": self.variants[m % len(self.variants)].name,
                   "seed": self.seeds[m // len(self.variants)]}
            for key in ("total", "abnormal"):
                curve = 100 * np.array([values[m] for values in h[f"{key}_auc"]], dtype=float)
                best = int(np.nanargmax(curve))
                row.update({f"final_{key}": float(curve[-1]), f"best_{key}": float(curve[best]),
                            f"best_{key}_step": int(steps[best]), f"{key}_inflation": float(curve[best] - curve[-1])})
            rows.append(row)
        return rows

    def best_seen(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """``{"total": (best, inflation), "abnormal": ...}``, each ``[seeds, variants]`` in pp: the
        best test AUC each model reached during training and best - final
        (:meth:`selection_bias`); empty without test evaluations."""
        rows = self.selection_bias()
        if not rows:
            return {}
        shape = (len(self.seeds), len(self.variants))
        return {key: (np.array([r[f"best_{key}"] for r in rows]).reshape(shape),
                      np.array([r[f"{key}_inflation"] for r in rows]).reshape(shape)) for key in ("total", "abnormal")}

    def verdicts(self) -> list[dict]:
        """Every comparison of Tables 1 and 2 with its raw and Holm-adjusted verdict (the family
        it was corrected in named), as ``runs.json`` records them (from :meth:`changes`)."""
        changes = self.changes()
        if self.benchmark == "ucf_crime":
            keys = [("abnormal_auc", "abnormal"), ("total_auc", "total")] + [(k, k) for k, _ in LOCALISATION]
            per_class = "auc"
        else:  # XD-Violence: the APs and the AUC of the whole test set, per-class AP
            keys = [(k, k) for k in XD_HEADLINES] + [(k, k) for k, _ in LOCALISATION]
            per_class = "ap"
        table2 = [(v.name, metric, "all", name) for v in self.variants[1:] for metric, name in keys]
        table1 = [(v.name, per_class, c, f"{per_class}_{c}") for c in self.class_names for v in self.variants[1:]]
        out = []
        for method, metric, cls, name in table2 + table1:
            if (method, metric, cls) not in changes.index:  # a runs.json written before the metric existed
                continue
            r = changes.loc[(method, metric, cls)]
            p_holm = float(r["p_holm"])
            out.append({"family": r["family"], "method": method, "metric": name, "diff_pp": float(r["diff"]),
                        "ci_low": float(r["ci_low"]), "ci_high": float(r["ci_high"]), "p": float(r["p"]),
                        "p_holm": None if math.isnan(p_holm) else p_holm,
                        "exceeds_noise": bool(r["exceeds_noise"]), "exceeds_noise_holm": bool(r["exceeds_noise_holm"])})
        return out

    def runs(self) -> dict:
        """Every per-seed number, the full configuration and where it ran (``runs.json``); for a
        study rebuilt from a ``runs.json``, that record with its verdicts brought up to date."""
        if not self.trainers:
            return dict(self.record or {}, verdicts=self.verdicts())
        t = self.trainers[0]
        n = len(self.variants)
        world_of = (lambda i: i) if len(self.worlds) > 1 else (lambda i: 0)
        record = {
            "label": self.label,
            **({} if self.benchmark == "ucf_crime" else {"benchmark": self.benchmark,
                                                         "class_names": list(self.class_names),
                                                         "counts_any": self.counts_any}),
            "design": self.design,
            "balance": self.balance,
            "data": t.data.meta,
            "world_seeds": [w.meta.get("seed") for w in self.worlds],
            "counts": {"train": self.train_counts, "test": self.test_counts},
            "config": asdict(t.config),
            "settings": asdict(t.settings),
            "seeds": self.seeds,
            "variants": [asdict(v) for v in self.variants],
            "device": str(t.device),
            "cpu": platform.processor() or platform.machine(),
            "torch": torch.__version__,
            "train_seconds": round(self.train_seconds, 1),
            "runs": [{"model": name, "seed": self.seeds[i // n], "world": world_of(i // n),
                      "method": self.variants[i % n].name, "beta": self.variants[i % n].beta,
                      **self.results[i]} for i, name in enumerate(self.model_names)],
            "history": self.history,
            "verdicts": self.verdicts(),
        }
        if len(self.trainers) > 1:  # each method's own TrainConfig (sampler_beta of a "sampler" study)
            names = iter(v.name for v in self.variants)
            record["configs"] = {next(names): asdict(tr.config) for tr in self.trainers for _ in tr.variants}
        return record


#: Metrics of a model on the whole test set, as :func:`cbmil.eval.metrics.evaluate` names them.
WHOLE_TEST_SET = ("total_auc", "abnormal_auc", "average_precision", "false_alarm_rate") + \
    tuple(k for k, _ in LOCALISATION) + ("average_precision_trapezoid",)


def results_table(results: Sequence[dict], seeds: Sequence[int], variants, worlds: Sequence[int] | None = None):
    """The one long results table of a study (pandas): one row per world, seed, method, beta,
    metric and class, with its ``value`` (a fraction). ``class`` is ``"all"`` for a metric of the
    whole test set (:data:`WHOLE_TEST_SET`); per class, ``metric`` is ``"auc"`` (the class's
    videos against the normal frames) or a localisation summary (:data:`LOCALISATION`).
    ``results``: per-model dicts, model ``s * V + v``; ``worlds``: the world of each seed
    (default: seed i on world i)."""
    import pandas as pd

    worlds = list(range(len(seeds))) if worlds is None else list(worlds)
    rows = []
    for i, r in enumerate(results):
        s, v = divmod(i, len(variants))
        key = (worlds[s], seeds[s], variants[v].name, math.nan if variants[v].beta is None else variants[v].beta)
        rows += [key + (metric, "all", r[metric]) for metric in WHOLE_TEST_SET if metric in r]
        rows += [key + ("auc", c, value) for c, value in r["per_class_auc"].items()]
        for metric, name in (("ap", "per_class_ap"), ("ap_step", "per_class_ap_step")):  # XD-Violence's
            rows += [key + (metric, c, value) for c, value in r.get(name, {}).items()]
        for c, summary in r.get("per_class_localisation", {}).items():
            rows += [key + (k, c, summary[k]) for k, _ in LOCALISATION]
    return pd.DataFrame(rows, columns=["world", "seed", "method", "beta", "metric", "class", "value"])


#: The families of comparisons Holm's correction runs over: Table 2's AUC changes (Abnormal and
#: Total x betas), its localisation changes (3 summaries x betas), Table 1's per-class changes
#: (13 classes x betas).
FAMILIES = ("table2_auc", "table2_localisation", "table1_per_class")


_NO_CHANGE = {"diff": math.nan, "std": math.nan, "ci_low": math.nan, "ci_high": math.nan, "exceeds_noise": False,
              "p": math.nan, "p_holm": math.nan, "exceeds_noise_holm": False}


#: XD-Violence's whole-test-set metrics of its Table 2 and their Holm family ``xd_table2``: the AP
#: as its public code computes it (trapezoid, the headline), the step-wise AP and the frame AUC.
XD_HEADLINES = ("average_precision_trapezoid", "average_precision", "total_auc")


def _family(metric: str, cls: str, benchmark: str = "ucf_crime") -> str | None:
    """The Holm family of the comparison of ``metric`` on class ``cls`` (None: in no family).
    UCF-Crime: :data:`FAMILIES`. XD-Violence: ``xd_table2`` (:data:`XD_HEADLINES` x betas),
    ``table2_localisation`` and ``xd_table1_per_class`` (per-class AP, 6 classes x betas)."""
    if cls == "all" and metric in {k for k, _ in LOCALISATION}:
        return "table2_localisation"
    if benchmark != "ucf_crime":
        if cls == "all" and metric in XD_HEADLINES:
            return "xd_table2"
        if metric == "ap" and cls not in ("all", "mean of classes"):
            return "xd_table1_per_class"
        return None
    if cls == "all" and metric in ("abnormal_auc", "total_auc"):
        return "table2_auc"
    if metric == "auc" and cls in CLASSES:
        return "table1_per_class"
    return None


def _benchmark_of(data: VADDataset) -> dict:
    """The :class:`Study` keywords of ``data``'s benchmark (none for UCF-Crime's defaults)."""
    benchmark = data.meta.get("benchmark", "ucf_crime")
    if benchmark == "ucf_crime" and data.class_names == CLASSES:
        return {}
    return {"class_names": data.class_names, "benchmark": benchmark,
            "counts_any": {split: data.counts(split, any_label=True) for split in ("train", "test")}}


def change_columns(diff, tag: str) -> dict:
    """Table 1's columns of one per-class change (a row of :meth:`Study.changes`) at the beta
    ``tag``: ``change_<tag>`` (pp), its std, interval, raw verdict and p, and Holm's p and verdict
    (p None for the mean row, which is in no family)."""
    p = diff["p_holm"]
    return {f"change_{tag}": diff["diff"], f"change_{tag}_std": diff["std"],
            f"change_{tag}_ci_low": diff["ci_low"], f"change_{tag}_ci_high": diff["ci_high"],
            f"change_{tag}_exceeds_noise": bool(diff["exceeds_noise"]), f"change_{tag}_p": diff["p"],
            f"change_{tag}_p_holm": None if math.isnan(p) else float(p), f"change_{tag}_exceeds_noise_holm": bool(p < 0.05)}


def _seed_columns(key: str, values: np.ndarray, v: int, changes, method: str, metric: str) -> dict:
    """Table 2 columns of one metric for variant v: mean and std over seeds (``values [seeds,
    variants]``), and (CB-MIL) its paired change to MIL from ``changes`` (:meth:`Study.changes`)."""
    summary = _summary(values[:, v])
    out = {f"{key}_mean": summary["mean"], f"{key}_std": summary["std"]}
    diff = None
    if v:  # a runs.json written before a metric existed has no row for it: nan, as the missing values
        diff = changes.loc[(method, metric, "all")] if (method, metric, "all") in changes.index else _NO_CHANGE
    for name, field in (("diff", "diff"), ("diff_std", "std"), ("ci_low", "ci_low"), ("ci_high", "ci_high"),
                        ("exceeds_noise", "exceeds_noise"), ("p", "p"), ("p_holm", "p_holm"),
                        ("exceeds_noise_holm", "exceeds_noise_holm")):
        value = None if diff is None else diff[field]
        if isinstance(value, (bool, np.bool_)):
            value = bool(value)
        elif value is not None:
            value = None if name == "p_holm" and math.isnan(value) else float(value)
        out[f"{key}_{name}"] = value
    return out


def _summary(values: np.ndarray) -> dict:
    if not np.isfinite(values).all():
        return {"mean": math.nan, "std": math.nan}
    return seed_stats.seed_summary(values)


def _paired(treatment: np.ndarray, control: np.ndarray) -> dict:
    if not (np.isfinite(treatment).all() and np.isfinite(control).all()):
        return {"mean": math.nan, "std": math.nan, "ci_low": math.nan, "ci_high": math.nan, "exceeds_noise": False,
                "p_value": math.nan}
    return seed_stats.paired_difference(treatment, control)


def sampler_variants(betas: Sequence[float] = paper.BETAS) -> list[Variant]:
    """The rows of a ``balance="sampler"`` study: MIL, then ``"CB-sampler β"`` for each beta (its
    ``beta`` the class-balanced draw's; the model trains with unit weights, ``Variant(name)`` on a
    ``TrainConfig(sampler_beta=β)``)."""
    return [Variant("MIL")] + [Variant(f"{SAMPLER_NAME} {b:g}", float(b)) for b in betas]


def _check_balance(balance) -> None:
    if balance not in BALANCES:
        raise ValueError(f"balance must be one of {', '.join(repr(b) for b in BALANCES)}; got {balance!r}")


def _check_study_config(config: TrainConfig | None) -> TrainConfig:
    config = config or TrainConfig()
    if config.sampler_beta is not None:
        raise ValueError(f"config has sampler_beta={config.sampler_beta!r}; a study sets the draw itself: "
                         "use balance='sampler' (--balance sampler) with the betas instead")
    return config


def run_study(data: VADDataset | list[VADDataset], betas=paper.BETAS, seeds=(0, 1, 2),
              config: TrainConfig | None = None, label: str = "", settings: RunSettings | None = None,
              balance: str = "weights") -> Study:
    """Train and evaluate the models of a study for each seed; ``balance`` (:data:`BALANCES`) says which:

    * ``"weights"`` (default, the paper's study): MIL + CB-MIL at each beta, one vectorized run
      (one :class:`~cbmil.train.Trainer`): per seed, the same world, initial weights, batches and
      dropout masks; only the loss's class weights differ.
    * ``"sampler"``: MIL, and per beta ``"CB-sampler β"``: MIL's unit-weight loss on batches whose
      abnormal half is drawn class-balanced at beta (``TrainConfig(sampler_beta=β)``,
      :class:`cbmil.sampling.ClassBalancedSampler`). One Trainer for MIL and one per beta, the same
      seeds and worlds, put together by :meth:`Study.from_trainers` and compared with MIL paired by
      seed as CB-MIL is. The pairing keeps, per seed, the world, the initial weights, the dropout
      masks, and the normal bags and crops of every batch (the class-balanced draw has its own
      generator, :attr:`cbmil.train.Trainer.balance_rng`); it cannot keep the abnormal bags, which
      differ by construction. Each trainer's copy of the training bags is released once it is
      scored (``trainer.bags`` is None after), so that the bags are held once at a time.
    * ``"none"``: MIL alone (no comparison rows; ``betas`` unused).

    Re-sampling and re-weighting at one beta have the same expected ranking-term gradient up to a
    constant (:mod:`cbmil.sampling`): re-weighting's equals re-sampling's times
    :func:`~cbmil.sampling.mean_bag_weight`, which is 1 with ``normalize_weights="bags"`` and below 1
    with the default ``"classes"``. For UCF-Crime's training counts:

    >>> from cbmil.data.ucf_crime import CLASSES, TRAIN_COUNTS
    >>> from cbmil.sampling import mean_bag_weight
    >>> counts = [TRAIN_COUNTS[c] for c in CLASSES]
    >>> print(", ".join(f"{mean_bag_weight(counts, b):.2f}" for b in paper.BETAS))
    0.99, 0.81, 0.76, 0.76

    so at beta = 0.9999 re-weighting's expected ranking term is about 0.76 times re-sampling's.

    ``data``: one dataset for every seed, or a list with one world per seed (seed i trains and
    is evaluated on ``data[i]``; see :func:`synthetic_worlds`). ``config`` must leave
    ``sampler_beta`` unset (the study sets it).
    """
    _check_balance(balance)
    config = _check_study_config(config)
    if balance == "sampler":
        return _sampler_study(data, betas, seeds, config, label, settings)
    variants = paper_variants(betas) if balance == "weights" else [Variant("MIL")]
    trainer, scores, results = train_and_score(data, variants, seeds, config, settings)
    return Study.from_trainer(trainer, results, label, scores, balance=balance)


def train_and_score(data, variants, seeds, config, settings):
    """Train ``variants x seeds`` on ``data`` (one world, or seed i on world i) in one Trainer and
    evaluate every model: ``(trainer, scores, results)``, the test snippet scores per world
    (:func:`cbmil.train.score_bank`) and the per-model results of :func:`cbmil.train.evaluate_bank`
    (model ``s * V + v``)."""
    from cbmil.accel.memory import return_freed_memory
    trainer = Trainer(data, variants, seeds, config, settings).run()
    return_freed_memory()  # the steps' activations, kept for reuse while training, are not needed to score
    scores = score_bank(trainer.bank, trainer.worlds)
    results = evaluate_bank(trainer.bank, trainer.worlds, trainer.settings.protocol, snippet_scores=scores)
    return trainer, scores, results


def _sampler_study(data, betas, seeds, config: TrainConfig, label: str, settings) -> Study:
    """``balance="sampler"`` (:func:`run_study`): MIL's Trainer, then one per beta, combined."""
    rows = sampler_variants(betas)
    trainers, scores, results = [], [], []
    for variant in rows:
        cfg = config if variant.beta is None else replace(config, sampler_beta=variant.beta)
        trainer, world_scores, evaluated = train_and_score(data, [Variant(variant.name)], seeds, cfg, settings)
        trainer.bags = None  # scored: the next trainer makes its own copy (one held at a time)
        trainers.append(trainer)
        scores.append(world_scores)
        results.append(evaluated)
    return Study.from_trainers(trainers, results, label, scores, variants=rows, balance="sampler")


def synthetic_worlds(preset: str, seeds, map_test_snippets: bool = True, **overrides) -> list[VADDataset]:
    """One synthetic world per seed: ``make_dataset(preset, seed=s, **overrides)`` for each s.

    Held as a study needs them: the training bags of all worlds are slices of one
    ``[W, N, 1, 32, D]`` array, which a CPU :class:`~cbmil.train.Trainer` in fp32 trains on
    without a copy; with ``map_test_snippets`` (default) each world's test snippets, needed only
    for scoring, are written to a temporary file as soon as the world is made and memory-mapped
    back read-only, as a prepared cache's are (the file is unlinked at once; its disk space is
    freed with the array). Same values either way."""
    from cbmil.data.synthetic import make_dataset
    worlds, stacked = [], None
    for i, seed in enumerate(seeds):
        world = make_dataset(preset, seed=int(seed), **overrides)
        if stacked is None:  # the training bags of all worlds in one array, which a Trainer uses as it is
            stacked = np.empty((len(seeds),) + world.train_bags.shape, dtype=world.train_bags.dtype)
        stacked[i] = world.train_bags
        world.train_bags = stacked[i]
        if map_test_snippets:
            world.test_snippets = _mapped_copy(world.test_snippets)
        worlds.append(world)
    return worlds


def _mapped_copy(array: np.ndarray) -> np.ndarray:
    """``array`` as a read-only memory map of an unlinked temporary ``.npy`` file (same values)."""
    import os
    import tempfile
    handle, name = tempfile.mkstemp(suffix=".npy", prefix="cbmil-test-snippets-")
    try:
        with os.fdopen(handle, "wb") as fh:
            np.save(fh, array)
        return np.load(name, mmap_mode="r")
    finally:
        os.unlink(name)  # the mapping keeps the data until the array is freed


# ---------------------------------------------------------------------- writing

def _fmt(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.2f}"
    return str(value)


def write_csv(rows: list[dict], path: Path) -> None:
    fields = list(dict.fromkeys(k for row in rows for k in row))  # every column, in first-seen order
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if v is None else v) for k, v in row.items()})


def read_csv(path: str | Path, text=(), integer=lambda key: False) -> list[dict]:
    """Rows of a CSV written by :func:`write_csv` with their numbers as numbers: the columns in
    ``text`` stay strings, those for which ``integer(column)`` holds become ints, empty cells
    (None when written) stay ``""``, every other cell a float."""
    def value(key: str, cell: str):
        if key in text or cell == "":
            return cell
        return int(cell) if integer(key) else float(cell)
    with open(path, newline="") as fh:
        return [{key: value(key, cell) for key, cell in row.items()} for row in csv.DictReader(fh)]


def _mean_and_change(r: dict, key: str) -> list[str]:
    """Two table cells: mean ± std over seeds, and the paired change vs MIL with its interval."""
    cells = [f"{_fmt(r[f'{key}_mean'])} ± {_fmt(r[f'{key}_std'])}"]
    if r[f"{key}_diff"] is None:
        return cells + ["—"]
    star = ("*" if r[f"{key}_exceeds_noise"] else "") + ("†" if r.get(f"{key}_exceeds_noise_holm") else "")
    return cells + [f"{r[f'{key}_diff']:+.2f} [{_fmt(r[f'{key}_ci_low'])}, {_fmt(r[f'{key}_ci_high'])}]{star}"]


def table2_markdown(rows: list[dict], label: str, eval_every: int = 0) -> str:
    """Table 2 (markdown). Rows from a study run with ``reproduce --eval-every K`` carry the
    best-checkpoint columns, shown with K (``eval_every``) named in the caption."""
    picked = "abnormal_inflation_mean" in rows[0]
    every = f"every {eval_every} steps" if eval_every else "at regular steps"
    compared = ("Δ vs MIL = paired mean difference of the same seeds with its 95 % t-interval; * = interval "
                "excludes 0 (uncorrected); † = also after Holm's correction over the "
                f"{2 * (len(rows) - 1)} AUC changes of the table (adjusted p < 0.05). ") if len(rows) > 1 else \
        "no method compared with MIL (Δ columns empty). "
    lines = [f"Table 2 analog — {label}. Mean ± std over seeds; " + compared +
             "Paper: I3D on real UCF-Crime, one run.",
             "",
             "| method | Abnormal AUC % | Δ vs MIL [95 % CI] | Total AUC % | Δ vs MIL [95 % CI] | "
             "paper Abnormal % | paper Total % |" + (" best − final Abn / Total (pp) |" if picked else ""),
             "|---|---:|---:|---:|---:|---:|---:|" + ("---:|" if picked else "")]
    for r in rows:
        cells = [r["method"]]
        for key in ("abnormal", "total"):
            cells += _mean_and_change(r, key)
        cells += [_fmt(r["paper_abnormal"]), _fmt(r["paper_total"])]
        if picked:
            cells.append(f"{_fmt(r['abnormal_inflation_mean'])} / {_fmt(r['total_inflation_mean'])}")
        lines.append("| " + " | ".join(cells) + " |")
    if picked:
        lines += ["", "best − final: mean over seeds of the best test AUC seen during training (evaluated "
                  f"{every}, the last step included) minus the final one, i.e. what picking the checkpoint "
                  "with the best *test* AUC, as most public implementations do, adds. Δ vs MIL between such picked "
                  "checkpoints (paired, 95 % CI): " + "; ".join(
                      f"{r['method']} Abnormal {r['abnormal_best_diff']:+.2f} [{_fmt(r['abnormal_best_ci_low'])}, "
                      f"{_fmt(r['abnormal_best_ci_high'])}], Total {r['total_best_diff']:+.2f} "
                      f"[{_fmt(r['total_best_ci_low'])}, {_fmt(r['total_best_ci_high'])}]" for r in rows[1:]) + "."]
    plans = []
    for r in rows[1:]:  # rows the paper published (CB-MIL's; a re-sampling row has no paper number)
        published = paper.TABLE2.get(r["beta"]) if r.get("paper_abnormal") is not None else None
        sd = r["abnormal_diff_std"]
        if published and sd is not None and np.isfinite(sd) and sd > 0:
            gain = published[0] - paper.TABLE2[None][0]
            plan = seed_stats.seeds_needed(sd, gain)
            plans.append(f"β={r['beta']:g}: {gain:+.2f} pp at SD {sd:.2f} → "
                         f"{plan['seeds'] if plan['seeds'] else '> 100,000'}")
    if plans:
        lines += ["", "Seeds needed to resolve the paper's published Abnormal AUC gain (paired two-sided t-test, "
                  "α = 0.05, power 0.8, noncentral t) at this run's SD of the per-seed differences: "
                  + "; ".join(plans) + "."]
    lines += ["", "Localisation on the abnormal test videos (cbmil.eval.metrics.localisation; mean ± std over seeds, "
              f"Δ vs MIL paired as above, † = Holm over these {len(LOCALISATION) * (len(rows) - 1)} changes): the median over videos of the frame AUC inside each video, the share "
              "of videos whose events score above the rest of the video, the share whose top-scoring snippet "
              "lies in an event.", "",
              "| method | " + " | ".join(f"{name} | Δ vs MIL" for _, name in LOCALISATION) + " |",
              "|---|" + "---:|---:|" * len(LOCALISATION)]
    for r in rows:
        cells = [r["method"]]
        for key, _ in LOCALISATION:
            cells += _mean_and_change(r, key)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def localisation_markdown(rows: list[dict], label: str) -> str:
    """Per-class localisation of plain MIL (Table 1's rows): mean over seeds of each summary."""
    lines = [f"Localisation per class, MIL — {label}. Mean over seeds of the per-class summaries "
             "(abnormal test videos of the class).", "",
             "| class | test videos | MIL AUC % | " + " | ".join(name for _, name in LOCALISATION) + " |",
             "|---|---:|---:|" + "---:|" * len(LOCALISATION)]
    for r in rows:
        cells = [r["class"], str(r["test_videos"]), _fmt(r["mil_mean"])] + [_fmt(r[f"mil_{k}"]) for k, _ in LOCALISATION]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def table1_markdown(rows: list[dict], betas, label: str) -> str:
    head = ["class", "train", "test", "MIL AUC %"]
    published = {b for b in betas if rows and f"paper_change_{b:g}" in rows[0]}  # not for a re-sampling study
    for b in betas:
        head.append(f"Δ β={b:g} (pp)")
        if b in published:
            head.append(f"paper Δ β={b:g}")
    compared = ("Per-class AUC change against MIL in percentage points: paired mean ± std of the per-seed "
                "differences; * = 95 % interval excludes 0 (uncorrected); † = also after Holm's correction over "
                f"the {len(CLASSES) * len(betas)} per-class changes (adjusted p < 0.05; the mean row is not in that "
                "family).") if len(betas) else "Per-class AUC of MIL, mean ± std over seeds (no method compared)."
    lines = [f"Table 1 analog — {label}. " + compared + " Paper: I3D on real UCF-Crime, one run.",
             "", "| " + " | ".join(head) + " |", "|" + "---|" * 3 + "---:|" + "---:|" * (len(head) - 4)]
    for r in rows:
        cells = [r["class"], str(r["train_videos"]), str(r["test_videos"]), f"{r['mil_mean']:.2f} ± {_fmt(r['mil_std'])}"]
        for b in betas:
            tag = f"{b:g}"
            star = ("*" if r[f"change_{tag}_exceeds_noise"] else "") + \
                ("†" if r.get(f"change_{tag}_exceeds_noise_holm") else "")
            cells.append(f"{r[f'change_{tag}']:+.2f} ± {_fmt(r[f'change_{tag}_std'])}{star}")
            if b in published:
                digits = 2 if r["class"] == "mean of classes" else 1  # as published
                cells.append(f"{r[f'paper_change_{tag}']:+.{digits}f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_outputs(study: Study, out: str | Path, figures: str | Path | None = "figures",
                  prefix: str = "reproduce") -> dict[str, Path]:
    """Write the tables (csv + md), ``runs.json`` and the figures; return the paths. A study on
    XD-Violence writes its own tables (:func:`cbmil.study.xd.write_outputs`)."""
    if study.benchmark != "ucf_crime":
        from cbmil.study import xd
        return xd.write_outputs(study, out, figures, "xd" if prefix == "reproduce" else prefix)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    betas = [v.beta for v in study.variants[1:]]
    t1, t2 = study.table1(), study.table2()
    paths = {"results": out / "results.csv", "table1_csv": out / "table1_per_class.csv",
             "table1_md": out / "table1_per_class.md",
             "table2_csv": out / "table2_beta.csv", "table2_md": out / "table2_beta.md", "runs": out / "runs.json"}
    study.results_table.to_csv(paths["results"], index=False)
    write_csv(t1, paths["table1_csv"])
    write_csv(t2, paths["table2_csv"])
    paths["table1_md"].write_text(table1_markdown(t1, betas, study.label) + "\n" + localisation_markdown(t1, study.label))
    paths["table2_md"].write_text(table2_markdown(t2, study.label, study.eval_every))
    bias = study.selection_bias()
    if bias:
        paths["selection_bias"] = out / "selection_bias.csv"
        write_csv(bias, paths["selection_bias"])
    paths["runs"].write_text(json.dumps(study.runs(), indent=1, default=_json_default))
    if figures is not None:
        paths.update(write_figures(study, t1, t2, figures, prefix))
    return paths


def _json_default(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.bool_):
        return bool(value)
    raise TypeError(f"not JSON serialisable: {type(value)}")


def write_figures(study: Study, t1: list[dict], t2: list[dict], folder, prefix: str) -> dict[str, Path]:
    import matplotlib.pyplot as plt

    paths = {}
    if len(study.variants) < 2:  # MIL alone (balance "none"): no change to draw
        return paths
    beta = study.variants[-1].beta
    tag = f"{beta:g}"
    method = SAMPLER_NAME if study.balance == "sampler" else "CB-MIL"
    fig = plots.per_class_change(t1, beta, f"{method} β={tag} − MIL, {study.label}, {len(study.seeds)} seeds",
                                 title=f"Per-class AUC change, β = {tag}")
    paths["fig_table1"] = plots.save(fig, f"{prefix}_per_class_change", folder)
    plt.close(fig)
    fig = plots.change_vs_beta(t2, title=f"{method} − MIL vs β — {study.label}, {len(study.seeds)} seeds")
    if study.balance == "sampler":
        for ax in fig.axes:
            if ax.get_xlabel():
                ax.set_xlabel("beta of the class-balanced draw")
    paths["fig_table2"] = plots.save(fig, f"{prefix}_change_vs_beta", folder)
    plt.close(fig)
    return paths


# ---------------------------------------------------------------------- saved scores

def write_scores(study: Study, out: str | Path) -> list[Path]:
    """``scores.npz`` (one world) or ``scores_world<k>.npz`` (world k = data seed k): each a
    self-contained file to re-evaluate that world's models without the kit.

    Arrays: ``snippet_scores`` float32 ``[M, S]``, ``model_names`` ``[M]`` (as in ``runs.json``),
    ``test_offsets`` ``[V + 1]``, ``test_n_frames`` ``[V]``, ``test_classes`` ``[V]`` (0-12, 13 =
    Normal), ``test_keys`` ``[V]``, ``test_frame_labels`` uint8 ``[F]``, ``test_frame_offsets``
    ``[V + 1]``, ``class_names`` ``[14]`` and ``protocol`` (how snippet scores become frame scores).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    names = study.model_names
    per_world = len(names) // len(study.world_scores)
    paths = []
    for k, (world, scores) in enumerate(zip(study.worlds, study.world_scores)):
        tag = "" if len(study.worlds) == 1 else f"_world{world.meta.get('seed', k)}"
        path = out / f"scores{tag}.npz"
        np.savez_compressed(
            path, snippet_scores=scores.astype(np.float32),
            model_names=np.array(names[k * per_world:(k + 1) * per_world]),
            test_offsets=np.asarray(world.test_offsets, dtype=np.int64),
            test_n_frames=np.asarray(world.test_n_frames, dtype=np.int64),
            test_classes=np.asarray(world.test_classes, dtype=np.int64),
            test_keys=np.array(world.test_keys if world.test_keys else [str(i) for i in range(len(world.test_classes))]),
            test_frame_labels=np.asarray(world.test_frame_labels, dtype=np.uint8),
            test_frame_offsets=np.asarray(world.test_frame_offsets, dtype=np.int64),
            class_names=np.array(study.class_names + ("Normal",)), protocol=np.array(study.protocol),
            **({} if world.test_class_sets is None else {"test_class_sets": np.asarray(world.test_class_sets)}))
        paths.append(path)
    return paths


# ---------------------------------------------------------------------- the main job

def reproduce(data: str | Path = "synthetic", *, preset: str = "ci", betas: Sequence[float] = paper.BETAS,
              seeds: int | None = None, iterations: int | None = None, out: str | Path | None = "results",
              figures: str | Path | None = None, data_seed: int = 0, one_world: bool = False,
              balanced: bool = False, config: str | TrainConfig = "paper", optimizer: str = "adagrad",
              pairing: str = "paired", sparsity: str = "linear", normalize: str = "classes",
              crop: str = "random", batch_size: int = 30, loss: str = "ranking", topk: int = TOPK,
              settings: RunSettings | None = None, save_scores: bool = False, save_checkpoints: bool = False,
              keep_memory: bool = False, balance: str = "weights", dataset: str = "ucf",
              multi_label_weight: str = "mean") -> Study:
    """The paper's study with seeds: train MIL and CB-MIL at every beta for ``seeds`` seeds in one
    vectorized run, evaluate every model, and (with ``out``) write the tables, ``runs.json``,
    ``results.csv`` and figures there. Returns the :class:`Study`.

    balance: how the rows after MIL balance the classes (:data:`BALANCES`, :func:`run_study`):
        ``"weights"`` (default: CB-MIL at each beta, the paper's study); ``"sampler"``: at each
        beta, ``"CB-sampler β"``, MIL's unit-weight loss on the class-balanced draw of the abnormal
        bags, paired with MIL by seed (world, initial weights, dropout masks, normal bags and crops;
        not the abnormal bags, by construction), with tables, Holm families and ``runs.json`` as for
        CB-MIL (no paper columns: the paper did not re-sample); ``"none"``: MIL alone, no
        comparison rows and no figures. The label (so every caption and figure title) names the
        balance; ``runs.json`` records it in ``balance`` and, for "sampler", each method's
        ``TrainConfig`` in ``configs``. ``save_checkpoints`` with "sampler" writes ``models.pt``
        (MIL) and one ``models_CB-sampler_<β>.pt`` per beta.

    data: ``"synthetic"`` (seed i on its own world, data seed ``data_seed + i``; ``one_world``:
        every seed on the world of ``data_seed``) or a cache folder written by ``data prepare``.
    preset: synthetic size and the default ``seeds``/``iterations`` (:data:`PRESETS`).
    config: ``"paper"`` (default), ``"sultani"`` (his public script's optimiser, L2 and linear
        layer 2; steps stay ``iterations``) or a :class:`TrainConfig` (then ``iterations`` and
        the loss options below must be left at their defaults).
    loss, topk: ``"ranking"`` (default, the paper's hinge) or ``"topk"``, the top-``topk`` mean
        under a cross-entropy (:attr:`TrainConfig.loss`); methods keep their names (MIL: unweighted,
        CB-MIL: class-weighted), the study's label (and so every table caption and figure title)
        names the top-k loss.
    dataset: ``"ucf"`` (default, UCF-Crime) or ``"xd"``: XD-Violence, its synthetic world
        (:func:`cbmil.data.synthetic.make_dataset` with ``benchmark="xd_violence"``) or a cache made
        by ``data prepare --dataset xd``; its tables report AP (:mod:`cbmil.study.xd`).
    multi_label_weight: the weight of a bag of several classes (:attr:`TrainConfig.multi_label_weight`,
        ``"mean"`` or ``"max"``); only XD-Violence has such bags.
    settings: how the run executes (:class:`RunSettings`: device, precision, progress, ...).
    figures: folder for the figures; ``None`` (default) = ``out``; ``"none"`` = no figures.
    keep_memory: on a CPU, make the process keep freed memory for the next step
        (:func:`cbmil.accel.memory.keep_freed_memory`; process-wide, same arithmetic).
    Bad options raise ``ValueError`` before any data is made.
    """
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {', '.join(PRESETS)}; got {preset!r}")
    if dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {', '.join(DATASETS)}; got {dataset!r}")
    benchmark = DATASETS[dataset]
    settings = settings or RunSettings()
    seed_list = list(range(seeds or PRESETS[preset]["seeds"]))
    iterations = iterations or PRESETS[preset]["iterations"]
    _check_balance(balance)
    train_config = _check_study_config(_train_config(
        config, iterations=iterations, optimizer=optimizer, pairing=pairing, sparsity=sparsity,
        normalize_weights=normalize, crop=crop, batch_size=batch_size, loss=loss, topk=topk,
        multi_label_weight=multi_label_weight))
    device = check_settings(settings, train_config)  # refuses impossible settings before the data is made
    start = time.perf_counter()
    if str(data) == "synthetic":
        from cbmil.data.sources import load_source
        kind = ", balanced training split" if balanced else ""
        extra = {} if benchmark == "ucf_crime" else {"benchmark": benchmark}
        name = "SYNTHETIC data" if benchmark == "ucf_crime" else "SYNTHETIC XD-Violence data"
        if one_world:
            worlds = load_source("synthetic", preset, data_seed, balanced=balanced, **extra)
            label = f"{name} ({preset} preset{kind}, one world: data seed {data_seed})"
        else:
            worlds = synthetic_worlds(preset, [data_seed + s for s in seed_list], balanced=balanced, **extra)
            label = f"{name} ({preset} preset{kind}, one world per seed)"
    else:
        if balanced:
            raise ValueError("balanced=True (--balanced) applies to synthetic data only")
        from cbmil.data.sources import load_source
        worlds = load_source(str(data))
        found = worlds.meta.get("benchmark", "ucf_crime")
        if found != benchmark:
            raise ValueError(f"{data} is a {found} cache; expected a {benchmark} one for dataset={dataset!r} "
                             f"(--dataset {'xd' if found == 'xd_violence' else 'ucf'})")
        label = f"features from {data}"
    label += loss_label(train_config) + balance_label(balance)
    if keep_memory and device.type == "cpu":
        from cbmil.accel.memory import keep_freed_memory
        keep_freed_memory()  # before the bags and the bank are allocated
    data_seconds = time.perf_counter() - start
    study = run_study(worlds, betas, seed_list, train_config, label, settings, balance=balance)
    study.data_seconds = data_seconds  # making or reading the data
    if out is not None:
        figures = plots.figure_folder(figures, out)
        study.paths = write_outputs(study, out, figures)
        if save_scores:
            study.paths.update({f"scores{k}": p for k, p in enumerate(write_scores(study, out))})
        if save_checkpoints:
            from cbmil.interop.score import save_models
            for k, trainer in enumerate(study.trainers):  # one file per trainer: its own TrainConfig
                tag = "" if k == 0 else "_" + trainer.variants[0].name.replace(" ", "_")
                study.paths[f"models{tag}"] = save_models(trainer, Path(out) / f"models{tag}.pt")
    study.seconds = time.perf_counter() - start
    return study


#: ``reproduce(dataset=...)`` / ``--dataset``: the benchmark of each name.
DATASETS = {"ucf": "ucf_crime", "xd": "xd_violence"}


def loss_label(config: TrainConfig) -> str:
    """What a study's label adds for its loss: nothing for the paper's ranking loss, else its name
    (``", top-3 MIL loss (mean of 3 top scores + BCE)"``)."""
    if config.loss == "ranking":
        return ""
    return f", top-{config.topk} MIL loss (mean of {config.topk} top scores + BCE)"


def balance_label(balance: str) -> str:
    """What a study's label adds for its ``balance``: nothing for the paper's re-weighting, else
    what the rows after MIL are (``", class-balanced re-sampling (CB-sampler β: MIL's loss, ...)"``)."""
    if balance == "sampler":
        return (f", class-balanced re-sampling ({SAMPLER_NAME} β: MIL's unweighted loss on batches whose "
                "abnormal bags are drawn class-balanced at β)")
    if balance == "none":
        return ", MIL only"
    return ""


def _train_config(config: str | TrainConfig, **fields) -> TrainConfig:
    """The :class:`TrainConfig` of :func:`reproduce`'s ``config`` and loss options."""
    if isinstance(config, TrainConfig):
        defaults = TrainConfig()
        changed = [k for k, v in fields.items() if k != "iterations" and v != getattr(defaults, k)]
        if changed:
            raise ValueError(f"config is a TrainConfig: set {', '.join(changed)} in it, not as options")
        return config
    if config == "sultani":  # his optimiser, L2 and linear layer 2; steps stay `iterations`
        if fields.pop("optimizer") != "adagrad":
            raise ValueError("config 'sultani' fixes the optimiser (Adagrad, lr 0.01); drop the optimizer option")
        return TrainConfig.sultani(**fields)
    if config != "paper":
        raise ValueError(f"config must be 'paper', 'sultani' or a TrainConfig; got {config!r}")
    return TrainConfig(**fields)


def rebuild_tables(runs: str | Path, out: str | Path | None = None, figures: str | Path | None = None) -> Study:
    """Tables 1-2 (csv + md), ``results.csv`` and figures again from a study's ``runs.json``
    (no training), e.g. after a change in the statistics, written to ``out`` (default: the folder
    of ``runs``) with the ``runs.json`` whose ``verdicts`` (every comparison, raw and
    Holm-adjusted) are brought up to date; ``figures``: as in :func:`reproduce`."""
    runs_path = Path(runs)
    if not runs_path.is_file():
        raise FileNotFoundError(f"{runs_path} does not exist; expected a runs.json written by `cbmil reproduce`")
    study = Study.from_runs(json.loads(runs_path.read_text()))
    out = runs_path.parent if out is None else out
    figures = plots.figure_folder(figures, out)
    study.paths = write_outputs(study, out, figures)
    return study


def load_study(folder: str | Path) -> Study:
    """A finished study read back from its folder (what ``cbmil reproduce --save-scores`` wrote
    there): the tables from ``runs.json`` and, when present, every world's test scores and test
    layout from ``scores.npz`` / ``scores_world<k>.npz``. No training, seconds.

    Returns a :class:`Study` whose ``world_scores[k]`` is the ``[M_k, S_k]`` float32 score array of
    world k and ``layouts[k]`` the dict of that file's arrays (``test_offsets``,
    ``test_frame_labels``, ``test_frame_offsets``, ``test_classes``, ``test_keys``, ...; see
    :func:`write_scores`). Both are empty when the study was run without ``--save-scores``.
    """
    from cbmil.eval.protocols import load_scores

    folder = Path(folder)
    runs = folder / "runs.json"
    if not runs.is_file():
        raise FileNotFoundError(f"{runs} does not exist; expected the runs.json of a study written by `cbmil reproduce`")
    study = Study.from_runs(json.loads(runs.read_text()))
    files = sorted(folder.glob("scores_world*.npz"), key=lambda p: int(p.stem.removeprefix("scores_world")))
    if not files and (folder / "scores.npz").is_file():
        files = [folder / "scores.npz"]
    study.layouts = [load_scores(path) for path in files]
    study.world_scores = [layout["snippet_scores"] for layout in study.layouts]
    study.snippet_scores = study.world_scores[0] if len(study.world_scores) == 1 else None
    names = [name for layout in study.layouts for name in layout["model_names"].tolist()]
    if study.layouts and names != study.model_names:
        raise ValueError(f"{folder}: the scores files hold models {names[:3]}... but runs.json holds "
                         f"{study.model_names[:3]}...; expected the files of one run")
    return study
