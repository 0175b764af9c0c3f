"""The helpers behind the notebooks' figures and run-time lines."""

import importlib.util
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import nbformat
import pytest

from cbmil import plots

ROOT = Path(__file__).resolve().parents[1]


def load_notebook_times():
    spec = importlib.util.spec_from_file_location("notebook_times", ROOT / "benchmarks" / "notebook_times.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_kit_style_sets_the_palette_and_readable_text():
    with matplotlib.rc_context():
        plots.use_kit_style()
        colours = [c["color"] for c in plt.rcParams["axes.prop_cycle"]]
        assert tuple(colours) == plots.PALETTE
        for key in ("legend.fontsize", "xtick.labelsize", "ytick.labelsize"):
            assert float(plt.rcParams[key]) >= plots.MIN_FONT
    assert len(set(plots.PALETTE)) == len(plots.PALETTE)


def test_run_time_line_is_replaced_not_repeated(tmp_path):
    times = load_notebook_times()
    path = tmp_path / "nb.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 01 — title\n\nintro")]), path)
    times.write_header(path, times.header({"seconds": 1500.0, "peak_gb": 2.44}, "test machine"))
    times.write_header(path, times.header({"seconds": 42.0, "peak_gb": 0.61}, "test machine"))
    source = nbformat.read(path, as_version=4).cells[0].source
    assert source.count(times.MARK) == 1
    assert source.startswith("# 01 — title\n\nintro\n\n**Run time**")
    assert "42 s and 0.6 GB" in source and "(test machine)" in source and "25.0 min" not in source


def test_readme_table_is_replaced_between_its_markers(tmp_path):
    times = load_notebook_times()
    readme = tmp_path / "README.md"
    readme.write_text(f"# kit\n\n{times.BEGIN}\nold rows\n{times.END}\n\nafter\n")
    rows = {"01_imbalance": {"seconds": 30.2, "peak_gb": 0.81}, "05_results": {"seconds": 150.0, "peak_gb": 2.9}}
    times.write_table(times.table(rows, "test machine"), readme)
    text = readme.read_text()
    assert "old rows" not in text and text.endswith(f"{times.END}\n\nafter\n")
    assert "| `01_imbalance` | 30 s | 0.8 GB |" in text and "| `05_results` | 2.5 min | 2.9 GB |" in text
    readme.write_text("# no markers\n")
    with pytest.raises(ValueError, match="markers"):
        times.write_table("x", readme)


def test_peak_memory_is_read_from_the_appended_cell():
    times = load_notebook_times()
    cell = nbformat.v4.new_code_cell(times.PEAK_CELL)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text='{"self_kb": 2000000, "children_kb": 0}\n')]
    peak = times.peak_from_cell(cell, Path("nb.ipynb"))
    assert peak["peak_gb"] == pytest.approx(2.048) and peak["children_peak_gb"] == 0
    cell.outputs = []
    with pytest.raises(ValueError, match="nb.ipynb"):
        times.peak_from_cell(cell, Path("nb.ipynb"))


def test_new_user_environment_drops_the_kit_switches(monkeypatch):
    times = load_notebook_times()
    monkeypatch.setenv("CBMIL_PROFILE", "full")
    monkeypatch.setenv("CBMIL_FIGURES", "1")
    env = times.new_user_env()
    assert "CBMIL_PROFILE" not in env and "CBMIL_FIGURES" not in env and env.get("PATH") == times.os.environ["PATH"]


def test_profiles_and_figure_switch(monkeypatch, tmp_path):
    from cbmil import notebook
    monkeypatch.delenv("CBMIL_PROFILE", raising=False)
    monkeypatch.delenv("CBMIL_FIGURES", raising=False)
    assert notebook.profile() == "quick" and notebook.pick(1, 2) == 1 and not notebook.retrain()
    assert notebook.figures_dir() != notebook.repo_root() / "figures"
    monkeypatch.setenv("CBMIL_PROFILE", "full")
    assert notebook.pick(1, 2) == 2 and notebook.retrain()
    monkeypatch.setenv("CBMIL_PROFILE", "ci")
    with pytest.raises(ValueError, match="CBMIL_PROFILE"):
        notebook.profile()
    monkeypatch.setenv("CBMIL_FIGURES", "yes")
    with pytest.raises(ValueError, match="CBMIL_FIGURES"):
        notebook.writes_figures()
    with pytest.raises(FileNotFoundError, match="no_such_study"):
        notebook.results_dir("no_such_study")


def test_run_time_line_needs_a_markdown_first_cell(tmp_path):
    times = load_notebook_times()
    path = tmp_path / "nb.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")]), path)
    with pytest.raises(ValueError, match="first cell must be markdown"):
        times.write_header(path, "**Run time** x")


def test_cpu_snapshot_reads_proc_stat():
    from cbmil import notebook
    snapshot = notebook.cpu_snapshot()
    if not Path("/proc/stat").is_file():
        assert snapshot is None
    else:
        assert len(snapshot) == 3 and all(isinstance(v, float) for v in snapshot), snapshot


def test_others_cpu_share_is_the_machines_busy_time_less_our_own(monkeypatch):
    # snapshots: (busy CPU seconds of the machine, CPU seconds of this process, wall seconds)
    from cbmil import notebook
    before = (100.0, 5.0, 1000.0)
    monkeypatch.setattr(notebook.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(notebook, "cpu_snapshot", lambda: (103.0, 6.0, 1002.0))
    assert notebook.others_cpu_share(before) == pytest.approx(0.5)  # (3 - 1) s of 2 s x 2 cores
    monkeypatch.setattr(notebook, "cpu_snapshot", lambda: (101.0, 6.5, 1002.0))  # own > busy (clock ticks)
    assert notebook.others_cpu_share(before) == 0.0
    monkeypatch.setattr(notebook, "cpu_snapshot", lambda: None)  # no /proc/stat
    assert notebook.others_cpu_share(before) is None
    assert notebook.others_cpu_share(None) is None
