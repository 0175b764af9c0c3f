"""``cbmil reproduce``: the paper's study, with seeds. Trains MIL and CB-MIL at every beta over
several seeds in one vectorized run, evaluates every model, and writes Tables 1 and 2 (with
spread over seeds, paired intervals against MIL and the paper's numbers beside), ``runs.json``
and figures.

Uncertainty: for each metric, mean and sample std over seeds; for a CB-MIL variant, the
per-seed difference to MIL *of the same seed* (same initial weights, batches and dropout
masks), with a paired Student-t 95 % interval (:func:`cbmil.metrics.paired_difference`). A
difference "exceeds seed noise" when that interval excludes 0.
"""

from __future__ import annotations

import csv
import json
import math
import platform
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from . import metrics, paper, plots
from .dataset import VADDataset
from .train import TrainConfig, Trainer, evaluate_bank, paper_variants, score_snippets
from .ucf_crime import CLASSES

#: Settings of ``--preset``: "ci" for a quick check, "full" for the README's main job.
PRESETS = {"ci": {"seeds": 2, "iterations": 300}, "full": {"seeds": 3, "iterations": 1000}}


class Study:
    """Per-seed results of a ``seeds x variants`` grid and the tables built from them.

    ``total[s, v]``, ``abnormal[s, v]`` (fractions) and ``per_class[s, v, c]`` hold the
    metrics of variant v (0 = MIL) trained with seed s; ``snippet_scores [M, S]`` the test
    snippet scores of every model (m = s * V + v).
    """

    def __init__(self, trainer: Trainer, results: list[dict], label: str, snippet_scores: np.ndarray):
        self.trainer, self.label, self.snippet_scores = trainer, label, snippet_scores
        self.variants, self.seeds = trainer.variants, trainer.seeds
        s, v = len(self.seeds), len(self.variants)
        self.results = results
        self.total = np.array([r["total_auc"] for r in results]).reshape(s, v)
        self.abnormal = np.array([r["abnormal_auc"] for r in results]).reshape(s, v)
        self.per_class = np.array([[r["per_class_auc"][c] for c in CLASSES] for r in results]).reshape(s, v, -1)

    # ------------------------------------------------------------------ tables
    def table2(self) -> list[dict]:
        """One row per variant: Abnormal and Total AUC (%), spread, paired difference to MIL."""
        rows = []
        for v, variant in enumerate(self.variants):
            published = paper.TABLE2.get(variant.beta)
            row = {"method": variant.name, "beta": variant.beta}
            for key, values in (("abnormal", self.abnormal), ("total", self.total)):
                summary = metrics.seed_summary(100 * values[:, v])
                row[f"{key}_mean"], row[f"{key}_std"] = summary["mean"], summary["std"]
                diff = _paired(100 * values[:, v], 100 * values[:, 0]) if v else None
                row[f"{key}_diff"] = diff["mean"] if diff else None
                row[f"{key}_ci_low"] = diff["ci_low"] if diff else None
                row[f"{key}_ci_high"] = diff["ci_high"] if diff else None
                row[f"{key}_exceeds_noise"] = diff["exceeds_noise"] if diff else None
            row["paper_abnormal"], row["paper_total"] = published if published else (None, None)
            rows.append(row)
        return rows

    def table1(self) -> list[dict]:
        """One row per class (and a mean row): MIL's AUC and each beta's change against MIL (pp)."""
        data = self.trainer.data
        train, test = data.counts("train"), data.counts("test")
        rows = []
        for c, name in enumerate(CLASSES + ("mean of classes",)):
            if c < len(CLASSES):
                values = 100 * self.per_class[:, :, c]
                row = {"class": name, "train_videos": train[name], "test_videos": test[name]}
            else:
                values = 100 * np.nanmean(self.per_class, axis=2)
                row = {"class": name, "train_videos": sum(train[k] for k in CLASSES),
                       "test_videos": sum(test[k] for k in CLASSES)}
            mil = metrics.seed_summary(values[:, 0]) if np.isfinite(values[:, 0]).all() else {"mean": math.nan,
                                                                                               "std": math.nan}
            row["mil_mean"], row["mil_std"] = mil["mean"], mil["std"]
            for v, variant in enumerate(self.variants[1:], 1):
                tag = f"{variant.beta:g}"
                diff = _paired(values[:, v], values[:, 0])
                row[f"change_{tag}"] = diff["mean"]
                row[f"change_{tag}_std"] = diff["std"]
                row[f"change_{tag}_ci_low"], row[f"change_{tag}_ci_high"] = diff["ci_low"], diff["ci_high"]
                row[f"change_{tag}_exceeds_noise"] = diff["exceeds_noise"]
                if variant.beta in paper.TABLE1_BETAS:
                    i = paper.TABLE1_BETAS.index(variant.beta)
                    row[f"paper_change_{tag}"] = (paper.TABLE1[name][i] if c < len(CLASSES)
                                                  else paper.TABLE1_AVERAGE[i])
            rows.append(row)
        return rows

    def runs(self) -> dict:
        """Every per-seed number, the full configuration and where it ran (``runs.json``)."""
        t = self.trainer
        return {
            "label": self.label,
            "data": t.data.meta,
            "config": asdict(t.config),
            "seeds": t.seeds,
            "variants": [asdict(v) for v in t.variants],
            "device": str(t.device),
            "cpu": platform.processor() or platform.machine(),
            "torch": torch.__version__,
            "train_seconds": round(t.seconds, 1),
            "runs": [{"seed": s, "method": v.name, "beta": v.beta, **self.results[i]}
                     for i, (s, v) in enumerate((s, v) for s in t.seeds for v in t.variants)],
            "history": t.history,
        }


