"""Figures shared by the notebooks and ``cbmil reproduce``; each returns its matplotlib Figure."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from cbmil.data.ucf_crime import CLASSES

#: The kit's one palette: Okabe & Ito's colour-blind-safe colours (the order of seaborn's
#: "colorblind" without its red/green pair first), used by every figure of the notebooks and
#: the CLI. Variants take the colours in this order; seeds differ by line style (SEED_STYLES).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
SEED_STYLES = ("-", "--", ":", "-.", (0, (5, 1, 1, 1, 1, 1)))
#: Smallest text of a figure at its committed size (150 dpi, shown at width 100 %).
MIN_FONT = 9


def use_kit_style() -> None:
    """Make the kit's palette the default colour cycle and keep legend and tick text at
    :data:`MIN_FONT` pt or more (the notebooks call this through :mod:`cbmil.notebook`)."""
    from cycler import cycler
    plt.rcParams.update({"axes.prop_cycle": cycler(color=PALETTE), "legend.fontsize": MIN_FONT,
                         "xtick.labelsize": MIN_FONT, "ytick.labelsize": MIN_FONT,
                         "legend.title_fontsize": MIN_FONT})


def figure_folder(figures: str | Path | None, out: str | Path) -> str | Path | None:
    """Where a study writes its figures: ``figures``, or beside its tables in ``out`` when None;
    ``"none"`` means no figures (None)."""
    if figures is None:
        return out
    return None if str(figures) == "none" else figures


def save(fig, name: str, folder: str | Path = "figures") -> Path:
    """Save ``fig`` as ``folder/name.png`` (150 dpi) and return the path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    fig.savefig(path, dpi=150, bbox_inches="tight")
    return path


def per_class_change(rows: list[dict], beta: float, label: str, title: str = ""):
    """Bar chart of the per-class AUC change of CB-MIL at ``beta`` against MIL (pp), classes
    ordered by training count, with the paired 95 % t-interval of each change (the interval of
    Table 1; uncorrected) and a dagger above the changes that survive Holm's correction over the
    table's family; the paper's single-run change beside each bar when it published one.

    ``rows``: Table 1 rows (:meth:`cbmil.study.reproduction.Study.table1`), the mean row ignored.
    """
    tag = f"{beta:g}"
    rows = sorted([r for r in rows if r["class"] in CLASSES], key=lambda r: (r["train_videos"], r["class"]))
    paper = [r.get(f"paper_change_{tag}") for r in rows]
    has_paper = all(p is not None for p in paper)
    fig, ax = plt.subplots(figsize=(9, 4.6))
    x = np.arange(len(rows))
    width = 0.4 if has_paper else 0.7
    mean = np.array([r[f"change_{tag}"] for r in rows], dtype=float)
    err = np.array([[m - r[f"change_{tag}_ci_low"] for m, r in zip(mean, rows)],
                    [r[f"change_{tag}_ci_high"] - m for m, r in zip(mean, rows)]], dtype=float)
    ax.bar(x - (width / 2 if has_paper else 0), mean, width, yerr=err, capsize=2, color="#0072B2",
           label=f"{label}: paired mean, 95 % t-interval")
    if has_paper:
        ax.bar(x + width / 2, paper, width, label="paper (I3D, real UCF-Crime, one run)", color="#999999")
    top = np.nanmax(mean + err[1]) if np.isfinite(mean + err[1]).any() else 0
    for i, r in enumerate(rows):
        if r.get(f"change_{tag}_exceeds_noise_holm"):
            ax.text(x[i] - (width / 2 if has_paper else 0), mean[i] + err[1, i] + 0.02 * max(top, 1), "†",
                    ha="center", va="bottom", fontsize=11)
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(x, [f"{r['class']} ({r['train_videos']})" for r in rows], rotation=45, ha="right")
    ax.set_xlabel("class (training videos), rarest first")
    ax.set_ylabel("per-class AUC change vs MIL (pp)")
    ax.set_title(title)
    handles, labels = ax.get_legend_handles_labels()
    labels = [lab + ("; † = beyond noise after Holm" if i == 0 else "") for i, lab in enumerate(labels)]
    fig.legend(handles, labels, fontsize=MIN_FONT, loc="lower center", ncol=1, frameon=False)
    fig.tight_layout(rect=(0, 0.12 if has_paper else 0.07, 1, 1))  # the legend below the class names
    return fig


