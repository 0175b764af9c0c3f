"""The README's "from Python" snippet runs as printed and writes what it says."""

import re
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_readme_python_snippet_runs(tmp_path, monkeypatch, capsys):
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
    snippet = next(b for b in blocks if "reproduce(" in b)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(snippet, "README.md", "exec"), namespace)
    study = namespace["study"]
    assert "Table 2 analog" in capsys.readouterr().out
    table = study.results_table
    assert list(table.columns) == ["world", "seed", "method", "beta", "metric", "class", "value"]
    out = tmp_path / "my_results"
    saved = pd.read_csv(out / "results.csv")
    assert len(saved) == len(table) and set(saved["method"]) == {v.name for v in study.variants}
    # the tables are computed from the one results table
    mil = table[(table.method == "MIL") & (table.metric == "total_auc")].sort_values("seed")["value"].to_numpy()
    assert (mil == study.total[:, 0]).all()
    for name in ("table1_per_class.csv", "table2_beta.md", "runs.json", "reproduce_change_vs_beta.png"):
        assert (out / name).is_file(), name  # figures beside the tables, not in the committed figures/
