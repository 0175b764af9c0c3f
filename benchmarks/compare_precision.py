"""Do two studies of the same grid agree within seed noise? (e.g. layer 1 in bf16 vs fp32, or
two normalisations of the class weights)

    python benchmarks/compare_precision.py results_fp32/runs.json results_bf16/runs.json [--json]

Both ``runs.json`` (from ``cbmil reproduce``) must hold the same seeds and methods. For each
method and metric (Total, Abnormal AUC, %) it prints the mean of each study, the seed-to-seed
standard deviation of the first, and the per-seed paired difference B - A with its Student-t 95 %
interval and p-value (:func:`cbmil.eval.stats.paired_difference`), and the p-value after Holm's
correction over all rows (:func:`cbmil.eval.stats.holm`). "within noise" means |mean difference| is
below the first study's seed std; the largest |difference| over all rows is printed at the end.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from cbmil.eval.stats import holm, paired_difference


def per_seed(runs: dict, method: str, metric: str) -> np.ndarray:
    rows = sorted((r for r in runs["runs"] if r["method"] == method), key=lambda r: r["seed"])
    return 100 * np.array([r[metric] for r in rows])


def compare(a: dict, b: dict) -> list[dict]:
    if a["seeds"] != b["seeds"] or [v["name"] for v in a["variants"]] != [v["name"] for v in b["variants"]]:
        raise ValueError("the two runs.json hold other seeds or methods: "
                         f"{a['seeds']} {[v['name'] for v in a['variants']]} vs "
                         f"{b['seeds']} {[v['name'] for v in b['variants']]}")
    rows = []
    for method in [v["name"] for v in a["variants"]]:
        for metric in ("total_auc", "abnormal_auc"):
            x, y = per_seed(a, method, metric), per_seed(b, method, metric)
            diff = paired_difference(y, x)
            seed_std = float(np.std(x, ddof=1)) if len(x) > 1 else float("nan")
            rows.append({"method": method, "metric": metric, "mean_a": float(x.mean()), "mean_b": float(y.mean()),
                         "seed_std_a": seed_std, "diff": diff["mean"], "ci_low": diff["ci_low"],
                         "ci_high": diff["ci_high"], "p": diff["p_value"],
                         "within_noise": bool(abs(diff["mean"]) < seed_std)})
    for r, p in zip(rows, holm([r["p"] for r in rows])):
        r["p_holm"] = float(p)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", type=Path, help="runs.json of study A (the reference, e.g. fp32)")
    parser.add_argument("b", type=Path, help="runs.json of study B (e.g. bf16)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    a, b = (json.loads(p.read_text()) for p in (args.a, args.b))
    rows = compare(a, b)
    summary = {"a": str(args.a), "b": str(args.b), "seeds": a["seeds"],
               "train_seconds_a": a["train_seconds"], "train_seconds_b": b["train_seconds"],
               "max_abs_diff": max(abs(r["diff"]) for r in rows), "all_within_noise": all(r["within_noise"] for r in rows),
               "rows": rows}
    if args.json:
        print(json.dumps(summary))
        return
    print(f"A = {args.a} ({a['train_seconds']} s training), B = {args.b} ({b['train_seconds']} s), "
          f"seeds {a['seeds']}; AUC in %")
    print(f"{'method':<18}{'metric':<14}{'A':>8}{'B':>8}{'seed sd A':>11}{'B - A':>8}   95 % interval    p   Holm p")
    for r in rows:
        print(f"{r['method']:<18}{r['metric']:<14}{r['mean_a']:8.2f}{r['mean_b']:8.2f}{r['seed_std_a']:11.2f}"
              f"{r['diff']:+8.2f}   [{r['ci_low']:+.2f}, {r['ci_high']:+.2f}]  {r['p']:5.3f}  {r['p_holm']:5.3f}"
              f"{'' if r['within_noise'] else '  beyond seed sd'}")
    print(f"largest |B - A| {summary['max_abs_diff']:.2f} pp; all within the seed sd of A: {summary['all_within_noise']}")


if __name__ == "__main__":
    main()
