"""The documentation holds together: every relative link in the README, in docs/ and in the model cards leads to a
file that exists (and an anchor to a heading of that file), every model card is reachable from docs/models.md, and
the README stays short enough to read in five minutes."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[1]
CARDS = sorted(ROOT.glob("*_model/models/*/card.md"))
DOCUMENTS = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md"), *CARDS])
README_LIMIT_BYTES = 12 * 1024

FENCED_BLOCK = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$")


def prose(text: str) -> str:
    """The text a reader sees as Markdown: code blocks and code spans hold examples, not links."""
    return CODE_SPAN.sub("", FENCED_BLOCK.sub("", text))


def link_targets(document: Path) -> list[str]:
    return LINK.findall(prose(document.read_text(encoding="utf-8")))


def anchors(document: Path) -> set[str]:
    """Heading anchors as GitHub makes them: lower case, punctuation dropped, spaces to hyphens, repeats numbered."""
    seen: dict[str, int] = {}
    found = set()
    for line in prose(document.read_text(encoding="utf-8")).splitlines():
        heading = HEADING.match(line)
        if heading is None:
            continue
        slug = re.sub(r"[^\w\- ]", "", heading.group(1).lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def broken_links(document: Path) -> list[str]:
    broken = []
    for target in link_targets(document):
        if SCHEME.match(target):
            continue  # http(s), mailto: not this test's business
        path, _, anchor = target.partition("#")
        if not path:
            destination = document
        elif path.startswith("/"):
            destination = ROOT / unquote(path).lstrip("/")
        else:
            destination = document.parent / unquote(path)
        if not destination.exists() or (anchor and destination.suffix == ".md" and anchor not in anchors(destination)):
            broken.append(target)
    return broken


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_relative_link_resolves(document):
    assert broken_links(document) == []


def test_a_link_to_a_missing_file_or_heading_is_caught(tmp_path):
    (tmp_path / "other.md").write_text("# Other page\n\n## Fine print\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n\n[ok](other.md) [ok](other.md#fine-print) [ok](#page) [web](https://example.com/missing)\n"
        "[gone](missing.md) [no heading](other.md#nothing) `[in code](missing-too.md)`\n\n"
        "```\n[in a block](missing-three.md)\n```\n",
        encoding="utf-8",
    )
    assert broken_links(page) == ["missing.md", "other.md#nothing"]


def test_every_model_card_is_linked_from_the_models_overview():
    overview = ROOT / "docs" / "models.md"
    linked = {(overview.parent / target).resolve() for target in link_targets(overview)}
    assert [card.relative_to(ROOT) for card in CARDS if card.resolve() not in linked] == []


def test_the_readme_reads_in_five_minutes():
    assert (ROOT / "README.md").stat().st_size < README_LIMIT_BYTES