def change_vs_beta(rows: list[dict], title: str = ""):
    """Paired change CB-MIL − MIL (pp) of Abnormal and Total AUC against beta, with the 95 %
    t-interval of the per-seed differences (the interval of Table 2), the paper's single-run
    change beside it.

    ``rows``: Table 2 rows (:meth:`cbmil.study.reproduction.Study.table2`); the MIL row is the reference.
    """
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.9))
    cb = [r for r in rows if r["beta"] is not None]
    x = np.arange(len(cb))
    for ax, key, name in ((axes[0], "abnormal", "Abnormal AUC"), (axes[1], "total", "Total AUC")):
        mean = np.array([r[f"{key}_diff"] for r in cb])
        err = np.array([[m - r[f"{key}_ci_low"] for m, r in zip(mean, cb)],
                        [r[f"{key}_ci_high"] - m for m, r in zip(mean, cb)]])
        ax.errorbar(x - 0.08, mean, yerr=err, marker="o", capsize=3, linestyle="none", color="#0072B2",
                    label="this run: paired mean, 95 % t-interval over seeds")
        base = rows[0].get(f"paper_{key}")
        paper = [r.get(f"paper_{key}") for r in cb]
        if base is not None and all(p is not None for p in paper):
            ax.plot(x + 0.08, [p - base for p in paper], "s", color="dimgray", label="paper (real UCF-Crime, one run)")
        ax.axhline(0, color="black", lw=0.8)
        ax.set_xticks(x, [f"{r['beta']:g}" for r in cb])
        ax.set_xlim(-0.5, len(cb) - 0.5)
        ax.set_xlabel("beta of CB-MIL")
        ax.set_ylabel(f"{name} change vs MIL (pp)")
        ax.set_title(name)
        ax.grid(axis="y", alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=MIN_FONT, frameon=False)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


def roc_curves(curves: dict, published: tuple | None = None, title: str = ""):
    """ROC curves ``{label: (fpr, tpr)}``; ``published`` = (fpr, tpr, label) drawn dashed."""
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    for k, (label, (fpr, tpr)) in enumerate(curves.items()):
        ax.plot(fpr, tpr, label=label, color=PALETTE[k % len(PALETTE)])
    if published is not None:
        ax.plot(published[0], published[1], "--", color="black", label=published[2])
    ax.plot([0, 1], [0, 1], ":", color="gray", lw=0.8)
    ax.set_xlabel("false positive rate (frames)")
    ax.set_ylabel("true positive rate (frames)")
    ax.set_title(title)
    ax.legend(fontsize=MIN_FONT, loc="lower right")
    fig.tight_layout()
    return fig


#: Colour-blind-safe colours (Okabe-Ito) of the score lines of a timeline, and of its events.
LINE_COLOURS = PALETTE[:5]
EVENT_COLOUR = PALETTE[5]


def score_timeline(scores: np.ndarray, labels=None, title: str = "", names=None, unit: int = 1,
                   xlabel: str = "frame", note: str = ""):
    """Scores of one video over time, one line per model, annotated events shaded.

    ``scores``: ``[U]`` or ``[K, U]``, one score per unit; unit u covers ``unit`` frames
    (16 for snippets, 1 for frame scores), drawn as a step over them, which is why a timeline
    of snippet scores is a staircase. ``labels``: ``[unit * U]`` frame ground truth (0/1) to
    shade, or None. ``names``: one legend entry per line. ``note``: a line heading the legend,
    which sits below the axes so that it never covers a curve.
    """
    scores = np.atleast_2d(np.asarray(scores, dtype=float))
    end = unit * scores.shape[1]
    fig, ax = plt.subplots(figsize=(8, 3.2), layout="constrained")
    if labels is not None:
        y = np.asarray(labels, dtype=bool)[:end]
        edges = np.flatnonzero(np.diff(np.concatenate(([0], y.astype(np.int8), [0]))))
        for i, (a, b) in enumerate(zip(edges[::2], edges[1::2])):
            ax.axvspan(a, b, color=EVENT_COLOUR, alpha=0.25, lw=0, label=None if i else "annotated event")
    for k, line in enumerate(scores):
        ax.stairs(line, unit * np.arange(len(line) + 1), color=LINE_COLOURS[k % len(LINE_COLOURS)], lw=1.4,
                  baseline=None, label=names[k] if names else "anomaly score",
                  linestyle="-" if k < len(LINE_COLOURS) else "--")
    ax.set_xlim(0, end)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("anomaly score")
    ax.set_title(title, fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    handles, names_ = ax.get_legend_handles_labels()
    fig.legend(handles, names_, loc="outside lower center", ncol=min(len(handles), 3), fontsize=MIN_FONT, frameon=False,
               title=note or None, title_fontproperties={"size": MIN_FONT, "style": "italic"})
    return fig
