"""Peak memory and speed of ``cbmil data prepare --dataset xd`` on a D = 1024 stand-in of XD-Violence
(random features under the real names, five ``[T, 1024]`` crop files per video), against a plain
sequential read of the same files and a plain sequential write of as many bytes as the cache holds
(read + write is the floor a streaming prepare can approach).

    python benchmarks/bench_prepare_xd.py [--json] [--max-videos 200] [--long-snippets 12000] [--workdir DIR]

Target (issue 23): peak RSS of prepare <= 1.5 GB, whatever the number of videos: memory is bounded
by one video (two short ones, read one ahead), so a subset of the lists measures what the whole
release would (the full release, about 24 GB of features at D = 1024, need not be written). The
subset is ``--max-videos`` videos of each list, evenly spaced in list order (violent and normal),
T drawn in 16..480 snippets (mean about 250, near the public release's); one training and one test
video are made ``--long-snippets`` long (default 12,000: 235 MiB of features, read in slices like
any video over 64 MiB). Prepare runs in a child process (``python -m cbmil data prepare``), and its
peak is that child's ``ru_maxrss``; this script imports no torch, so the child starts small. Times
are medians of ``--repeats`` (>= 5) interleaved rounds after one warm-up, with min and max.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from timing import MIN_REPEATS, interleaved_times, prepare_speeds, show

from cbmil.data import xd_violence as xd
from cbmil.data.prepare_xd import spread_subset, write_xd_standin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--max-videos", type=int, default=200, help="videos of each list in the stand-in")
    parser.add_argument("--long-snippets", type=int, default=12_000,
                        help="length of the one long training and the one long test video")
    parser.add_argument("--workdir", help="where to write the stand-in (default: a temporary folder)")
    parser.add_argument("--repeats", type=int, default=MIN_REPEATS, help=f"rounds (at least {MIN_REPEATS})")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        tmp = Path(tmp)
        train_key = spread_subset(xd.train_videos(), args.max_videos)[0].key  # the two long videos
        test_keys = {v.key for v in spread_subset(xd.parse_list(xd.LIST_DIR / xd.TEST_LIST), args.max_videos)}
        test_key = spread_subset(xd.parse_list(xd.LIST_DIR / xd.TEST_LIST), args.max_videos)[-1].key
        start = time.perf_counter()
        src = write_xd_standin(tmp / "src", dim=1024, seed=0, max_videos=args.max_videos,
                               lengths={train_key: args.long_snippets, test_key: args.long_snippets})
        write_seconds = time.perf_counter() - start
        files = sorted((tmp / "src").rglob("*.npy"))
        size = sum(f.stat().st_size for f in files)
        lengths = np.array(list(src["lengths"].values()))

        def plain_read():  # load each crop file whole, in order
            for f in files:
                np.load(f)[0, 0]

        # the cache's size: every training bag [5, 32, 1024] and every test snippet [5, 1024], float32
        test_snippets = sum(t for k, t in src["lengths"].items() if k in test_keys)
        out_bytes = 4 * 5 * 1024 * (32 * (len(lengths) - len(test_keys)) + test_snippets)
        block = np.zeros(16 * 2**20 // 4, dtype=np.float32)

        def plain_write():
            with open(tmp / "plain_write.bin", "wb") as fh:
                for _ in range(-(-out_bytes // block.nbytes)):
                    fh.write(block.data)
            (tmp / "plain_write.bin").unlink()

        def prepare():
            shutil.rmtree(tmp / "cache", ignore_errors=True)
            subprocess.run([sys.executable, "-m", "cbmil", "data", "prepare", "--dataset", "xd",
                            "--features-dir", str(src["features"]), "--train-list", str(src["train_list"]),
                            "--test-list", str(src["test_list"]), "--annotations-dir", str(src["annotations"]),
                            "--out", str(tmp / "cache"), "--quiet"], check=True, stdout=subprocess.DEVNULL)

        times = interleaved_times({"plain_read": plain_read, "plain_write": plain_write, "prepare": prepare}, "cpu",
                                  args.repeats, warmup=1)
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        self_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        cache_bytes = sum(f.stat().st_size for f in (tmp / "cache").glob("*.npy"))
    out = {"videos": len(lengths), "files": len(files), "gigabytes": size / 2**30, "cache_gigabytes": cache_bytes / 2**30,
           "mean_snippets": float(lengths.mean()), "max_snippets": int(lengths.max()),
           "write_seconds": write_seconds, "prepare_peak_rss_mb": peak_mb, "script_peak_rss_mb": self_mb}
    out = prepare_speeds(out, times, size, out_bytes)
    if args.json:
        print(json.dumps(out))
        return
    print(f"STAND-IN: {out['videos']} videos ({args.max_videos} of each list, two of {args.long_snippets:,} snippets), "
          f"{out['files']:,} crop files [T, 1024], {out['gigabytes']:.2f} GB (mean T {out['mean_snippets']:.0f}); "
          f"cache {out['cache_gigabytes']:.2f} GB; medians of {out['prepare_seconds_n']} interleaved rounds (min, max)")
    print(f"plain sequential read     {show(out, 'plain_read_seconds', 1, 's')}  {out['plain_read_gb_per_s']:.2f} GB/s")
    print(f"plain sequential write    {show(out, 'plain_write_seconds', 1, 's')}  {out['plain_write_gb_per_s']:.2f} GB/s "
          f"(as many bytes as the cache)")
    print(f"data prepare --dataset xd {show(out, 'prepare_seconds', 1, 's')}  {out['prepare_gb_per_s']:.2f} GB/s "
          f"= {100 * out['prepare_vs_read']:.0f} % of the plain read, {100 * out['prepare_vs_read_plus_write']:.0f} % "
          f"of plain read + write (one process start included); peak RSS {peak_mb:.0f} MB "
          f"(target <= 1,536 MB; this script: {self_mb:.0f} MB)")


if __name__ == "__main__":
    main()
