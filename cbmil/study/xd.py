"""The study on XD-Violence: Tables 1-2 with AP, the benchmark's metric.

The models, the pairing by seed and the statistics are those of the UCF-Crime study
(:class:`cbmil.study.reproduction.Study`, one world per seed); what differs is what the tables
report:

* **Table 2** (per method): the frame AP over all test frames as XD-Violence's public code computes
  it, ``auc(recall, precision)`` of sklearn's ``precision_recall_curve`` (trapezoid: the headline,
  what published XD-Violence results are), sklearn's step-wise ``average_precision_score``, and the
  frame ROC AUC, each with the paired change to MIL and its 95 % t-interval; Holm's correction over
  these 3 metrics x betas (family ``xd_table2``).
* **Table 1** (per class): the AP of each class (trapezoid) over its test videos' frames and every
  normal test video's frames (:func:`cbmil.eval.metrics.per_class_ap`; a multi-label video counts
  for each of its classes), with the paired change at each beta and Holm over the 6 classes x betas
  (family ``xd_table1_per_class``). Training counts are by any label, the counts the class weights
  are computed from (:attr:`cbmil.train.TrainConfig.multi_label_weight`).

There is no paper column: the paper reports no XD-Violence result.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from cbmil.study.reproduction import (LOCALISATION, XD_HEADLINES, Study, _fmt, _json_default, _seed_columns, _summary,
                                      change_columns, write_csv)

#: Table 2's columns: (key in the rows, metric in the study's results, heading).
TABLE2_COLUMNS = (("ap", "average_precision_trapezoid", "AP % (public code, trapezoid)"),
                  ("ap_step", "average_precision", "AP % (step-wise, sklearn)"),
                  ("auc", "total_auc", "frame AUC %"))


def _grid(study: Study, metric: str) -> np.ndarray:
    return 100 * study.grid(metric)


def table2(study: Study) -> list[dict]:
    """One row per method: the three whole-test-set metrics of :data:`TABLE2_COLUMNS` (% , mean and
    std over seeds) and, after MIL, the paired change with its interval, raw and Holm p."""
    changes, rows = study.changes(), []
    for v, variant in enumerate(study.variants):
        row = {"method": variant.name, "beta": variant.beta}
        for key, metric, _ in TABLE2_COLUMNS:
            row.update(_seed_columns(key, _grid(study, metric), v, changes, variant.name, metric))
        row.update(_seed_columns("far", _grid(study, "false_alarm_rate"), v, changes, variant.name, "false_alarm_rate"))
        for key, _ in LOCALISATION:
            row.update(_seed_columns(key, 100 * study.localisation[key], v, changes, variant.name, key))
        rows.append(row)
    return rows


def table1(study: Study) -> list[dict]:
    """One row per class (and a mean row): training videos (first label / any label), test
    videos (any label), MIL's per-class AP (trapezoid, %) and each beta's paired change."""
    changes, rows = study.changes(), []
    names = study.class_names
    any_label = study.counts_any or {}
    for c, name in enumerate(names + ("mean of classes",)):
        if c < len(names):
            values = 100 * study.per_class_ap[:, :, c]
            row = {"class": name, "train_videos": study.train_counts[name],
                   "train_videos_any": any_label.get("train", {}).get(name),
                   "test_videos_any": any_label.get("test", {}).get(name)}
        else:
            values = 100 * np.nanmean(study.per_class_ap, axis=2)
            row = {"class": name, "train_videos": sum(study.train_counts[k] for k in names),
                   "train_videos_any": None, "test_videos_any": None}
        mil = _summary(values[:, 0])
        row["mil_mean"], row["mil_std"] = mil["mean"], mil["std"]
        for variant in study.variants[1:]:
            row.update(change_columns(changes.loc[(variant.name, "ap", name)], f"{variant.beta:g}"))
        rows.append(row)
    return rows


def _change(r: dict, key: str) -> str:
    if r.get(f"{key}_diff") is None:
        return "—"
    star = ("*" if r[f"{key}_exceeds_noise"] else "") + ("†" if r.get(f"{key}_exceeds_noise_holm") else "")
    return f"{r[f'{key}_diff']:+.2f} [{_fmt(r[f'{key}_ci_low'])}, {_fmt(r[f'{key}_ci_high'])}]{star}"


def table2_markdown(rows: list[dict], label: str) -> str:
    """Table 2 on XD-Violence (markdown): AP both ways and the frame AUC, with changes to MIL."""
    n = 3 * (len(rows) - 1)
    lines = [f"Table 2 on XD-Violence — {label}. Mean ± std over seeds; Δ vs MIL = paired mean difference of "
             "the same seeds with its 95 % t-interval; * = interval excludes 0 (uncorrected); † = also after "
             f"Holm's correction over the {n} changes of this table (adjusted p < 0.05). AP (public code) = "
             "auc(recall, precision) of sklearn's precision_recall_curve over all test frames, XD-Violence's "
             "headline; AP (step-wise) = sklearn's average_precision_score. No paper column: the paper reports "
             "no XD-Violence result.", "",
             "| method | " + " | ".join(f"{head} | Δ vs MIL [95 % CI]" for _, _, head in TABLE2_COLUMNS) + " |",
             "|---|" + "---:|---:|" * len(TABLE2_COLUMNS)]
    for r in rows:
        cells = [r["method"]]
        for key, _, _ in TABLE2_COLUMNS:
            cells += [f"{_fmt(r[f'{key}_mean'])} ± {_fmt(r[f'{key}_std'])}", _change(r, key)]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "False alarm rate at 0.5 on the normal test videos' frames (%): " + "; ".join(
        f"{r['method']} {_fmt(r['far_mean'])} ± {_fmt(r['far_std'])}" for r in rows) + "."]
    return "\n".join(lines) + "\n"


def table1_markdown(rows: list[dict], betas, label: str) -> str:
    """Table 1 on XD-Violence (markdown): per-class AP of MIL and each beta's change."""
    n = len(rows) - 1
    lines = [f"Table 1 on XD-Violence — {label}. Per-class AP % (public code's trapezoid) over the class's test "
             "videos (a multi-label video counts for each of its classes) and every normal test video's frames; "
             "MIL mean ± std over seeds, then each β's paired change vs MIL (pp) with its 95 % t-interval; "
             f"* = interval excludes 0 (uncorrected), † = also after Holm over the {n * len(betas)} per-class "
             "changes (the mean row is not in that family). Training videos: first label / any label; "
             "test videos: any label.", "",
             "| class | train (first / any) | test | MIL AP % | " + " | ".join(f"Δ β={b:g}" for b in betas) + " |",
             "|---|---:|---:|---:|" + "---:|" * len(betas)]
    for r in rows:
        train = f"{r['train_videos']}" + (f" / {r['train_videos_any']}" if r.get("train_videos_any") else "")
        cells = [r["class"], train, _fmt(r.get("test_videos_any")), f"{_fmt(r['mil_mean'])} ± {_fmt(r['mil_std'])}"]
        for b in betas:
            tag = f"{b:g}"
            star = ("*" if r[f"change_{tag}_exceeds_noise"] else "") + \
                   ("†" if r[f"change_{tag}_exceeds_noise_holm"] else "")
            cells.append(f"{r[f'change_{tag}']:+.2f} [{_fmt(r[f'change_{tag}_ci_low'])}, "
                         f"{_fmt(r[f'change_{tag}_ci_high'])}]{star}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_outputs(study: Study, out: str | Path, figures: str | Path | None = "figures",
                  prefix: str = "xd") -> dict[str, Path]:
    """Write XD-Violence's tables (csv + md), ``results.csv``, ``runs.json`` and the per-class
    figure; return the paths."""
    from cbmil import plots
    import matplotlib.pyplot as plt

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    betas = [v.beta for v in study.variants[1:]]
    t1, t2 = table1(study), table2(study)
    paths = {"results": out / "results.csv", "table1_csv": out / "table1_per_class.csv",
             "table1_md": out / "table1_per_class.md", "table2_csv": out / "table2_beta.csv",
             "table2_md": out / "table2_beta.md", "runs": out / "runs.json"}
    study.results_table.to_csv(paths["results"], index=False)
    write_csv(t1, paths["table1_csv"])
    write_csv(t2, paths["table2_csv"])
    paths["table1_md"].write_text(table1_markdown(t1, betas, study.label))
    paths["table2_md"].write_text(table2_markdown(t2, study.label))
    paths["runs"].write_text(json.dumps(study.runs(), indent=1, default=_json_default))
    if figures is not None and betas:
        fig = per_class_figure(t1, betas[-1], study)
        paths["fig_table1"] = plots.save(fig, f"{prefix}_per_class_change", figures)
        plt.close(fig)
    return paths


