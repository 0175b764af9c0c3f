"""Training-step benchmark: the machine's matmul limit, the kit's step, vectorized models, and a
public-style loop on the same ten-crop files, for layer 1 in fp32 and in bf16.

    python benchmarks/bench_train.py [--json] [--device cpu|cuda] [--dim 2048] [--videos 40]
                                     [--precision fp32 bf16] [--sweep-iterations 0]

Everything is measured in one run, on one generated ten-crop folder, once per precision (fp32
keys unprefixed, bf16 keys with a ``bf16_`` prefix). Every timing is the **median** of at least
``--repeats`` (>= 5) repetitions after warm-up, printed with its min and max; the JSON carries
``<name>`` (the median), ``<name>_min``, ``<name>_max`` and ``<name>_n``. Timings that form a ratio
(one model vs M models vectorized) are taken in interleaved rounds (each round times every
contender once), so that a machine that slows down mid-run slows all of them alike; each ratio is
computed from the medians of the same run.

* ``limit_gflops``: the two matrix products of layer 1 alone, at its shapes, in that precision:
  the forward ``[1920, D] @ [D, 512]`` and the weight gradient ``[D, 1920] @ [1920, 512]`` (the
  bf16 ones run on AMX / tensor cores where present), timed in the same rounds as the steps, so
  that the ratio of a step to it is not a ratio between two moments of a noisy machine;
* the kit's step for one model (the paper's batch: 30 + 30 bags of 32 segments), in seconds and
  in GFLOP/s counting the FLOPs really executed (layer 1 forward and weight gradient — the input
  needs no gradient — plus layers 2 and 3), and its ratio to the limit of the same precision;
* the same one-model step with the top-k MIL loss (``TrainConfig(loss="topk")``, k = 3,
  :func:`cbmil.losses.topk_mil_loss`) on the same data, timed in the same rounds:
  ``topk_step_seconds`` and ``topk_ratio`` = top-k / ranking (the target: within 10 %);
* the same step through the fused training pass (``RunSettings(fused=True)``, :mod:`cbmil.accel.fused`,
  the backward written out) for one model and for 20 vectorized: ``fused_speedup`` and
  ``fused_speedup_m20`` = autograd (the default) / fused;
* where one model's step goes: each phase of ``Trainer.step`` (gather of the batch, dropout
  masks, forward, loss, backward, optimizer) timed within one step, the layer-1 products alone
  timed in the same rounds; ``phase_<name>_seconds``, and ``phase_remainder_seconds`` = the sum
  of the phases' medians minus that of the products: what fusing could still remove;
* M = 1, 5, 20 models trained as one vectorized bank vs M single-model steps;
* on CUDA, the same one-model and 20-model steps recorded as a CUDA graph
  (``RunSettings(cuda_graph=True)``, :mod:`cbmil.accel.cudagraph`): ``graph_speedup`` and
  ``graph_speedup_m20`` = launched kernel by kernel / replayed, and ``graphed_ratio_to_limit``;
* the page faults of one 20-model step (``vectorized_m20_page_faults_per_step``): with
  ``--release-memory`` (:func:`cbmil.accel.memory.keep_freed_memory` not called) each step maps its
  large activations afresh (see :mod:`cbmil.accel.memory`); by default they are reused;
* a public-style loop on the same files (CPU only), as public UCF-Crime MIL code runs: a batch
  of 30 + 30 videos, each ``Name_x264_i3d.npy`` ``[T, 10, D]`` read from disk when sampled,
  DataLoaders re-created every step, each of the 10 crops its own bag (so 300 + 300 bags per
  step), fp32. Its per-step time is compared with the kit's step (30 + 30 bags, one random crop
  each), and ``speedup_per_bag`` also divides by the 10x larger number of bags it scores;
* optionally (``--sweep-iterations N``) a whole sweep: MIL + 4 betas x 5 seeds, N steps (on CUDA
  also with the CUDA graph: ``graphed_sweep_seconds``).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from timing import MIN_REPEATS, interleaved_times, record, show, spread, sync, timed

from cbmil.data import dataset
from cbmil.accel import memory
from cbmil.losses import mil_ranking_loss
from cbmil.model import DTYPES, Scorer, native_bf16
from cbmil.data.prepare import prepare
from cbmil.data.synthetic import write_feature_folders
from cbmil.train import RunSettings, TrainConfig, Trainer, device_name, paper_variants, select_device
from cbmil.data.ucf_crime import CLASSES

H1, H2, BAGS, SEGMENTS = 512, 32, 30, 32


def key(precision: str, name: str) -> str:
    """JSON key of a figure: fp32 figures unprefixed (``step_seconds``), others ``bf16_step_seconds``."""
    return name if precision == "fp32" else f"{precision}_{name}"


def step_flops(dim: int, rows: int = 2 * BAGS * SEGMENTS) -> float:
    """FLOPs executed by one model's training step (layer 1 needs no input gradient)."""
    layer1 = 2 * 2 * rows * dim * H1             # forward + weight gradient
    layer2 = 3 * 2 * rows * H1 * H2              # forward + input gradient + weight gradient
    layer3 = 3 * 2 * rows * H2                   # same for the 32 -> 1 layer
    return float(layer1 + layer2 + layer3)


