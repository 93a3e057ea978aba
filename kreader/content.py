"""The content model: a library of Markdown articles split into sections.

This module never imports Textual: it reads files and splits them, and returns every problem it meets as a
`ContentError` value so the caller (the reader, the kiosk, ``kreader check``) decides how to show it.
"""

from __future__ import annotations

import datetime as dt
import gc
import itertools
import re
import threading
import tomllib
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

from markdown_it.token import Token

from kreader.errors import UserError
from kreader.mdtext import (
    Definition,
    definitions,
    inline_text,
    labels_used,
    markdown_parser,
    with_definitions,
)
from kreader.safetext import clean, clean_line, valid_text
from kreader.sources import MAX_TOML_DEPTH, SourceError, read_regular, toml_too_deep
from kreader.tomlkey import key_line

FRONT_MATTER_FENCE = "+++"
"""Line that opens and closes the optional TOML front matter."""
YAML_FENCE = "---"
"""Line that opens the YAML form of the front matter (closed by ``---`` or ``...``)."""

KNOWN_FRONT_MATTER = frozenset({"title", "summary", "order", "reviewed", "disclaimer", "contact"})
KNOWN_CONTACT = frozenset({"name", "address", "phone", "email", "url"})
OPENING_TITLE = "Overview"
"""Title of the section made from text that comes before the first section heading."""

MAX_FILE_BYTES = 64 * 1024 * 1024
"""Files larger than this are refused rather than read into memory."""


def slugify(text: str) -> str:
    """GitHub-style anchor slug: lower case, punctuation dropped, spaces to hyphens."""
    text = unicodedata.normalize("NFKC", text).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return re.sub(r"\s", "-", text) or "section"


def unique_id(slug: str, taken: set[str]) -> str:
    """``slug``, or ``slug-1``, ``slug-2``... whichever is not yet in ``taken`` (which it joins)."""
    candidate, n = slug, 0
    while candidate in taken:
        n += 1
        candidate = f"{slug}-{n}"
    taken.add(candidate)
    return candidate


_gc_lock = threading.Lock()
_gc_pauses = 0
_gc_restore = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """Hold off Python's cyclic garbage collector while a large document is parsed.

    markdown-it makes hundreds of thousands of tokens for a big file, each a new tracked object, and the
    collector keeps walking all of them: 60% of parsing 50,000 headings went to it. Tokens form no cycles, so
    nothing is lost by collecting afterwards. Nested and concurrent pauses (worker threads) are counted.
    """
    global _gc_pauses, _gc_restore
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_restore = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_restore:
                gc.enable()


def block_tokens(source: str) -> list[Token]:
    """Block-level tokens only: inline parsing is skipped because splitting does not need it."""
    md = markdown_parser()
    tokens: list[Token] = []
    with gc_paused():
        md.block.parse(source, md, {}, tokens)
    return tokens


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
    """A heading inside a section (``###`` under ``##`` sections, ``##`` under ``#`` ones, and deeper)."""

    id: str
    title: str
    line: int
    """Line of the heading inside the section's own source (0-based)."""
    level: int = 3
    """The heading's level as written (1-6)."""
    depth: int = 1
    """1 for a heading right under the section's, 2 under one of those... (the contents nests them)."""


