"""plan-seeds: seeds needed for a paired difference, from given SD or from a study's runs.json."""

import json
import subprocess
import sys

import numpy as np
import pytest
from scipy.stats import ttest_1samp

from cbmil.eval.stats import paired_t_power
from cbmil.study.planning import plan_table


def test_cli_json_agrees_with_a_simulated_paired_t_test(tmp_path):
    run = subprocess.run([sys.executable, "-m", "cbmil", "plan-seeds", "--sd", "0.7", "--delta", "0.5", "--json"],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    plan = json.loads(run.stdout)
    n = plan["seeds"]
    assert n == 18 and plan["power"] >= 0.8 > paired_t_power(n - 1, 0.7, 0.5)
    rng = np.random.default_rng(0)  # independent check: rejection rate of scipy's t-test by simulation
    for seeds in (n - 1, n):
        rate = (ttest_1samp(rng.normal(0.5, 0.7, size=(20000, seeds)), 0.0, axis=1).pvalue < 0.05).mean()
        assert rate == pytest.approx(paired_t_power(seeds, 0.7, 0.5), abs=0.012)


def test_plan_from_runs_uses_the_sd_of_per_seed_differences_to_mil():
    diffs = np.array([0.010, 0.004, 0.007, 0.012])  # fractions -> pp: 1.0, 0.4, 0.7, 1.2
    runs = {"seeds": [0, 1, 2, 3], "variants": [{"name": "MIL"}, {"name": "CB-MIL 0.9"}], "runs": []}
    for s, d in enumerate(diffs):
        runs["runs"] += [{"seed": s, "method": "MIL", "abnormal_auc": 0.8, "total_auc": 0.85},
                         {"seed": s, "method": "CB-MIL 0.9", "abnormal_auc": 0.8 + d, "total_auc": 0.85}]
    rows = {r["metric"]: r for r in plan_table(runs, delta=0.5)}
    assert rows["abnormal_auc"]["sd_pp"] == pytest.approx(np.std(100 * diffs, ddof=1))
    assert rows["abnormal_auc"]["seeds_run"] == 4 and rows["abnormal_auc"]["seeds_needed"] >= 2
    assert rows["total_auc"]["seeds_needed"] is None  # no spread at all: nothing to plan
    assert "median_video_auc" not in rows  # metrics absent from an older runs.json are skipped
