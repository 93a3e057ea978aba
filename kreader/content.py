"""The content model: a library of Markdown articles split into sections.

This module never imports Textual: it reads files and splits them, and returns every problem it meets as a
`ContentError` value so the caller (the reader, the kiosk, ``kreader check``) decides how to show it.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

from kreader.safetext import clean, clean_line

FRONT_MATTER_FENCE = "+++"
"""Line that opens and closes the optional TOML front matter."""

KNOWN_FRONT_MATTER = frozenset({"title", "summary", "order", "reviewed", "disclaimer", "contact"})
KNOWN_CONTACT = frozenset({"name", "address", "phone", "email", "url"})
OPENING_TITLE = "Overview"
"""Title of the section made from text that comes before the first ``## `` heading."""

MAX_FILE_BYTES = 64 * 1024 * 1024
"""Files larger than this are refused rather than read into memory."""


def slugify(text: str) -> str:
    """GitHub-style anchor slug: lower case, punctuation dropped, spaces to hyphens."""
    text = unicodedata.normalize("NFKC", text).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return re.sub(r"\s", "-", text) or "section"


def _unique(slug: str, taken: set[str]) -> str:
    """``slug``, or ``slug-1``, ``slug-2``... whichever is not yet in ``taken`` (which it joins)."""
    candidate, n = slug, 0
    while candidate in taken:
        n += 1
        candidate = f"{slug}-{n}"
    taken.add(candidate)
    return candidate


_md: MarkdownIt | None = None


def markdown_parser() -> MarkdownIt:
    """The shared markdown-it parser (CommonMark plus tables and strikethrough)."""
    global _md
    if _md is None:
        _md = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    return _md


def block_tokens(source: str) -> list[Token]:
    """Block-level tokens only: inline parsing is skipped because splitting does not need it."""
    md = markdown_parser()
    tokens: list[Token] = []
    md.block.parse(source, md, {}, tokens)
    return tokens


def inline_text(markdown: str) -> str:
    """Plain text of an inline Markdown fragment (a heading), with emphasis, code and links unwrapped."""
    tokens = markdown_parser().parseInline(markdown)
    parts: list[str] = []
    for token in tokens:
        for child in token.children or ():
            if child.type in {"text", "code_inline"}:
                parts.append(child.content)
            elif child.type in {"softbreak", "hardbreak"}:
                parts.append(" ")
    return "".join(parts).strip() or markdown.strip()


@dataclass(frozen=True)
class ContentError:
    """A problem with one content file: where it is and what is wrong."""

    path: Path
    line: int
    reason: str
    level: str = "error"
    """``error`` (the file or part of it cannot be used) or ``warning`` (it loads, but is probably wrong)."""

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.level}: {self.reason}"


@dataclass(frozen=True)
class Subsection:
    """A ``### `` heading inside a section."""

    id: str
    title: str
    line: int
    """Line of the heading inside the section's own source (0-based)."""


@dataclass(frozen=True)
class Section:
    """One ``## `` section of an article, holding its own Markdown source."""

    id: str
    title: str
    source: str
    """Markdown of the section body, without its ``## `` heading."""
    line: int
    """1-based line in the file where the section starts (for messages)."""
    subsections: tuple[Subsection, ...] = ()


@dataclass(frozen=True)
class Contact:
    """How to reach the people behind an article (a clinic, in the bundled library)."""

    name: str = ""
    address: str = ""
    phone: str = ""
    email: str = ""
    url: str = ""

    def __bool__(self) -> bool:
        return any((self.name, self.address, self.phone, self.email, self.url))


@dataclass(frozen=True)
class FrontMatter:
    """The optional TOML block at the top of an article file."""

    title: str = ""
    summary: str = ""
    order: float | None = None
    reviewed: dt.date | None = None
    disclaimer: str = ""
    contact: Contact = field(default_factory=Contact)
    unknown_keys: tuple[str, ...] = ()


