"""Full-text search over a library, on SQLite FTS5; this module turns Markdown into the text to index
and finds each match's place in a section's text, and leaves indexing, ranking and marking to FTS5.

One FTS5 row holds one section's opening text or one of its ``###`` subsections, in four columns:
``context`` (the article's title, and for a subsection the section's title: words that count toward a
match without placing it), ``heading`` (the section's title, or the subsection's), ``body`` (the
text, without the heading, so a snippet never repeats it) and ``kind`` (``opening`` on an article's
first row). The tokenizer is ``unicode61 remove_diacritics 2``, so case and accents are ignored
(médico = medico = MÉDICO); there are prefix indexes of one to three characters.

Queries: every word must match (AND, in any order), each as a prefix (``keta`` finds ``ketamine``);
``"quoted words"`` are a phrase. What a person types never reaches FTS5 syntax: the query is cut into
words by `words_of` and each is quoted here, so quotes, ``*``, ``NEAR``, ``OR``, column filters,
parentheses and SQL are plain text. Ranking: rows matching in a heading (or an article's title, on
its first row) first, then rows holding every word whole, then ``bm25`` with heavier headings.

The index lives in a cache file per library folder (`SearchIndex.open`), re-indexing only the files
whose content changed; a damaged cache file (not a database, or of the wrong shape) is deleted and
made again, with one line in ``messages``; one that cannot be used (locked, unwritable, from a newer
kreader) gives an index in memory and one line in ``messages``. `SearchIndex.build` keeps it in
memory only (the kiosk: nothing is written). Several processes may share one cache file (WAL,
busy timeout, every update inside ``BEGIN IMMEDIATE``).

Making the text to index is Python, one core at a time: a large first build is shared with helper
processes (`kreader.indexer`, see `_Helpers`), each writing its files' rows into the same cache file.
The reader hands them the whole of it, so its own process stays free for the person reading and its
memory stays flat; ``kreader search`` makes part itself. Ties in ranking fall in reading order, so
the answers are the same whoever wrote which rows.

This module never imports Textual.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
import unicodedata
import zlib
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from kreader.dbfile import immediate, use_wal
from kreader.safetext import valid_text

if TYPE_CHECKING:  # not imported at run time: `kreader search` answers from the cache without them
    from kreader.content import Article, Library, Section

MAX_QUERY_CHARS = 8192
"""Longer queries are cut here before anything else is done with them."""
MAX_TERMS = 32
"""Words and phrases of a query beyond this many are ignored."""
MAX_WORD_CHARS = 200
"""Query words are cut to this length."""
MAX_PHRASE_WORDS = 32
"""Words of one phrase beyond this many are ignored."""
MAX_OCCURRENCES = 10_000
"""`SearchIndex.occurrences` gives at most this many matches."""
SNIPPET_WIDTH = 90
"""Characters of section text in a snippet (more when the match itself is longer)."""
SNIPPET_LEAD = 30
"""Characters of the snippet taken from before the match."""
ELLIPSIS = "…"
SCHEMA_VERSION = 1
"""``PRAGMA user_version`` of a cache file this kreader writes; an older file is rebuilt."""
BUSY_TIMEOUT_MS = 5000
"""How long an update waits for another kreader process to finish its own."""
HELPER_MIN_CHARS = 2_000_000
"""Changed text (characters) from which a helper process indexes part of it on another core: below
that, starting one (about 60 ms) gains less than it costs."""
HELPER_SHARE = 0.45
"""The part of the changed text the helper takes (a little under half: it starts later)."""
READER_HELPER_MIN_CHARS = 200_000
"""Changed text from which the reader hands its index build to helper processes."""
MOST_HELPERS = 4
"""Helper processes at most, however many cores."""
HASH_BYTES = 8 * 1024 * 1024
"""FTS5's buffer of terms before it writes a segment, in a helper (its default is 1 MiB)."""
HELPER_TIMEOUT = 120.0
"""Seconds the reader waits for a helper before doing its part itself."""
WEIGHTS = (1.0, 10.0, 1.0, 0.0)
"""``bm25`` weights of the columns context, heading, body, kind."""

Where = Literal["title", "heading", "body"]

START, END = "\x02", "\x03"
"""Markers FTS5's ``highlight()`` puts around matches. Content never holds them: control characters
are stripped when files are read, and `_clean` drops these two again before indexing."""
_MARKERS = str.maketrans({START: " ", END: " "})

# A word: letters and digits (not "_"), keeping the combining marks of decomposed (NFD) text inside it.
_MARKS = r"\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
_WORD_RE = re.compile(rf"[^\W_]+(?:[{_MARKS}]+[^\W_]*)*")
_SPACE_RE = re.compile(r"\s+")
_NON_ASCII_RE = re.compile(r"[^\x00-\x7f]")
_ODD_SPACE_RE = re.compile(r"[^\S ]|  ")  # whitespace but a single plain space
_FOLD_CHUNK = 256
"""Characters per chunk whose folded offset is remembered, for non-ASCII sections."""
_RECENT_OCCURRENCES = 4
"""Answers of `SearchIndex.occurrences` remembered."""
_MOST_SPANS = 200
"""Matches of a row's body a search result looks at (the best is nearly always among them)."""
_SECTION_CACHE = 32
"""Section texts remembered (a reader asks for the same few again and again)."""


def fold(text: str) -> str:
    """Case- and accent-insensitive form of ``text``: NFKD, combining marks dropped, casefolded.

    Each character folds on its own, so ``fold(a + b) == fold(a) + fold(b)``: a viewer can fold the
    lines it shows and find the matches there.
    """
    if text.isascii():
        return text.lower()
    text = _NON_ASCII_RE.sub(_drop_mark, unicodedata.normalize("NFKD", text)).casefold()
    if not text.isascii():  # casefolding can make new combining marks ("İ" -> "i̇")
        text = _NON_ASCII_RE.sub(_drop_mark, unicodedata.normalize("NFKD", text))
    return text


def _drop_mark(match: re.Match[str]) -> str:
    """Nothing for a combining mark, else the character (called only for non-ASCII characters)."""
    char = match.group()
    return "" if unicodedata.combining(char) else char


def words_of(text: str) -> list[tuple[int, int, str]]:
    """(start, end, folded word) of each word of ``text``: how a query is cut into words."""
    return [(m.start(), m.end(), fold(m.group())[:MAX_WORD_CHARS]) for m in _WORD_RE.finditer(text)]


# --- queries ------------------------------------------------------------------------------------


class Query:
    """A parsed query: folded words, each matched as a prefix, and phrases of consecutive words
    (the last word of a phrase a prefix, so a phrase being typed matches already). Two queries
    are equal when their folded words are."""

    __slots__ = ("phrases", "terms", "typed")

    def __init__(
        self,
        terms: tuple[str, ...] = (),
        phrases: tuple[tuple[str, ...], ...] = (),
        typed: tuple[tuple[str, ...], ...] = (),
    ) -> None:
        self.terms = terms
        self.phrases = phrases
        self.typed = typed
        """The words of `atoms` as typed: FTS5 folds them itself, the way it folded the text (it
        leaves "ß" alone, where `fold` makes "ss")."""

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Query):
            return NotImplemented
        return (self.terms, self.phrases) == (other.terms, other.phrases)

    def __hash__(self) -> int:
        return hash((self.terms, self.phrases))

    def __repr__(self) -> str:
        return f"Query(terms={self.terms!r}, phrases={self.phrases!r})"

    def __bool__(self) -> bool:
        return bool(self.terms or self.phrases)

    @property
    def atoms(self) -> tuple[tuple[str, ...], ...]:
        """Every term (as a one-word tuple) and phrase: a match needs each of them."""
        return tuple((term,) for term in self.terms) + self.phrases


