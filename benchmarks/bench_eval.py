"""Evaluation at the real test-set size: score every test snippet with one model, put the scores
on frames and compute Total, per-class and Abnormal AUC (target: under 1.5 s on CPU).

    python benchmarks/bench_eval.py [--json] [--dim 2048] [--device auto] [--release-memory]

The test set has UCF-Crime's 290 videos (its class counts) and 1,111,808 frames = 69,488
16-frame snippets, with lengths drawn log-normally and scaled to that total. The kit evaluates
in a process where training has made glibc keep freed memory (:mod:`cbmil.accel.memory`), so this
benchmark sets the same (scoring reads the snippets in chunks of 8,192 rows, 67 MB at D = 2048,
each mapped afresh under glibc's defaults); ``--release-memory`` times it under those defaults.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from timing import MIN_REPEATS, record, show, spread

from cbmil.accel import memory
from cbmil.eval import metrics
from cbmil.data.dataset import offsets_from_lengths
from cbmil.data.frames import frame_ground_truth, frame_scores
from cbmil.model import ScorerBank
from cbmil.train import score_snippets, select_device
from cbmil.data.ucf_crime import LABELS, TEST_COUNTS, class_index

FRAMES = 1_111_808


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--dim", type=int, default=2048)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--repeats", type=int, default=MIN_REPEATS, help=f"timings (at least {MIN_REPEATS})")
    parser.add_argument("--release-memory", action="store_true", help="leave glibc's defaults (cbmil.accel.memory)")
    args = parser.parse_args()
    kept = False if args.release_memory else memory.keep_freed_memory()
    rng = np.random.default_rng(0)
    classes = np.array([class_index(c) for c in LABELS for _ in range(TEST_COUNTS[c])])
    lengths = rng.lognormal(np.log(112), 0.9, len(classes))
    lengths = np.maximum(1, np.round(lengths * (FRAMES // 16) / lengths.sum())).astype(np.int64)
    lengths[-1] += FRAMES // 16 - lengths.sum()
    snippets = rng.standard_normal((int(lengths.sum()), 1, args.dim), dtype=np.float32) * 0.2
    offsets, n_frames = offsets_from_lengths(lengths), lengths * 16
    labels = np.concatenate([frame_ground_truth([(n // 3, n // 2)] if c < 13 else [], n)
                             for c, n in zip(classes, n_frames)])
    device = select_device(args.device)
    bank = ScorerBank(args.dim, [0], 1).to(device)

    def run():
        scores = score_snippets(bank, snippets)[0]
        frames = frame_scores(scores, offsets, n_frames)
        return metrics.evaluate(labels, frames, offsets_from_lengths(n_frames), classes)

    run()
    parts = {"score": [], "frames_and_metrics": [], "total": []}
    for _ in range(max(MIN_REPEATS, args.repeats)):
        t0 = time.perf_counter()
        scores = score_snippets(bank, snippets)[0]
        t1 = time.perf_counter()
        metrics.evaluate(labels, frame_scores(scores, offsets, n_frames), offsets_from_lengths(n_frames), classes)
        t2 = time.perf_counter()
        parts["score"].append(t1 - t0)
        parts["frames_and_metrics"].append(t2 - t1)
        parts["total"].append(t2 - t0)
    out = {"device": str(device), "videos": int(len(classes)), "snippets": int(lengths.sum()),
           "frames": int(n_frames.sum()), "dim": args.dim, "keep_memory": kept}
    for k, v in parts.items():
        record(out, f"{k}_seconds", spread(v))
    if args.json:
        print(json.dumps(out))
        return
    print(f"{out['videos']} test videos, {out['snippets']:,} snippets, {out['frames']:,} frames, D = {args.dim}, {device}, "
          f"freed memory {'kept (cbmil.accel.memory)' if kept else 'released'}")
    print(f"{'score all snippets':<48}{show(out, 'score_seconds', 1, 's')}")
    print(f"{'frames + Total/per-class/Abnormal AUC, AP, FAR':<48}{show(out, 'frames_and_metrics_seconds', 1, 's')}")
    print(f"{'evaluation in all':<48}{show(out, 'total_seconds', 1, 's')}")


if __name__ == "__main__":
    main()
