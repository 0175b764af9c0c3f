"""Time ``cbmil data prepare`` on a generated ten-crop folder against a plain sequential read of
the same files (same run, same page-cache state), and report prepare's peak resident memory.

    python benchmarks/bench_prepare.py [--json] [--gigabytes 3] [--workdir DIR]

Targets: prepare at >= 50 % of the plain read speed; peak RSS under 1.5 GB whatever the size.
A plain sequential write of as many bytes as the cache holds is timed too: prepare must write
its output (for ten-crop files, 32 pooled segments per training video and every test snippet),
so read + write time is the floor a streaming prepare can approach. The three are timed in
``--repeats`` (>= 5) interleaved rounds; each figure is the median with min and max, and the
ratios come from the medians.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from timing import MIN_REPEATS, interleaved_times, prepare_speeds, show

from cbmil.data.synthetic import write_feature_folders
from cbmil.data.ucf_crime import CLASSES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--gigabytes", type=float, default=3.0, help="size of the generated feature folder")
    parser.add_argument("--snippets", type=int, default=200, help="snippets per video")
    parser.add_argument("--workdir", help="where to generate (default: a temporary folder)")
    parser.add_argument("--repeats", type=int, default=MIN_REPEATS, help=f"rounds (at least {MIN_REPEATS})")
    args = parser.parse_args()
    dim, crops = 2048, 10
    video_bytes = args.snippets * crops * dim * 4
    per_class = max(1, int(args.gigabytes * 2**30 / video_bytes / 2 / len(CLASSES)))
    counts = {c: per_class for c in CLASSES} | {"Normal": per_class * len(CLASSES)}
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        dirs = write_feature_folders(Path(tmp) / "src", "ten_crop", preset="full", train_counts=counts,
                                     test_counts={c: 1 for c in CLASSES} | {"Normal": 2},
                                     min_snippets=args.snippets, max_snippets=args.snippets)
        files = sorted(dirs["train"].glob("*.npy")) + sorted(dirs["test"].glob("*.npy"))
        size = sum(f.stat().st_size for f in files)
        # the output's share: a plain sequential write of as many bytes as the cache will hold
        out_bytes = 4 * (sum(counts.values()) * crops * 32 * dim
                         + sum(np.load(f, mmap_mode="r").shape[0] for f in sorted(dirs["test"].glob("*.npy"))) * crops * dim)
        block = np.zeros(16 * 2**20 // 4, dtype=np.float32)

        def plain_read():                    # load each file whole, in order
            for f in files:
                np.load(f)[0, 0, 0]

        def plain_write():
            with open(Path(tmp) / "plain_write.bin", "wb") as fh:
                for _ in range(-(-out_bytes // block.nbytes)):
                    fh.write(block.data)
            (Path(tmp) / "plain_write.bin").unlink()

        def prepare():
            shutil.rmtree(Path(tmp) / "cache", ignore_errors=True)
            subprocess.run([sys.executable, "-m", "cbmil", "data", "prepare", "--train-dir", str(dirs["train"]),
                            "--test-dir", str(dirs["test"]), "--annotations-dir", str(dirs["annotations"]),
                            "--out", str(Path(tmp) / "cache"), "--quiet"], check=True, stdout=subprocess.DEVNULL)

        times = interleaved_times({"plain_read": plain_read, "plain_write": plain_write, "prepare": prepare},
                                  "cpu", args.repeats, warmup=1)
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    out = {"gigabytes": size / 2**30, "files": len(files), "output_gigabytes": out_bytes / 2**30,
           "prepare_peak_rss_mb": peak_mb}
    out = prepare_speeds(out, times, size, out_bytes)
    if args.json:
        print(json.dumps(out))
        return
    print(f"{out['files']} ten-crop files, {out['gigabytes']:.2f} GB; medians of {out['prepare_seconds_n']} "
          f"interleaved rounds (min, max)")
    print(f"plain sequential read  {show(out, 'plain_read_seconds', 1, 's')}  {out['plain_read_gb_per_s']:.2f} GB/s")
    print(f"plain sequential write {show(out, 'plain_write_seconds', 1, 's')}  {out['plain_write_gb_per_s']:.2f} GB/s "
          f"(as many bytes as the cache: {out['output_gigabytes']:.2f} GB)")
    print(f"cbmil data prepare     {show(out, 'prepare_seconds', 1, 's')}  {out['prepare_gb_per_s']:.2f} GB/s "
          f"= {100 * out['prepare_vs_read']:.0f} % of the plain read, {100 * out['prepare_vs_read_plus_write']:.0f} % of "
          f"plain read + write; peak RSS {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
