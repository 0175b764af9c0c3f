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


#: The marks a figure can draw beside its intervals: one family of p-values per figure, named in
#: the figure's caption. ``"raw"``: the comparison's own p < 0.05 (equivalently, its 95 % interval
#: excludes 0); ``"holm"``: Holm-adjusted p < 0.05 within the table's family.
MARKS = {"raw": ("*", "raw p < 0.05 (95 % interval excludes 0), uncorrected"),
         "holm": ("†", "Holm-adjusted p < 0.05")}


def _check_marks(marks: str | None, allow_none: bool) -> None:
    if marks is None and allow_none:
        return
    if marks not in MARKS:
        raise ValueError(f"marks must be one of {', '.join(map(repr, MARKS))}" + (" or None" if allow_none else "")
                         + f"; got {marks!r}")


def marks_caption(marks: str, n_marked: int, family: int, noun: str = "changes") -> str:
    """The caption line that says which family of p-values a figure marks, over how many
    comparisons, and how many carry the mark (``"none here"`` when none does)."""
    _check_marks(marks, allow_none=False)
    symbol, meaning = MARKS[marks]
    text = f"{symbol} = {meaning}"
    if marks == "raw":
        text += f": ≈ {0.05 * family:.1f} of these {family} {noun} expected by chance with no effect"
    else:
        text += f" over a family of {family} {noun}"
    return text + (f"; {n_marked} marked" if n_marked else "; none here")


def class_change_bars(classes, counts, mean, ci_low, ci_high, marked, marks: str = "holm", family: int = 0,
                      label: str = "", paper=None, paper_label: str = "paper (I3D, real UCF-Crime, one run)",
                      title: str = "", ylabel: str = "per-class AUC change vs MIL (pp)",
                      xlabel: str = "class (training videos), rarest first"):
    """Bar chart of one change per class (pp) with its 95 % interval, classes in the order given
    (sort them by training count first), a mark beyond the interval (away from 0) of the bars in
    ``marked`` and a caption
    (:func:`marks_caption`) naming the one family of p-values the marks come from.

    ``classes`` [C] names, ``counts`` [C] training videos (shown in the tick labels), ``mean``,
    ``ci_low``, ``ci_high`` [C] floats, ``marked`` [C] bools (drawn with the symbol of ``marks``,
    :data:`MARKS`), ``family``: how many comparisons the family holds (0: ``len(classes)``);
    ``paper`` [C] or None: a second bar per class (e.g. the paper's single-run change).
    """
    _check_marks(marks, allow_none=False)
    mean, low, high = (np.asarray(a, dtype=float) for a in (mean, ci_low, ci_high))
    marked = np.asarray(marked, dtype=bool)
    if not (len(classes) == len(counts) == len(mean) == len(low) == len(high) == len(marked)):
        raise ValueError("classes, counts, mean, ci_low, ci_high and marked need one entry per class; received "
                         f"lengths {[len(a) for a in (classes, counts, mean, low, high, marked)]}")
    has_paper = paper is not None and all(p is not None for p in paper)
    fig, ax = plt.subplots(figsize=(9, 4.6))
    x = np.arange(len(classes))
    width = 0.4 if has_paper else 0.7
    shift = width / 2 if has_paper else 0
    err = np.array([mean - low, high - mean])
    ax.bar(x - shift, mean, width, yerr=err, capsize=2, color=PALETTE[0],
           label=(f"{label}: " if label else "") + "paired mean, 95 % t-interval (uncorrected)")
    if has_paper:
        ax.bar(x + shift, paper, width, label=paper_label, color="#999999")
    top = np.nanmax(high) if np.isfinite(high).any() else 0
    bottom = np.nanmin(low) if np.isfinite(low).any() else 0
    pad = 0.03 * max(top - bottom, 1)
    symbol = MARKS[marks][0]
    for i in np.flatnonzero(marked):  # beyond the interval's end away from 0, clear of the zero line
        up = mean[i] >= 0
        ax.text(x[i] - shift, high[i] + pad if up else low[i] - pad, symbol, ha="center",
                va="bottom" if up else "top", fontsize=12)
    if marked.any():
        ax.set_ylim(bottom - 4 * pad, top + 4 * pad)  # room for the marks inside the axes
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(x, [f"{c} ({n})" for c, n in zip(classes, counts)], rotation=45, ha="right")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    handles, labels = ax.get_legend_handles_labels()
    caption = marks_caption(marks, int(marked.sum()), family or len(classes))
    fig.legend(handles, labels, fontsize=MIN_FONT, loc="lower center", ncol=1, frameon=False, title=caption,
               title_fontproperties={"size": MIN_FONT, "style": "italic"})
    fig.tight_layout(rect=(0, 0.16 if has_paper else 0.12, 1, 1))  # the legend below the class names
    return fig


