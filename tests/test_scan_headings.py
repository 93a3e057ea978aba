"""The quick heading scan that splits large articles must agree with markdown-it's parse, or step aside."""

from __future__ import annotations

import random

import pytest
from helpers import CONTENT

from kreader.content import parsed_headings, scan_headings
from kreader.safetext import clean

PIECES = [
    "# Title",
    "## Section",
    "### Sub",
    "#### deep",
    "##",
    "## closed ##",
    "## a #b",
    "# x ###  ",
    "##\tTab",
    "####### seven",
    "#nospace",
    "  ## indented",
    "```",
    "```python",
    "``` a`b",
    "~~~",
    "~~~~",
    "````",
    "  ```",
    "    ```",
    "\t```",
    "\t## tab",
    "para text",
    "more text",
    "",
    "",
    "- item",
    "  - nested",
    "1. one",
    "> quote",
    "> ## quoted heading",
    "---",
    "===",
    "- - -",
    "| a | b |",
    "| --- | --- |",
    "<div>",
    "<!-- comment -->",
    "    code",
    "## x | y",
    "[ref]: /url 'title",
    "## *emph* `code` [link](u)",
    "# é ünï",
    "\\## not a heading",
    "   # three spaces",
    "Setext",
    "-----",
    "</div>",
    "<span>x</span>",
    "<!-- open",
    "-->",
    "<pre>",
    "</pre>",
    "<SCRIPT>",
    "</script>",
    "<?php",
    "?>",
    "<!DOCTYPE html>",
    "<![CDATA[",
    "]]>",
    "<details>",
    "<a name='x'></a>",
    "< not html",
]


def test_scan_matches_the_parse_or_declines() -> None:
    rng = random.Random(6)
    scanned = 0
    for _ in range(6000):
        body = "\n".join(rng.choice(PIECES) for _ in range(rng.randint(1, 20)))
        found = scan_headings(body)
        if found is not None:
            scanned += 1
            assert found == parsed_headings(body), body
    assert scanned > 500  # the scan is used, not always declined


@pytest.mark.parametrize(
    "body",
    [
        "```\n## in code\n```\n## out\n",
        "~~~\n## in code\n```\n## still code\n~~~\n## out\n",
        "# T\n\ntext\n## a\n### b\n",
    ],
)
def test_scan_follows_fences(body: str) -> None:
    assert scan_headings(body) == parsed_headings(body)


@pytest.mark.parametrize(
    ("body", "titles"),
    [
        ("<div>\n<p>x</p>\n</div>\n\n## after\n", ["after"]),
        ("<!-- a\ncomment -->\n## after\n", ["after"]),
        ("<pre>\n\nonly its closing tag ends this\n</pre>\n\n## after\n", ["after"]),
        ("<a name='top'></a>\n\n# Title\n\n## One\n", ["Title", "One"]),
        ("a < b and c > d\n## after\n", ["after"]),
    ],
)
def test_scan_reads_past_html_blocks(body: str, titles: list[str]) -> None:
    """Real docs open with <a name>, <div align> or comments: the scan reads past the block instead of
    parsing the whole file (115 of 275 real package docs used to be parsed whole for this)."""
    found = scan_headings(body)
    assert found is not None and found == parsed_headings(body)
    assert [heading[3] for heading in found] == titles


@pytest.mark.parametrize(
    "body",
    [
        "Title\n---\n",
        "<div>\n## x\n</div>\n",
        "text\n<!-- never closed\n\n## x\n",
        "<pre>\n\n```\n</pre>\n",
        "- a\n\n  ```\n## x\n",
        "a\r\n## b\n",
        "## a | b\n-|-\n",
    ],
)
def test_scan_declines_what_it_cannot_follow(body: str) -> None:
    assert scan_headings(body) is None


def test_bundled_content_uses_the_scan() -> None:
    for path in CONTENT.glob("*.md"):
        text = clean(path.read_text(encoding="utf-8"))
        assert scan_headings(text) == parsed_headings(text)
