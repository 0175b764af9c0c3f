"""Re-evaluate a ``scores.npz`` written by ``cbmil reproduce --save-scores`` WITHOUT the kit.

Only numpy and sklearn: frame scores from the snippet scores (each snippet's score repeated over
its 16 frames, the ``snippet`` protocol; other protocols are refused), then per model the Total
AUC, the Abnormal AUC (mean of per-class AUCs over each class's own test videos), and the three
localisation summaries (per abnormal video: frame AUC inside the video, mean inside the events
above mean outside, top-scoring snippet overlapping an event). Prints one line per model and,
with ``--check``, whether plain MIL meets the calibration ranges of docs/data.md, "Synthetic UCF-Crime",
per file (world) and for the mean over the files (exit status 1 when the mean misses a range).

    python benchmarks/check_scores.py results/scores_world0.npz [more.npz ...] [--check]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from sklearn.metrics import roc_auc_score

RANGES = {"total_auc": (0.80, 0.90), "abnormal_auc": (0.65, 0.82), "class_spread_pp": (10, 100),
          "median_video_auc": (0.72, 1.0), "inside_above_share": (0.80, 1.0), "top_in_event_share": (0.50, 1.0)}


def evaluate(path: str) -> dict[str, dict]:
    z = np.load(path)
    if str(z["protocol"]) != "snippet":
        raise SystemExit(f"{path}: protocol {z['protocol']}; this checker implements the snippet protocol only")
    offsets, classes, labels = z["test_offsets"], z["test_classes"], z["test_frame_labels"].astype(bool)
    frame_offsets = z["test_frame_offsets"]
    normal = len(z["class_names"]) - 1
    out = {}
    for name, snippet_scores in zip(z["model_names"], z["snippet_scores"]):
        frames = np.repeat(snippet_scores.astype(np.float64), 16)
        assert len(frames) == len(labels), "frame count differs from 16 x snippets"
        per_class, video_auc, above, top = {}, [], [], []
        for c in range(normal):
            videos = np.flatnonzero(classes == c)
            if len(videos) == 0:
                continue
            idx = np.concatenate([np.arange(frame_offsets[v], frame_offsets[v + 1]) for v in videos])
            per_class[c] = roc_auc_score(labels[idx], frames[idx])
        for v in np.flatnonzero(classes != normal):
            s, y = snippet_scores[offsets[v]:offsets[v + 1]], labels[frame_offsets[v]:frame_offsets[v + 1]]
            f = frames[frame_offsets[v]:frame_offsets[v + 1]]
            if 0 < y.sum() < len(y):
                video_auc.append(roc_auc_score(y, f))
                above.append(f[y].mean() > f[~y].mean())
            t = int(np.argmax(s))  # first top snippet; adjacent snippets with the same score are rare
            top.append(bool(y[16 * t:16 * t + 16].any()))
        values = list(per_class.values())
        out[str(name)] = {"total_auc": roc_auc_score(labels, frames), "abnormal_auc": float(np.mean(values)),
                          "class_spread_pp": 100 * (max(values) - min(values)),
                          "median_video_auc": float(np.median(video_auc)),
                          "inside_above_share": float(np.mean(above)), "top_in_event_share": float(np.mean(top))}
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+")
    parser.add_argument("--check", action="store_true", help="check plain MIL against the calibration ranges")
    args = parser.parse_args(argv)
    mil = []
    for path in args.files:
        for name, m in evaluate(path).items():
            print(f"{path}: {name}: " + ", ".join(f"{k} {v:.4f}" for k, v in m.items()))
            if name.startswith("MIL "):
                mil.append(m)
                if args.check:
                    print(f"  calibration ranges: {check(m)}")
    if not args.check or not mil:
        return 0
    mean = {k: float(np.mean([m[k] for m in mil])) for k in RANGES}
    verdict = check(mean)
    print(f"plain MIL, mean over {len(mil)} file(s): " + ", ".join(f"{k} {v:.4f}" for k, v in mean.items()))
    print(f"  calibration ranges (mean): {verdict}")
    return 0 if verdict == "met" else 1


def check(m: dict) -> str:
    bad = [k for k, (lo, hi) in RANGES.items() if not lo <= m[k] <= hi]
    return "met" if not bad else "NOT met: " + ", ".join(bad)


if __name__ == "__main__":
    sys.exit(main())