def per_class_change(rows: list[dict], beta: float, label: str, title: str = "", marks: str = "holm"):
    """Bar chart of the per-class AUC change of CB-MIL at ``beta`` against MIL (pp), classes
    ordered by training count, with the paired 95 % t-interval of each change (the interval of
    Table 1; uncorrected) and a mark above the changes that pass at 5 % in one family of
    p-values, named in the caption: ``marks="holm"`` (default) a dagger where Holm's correction
    over Table 1's 13 x betas changes keeps it, ``"raw"`` a star where the raw p-value is below
    0.05; the paper's single-run change beside each bar when it published one.

    ``rows``: Table 1 rows (:meth:`cbmil.study.reproduction.Study.table1`), the mean row ignored.
    """
    _check_marks(marks, allow_none=False)
    tag = f"{beta:g}"
    betas = {k[len("change_"):-len("_p_holm")] for r in rows for k in r if k.startswith("change_") and k.endswith("_p_holm")}
    rows = sorted([r for r in rows if r["class"] in CLASSES], key=lambda r: (r["train_videos"], r["class"]))
    key = f"change_{tag}_exceeds_noise" + ("_holm" if marks == "holm" else "")
    return class_change_bars(
        [r["class"] for r in rows], [r["train_videos"] for r in rows], [r[f"change_{tag}"] for r in rows],
        [r[f"change_{tag}_ci_low"] for r in rows], [r[f"change_{tag}_ci_high"] for r in rows],
        [bool(r.get(key)) for r in rows], marks, family=len(rows) * (max(len(betas), 1) if marks == "holm" else 1),
        label=label,
        paper=[r.get(f"paper_change_{tag}") for r in rows], title=title)


def change_vs_beta(rows: list[dict], title: str = "", marks: str | None = None):
    """Paired change CB-MIL − MIL (pp) of Abnormal and Total AUC against beta, with the 95 %
    t-interval of the per-seed differences (the interval of Table 2; uncorrected), the paper's
    single-run change beside it. ``marks``: None (default) draws no marks; ``"raw"`` or
    ``"holm"`` marks the changes that pass at 5 % in that one family of p-values (Holm: over
    Table 2's Abnormal and Total changes together) and names it in the caption.

    ``rows``: Table 2 rows (:meth:`cbmil.study.reproduction.Study.table2`); the MIL row is the reference.
    """
    _check_marks(marks, allow_none=True)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.9))
    cb = [r for r in rows if r["beta"] is not None]
    x = np.arange(len(cb))
    n_marked = 0
    for ax, key, name in ((axes[0], "abnormal", "Abnormal AUC"), (axes[1], "total", "Total AUC")):
        mean = np.array([r[f"{key}_diff"] for r in cb])
        err = np.array([[m - r[f"{key}_ci_low"] for m, r in zip(mean, cb)],
                        [r[f"{key}_ci_high"] - m for m, r in zip(mean, cb)]])
        ax.errorbar(x - 0.08, mean, yerr=err, marker="o", capsize=3, linestyle="none", color="#0072B2",
                    label="this run: paired mean, 95 % t-interval over seeds" + (" (uncorrected)" if marks else ""))
        base = rows[0].get(f"paper_{key}")
        paper = [r.get(f"paper_{key}") for r in cb]
        if base is not None and all(p is not None for p in paper):
            ax.plot(x + 0.08, [p - base for p in paper], "s", color="dimgray", label="paper (real UCF-Crime, one run)")
        if marks:
            flag = f"{key}_exceeds_noise" + ("_holm" if marks == "holm" else "")
            for i, r in enumerate(cb):
                if r.get(flag):  # beyond the interval's end away from 0
                    n_marked += 1
                    up = mean[i] >= 0
                    ax.annotate(MARKS[marks][0], (x[i] - 0.08, mean[i] + err[1, i] if up else mean[i] - err[0, i]),
                                xytext=(0, 3 if up else -3), textcoords="offset points", ha="center",
                                va="bottom" if up else "top", fontsize=12)
            ax.margins(y=0.12)
        ax.axhline(0, color="black", lw=0.8)
        ax.set_xticks(x, [f"{r['beta']:g}" for r in cb])
        ax.set_xlim(-0.5, len(cb) - 0.5)
        ax.set_xlabel("beta of CB-MIL")
        ax.set_ylabel(f"{name} change vs MIL (pp)")
        ax.set_title(name)
        ax.grid(axis="y", alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    caption = marks_caption(marks, n_marked, 2 * len(cb), "AUC changes") if marks else None
    fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=MIN_FONT, frameon=False, title=caption,
               title_fontproperties={"size": MIN_FONT, "style": "italic"})
    fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0.12 if marks else 0.08, 1, 1))
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