class Article:
    """One Markdown file of the library. Sections are split on first use, not at load time.

    Keeping the split lazy means listing a large library reads and cleans the files but parses only the article
    that is opened first.
    """

    def __init__(
        self, id: str, path: Path, body: str, body_line: int, meta: FrontMatter, title: str
    ):
        self.id = id
        """Stable id: the file name without ``.md``."""
        self.path = path
        self.body = body
        """Cleaned Markdown after the front matter."""
        self.body_line = body_line
        """1-based line of the file where ``body`` starts."""
        self.meta = meta
        self.title = title

    def __repr__(self) -> str:
        return f"Article({self.id!r}, title={self.title!r})"

    @property
    def summary(self) -> str:
        return self.meta.summary

    @property
    def disclaimer(self) -> str:
        return self.meta.disclaimer

    @property
    def contact(self) -> Contact:
        return self.meta.contact

    @cached_property
    def sections(self) -> tuple[Section, ...]:
        """The article's sections, in order; never empty."""
        return split_sections(self.body, self.body_line)

    def section(self, section_id: str) -> Section | None:
        """The section with this id, if there is one."""
        for section in self.sections:
            if section.id == section_id:
                return section
        return None

    def index_of(self, section_id: str) -> int:
        """Position of a section, or -1."""
        for index, section in enumerate(self.sections):
            if section.id == section_id:
                return index
        return -1

    def anchor(self, slug: str) -> tuple[Section, Subsection | None] | None:
        """The section (and subsection) a ``#slug`` link points at, if any."""
        for section in self.sections:
            if section.id == slug:
                return section, None
            for sub in section.subsections:
                if sub.id == slug:
                    return section, sub
        return None


Heading = tuple[int, int, int, str]
"""(first line, line after, level, plain text) of a top-level heading, lines counted from 0."""


def parsed_headings(body: str) -> list[Heading]:
    """The top-level headings of ``body``, from markdown-it's block parse (the reference `scan_headings` matches)."""
    tokens = block_tokens(body)
    headings: list[Heading] = []
    for i, token in enumerate(tokens):
        if token.type == "heading_open" and token.level == 0 and token.map:
            text = inline_text(tokens[i + 1].content) if i + 1 < len(tokens) else ""
            headings.append((token.map[0], token.map[1], int(token.tag[1:]), text))
    return headings


