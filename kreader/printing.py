"""Articles as text on stdout, for pipes, paper and screen readers.

Two layouts of the same article (or of one section):

* `plain_text`: linear text built from markdown-it's tokens, with no colour, box drawing or escape
  sequence. Headings are underlined (``=`` for the article title, ``-`` for sections, ``~`` for
  ``###``, ``.`` below that), lists keep ``- `` and ``1. `` markers, tables become ``cell | cell``
  rows (or ``Column: value`` lines when too wide), code is indented four spaces, external links are
  written ``text (target)``, and everything else is word-wrapped to the width.
* `print_rich`: Rich's Markdown rendering, for a terminal.

Both end with the article's disclaimer and contact when it has them. This module never imports
Textual; Rich is imported only by `print_rich`.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from markdown_it.tree import SyntaxTreeNode
from rich.cells import cell_len

from kreader.content import Article, Library, Section, gc_paused, markdown_parser
from kreader.i18n import _

if TYPE_CHECKING:
    from rich.console import Console

MIN_WIDTH = 20
MAX_WIDTH = 500

_UNDERLINES = {1: "=", 2: "-", 3: "~"}
"""Underline of a heading by level; deeper headings use ``.``."""


class UnknownTarget(LookupError):
    """``ARTICLE[#SECTION]`` names nothing in the library; the message lists the valid ids."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown article or section"


def find_target(library: Library, spec: str | None) -> tuple[Article, Section | None]:
    """The article (and section) named by ``ARTICLE[#SECTION]``; by default the first article.

    ``ARTICLE`` is an article id (its file name, with or without ``.md``); ``#SECTION`` alone looks
    for the section in every article. Raises `UnknownTarget` listing the valid ids.
    """
    if not spec:
        return library.articles[0], None
    article_id, _hash, section_id = spec.partition("#")
    article_id = article_id.strip().removesuffix(".md")
    section_id = section_id.strip()
    if not article_id:
        if not section_id:
            return library.articles[0], None
        found = library.find_section(section_id)
        if found is None:
            choices = [f"{a.id}#{s.id}" for a in library.articles for s in a.sections]
            raise UnknownTarget(
                f"no section '{section_id}' in the library; sections: {_ids(choices)}"
            )
        return found
    article = library.article(article_id)
    if article is None:
        for error in library.errors:
            if error.path.stem == article_id:
                raise UnknownTarget(f"article '{article_id}' cannot be read: {error}")
        choices = [a.id for a in library.articles]
        raise UnknownTarget(f"no article '{article_id}'; articles: {_ids(choices)}")
    if not section_id:
        return article, None
    section = article.section(section_id)
    if section is None:
        choices = [s.id for s in article.sections]
        raise UnknownTarget(
            f"article '{article.id}' has no section '{section_id}'; sections: {_ids(choices)}"
        )
    return article, section


def _ids(ids: Sequence[str]) -> str:
    return ", ".join(ids) if ids else "(none)"


def clamp_width(width: int) -> int:
    """``width`` brought into the supported range (20..500)."""
    return max(MIN_WIDTH, min(MAX_WIDTH, width))


# --- plain text ---------------------------------------------------------------------------------


def plain_text(article: Article, section: Section | None = None, width: int = 80) -> str:
    """The article, or one of its sections, as plain text wrapped to ``width`` columns.

    No line is longer than ``width`` except for words that cannot be broken (long links) and code
    lines, which are kept as written.
    """
    width = clamp_width(width)
    blocks: list[list[str]] = [_heading(article.title, "=", width)]
    if article.summary:
        blocks.append(_wrap(article.summary, width))
    if article.meta.reviewed is not None:
        blocks.append([_("Reviewed: {date}").format(date=article.meta.reviewed.isoformat())])
    for part in (section,) if section is not None else article.sections:
        blocks.append(_heading(part.title, "-", width))
        blocks += markdown_blocks(part.source, width)
    blocks += _closing_blocks(article, width)
    return _join(blocks)


def _closing_blocks(article: Article, width: int) -> list[list[str]]:
    blocks: list[list[str]] = []
    if article.disclaimer:
        blocks.append(_heading(_("Disclaimer"), "-", width))
        blocks += markdown_blocks(article.disclaimer, width)
    contact = article.contact
    if contact:
        blocks.append(_heading(_("Contact"), "-", width))
        lines: list[str] = []
        for label, value in (
            ("", contact.name),
            ("", contact.address),
            (_("Phone: "), contact.phone),
            (_("Email: "), contact.email),
            (_("Web: "), contact.url),
        ):
            for n, part in enumerate(value.splitlines()):
                lines += _wrap(f"{label if n == 0 else ''}{part}", width, indent=" " * len(label))
        blocks.append(lines)
    return blocks


def markdown_blocks(source: str, width: int) -> list[list[str]]:
    """Markdown as blocks of plain lines (a blank line goes between blocks)."""
    with gc_paused():
        root = SyntaxTreeNode(markdown_parser().parse(source))
        return _blocks(root.children, max(width, 8))


def _join(blocks: Iterable[list[str]]) -> str:
    lines: list[str] = []
    for block in blocks:
        if not block:
            continue
        if lines:
            lines.append("")
        lines += block
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _wrap(text: str, width: int, indent: str = "") -> list[str]:
    """Word-wrap one paragraph; hard line breaks (``\\n``) are kept; long words are never split."""
    lines: list[str] = []
    for part in text.split("\n"):
        wrapped = textwrap.wrap(
            part,
            width=max(width, len(indent) + 8),
            subsequent_indent=indent,
            break_long_words=False,
            break_on_hyphens=False,
        )
        lines += wrapped or [""]
    return lines


def _heading(text: str, underline: str, width: int) -> list[str]:
    lines = _wrap(text, width) or [""]
    return [*lines, underline * max(3, max(cell_len(line) for line in lines))]


def _blocks(nodes: Sequence[SyntaxTreeNode], width: int) -> list[list[str]]:
    blocks: list[list[str]] = []
    for node in nodes:
        blocks += _block(node, width)
    return blocks


def _block(node: SyntaxTreeNode, width: int) -> list[list[str]]:
    kind = node.type
    if kind == "paragraph":
        return [_wrap(_inline(node.children), width)]
    if kind == "heading":
        level = int(node.tag[1:])
        return [_heading(_inline(node.children), _UNDERLINES.get(level, "."), width)]
    if kind in {"bullet_list", "ordered_list"}:
        return _list(node, width)
    if kind == "blockquote":
        inner = _join(_blocks(node.children, width - 2)).rstrip("\n").split("\n")
        return [[f"> {line}" if line else ">" for line in inner]]
    if kind in {"fence", "code_block"}:
        code = node.content.rstrip("\n").expandtabs(4).split("\n")
        return [[f"    {line}" if line.strip() else "" for line in code]]
    if kind == "hr":
        return [["* * *"]]
    if kind == "table":
        return _table(node, width)
    if kind == "html_block":
        return []  # not shown by the reader either
    return _blocks(node.children, width)


def _list(node: SyntaxTreeNode, width: int) -> list[list[str]]:
    ordered = node.type == "ordered_list"
    start = int(node.attrs.get("start", 1)) if ordered else 1
    items = node.children
    last = start + len(items) - 1
    marker_width = len(f"{last}. ") if ordered else 2
    tight = all(
        child.hidden for item in items for child in item.children if child.type == "paragraph"
    )
    rendered: list[list[str]] = []
    for n, item in enumerate(items):
        marker = f"{start + n}. ".ljust(marker_width) if ordered else "- "
        inner = _blocks(item.children, width - marker_width)
        lines: list[str] = []
        for block in inner:
            if lines and not tight:
                lines.append("")
            lines += block
        lines = lines or [""]
        pad = " " * marker_width
        rendered.append([marker + lines[0]] + [pad + line if line else "" for line in lines[1:]])
    if tight:
        return [[line for item_lines in rendered for line in item_lines]]
    return rendered


def _table(node: SyntaxTreeNode, width: int) -> list[list[str]]:
    rows: list[list[str]] = []
    for group in node.children:  # thead, tbody
        for tr in group.children:
            rows.append([" ".join(_inline(cell.children).split()) for cell in tr.children])
    if not rows:
        return []
    columns = max(len(row) for row in rows)
    rows = [row + [""] * (columns - len(row)) for row in rows]
    header, body = rows[0], rows[1:]
    sizes = [max(cell_len(row[i]) for row in rows) for i in range(columns)]
    if sum(sizes) + 3 * (columns - 1) <= width:
        lines = [
            " | ".join(
                cell + " " * (size - cell_len(cell)) for cell, size in zip(row, sizes, strict=True)
            )
            for row in rows
        ]
        lines.insert(1, "-+-".join("-" * size for size in sizes))
        return [lines]
    # Too wide for a row per line: one "Column: value" record per row.
    names = [name or f"Column {i + 1}" for i, name in enumerate(header)]
    records = []
    for cells in body:
        record: list[str] = []
        for name, value in zip(names, cells, strict=True):
            record += _wrap(f"{name}: {value}", width, indent="  ")
        records.append(record)
    return records


def _inline(nodes: Sequence[SyntaxTreeNode]) -> str:
    """Plain text of inline nodes: emphasis unwrapped, external link targets in parentheses."""
    parts: list[str] = []
    for node in nodes:
        kind = node.type
        if kind == "inline":
            parts.append(_inline(node.children))
        elif kind in {"text", "code_inline"}:
            parts.append(node.content)
        elif kind == "softbreak":
            parts.append(" ")
        elif kind == "hardbreak":
            parts.append("\n")
        elif kind == "link":
            text = _inline(node.children)
            href = str(node.attrs.get("href", ""))
            parts.append(text + _link_target(text, href))
        elif kind == "image":
            alt = _inline(node.children).strip()
            parts.append(f"[image: {alt}]" if alt else "[image]")
        elif kind == "html_inline":
            continue
        else:  # em, strong, s and anything new: keep the words
            parts.append(_inline(node.children))
    return "".join(parts)


def _link_target(text: str, href: str) -> str:
    """`` (target)`` for a link out of the library; nothing for ``#anchor`` and ``other.md``."""
    parts = urlsplit(href)
    if not (parts.scheme or parts.netloc):
        return ""
    shown = href.removeprefix("mailto:").removeprefix("tel:")
    if text.strip() in {href, shown} or re.sub(r"^[a-z]+://", "", href) == text.strip():
        return ""
    return f" ({shown})"


# --- rich ---------------------------------------------------------------------------------------


def _escape(text: str) -> str:
    """Backslash-escape Markdown punctuation so a title is shown exactly as written."""
    return re.sub(r"([!-/:-@\[-`{-~])", r"\\\1", text)


def print_rich(article: Article, section: Section | None, console: Console) -> None:
    """Render the article (or one section) with Rich's Markdown onto ``console``."""
    from rich.markdown import Markdown
    from rich.panel import Panel
    from rich.text import Text

    console.print(Markdown(f"# {_escape(article.title)}"))
    if article.summary:
        console.print(Text(article.summary, style="italic"))
    if article.meta.reviewed is not None:
        reviewed = _("Reviewed: {date}").format(date=article.meta.reviewed.isoformat())
        console.print(Text(reviewed, style="dim"))
    for part in (section,) if section is not None else article.sections:
        console.print()
        console.print(Markdown(f"## {_escape(part.title)}"))
        console.print(Markdown(part.source))
    if article.disclaimer:
        console.print()
        console.print(
            Panel(Markdown(article.disclaimer), title=_("Disclaimer"), title_align="left")
        )
    contact = article.contact
    if contact:
        lines = [
            value
            for value in (
                contact.name,
                contact.address,
                _("Phone: ") + contact.phone if contact.phone else "",
                _("Email: ") + contact.email if contact.email else "",
                _("Web: ") + contact.url if contact.url else "",
            )
            if value
        ]
        console.print()
        console.print(Panel(Text("\n".join(lines)), title=_("Contact"), title_align="left"))
