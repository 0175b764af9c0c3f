"""Time the synthetic UCF-Crime generator (targets: "ci" < 3 s, "full" < 30 s on a 2-core CPU).

    python benchmarks/bench_synthetic.py [--json]
"""

import argparse
import json
import time

from cbmil.synthetic import make_dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    figures = {}
    for preset in ("ci", "full"):
        start = time.perf_counter()
        data = make_dataset(preset, seed=0)
        seconds = time.perf_counter() - start
        figures[preset] = {"seconds": round(seconds, 2), "train_bags": list(data.train_bags.shape),
                           "test_snippets": list(data.test_snippets.shape),
                           "megabytes": round((data.train_bags.nbytes + data.test_snippets.nbytes) / 2**20)}
        del data
    if args.json:
        print(json.dumps(figures))
        return
    print(f"{'preset':<8}{'seconds':>9}{'MB':>7}  shapes")
    for preset, f in figures.items():
        print(f"{preset:<8}{f['seconds']:>9.2f}{f['megabytes']:>7}  bags {f['train_bags']}, test {f['test_snippets']}")


if __name__ == "__main__":
    main()
