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


# ---------------------------------------------------------------- README and docs/: one screen, live links

README_MAX_LINES = 200
FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.M | re.S)
LINK = re.compile(r"!?\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.M)


def prose(text: str) -> str:
    """Markdown text without fenced code blocks and inline code spans (links there are not links)."""
    return re.sub(r"`[^`\n]*`", "", FENCE.sub("", text))


def anchors(text: str) -> set[str]:
    """The heading anchors GitHub gives a markdown file: lower case, punctuation dropped, spaces to
    hyphens, repeats numbered -1, -2, ..."""
    seen: dict[str, int] = {}
    out = set()
    for title in HEADING.findall(FENCE.sub("", text)):
        title = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", title).replace("`", "")
        slug = re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def broken_links(md: Path) -> list[str]:
    """Each link of ``md`` to a local file (or a heading in one) that does not resolve, as
    'file: target (why)'."""
    problems = []
    for target in LINK.findall(prose(md.read_text())):
        if re.match(r"^[a-z][a-z0-9+.\-]*:", target, re.I):  # http:, https:, mailto: ...
            continue
        path, _, fragment = target.partition("#")
        dest = (md.parent / path).resolve() if path else md
        if not dest.exists():
            problems.append(f"{md.name}: {target} (no such file: {dest.relative_to(ROOT) if ROOT in dest.parents else dest})")
        elif fragment and dest.suffix == ".md" and fragment not in anchors(dest.read_text()):
            problems.append(f"{md.name}: {target} (no heading #{fragment} in {dest.name})")
    return problems


def own_markdown() -> list[Path]:
    docs = sorted((ROOT / "docs").glob("*.md"))
    assert (ROOT / "docs" / "README.md") in docs, "docs/README.md (the index of docs/) is missing"
    return [ROOT / "README.md", ROOT / "notebooks" / "README.md", *docs]


def test_readme_fits_one_screen():
    n = len((ROOT / "README.md").read_text().splitlines())
    assert n <= README_MAX_LINES, f"README.md has {n} lines, more than {README_MAX_LINES}: move detail to docs/"


def test_every_local_link_of_readme_and_docs_resolves():
    files = own_markdown()
    assert sum(len(LINK.findall(prose(f.read_text()))) for f in files) > 50
    problems = [p for f in files for p in broken_links(f)]
    assert not problems, "links that do not resolve:\n" + "\n".join(problems)


def test_readme_links_every_docs_page():
    linked = {t.partition("#")[0] for t in LINK.findall(prose((ROOT / "README.md").read_text()))}
    missing = [f"docs/{p.name}" for p in sorted((ROOT / "docs").glob("*.md")) if f"docs/{p.name}" not in linked]
    assert not missing, f"docs pages the README does not link: {missing}"


def test_link_check_finds_a_missing_file_and_a_missing_heading(tmp_path):
    (tmp_path / "other.md").write_text("# Other page\n\n## The `data prepare` step: fast?\n\n## Notes\n\n## Notes\n")
    md = tmp_path / "page.md"
    md.write_text("# Page\n\n[ok](other.md) [ok](other.md#the-data-prepare-step-fast) [ok](other.md#notes-1)\n"
                  "[ok](#page) [web](https://example.org/x.md) `[code](nowhere.md)`\n"
                  "```\n[fenced](nowhere.md)\n```\n"
                  "[gone](missing.md) ![gone](fig/none.png) [bad](other.md#no-such-heading)\n")
    problems = broken_links(md)
    assert len(problems) == 3, problems
    assert "missing.md" in problems[0] and "fig/none.png" in problems[1] and "#no-such-heading" in problems[2]
