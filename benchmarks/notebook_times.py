"""How long each walkthrough notebook takes, in the "full" and the "ci" profile.

Full profile: read from the committed notebooks themselves. ``make notebooks`` executes them with
nbconvert, which stamps every code cell with the time its execution started and ended
(``metadata.execution``); a notebook's run time is its first start to its last end. Run this
script on the machine that executed them (the header it writes names this machine).

ci profile: measured now, by executing each notebook with ``CBMIL_PROFILE=ci`` in memory (what
``make test`` runs, without nbval's output comparison), timed from the same cell stamps.

    python benchmarks/notebook_times.py            # print the table (executes the six in ci, ~5 min)
    python benchmarks/notebook_times.py --write    # ... and put the line at the top of each notebook
    python benchmarks/notebook_times.py --write 04  # only the notebooks whose names start with 04

``--write`` replaces the paragraph that starts with ``**Run time**`` in each notebook's first
cell, or appends one.
"""

from __future__ import annotations

import argparse
import os
from datetime import datetime
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from cbmil.model import resolve_precision
from cbmil.train import device_name, select_device

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("0*.ipynb"))
MARK = "**Run time**"


def full_seconds(nb) -> float | None:
    """Seconds from the first cell's start to the last cell's end of a committed execution, or
    None when the notebook carries no timing (never executed by nbconvert/nbclient)."""
    starts, ends = [], []
    for cell in nb.cells:
        stamp = cell.get("metadata", {}).get("execution", {})
        if "iopub.execute_input" in stamp and "shell.execute_reply" in stamp:
            starts.append(datetime.fromisoformat(stamp["iopub.execute_input"].replace("Z", "+00:00")))
            ends.append(datetime.fromisoformat(stamp["shell.execute_reply"].replace("Z", "+00:00")))
    if not starts:
        return None
    return (max(ends) - min(starts)).total_seconds()


def ci_seconds(path: Path) -> float:
    """Seconds the notebook at ``path`` takes in the "ci" profile, executed now (outputs discarded),
    measured as :func:`full_seconds` is: first cell's start to last cell's end (kernel start-up
    excluded in both)."""
    nb = nbformat.read(path, as_version=4)
    os.environ["CBMIL_PROFILE"] = "ci"          # the kernel inherits it; ci figures go to a temporary folder
    NotebookClient(nb, timeout=1800, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    return full_seconds(nb)


def minutes(seconds: float | None) -> str:
    if seconds is None:
        return "not recorded"
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def header(full: float | None, ci: float, where: str) -> str:
    return (f"{MARK} ({where}): full profile (the committed outputs) {minutes(full)}; ci profile "
            f"(`CBMIL_PROFILE=ci`, what `make test` runs) {minutes(ci)}. Measured with "
            f"`benchmarks/notebook_times.py`; other machines differ.")


def write_header(path: Path, line: str) -> None:
    nb = nbformat.read(path, as_version=4)
    first = nb.cells[0]
    if first.cell_type != "markdown":
        raise ValueError(f"{path}: the first cell must be markdown to carry the run-time line")
    paragraphs = first.source.split("\n\n")
    kept = [p for p in paragraphs if not p.startswith(MARK)]
    at = next((i for i, p in enumerate(paragraphs) if p.startswith(MARK)), len(kept))
    first.source = "\n\n".join(kept[:at] + [line] + kept[at:])
    nbformat.write(nb, path)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="put the run-time line at the top of each notebook")
    parser.add_argument("only", nargs="*", help="only the notebooks whose file names start with these (e.g. 04)")
    args = parser.parse_args(argv)
    device = select_device("auto")
    where = f"{device_name('cpu')}" + (f", {device_name(device)}" if device.type == "cuda" else ", no GPU")
    where += f"; layer 1 in {resolve_precision('auto', device)}"
    print(f"machine: {where}")
    print(f"{'notebook':<36} {'full':>12} {'ci':>8}")
    for path in [p for p in NOTEBOOKS if not args.only or p.name.startswith(tuple(args.only))]:
        full = full_seconds(nbformat.read(path, as_version=4))
        ci = ci_seconds(path)
        print(f"{path.name:<36} {minutes(full):>12} {minutes(ci):>8}")
        if args.write:
            write_header(path, header(full, ci, where))


if __name__ == "__main__":
    main()