# Lines the quick scan must look at: ATX headings at column 0, fences at column 0-3, and anything that could make
# a column-0 "#" line something other than a top-level heading (see `scan_headings`).
_SCAN_RE = re.compile(
    r"""
    ^(?P<heading>\#{1,6})(?=[ \t]|$)[^\n]*             # ATX heading at column 0
  | ^(?P<indent>[ ]{0,3})(?P<fence>`{3,}|~{3,})(?P<info>[^\n]*)   # fence (opening or closing)
  | ^[ ]{1,3}\#{1,6}(?:[ \t]|$)(?P<indented>)          # indented heading: maybe inside a list item
  | ^[ ]{0,3}<(?P<html>)                                # maybe an HTML block, which can hold "#" lines
  | ^[ ]{0,3}(?P<underline>=+|-+)[ \t]*$                # maybe a setext underline
    """,
    re.MULTILINE | re.VERBOSE,
)
_SCAN_UNSAFE_RE = re.compile("[\r\x00\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
"""Characters markdown-it and `str.splitlines` count lines by differently: left to the full parse."""
_MD_SPACE = " \t"
_MD_TRIM = " \t\n\x0b\x0c\r"


def scan_headings(body: str) -> list[Heading] | None:
    """The top-level headings of ``body`` without parsing it, or None when that cannot be sure.

    Splitting a large file at its headings with markdown-it costs a full block parse (about 0.4 s per megabyte),
    which would delay the first paint of any article. A column-0 ``#`` line is a top-level ATX heading unless
    it is inside a top-level fenced code block or HTML block: it cannot continue a paragraph lazily, so it
    closes any list or quote, and it is not indented enough for code. This scan therefore tracks column-0
    fences and gives up (returns None, for `parsed_headings`) on anything it does not follow exactly: fences
    or headings indented 1-3 spaces (they may belong to a list item), lines that may open an HTML block,
    possible setext underlines after a line of text, heading lines holding a ``|`` (a table header?), and
    characters that markdown-it and `str.splitlines` split lines at differently. The heading text comes from
    the same trimming markdown-it does and the same `inline_text`, so the result equals `parsed_headings`.
    """
    if _SCAN_UNSAFE_RE.search(body):
        return None
    headings: list[Heading] = []
    fence = ""  # the open column-0 fence's marker, "" outside code
    line = 0
    counted = 0  # offset up to which newlines have been counted into ``line``
    for match in _SCAN_RE.finditer(body):
        start = match.start()
        line += body.count("\n", counted, start)
        counted = start
        kind = match.lastgroup
        if fence:
            marker = match.group("fence")
            if (
                marker
                and marker[0] == fence[0]
                and len(marker) >= len(fence)
                and not match.group("info").strip(_MD_SPACE)
            ):
                fence = ""
            continue
        if kind in {"indented", "html"}:
            return None
        if kind == "underline":
            previous = body.rfind("\n", 0, max(0, start - 1))
            if start and body[previous + 1 : start - 1].strip(_MD_SPACE):
                return None  # right under a line of text: maybe a setext heading
            continue
        marker = match.group("fence")
        if marker:
            if match.group("indent"):
                return None
            if marker[0] == "`" and "`" in match.group("info"):
                continue  # not a fence: inline code in a paragraph
            fence = marker
            continue
        text = match.group()
        level = len(match.group("heading"))
        if "|" in text:
            return None
        rest = text[level:]
        end = len(rest.rstrip(_MD_SPACE))
        hashes = len(rest[:end].rstrip("#"))
        if hashes and rest[hashes - 1] in _MD_SPACE:  # a closing sequence: "## Title ##"
            end = hashes
        headings.append((line, line + 1, level, inline_text(rest[:end].strip(_MD_TRIM))))
    return headings


def split_sections(body: str, body_line: int = 1) -> tuple[Section, ...]:
    """Split Markdown into sections at top-level ``## `` headings, using markdown-it's token map.

    Text before the first ``## `` becomes the opening section (its ``# `` title line removed). Headings inside
    code blocks, lists or quotes never split because only level-0 heading tokens count. Ids are slugs given in
    document order, unique within the article, as GitHub gives anchors.
    """
    lines = body.splitlines(keepends=True)
    # (first line, line after, level, plain text) of every top-level heading
    headings = scan_headings(body)
    if headings is None:
        headings = parsed_headings(body)

    h2_starts = [h[0] for h in headings if h[2] == 2]
    first_h2 = h2_starts[0] if h2_starts else len(lines)
    title = next((h for h in headings if h[2] == 1 and h[0] < first_h2), None)
    if title is not None:  # blank the title's lines so offsets stay true
        for n in range(title[0], title[1]):
            lines[n] = "\n"

    # (title, first line, body start, end) of each section
    spans: list[tuple[str, int, int, int]] = []
    if "".join(lines[:first_h2]).strip() or not h2_starts:
        spans.append((OPENING_TITLE, 0, 0, first_h2))
    h2s = [h for h in headings if h[2] == 2]
    for index, (start, after, _, text) in enumerate(h2s):
        end = h2s[index + 1][0] if index + 1 < len(h2s) else len(lines)
        spans.append((text, start, after, end))

    taken: set[str] = set()
    sections: list[Section] = []
    for text, start, body_start, end in spans:
        section_id = _unique(slugify(text), taken)
        chunk = lines[body_start:end]
        lead = len(chunk) - len("".join(chunk).lstrip("\n").splitlines(keepends=True))
        subs = tuple(
            Subsection(_unique(slugify(h_text), taken), h_text, h_start - body_start - lead)
            for h_start, _, level, h_text in headings
            if level == 3 and body_start <= h_start < end
        )
        sections.append(
            Section(
                id=section_id,
                title=text or OPENING_TITLE,
                source="".join(chunk).strip("\n") + "\n",
                line=body_line + start,
                subsections=subs,
            )
        )
    return tuple(sections)


def _text_of(value: Any, key: str, path: Path, line: int) -> str:
    if not isinstance(value, str):
        raise _FrontMatterError(
            line, f"front matter key '{key}' must be a string, not {type(value).__name__}"
        )
    return clean(value).strip()


class _FrontMatterError(Exception):
    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason


def parse_front_matter(text: str, path: Path) -> tuple[FrontMatter, str, int]:
    """Split off and validate the TOML front matter: (front matter, body, body's first line number).

    Raises `_FrontMatterError` with the file line of the problem.
    """
    lines = text.split("\n")
    if not lines or lines[0].strip() != FRONT_MATTER_FENCE:
        return FrontMatter(), text, 1
    try:
        close = next(i for i in range(1, len(lines)) if lines[i].strip() == FRONT_MATTER_FENCE)
    except StopIteration:
        raise _FrontMatterError(1, "front matter opened with '+++' is never closed") from None
    raw = "\n".join(lines[1:close])
    try:
        data = tomllib.loads(raw)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        # tomllib names the line, except for errors "at end of document": the last line before the fence.
        line = int(match.group(1)) + 1 if match else close
        message = (
            re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", str(exc))
            or "invalid TOML"
        )
        raise _FrontMatterError(line, f"malformed front matter: {message}") from None

    def line_of(key: str) -> int:
        for n, candidate in enumerate(lines[1:close], start=2):
            if re.match(rf"\s*(\[\s*)?{re.escape(key)}\b", candidate):
                return n
        return 1

    meta: dict[str, Any] = {}
    for key in ("title", "summary", "disclaimer"):
        if key in data:
            meta[key] = _text_of(data[key], key, path, line_of(key))
    if "order" in data:
        order = data["order"]
        if isinstance(order, bool) or not isinstance(order, int | float):
            raise _FrontMatterError(line_of("order"), "front matter key 'order' must be a number")
        meta["order"] = float(order)
    if "reviewed" in data:
        reviewed = data["reviewed"]
        if isinstance(reviewed, dt.datetime):
            reviewed = reviewed.date()
        if not isinstance(reviewed, dt.date):
            raise _FrontMatterError(
                line_of("reviewed"), "front matter key 'reviewed' must be a date (2024-05-01)"
            )
        meta["reviewed"] = reviewed
    unknown = sorted(set(data) - KNOWN_FRONT_MATTER)
    if "contact" in data:
        contact = data["contact"]
        if not isinstance(contact, dict):
            raise _FrontMatterError(
                line_of("contact"), "front matter key 'contact' must be a table ([contact])"
            )
        values = {}
        for key in KNOWN_CONTACT & set(contact):
            values[key] = _text_of(contact[key], f"contact.{key}", path, line_of(key))
        unknown += [f"contact.{key}" for key in sorted(set(contact) - KNOWN_CONTACT)]
        meta["contact"] = Contact(**values)
    meta["unknown_keys"] = tuple(unknown)
    body = "\n".join(lines[close + 1 :])
    return FrontMatter(**meta), body, close + 2


def read_article(path: Path, article_id: str | None = None) -> Article | ContentError:
    """Read one file into an `Article`, or say why it cannot be used."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return ContentError(
                path, 1, f"file is too large ({size} bytes; the limit is {MAX_FILE_BYTES})"
            )
        data = path.read_bytes()
    except OSError as exc:
        return ContentError(path, 1, f"cannot read file: {exc.strerror or exc}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return ContentError(
            path, line, f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        )
    return parse_article(text, path, article_id)


def parse_article(text: str, path: Path, article_id: str | None = None) -> Article | ContentError:
    """Make an `Article` from a file's text, or a `ContentError` if its front matter is broken."""
    text = clean(text)
    try:
        meta, body, body_line = parse_front_matter(text, path)
    except _FrontMatterError as exc:
        return ContentError(path, exc.line, exc.reason)
    title = (
        meta.title
        or _first_title(body)
        # A file name can hold anything but "/": escape sequences included.
        or clean_line(path.stem.replace("-", " ").replace("_", " ")).strip()
        or clean_line(path.name).strip()
        or "Untitled"
    )
    return Article(article_id or path.stem, path, body, body_line, meta, title)


def _first_title(body: str) -> str:
    """Text of the first top-level ``# `` heading that comes before any ``## ``, if any.

    Only the text up to the first ``## `` candidate line is parsed, so a huge file costs little here.
    """
    cut = re.search(r"^ {0,3}##(?:\s|$)", body, re.MULTILINE)
    head = body[: cut.start()] if cut else body[:200_000]
    for i, token in enumerate(tokens := block_tokens(head)):
        if token.type == "heading_open" and token.level == 0:
            if token.tag == "h1":
                return inline_text(tokens[i + 1].content)
            if token.tag == "h2":
                return ""
    return ""


@dataclass(frozen=True)
class Library:
    """The articles of one content folder, in reading order, with the files that could not be used."""

    root: Path
    articles: tuple[Article, ...]
    errors: tuple[ContentError, ...] = ()

    def article(self, article_id: str) -> Article | None:
        """The article with this id, if any."""
        for article in self.articles:
            if article.id == article_id:
                return article
        return None

    def find_section(self, section_id: str) -> tuple[Article, Section] | None:
        """The first article holding a section with this id."""
        for article in self.articles:
            section = article.section(section_id)
            if section is not None:
                return article, section
        return None


class LibraryError(Exception):
    """The library folder cannot be used at all (missing, unreadable, or without a single article)."""


def library_files(root: Path) -> list[Path]:
    """The ``*.md`` files directly inside ``root``; raises `LibraryError` if the folder cannot be listed."""
    if not root.exists():
        raise LibraryError(f"{root}: content folder does not exist")
    if not root.is_dir():
        raise LibraryError(f"{root}: not a folder")
    try:
        return sorted(
            p for p in root.iterdir() if p.suffix.lower() == ".md" and not p.name.startswith(".")
        )
    except OSError as exc:
        raise LibraryError(f"{root}: cannot read content folder: {exc.strerror or exc}") from None


def load_library(root: Path) -> Library:
    """Read every article of a folder; files that cannot be used become `ContentError` values.

    Raises `LibraryError` when the folder is missing or yields no article at all.
    """
    root = Path(root)
    articles: list[Article] = []
    errors: list[ContentError] = []
    taken: set[str] = set()
    for path in library_files(root):
        result = read_article(path, _unique(path.stem, taken))
        (errors if isinstance(result, ContentError) else articles).append(result)  # type: ignore[arg-type]
    if not articles:
        detail = (
            f" ({len(errors)} file(s) skipped: {'; '.join(map(str, errors))})" if errors else ""
        )
        raise LibraryError(f"{root}: no readable article (*.md) in this folder{detail}")
    articles.sort(key=_reading_order)
    return Library(root, tuple(articles), tuple(errors))


def _reading_order(article: Article) -> tuple[bool, float, str]:
    order = article.meta.order
    return (order is None, order if order is not None else 0.0, article.title.casefold())


def default_content_dir() -> Path:
    """The bundled library: ``kreader/_content`` in a wheel, else ``content/`` beside the package in a clone."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_content", here.parent / "content"):
        if candidate.is_dir():
            return candidate
    return here.parent / "content"


def library_signature(root: Path) -> tuple[tuple[str, int, int], ...]:
    """Names, sizes and modification times of the library's files: changes when any file does."""
    signature = []
    for path in library_files(root):
        try:
            stat = path.stat()
        except OSError:
            continue
        signature.append((path.name, stat.st_size, stat.st_mtime_ns))
    return tuple(signature)


def iter_headings(section: Section) -> Iterable[tuple[int, str]]:
    """(level, text) of every heading inside a section's source."""
    tokens = block_tokens(section.source)
    for i, token in enumerate(tokens):
        if token.type == "heading_open":
            yield int(token.tag[1:]), inline_text(tokens[i + 1].content)