PHASES = {"sample": "sample: gather of the batch", "masks": "dropout masks", "forward": "forward (scores)",
          "loss": "loss", "backward": "backward", "optimizer": "optimizer (Adagrad)"}


def phase_times(trainer: Trainer, limit, device, repeats: int, warmup: int = 2) -> dict[str, dict]:
    """Where one step goes: each phase of :meth:`Trainer.step <cbmil.train.Trainer.step>` (the
    keys of :data:`PHASES`) timed within one step, ``repeats`` steps (>= 5) after ``warmup``, with
    ``limit`` (the layer-1 products alone) timed once per round beside them; ``{name: spread}``."""
    times = {name: [] for name in list(PHASES) + ["limit"]}
    for round_ in range(warmup + max(MIN_REPEATS, repeats)):
        marks = [time.perf_counter()]

        def mark():
            sync(device)
            marks.append(time.perf_counter())
        x, classes = trainer.sample()
        mark()
        masks = trainer.masks(x.shape[1])
        mark()
        scores = trainer.scores(x, masks)
        mark()
        loss = trainer.loss(scores, classes)
        mark()
        trainer.optimizer.zero_grad(set_to_none=True)
        loss.sum().backward()
        mark()
        trainer.optimizer.step()
        mark()
        limit()
        mark()
        if round_ >= warmup:
            for name, a, b in zip(times, marks[:-1], marks[1:]):
                times[name].append(b - a)
    return {name: spread(t) for name, t in times.items()}


class VideoFolder(torch.utils.data.Dataset):
    """The public-style dataset: one ``[T, 10, D]`` file read and pooled per item."""

    def __init__(self, files):
        self.files = files

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        feats = np.load(self.files[i])                        # [T, 10, D], read from disk every time
        # pooled the way public loaders do it: a Python loop of per-segment means
        bounds = np.linspace(0, len(feats), SEGMENTS + 1).astype(int)
        pooled = np.stack([feats[a:b].mean(0) if b > a else feats[a] for a, b in zip(bounds[:-1], bounds[1:])])
        return torch.from_numpy(np.ascontiguousarray(np.moveaxis(pooled, 0, 1)))   # [10, 32, D]


