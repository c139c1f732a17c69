"""The documentation's map stays walkable: every relative link in README.md, docs/*.md and
deploy/README.md names a file that exists, and a #fragment names a heading of that file (as
GitHub makes its anchors), so moving a file or renaming a heading cannot leave a dead link."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = sorted(
    [PROJECT_ROOT / "README.md", PROJECT_ROOT / "deploy" / "README.md"]
    + list((PROJECT_ROOT / "docs").glob("*.md"))
)

_FENCED_BLOCK = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"!?\[[^\]\n]*\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def prose(text: str) -> str:
    """The text a reader sees as links: code blocks and code spans hold examples, not links."""
    return _INLINE_CODE.sub("", _FENCED_BLOCK.sub("", text))


def relative_links(text: str) -> list[str]:
    """Link targets that point into the repository (not the web, not mail)."""
    targets = _LINK.findall(prose(text))
    return [target for target in targets if not re.match(r"[a-z][a-z0-9+.-]*:", target)]


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces become hyphens."""
    words = re.sub(r"[^\w\- ]", "", heading.replace("`", "").lower())
    return words.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading's anchor in a markdown file; a repeated one also as GitHub numbers it."""
    found: set[str] = set()
    for heading in _HEADING.findall(_FENCED_BLOCK.sub("", path.read_text())):
        name = anchor(heading)
        number = 0
        while (name if number == 0 else f"{name}-{number}") in found:
            number += 1
        found.add(name if number == 0 else f"{name}-{number}")
    return found


def dead_links(document: Path) -> list[str]:
    dead = []
    for target in relative_links(document.read_text()):
        path_part, _, fragment = target.partition("#")
        linked = (document.parent / path_part).resolve() if path_part else document
        if not linked.exists():
            dead.append(f"{target}: no such file")
        elif fragment and linked.suffix == ".md" and fragment not in anchors(linked):
            dead.append(f"{target}: no heading #{fragment} in {linked.name}")
    return dead


def document_id(path: Path) -> str:
    return str(path.relative_to(PROJECT_ROOT))


@pytest.mark.parametrize("document", DOCUMENTS, ids=document_id)
def test_every_relative_link_in_the_docs_leads_somewhere(document):
    assert document.exists()
    assert dead_links(document) == []


def test_the_front_door_stays_a_front_door():
    readme = (PROJECT_ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 300
    linked = {target.partition("#")[0] for target in relative_links(readme)}
    for page in sorted((PROJECT_ROOT / "docs").glob("*.md")):
        assert f"docs/{page.name}" in linked, f"README.md does not link {page.name}"


def test_a_dead_link_or_a_missing_heading_is_caught(tmp_path):
    (tmp_path / "other.md").write_text("# Title\n\n## The admin command line: `./run.sh admin`\n")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](other.md#the-admin-command-line-runsh-admin) [web](https://example.com)\n"
        "[gone](missing.md) [wrong](other.md#nowhere) `[code](missing.md)`\n"
        "```\n[example](also-missing.md)\n```\n"
    )
    assert dead_links(page) == [
        "missing.md: no such file",
        "other.md#nowhere: no heading #nowhere in other.md",
    ]