@dataclass(frozen=True)
class Section:
    """One ``## `` section of an article, and its Markdown source (see `source`)."""

    id: str
    title: str
    raw: str = field(repr=False)
    """The section's source, or, with `span`, the article's whole text, shared by all its sections: a
    megabyte article is then held once, not once more in copies cut out for its sections."""
    line: int
    """1-based line in the file where the section starts (for messages)."""
    subsections: tuple[Subsection, ...] = ()
    """Every heading inside the section, in order, at any depth."""
    part: int = 0
    """0 for a whole section; 1, 2... for the parts a very large section is cut into (see `MAX_PART_CHARS`)."""
    level: int = 2
    """Level of the headings the article is split at (``#`` in a file of several ``#`` headings)."""
    aliases: tuple[tuple[str, str], ...] = ()
    """Other link targets in the section, (id, subsection id or "" for the top): ``<a id>``/``<a name>``."""
    span: tuple[int, int] | None = None
    """Where `source` is in `raw`; ``None`` when `raw` is the source itself."""

    @property
    def source(self) -> str:
        """Markdown of the section body, without its ``## `` heading (a copy cut out of `raw`: read it
        once where it is used)."""
        if self.span is None:
            return self.raw
        start, end = self.span
        return self.raw[start:end]


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
        self,
        id: str,
        path: Path,
        body: str,
        body_line: int,
        meta: FrontMatter,
        title: str,
        flattened: tuple[int, ...] = (),
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
        self.flattened = flattened
        """File lines (1-based) whose lists or quotes nest too deeply and are shown at a capped depth."""

    from_file_alone: ClassVar[bool] = True
    """Reading its file alone gives this article (an edition's section ids come from its source)."""

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
        with gc_paused():
            return split_sections(self.body, self.body_line)

    @cached_property
    def _positions(self) -> dict[str, int]:
        """Section id -> position, so a lookup costs the same in an article of 50,000 sections as of 5."""
        return {section.id: index for index, section in enumerate(self.sections)}

    @cached_property
    def _anchors(self) -> dict[str, tuple[Section, Subsection | None]]:
        anchors: dict[str, tuple[Section, Subsection | None]] = {}
        for section in self.sections:
            anchors.setdefault(section.id, (section, None))
            for sub in section.subsections:
                anchors.setdefault(sub.id, (section, sub))
        for section in self.sections:  # HTML anchors never take a heading's id
            subs = {sub.id: sub for sub in section.subsections}
            for alias, target in section.aliases:
                anchors.setdefault(alias, (section, subs.get(target)))
        if self.sections:  # GitHub gives the title heading an anchor too: the top
            anchors.setdefault(slugify(self.title), (self.sections[0], None))
        return anchors

    def anchor_ids(self) -> list[str]:
        """Every id a ``#link`` can name in this article (sections, headings at any depth, HTML anchors)."""
        return list(self._anchors)

    def section(self, section_id: str) -> Section | None:
        """The section with this id, if there is one."""
        index = self._positions.get(section_id)
        return None if index is None else self.sections[index]

    def index_of(self, section_id: str) -> int:
        """Position of a section, or -1."""
        return self._positions.get(section_id, -1)

    def anchor(self, slug: str) -> tuple[Section, Subsection | None] | None:
        """The section (and subsection) a ``#slug`` link points at, if any."""
        return self._anchors.get(slug)


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
_RAW_HTML_RE = re.compile(
    r"[ ]{0,3}<(script|pre|style|textarea)(?:[ \t>]|$)", re.IGNORECASE | re.MULTILINE
)
_RAW_HTML_END_RE = re.compile(r"</(?:script|pre|style|textarea)>", re.IGNORECASE)
_BLANK_LINE_RE = re.compile(r"\n[ \t]*(?=\n|\Z)")
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
    or headings indented 1-3 spaces (they may belong to a list item), a heading, fence or underline within the
    furthest reach of an HTML block a ``<`` line may open (`_html_block_end`), possible setext underlines after
    a line of text, heading lines holding a ``|`` (a table header?), and
    characters that markdown-it and `str.splitlines` split lines at differently. The heading text comes from
    the same trimming markdown-it does and the same `inline_text`, so the result equals `parsed_headings`.
    """
    if _SCAN_UNSAFE_RE.search(body):
        return None
    headings: list[Heading] = []
    fence = ""  # the open column-0 fence's marker, "" outside code
    html_end = -1  # the furthest an HTML block (or paragraph) that a "<" line may open can reach
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
        if kind == "html":
            # Each "<" line may open a block of its own (even one inside another's reach may, if that one
            # never opened): the scan follows the furthest any of them can reach.
            html_end = max(html_end, _html_block_end(body, start))
            continue
        if start < html_end:
            return (
                None  # a heading, fence or underline that an HTML block may hold: not followed here
            )
        if kind == "indented":
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


def _html_block_end(body: str, start: int) -> int:
    """The latest a block opened by the line at ``start`` (beginning ``<``) can end, by CommonMark's end
    conditions: the line holding ``</pre>`` (``script``, ``style``, ``textarea``), ``-->``, ``?>``, ``]]>`` or
    ``>`` for those kinds, else the next blank line. An HTML block, or the paragraph such a line sits in, never
    reaches further; a line that would be a heading or fence before then makes the scan give up."""
    line_end = body.find("\n", start)
    line_end = len(body) if line_end < 0 else line_end
    opening = body[start:line_end].lstrip(" ")
    marker_at = -1
    if _RAW_HTML_RE.match(body, start, line_end):
        found = _RAW_HTML_END_RE.search(body, start)
        marker_at = found.start() if found else len(body)
    elif opening.startswith("<!--"):
        marker_at = body.find(
            "-->", start
        )  # markdown-it looks at the whole line: "<!-->" closes itself
    elif opening.startswith("<![CDATA["):
        marker_at = body.find("]]>", start)
    elif opening.startswith("<?"):
        marker_at = body.find("?>", start)
    elif opening.startswith("<!") and opening[2:3].isascii() and opening[2:3].isalpha():
        marker_at = body.find(">", start)
    else:
        blank = _BLANK_LINE_RE.search(body, line_end)
        return blank.start() + 1 if blank else len(body)
    if marker_at < 0:
        return len(body)
    end = body.find("\n", marker_at)
    return len(body) if end < 0 else end


def title_heading(headings: Sequence[Heading]) -> Heading | None:
    """The heading that titles the article: its only ``#`` heading, when no ``##`` comes before it.

    A file of several ``#`` headings (release notes, a book) has no title heading: each is a section.
    """
    title: Heading | None = None
    for heading in headings:
        if heading[2] == 1:
            if title is not None:
                return None
            title = heading
        elif heading[2] == 2 and title is None:
            return None
    return title


_HTML_ANCHOR_RE = re.compile(
    r"<a\s[^<>]*?\b(?:id|name)\s*=\s*(?:\"([^\"<>]*)\"|'([^'<>]*)'|([^\s\"'<>]+))", re.IGNORECASE
)


def _html_anchors(body: str) -> list[tuple[int, str]]:
    """(0-based line, id) of each ``<a id=...>`` or ``<a name=...>`` in ``body``, outside column-0 fences."""
    if "<a " not in body and "<A " not in body:
        return []
    found: list[tuple[int, str]] = []
    fence = ""
    for number, line in enumerate(body.split("\n")):
        stripped = line.lstrip(" ")
        if stripped.startswith(("```", "~~~")) and len(line) - len(stripped) < 4:
            marker = stripped[: len(stripped) - len(stripped.lstrip(stripped[0]))]
            if not fence:
                fence = marker
            elif (
                marker[0] == fence[0]
                and len(marker) >= len(fence)
                and not stripped.strip(marker[0]).strip()
            ):
                fence = ""
            continue
        if fence or "<" not in line:
            continue
        for match in _HTML_ANCHOR_RE.finditer(line):
            value = next(group for group in match.groups() if group is not None).strip()
            if value:
                found.append((number, value))
    return found


def split_sections(body: str, body_line: int = 1) -> tuple[Section, ...]:
    """Split Markdown into sections at the top-level headings of the highest level the file uses.

    A file's only ``#`` heading is its title (its lines are blanked so offsets stay true); the next level used
    (usually ``##``) makes the sections, and every deeper heading is a subsection, nested by level. A file of
    several ``#`` headings, setext ones included, is split at each of them. Text before the first section
    heading becomes the opening section. Headings inside code blocks, lists or quotes never split because only
    level-0 heading tokens count. Ids are GitHub's slugs given in document order over every heading, unique
    within the article (the title heading's included: a section named like it gets ``-1``); the opening
    section takes ``overview`` only if no heading has it. ``<a id>`` and
    ``<a name>`` anchors become aliases of the heading they stand at, and the link reference and footnote
    definitions a section uses from elsewhere in the file are appended to its source.
    """
    lines = body.splitlines(keepends=True)
    # Where each line starts in `body`: a section's source is cut out of it only when it is read.
    offsets = [0, *itertools.accumulate(map(len, lines))]
    headings = scan_headings(body)
    if headings is None:
        headings = parsed_headings(body)

    # Ids in document order over every heading, the title's included, as GitHub gives them.
    taken: set[str] = set()
    ids = {heading[0]: unique_id(slugify(heading[3]), taken) for heading in headings}
    title = title_heading(headings)
    if title is not None:  # blank the title's lines so offsets stay true
        for n in range(title[0], title[1]):
            lines[n] = "\n"
        headings = [h for h in headings if h is not title]
    level = min((h[2] for h in headings), default=2)
    tops = [h for h in headings if h[2] == level]
    first_top = tops[0][0] if tops else len(lines)

    # (heading or None for the opening text, body start, end) of each section
    spans: list[tuple[Heading | None, int, int]] = []
    if "".join(lines[:first_top]).strip() or not tops:
        spans.append((None, 0, first_top))
    for index, top in enumerate(tops):
        end = tops[index + 1][0] if index + 1 < len(tops) else len(lines)
        spans.append((top, top[1], end))

    # The opening section's id comes last: a heading's id is never taken from it.
    opening_id = unique_id(slugify(OPENING_TITLE), taken) if spans and spans[0][0] is None else ""

    starts = {h[0] for h in headings}
    targets = sorted(
        (_anchor_line(lines, line, starts), name.lower()) for line, name in _html_anchors(body)
    )
    blanked = range(title[0], title[1]) if title is not None else range(0)
    sections: list[Section] = []
    below = [h for h in headings if h[2] > level]  # in document order, like the spans
    next_sub = 0
    for heading, body_start, end in spans:
        start = heading[0] if heading else 0
        chunk = lines[body_start:end]
        lead = 0  # blank lines the source drops from its top
        while lead < len(chunk) and chunk[lead] == "\n":
            lead += 1
        while next_sub < len(below) and below[next_sub][0] < body_start:
            next_sub += 1
        subs: list[Subsection] = []
        stack: list[int] = []
        while next_sub < len(below) and below[next_sub][0] < end:
            h_start, _, h_level, h_text = below[next_sub]
            while stack and stack[-1] >= h_level:
                stack.pop()
            stack.append(h_level)
            subs.append(
                Subsection(ids[h_start], h_text, h_start - body_start - lead, h_level, len(stack))
            )
            next_sub += 1
        aliases: list[tuple[str, str]] = []
        first = bisect_left(targets, (start, ""))
        if first < len(targets) and targets[first][0] < end:
            sub_starts = [h[0] for h in below[next_sub - len(subs) : next_sub]]
            for target, name in targets[first : bisect_left(targets, (end, ""))]:
                at = bisect_right(sub_starts, target) - 1
                aliases.append((name, subs[at].id if at >= 0 else ""))
        # The lines' text with blank lines dropped at both ends, and one newline to end it.
        begin, stop = offsets[body_start + lead], offsets[end]
        while stop > begin and body[stop - 1] == "\n":
            stop -= 1
        shared = body[stop : stop + 1] == "\n" and not (  # the newline that ends the source
            blanked and body_start < blanked.stop and blanked.start < end  # a title line blanked
        )
        section = Section(
            id=ids[heading[0]] if heading else opening_id,
            title=(heading[3] if heading else "") or OPENING_TITLE,
            raw=body if shared else "".join(chunk).strip("\n") + "\n",
            span=(begin, stop + 1) if shared else None,
            line=body_line + start,
            subsections=tuple(subs),
            level=level,
            aliases=tuple(aliases),
        )
        size = stop + 1 - begin if shared else len(section.raw)  # not len(section.source): no copy
        if size > MAX_PART_CHARS or len(subs) > MAX_PART_SUBSECTIONS:
            sections += _cut_into_parts(section, body_line + body_start + lead, taken)
        else:
            sections.append(section)
    return _add_definitions(sections, definitions(body))


def _anchor_line(lines: Sequence[str], line: int, heading_starts: set[int]) -> int:
    """The line an HTML anchor on ``line`` stands for: the heading right after it (only blank lines and other
    anchors between), else its own line."""
    for number in range(line, min(len(lines), line + 4)):
        if number in heading_starts:
            return number
        text = lines[number].strip()
        if text and not (number == line or (_HTML_ANCHOR_RE.search(text) and text.startswith("<"))):
            break
        if number == line and not text.startswith("<"):
            break
    return line


def _add_definitions(sections: list[Section], found: list[Definition]) -> tuple[Section, ...]:
    """Each section with the link reference and footnote definitions it uses that are written outside it."""
    if not found:
        return tuple(sections)
    references: dict[str, Definition] = {}
    notes: dict[str, Definition] = {}
    for definition in found:  # the first definition of a label wins, as in markdown-it
        (notes if definition.footnote else references).setdefault(definition.label, definition)
    out = []
    for section in sections:
        source = section.source
        needed: list[Definition] = []
        seen: set[int] = set()
        text = source
        while text:  # a footnote brought in may use a reference of its own
            more: list[Definition] = []
            for label in sorted(labels_used(text)):
                for pool, footnote in ((references, False), (notes, True)):
                    found_here = pool.get(label)
                    if found_here is None or id(found_here) in seen:
                        continue
                    if found_here.text.strip() in source:
                        continue
                    if footnote and not re.search(r"\[\^" + re.escape(label), text, re.IGNORECASE):
                        continue
                    seen.add(id(found_here))
                    more.append(found_here)
            needed += more
            text = "\n".join(d.text for d in more if d.footnote)
        if needed:
            needed.sort(key=lambda d: d.line)
            section = replace(section, raw=with_definitions(source, needed), span=None)
        out.append(section)
    return tuple(out)


MAX_PART_CHARS = 64 * 1024
"""A section larger than this is cut into parts, each shown, searched and laid out on its own.

Rich lays a section out whole, in time that grows faster than its size (a 5 MB paragraph took 6 s), and every
subsection is its own Markdown render (50,000 of them took 18 s): parts keep the first paint and every section
switch short. Parts are cut at subsections, then between top-level blocks, then between the lines of a
paragraph and between the words of a very long line, so only a paragraph too large for one part is divided.
"""
MAX_PART_SUBSECTIONS = 200
"""A section with more subsections than this is cut into parts too."""
MAX_PART_PIECES = 1000
"""Most pieces (list items, paragraph lines...) in one part of a section that is being cut: Rich's time
grows with the number of elements as much as with the text (100,000 list items took 10 s)."""


def _cut_into_parts(section: Section, first_line: int, taken: set[str]) -> list[Section]:
    """``section`` as parts of at most `MAX_PART_CHARS` characters and `MAX_PART_SUBSECTIONS` subsections.

    ``first_line`` is the file line of the section source's first line. The first part keeps the section's id
    and title, so links to it still land; the others are titled "Title (part 2 of 7)".
    """
    lines = section.source.splitlines(keepends=True)
    starts = {sub.line: sub for sub in section.subsections if 0 <= sub.line < len(lines)}
    cuts = sorted({0, *starts, len(lines)})
    # Pieces of source that are never divided further: (text, first line, subsection starting it).
    pieces: list[tuple[str, int, Subsection | None]] = []
    for begin, end in itertools.pairwise(cuts):
        text = "".join(lines[begin:end])
        sub = starts.get(begin)
        if len(text) <= MAX_PART_CHARS:
            pieces.append((text, begin, sub))
            continue
        for n, (block, offset) in enumerate(_blocks_of(text)):
            pieces.append((block, begin + offset, sub if n == 0 else None))

    groups: list[list[tuple[str, int, Subsection | None]]] = [[]]
    size = subs = 0
    for piece in pieces:
        if groups[-1] and (
            size + len(piece[0]) > MAX_PART_CHARS
            or len(groups[-1]) >= MAX_PART_PIECES
            or (piece[2] is not None and subs >= MAX_PART_SUBSECTIONS)
        ):
            groups.append([])
            size = subs = 0
        groups[-1].append(piece)
        size += len(piece[0])
        subs += piece[2] is not None

    parts: list[Section] = []
    total = len(groups)
    for number, group in enumerate(groups, start=1):
        source = ""
        part_subs: list[Subsection] = []
        for text, _, sub in group:
            if sub is not None:
                part_subs.append(replace(sub, line=source.count("\n")))
            source += text if text.endswith("\n") else text + "\n"
        title = section.title if number == 1 else f"{section.title} (part {number} of {total})"
        parts.append(
            Section(
                id=section.id if number == 1 else unique_id(slugify(title), taken),
                title=title,
                raw=source,
                line=section.line if number == 1 else first_line + group[0][1],
                subsections=tuple(part_subs),
                part=number,
                level=section.level,
                aliases=tuple(
                    (name, target)
                    for name, target in section.aliases
                    if (target == "" and number == 1) or target in {sub.id for sub in part_subs}
                ),
            )
        )
    return parts


def _blocks_of(text: str) -> Iterator[tuple[str, int]]:
    """``text`` (too large for one part) as pieces that can be shown apart, with the line each starts at.

    Top-level blocks stay whole, except lists (divided between items), tables (between rows, each piece with
    the header) and paragraphs (between lines, and lines longer than a part between words, or anywhere for a
    line without spaces).
    """
    lines = text.splitlines(keepends=True)
    tokens = block_tokens(text)
    spans = [
        (token.map[0], token.map[1], token.type)
        for token in tokens
        if token.level == 0 and token.nesting >= 0 and token.map
    ]
    at = 0
    for begin, end, kind in [*spans, (len(lines), len(lines), "")]:
        if begin > at:  # blank lines between blocks
            yield "".join(lines[at:begin]), at
        if begin >= len(lines):
            break
        block = "".join(lines[begin:end])
        inside = [t for t in tokens if t.map and begin <= t.map[0] < end]
        if len(block) <= MAX_PART_CHARS:
            yield block, begin
        elif kind in {"bullet_list_open", "ordered_list_open"}:
            # Between items: a part's list starts at its first item's number, as written.
            items = [
                t.map[0] for t in inside if t.type == "list_item_open" and t.level == 1 and t.map
            ]
            for first, after in itertools.pairwise([begin, *items[1:], end]):
                yield "".join(lines[first:after]), first
        elif kind == "table_open":
            # Between rows, each piece a table of its own under the same header.
            rows = [t.map[0] for t in inside if t.type == "tr_open" and t.map][
                1:
            ]  # not the header's
            head = rows[0] if rows else end
            header = "".join(lines[begin:head])  # the header row and the delimiter row
            piece, piece_line, count = "", head, 0
            for first, after in itertools.pairwise([*rows, end] if rows else [head, end]):
                row = "".join(lines[first:after])
                if piece and (
                    len(header) + len(piece) + len(row) > MAX_PART_CHARS or count >= MAX_PART_PIECES
                ):
                    yield header + piece, piece_line
                    piece, piece_line, count = "", first, 0
                piece += row
                count += 1
            if piece:
                yield header + piece, piece_line
        elif kind != "paragraph_open":
            yield block, begin  # code and HTML stay whole
        else:
            for n in range(begin, end):
                line = lines[n]
                while len(line) > MAX_PART_CHARS:
                    cut = line.rfind(" ", MAX_PART_CHARS // 2, MAX_PART_CHARS)
                    cut = cut + 1 if cut > 0 else MAX_PART_CHARS
                    yield line[:cut], n
                    line = line[cut:]
                yield line, n
        at = max(at, end)


MAX_QUOTE_DEPTH = 4
"""Block quotes nested deeper than this are shown at this depth (their text is kept)."""
MAX_LIST_DEPTH = 5
"""Lists nested deeper than this are shown one level deeper at most, as siblings (their text is kept).

markdown-it stops at 20 levels of nesting (a list level takes two, a quote one, a paragraph one) and drops
everything inside, and Rich drops text once the indents take the whole width; with these caps (and at most six
markers on a line of quotes and lists mixed) the indent stays under 20 cells and no text is lost.
"""

_PREFIX_RE = re.compile(r"[ \t]*(?:>[ \t]?|(?:[-+*]|\d{1,9}[.)])(?:[ \t]+|$))")
_FENCE_RE = re.compile(r"[ \t>]*(?:(?:[-+*]|\d{1,9}[.)])[ \t]+)*(`{3,}|~{3,})")
_DEEP_HINT_RE = re.compile(
    r"^(?:[ \t]{16}|(?:[ \t]*(?:>|[-+*][ \t]|\d{1,9}[.)][ \t])){5})", re.MULTILINE
)


def _columns(text: str) -> int:
    return len(text.expandtabs(4))


def cap_nesting(body: str) -> tuple[str, list[int]]:
    """``body`` with lists and quotes nested too deeply to show brought up to `MAX_LIST_DEPTH` and
    `MAX_QUOTE_DEPTH`, and the 0-based lines that changed.

    Only container markers and indentation at the start of a line change, never the text, and no line is added
    or removed, so line numbers stay true. Items deeper than the cap become siblings one level below it; quote
    markers beyond the cap are dropped. Fenced code is left alone. A document without deep indentation or long
    runs of markers is returned untouched after one regular-expression search.
    """
    if not _DEEP_HINT_RE.search(body):
        return body, []
    lines = body.split("\n")
    changed: list[int] = []
    stack: list[int] = []  # content column of each open list item (outside quotes)
    fence = ""
    for number, line in enumerate(lines):
        fence_match = _FENCE_RE.match(line)
        if fence:
            marker = fence_match.group(1) if fence_match else ""
            if marker[:1] == fence[0] and len(marker) >= len(fence):
                fence = ""
            continue
        if fence_match:
            fence = fence_match.group(1)
        if not line.strip(" \t"):
            continue
        tokens: list[tuple[str, bool]] = []  # (text, is a quote marker) of each container marker
        at = 0
        while (match := _PREFIX_RE.match(line, at)) and match.end() > at:
            tokens.append((match.group(), match.group().lstrip(" \t").startswith(">")))
            at = match.end()
        text = line[at:]
        new = line
        if any(quote for _, quote in tokens):
            stack.clear()  # lists inside quotes are counted on their own line only
            quotes = items = 0
            kept: list[str] = []
            for token, quote in tokens:
                quotes += quote
                items += not quote
                room = len(kept) <= MAX_LIST_DEPTH
                if room and (quotes <= MAX_QUOTE_DEPTH if quote else items <= MAX_LIST_DEPTH):
                    kept.append(token)
            new = "".join(kept) + text
        else:
            indent = _columns(line[: len(line) - len(line.lstrip(" \t"))])
            while stack and indent < stack[-1]:
                stack.pop()
            if len(stack) >= MAX_LIST_DEPTH:
                # Inside the item at the cap: whatever is deeper sits right below it, one marker at most.
                first = tokens[0][0].lstrip(" \t") if tokens else ""
                new = (
                    " " * stack[MAX_LIST_DEPTH - 1]
                    + first
                    + (text if tokens else line.lstrip(" \t"))
                )
            else:
                column = 0
                kept_until = 0
                for token, _ in tokens:
                    if len(stack) > MAX_LIST_DEPTH:
                        break
                    column += _columns(token)
                    stack.append(column)
                    kept_until += len(token)
                new = line[:kept_until] + text if tokens else line
        if new != line:
            lines[number] = new
            changed.append(number)
    return "\n".join(lines), changed


def _text_of(value: Any, key: str, line: int) -> str:
    """``value`` of front matter key ``key`` (dotted) as clean text; ``line`` names where it is set."""
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


def _is_yaml_front_matter(lines: Sequence[str]) -> int | None:
    """The closing line of a YAML front matter block opening ``lines``, or None if it is not one.

    A ``---`` first line is also a thematic break, so it counts only when a ``---`` or ``...`` line closes it
    and every line between is a ``key: value`` line, a comment, blank, indented or a ``- item``.
    """
    if not lines or lines[0].rstrip() != YAML_FENCE:
        return None
    for number in range(1, min(len(lines), 2000)):
        line = lines[number]
        if line.rstrip() in (YAML_FENCE, "..."):
            return number if number > 1 else None
        if not line.strip() or line.startswith((" ", "\t", "#", "- ")) or _YAML_KEY_RE.match(line):
            continue
        return None
    return None


_YAML_KEY_RE = re.compile(r"([A-Za-z_][\w .-]*?)[ \t]*:(?:[ \t]+(.*)|[ \t]*)$")
_YAML_NUMBER_RE = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$")


def _yaml_scalar(raw: str, text_key: bool) -> Any:
    """A YAML scalar as written on one line: quoted strings, numbers, dates, booleans, else the text."""
    raw = raw.strip()
    if raw[:1] == '"' and raw.endswith('"') and len(raw) > 1:
        import json

        try:
            return json.loads(raw)
        except ValueError:
            return raw[1:-1]
    if raw[:1] == "'" and raw.endswith("'") and len(raw) > 1:
        return raw[1:-1].replace("''", "'")
    raw = re.sub(r"[ \t]+#.*$", "", raw)
    if text_key:
        return raw  # "title: 1984" means the words, whatever YAML would make of them
    if _YAML_NUMBER_RE.match(raw):
        return float(raw) if any(c in raw for c in ".eE") else int(raw)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            return raw
    if raw.lower() in ("true", "false", "yes", "no"):
        return raw.lower() in ("true", "yes")
    return raw


_TEXT_KEYS = frozenset(
    {"title", "summary", "disclaimer", "name", "address", "phone", "email", "url"}
)


def _read_yaml(lines: Sequence[str]) -> tuple[dict[str, Any], dict[str, int]]:
    """The subset of YAML front matter kreader reads: top-level ``key: value`` lines, block scalars (``|``,
    ``>``), one nested mapping (``contact:``) and lists; and the line (1-based, in the file) of each key."""
    data: dict[str, Any] = {}
    where: dict[str, int] = {}
    number = 1
    end = len(lines)

    def block(start: int) -> tuple[list[str], int]:
        body: list[str] = []
        at = start
        while at < end and (not lines[at].strip() or lines[at].startswith((" ", "\t"))):
            body.append(lines[at])
            at += 1
        while body and not body[-1].strip():
            body.pop()
        return body, at

    while number < end:
        line = lines[number]
        match = _YAML_KEY_RE.match(line)
        if match is None or line.startswith((" ", "\t", "#")):
            number += 1
            continue
        key, value = match.group(1).strip(), (match.group(2) or "").strip()
        where.setdefault(key, number + 1)
        text_key = key in _TEXT_KEYS
        if value[:1] in ("|", ">"):
            body, number = block(number + 1)
            indent = min((len(x) - len(x.lstrip()) for x in body if x.strip()), default=0)
            texts = [x[indent:] for x in body]
            data[key] = "\n".join(texts) if value[0] == "|" else " ".join(" ".join(texts).split())
            continue
        if value:
            data[key] = _yaml_scalar(value, text_key)
            number += 1
            continue
        body, after = block(number + 1)
        items = [x.strip() for x in body if x.strip() and not x.strip().startswith("#")]
        if items and all(item.startswith("- ") or item == "-" for item in items):
            data[key] = [_yaml_scalar(item[1:], True) for item in items]
        elif items:
            table: dict[str, Any] = {}
            for offset, x in enumerate(body):
                inner = _YAML_KEY_RE.match(x.strip())
                if inner and (inner.group(2) or "").strip():
                    name = inner.group(1).strip()
                    table[name] = _yaml_scalar(inner.group(2), name in _TEXT_KEYS)
                    where.setdefault(name, number + 2 + offset)
            data[key] = table
        else:
            data[key] = None
        number = after
    return data, where


def parse_front_matter(
    text: str, path: Path, problems: list[ContentError] | None = None
) -> tuple[FrontMatter, str, int]:
    """Split off and validate the front matter (TOML between ``+++`` lines, or YAML between ``---`` lines):
    (front matter, body, body's first line number).

    Raises `_FrontMatterError` with the file line of the first problem; with ``problems`` it adds every problem
    there instead and returns what could be read (a key of the wrong type is left out).
    """
    lines = text.split("\n")
    yaml_close = _is_yaml_front_matter(lines)
    if yaml_close is not None:
        data, where = _read_yaml(lines[:yaml_close])
        meta = _front_matter_meta(
            data, lambda key: where.get(key) or where.get(key.rpartition(".")[2], 1), path, problems
        )
        return meta, "\n".join(lines[yaml_close + 1 :]), yaml_close + 2
    if not lines or lines[0].strip() != FRONT_MATTER_FENCE:
        return FrontMatter(), text, 1
    try:
        close = next(i for i in range(1, len(lines)) if lines[i].strip() == FRONT_MATTER_FENCE)
    except StopIteration:
        error = _FrontMatterError(1, "front matter opened with '+++' is never closed")
        if problems is None:
            raise error from None
        problems.append(ContentError(path, error.line, error.reason))
        return FrontMatter(), text, 1
    raw = "\n".join(lines[1:close])
    body = "\n".join(lines[close + 1 :])
    try:
        data = _read_toml(raw, close)
    except _FrontMatterError as error:
        if problems is None:
            raise
        problems.append(ContentError(path, error.line, error.reason))
        return FrontMatter(), body, close + 2

    def line_of(key: str) -> int:
        return key_line(raw, tuple(key.split(".")), first_line=2) or 1

    return _front_matter_meta(data, line_of, path, problems), body, close + 2


def _read_toml(raw: str, close: int) -> dict[str, Any]:
    deep = toml_too_deep(raw)
    if deep is not None:
        raise _FrontMatterError(
            deep + 1, f"front matter nests arrays or tables more than {MAX_TOML_DEPTH} levels deep"
        )
    try:
        return tomllib.loads(raw)
    except RecursionError:
        raise _FrontMatterError(2, "front matter nests arrays or tables too deeply") from None
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        # tomllib names the line, except for errors "at end of document": the last line before the fence.
        line = int(match.group(1)) + 1 if match else close
        message = (
            re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", str(exc))
            or "invalid TOML"
        )
        raise _FrontMatterError(line, f"malformed front matter: {message}") from None


def _front_matter_meta(
    data: dict[str, Any],
    line_of: Callable[[str], int],
    path: Path,
    problems: list[ContentError] | None,
) -> FrontMatter:
    """The known keys of front matter ``data``, validated (see `parse_front_matter` for ``problems``)."""
    meta: dict[str, Any] = {}

    def attempt(read: Callable[[], None]) -> None:
        try:
            read()
        except _FrontMatterError as error:
            if problems is None:
                raise
            problems.append(ContentError(path, error.line, error.reason))

    for key in ("title", "summary", "disclaimer"):
        if key in data:

            def read_text(key: str = key) -> None:
                meta[key] = _text_of(data[key], key, line_of(key))

            attempt(read_text)

    def read_order() -> None:
        order = data["order"]
        if isinstance(order, bool) or not isinstance(order, int | float):
            raise _FrontMatterError(line_of("order"), "front matter key 'order' must be a number")
        meta["order"] = float(order)

    def read_reviewed() -> None:
        reviewed = data["reviewed"]
        if isinstance(reviewed, dt.datetime):
            reviewed = reviewed.date()
        if not isinstance(reviewed, dt.date):
            raise _FrontMatterError(
                line_of("reviewed"), "front matter key 'reviewed' must be a date (2024-05-01)"
            )
        meta["reviewed"] = reviewed

    if "order" in data:
        attempt(read_order)
    if "reviewed" in data:
        attempt(read_reviewed)
    unknown = sorted(set(data) - KNOWN_FRONT_MATTER)
    if "contact" in data:
        contact = data["contact"]
        if not isinstance(contact, dict):

            def bad_contact() -> None:
                raise _FrontMatterError(
                    line_of("contact"), "front matter key 'contact' must be a table ([contact])"
                )

            attempt(bad_contact)
        else:
            values: dict[str, str] = {}
            for key in sorted(KNOWN_CONTACT & set(contact)):

                def read_contact(key: str = key) -> None:
                    dotted = f"contact.{key}"
                    values[key] = _text_of(contact[key], dotted, line_of(dotted))

                attempt(read_contact)
            unknown += [f"contact.{key}" for key in sorted(set(contact) - KNOWN_CONTACT)]
            meta["contact"] = Contact(**values)
    meta["unknown_keys"] = tuple(unknown)
    return FrontMatter(**meta)


def outside_library(path: Path, root: Path) -> str | None:
    """Why ``path`` (a file listed in the library folder ``root``) must not be read, if it is a symlink that
    leads out of that folder; None otherwise. Symlinks between files of the folder keep working."""
    if not path.is_symlink():
        return None
    try:
        target = path.resolve(strict=True)
        folder = root.resolve(strict=True)
    except (OSError, RuntimeError):
        return None  # a dangling link or a loop: reading it says so

    if target.is_relative_to(folder):
        return None
    return "symbolic link to a file outside the library folder; skipped"


def read_source(path: Path, root: Path | None = None) -> str | ContentError:
    """The text of one content file (BOM removed), or why it cannot be used.

    Only regular files are read (a FIFO or ``/dev/zero`` is refused, never waited on), never more than
    `MAX_FILE_BYTES`, and with ``root`` (the library folder) not through a symlink that leaves it.
    """
    if root is not None:
        problem = outside_library(path, root)
        if problem:
            return ContentError(path, 1, problem)
    try:
        data = read_regular(path, MAX_FILE_BYTES)
    except SourceError as exc:
        reason = str(exc)
        return ContentError(
            path, 1, reason if "too large" in reason else f"cannot read file: {reason}"
        )
    except OSError as exc:
        return ContentError(path, 1, f"cannot read file: {exc.strerror or exc}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return ContentError(
            path, line, f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        )


def read_article(
    path: Path, article_id: str | None = None, root: Path | None = None
) -> Article | ContentError:
    """Read one file into an `Article`, or say why it cannot be used (see `read_source`)."""
    text = read_source(path, root)
    if isinstance(text, ContentError):
        return text
    try:
        return parse_article(text, path, article_id)
    except RecursionError:  # the known deep structures are checked first; this is the safety net
        return ContentError(path, 1, "the file nests its structure too deeply to be read")


def parse_article(
    text: str,
    path: Path,
    article_id: str | None = None,
    problems: list[ContentError] | None = None,
) -> Article | ContentError:
    """Make an `Article` from a file's text, or a `ContentError` if its front matter is broken.

    With ``problems`` (``kreader check``) a broken front matter is added there and the article is still made,
    from the keys that could be read, so the rest of the file can be checked in the same pass.
    """
    text = clean(text)
    try:
        meta, body, body_line = parse_front_matter(text, path, problems)
    except _FrontMatterError as exc:
        return ContentError(path, exc.line, exc.reason)
    body, flattened = cap_nesting(body)
    title = (
        meta.title
        or _first_title(body)
        # A file name can hold anything but "/": escape sequences included.
        or clean_line(path.stem.replace("-", " ").replace("_", " ")).strip()
        or clean_line(path.name).strip()
        or "Untitled"
    )
    return Article(
        article_id or path.stem,
        path,
        body,
        body_line,
        meta,
        title,
        tuple(body_line + line for line in flattened),
    )


_H1_CANDIDATE_RE = re.compile(r"^ {0,3}(?:#(?:[ \t]|$)|=+[ \t]*$)", re.MULTILINE)


def _first_title(body: str) -> str:
    """Text of the heading that titles the article (see `title_heading`), if any.

    Only the text up to the first ``## `` candidate line is parsed; the rest is parsed (or scanned) only when
    a line there could be another ``#`` heading, so a huge file with a title costs little here.
    """
    cut = re.search(r"^ {0,3}##(?:\s|$)", body, re.MULTILINE)
    head = body[: cut.start()] if cut else body[:200_000]
    title = ""
    after = 0  # line after the title heading
    for i, token in enumerate(tokens := block_tokens(head)):
        if token.type == "heading_open" and token.level == 0:
            if token.tag == "h1":
                if title:
                    return ""  # several "#" headings: each is a section
                title = inline_text(tokens[i + 1].content) or OPENING_TITLE
                after = token.map[1] if token.map else 0
            elif token.tag == "h2":
                break
    rest = sum(map(len, head.splitlines(keepends=True)[:after])) if title else 0
    if not title or not _H1_CANDIDATE_RE.search(body, rest):
        return title if title != OPENING_TITLE else ""
    headings = scan_headings(body)
    if headings is None:
        headings = parsed_headings(body)
    found = title_heading(headings)
    return found[3] if found is not None else ""


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


class LibraryError(UserError):
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
        result = read_article(path, unique_id(valid_text(path.stem), taken), root)
        (errors if isinstance(result, ContentError) else articles).append(result)  # type: ignore[arg-type]
    if not articles:
        detail = (
            f" ({len(errors)} file(s) skipped: {'; '.join(map(str, errors))})" if errors else ""
        )
        raise LibraryError(f"{root}: no readable article (*.md) in this folder{detail}")
    articles.sort(key=_reading_order)
    return Library(root, tuple(articles), tuple(errors))


def keep_last_good(new: Library, old: Library) -> Library:
    """``new``, with the articles of ``old`` whose files can no longer be used put back.

    A kiosk reloads its content while it runs: an edit that breaks a file (bad TOML, a FIFO swapped in) keeps
    the article as it was last shown instead of removing it. The errors stay in the result, for the log.
    """
    broken = {error.path for error in new.errors}
    present = {article.id for article in new.articles}
    kept = [a for a in old.articles if a.path in broken and a.id not in present]
    if not kept:
        return new
    articles = sorted([*new.articles, *kept], key=_reading_order)
    return Library(new.root, tuple(articles), new.errors)


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