def per_class_figure(rows: list[dict], beta: float, study: Study):
    """The per-class AP change at ``beta`` (pp) with its interval and Holm marks, classes by
    training count (any label), rarest first."""
    from cbmil import plots
    tag = f"{beta:g}"
    rows = sorted([r for r in rows if r["class"] != "mean of classes"],
                  key=lambda r: (r["train_videos_any"] or r["train_videos"], r["class"]))
    return plots.class_change_bars(
        [r["class"] for r in rows], [r["train_videos_any"] or r["train_videos"] for r in rows],
        [r[f"change_{tag}"] for r in rows], [r[f"change_{tag}_ci_low"] for r in rows],
        [r[f"change_{tag}_ci_high"] for r in rows], [r[f"change_{tag}_exceeds_noise_holm"] for r in rows],
        "holm", family=len(rows) * (len(study.variants) - 1),
        label=f"{'CB-sampler' if study.balance == 'sampler' else 'CB-MIL'} β={tag} − MIL, {len(study.seeds)} seeds",
        title=f"XD-Violence per-class AP change, β = {tag} — {study.label}",
        ylabel="per-class AP change vs MIL (pp)", xlabel="class (training videos, any label), rarest first")


__all__ = ["TABLE2_COLUMNS", "XD_HEADLINES", "table1", "table2", "table1_markdown", "table2_markdown",
           "write_outputs", "per_class_figure"]