def parse_query(query: str) -> Query:
    """Split what a person typed into terms and phrases; never fails, whatever the text.

    ``"..."`` makes a phrase (an unclosed quote runs to the end). Outside quotes, a chunk without
    spaces holding several words (``NMDA-receptor``, ``don't``, ``2.5``) is a phrase too, as the
    tokenizer cuts the text that way. Everything but letters and digits is a separator. Sizes are
    capped by `MAX_QUERY_CHARS`, `MAX_TERMS`, `MAX_WORD_CHARS` and `MAX_PHRASE_WORDS`.
    """
    terms: list[tuple[str, str]] = []
    phrases: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
    seen: set[tuple[str, ...]] = set()

    def add(text: str) -> None:
        found = _WORD_RE.findall(text)[:MAX_PHRASE_WORDS]
        raw = tuple(word[:MAX_WORD_CHARS] for word in found)
        atom = tuple(fold(word)[:MAX_WORD_CHARS] for word in raw)
        if not atom or atom in seen or len(seen) >= MAX_TERMS:
            return
        seen.add(atom)
        if len(atom) == 1:
            terms.append((atom[0], raw[0]))
        else:
            phrases.append((atom, raw))

    for index, part in enumerate(query[:MAX_QUERY_CHARS].split('"')):
        if index % 2:  # inside quotes
            add(part)
        else:
            for chunk in part.split():
                add(chunk)
    typed = tuple((raw,) for _, raw in terms) + tuple(raw for _, raw in phrases)
    return Query(tuple(t for t, _ in terms), tuple(p for p, _ in phrases), typed)


def _quoted(words: Sequence[str]) -> str:
    """An FTS5 string for ``words`` (they hold only letters and digits; quotes doubled anyway)."""
    return '"' + " ".join(words).replace('"', '""') + '"'


class _Match(NamedTuple):
    """The FTS5 expressions for one query."""

    full: str
    """Every atom somewhere in the row (as a word or a prefix), and one in the row's own text (or
    the row is its article's first and the article's title holds one)."""
    head: str
    """An atom in the row's heading, or in its article's title on its first row."""
    exact: str
    """Every atom as whole words somewhere in the row."""


def _expressions(query: Query) -> _Match:
    atoms = [_quoted(words) for words in query.typed or query.atoms]
    prefixes = [atom + "*" for atom in atoms]  # a prefix takes in the whole word too
    any_atom = " OR ".join(prefixes)
    own = f'{{heading body}}: ({any_atom}) OR ({{context}}: ({any_atom}) AND {{kind}}: "opening")'
    if len(atoms) == 1:
        full = own
    else:
        full = f"{{context heading body}}: ({' AND '.join(prefixes)}) AND ({own})"
    head = f'{{heading}}: ({any_atom}) OR ({{context}}: ({any_atom}) AND {{kind}}: "opening")'
    exact = "{context heading body}: (" + " AND ".join(atoms) + ")"
    return _Match(full, head, exact)


# --- results ------------------------------------------------------------------------------------


class Hit(NamedTuple):
    """One match: its section, a snippet to show, and what a viewer needs to find it in the text."""

    article_id: str
    article_title: str
    section_id: str
    section_title: str
    score: float
    """Higher is better; compare only hits of one query. Always 0.0 from `SearchIndex.occurrences`."""
    snippet: str
    """Plain text under the heading, on one line, with `ELLIPSIS` where it was cut."""
    highlights: tuple[tuple[int, int], ...]
    """(start, end) spans of ``snippet`` that match the query."""
    where: Where
    """Where the match is: ``title`` (the section's title, or only the article's title matched),
    ``heading`` (a subsection's or a smaller heading) or ``body``."""
    anchor: str
    """Id of the ``###`` subsection the match is in, ``""`` if none."""
    term: str
    """The matched text exactly as in `SearchIndex.section_text` (a whole phrase for a phrase). When
    only the article's title matched (``occurrence`` -1), the matched text of that title."""
    occurrence: int
    """How many non-overlapping occurrences of ``fold(term)`` come before this match in
    ``fold(section_text)``, searching from its start (0: it is the first). The section title is the
    first line of that text, as the reader shows it. -1 when only the article's title matched."""
    fraction: float
    """The match's character offset divided by the length of the section text (0.0: in the title
    line, or only the article's title matched)."""
    title_highlights: tuple[tuple[int, int], ...] = ()
    """(start, end) spans of ``section_title`` that match the query."""
    subsection_title: str = ""
    """Title of the ``###`` subsection the match is in (``anchor``), ``""`` if none."""
    subsection_highlights: tuple[tuple[int, int], ...] = ()
    """(start, end) spans of ``subsection_title`` that match the query."""

    @property
    def path(self) -> str:
        """Section and subsection titles: where the match is, as a reader would say it."""
        if self.subsection_title:
            return f"{self.section_title} › {self.subsection_title}"
        return self.section_title


# --- Markdown to plain text ---------------------------------------------------------------------

_BLOCK_CHARS = frozenset("`~#-*_=")
_PREFIX_CHARS = frozenset(" \t>-+*0123456789")
_FENCE_RE: re.Pattern[str]
_ATX_RE: re.Pattern[str]
_ATX_CLOSE_RE: re.Pattern[str]
_RULE_RE: re.Pattern[str]
_TABLE_RULE_RE: re.Pattern[str]
_CELL_RE: re.Pattern[str]
_REFERENCE_RE: re.Pattern[str]
_LINE_PREFIX_RE: re.Pattern[str]
_ITEM_RE: re.Pattern[str]
_compiled = False
_inline_text: Callable[[str, dict[str, Any] | None, bool], str]


def _compile_patterns() -> None:
    """Compile the patterns that read Markdown, on first use: not at import, as ``kreader search``
    answering from its cache never reads Markdown (compiling them takes longer than its query)."""
    global \
        _compiled, \
        _FENCE_RE, \
        _ATX_RE, \
        _ATX_CLOSE_RE, \
        _RULE_RE, \
        _TABLE_RULE_RE, \
        _CELL_RE, \
        _REFERENCE_RE, \
        _LINE_PREFIX_RE, \
        _ITEM_RE, \
        _inline_text
    if _compiled:
        return
    _FENCE_RE = re.compile(r" {0,3}(`{3,}|~{3,})")
    _ATX_RE = re.compile(r" {0,3}(#{1,6})(?:[ \t]+|$)")
    _ATX_CLOSE_RE = re.compile(r"(?:^|[ \t]+)#+[ \t]*$")
    _RULE_RE = re.compile(r" {0,3}(?:(?:-[ \t]*){3,}|(?:\*[ \t]*){3,}|(?:_[ \t]*){3,}|=+[ \t]*)$")
    _TABLE_RULE_RE = re.compile(r" {0,3}\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$")
    _CELL_RE = re.compile(r"(?<!\\)\|")
    _REFERENCE_RE = re.compile(r" {0,3}\[[^\]^][^\]]*\]:[ \t]*\S+")
    _LINE_PREFIX_RE = re.compile(r"[ \t]*(?:>[ \t]?)*[ \t]*(?:[-+*][ \t]+|\d{1,9}[.)][ \t]+)?")
    _ITEM_RE = re.compile(r"[ \t]*(?:>[ \t]?)*[ \t]*(?:[-+*]|\d{1,9}[.)])(?:[ \t]+|$)")
    from kreader.mdtext import inline_text

    _inline_text = inline_text
    _compiled = True


def _clean(text: str) -> str:
    """``text`` without the two highlight markers (see `START`)."""
    return text.translate(_MARKERS) if START in text or END in text else text


def _inline(text: str, references: dict[str, Any] | None = None) -> str:
    """What inline Markdown shows: text, code, link text and image descriptions; no markup, no URLs
    (`kreader.mdtext.inline_text`, whose quick path keeps indexing a library of megabytes fast)."""
    return _inline_text(text, references, False)


class Chunk(NamedTuple):
    """The text of one section's opening part, or of one of its ``###`` subsections."""

    anchor: str
    """Subsection id; ``""`` for the section's opening part."""
    heading: str
    """The section's title for the opening part, else the subsection's title."""
    body: str
    """The text under the heading: one block (paragraph, list item, table row, code block,
    smaller heading) per line."""
    headings: tuple[tuple[int, int], ...] = ()
    """(start, end) spans of ``body`` that are headings (``####`` and smaller)."""


def section_chunks(section: Section) -> list[Chunk]:
    """The text to index of a section, cut at its ``###`` subsections; the first chunk is always
    there (its heading is the section's title).

    A line-based reading of Markdown, not a full parse: fenced code keeps its code (not the fence or
    its info string), link targets and reference definitions are dropped, and markup characters of
    headings, lists, quotes, tables and emphasis go.
    """
    _compile_patterns()
    source = section.source  # a copy cut out of the article's text: once
    lines = source.split("\n")
    references = None
    if "]:" in source:
        from kreader.mdtext import references_of

        references = references_of(line for line in lines if _REFERENCE_RE.match(line)) or None
    subs = [sub for sub in section.subsections if 0 <= sub.line < len(lines)]
    bounds = [0, *(sub.line for sub in subs), len(lines)]
    chunks = []
    for index in range(len(subs) + 1):
        start = bounds[index] + (1 if index else 0)  # a subsection's first line is its heading
        body, headings = _text_of_lines(lines[start : bounds[index + 1]], references)
        if index:
            sub = subs[index - 1]
            chunks.append(Chunk(sub.id, _clean(sub.title), body, headings))
        else:
            chunks.append(Chunk("", _clean(_SPACE_RE.sub(" ", section.title)), body, headings))
    return chunks


