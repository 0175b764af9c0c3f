"""``cbmil strength``: the generator examined. What do a class's strength and ``context`` do?

In :mod:`cbmil.data.synthetic` an anomaly of class c shifts the features inside its events by
``s_c`` noise standard deviations along the class signature (``s_c`` drawn once per world), and
``context`` adds a fraction of that same shift to *every* snippet of an abnormal video. This
command trains plain MIL on several worlds (one per seed) for each value of ``context`` (with
the default cap, and uncapped as before v2) and
records, per world and class, the strength ``s_c`` beside the class's AUC (frames of its own
test videos) and its localisation (:func:`cbmil.eval.metrics.localisation`), so that a reader can see
whether a Total AUC comes from finding events or from telling abnormal videos from normal ones.

Outputs: ``strength.csv`` (one row per context, world and class) and ``strength_context.png``.
All numbers are SYNTHETIC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from cbmil import plots
from cbmil.study.reproduction import read_csv, run_study, synthetic_worlds, write_csv
from cbmil.train import RunSettings, TrainConfig, check_settings
from cbmil.data.ucf_crime import CLASSES

METRICS = (("class_auc", "per-class AUC"), ("median_video_auc", "median per-video AUC"),
           ("top_in_event_share", "top snippet in an event (share)"))


def generator_settings(contexts, uncapped: bool = True) -> list[tuple[str, dict]]:
    """Generator settings to compare: each context with the default cap, and (``uncapped``) each
    non-zero context without it (the generator before v2)."""
    out = []
    for context in contexts:
        out.append((f"context {context:g}" + (", capped (default)" if context else ""), {"context": context}))
        if uncapped and context:
            out.append((f"context {context:g}, uncapped (v1)", {"context": context, "context_cap": float("inf")}))
    return out


def run(preset: str, setups: list[tuple[str, dict]], n_worlds: int, config: TrainConfig,
        settings: RunSettings | None = None) -> list[dict]:
    """Train MIL on ``n_worlds`` worlds for each ``(label, generator overrides)``; one row per
    (setting, world, class)."""
    rows = []
    for label, overrides in setups:
        worlds = synthetic_worlds(preset, range(n_worlds), **overrides)
        results = run_study(worlds, (), list(range(n_worlds)), config,  # plain MIL only
                            settings=settings or RunSettings(progress=False)).results
        for w, (world, result) in enumerate(zip(worlds, results)):
            for c in CLASSES:
                loc = result["per_class_localisation"][c]
                rows.append({"setting": label, "context": world.meta["config"]["context"],
                             "context_cap": world.meta["config"]["context_cap"], "world": w, "class": c,
                             "strength": world.meta["class_strengths"][c],
                             "class_auc": result["per_class_auc"][c],
                             "median_video_auc": loc["median_video_auc"],
                             "inside_above_share": loc["inside_above_share"],
                             "top_in_event_share": loc["top_in_event_share"],
                             "total_auc": result["total_auc"], "mean_class_auc": result["abnormal_auc"],
                             "all_median_video_auc": result["median_video_auc"],
                             "all_inside_above_share": result["inside_above_share"],
                             "all_top_in_event_share": result["top_in_event_share"]})
    return rows


def figure(rows: list[dict], label: str):
    """Per-class metrics against strength (log axis), one colour and marker per context."""
    import matplotlib.pyplot as plt

    labels = list(dict.fromkeys(r["setting"] for r in rows))
    styles = list(zip(plots.PALETTE, "os^D"))
    # 10.5 in wide: legible at the README's width (~880 px); the legend below the panels
    fig, axes = plt.subplots(1, len(METRICS), figsize=(10.5, 4.2), layout="constrained")
    for ax, (key, name) in zip(axes, METRICS):
        for setting, (colour, marker) in zip(labels, styles):
            sel = [r for r in rows if r["setting"] == setting]
            ax.scatter([r["strength"] for r in sel], [r[key] for r in sel], s=16, color=colour, marker=marker,
                       alpha=0.75, label=setting)
        ax.set_xscale("log")
        ax.set_xlabel("class strength s_c (noise sd, log scale)")
        ax.set_ylabel(name)
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=len(labels),
               fontsize=plots.MIN_FONT, frameon=False)
    fig.suptitle(label, fontsize=10)
    return fig


def read_rows(path: Path) -> list[dict]:
    """The rows of a ``strength.csv`` written by :func:`strength_study`, numbers as floats (world as int)."""
    return read_csv(path, text={"setting", "class"}, integer=lambda key: key == "world")


@dataclass
class StrengthResult:
    """A finished strength study: ``rows`` (one per setting, world and class, ``strength.csv``),
    its ``label`` and the ``paths`` written."""

    rows: list[dict]
    label: str
    paths: dict = field(default_factory=dict)

    def summary(self) -> str:
        """One line per setting: Total / Abnormal AUC, localisation, the stronger vs weaker half."""
        import pandas as pd

        rows = pd.DataFrame(self.rows)
        rows["stronger"] = rows.groupby("setting")["strength"].transform(lambda s: s >= s.median())
        lines = []
        for setting, sel in rows.groupby("setting", sort=False):
            worlds = sel.drop_duplicates("world", keep="last")  # whole-test-set numbers: one per world
            half = sel.groupby("stronger")["class_auc"].mean()
            lines.append(
                f"{setting}: Total AUC {100 * worlds['total_auc'].mean():.2f}, "
                f"Abnormal AUC {100 * worlds['mean_class_auc'].mean():.2f}, "
                f"median per-video AUC {worlds['all_median_video_auc'].mean():.3f}, "
                f"inside > outside {worlds['all_inside_above_share'].mean():.3f}, "
                f"top snippet in event {worlds['all_top_in_event_share'].mean():.3f}; "
                f"per-class AUC of the stronger / weaker half of (class, world) points "
                f"{100 * half[True]:.1f} / {100 * half[False]:.1f}")
        return "\n".join(lines)


def strength_study(*, preset: str = "ci", contexts: Sequence[float] = (1.2, 0.0), uncapped: bool = True,
                   worlds: int = 4, iterations: int = 1000, out: str | Path = "results/strength",
                   figures: str | Path | None = None, settings: RunSettings | None = None,
                   keep_memory: bool = False, replot: bool = False) -> StrengthResult:
    """Plain MIL on ``worlds`` worlds for each ``context`` (capped, and with ``uncapped`` also
    uncapped): per class and world, the strength beside the AUC and localisation.

    ``out``: folder for ``strength.csv``; ``figures``: folder for ``strength_context.png``
    (``None`` = ``out``, ``"none"`` = none). ``replot``: no training, the figure and summary again
    from ``out``'s ``strength.csv`` (pass the run's ``preset`` and ``iterations``: they name the run
    in the figure). ``settings``/``keep_memory``: as in :func:`cbmil.study.imbalance.imbalance_dial`."""
    out = Path(out)
    if replot:  # the figure and the summary again from a finished run's CSV; no training
        rows = read_rows(out / "strength.csv")
        worlds = len({r["world"] for r in rows})
    else:
        settings = settings or RunSettings(progress=False)
        config = TrainConfig(iterations=iterations)
        device = check_settings(settings, config)
        if keep_memory and device.type == "cpu":
            from cbmil.accel.memory import keep_freed_memory
            keep_freed_memory()
        rows = run(preset, generator_settings(contexts, uncapped), worlds, config, settings)
        out.mkdir(parents=True, exist_ok=True)
        write_csv(rows, out / "strength.csv")
    label = (f"SYNTHETIC data ({preset} preset): plain MIL, {worlds} worlds x {iterations} steps "
             "per setting; one point per class and world")
    paths = {"rows": out / "strength.csv"}
    figures = plots.figure_folder(figures, out)
    if figures is not None:
        import matplotlib.pyplot as plt
        fig = figure(rows, label)
        paths["figure"] = plots.save(fig, "strength_context", figures)
        plt.close(fig)
    return StrengthResult(rows, label, paths)
