"""Timing on a noisy machine, shared by the benchmarks: every figure is the median of at least
:data:`MIN_REPEATS` repetitions after warm-up, kept with its min, max and count.

The benchmarks run as scripts (``python benchmarks/bench_train.py``), so this folder is on
``sys.path`` and they import this module as ``timing``.
"""

from __future__ import annotations

import statistics
import time

MIN_REPEATS = 5


def sync(device) -> None:
    """Wait for the device's queued work (CUDA kernels run asynchronously). torch is imported
    only for a CUDA device: a benchmark that does not need it (bench_prepare) must not carry it,
    since a child process started from it counts the parent's memory in its peak RSS."""
    if str(device).startswith("cuda"):
        import torch
        torch.cuda.synchronize()


def spread(times: list[float]) -> dict:
    """Median, min, max and count of repeated timings (seconds)."""
    return {"median": statistics.median(times), "min": min(times), "max": max(times), "n": len(times)}


def interleaved_times(fns: dict, device, repeats: int, warmup: int = 2) -> dict[str, dict]:
    """Time each of ``fns`` (name -> callable) ``repeats`` times (at least :data:`MIN_REPEATS`),
    in rounds that run every callable once, after ``warmup`` rounds; ``{name: spread(times)}``."""
    repeats = max(MIN_REPEATS, repeats)
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    sync(device)
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            sync(device)
            times[name].append(time.perf_counter() - start)
    return {name: spread(t) for name, t in times.items()}


def timed(fn, device, repeats: int, warmup: int = 2) -> dict:
    """:func:`spread` of ``fn`` run ``repeats`` (>= 5) times after ``warmup`` runs."""
    return interleaved_times({"fn": fn}, device, repeats, warmup)["fn"]


def record(out: dict, name: str, figure: dict) -> float:
    """Store a timing as ``name`` (median), ``name_min``, ``name_max``, ``name_n``; return the median."""
    out[name] = figure["median"]
    out[f"{name}_min"], out[f"{name}_max"], out[f"{name}_n"] = figure["min"], figure["max"], figure["n"]
    return figure["median"]


def show(out: dict, name: str, scale: float = 1e3, unit: str = "ms") -> str:
    """``median unit (min .., max .., n = N)`` of a recorded timing (seconds x ``scale``, ms by default)."""
    digits = 1 if scale >= 1e3 else 3
    return (f"{scale * out[name]:10.{digits}f} {unit} (min {scale * out[f'{name}_min']:.{digits}f}, "
            f"max {scale * out[f'{name}_max']:.{digits}f}, n = {out[f'{name}_n']})")


def prepare_speeds(out: dict, times: dict, read_bytes: int, written_bytes: int) -> dict:
    """Record the medians of a prepare benchmark's three timings (``plain_read``, ``plain_write``,
    ``prepare``) in ``out`` and add its speeds: GB/s of each, and prepare against a plain read and
    against a plain read + write."""
    read, write, prep = (record(out, f"{name}_seconds", times[name]) for name in ("plain_read", "plain_write", "prepare"))
    return out | {"plain_read_gb_per_s": read_bytes / 2**30 / read, "prepare_gb_per_s": read_bytes / 2**30 / prep,
                  "prepare_vs_read": read / prep, "plain_write_gb_per_s": written_bytes / 2**30 / write,
                  "prepare_vs_read_plus_write": (read + write) / prep}
