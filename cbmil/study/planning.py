"""``cbmil plan-seeds``: how many paired seeds a study needs to resolve a difference.

A CB-MIL vs MIL comparison is a paired t-test over seeds (:func:`cbmil.eval.stats.paired_difference`).
Given the standard deviation SD of the per-seed differences and the true difference DELTA one
wants to detect, :func:`cbmil.eval.stats.seeds_needed` finds the smallest number of seeds whose
two-sided test at level alpha has at least the requested power (exact, noncentral t).

``--runs runs.json`` takes SD from a finished study (``cbmil reproduce``): for every CB-MIL variant
and metric, the sample SD of its per-seed differences to MIL of the same seed, in percentage
points, and prints the seeds needed for DELTA at that SD.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from cbmil.eval import stats as seed_stats

#: Metrics of ``runs.json`` that a plan covers (all fractions; planned in percentage points).
PLANNED = ("abnormal_auc", "total_auc", "median_video_auc", "inside_above_share", "top_in_event_share")


def differences(runs: dict) -> dict[tuple[str, str], np.ndarray]:
    """Per-seed differences variant − MIL (pp) of every CB-MIL variant and planned metric of a
    ``runs.json`` object: ``{(method, metric): [n_seeds]}``."""
    by = {(r["seed"], r["method"]): r for r in runs["runs"]}
    seeds = list(runs["seeds"])
    methods = [v["name"] for v in runs["variants"]]
    if "MIL" not in methods:
        raise ValueError("runs.json has no MIL runs to pair the other variants with")
    out = {}
    for method in methods:
        if method == "MIL":
            continue
        for metric in PLANNED:
            if metric not in by[(seeds[0], "MIL")]:
                continue  # a runs.json written before the metric existed
            out[(method, metric)] = np.array([100 * (by[(s, method)][metric] - by[(s, "MIL")][metric])
                                              for s in seeds])
    return out


def plan_table(runs: dict, delta: float, alpha: float = 0.05, power: float = 0.8) -> list[dict]:
    """One row per (variant, metric): seeds in the study, SD of the differences, seeds needed."""
    rows = []
    for (method, metric), diff in differences(runs).items():
        sd = float(np.std(diff, ddof=1)) if len(diff) > 1 else math.nan
        plan = seed_stats.seeds_needed(sd, delta, alpha, power) if sd > 0 else {"seeds": None, "power": math.nan}
        rows.append({"method": method, "metric": metric, "seeds_run": len(diff), "sd_pp": sd,
                     "delta_pp": delta, "seeds_needed": plan["seeds"], "power": plan["power"]})
    return rows


def plan_from_runs(runs: str | Path, delta: float, alpha: float = 0.05, power: float = 0.8) -> list[dict]:
    """:func:`plan_table` of a study's ``runs.json`` file."""
    path = Path(runs)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; expected a runs.json written by `cbmil reproduce`")
    return plan_table(json.loads(path.read_text()), delta, alpha, power)
