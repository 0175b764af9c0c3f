"""Smoke test of the prepared GPU check in its CPU mode (tiny sizes): it must run and print figures."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow  # runs every part of the check, training included
def test_gpu_check_script_runs_on_cpu_with_tiny_sizes():
    run = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_check.sh"), "--device", "cpu"],
                         capture_output=True, text=True, env={**os.environ, "PY": sys.executable}, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    figures = json.loads(run.stdout.strip().splitlines()[-1])
    for key in ("limit_gflops", "step_seconds", "step_gflops", "ratio_to_limit", "public_loop_step_seconds",
                "speedup_vs_public_loop", "vectorized_m20_cost_ratio", "device", "sweep_seconds",
                "phase_masks_seconds", "phase_backward_seconds", "phase_limit_seconds", "phase_remainder_seconds"):
        assert key in figures, key
    assert figures["device"] == "cpu" and figures["sweep_models"] == 25
    assert figures["step_seconds"] > 0 and figures["limit_gflops"] > 0
    with open(ROOT / "gpu_check_out" / "selection_bias" / "selection_bias.csv") as fh:
        assert len(fh.read().splitlines()) == 1 + 2 * 5  # header + MIL and 4 betas x 2 seeds
    with open(ROOT / "gpu_check_out" / "imbalance" / "imbalance_cells.csv") as fh:  # both losses, both remedies
        cells = list(csv.DictReader(fh))
    assert {(c["loss"], c["remedy"]) for c in cells} == {(l, r) for l in ("ranking", "topk") for r in ("weights", "sampler")}
    schedule = json.loads((ROOT / "gpu_check_out" / "schedule" / "schedule_check.json").read_text())
    assert set(schedule["train_seconds"]) == {"eager-fp32", "eager-bf16"} and schedule["models"] == 10
    for way in schedule["train_seconds"]:  # each way's study, for compare_precision.py
        assert json.loads((ROOT / "gpu_check_out" / "schedule" / way / "runs.json").read_text())["seeds"] == [0, 1]


@pytest.mark.slow  # trains the schedule part's studies
def test_gpu_check_runs_only_the_parts_asked_for(tmp_path):
    run = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_check.sh"), "--device", "cpu", "--parts", "schedule",
                          str(tmp_path)], capture_output=True, text=True, env={**os.environ, "PY": sys.executable},
                         timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["schedule"]
    assert "compare_precision.py" in run.stderr  # the schedule part's seed-by-seed comparison ran
