"""The project's own files agree with each other: pins, README commands, CI script."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def pins(lines):
    return dict(re.match(r"^\s*-?\s*([A-Za-z0-9_.\-]+)==(\S+)\s*$", line).groups()
                for line in lines if re.match(r"^\s*-?\s*[A-Za-z0-9_.\-]+==", line))


def test_conda_environment_pins_match_requirements():
    req = pins((ROOT / "requirements.txt").read_text().splitlines())
    env = pins((ROOT / "environment.yml").read_text().splitlines())
    assert req and req == env
    assert req["torch"] == "2.13.0"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and re.search(r"^make test\s*$", ci, re.M)
    assert "set -euo pipefail" in ci and "CBMIL_DATA_DIR" in ci


def test_every_referenced_figure_is_committed():
    readme = (ROOT / "README.md").read_text()
    names = set(re.findall(r"\(figures/([\w.\-]+\.png)\)", readme))
    for nb in (ROOT / "notebooks").glob("*.ipynb"):
        names |= {f"{n}.png" for n in re.findall(r'savefig\(fig, f?\\?"([\w.\-{}]+)\\?"\)', nb.read_text())
                  if "{" not in n}
    assert len(names) > 10
    missing = sorted(n for n in names if not (ROOT / "figures" / n).is_file())
    assert not missing, f"referenced but not in figures/: {missing} (run `make notebooks`)"
