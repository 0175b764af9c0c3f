"""Figures shared by the notebooks and ``cbmil reproduce``; each returns its matplotlib Figure."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from .ucf_crime import CLASSES


def save(fig, name: str, folder: str | Path = "figures") -> Path:
    """Save ``fig`` as ``folder/name.png`` (150 dpi) and return the path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    fig.savefig(path, dpi=150, bbox_inches="tight")
    return path


def per_class_change(changes: dict, spread: dict, label: str, paper: dict | None = None, title: str = ""):
    """Bar chart of per-class AUC change against MIL (pp), with error bars (std over seeds).

    ``changes``/``spread``: ``{class: value}``; ``paper``: the published change per class.
    """
    fig, ax = plt.subplots(figsize=(9, 4.6))
    x = np.arange(len(CLASSES))
    width = 0.4 if paper else 0.7
    ax.bar(x - (width / 2 if paper else 0), [changes[c] for c in CLASSES], width,
           yerr=[spread[c] for c in CLASSES], capsize=2, label=label, color="tab:blue")
    if paper:
        ax.bar(x + width / 2, [paper[c] for c in CLASSES], width, label="paper (I3D, real UCF-Crime, one run)",
               color="tab:gray")
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(x, CLASSES, rotation=45, ha="right")
    ax.set_ylabel("per-class AUC change vs MIL (pp)")
    ax.set_title(title)
    fig.legend(*ax.get_legend_handles_labels(), fontsize=8, loc="lower center", ncol=1, frameon=False)
    fig.tight_layout(rect=(0, 0.12 if paper else 0.07, 1, 1))  # the legend below the class names
    return fig


def auc_vs_beta(rows: list[dict], title: str = ""):
    """Abnormal and Total AUC (%) against beta, mean ± std over seeds, paper's values beside.

    ``rows``: dicts with ``beta`` (None for MIL), ``abnormal_mean/std``, ``total_mean/std``,
    ``paper_abnormal``, ``paper_total``.
    """
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    labels = ["MIL" if r["beta"] is None else f"{r['beta']:g}" for r in rows]
    x = np.arange(len(rows))
    for ax, key, name in ((axes[0], "abnormal", "Abnormal AUC"), (axes[1], "total", "Total AUC")):
        ax.errorbar(x, [r[f"{key}_mean"] for r in rows], yerr=[r[f"{key}_std"] for r in rows], marker="o",
                    capsize=3, label="this run (mean ± std over seeds)")
        paper = [r.get(f"paper_{key}") for r in rows]
        if all(p is not None for p in paper):
            ax.plot(x, paper, marker="s", color="tab:gray", label="paper (real UCF-Crime)")
        ax.set_xticks(x, labels)
        ax.set_xlabel("beta (MIL = no class weights)")
        ax.set_ylabel(f"{name} (%)")
        ax.set_title(name)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def change_vs_beta(rows: list[dict], title: str = ""):
    """Paired change CB-MIL − MIL (pp) of Abnormal and Total AUC against beta, with the 95 %
    t-interval of the per-seed differences (the interval of Table 2), the paper's single-run
    change beside it.

    ``rows``: Table 2 rows (:meth:`cbmil.reproduce.Study.table2`); the MIL row is the reference.
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
    fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=8, frameon=False)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


def roc_curves(curves: dict, published: tuple | None = None, title: str = ""):
    """ROC curves ``{label: (fpr, tpr)}``; ``published`` = (fpr, tpr, label) drawn dashed."""
    fig, ax = plt.subplots(figsize=(4.6, 4.2))
    for label, (fpr, tpr) in curves.items():
        ax.plot(fpr, tpr, label=label)
    if published is not None:
        ax.plot(published[0], published[1], "--", color="black", label=published[2])
    ax.plot([0, 1], [0, 1], ":", color="gray", lw=0.8)
    ax.set_xlabel("false positive rate (frames)")
    ax.set_ylabel("true positive rate (frames)")
    ax.set_title(title)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def score_timeline(frame_scores: np.ndarray, frame_labels: np.ndarray, title: str = "", labels=None):
    """Frame scores of one video (one or more models) over its ground truth, shaded."""
    fig, ax = plt.subplots(figsize=(7, 2.6))
    frames = np.arange(len(frame_labels))
    ax.fill_between(frames, 0, np.asarray(frame_labels, dtype=float), color="tab:red", alpha=0.15, step="mid",
                    label="ground truth anomaly")
    scores = np.atleast_2d(frame_scores)
    for i, s in enumerate(scores):
        ax.plot(frames, s, lw=1, label=labels[i] if labels else "score")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("frame")
    ax.set_ylabel("anomaly score")
    ax.set_title(title)
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    return fig
