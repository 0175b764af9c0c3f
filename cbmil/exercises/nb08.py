"""Checks for the Quick exercises of notebook 08 (XD-Violence).

Each ``exercise_k(answer, ...)`` computes its expected value from what the exercise names (the
shipped XD-Violence lists, the constants below, the layout or the table passed in) with the
kit's own functions, then hands both to :func:`cbmil.exercises.check`: it prints "correct" (and
why), raises ``AssertionError`` with a hint, or, while the answer is ``None``, only prints a
reminder. It returns nothing, so that a notebook cell ending with the call shows no
``True``/``False``.
"""

from __future__ import annotations

import numpy as np

from cbmil.data import xd_violence as xd
from cbmil.exercises import check, known_mistake
from cbmil.losses import class_balanced_weights

__all__ = ["EXERCISE_3_SNIPPETS", "EXERCISE_3_INTERVAL", "EXERCISE_3_DECODED", "exercise_1", "exercise_2",
           "exercise_3", "exercise_4", "exercise_5", "bag_weights"]

#: Exercise 3: a violent test video of T snippets, its annotation line's one interval (s, e) and
#: the frame count its .mp4 decodes to.
EXERCISE_3_SNIPPETS = 20
EXERCISE_3_INTERVAL = (290, 330)
EXERCISE_3_DECODED = 338


def _class_weights(counts: dict, beta: float) -> np.ndarray:
    """``[6]`` CB-MIL class weights (normalised to sum 6, the kit's default) from ``counts``."""
    return class_balanced_weights(np.array([counts[c] for c in xd.CLASSES], dtype=float), beta)


def exercise_1(answer, beta: float = 0.9999) -> None:
    """w_Abuse / w_Fighting at ``beta``, the class weights from XD-Violence's training counts by
    any label (:data:`cbmil.data.xd_violence.TRAIN_COUNTS_ANY`)."""
    fighting, abuse = xd.CLASSES.index("Fighting"), xd.CLASSES.index("Abuse")
    w = _class_weights(xd.TRAIN_COUNTS_ANY, beta)
    expected = float(w[abuse] / w[fighting])
    first = _class_weights(xd.TRAIN_COUNTS, beta)
    known_mistake("Exercise 1", answer, first[abuse] / first[fighting],
                   "that ratio comes from the counts by FIRST label; the class weights are computed from the "
                   "counts by ANY label (a video counts for each class it carries).")
    known_mistake("Exercise 1", answer, 1 / expected, "that is w_Fighting / w_Abuse; the rare class weighs more.")
    counts = xd.TRAIN_COUNTS_ANY
    check("Exercise 1", answer, expected, rel=2e-3,
          hint="w_c = (1 - β) / (1 - β^n_c) with n_c the training videos of class c by any label "
               f"(Fighting {counts['Fighting']}, Abuse {counts['Abuse']}); the normalisation to sum 6 cancels "
               "in a ratio.",
          explain=f"An Abuse bag weighs {expected:.2f} Fighting bags; the counts' ratio is "
                  f"{counts['Fighting'] / counts['Abuse']:.2f}. At β = {beta:g} the effective number "
                  "(1 - β^n) / (1 - β) is close to n itself, so the weights are close to inverse frequency.")


def bag_weights(videos, beta: float, rule: str) -> np.ndarray:
    """``[N_violent]`` CB-MIL weight of each violent video of ``videos`` at ``beta`` under ``rule``
    ("mean" or "max" of its classes' weights; :func:`cbmil.train.group_weights`), the class weights
    from the videos' counts by any label, normalised to sum 6."""
    from cbmil.train import group_weights

    violent = [v for v in videos if v.is_anomalous]
    counts = xd.count_by_class(violent, any_label=True)
    return group_weights(_class_weights(counts, beta), xd.class_sets(violent), rule)


def exercise_2(answer, beta: float = 0.9999) -> None:
    """(mean weight of a violent training bag under the "mean" rule, the same under "max") at
    ``beta``, over the 1,905 violent videos of the shipped ``rgb.list``."""
    videos = xd.train_videos()
    mean_rule, max_rule = (float(bag_weights(videos, beta, rule).mean()) for rule in ("mean", "max"))
    expected = (mean_rule, max_rule)
    known_mistake("Exercise 2", answer, (max_rule, mean_rule),
                   "the pair is (mean rule, max rule); the max rule can only give a bag more weight.")
    w = _class_weights(xd.TRAIN_COUNTS_ANY, beta)
    known_mistake("Exercise 2", answer, (w.mean(), w.mean()),
                   "that is the mean over the 6 classes (1, by the normalisation); average over the 1,905 bags "
                   "instead, each with the weight of its class set.")
    n_multi = sum(len(v.labels) > 1 for v in videos)
    check("Exercise 2", answer, expected, rel=2e-3,
          hint="give each violent training video the mean (or the max) of its classes' weights (class weights "
               "from the counts by any label, normalised to sum 6: cbmil.losses.class_balanced_weights), then "
               "average over the violent videos. cbmil.train.group_weights does the per-set step.",
          explain=f"{mean_rule:.3f} under 'mean', {max_rule:.3f} under 'max'. Only the {n_multi} multi-label bags "
                  "differ, but those with Abuse among their classes weigh as a pure Abuse bag under 'max'. "
                  + ("Both are below 1, so CB-MIL also shrinks the ranking term against the smoothness and sparsity "
                     "terms." if max_rule < 1 else "The mean weight is not 1, so CB-MIL also rescales the ranking "
                     "term against the smoothness and sparsity terms."))