def _text_of_lines(
    lines: Sequence[str], references: dict[str, Any] | None = None
) -> tuple[str, tuple[tuple[int, int], ...]]:
    """The text of a run of Markdown lines, one block per line, and where its headings are."""
    blocks: list[str] = []
    headings: list[tuple[int, int]] = []
    paragraph: list[str] = []
    fence = ""
    code: list[str] = []
    offset = 0
    table = False

    def add(text: str, heading: bool = False) -> None:
        nonlocal offset
        text = _clean(text)
        if heading:
            headings.append((offset, offset + len(text)))
        blocks.append(text)
        offset += len(text) + 1

    def cells(row: str) -> None:
        row = row.strip()
        row = row[1:] if row.startswith("|") else row
        row = row[:-1] if row.endswith("|") and not row.endswith("\\|") else row
        for cell in _CELL_RE.split(row):
            text = " ".join(_inline(cell.replace("\\|", "|"), references).split())
            if text:
                add(text)

    def flush() -> None:
        if paragraph:
            text = _inline(" ".join(paragraph), references)
            paragraph.clear()
            text = " ".join(text.split())
            if text:
                add(text)

    for line in lines:
        if fence:
            if line.lstrip(" ").startswith(fence) and not line.strip().strip(fence[0]):
                fence = ""
                text = "\n".join(code).rstrip()
                code.clear()
                if text:
                    add(text)
            else:
                code.append(line)
            continue
        stripped = line.strip()
        if not stripped:
            flush()
            table = False
            continue
        first = stripped[0]
        if first in _BLOCK_CHARS:
            opened = _FENCE_RE.match(line) if first in "`~" else None
            if opened:
                flush()
                fence = opened.group(1)
                continue
            atx = _ATX_RE.match(line) if first == "#" else None
            if atx:
                flush()
                text = _ATX_CLOSE_RE.sub("", line[atx.end() :]).strip()
                text = " ".join(_inline(text, references).split())
                if text:
                    add(text, heading=True)
                continue
            if first in "-*_=" and _RULE_RE.match(line):
                if paragraph and first in "=-":  # a setext heading: the paragraph was its text
                    text = " ".join(_inline(" ".join(paragraph), references).split())
                    paragraph.clear()
                    if text:
                        add(text, heading=True)
                else:
                    flush()
                continue
        if table:
            if "|" in line:
                cells(stripped)
                continue
            table = False
        elif (
            "|" in line
            and len(paragraph) == 1
            and "|" in paragraph[0]
            and _TABLE_RULE_RE.match(line)
        ):  # the header row was the line before
            cells(paragraph.pop().strip())
            table = True
            continue
        if first == "[" and not paragraph and _REFERENCE_RE.match(line):
            continue
        if line[0] in _PREFIX_CHARS:
            if _ITEM_RE.match(line):
                flush()
            line = line[_LINE_PREFIX_RE.match(line).end() :]  # type: ignore[union-attr]
        paragraph.append(line)
    if fence and code:
        text = "\n".join(code).rstrip()
        if text:
            add(text)
    flush()
    return "\n".join(blocks), tuple(headings)


def _section_text(
    title: str, chunks: Iterable[tuple[str, str]]
) -> tuple[str, list[int], list[int]]:
    """A section's text from its chunks' (heading, body): the title line, then each subsection's
    title and each chunk's body; and where each chunk's heading and body start in it."""
    pieces = [title]
    at = len(title)
    heading_at: list[int] = []
    body_at: list[int] = []
    for number, (heading, body) in enumerate(chunks):
        if number:
            pieces.append("\n" + heading)
            heading_at.append(at + 1)
            at += 1 + len(heading)
        else:
            heading_at.append(0)
        if body:
            pieces.append("\n" + body)
            body_at.append(at + 1)
            at += 1 + len(body)
        else:
            body_at.append(at)
    return "".join(pieces), heading_at, body_at


# --- the index ----------------------------------------------------------------------------------

_SCHEMA = """
CREATE TABLE files (
    name TEXT PRIMARY KEY,
    article_id TEXT NOT NULL,
    title TEXT NOT NULL,
    position INTEGER NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    hash TEXT NOT NULL
);
CREATE TABLE chunks (
    id INTEGER PRIMARY KEY,
    file TEXT NOT NULL,
    article_id TEXT NOT NULL,
    section_no INTEGER NOT NULL,
    section_id TEXT NOT NULL,
    section_title TEXT NOT NULL,
    chunk_no INTEGER NOT NULL,
    anchor TEXT NOT NULL,
    headings TEXT NOT NULL
);
CREATE INDEX chunks_file ON chunks (file);
CREATE INDEX chunks_section ON chunks (article_id, section_id, chunk_no);
CREATE VIRTUAL TABLE fts USING fts5(
    context, heading, body, kind,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '1 2 3'
);
"""