def public_style_step(model, optimizer, abnormal, normal, videos_per_step: int):
    """One step of the public-style loop: new DataLoaders, each crop its own bag."""
    a_loader = torch.utils.data.DataLoader(abnormal, batch_size=videos_per_step, shuffle=True)
    n_loader = torch.utils.data.DataLoader(normal, batch_size=videos_per_step, shuffle=True)
    a = next(iter(a_loader)).flatten(0, 1)                    # [videos * 10, 32, D]: crops as bags
    n = next(iter(n_loader)).flatten(0, 1)
    scores = model(torch.cat([a, n]))
    loss = mil_ranking_loss(scores[: len(a)], scores[len(a):])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dim", type=int, default=2048)
    parser.add_argument("--videos", type=int, default=40, help="abnormal (and normal) training videos generated")
    parser.add_argument("--max-snippets", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=11, help=f"timings per figure (at least {MIN_REPEATS})")
    parser.add_argument("--sweep-iterations", type=int, default=0, help="time MIL + 4 betas x 5 seeds for N steps")
    parser.add_argument("--precision", nargs="+", default=None, choices=["fp32", "bf16"],
                        help="layer-1 arithmetic(s) to measure (figures of bf16 get a 'bf16_' prefix); default: "
                             "fp32, and bf16 where the device has bf16 matrix units (emulated bf16 is ~50x slower)")
    parser.add_argument("--release-memory", action="store_true",
                        help="leave glibc's defaults (large blocks mapped afresh every step; cbmil.accel.memory)")
    parser.add_argument("--workdir", help="folder for the generated files (default: a temporary one)")
    args = parser.parse_args()
    device = select_device(args.device)
    if args.precision is None:
        args.precision = ["fp32", "bf16"] if native_bf16(device) else ["fp32"]
    torch.manual_seed(0)
    out = {"device": str(device), "device_name": device_name(device), "threads": torch.get_num_threads(),
           "torch": torch.__version__, "dim": args.dim}

    rows = 2 * BAGS * SEGMENTS
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        per_class = max(1, args.videos // len(CLASSES))
        counts = {c: per_class for c in CLASSES} | {"Normal": per_class * len(CLASSES)}
        test_counts = {c: 1 for c in CLASSES} | {"Normal": 2}
        dirs = write_feature_folders(Path(tmp) / "src", "ten_crop", preset="full", dim=args.dim,
                                     train_counts=counts, test_counts=test_counts, max_snippets=args.max_snippets)
        data = dataset.load(prepare(dirs["train"], dirs["test"], dirs["annotations"], Path(tmp) / "cache",
                                    progress=False))
        out["train_videos"] = int(len(data.train_classes))
        if device.type == "cpu" and not args.release_memory:  # before the trainers' bags and banks
            memory.keep_freed_memory()

        cfg = TrainConfig()  # the paper's model and batch; only how it runs changes below
        for precision in args.precision:
            # --- the kit's step, one model, and M = 1, 5, 20 models vectorized, timed in interleaved
            # rounds; the fused training pass of one and of 20 models beside them
            run = RunSettings(device=str(device), precision=precision, progress=False)
            fused = replace(run, fused=True)
            grids = {1: (1, 1), 5: (1, 5), 20: (4, 5)}
            trainers = {"step_seconds": Trainer(data, paper_variants(())[:1], [0], cfg, run),
                        "topk_step_seconds": Trainer(data, paper_variants(())[:1], [0], replace(cfg, loss="topk"), run),
                        "fused_step_seconds": Trainer(data, paper_variants(())[:1], [0], cfg, fused),
                        "fused_vectorized_m20_step_seconds": Trainer(data, paper_variants()[:5], list(range(4)),
                                                                     cfg, fused)}
            for m, (seeds, variants) in grids.items():
                trainers[f"vectorized_m{m}_step_seconds"] = Trainer(data, paper_variants()[:variants],
                                                                    list(range(seeds)), cfg, run)
            if device.type == "cuda":  # the step recorded once as a CUDA graph (recorded at its first call)
                graphed = replace(run, cuda_graph=True)
                trainers |= {"graphed_step_seconds": Trainer(data, paper_variants(())[:1], [0], cfg, graphed),
                             "graphed_vectorized_m20_step_seconds": Trainer(data, paper_variants()[:5],
                                                                            list(range(4)), cfg, graphed)}
            # the limit: layer 1's two products alone (forward, weight gradient) at the step's shapes
            x = torch.randn(rows, args.dim, device=device, dtype=DTYPES[precision])
            w = torch.randn(args.dim, H1, device=device, dtype=DTYPES[precision])
            g = torch.randn(rows, H1, device=device, dtype=DTYPES[precision])
            contenders = {"limit_seconds": lambda: (x @ w, x.T @ g)} | {name: t.step for name, t in trainers.items()}
            times = interleaved_times(contenders, device, args.repeats)
            phases = phase_times(trainers["step_seconds"], contenders["limit_seconds"], device, args.repeats)
            times |= {f"phase_{name}_seconds": figure for name, figure in phases.items()}
            # page faults of the 20-model step: its activations are above glibc's mmap threshold
            before = memory.page_faults()
            for _ in range(2):
                trainers["vectorized_m20_step_seconds"].step()
            out[key(precision, "vectorized_m20_page_faults_per_step")] = (memory.page_faults() - before) / 2
            del trainers
            figures = {name: record(out, key(precision, name), figure) for name, figure in times.items()}
            out[key(precision, "limit_gflops")] = 2 * 2 * rows * args.dim * H1 / figures["limit_seconds"] / 1e9
            t1 = figures["step_seconds"]
            out[key(precision, "steps_per_second")] = 1 / t1
            out[key(precision, "step_gflops")] = step_flops(args.dim) / t1 / 1e9
            out[key(precision, "ratio_to_limit")] = step_flops(args.dim) / t1 / 1e9 / out[key(precision, "limit_gflops")]
            out[key(precision, "fused_ratio_to_limit")] = (step_flops(args.dim) / figures["fused_step_seconds"] / 1e9
                                                           / out[key(precision, "limit_gflops")])
            out[key(precision, "phase_remainder_seconds")] = (sum(figures[f"phase_{name}_seconds"] for name in PHASES)
                                                              - figures["phase_limit_seconds"])
            for m in grids:
                out[key(precision, f"vectorized_m{m}_cost_ratio")] = figures[f"vectorized_m{m}_step_seconds"] / (m * t1)
            out[key(precision, "topk_ratio")] = figures["topk_step_seconds"] / t1
            out[key(precision, "fused_speedup")] = t1 / figures["fused_step_seconds"]
            out[key(precision, "fused_speedup_m20")] = (figures["vectorized_m20_step_seconds"]
                                                        / figures["fused_vectorized_m20_step_seconds"])
            if "graphed_step_seconds" in figures:
                out[key(precision, "graphed_ratio_to_limit")] = (step_flops(args.dim) / figures["graphed_step_seconds"]
                                                                 / 1e9 / out[key(precision, "limit_gflops")])
                out[key(precision, "graph_speedup")] = t1 / figures["graphed_step_seconds"]
                out[key(precision, "graph_speedup_m20")] = (figures["vectorized_m20_step_seconds"]
                                                            / figures["graphed_vectorized_m20_step_seconds"])

            if args.sweep_iterations:
                # one whole schedule, timed in MIN_REPEATS consecutive parts: the total is their sum,
                # the spread is that of the seconds per step of each part; on CUDA again as a CUDA graph
                sweeps = {"sweep": run} | ({"graphed_sweep": replace(run, cuda_graph=True)}
                                           if device.type == "cuda" else {})
                ends = np.unique(np.linspace(0, args.sweep_iterations, MIN_REPEATS + 1).round().astype(int)[1:])
                for name, sweep_run in sweeps.items():
                    sweep = Trainer(data, paper_variants(), list(range(5)),
                                    replace(cfg, iterations=args.sweep_iterations), sweep_run)
                    seconds = []
                    for end in ends:
                        sync(device)
                        start = time.perf_counter()
                        sweep.run(iterations=int(end))
                        sync(device)
                        seconds.append(time.perf_counter() - start)
                    del sweep
                    out[key(precision, f"{name}_seconds")] = sum(seconds)
                    record(out, key(precision, f"{name}_step_seconds"),
                           spread([t / n for t, n in zip(seconds, np.diff(ends, prepend=0))]))
                out["sweep_models"] = 25
                out["sweep_iterations"] = args.sweep_iterations

        # --- the public-style loop on the same files
        files = sorted(dirs["train"].glob("*_i3d.npy"))
        abnormal = VideoFolder([f for f in files if not f.name.startswith("Normal")])
        normal = VideoFolder([f for f in files if f.name.startswith("Normal")])
        # the public loop is a CPU-side data path; timed on CPU only. It runs in this process, so with
        # the kit's memory setting (cbmil.accel.memory) where that is in force: a faster loop than the same
        # code under glibc's defaults, i.e. the kit's speed-up over it is if anything understated
        if device.type == "cpu":
            model = Scorer(args.dim)
            opt = torch.optim.Adagrad(model.parameters(), lr=1e-3)
            tp = record(out, "public_loop_step_seconds",
                        timed(lambda: public_style_step(model, opt, abnormal, normal, BAGS), device, args.repeats, warmup=1))
            out["public_loop_bags_per_step"] = 2 * BAGS * 10
            for precision in args.precision:
                out[key(precision, "speedup_vs_public_loop")] = tp / out[key(precision, "step_seconds")]
                out[key(precision, "speedup_per_bag")] = tp / out[key(precision, "step_seconds")] / 10
    out["keep_memory"] = memory.in_force()  # set on a CPU unless --release-memory (glibc only)
    if "bf16" in args.precision and "fp32" in args.precision:
        out["bf16_speedup_vs_fp32"] = out["step_seconds"] / out["bf16_step_seconds"]

    if args.json:
        print(json.dumps(out))
        return
    print(f"device {out['device']} ({out['device_name']}, {out['threads']} threads), torch {out['torch']}, D = {args.dim}; "
          f"medians of >= {MIN_REPEATS} timings (min, max), ratios from medians of the same run")
    for precision in args.precision:
        k = lambda name: out[key(precision, name)]  # noqa: E731
        print(f"--- layer 1 in {precision}")
        print(f"{'limit: layer 1 products alone (fwd + grad)':<44}{show(out, key(precision, 'limit_seconds'))}  "
              f"{k('limit_gflops'):.1f} GFLOP/s")
        print(f"{'kit step, one model':<44}{show(out, key(precision, 'step_seconds'))}  {k('step_gflops'):.1f} GFLOP/s "
              f"= {100 * k('ratio_to_limit'):.0f} % of the {precision} limit")
        print(f"{'the same, top-k MIL loss (--loss topk, k = 3)':<44}{show(out, key(precision, 'topk_step_seconds'))}  "
              f"= {k('topk_ratio'):.3f} x the ranking loss's step")
        print(f"{'the same, fused training pass (--fused)':<44}{show(out, key(precision, 'fused_step_seconds'))}  "
              f"= {100 * k('fused_ratio_to_limit'):.0f} % of the limit; {k('fused_speedup'):.2f} x the speed of autograd")
        total = sum(k(f"phase_{name}_seconds") for name in PHASES)
        print(f"{'where one step goes (each phase within a step)':<44}"
              f"{1e3 * total:10.1f} ms, the sum of the medians below")
        for name, label in PHASES.items():
            print(f"{'  ' + label:<44}{show(out, key(precision, f'phase_{name}_seconds'))}  "
                  f"{100 * k(f'phase_{name}_seconds') / total:4.1f} %")
        print(f"{'  layer-1 products alone, same rounds':<44}{show(out, key(precision, 'phase_limit_seconds'))}; "
              f"the rest of the step: {1e3 * k('phase_remainder_seconds'):.1f} ms "
              f"= {100 * k('phase_remainder_seconds') / total:.0f} % of it")
        for m in (1, 5, 20):
            print(f"{f'{m} models vectorized':<44}{show(out, key(precision, f'vectorized_m{m}_step_seconds'))}  "
                  f"= {k(f'vectorized_m{m}_cost_ratio'):.2f} x {m} single steps")
        print(f"{'  page faults of one 20-model step':<44}{k('vectorized_m20_page_faults_per_step'):10.0f} "
              f"(freed memory {'kept for reuse' if out['keep_memory'] else 'released'}: cbmil.accel.memory)")
        print(f"{'20 models vectorized, fused pass':<44}{show(out, key(precision, 'fused_vectorized_m20_step_seconds'))}  "
              f"{k('fused_speedup_m20'):.2f} x the speed of autograd")
        if key(precision, "graph_speedup") in out:
            print(f"{'one model, CUDA graph (--cuda-graph)':<44}{show(out, key(precision, 'graphed_step_seconds'))}  "
                  f"= {100 * k('graphed_ratio_to_limit'):.0f} % of the limit; {k('graph_speedup'):.2f} x the speed "
                  "of launching kernel by kernel")
            print(f"{'20 models vectorized, CUDA graph':<44}"
                  f"{show(out, key(precision, 'graphed_vectorized_m20_step_seconds'))}  "
                  f"{k('graph_speedup_m20'):.2f} x the speed of launching kernel by kernel")
        if "public_loop_step_seconds" in out:
            print(f"{'public-style loop (files, new DataLoader)':<44}{show(out, 'public_loop_step_seconds')}  "
                  f"kit is {k('speedup_vs_public_loop'):.1f} x faster per step "
                  f"({k('speedup_per_bag'):.1f} x per bag scored: it scores 600 bags a step)")
        for name, label in (("sweep", "sweep"), ("graphed_sweep", "sweep, CUDA graph")):
            if key(precision, f"{name}_seconds") in out:
                print(f"{label:<44}{out['sweep_models']} models x {args.sweep_iterations} steps: "
                      f"{k(f'{name}_seconds'):.1f} s; per step {show(out, key(precision, f'{name}_step_seconds'))} "
                      f"over {out[key(precision, f'{name}_step_seconds_n')]} parts of the schedule")
    if "bf16_speedup_vs_fp32" in out:
        print(f"bf16 step is {out['bf16_speedup_vs_fp32']:.2f} x faster than the fp32 step")

if __name__ == "__main__":
    main()
