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


def stamped(start: str, end: str) -> dict:
    return {"execution": {"iopub.execute_input": start, "shell.execute_reply": end}}


def test_full_profile_time_is_first_start_to_last_end():
    times = load_notebook_times()
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# title"),
        nbformat.v4.new_code_cell("1", metadata=stamped("2026-01-01T10:00:00.000Z", "2026-01-01T10:00:05.000Z")),
        nbformat.v4.new_code_cell("2", metadata=stamped("2026-01-01T10:00:06.000Z", "2026-01-01T10:02:30.500Z"))])
    assert times.full_seconds(nb) == pytest.approx(150.5)
    assert times.full_seconds(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])) is None


def test_run_time_line_is_replaced_not_repeated(tmp_path):
    times = load_notebook_times()
    path = tmp_path / "nb.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 01 — title\n\nintro")]), path)
    times.write_header(path, times.header(1500.0, 42.0, "test machine"))
    times.write_header(path, times.header(1560.0, 40.0, "test machine"))
    source = nbformat.read(path, as_version=4).cells[0].source
    assert source.count(times.MARK) == 1
    assert source.startswith("# 01 — title\n\nintro\n\n**Run time**")
    assert "full profile (the committed outputs) 26 min" in source and "(test machine)" in source and "40 s" in source


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
