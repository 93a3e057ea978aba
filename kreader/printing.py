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
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from markdown_it.tree import SyntaxTreeNode
from rich.cells import cell_len, chop_cells

from kreader.content import Article, Library, Section, gc_paused
from kreader.i18n import _
from kreader.mdtext import shown_tokens, tokens_text
from kreader.search import fold, words_of

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
    body: list[list[str]] = []
    for part in (section,) if section is not None else article.sections:
        body.append(_heading(part.title, "-", width))
        body += markdown_blocks(part.source, width, part.level)
    blocks += body
    blocks += _closing_blocks(article, width, body)
    return _join(blocks)


def _said(text: str, blocks: Sequence[Sequence[str]]) -> bool:
    """Whether the words of ``text`` are already printed, nearly all together in one block (an article that
    tells its own contact and disclaimer in its last section should not have them printed twice)."""
    words = [fold(word) for _, _, word in words_of(text)]
    if not words:
        return True
    for block in blocks:
        have = {fold(word) for _, _, word in words_of(" ".join(block))}
        if sum(word in have for word in words) >= 0.8 * len(words):
            return True
    return False


def _closing_blocks(
    article: Article, width: int, body: Sequence[Sequence[str]] = ()
) -> list[list[str]]:
    blocks: list[list[str]] = []
    if article.disclaimer and not _said(article.disclaimer, body):
        blocks.append(_heading(_("Disclaimer"), "-", width))
        blocks += markdown_blocks(article.disclaimer, width)
    contact = article.contact
    details = [value for value in (contact.phone, contact.email, contact.address) if value]
    if details and all(any(value in line for block in body for line in block) for value in details):
        return blocks  # the article gives them itself
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


def markdown_blocks(source: str, width: int, level: int = 2) -> list[list[str]]:
    """Markdown as blocks of plain lines (a blank line goes between blocks); ``level`` is the level of the
    headings the article is split at, so its subsections are underlined as ``###`` ones are."""
    with gc_paused():
        root = SyntaxTreeNode(shown_tokens(source, level))
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


def _fold(word: str, width: int) -> list[str]:
    """``word`` cut into pieces of at most ``width`` cells (never inside a wide character)."""
    return chop_cells(word, max(1, width)) if cell_len(word) > width else [word]


_BREAK_RE = re.compile(r"[ \t]+|(?<=[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef])(?=\S)")
"""Where a line may break: at spaces, and after a CJK character (those scripts do not use spaces)."""


def _wrap(text: str, width: int, indent: str = "") -> list[str]:
    """Word-wrap one paragraph to ``width`` cells; hard line breaks (``\\n``) are kept; a word (or URL)
    wider than the line is folded; CJK text breaks between characters."""
    width = max(width, cell_len(indent) + 8)
    lines: list[str] = []
    for part in text.split("\n"):
        if not part.strip():
            lines.append("")
            continue
        line, used = "", 0
        pending_space = False
        for piece in _pieces(part):
            if not piece.strip():
                pending_space = bool(line)
                continue
            size = cell_len(piece)
            gap = 1 if pending_space else 0
            pending_space = False
            if line and used + gap + size <= width:
                line += " " * gap + piece
                used += gap + size
                continue
            if line:
                lines.append(line)
            prefix = indent if lines else ""
            room = width - cell_len(prefix)
            chunks = _fold(piece, room)
            for chunk in chunks[:-1]:
                lines.append(prefix + chunk)
                prefix = indent
                room = width - cell_len(prefix)
            line = prefix + chunks[-1]
            used = cell_len(line)
        if line:
            lines.append(line)
    return lines or [""]


def _pieces(text: str) -> list[str]:
    """``text`` cut into words, the spaces between them, and single CJK characters."""
    out: list[str] = []
    at = 0
    for match in _BREAK_RE.finditer(text):
        if match.start() > at:
            out.append(text[at : match.start()])
        if match.group():
            out.append(match.group())
        at = match.end()
    if at < len(text):
        out.append(text[at:])
    return out


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
        room = max(8, width - 4)
        return [
            [f"    {piece}" if line.strip() else "" for line in code for piece in _fold(line, room)]
        ]
    if kind == "hr":
        return [["* * *"]]
    if kind == "table":
        return _table(node, width)
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
    aligns: list[str] = []
    for group in node.children:  # thead, tbody
        for tr in group.children:
            rows.append([" ".join(_inline(cell.children).split()) for cell in tr.children])
            if not aligns:
                aligns = [str(cell.attrs.get("style", "")) for cell in tr.children]
    if not rows:
        return []
    columns = max(len(row) for row in rows)
    rows = [row + [""] * (columns - len(row)) for row in rows]
    header, body = rows[0], rows[1:]
    sizes = [max(cell_len(row[i]) for row in rows) for i in range(columns)]
    if sum(sizes) + 3 * (columns - 1) <= width:
        aligns += [""] * (columns - len(aligns))
        lines = [
            " | ".join(
                _align(cell, size, align)
                for cell, size, align in zip(row, sizes, aligns, strict=True)
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


def _align(cell: str, size: int, style: str) -> str:
    """``cell`` padded to ``size`` cells as its column is aligned (``:--:``, ``--:``)."""
    room = size - cell_len(cell)
    if "right" in style:
        return " " * room + cell
    if "center" in style:
        return " " * (room // 2) + cell + " " * (room - room // 2)
    return cell + " " * room


def _inline(nodes: Sequence[SyntaxTreeNode]) -> str:
    """Plain text of inline nodes (see `kreader.mdtext.tokens_text`): external link targets in parentheses,
    images as ``[image: description]``, hard line breaks kept."""
    parts = []
    for node in nodes:
        if node.type == "inline" and node.token is not None:
            parts.append(tokens_text(node.token.children or (), targets=True, breaks="\n"))
    return "".join(parts)


# --- rich ---------------------------------------------------------------------------------------


def _escape(text: str) -> str:
    """Backslash-escape Markdown punctuation so a title is shown exactly as written."""
    return re.sub(r"([!-/:-@\[-`{-~])", r"\\\1", text)


def print_rich(article: Article, section: Section | None, console: Console) -> None:
    """Render the article (or one section) with Rich's Markdown onto ``console``."""
    from rich.markdown import Markdown
    from rich.panel import Panel
    from rich.text import Text

    from kreader.layout import SectionMarkdown

    console.print(Markdown(f"# {_escape(article.title)}"))
    if article.summary:
        console.print(Text(article.summary, style="italic"))
    if article.meta.reviewed is not None:
        reviewed = _("Reviewed: {date}").format(date=article.meta.reviewed.isoformat())
        console.print(Text(reviewed, style="dim"))
    for part in (section,) if section is not None else article.sections:
        console.print()
        console.print(Markdown(f"## {_escape(part.title)}"))
        console.print(SectionMarkdown(shown_tokens(part.source, part.level)))
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
