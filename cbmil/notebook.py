"""Helpers the walkthrough notebooks share: the run profile, figure saving, committed results.

``CBMIL_PROFILE`` selects what a notebook computes:

- ``"quick"`` (the default, what a student gets with nothing set, what ``make test`` executes
  and what the committed outputs show): small live cells, and the studies that take minutes
  (05's 25 models, 04's learning curves) are *read* from the committed outputs in ``results/``.
- ``"full"``: the studies are trained again (05's study is then exactly ``make reproduce``) and
  the live cells run at their larger sizes; minutes to tens of minutes on a CPU.

Figures are written to ``figures/`` only when ``CBMIL_FIGURES=1`` is set (``make notebooks``);
otherwise :func:`savefig` writes to a temporary folder, so running a notebook never changes the
committed figures.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from cbmil.plots import save, use_kit_style

use_kit_style()                  # one palette and >= 9 pt text in every notebook figure

PROFILES = ("quick", "full")


def profile() -> str:
    """``"quick"`` (default) or ``"full"``, from ``CBMIL_PROFILE``."""
    value = os.environ.get("CBMIL_PROFILE", "quick")
    if value not in PROFILES:
        raise ValueError(f"CBMIL_PROFILE must be one of {PROFILES}, got {value!r}")
    return value


def pick(quick, full):
    """``quick`` in the "quick" profile (the default), ``full`` in the "full" one."""
    return quick if profile() == "quick" else full


def retrain() -> bool:
    """True when the notebook should train its studies again instead of reading ``results/``
    (the "full" profile)."""
    return profile() == "full"


def repo_root() -> Path:
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "cbmil").is_dir():
            return folder
    return here


def results_dir(*parts: str) -> Path:
    """``results/`` of the repository (or a path under it): the committed outputs of the studies.
    Raises ``FileNotFoundError`` naming the path and the make target that writes it when missing."""
    path = repo_root().joinpath("results", *parts)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: it is a committed output of the studies "
                                f"(see docs/results.md for the `make` target that writes it)")
    return path


def writes_figures() -> bool:
    """True when ``CBMIL_FIGURES=1``: :func:`savefig` then writes to the repository's ``figures/``."""
    value = os.environ.get("CBMIL_FIGURES", "0")
    if value not in ("0", "1"):
        raise ValueError(f"CBMIL_FIGURES must be 0 or 1, got {value!r}")
    return value == "1"


def figures_dir() -> Path:
    """``figures/`` of the repository when :func:`writes_figures`, else a temporary folder."""
    if writes_figures():
        folder = repo_root() / "figures"
    else:
        folder = Path(tempfile.gettempdir()) / "cbmil-figures"
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
