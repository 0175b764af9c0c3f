"""Helpers the walkthrough notebooks share: the run profile, figure saving, the real-data folder.

``CBMIL_PROFILE`` selects sizes: ``"full"`` (default; what the committed notebook outputs come
from) or ``"ci"`` (small and fast, what ``make test`` executes). In the "ci" profile figures go
to a temporary folder so that a test run never overwrites the committed ``figures/``.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from cbmil.plots import save, use_kit_style

use_kit_style()                  # one palette and >= 9 pt text in every notebook figure

PROFILES = ("ci", "full")


def profile() -> str:
    value = os.environ.get("CBMIL_PROFILE", "full")
    if value not in PROFILES:
        raise ValueError(f"CBMIL_PROFILE must be one of {PROFILES}, got {value!r}")
    return value


def pick(ci, full):
    """``ci`` in the "ci" profile, ``full`` in the "full" one."""
    return ci if profile() == "ci" else full


def repo_root() -> Path:
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "cbmil").is_dir():
            return folder
    return here


def figures_dir() -> Path:
    """``figures/`` of the repository in the "full" profile, a temporary folder in "ci"."""
    if profile() == "full":
        folder = repo_root() / "figures"
    else:
        folder = Path(tempfile.gettempdir()) / "cbmil-figures-ci"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def savefig(fig, name: str) -> Path:
    """Save ``fig`` as ``name.png`` (150 dpi) in :func:`figures_dir`; return the path."""
    return save(fig, name, figures_dir())


def data_dir() -> Path | None:
    """The real-data folder named by ``CBMIL_DATA_DIR``, or None when it is not set."""
    value = os.environ.get("CBMIL_DATA_DIR")
    return Path(value) if value and Path(value).is_dir() else None


def cpu_snapshot() -> tuple[float, float, float] | None:
    """``(busy CPU seconds of the whole machine, CPU seconds of this process, wall seconds)`` now,
    or None where ``/proc/stat`` is missing (not Linux). Busy counts user, system, interrupt and
    steal time (a virtual machine's neighbours), not idle or I/O wait."""
    try:
        with open("/proc/stat") as fh:
            fields = [int(v) for v in fh.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    busy = (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")
    return busy, time.process_time(), time.perf_counter()


def others_cpu_share(before: tuple[float, float, float] | None) -> float | None:
    """Share of the machine's CPU capacity that *other* processes used since ``before`` (a
    :func:`cpu_snapshot`): 0 on an otherwise idle machine, 0.5 when they kept one of two cores
    busy. None where no snapshot can be taken."""
    after = cpu_snapshot()
    if before is None or after is None:
        return None
    busy, own, wall = (a - b for a, b in zip(after, before))
    return max(0.0, (busy - own) / (wall * (os.cpu_count() or 1)))