def default_cache_dir() -> Path:
    """Where index caches live: ``$KREADER_CACHE_DIR``, else the platform's user cache folder
    (``~/.cache/kreader`` on Linux)."""
    env = os.environ.get("KREADER_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    import platformdirs  # only here: callers that pass a folder never pay for it

    return platformdirs.user_cache_path("kreader")


def cache_path(root: Path, cache_dir: Path | None = None) -> Path:
    """The cache file of the library in folder ``root``: named by a 64-bit hash of its resolved
    path (zlib's: importing hashlib's OpenSSL costs ``kreader search`` more than its query)."""
    folder = cache_dir if cache_dir is not None else default_cache_dir()
    key = str(Path(root).resolve()).encode("utf-8", "surrogatepass")
    return folder / f"search-{zlib.crc32(key):08x}{zlib.adler32(key):08x}.sqlite3"


def _content_hash(article: Article) -> str:
    """What decides an article's rows: its id, title and text."""
    import hashlib  # only here: see `cache_path`

    digest = hashlib.blake2b(digest_size=16)
    for part in (article.id, article.title, article.body):
        # A slice at a time: encoding a megabyte article whole would add a megabyte to the peak.
        for start in range(0, len(part), _HASH_SLICE):
            digest.update(part[start : start + _HASH_SLICE].encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return digest.hexdigest()


_HASH_SLICE = 32_768


STAT_TRUST_NS = 10 * 1_000_000_000
"""A file modified less than this before it is indexed may have changed after the library read
it: its size and time are not recorded (so the next start compares its content again)."""


class _File(NamedTuple):
    name: str
    article: Article
    position: int
    size: int
    mtime_ns: int
    hash: str


def _stat(path: Path, now_ns: int) -> tuple[int, int]:
    """(size, mtime_ns) to record for a file; (-1, -1) when unknown or too recent to trust."""
    try:
        stat = path.stat()
    except OSError:
        return -1, -1
    if stat.st_mtime_ns > now_ns - STAT_TRUST_NS:
        return -1, -1
    return stat.st_size, stat.st_mtime_ns


def _files_of(library: Library) -> list[_File]:
    now = time.time_ns()
    return [file_entry(article, n, now) for n, article in enumerate(library.articles)]


def file_entry(article: Article, position: int, now_ns: int | None = None) -> _File:
    """What the cache records of an article's file: name, place in reading order, size and time,
    and the hash of what decides its rows."""
    now = time.time_ns() if now_ns is None else now_ns
    return _File(
        valid_text(article.path.name),
        article,
        position,
        *_stat(article.path, now),
        _content_hash(article),
    )


def _markdown_files(root: Path) -> dict[str, str]:
    """Name -> path of the files a library is read from (as `kreader.content.library_files`
    lists them)."""
    with os.scandir(root) as entries:
        return {
            valid_text(entry.name): entry.path
            for entry in entries
            if entry.name.lower().endswith(".md") and not entry.name.startswith(".")
        }


_Row = tuple[str, str, int, str, str, int, str, str, str, str, str, str]
"""What one chunk's row needs: file, article id, section number, section id and title, chunk
number, anchor, headings; then the FTS columns context, heading, body, kind."""


def _rows_of(file: _File) -> list[_Row]:
    article = file.article
    rows: list[_Row] = []
    for section_no, section in enumerate(article.sections):
        for chunk_no, chunk in enumerate(section_chunks(section)):
            context = article.title if not chunk_no else f"{article.title} › {section.title}"
            kind = "opening" if not rows else ""
            spans = ",".join(f"{a}:{b}" for a, b in chunk.headings)
            rows.append(
                (
                    file.name, article.id, section_no, section.id, section.title, chunk_no,
                    chunk.anchor, spans, _clean(context), chunk.heading, chunk.body, kind,
                )
            )  # fmt: skip
    return rows


def _articles_of(library: Library) -> dict[str, tuple[int, str]]:
    return {article.id: (n, article.title) for n, article in enumerate(library.articles)}


class IndexUnavailable(Exception):
    """The cache file cannot be used; the reason is the message."""


class _Damaged(IndexUnavailable):
    """The cache file is not a database, or not one of the shape this kreader writes: it can be
    deleted and made again (a cache holds nothing the library cannot give back)."""

    def __init__(self, reason: str, identity: tuple[int, int] | None = None) -> None:
        super().__init__(reason)
        self.identity = identity
        """(device, inode) of the file judged damaged, to delete only that file."""


_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6


def _primary_code(exc: sqlite3.Error) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else int(code) & 0xFF


def _is_damage(exc: BaseException) -> bool:
    """Whether ``exc`` says the file itself is bad (rather than busy, read-only or missing)."""
    if isinstance(exc, _Damaged):
        return True
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    code = _primary_code(exc)
    if code is not None:
        return code in (_SQLITE_CORRUPT, _SQLITE_NOTADB)
    return "malformed" in str(exc) or "not a database" in str(exc)


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def _remove_cache(path: Path, identity: tuple[int, int] | None = None) -> None:
    """Delete the cache file at ``path`` with its WAL and shared-memory files (a WAL left beside a new
    file could be replayed into it). With ``identity``, only if ``path`` is still that file: another
    kreader that found it damaged at the same moment may already have made a new one, which is kept."""
    if identity is not None and _identity(path) != identity:
        return
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{path}{suffix}")


def _cores() -> int:
    return (
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    ) or 1


def default_helper_command() -> list[str] | None:
    """``python -m kreader.indexer`` with this interpreter (``None`` without one)."""
    return [sys.executable, "-m", "kreader.indexer"] if sys.executable else None


class _Helpers:
    """Helper processes indexing some of the changed files into the same cache file, each on a
    core of its own (see `kreader.indexer`)."""

    def __init__(self, processes: list[subprocess.Popen[bytes]], names: frozenset[str]) -> None:
        self.processes = processes
        self.names = names
        """The files they were given."""

    @classmethod
    def start(
        cls,
        path: Path | None,
        changed: Sequence[_File],
        command: Sequence[str] | None,
        *,
        everything: bool = False,
    ) -> _Helpers | None:
        """Start helpers on the changed files, if it is worth it; ``None`` when not, or when none
        could be started.

        By default (``kreader search``) one helper takes the last `HELPER_SHARE` of the text while
        the caller makes the rest, on a machine of two cores or more. With ``everything`` (the
        reader) helpers, one per core up to `MOST_HELPERS`, take it all: the reader's process keeps
        its core for the person reading and its memory stays what it was.
        """
        if path is None or not command:
            return None
        # An edition's sections take their ids from the source's: only a file read alone is given.
        alone = [f for f in changed if f.article.from_file_alone]
        total = sum(len(f.article.body) for f in alone)
        cores = _cores()
        if everything:
            if total < READER_HELPER_MIN_CHARS:
                return None
            count = max(1, min(cores, MOST_HELPERS, len(alone)))
            wanted = total
        else:
            if total < HELPER_MIN_CHARS or cores < 2:
                return None
            count = 1
            wanted = int(total * HELPER_SHARE)
        groups: list[list[_File]] = [[] for _ in range(count)]
        taken = 0
        for file in reversed(alone):
            if taken >= wanted:
                break
            groups[min(count - 1, taken * count // max(wanted, 1))].append(file)
            taken += len(file.article.body)
        environment = dict(os.environ)
        package_parent = str(Path(__file__).resolve().parent.parent)
        environment["PYTHONPATH"] = os.pathsep.join(
            filter(None, (package_parent, environment.get("PYTHONPATH")))
        )
        processes: list[subprocess.Popen[bytes]] = []
        names: set[str] = set()
        for group in groups:
            if group and (process := cls._spawn(path, group, command, environment)) is not None:
                processes.append(process)
                names.update(f.name for f in group)
        return cls(processes, frozenset(names)) if processes else None

    @staticmethod
    def _spawn(
        path: Path, files: Sequence[_File], command: Sequence[str], environment: dict[str, str]
    ) -> subprocess.Popen[bytes] | None:
        request = {
            "cache": str(path),
            "root": str(files[0].article.path.parent),
            "files": [[str(f.article.path), f.article.id, f.position, f.hash] for f in files],
        }
        try:
            process = subprocess.Popen(
                list(command),
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=environment,
                close_fds=True,
            )
        except OSError:
            return None
        try:
            assert process.stdin is not None
            process.stdin.write(json.dumps(request).encode("utf-8", "surrogatepass"))
            process.stdin.close()
        except OSError:
            process.kill()
            process.wait()
            return None
        return process

    def finish(self) -> None:
        """Wait for every helper (killing those still at work after `HELPER_TIMEOUT`)."""
        deadline = time.monotonic() + HELPER_TIMEOUT
        for process in self.processes:
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


class SearchIndex:
    """The search index of one library, over one SQLite connection.

    Make one with `open` (a cache file, updated for what changed) or `build` (memory only). Both
    take a while for a large library the first time: call them off the UI thread. Any thread may
    then query it (a lock keeps the connection to one at a time).
    """

    def __init__(
        self,
        db: sqlite3.Connection,
        articles: dict[str, tuple[int, str]],
        path: Path | None,
        messages: list[str],
    ) -> None:
        self._db = db
        self.path = path
        """The cache file, ``None`` for an index in memory."""
        self.messages = messages
        """One-line notices for the person reading (a cache file that could not be used)."""
        self._articles = articles
        """Article id -> (place in reading order, title), of the articles this index answers for."""
        self._lock = threading.Lock()
        self._recent: OrderedDict[tuple[Query, int], tuple[Hit, ...]] = OrderedDict()
        self._texts: OrderedDict[tuple[str, str], _Text] = OrderedDict()
        self.stats: dict[str, float] = {}
        """How the last `open` went: files re-indexed, removed and kept, and seconds spent."""
        self.helper_command: Sequence[str] | None = None
        """The command of a helper process for large builds (`kreader.indexer`); ``None``: none."""
        self.helpers_take_all = False
        """Whether helpers take a large build whole (the reader) or share it with this process."""

    # -- making one ----------------------------------------------------------------------------

    @classmethod
    def build(cls, library: Library) -> SearchIndex:
        """An index of ``library`` in memory; writes nothing anywhere."""
        db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        db.executescript(_SCHEMA)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        index = cls(db, _articles_of(library), None, [])
        index._sync(_files_of(library))
        return index

    @classmethod
    def open(
        cls,
        library: Library,
        cache_dir: Path | None = None,
        *,
        busy_timeout_ms: int = BUSY_TIMEOUT_MS,
        helper_command: Sequence[str] | None = (),
        helpers_take_all: bool = False,
    ) -> SearchIndex:
        """The index of ``library`` in its cache file, re-indexing only the files whose content
        changed and dropping those that are gone.

        A damaged cache file (not a database, or of the wrong shape) is deleted and made again, with
        one line in ``messages``, so the next start finds a good one. A cache that cannot be used
        (from a newer kreader, unwritable, or locked by another process for longer than
        ``busy_timeout_ms``) gives an index in memory, with one line in ``messages``.

        ``helper_command`` runs a helper process that indexes part of a large build on another
        core (`kreader.indexer`): ``()`` for the default, ``None`` for no helper. With
        ``helpers_take_all`` (the reader) helpers make the whole of a large build, so that this
        process keeps its core for the person reading (see `_Helpers.start`).
        """
        path = cache_path(library.root, cache_dir)
        if helper_command == ():
            helper_command = default_helper_command()
        try:
            return cls._open_file(
                library, path, busy_timeout_ms, (helper_command, helpers_take_all)
            )
        except _Damaged as exc:
            damage = exc
        except (sqlite3.Error, OSError, IndexUnavailable) as exc:
            return cls._in_memory_after(library, path, exc)
        try:
            _remove_cache(path, damage.identity)
            index = cls._open_file(
                library, path, busy_timeout_ms, (helper_command, helpers_take_all)
            )
        except (sqlite3.Error, OSError, IndexUnavailable) as exc:
            return cls._in_memory_after(library, path, exc)
        index.messages.append(f"Search index cache {path} was damaged ({damage}); made it again.")
        return index

    @classmethod
    def _open_file(
        cls,
        library: Library,
        path: Path,
        busy_timeout_ms: int,
        helpers: tuple[Sequence[str] | None, bool] = (None, False),
    ) -> SearchIndex:
        """The index in the cache file at ``path``, brought up to date; raises `_Damaged` for a file
        that should be made again, `IndexUnavailable`, `sqlite3.Error` or `OSError` otherwise."""
        identity = _identity(path)
        try:
            db = _connect(path, busy_timeout_ms)
        except (sqlite3.Error, _Damaged) as exc:
            if _is_damage(exc):
                raise _Damaged(_reason(exc), identity) from exc
            raise
        index = cls(db, _articles_of(library), path, [])
        index.helper_command, index.helpers_take_all = helpers
        try:
            index._sync(_files_of(library))
        except BaseException as exc:
            with contextlib.suppress(sqlite3.Error):
                db.close()
            if _is_damage(exc):
                raise _Damaged(_reason(exc), identity) from exc
            raise
        return index

    @classmethod
    def open_unchanged(cls, root: Path, cache_dir: Path | None = None) -> SearchIndex | None:
        """The index of the library in folder ``root`` from its cache file, without reading the
        library, if no file was added, removed or changed (by size and time) since the cache was
        last brought up to date; else ``None`` (then load the library and use `open`)."""
        path = cache_path(root, cache_dir)
        if not path.is_file():
            return None
        try:
            names = _markdown_files(root)
            db = sqlite3.connect(
                path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False
            )
        except (OSError, sqlite3.Error):
            return None
        try:
            db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                raise IndexUnavailable("another version")
            stored = db.execute(
                "SELECT name, article_id, title, position, size, mtime_ns FROM files"
            ).fetchall()
            if {name for name, *_ in stored} != names.keys():
                raise IndexUnavailable("files added or removed")
            for name, _, _, _, size, mtime in stored:
                stat = os.stat(names[name])
                if size < 0 or (stat.st_size, stat.st_mtime_ns) != (size, mtime):
                    raise IndexUnavailable("a file changed")
        except (OSError, sqlite3.Error, IndexUnavailable):
            db.close()
            return None
        articles = {article_id: (position, title) for _, article_id, title, position, *_ in stored}
        return cls(db, articles, path, [])

    @classmethod
    def _in_memory_after(cls, library: Library, path: Path, exc: BaseException) -> SearchIndex:
        index = cls.build(library)
        index.messages.append(
            f"Search index cache {path} not used ({_reason(exc)}); searching from memory this"
            " session."
        )
        return index

    def close(self) -> None:
        """Close the connection (queries then fail)."""
        with self._lock:
            self._db.close()

    def _sync(self, files: Sequence[_File]) -> None:
        """Bring the rows in line with ``files``: changed files re-indexed, others kept, missing
        ones dropped. The text of changed files is made before the write lock is taken, and the
        files table read again under it, so another process's update is neither lost nor redone.

        With a lot of changed text and a second core, a helper process (`kreader.indexer`) makes
        and writes the rows of part of the files meanwhile; what it did not do is done here."""
        started = time.perf_counter()
        db = self._db
        with self._lock:
            stored = {
                name: (article_id, hash_)
                for name, article_id, hash_ in db.execute(
                    "SELECT name, article_id, hash FROM files"
                )
            }
        changed = [f for f in files if stored.get(f.name) != (f.article.id, f.hash)]
        names = {f.name for f in files}
        if not changed and stored.keys() <= names:
            with self._lock:
                stats = set(self._db.execute("SELECT name, position, size, mtime_ns FROM files"))
            if stats == {(f.name, f.position, f.size, f.mtime_ns) for f in files}:
                # Nothing to write: no write lock, so a reader never waits for another's update.
                self.stats = {
                    "reindexed": 0,
                    "removed": 0,
                    "kept": len(files),
                    "helped": 0,
                    "seconds": time.perf_counter() - started,
                }
                return
        helpers = _Helpers.start(
            self.path, changed, self.helper_command, everything=self.helpers_take_all
        )
        given = helpers.names if helpers is not None else frozenset()
        rows = {f.name: _rows_of(f) for f in changed if f.name not in given}
        if helpers is not None:
            helpers.finish()
        redone, gone, helped = self._write(files, rows, drop_missing=True, given=given)
        self.stats = {
            "reindexed": redone + helped,
            "removed": gone,
            "kept": len(files) - redone - helped,
            "helped": helped,
            "seconds": time.perf_counter() - started,
        }

    def _write(
        self,
        files: Sequence[_File],
        rows: dict[str, list[_Row]],
        *,
        drop_missing: bool,
        given: frozenset[str] = frozenset(),
    ) -> tuple[int, int, int]:
        """Write the rows of ``files`` that the cache does not hold as they are, under the write
        lock (``rows`` made beforehand; any missing are made here); with ``drop_missing``, drop the
        files that are not in ``files``. Returns (files indexed here, files dropped, files of
        ``given`` that another process had indexed)."""
        db = self._db
        names = {f.name for f in files}
        with self._lock, immediate(db):
            current = {
                name: (article_id, hash_, position, size, mtime)
                for name, article_id, hash_, position, size, mtime in db.execute(
                    "SELECT name, article_id, hash, position, size, mtime_ns FROM files"
                )
            }
            gone = [name for name in current if name not in names] if drop_missing else []
            for name in gone:
                self._drop(name)
            redone = helped = 0
            for file in files:
                known = current.get(file.name)
                if known is not None and known[:2] == (file.article.id, file.hash):
                    helped += file.name in given
                    if known[2:] != (file.position, file.size, file.mtime_ns):
                        db.execute(
                            "UPDATE files SET position = ?, size = ?, mtime_ns = ? WHERE name = ?",
                            (file.position, file.size, file.mtime_ns, file.name),
                        )
                    continue
                redone += 1
                if known is not None:
                    self._drop(file.name)
                self._insert(file, rows[file.name] if file.name in rows else _rows_of(file))
        return redone, len(gone), helped

    @classmethod
    def write_files(
        cls, path: Path, files: Sequence[_File], keep_going: Callable[[], bool] = lambda: True
    ) -> None:
        """Index ``files`` into the cache file at ``path``, leaving its other files alone (the
        helper process's part of a build; see `kreader.indexer`). Stops early, writing nothing,
        once ``keep_going`` says so."""
        db = _connect(path)
        try:
            index = cls(db, {}, path, [])
            with index._lock:
                stored = {
                    name: (article_id, hash_)
                    for name, article_id, hash_ in db.execute(
                        "SELECT name, article_id, hash FROM files"
                    )
                }
            rows: dict[str, list[_Row]] = {}
            for file in files:
                if stored.get(file.name) == (file.article.id, file.hash):
                    continue
                if not keep_going():
                    return
                rows[file.name] = _rows_of(file)
            wanted = [f for f in files if f.name in rows]
            if wanted:
                # Fewer, larger segments: a quarter less time writing megabytes, in a process that
                # ends right after (FTS5 keeps the setting; a reader's small updates never reach it).
                with contextlib.suppress(sqlite3.Error):
                    db.execute("INSERT INTO fts (fts, rank) VALUES ('hashsize', ?)", (HASH_BYTES,))
                index._write(wanted, rows, drop_missing=False)
        finally:
            db.close()

    def _drop(self, name: str) -> None:
        db = self._db
        db.execute("DELETE FROM fts WHERE rowid IN (SELECT id FROM chunks WHERE file = ?)", (name,))
        db.execute("DELETE FROM chunks WHERE file = ?", (name,))
        db.execute("DELETE FROM files WHERE name = ?", (name,))

    def _insert(self, file: _File, rows: Sequence[_Row]) -> None:
        db = self._db
        db.execute(
            "INSERT INTO files (name, article_id, title, position, size, mtime_ns, hash)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                file.name, file.article.id, file.article.title, file.position, file.size,
                file.mtime_ns, file.hash,
            ),
        )  # fmt: skip
        if not rows:
            return
        first = db.execute("SELECT coalesce(max(id), 0) + 1 FROM chunks").fetchone()[0]
        db.executemany(
            "INSERT INTO chunks (id, file, article_id, section_no, section_id, section_title,"
            " chunk_no, anchor, headings) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(first + n, *row[:8]) for n, row in enumerate(rows)],
        )
        db.executemany(
            "INSERT INTO fts (rowid, context, heading, body, kind) VALUES (?, ?, ?, ?, ?)",
            [(first + n, *row[8:]) for n, row in enumerate(rows)],
        )

    # -- what it holds -------------------------------------------------------------------------

    def __len__(self) -> int:
        """Number of sections indexed (of articles in this library)."""
        with self._lock:
            rows = self._db.execute("SELECT article_id FROM chunks WHERE chunk_no = 0").fetchall()
        return sum(1 for (article_id,) in rows if article_id in self._articles)

    def section_text(self, article_id: str, section_id: str) -> str:
        """Plain text of a section, that matches and snippets come from; `KeyError` if unknown.

        The section's title is the first line, as the reader shows it above the text; then blocks
        (paragraphs, headings, list items, table cells, code blocks), one per line; inside them
        whitespace is collapsed as Markdown shows it. No markup, URLs or fence lines.
        """
        with self._lock:
            return self._text(article_id, section_id).text

    def _text(self, article_id: str, section_id: str) -> _Text:
        """A section's text (the lock held)."""
        key = (article_id, section_id)
        found = self._texts.get(key)
        if found is not None:
            self._texts.move_to_end(key)
            return found
        rows = self._db.execute(
            "SELECT c.section_title, f.heading, f.body FROM chunks c JOIN fts f ON f.rowid = c.id"
            " WHERE c.article_id = ? AND c.section_id = ? ORDER BY c.chunk_no",
            key,
        ).fetchall()
        if not rows:
            raise KeyError(key)
        text, heading_at, body_at = _section_text(rows[0][0], [(h, b) for _, h, b in rows])
        found = _Text(text, heading_at, body_at)
        self._texts[key] = found
        if len(self._texts) > _SECTION_CACHE:
            self._texts.popitem(last=False)
        return found

    # -- querying ------------------------------------------------------------------------------

    def search(self, query: str | Query, limit: int = 50) -> list[Hit]:
        """The best hit of each matching section or subsection, best first, at most ``limit``.

        Those matching in a heading (or the article's title, for its first section) come first,
        then those holding every word whole, then by ``bm25``, headings weighing most. A hit lands
        on the best match of its part: a whole word before a prefix, a heading before body text.
        """
        parsed = query if isinstance(query, Query) else parse_query(query)
        if not parsed or limit <= 0:
            return []
        with self._lock:
            try:
                return self._search(parsed, limit)
            except sqlite3.DatabaseError as exc:  # the cache file was damaged under us
                self._failed(exc)
                return []

    def _failed(self, exc: sqlite3.Error) -> None:
        """Note, once, that queries fail (the lock held): the reader says so, never crashes. A file
        found damaged only now (its header and file list were fine at `open`) is deleted, so the next
        start makes it again rather than failing the same way."""
        message = f"Search index cache {self.path} failed ({exc}); restart kreader to rebuild it."
        if message not in self.messages:
            self.messages.append(message)
            if self.path is not None and _is_damage(exc):
                with contextlib.suppress(OSError):
                    _remove_cache(self.path)

    def _search(self, parsed: Query, limit: int) -> list[Hit]:
        match = _expressions(parsed)
        weights = ", ".join(map(str, WEIGHTS))
        ranked = self._db.execute(
            "WITH head AS (SELECT rowid FROM fts WHERE fts MATCH :head),"
            " exact AS (SELECT rowid FROM fts WHERE fts MATCH :exact)"
            f" SELECT fts.rowid, bm25(fts, {weights}) AS rank,"
            " fts.rowid IN head AS in_head, fts.rowid IN exact AS whole"
            " FROM fts JOIN chunks c ON c.id = fts.rowid JOIN files l ON l.name = c.file"
            " WHERE fts MATCH :full"
            # Ties in reading order, the same however the rows were written (see `_Helpers`).
            " ORDER BY in_head DESC, whole DESC, rank, l.position, c.section_no, c.chunk_no"
            " LIMIT :limit",
            {
                "head": match.head,
                "exact": match.exact,
                "full": match.full,
                "limit": limit,
            },
        ).fetchall()
        rows = self._rows(match.full, [rowid for rowid, *_ in ranked], _MOST_SPANS)
        self._load_texts({(row.article_id, row.section_id) for row in rows.values()})
        hits: list[Hit] = []
        for rowid, rank, in_head, whole in ranked:
            row = rows.get(rowid)
            if row is None:
                continue
            score = 100.0 * in_head + 10.0 * whole + (-rank) / (1.0 - rank)
            hit = self._best_hit(row, parsed, round(score, 6), bool(whole))
            if hit is not None:
                hits.append(hit)
            if len(hits) >= limit:
                break
        return hits

    def occurrences(self, query: str | Query, limit: int = MAX_OCCURRENCES) -> list[Hit]:
        """Every match in the matching sections and subsections, in reading order (articles,
        sections, then place in the text), to step through them; at most ``limit``.

        Matches in a section's title count (it is the first line of `section_text`), those in an
        article's title do not (no section shows it). The hits' score is 0.0. The last few answers
        are remembered, as a reader asks again at each step to the next match.
        """
        parsed = query if isinstance(query, Query) else parse_query(query)
        if not parsed or limit <= 0:
            return []
        key = (parsed, limit)
        with self._lock:
            remembered = self._recent.get(key)
            if remembered is None:
                try:
                    remembered = tuple(self._occurrences(parsed, limit))
                except sqlite3.DatabaseError as exc:
                    self._failed(exc)
                    return []
                self._recent[key] = remembered
                while len(self._recent) > _RECENT_OCCURRENCES:
                    self._recent.popitem(last=False)
        return list(remembered)

    def _occurrences(self, parsed: Query, limit: int) -> list[Hit]:
        rows = self._rows(_expressions(parsed).full)
        order = sorted(
            (self._articles[row.article_id][0], row.section_no, row.chunk_no, rowid)
            for rowid, row in rows.items()
        )
        hits: list[Hit] = []
        counts: dict[tuple[str, str], dict[str, tuple[int, int]]] = {}
        for *_, rowid in order:
            row = rows[rowid]
            text = self._text(row.article_id, row.section_id)
            seen = counts.setdefault((row.article_id, row.section_id), {})
            for spot in row.spots(text):
                hits.append(self._hit(row, text, spot, 0.0, seen))
                if len(hits) >= limit:
                    return hits
        return hits

    def _rows(
        self, full: str, rowids: Sequence[int] | None = None, most: int | None = None
    ) -> dict[int, _RowMatch]:
        """The rows matching ``full`` (only those of ``rowids``, if given) with their matches
        marked, of articles in this library (the lock held).

        The rowids are a filter on the rows the query finds, not a constraint FTS5 is given: FTS5
        would run the query again for each (a long prefix costs a millisecond each time).
        """
        sql = (
            "SELECT fts.rowid, c.article_id, c.section_no, c.section_id, c.section_title,"
            " c.chunk_no, c.anchor, c.headings,"
            f" highlight(fts, 0, '{START}', '{END}'), highlight(fts, 1, '{START}', '{END}'),"
            f" highlight(fts, 2, '{START}', '{END}')"
            " FROM fts JOIN chunks c ON c.id = fts.rowid WHERE fts MATCH ?"
        )
        if rowids is not None:
            if not rowids:
                return {}
            sql += f" AND +fts.rowid IN ({','.join(str(int(rowid)) for rowid in rowids)})"
        found: dict[int, _RowMatch] = {}
        for (
            rowid, article_id, section_no, section_id, section_title, chunk_no, anchor, headings,
            context, heading, body,
        ) in self._db.execute(sql, (full,)):  # fmt: skip
            article = self._articles.get(article_id)
            if article is None:
                continue
            spans = tuple(
                (int(a), int(b))
                for a, b in (part.split(":") for part in headings.split(",") if part)
            )
            found[rowid] = _RowMatch(
                article_id, article[1], section_no, section_id, section_title, chunk_no, anchor,
                spans, _unmark(context), _unmark(heading), _unmark(body, most),
            )  # fmt: skip
        return found

    def _load_texts(self, keys: set[tuple[str, str]]) -> None:
        """Read the texts of these sections in one query, if not remembered (the lock held)."""
        for key in keys & self._texts.keys():
            self._texts.move_to_end(key)
        wanted = [key for key in keys if key not in self._texts]
        if not wanted:
            return
        chunks: dict[tuple[str, str], list[tuple[str, str, str]]] = {}
        sql = (
            "SELECT c.article_id, c.section_id, c.section_title, f.heading, f.body FROM chunks c"
            " JOIN fts f ON f.rowid = c.id WHERE c.article_id = ? AND c.section_id = ?"
            " ORDER BY c.chunk_no"
        )
        for key in wanted:
            for article_id, section_id, title, heading, body in self._db.execute(sql, key):
                chunks.setdefault((article_id, section_id), []).append((title, heading, body))
        for key, rows in chunks.items():
            text, heading_at, body_at = _section_text(rows[0][0], [(h, b) for _, h, b in rows])
            self._texts[key] = _Text(text, heading_at, body_at)
        while len(self._texts) > max(_SECTION_CACHE, len(keys)):
            self._texts.popitem(last=False)

    def _best_hit(self, row: _RowMatch, query: Query, score: float, whole: bool) -> Hit | None:
        """The hit of a row at its best match (the lock held)."""
        text = self._text(row.article_id, row.section_id)
        best = row.best(text, query, whole)
        if best is not None:
            return self._hit(row, text, best, score, None)
        if row.chunk_no == 0 and row.context[1]:  # only the article's title matched
            return self._hit(row, text, None, score, None)
        return None

    def _hit(
        self,
        row: _RowMatch,
        text: _Text,
        spot: _Spot | None,
        score: float,
        seen: dict[str, tuple[int, int]] | None,
    ) -> Hit:
        """The hit for a match at ``spot`` (``None``: the article's title only). With ``seen``
        (occurrences), occurrences are counted on from the previous match of the same text."""
        body_plain, body_spans = row.body
        body_at = text.body_at[row.chunk_no]
        # The snippet: around the match when it is in the body, else the body's first match.
        if spot is not None and spot.where != "title" and spot.start >= body_at and body_spans:
            focus = (spot.start - body_at, spot.end - body_at)
        elif body_spans:
            focus = body_spans[0]
        else:
            focus = (0, 0)
        lo, hi = _snippet_bounds(body_plain, *focus)
        if spot is None or (focus == (0, 0) and not body_spans):
            lo, hi = _snippet_bounds(body_plain, 0, 0)
        snippet, highlights = _snippet(body_plain, lo, hi, body_spans)
        title_spans: tuple[tuple[int, int], ...] = ()
        sub_title: str = ""
        sub_spans: tuple[tuple[int, int], ...] = ()
        heading_plain, heading_spans = row.heading
        if row.chunk_no == 0:
            title_spans = heading_spans
        else:
            sub_title, sub_spans = heading_plain, heading_spans
            context_plain, context_spans = row.context
            skip = len(context_plain) - len(row.section_title)
            title_spans = tuple((a - skip, b - skip) for a, b in context_spans if a >= skip)
        if spot is None:
            context_plain, context_spans = row.context
            a, b = context_spans[0] if context_spans else (0, 0)
            return Hit(
                row.article_id, row.article_title, row.section_id, row.section_title, score,
                snippet, highlights, "title", row.anchor, context_plain[a:b], -1, 0.0,
                title_spans, sub_title, sub_spans,
            )  # fmt: skip
        term = text.text[spot.start : spot.end]
        occurrence = text.occurrence(term, spot.start, seen)
        return Hit(
            row.article_id, row.article_title, row.section_id, row.section_title, score,
            snippet, highlights, spot.where, row.anchor, term, occurrence,
            spot.start / max(1, len(text.text)), title_spans, sub_title, sub_spans,
        )  # fmt: skip


def _reason(exc: BaseException) -> str:
    """The first line of an exception's message, for a one-line notice."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _connect(path: Path, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> sqlite3.Connection:
    """A connection to the cache file at ``path``, its schema checked (or made, or remade when an
    older kreader wrote it); raises `IndexUnavailable`, `sqlite3.Error` or `OSError`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(
        path, isolation_level=None, timeout=busy_timeout_ms / 1000, check_same_thread=False
    )
    try:
        db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise IndexUnavailable(f"made by a newer kreader (version {version})")
        if version != SCHEMA_VERSION or db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            use_wal(db)
        else:
            db.execute("PRAGMA synchronous = NORMAL")
        if version != SCHEMA_VERSION:
            with immediate(db):
                version = int(db.execute("PRAGMA user_version").fetchone()[0])  # it may have moved
                if version > SCHEMA_VERSION:
                    raise IndexUnavailable(f"made by a newer kreader (version {version})")
                if version < SCHEMA_VERSION:
                    for (name,) in db.execute(
                        "SELECT name FROM sqlite_master WHERE type = 'table'"
                        " AND name IN ('files', 'chunks', 'fts')"
                    ).fetchall():
                        db.execute(f"DROP TABLE {name}")
                    for statement in _SCHEMA.split(";"):
                        if statement.strip():
                            db.execute(statement)
                    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        # A file of the right version but the wrong shape fails here, not at the first query.
        try:
            db.execute(
                "SELECT name, article_id, title, position, size, mtime_ns, hash FROM files LIMIT 0"
            ).fetchall()
            db.execute(
                "SELECT id, file, article_id, section_no, section_id, section_title, chunk_no,"
                " anchor, headings FROM chunks LIMIT 0"
            ).fetchall()
            db.execute("SELECT rowid, context, heading, body, kind FROM fts LIMIT 0").fetchall()
        except sqlite3.OperationalError as exc:
            if _primary_code(exc) in (_SQLITE_BUSY, _SQLITE_LOCKED) or "locked" in str(exc):
                raise
            raise _Damaged(f"of the wrong shape: {_reason(exc)}") from exc
    except BaseException:
        db.close()
        raise
    return db


# --- matches in a row ---------------------------------------------------------------------------


def _unmark(marked: str, most: int | None = None) -> tuple[str, tuple[tuple[int, int], ...]]:
    """Text marked by ``highlight()`` without its markers, and the marked spans (the first
    ``most`` of them, if given: a short prefix marks thousands of words in a long text)."""
    if START not in marked:
        return marked, ()
    pieces = marked.split(START)
    if most is not None and len(pieces) > most + 1:
        pieces[most + 1 :] = [("".join(pieces[most + 1 :])).replace(END, "")]
        pieces[most] += pieces.pop()
    out = [pieces[0]]
    spans: list[tuple[int, int]] = []
    at = len(pieces[0])
    for piece in pieces[1:]:
        inside, _, after = piece.partition(END)
        spans.append((at, at + len(inside)))
        out.append(inside)
        out.append(after)
        at += len(inside) + len(after)
    return "".join(out), tuple(spans)


class _Spot(NamedTuple):
    """A match in a section's text: its character span, its text and the kind of text it is in."""

    start: int
    end: int
    where: Where
    text: str

    def exact(self, atoms: tuple[tuple[str, ...], ...], terms: frozenset[str]) -> bool:
        """Whether the matched words are a query atom's words exactly (not a longer word)."""
        if self.text.isalnum():  # one word: the usual case
            return fold(self.text)[:MAX_WORD_CHARS] in terms
        words = tuple(word for _, _, word in words_of(self.text))
        return any(
            words[i : i + len(atom)] == atom
            for atom in atoms
            for i in range(len(words) - len(atom) + 1)
        )


class _RowMatch(NamedTuple):
    """A row that matches, with its text and the spans the query matched, per column."""

    article_id: str
    article_title: str
    section_no: int
    section_id: str
    section_title: str
    chunk_no: int
    anchor: str
    headings: tuple[tuple[int, int], ...]
    context: tuple[str, tuple[tuple[int, int], ...]]
    heading: tuple[str, tuple[tuple[int, int], ...]]
    body: tuple[str, tuple[tuple[int, int], ...]]

    def spots(self, text: _Text) -> list[_Spot]:
        """The matches in the section's text, in order."""
        spots: list[_Spot] = []
        heading_plain, heading_spans = self.heading
        where: Where = "title" if self.chunk_no == 0 else "heading"
        at = text.heading_at[self.chunk_no]
        for a, b in heading_spans:
            spots.append(_Spot(at + a, at + b, where, heading_plain[a:b]))
        body_plain, body_spans = self.body
        at = text.body_at[self.chunk_no]
        headings = self.headings
        for a, b in body_spans:
            in_heading = bool(headings) and any(x <= a < y for x, y in headings)
            spots.append(
                _Spot(at + a, at + b, "heading" if in_heading else "body", body_plain[a:b])
            )
        return spots

    def best(self, text: _Text, query: Query, whole: bool) -> _Spot | None:
        """The match to land on: a whole word before a prefix, a heading (the title included)
        before body text, then the first; ``None`` if the row's own text holds none. ``whole``:
        whether the row holds every atom as whole words (else only phrases can match whole)."""
        heading_plain, heading_spans = self.heading
        body_plain, body_spans = self.body
        if not heading_spans and not body_spans:
            return None
        headings = self.headings
        title: Where = "title" if self.chunk_no == 0 else "heading"
        heading_at, body_at = text.heading_at[self.chunk_no], text.body_at[self.chunk_no]

        def heading_spot(a: int, b: int) -> _Spot:
            return _Spot(heading_at + a, heading_at + b, title, heading_plain[a:b])

        def body_spot(a: int, b: int) -> _Spot:
            in_heading = bool(headings) and any(x <= a < y for x, y in headings)
            where: Where = "heading" if in_heading else "body"
            return _Spot(body_at + a, body_at + b, where, body_plain[a:b])

        atoms = query.atoms if whole else query.phrases
        if atoms:
            terms = frozenset(atom[0] for atom in atoms if len(atom) == 1)
            small = [
                body_spot(a, b)
                for a, b in body_spans
                if headings and body_spot(a, b).where != "body"
            ]
            for spot in [heading_spot(a, b) for a, b in heading_spans] + small:
                if spot.exact(atoms, terms):
                    return spot
            for a, b in body_spans:
                spot = body_spot(a, b)
                if spot.exact(atoms, terms):
                    return spot
        if heading_spans:
            return heading_spot(*heading_spans[0])
        spots = [body_spot(a, b) for a, b in body_spans]
        return next((spot for spot in spots if spot.where != "body"), spots[0])


class _Text:
    """A section's text, folded once, to count the occurrences a viewer counts."""

    def __init__(self, text: str, heading_at: list[int], body_at: list[int]) -> None:
        self.text = text
        self.heading_at = heading_at
        self.body_at = body_at
        self._folded: str | None = None
        self._chunks = array("I")

    @property
    def folded(self) -> str:
        if self._folded is None:
            self._folded, self._chunks = _fold_chunks(self.text)
        return self._folded

    def folded_offset(self, offset: int) -> int:
        """Offset in ``folded`` of character ``offset`` of ``text``."""
        folded = self.folded
        if not self._chunks:
            return min(offset, len(folded))
        chunk = offset // _FOLD_CHUNK
        start = chunk * _FOLD_CHUNK
        return self._chunks[chunk] + len(fold(self.text[start:offset]))

    def occurrence(self, term: str, start: int, seen: dict[str, tuple[int, int]] | None) -> int:
        """How many ``fold(term)`` come before ``start`` in the folded text; ``seen`` remembers
        (folded offset, count) of the last match of each term, to count on from there."""
        needle = fold(term)
        if not needle:
            return 0
        if seen is None and self._folded is None:  # one match: fold only the text before it
            return fold(self.text[:start]).count(needle)
        at = self.folded_offset(start)
        if seen is not None and needle in seen and seen[needle][0] <= at:
            previous, before = seen[needle]
            count = before + self.folded.count(needle, previous, at)
        else:
            count = self.folded.count(needle, 0, at)
        if seen is not None:
            seen[needle] = (at, count)
        return count


def _fold_chunks(text: str) -> tuple[str, array[int]]:
    """``fold(text)``, and the folded offset of each `_FOLD_CHUNK`-th character (none if ASCII)."""
    if text.isascii():
        return text.lower(), array("I")
    pieces: list[str] = []
    chunks = array("I")
    at = 0
    for start in range(0, len(text) + 1, _FOLD_CHUNK):
        chunks.append(at)
        piece = fold(text[start : start + _FOLD_CHUNK])
        pieces.append(piece)
        at += len(piece)
    return "".join(pieces), chunks


# --- snippets -----------------------------------------------------------------------------------


def _snippet_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """Where a snippet of ``text`` around ``[start, end)`` begins and ends, at word boundaries."""
    lo = max(0, start - SNIPPET_LEAD)
    if lo > 0:  # begin at a word
        space = _SPACE_RE.search(text, lo, start)
        if space:
            lo = space.end()
    hi = max(lo + SNIPPET_WIDTH, end)
    if hi < len(text):  # end at a word
        cut = max(text.rfind(" ", end, hi), text.rfind("\n", end, hi))
        if cut > end:
            hi = cut
    else:
        hi = len(text)
    return lo, hi


def _snippet(
    text: str, lo: int, hi: int, spans: Sequence[tuple[int, int]]
) -> tuple[str, tuple[tuple[int, int], ...]]:
    """``text[lo:hi]`` on one line with runs of spaces collapsed, `ELLIPSIS` where cut, and where
    ``spans`` (sorted, not overlapping) fall in it."""
    lead = ELLIPSIS if lo > 0 else ""
    tail = ELLIPSIS if hi < len(text) else ""
    raw = text[lo:hi]
    if _ODD_SPACE_RE.search(raw) is None and not raw.startswith(" ") and not raw.endswith(" "):
        shift = len(lead) - lo  # the usual case: nothing to collapse
        found = [(max(a, lo) + shift, min(b, hi) + shift) for a, b in spans if b > lo and a < hi]
        return lead + raw + tail, tuple(found)
    out: list[str] = [lead]
    moved = [0] * (len(raw) + 1)  # new offset of each character of raw
    length = len(lead)
    space = False
    for i, char in enumerate(raw):
        moved[i] = length
        if char.isspace():
            if not space and length > len(lead):
                out.append(" ")
                length += 1
            space = True
        else:
            space = False
            out.append(char)
            length += 1
    moved[len(raw)] = length
    snippet = "".join(out).rstrip(" ")
    trimmed = len(snippet)
    highlights = []
    for a, b in spans:
        if b <= lo or a >= hi:
            continue
        start, end = moved[max(a, lo) - lo], min(moved[min(b, hi) - lo], trimmed)
        if end > start:
            highlights.append((start, end))
    return snippet + tail, tuple(highlights)


# --- a match in a laid-out section --------------------------------------------------------------


def find_in_lines(
    lines: Sequence[str], term: str, occurrence: int = 0, near: float | None = None
) -> tuple[int, int, int] | None:
    """(line, first cell, end cell) of a match of ``term`` in the plain text of laid-out lines,
    ignoring case and accents as `fold` does: the ``occurrence``-th (0: the first; past the last,
    the last), or with ``near`` (a fraction of the lines) the one closest to it.

    A hit's ``term`` and ``occurrence`` are counted in `SearchIndex.section_text`, which holds the
    same words in the same order as the reader shows them. Matching is per line, so a phrase
    broken across lines is found by its first word.
    """
    target = fold(term).strip()
    if not target:
        return None
    from rich.cells import cell_len  # only here: the index and `kreader search` never need it

    needles = (target, target.split()[0]) if " " in target else (target,)
    matches: list[tuple[int, int, int]] = []
    for y, line in enumerate(lines):
        folded, index_map = _fold_with_map(line)
        for needle in needles:
            start = folded.find(needle)
            found = False
            while start >= 0:
                begin = index_map[start]
                end = index_map[min(start + len(needle), len(index_map) - 1)]
                matches.append((y, cell_len(line[:begin]), cell_len(line[:end])))
                found = True
                start = folded.find(needle, start + max(1, len(needle)))
            if found:
                break
    if not matches:
        return None
    if near is not None:
        total = max(1, len(lines))
        return min(matches, key=lambda m: abs(m[0] / total - near))
    return matches[min(occurrence, len(matches) - 1)]


def _fold_with_map(line: str) -> tuple[str, list[int]]:
    """``fold(line)`` and, for each folded character, the index of the character it came from."""
    if line.isascii():
        return line.lower(), [*range(len(line) + 1)]
    folded: list[str] = []
    index_map: list[int] = []
    for index, char in enumerate(line):
        piece = fold(char)
        folded.append(piece)
        index_map.extend([index] * len(piece))
    index_map.append(len(line))
    return "".join(folded), index_map


__all__ = [
    "ELLIPSIS",
    "MAX_OCCURRENCES",
    "Chunk",
    "Hit",
    "IndexUnavailable",
    "Query",
    "SearchIndex",
    "Where",
    "cache_path",
    "default_cache_dir",
    "find_in_lines",
    "fold",
    "parse_query",
    "section_chunks",
    "words_of",
]
