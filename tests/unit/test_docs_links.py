"""The README stays a five-minute read that leads to every docs/ page, and no link is broken."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
README_MAX_LINES = 250
# [text](target#anchor) where target is not a URL: (target, anchor), either may be empty.
_RELATIVE_LINK = re.compile(r"\]\((?![a-z]+:)([^)#\s]*)(?:#([^)\s]*))?\)")
# A system check the project registers: Error(..., id="core.E001").
_CHECK_ID = re.compile(r'\bid="([a-z]+\.[EW]\d{3})"')
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*$", re.MULTILINE)


def _pages() -> list[Path]:
    return [README, *sorted((ROOT / "docs").glob("*.md"))]


def _anchors(page: Path) -> set[str]:
    """GitHub's heading ids: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"^```.*?^```", "", page.read_text(), flags=re.MULTILINE | re.DOTALL)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in _HEADING.findall(text)}


def test_the_readme_is_under_250_lines():
    lines = len(README.read_text().splitlines())
    assert lines < README_MAX_LINES, f"README.md has {lines} lines: move details into a docs/ page and link it"


def test_the_readme_links_every_docs_page():
    linked = {target for target, _ in _RELATIVE_LINK.findall(README.read_text())}
    pages = [f"docs/{page.name}" for page in sorted((ROOT / "docs").glob("*.md"))]
    unlinked = [page for page in pages if page not in linked]
    assert not unlinked, f"Add a line for each to README.md's documentation list: {unlinked}"


def test_every_relative_link_points_to_a_file_and_a_heading_in_it():
    broken = []
    for page in _pages():
        for target, anchor in _RELATIVE_LINK.findall(page.read_text()):
            linked = (page.parent / target).resolve() if target else page
            if not linked.exists():
                broken.append(f"{page.relative_to(ROOT)} -> {target}")
            elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
                broken.append(f"{page.relative_to(ROOT)} -> {target}#{anchor}")
    assert not broken, f"Links to nothing: {broken}"


def test_every_system_check_of_the_project_is_explained_in_the_docs():
    sources = [app / "checks.py" for app in ROOT.iterdir() if (app / "checks.py").is_file()]
    ids = {check_id for path in sources for check_id in _CHECK_ID.findall(path.read_text())}
    docs = "\n".join(page.read_text() for page in _pages())
    assert ids, "no checks found: the pattern no longer matches how checks are written"
    unexplained = sorted(check_id for check_id in ids if f"`{check_id}`" not in docs)
    assert not unexplained, f"Say what each check refuses in a docs/ page (docs/security.md lists them): {unexplained}"
