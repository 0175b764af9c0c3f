"""Time the synthetic UCF-Crime generator (targets: "ci" < 3 s, "full" < 30 s on a 2-core CPU).

    python benchmarks/bench_synthetic.py [--json] [--repeats 5]

Each preset is generated ``--repeats`` (>= 5) times; the figure is the median, with min and max.
"""

import argparse
import json
import time

from timing import MIN_REPEATS, record, show, spread

from cbmil.data.synthetic import make_dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--repeats", type=int, default=MIN_REPEATS, help=f"generations per preset (at least {MIN_REPEATS})")
    args = parser.parse_args()
    figures = {}
    for preset in ("ci", "full"):
        times = []
        for _ in range(max(MIN_REPEATS, args.repeats)):
            start = time.perf_counter()
            data = make_dataset(preset, seed=0)
            times.append(time.perf_counter() - start)
            shape = {"train_bags": list(data.train_bags.shape), "test_snippets": list(data.test_snippets.shape),
                     "megabytes": round((data.train_bags.nbytes + data.test_snippets.nbytes) / 2**20)}
            del data
        figures[preset] = shape
        record(figures[preset], "seconds", spread(times))
    if args.json:
        print(json.dumps(figures))
        return
    for preset, f in figures.items():
        print(f"{preset:<6}{show(f, 'seconds', 1, 's')}  {f['megabytes']} MB: bags {f['train_bags']}, "
              f"test {f['test_snippets']}")


if __name__ == "__main__":
    main()
