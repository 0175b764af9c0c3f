"""How long each walkthrough notebook takes, and how much memory, as a new user gets it.

Each notebook is executed from top to bottom in a fresh kernel with the environment a student
has after ``make lab`` with nothing set: ``CBMIL_PROFILE`` and ``CBMIL_FIGURES`` removed, so the
"quick" profile, reading the committed ``results/``, writing no figure. Reported per notebook:

- run time: wall seconds of the whole execution, kernel start-up included;
- peak RSS: the kernel process's peak resident memory (``getrusage``'s ``ru_maxrss``, read by a
  cell appended for the measurement and dropped afterwards), and that of the kernel's children.

    python benchmarks/notebook_times.py            # print the table (~5-10 min: executes every notebook)
    python benchmarks/notebook_times.py 04 05      # only the notebooks whose names start with 04 or 05
    python benchmarks/notebook_times.py --write    # ... and put each line at the top of its notebook
                                                   #     and the table into the README's walkthrough

``--write`` replaces the paragraph that starts with ``**Run time**`` in each notebook's first
cell (or appends one), and the rows between the README's ``notebook-times`` markers. Outputs of
the executed notebooks are discarded: the notebook files are changed only by ``--write``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from cbmil.model import resolve_precision
from cbmil.train import device_name, select_device

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("0*.ipynb"))
README = ROOT / "README.md"
MARK = "**Run time**"
BEGIN, END = "<!-- notebook-times: begin -->", "<!-- notebook-times: end -->"
PEAK_CELL = ("import json, resource\n"
             "print(json.dumps({'self_kb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "
             "'children_kb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))")


def new_user_env() -> dict[str, str]:
    """This process's environment without the kit's switches: what ``make lab`` gives a student."""
    return {k: v for k, v in os.environ.items() if k not in ("CBMIL_PROFILE", "CBMIL_FIGURES")}


def measure(path: Path, timeout: int = 1800) -> dict:
    """Execute the notebook at ``path`` as a new user does and return ``{"seconds", "peak_gb",
    "children_peak_gb"}``: wall time of the whole execution (kernel start included) and peak
    resident memory (GB = 1e9 bytes) of the kernel and of its children."""
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(PEAK_CELL))
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(new_user_env())   # the kernel inherits this process's environment
    try:
        start = time.perf_counter()
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        seconds = time.perf_counter() - start
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return {"seconds": seconds, **peak_from_cell(nb.cells[-1], path)}


def peak_from_cell(cell, path: Path) -> dict:
    """The peak memory printed by :data:`PEAK_CELL` in ``cell`` (kB) as GB."""
    text = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("name") == "stdout")
    match = re.search(r"\{.*\}", text)
    if match is None:
        raise ValueError(f"{path}: the memory cell printed {text!r}; expected a JSON line with self_kb, children_kb")
    kb = json.loads(match.group(0))
    return {"peak_gb": kb["self_kb"] * 1024 / 1e9, "children_peak_gb": kb["children_kb"] * 1024 / 1e9}


def duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def header(m: dict, where: str) -> str:
    return (f"{MARK} ({where}): {duration(m['seconds'])} and {m['peak_gb']:.1f} GB peak resident memory, "
            f"executed top to bottom as a new user gets it (nothing set: the \"quick\" profile). Measured with "
            f"`make notebook-times`; other machines differ.")


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


def table(rows: dict[str, dict], where: str) -> str:
    """The README's table: one row per notebook."""
    lines = [f"Measured with `make notebook-times` ({where}), each notebook executed top to bottom in a fresh "
             f"kernel with nothing set:", "",
             "| notebook | run time | peak resident memory |", "|---|---:|---:|"]
    lines += [f"| `{name}` | {duration(m['seconds'])} | {m['peak_gb']:.1f} GB |" for name, m in rows.items()]
    return "\n".join(lines)


def write_table(text: str, readme: Path = README) -> None:
    """Replace what lies between the ``notebook-times`` markers of ``readme`` with ``text``."""
    source = readme.read_text()
    if BEGIN not in source or END not in source:
        raise ValueError(f"{readme}: expected the markers {BEGIN!r} and {END!r} around the notebook-times table")
    head, rest = source.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true",
                        help="put each line at the top of its notebook and the table into README.md")
    parser.add_argument("only", nargs="*", help="only the notebooks whose file names start with these (e.g. 04)")
    args = parser.parse_args(argv)
    device = select_device("auto")
    where = f"{device_name('cpu')}" + (f", {device_name(device)}" if device.type == "cuda" else ", no GPU")
    where += f"; layer 1 in {resolve_precision('auto', device)}"
    print(f"machine: {where}")
    print(f"{'notebook':<36} {'run time':>10} {'peak RSS':>10} {'children':>10}")
    rows = {}
    for path in [p for p in NOTEBOOKS if not args.only or p.name.startswith(tuple(args.only))]:
        rows[path.stem] = m = measure(path)
        print(f"{path.name:<36} {duration(m['seconds']):>10} {m['peak_gb']:>7.2f} GB {m['children_peak_gb']:>7.2f} GB",
              flush=True)
        if args.write:
            write_header(path, header(m, where))
    if args.write and not args.only:
        write_table(table(rows, where))


if __name__ == "__main__":
    main()