def exercise_3(answer) -> None:
    """(violent frames of the video of exercise 3 under the "snippets" length, the same under the
    "decoded" length), both with the public builders' end-exclusive reading."""
    interval = [EXERCISE_3_INTERVAL]
    lengths = (xd.gt_length(EXERCISE_3_SNIPPETS, "snippets"),
               xd.gt_length(EXERCISE_3_SNIPPETS, "decoded", decoded_frames=EXERCISE_3_DECODED))
    expected = tuple(int(xd.frame_ground_truth(interval, n).sum()) for n in lengths)
    s, e = EXERCISE_3_INTERVAL
    inclusive = tuple(int(min(e + 1, n) - s) for n in lengths)
    uncut = (e - s, e - s)
    if inclusive != expected:
        known_mistake("Exercise 3", answer, inclusive,
                       "that counts frame e too; both public builders set gt[s:e] = 1, frames s .. e - 1.", tol=0)
    if uncut != expected:
        known_mistake("Exercise 3", answer, uncut,
                       "the ground truth ends at the video's length under each convention; frames past it are "
                       "lost. Work out each length first.", tol=0)
    check("Exercise 3", answer, expected,
          hint=f"the lengths: 'snippets' = 16 x T with T = {EXERCISE_3_SNIPPETS}; 'decoded' = (n - 1) - (n - 1) % 16 "
               f"with n = {EXERCISE_3_DECODED}. The interval marks frames s .. e - 1, cut at the length. Answer a "
               "pair (snippets, decoded).",
          explain=f"Lengths {lengths[0]} and {lengths[1]} frames: the same annotation gives {expected[0]} and "
                  f"{expected[1]} violent frames, depending on which builder made the array. Scores of 16 x T "
                  "frames fit only the first.")


def _chance_level(layout: dict, name: str) -> tuple[float, float]:
    """(share of anomalous frames among class ``name``'s test videos' frames plus every normal
    test video's frames, the same over the class's videos alone) in ``layout``."""
    class_names = tuple(str(c) for c in layout["class_names"])[:-1]
    c = class_names.index(name)
    lengths = np.diff(layout["test_frame_offsets"])
    members = np.repeat(np.asarray(layout["test_class_sets"])[:, c], lengths)
    normal = np.repeat(np.asarray(layout["test_classes"]) == len(class_names), lengths)
    labels = np.asarray(layout["test_frame_labels"])
    return float(labels[members | normal].mean()), float(labels[members].mean())


def exercise_4(answer, layout: dict, name: str = "Abuse") -> None:
    """(chance level of class ``name``'s per-class AP, the same over its own test videos alone) in
    ``layout`` (a world's layout, e.g. ``study.layouts[0]``): the share of violent frames among the
    frames each AP ranks."""
    expected = _chance_level(layout, name)
    known_mistake("Exercise 4", answer, expected[::-1],
                   "the pair is (with the normal videos, own videos alone); adding negatives can only lower the "
                   "share.", tol=1e-4)
    check("Exercise 4", answer, expected, tol=1e-4,
          hint=f"take the frames of every test video whose class set holds {name} (layout['test_class_sets']); "
               "the per-class AP also ranks every frame of every normal test video (layout['test_classes'] == 6). "
               "A chance level is the mean of the ranked frames' labels (layout['test_frame_labels']). Answer a "
               "pair of fractions.",
          explain=f"{100 * expected[0]:.2f} % of the frames its AP ranks are {name} events, "
                  f"{100 * expected[1]:.1f} % of its own videos' frames: the normal videos' frames turn a class "
                  "whose videos are few into a needle in a haystack. An AP compares with this share, an AUC "
                  "with 50 %.")


def exercise_5(answer, table1_csv=None, beta: float = 0.9999) -> None:
    """(classes whose per-class AP change at ``beta`` has a raw 95 % interval excluding 0, those
    that also pass Holm) in ``table1_per_class.csv`` (default: the committed
    ``results/xd_violence/table1_per_class.csv``)."""
    import pandas as pd

    if table1_csv is None:
        from cbmil.notebook import results_dir
        table1_csv = results_dir("xd_violence", "table1_per_class.csv")
    table = pd.read_csv(table1_csv)
    table = table[table["class"] != "mean of classes"]
    tag = f"{beta:g}"
    raw = table[f"change_{tag}_exceeds_noise"].astype(str).str.lower() == "true"
    holm = table[f"change_{tag}_exceeds_noise_holm"].astype(str).str.lower() == "true"
    expected = (int(raw.sum()), int(holm.sum()))
    family = len(table) * sum(1 for c in table.columns if c.startswith("change_") and c.endswith("_exceeds_noise_holm"))
    check("Exercise 5", answer, expected,
          hint=f"in Table 1 a * marks a raw 95 % interval that excludes 0, a † one that also passes Holm over the "
               f"{family} per-class changes; count the {len(table)} class rows (not the mean row) in the column "
               f"β={tag}. Answer a pair (raw, Holm).",
          explain=f"{expected[0]} of {len(table)} raw, {expected[1]} after Holm. Where nothing changes, {family} "
                  f"tests at 5 % give {0.05 * family:.1f} raw exclusions on average: Holm's correction is what "
                  "keeps those from being read as findings.")