def _paired(treatment: np.ndarray, control: np.ndarray) -> dict:
    if not (np.isfinite(treatment).all() and np.isfinite(control).all()):
        return {"mean": math.nan, "std": math.nan, "ci_low": math.nan, "ci_high": math.nan, "exceeds_noise": False}
    return metrics.paired_difference(treatment, control)


def run_study(data: VADDataset, betas=paper.BETAS, seeds=(0, 1, 2), config: TrainConfig | None = None,
              label: str = "") -> Study:
    """Train MIL + CB-MIL at each beta for each seed (one vectorized run) and evaluate all models."""
    trainer = Trainer(data, paper_variants(betas), seeds, config).run()
    scores = score_snippets(trainer.bank, data.test_snippets)
    results = evaluate_bank(trainer.bank, data, trainer.config.protocol, snippet_scores=scores)
    return Study(trainer, results, label, scores)


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
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if v is None else v) for k, v in row.items()})


def table2_markdown(rows: list[dict], label: str) -> str:
    lines = [f"Table 2 analog — {label}. Mean ± std over seeds; Δ vs MIL = paired mean difference of the "
             "same seeds with its 95 % t-interval; * = interval excludes 0. Paper: I3D on real UCF-Crime, one run.",
             "",
             "| method | Abnormal AUC % | Δ vs MIL [95 % CI] | Total AUC % | Δ vs MIL [95 % CI] | "
             "paper Abnormal % | paper Total % |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        cells = [r["method"]]
        for key in ("abnormal", "total"):
            cells.append(f"{r[f'{key}_mean']:.2f} ± {_fmt(r[f'{key}_std'])}")
            if r[f"{key}_diff"] is None:
                cells.append("—")
            else:
                star = "*" if r[f"{key}_exceeds_noise"] else ""
                cells.append(f"{r[f'{key}_diff']:+.2f} [{_fmt(r[f'{key}_ci_low'])}, {_fmt(r[f'{key}_ci_high'])}]{star}")
        cells += [_fmt(r["paper_abnormal"]), _fmt(r["paper_total"])]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def table1_markdown(rows: list[dict], betas, label: str) -> str:
    head = ["class", "train", "test", "MIL AUC %"]
    for b in betas:
        head.append(f"Δ β={b:g} (pp)")
        if b in paper.TABLE1_BETAS:
            head.append(f"paper Δ β={b:g}")
    lines = [f"Table 1 analog — {label}. Per-class AUC change against MIL in percentage points: paired mean ± "
             "std of the per-seed differences; * = 95 % interval excludes 0. Paper: I3D on real UCF-Crime, one run.",
             "", "| " + " | ".join(head) + " |", "|" + "---|" * 3 + "---:|" + "---:|" * (len(head) - 4)]
    for r in rows:
        cells = [r["class"], str(r["train_videos"]), str(r["test_videos"]), f"{r['mil_mean']:.2f} ± {_fmt(r['mil_std'])}"]
        for b in betas:
            tag = f"{b:g}"
            star = "*" if r[f"change_{tag}_exceeds_noise"] else ""
            cells.append(f"{r[f'change_{tag}']:+.2f} ± {_fmt(r[f'change_{tag}_std'])}{star}")
            if b in paper.TABLE1_BETAS:
                digits = 2 if r["class"] == "mean of classes" else 1  # as published
                cells.append(f"{r[f'paper_change_{tag}']:+.{digits}f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_outputs(study: Study, out: str | Path, figures: str | Path | None = "figures",
                  prefix: str = "reproduce") -> dict[str, Path]:
    """Write the tables (csv + md), ``runs.json`` and the figures; return the paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    betas = [v.beta for v in study.variants[1:]]
    t1, t2 = study.table1(), study.table2()
    paths = {"table1_csv": out / "table1_per_class.csv", "table1_md": out / "table1_per_class.md",
             "table2_csv": out / "table2_beta.csv", "table2_md": out / "table2_beta.md", "runs": out / "runs.json"}
    write_csv(t1, paths["table1_csv"])
    write_csv(t2, paths["table2_csv"])
    paths["table1_md"].write_text(table1_markdown(t1, betas, study.label))
    paths["table2_md"].write_text(table2_markdown(t2, study.label))
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
    beta = study.variants[-1].beta
    tag = f"{beta:g}"
    rows = t1[:len(CLASSES)]
    paper_change = ({r["class"]: r[f"paper_change_{tag}"] for r in rows} if beta in paper.TABLE1_BETAS else None)
    fig = plots.per_class_change({r["class"]: r[f"change_{tag}"] for r in rows},
                                 {r["class"]: r[f"change_{tag}_std"] for r in rows},
                                 f"CB-MIL β={tag} − MIL, {study.label} (mean ± std, {len(study.seeds)} seeds)",
                                 paper_change, title=f"Per-class AUC change, β = {tag}")
    paths["fig_table1"] = plots.save(fig, f"{prefix}_per_class_change", folder)
    plt.close(fig)
    fig = plots.auc_vs_beta(t2, title=f"AUC vs β — {study.label}")
    paths["fig_table2"] = plots.save(fig, f"{prefix}_auc_vs_beta", folder)
    plt.close(fig)
    return paths


# ---------------------------------------------------------------------- command line

def main(args) -> int:
    from .cli import load_source

    preset = PRESETS[args.preset]
    seeds = args.seeds or preset["seeds"]
    iterations = args.iterations or preset["iterations"]
    start = time.perf_counter()
    if args.data == "synthetic":
        from .synthetic import make_dataset
        data = make_dataset(args.preset, seed=args.data_seed, balanced=args.balanced)
        label = f"SYNTHETIC data ({args.preset} preset{', balanced training split' if args.balanced else ''})"
    else:
        if args.balanced:
            raise ValueError("--balanced applies to synthetic data only")
        data = load_source(args.data)
        label = f"features from {args.data}"
    config = TrainConfig(iterations=iterations, batch_size=args.batch_size, optimizer=args.optimizer, pairing=args.pairing,
                         sparsity=args.sparsity, normalize_weights=not args.raw_weights, crop=args.crop,
                         protocol=args.protocol, precision=args.precision, device=args.device,
                         progress=not args.quiet)
    study = run_study(data, args.betas, list(range(seeds)), config, label)
    figures = None if args.figures == "none" else args.figures
    paths = write_outputs(study, args.out, figures)
    print(Path(paths["table2_md"]).read_text())
    print(f"wrote {', '.join(str(p) for p in paths.values())}")
    print(f"{study.trainer.bank.n_models} models x {iterations} steps on {study.trainer.device} "
          f"(layer 1 in {study.trainer.config.precision}): "
          f"training {study.trainer.seconds:.0f} s, total {time.perf_counter() - start:.0f} s")
    return 0
