"""The paper's schedule trained several ways on the same worlds: how long each trains, and the
studies to compare seed by seed (``compare_precision.py``).

    python benchmarks/schedule_check.py --out DIR [--device cuda] [--preset full] [--seeds 5]
                                        [--iterations 10000] [--ways graph-fp32 eager-fp32 ...]

A way is ``<step>-<precision>``: ``eager`` (kernels launched one by one, the default),
``graph`` (``--cuda-graph``, :mod:`cbmil.accel.cudagraph`, CUDA only) or ``fused`` (``--fused``), with
layer 1 in ``fp32`` or ``bf16``. The worlds (one synthetic world per seed, as ``cbmil reproduce``
makes them) are generated once and every way trains MIL + CB-MIL at the paper's four betas on
them, so the studies differ by the way of training only. Each way's tables and ``runs.json`` go to
``DIR/<way>/``; ``DIR/schedule_check.json`` holds the training seconds of every way (the recording
of a CUDA graph included) with the device and torch version. SYNTHETIC data.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from cbmil.accel.memory import keep_freed_memory
from cbmil.study import paper
from cbmil.study.reproduction import PRESETS, run_study, synthetic_worlds, write_outputs
from cbmil.train import RunSettings, TrainConfig, device_name, select_device

STEPS = {"eager": {}, "graph": {"cuda_graph": True}, "fused": {"fused": True}}


def parse_way(way: str) -> dict:
    """The :class:`cbmil.train.RunSettings` fields of a way (``<step>-<precision>``)."""
    step, _, precision = way.partition("-")
    if step not in STEPS or precision not in ("fp32", "bf16"):
        raise ValueError(f"a way is <{'|'.join(STEPS)}>-<fp32|bf16>, got {way!r}")
    return STEPS[step] | {"precision": precision}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--preset", default="full", choices=sorted(PRESETS))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=10_000)
    parser.add_argument("--ways", nargs="+", default=["graph-fp32", "graph-bf16", "eager-fp32", "eager-bf16"])
    args = parser.parse_args()
    device = select_device(args.device)
    try:  # every way checked before any work
        ways = {way: parse_way(way) for way in args.ways}
    except ValueError as exc:
        parser.error(str(exc))
    if device.type != "cuda" and any(fields.get("cuda_graph") for fields in ways.values()):
        parser.error(f"the graph ways need a CUDA device; --device {args.device} is {device.type!r}")
    out = Path(args.out)
    seeds = list(range(args.seeds))
    start = time.perf_counter()
    worlds = synthetic_worlds(args.preset, seeds)
    summary = {"device": str(device), "device_name": device_name(device), "torch": torch.__version__,
               "preset": args.preset, "seeds": args.seeds, "iterations": args.iterations,
               "models": args.seeds * (1 + len(paper.BETAS)), "data_seconds": time.perf_counter() - start,
               "train_seconds": {}}
    print(f"{summary['models']} models x {args.iterations} steps on {summary['device_name']} "
          f"(SYNTHETIC worlds, {args.preset} preset, made in {summary['data_seconds']:.0f} s)", flush=True)
    if device.type == "cpu":  # as `cbmil reproduce` does by default (same arithmetic, fewer page faults)
        keep_freed_memory()
    config = TrainConfig(iterations=args.iterations)  # the same models every way
    for way, fields in ways.items():
        settings = RunSettings(device=str(device), progress=False, **fields)
        label = f"SYNTHETIC data ({args.preset} preset, one world per seed), trained {way}"
        study = run_study(worlds, paper.BETAS, seeds, config, label, settings)
        write_outputs(study, out / way, figures=None)
        summary["train_seconds"][way] = study.trainer.seconds
        print(f"{way:<12} trained in {study.trainer.seconds:7.1f} s", flush=True)
        del study
        if device.type == "cuda":
            torch.cuda.empty_cache()
    (out / "schedule_check.json").write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
