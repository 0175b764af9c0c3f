"""Checks for notebook 01 (UCF-Crime, its class imbalance, and the synthetic UCF-Crime).

Each check recomputes its expected value from the library: the per-class counts of the official
split (:data:`cbmil.data.ucf_crime.TRAIN_COUNTS`, ``TEST_COUNTS``), the official test
annotations and frame counts shipped with the kit, and the generator's class strengths
(:func:`cbmil.data.synthetic.class_strengths`).
"""

from __future__ import annotations

from cbmil.data import ucf_crime
from cbmil.data.frames import frame_ground_truth
from cbmil.data.synthetic import class_strengths, config
from cbmil.data.ucf_crime import CLASSES, TEST_COUNTS, TRAIN_COUNTS
from cbmil.exercises import check


def _names(answer):
    """A pair of class names, lower-cased and stripped, or the answer as it is."""
    try:
        first, second = answer
        return str(first).strip().lower(), str(second).strip().lower()
    except (TypeError, ValueError):
        return answer


def exercise_1(answer) -> bool:
    """Largest and smallest test/train ratio: ``answer`` = ``(class with the largest ratio,
    class with the smallest)``, e.g. ``("Abuse", "Arson")``."""
    ratio = {c: TEST_COUNTS[c] / TRAIN_COUNTS[c] for c in CLASSES}
    largest, smallest = max(CLASSES, key=ratio.get), min(CLASSES, key=ratio.get)
    return check("Exercise 1", None if answer is None else _names(answer), (largest.lower(), smallest.lower()),
                 hint="a pair of class names (largest ratio first). The table of section 1 prints "
                      "test/train for every class; section 2 sorts the same ratio of shares.",
                 explain=f"{largest} ({TEST_COUNTS[largest]} test / {TRAIN_COUNTS[largest]} train = "
                         f"{ratio[largest]:.2f}) and {smallest} ({TEST_COUNTS[smallest]} / "
                         f"{TRAIN_COUNTS[smallest]} = {ratio[smallest]:.2f}).")


def anomalous_frame_shares() -> dict[str, float]:
    """Each anomaly class's share of the anomalous frames of the real test split (fractions that
    sum to 1), from the official annotations and the frame-count list shipped with the kit."""
    folder = ucf_crime.SPLIT_DIR
    counts = ucf_crime.parse_frame_counts(folder / "frame_counts_test.txt")
    anomalous = {c: 0 for c in CLASSES}
    for r in ucf_crime.parse_test_annotations(folder / ucf_crime.TEST_ANNOTATIONS):
        if r.label in anomalous:
            anomalous[r.label] += int(frame_ground_truth(r.intervals, counts[r.key]).sum())
    total = sum(anomalous.values())
    return {c: n / total for c, n in anomalous.items()}


def exercise_2(answer, cls: str = "Robbery") -> bool:
    """Share of the anomalous test frames held by ``cls``: ``answer`` a fraction (0.05 for 5 %)."""
    shares = anomalous_frame_shares()
    expected = shares[cls]
    train_share = TRAIN_COUNTS[cls] / sum(TRAIN_COUNTS[c] for c in CLASSES)
    if answer is not None and isinstance(answer, (int, float)) and answer > 1:
        raise AssertionError(f"Exercise 2: {answer!r} is not right. Hint: give a fraction (0.05 for 5 %), "
                             "not a percentage.")
    return check("Exercise 2", answer, expected, tol=0.002,
                 hint=f"a fraction: the notebook's `share` dict of section 3 holds it (share[{cls!r}]), "
                      "the bar of the figure shows it in per cent.",
                 explain=f"{cls} holds {expected:.1%} of the anomalous test frames against {train_share:.1%} of "
                         "the abnormal training videos: the Total AUC hardly sees it, so even a large change "
                         "on it moves the headline little, whatever training did with its many bags.")


def ratio_without(exclude: str = "Abuse") -> float:
    """Max/min ratio of the abnormal test counts once the class ``exclude`` is left out."""
    values = [TEST_COUNTS[c] for c in CLASSES if c != exclude]
    return max(values) / min(values)


def exercise_3(answer) -> bool:
    """Max/min ratio of the abnormal test classes without Abuse: ``answer`` a number."""
    expected = ratio_without("Abuse")
    all_classes = max(TEST_COUNTS[c] for c in CLASSES) / min(TEST_COUNTS[c] for c in CLASSES)
    smallest = min((c for c in CLASSES if c != "Abuse"), key=TEST_COUNTS.get)
    return check("Exercise 3", answer, expected, tol=0.01,
                 hint="divide the largest test count by the smallest one left once Abuse (2 videos) is "
                      "dropped; the table of section 1 has every count.",
                 explain=f"{expected:.2f} instead of {all_classes:.1f}: without Abuse the smallest class is "
                         f"{smallest} ({TEST_COUNTS[smallest]} videos), so one class of {TEST_COUNTS['Abuse']} videos "
                         f"adds {all_classes / expected - 1:.0%} to the headline 'imbalance ratio'. A max/min ratio "
                         "describes two classes, not the distribution.")


def capped_classes(preset: str = "ci", seed: int = 0, **overrides) -> list[str]:
    """The classes whose strength ``s_c`` exceeds ``context_cap * signal`` in the world of
    ``seed``: their whole-video context lift is held at ``context * context_cap * signal``."""
    cfg = config(preset, **overrides)
    cap = cfg.context_cap * cfg.signal
    return [c for c, s in class_strengths(cfg, seed).items() if s > cap]


def exercise_4(answer, preset: str = "ci", seed: int = 0) -> bool:
    """How many classes of the world (``preset``, ``seed``) does the context cap hold?
    ``answer``: a whole number."""
    capped = capped_classes(preset, seed)
    cfg = config(preset)
    return check("Exercise 4", answer, len(capped), tol=0,
                 hint=f"count the classes with s_c > context_cap x signal = {cfg.context_cap * cfg.signal:g}: "
                      "class_strengths(config(PRESET), seed=0) gives every s_c, or read the 'capped' column "
                      "of the table of the context lift.",
                 explain=f"{len(capped)} of {len(CLASSES)} ({', '.join(capped)}): their lift over the whole "
                         f"video is {cfg.context * cfg.context_cap * cfg.signal:g} noise SDs whatever their strength; "
                         "the others are lifted by context x s_c.")
