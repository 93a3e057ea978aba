"""Full-text search over a library: an inverted index built once, then queried on each keystroke.

Matching ignores case and accents (`fold`) and needs every query word (AND, in any order). Each word
is a prefix of indexed words (``keta`` finds ``ketamine``); ``"quoted words"`` are a phrase. The index
holds the plain text markdown-it gives, so Markdown syntax, link targets and code fence markers are
never hits.

This module never imports Textual: the reader builds the index in a worker thread, and ``kreader
search`` uses it without a screen. A built `SearchIndex` is not modified, so any thread may query it.
"""

from __future__ import annotations

import heapq
import re
import threading
import unicodedata
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import sub
from typing import Any, Literal, NamedTuple

from markdown_it.token import Token

from kreader.content import Library, Section, markdown_parser

MAX_QUERY_CHARS = 8192
"""Longer queries are cut here before anything else is done with them."""
MAX_TERMS = 32
"""Words and phrases of a query beyond this many are ignored."""
MAX_WORD_CHARS = 200
"""Query words and indexed words are cut to this length."""
MAX_PHRASE_WORDS = 32
"""Words of one phrase beyond this many are ignored."""
MAX_EXPANSION_WORDS = 200
"""A prefix matching more indexed words than this stands for the most frequent of them only..."""
MAX_EXPANSION_PAIRS = 20_000
"""...and for no more of them than keeps its (word, section) pairs under this: short prefixes such as
``a`` stay fast on a large library, at the cost of missing rare words until another letter is typed."""
MAX_OCCURRENCES = 10_000
"""`SearchIndex.occurrences` gives at most this many matches."""
SNIPPET_WIDTH = 90
"""Characters of section text in a snippet (more when the match itself is longer)."""
SNIPPET_LEAD = 30
"""Characters of the snippet taken from before the match."""
ELLIPSIS = "…"

Where = Literal["title", "heading", "body"]

# A word: letters and digits (not "_"), keeping the combining marks of decomposed (NFD) text inside it.
_MARKS = r"\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
_WORD_RE = re.compile(rf"[^\W_]+(?:[{_MARKS}]+[^\W_]*)*")
_SPACE_RE = re.compile(r"\s+")
_NON_ASCII_RE = re.compile(r"[^\x00-\x7f]")
_ODD_SPACE_RE = re.compile(r"[^\S ]")  # whitespace other than a plain space
# Characters that make markdown-it's inline parser produce something other than the text itself.
_INLINE_MARKUP_RE = re.compile(r"[\\`*_\[<&~]")
_EXACT_COUNT_PAIRS = 5_000
"""Above this many (word, section) pairs, a prefix's matches are counted approximately."""
_RECENT_OCCURRENCES = 4
"""Answers of `SearchIndex.occurrences` remembered."""
_FOLD_CHUNK = 256
"""Characters per chunk whose folded offset is remembered, for non-ASCII sections."""
_ZONE_TITLE, _ZONE_HEADING, _ZONE_BODY, _ZONE_ARTICLE = 3.0, 2.0, 1.0, 0.5


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
    """(start, end, folded word) of each word of ``text``: the one tokenizer of index and queries."""
    return [(m.start(), m.end(), fold(m.group())[:MAX_WORD_CHARS]) for m in _WORD_RE.finditer(text)]


# --- queries ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    """A parsed query: folded words, each matched as a prefix, and phrases of consecutive words.

    In a phrase every word but the last must be a whole indexed word, and the last is a prefix, so a
    phrase being typed matches already.
    """

    terms: tuple[str, ...] = ()
    phrases: tuple[tuple[str, ...], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.terms or self.phrases)

    @property
    def atoms(self) -> tuple[tuple[str, ...], ...]:
        """Every term (as a one-word tuple) and phrase: a section must match each of them."""
        return tuple((term,) for term in self.terms) + self.phrases


def parse_query(query: str) -> Query:
    """Split what a person typed into terms and phrases; never fails, whatever the text.

    ``"..."`` makes a phrase (an unclosed quote runs to the end). Outside quotes, a chunk without
    spaces holding several words (``NMDA-receptor``, ``don't``, ``2.5``) is a phrase too, as the text
    was indexed that way. Regular-expression characters are mere punctuation. Sizes are capped by
    `MAX_QUERY_CHARS`, `MAX_TERMS`, `MAX_WORD_CHARS` and `MAX_PHRASE_WORDS`.
    """
    terms: list[str] = []
    phrases: list[tuple[str, ...]] = []
    seen: set[tuple[str, ...]] = set()

    def add(words: Sequence[str]) -> None:
        atom = tuple(words[:MAX_PHRASE_WORDS])
        if not atom or atom in seen or len(seen) >= MAX_TERMS:
            return
        seen.add(atom)
        if len(atom) == 1:
            terms.append(atom[0])
        else:
            phrases.append(atom)

    for index, part in enumerate(query[:MAX_QUERY_CHARS].split('"')):
        if index % 2:  # inside quotes
            add([word for _, _, word in words_of(part)])
        else:
            for chunk in part.split():
                add([word for _, _, word in words_of(chunk)])
    return Query(tuple(terms), tuple(phrases))


# --- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    """One match: its section, a snippet to show, and what a viewer needs to find it in the text."""

    article_id: str
    article_title: str
    section_id: str
    section_title: str
    score: float
    """Higher is better; compare only hits of one query. Always 0.0 from `SearchIndex.occurrences`."""
    snippet: str
    """Plain text around the match, on one line, with `ELLIPSIS` where it was cut."""
    highlights: tuple[tuple[int, int], ...]
    """(start, end) spans of ``snippet`` that match the query."""
    where: Where
    """``title`` if the section title (or, for an article's first section, the article title)
    matched, else ``heading`` if the match is in a heading, else ``body``."""
    anchor: str
    """Id of the ``###`` subsection heading above the match, ``""`` if none."""
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


# --- index structures ---------------------------------------------------------------------------


class _Postings(NamedTuple):
    """Where one word is: documents ``docs`` (ascending), the positions in document ``docs[i]``
    being ``poss[offs[i]:offs[i + 1]]`` (global positions, ascending)."""

    docs: array[int]
    offs: array[int]
    poss: array[int]


class _Index:
    """An inverted index whose documents' words have global positions (no two documents share one).

    A position is left empty between documents, and between blocks of one document, so that phrases
    never run across two paragraphs.
    """

    def __init__(self, postings: dict[str, _Postings], bases: array[int]) -> None:
        self.postings = postings
        self.vocab = sorted(postings)
        self.bases = bases
        """Global position of each document's first word."""

    def expand(self, prefix: str) -> list[str]:
        """Indexed words starting with ``prefix`` (capped: `MAX_EXPANSION_WORDS`)."""
        lo = bisect_left(self.vocab, prefix)
        if not prefix:
            return []
        if ord(prefix[-1]) < 0x10FFFF:  # the first string after all those starting with prefix
            hi = bisect_left(self.vocab, prefix[:-1] + chr(ord(prefix[-1]) + 1), lo)
        else:
            hi = lo
            while hi < len(self.vocab) and self.vocab[hi].startswith(prefix):
                hi += 1
        if hi - lo <= 1:
            return self.vocab[lo:hi]
        words = self.vocab[lo:hi]
        postings = self.postings
        pairs = sum(len(postings[word].docs) for word in words)
        if len(words) <= MAX_EXPANSION_WORDS and pairs <= MAX_EXPANSION_PAIRS:
            return words
        ranked = sorted(words, key=lambda word: -len(postings[word].poss))[:MAX_EXPANSION_WORDS]
        if prefix in postings and prefix not in ranked:  # the whole word typed always counts
            ranked = [prefix, *ranked[:-1]]
        kept: list[str] = []
        pairs = 0
        for word in ranked:
            pairs += len(postings[word].docs)
            if kept and pairs > MAX_EXPANSION_PAIRS:
                break
            kept.append(word)
        return kept

    def docs(self, words: Iterable[str]) -> set[int]:
        """Documents holding any of ``words``."""
        found: set[int] = set()
        for word in words:
            found.update(self.postings[word].docs)
        return found

    def counts(self, words: Sequence[str]) -> dict[int, int]:
        """How many times ``words`` occur in each document holding one.

        Exact unless the words are many (a short prefix): then only the most frequent word is
        counted, and other documents count 1, which keeps this to a few C-level passes.
        """
        if not words:
            return {}
        postings = [self.postings[word] for word in words]
        top = max(postings, key=lambda p: len(p.poss))
        found = dict(zip(top.docs, map(sub, top.offs[1:], top.offs), strict=False))
        if len(postings) == 1:
            return found
        if sum(len(p.docs) for p in postings) > _EXACT_COUNT_PAIRS:
            others: set[int] = set()
            for p in postings:
                others.update(p.docs)
            others.difference_update(found)
            found.update(dict.fromkeys(others, 1))
            return found
        get = found.get
        for p in postings:
            if p is not top:
                for doc, count in zip(p.docs, map(sub, p.offs[1:], p.offs), strict=False):
                    found[doc] = get(doc, 0) + count
        return found

    def positions(self, words: Sequence[str], doc: int) -> list[int]:
        """Sorted positions of any of ``words`` in document ``doc``."""
        found: list[int] = []
        for word in words:
            p = self.postings[word]
            i = bisect_left(p.docs, doc)
            if i < len(p.docs) and p.docs[i] == doc:
                found.extend(p.poss[p.offs[i] : p.offs[i + 1]])
        if len(words) > 1:
            found.sort()
        return found

    def grouped(self, words: Sequence[str], docs: set[int]) -> dict[int, list[int]]:
        """Sorted positions of any of ``words`` in each of ``docs``, in one pass over their
        postings (for many words, cheaper than `positions` section by section)."""
        found: dict[int, list[int]] = {}
        for word in words:
            p = self.postings[word]
            offs, poss = p.offs, p.poss
            for i, doc in enumerate(p.docs):
                if doc in docs:
                    found.setdefault(doc, []).extend(poss[offs[i] : offs[i + 1]])
        for positions in found.values():
            positions.sort()
        return found

    def phrase(self, words: Sequence[str]) -> dict[int, list[int]]:
        """Start positions, per document, of ``words`` in a row (the last one a prefix).

        Starts from the rarest word, and looks the others up by bisection when they are far more
        common (``"the treatment"`` must not build a set of every "the").
        """
        slots: list[list[array[int]]] = []
        for n, word in enumerate(words):
            choices = self.expand(word) if n == len(words) - 1 else [word]
            slot = [self.postings[choice].poss for choice in choices if choice in self.postings]
            if not slot:
                return {}
            slots.append(slot)
        sizes = [sum(len(poss) for poss in slot) for slot in slots]
        rarest = sizes.index(min(sizes))
        starts = sorted(p - rarest for poss in slots[rarest] for p in poss)
        for offset, slot in enumerate(slots):
            if offset == rarest:
                continue
            if sizes[offset] > 8 * len(starts):
                starts = [s for s in starts if any(_holds(poss, s + offset) for poss in slot)]
            else:
                following: set[int] = set()
                for poss in slot:
                    following.update(poss)
                starts = [s for s in starts if s + offset in following]
            if not starts:
                return {}
        found: dict[int, list[int]] = {}
        for start in starts:
            found.setdefault(bisect_right(self.bases, start) - 1, []).append(start)
        return found


def _holds(values: array[int], value: int) -> bool:
    """Whether the sorted ``values`` hold ``value``."""
    i = bisect_left(values, value)
    return i < len(values) and values[i] == value


class _IndexBuilder:
    """Collects documents' words into an `_Index`."""

    def __init__(self) -> None:
        self._words: dict[str, tuple[list[int], list[int], list[int]]] = {}
        self._bases = array("I")
        self._next = 0

    def add(self, words: Sequence[str | None]) -> int:
        """Add the next document (``None`` is an empty position); returns its base position."""
        doc, base = len(self._bases), self._next
        self._bases.append(base)
        table = self._words
        position = base
        for word in words:
            if word is not None:
                entry = table.get(word)
                if entry is None:
                    table[word] = ([doc], [0], [position])
                else:
                    docs, offs, poss = entry
                    if docs[-1] != doc:
                        docs.append(doc)
                        offs.append(len(poss))
                    poss.append(position)
            position += 1
        self._next = position + 1
        return base

    def build(self) -> _Index:
        postings = {
            word: _Postings(array("I", docs), array("I", [*offs, len(poss)]), array("I", poss))
            for word, (docs, offs, poss) in self._words.items()
        }
        return _Index(postings, self._bases)


@dataclass(frozen=True)
class _Doc:
    """One section as indexed: its plain text and where its words are."""

    article_id: str
    article_title: str
    section_id: str
    section_title: str
    text: str
    folded: str
    """``fold(text)``."""
    chunks: array[int]
    """Offset in ``folded`` of every `_FOLD_CHUNK`-th character of ``text``; empty for ASCII text."""
    base: int
    """Global position of the section's first word in the body index."""
    starts: array[int]
    """Offset in ``text`` where the word at each local position starts (empty positions repeat)."""
    ends: array[int]
    headings: tuple[tuple[int, int], ...]
    """Local position ranges [start, end) of the words of headings."""
    anchors: tuple[tuple[int, str], ...]
    """(offset in text, id) of each ``###`` subsection heading, in order."""
    title_words: tuple[tuple[int, int, str], ...]
    """`words_of` the section title."""
    title_end: int
    """Local positions of the title line (its words and the empty position after them)."""
    body_start: int
    """Offset in ``text`` of what follows the title line."""

    def heading_match(self, positions: Sequence[int]) -> int | None:
        """The first of the (sorted, global) ``positions`` that is in a heading, if any."""
        for start, end in self.headings:
            i = bisect_left(positions, self.base + start)
            if i < len(positions) and positions[i] < self.base + end:
                return positions[i]
        return None

    def in_heading(self, position: int) -> bool:
        return self.heading_match((position,)) is not None

    def anchor_at(self, offset: int) -> str:
        i = bisect_right(self.anchors, (offset, "\U0010ffff")) - 1
        return self.anchors[i][1] if i >= 0 else ""

    def folded_offset(self, offset: int) -> int:
        """Offset in ``folded`` of character ``offset`` of ``text``."""
        if not self.chunks:
            return offset
        chunk = offset // _FOLD_CHUNK
        start = chunk * _FOLD_CHUNK
        return self.chunks[chunk] + len(fold(self.text[start:offset]))


class _Atom(NamedTuple):
    """How one term or phrase of a query matches the library."""

    words: tuple[str, ...]
    expanded: tuple[str, ...]
    """The indexed words a term stands for (empty for a phrase)."""
    phrase_hits: dict[int, list[int]] | None
    """Start positions of a phrase in each section (``None`` for a term)."""
    counts: dict[int, int]
    """Matches in the text of each section."""
    heading: set[int]
    """Sections with a match in a heading."""
    title: set[int]
    """Sections whose title matches."""
    article: set[int]
    """Sections whose article's title matches."""
    opening: set[int]
    """First section of each article whose title matches: it stands for the article."""
    exact: set[int]
    """Sections holding a term as a whole word (every section with a match, for a phrase)."""

    @property
    def length(self) -> int:
        return len(self.words)


class _Context(NamedTuple):
    """What the hits of one section share."""

    doc: _Doc
    positions: Sequence[list[int]]
    """Sorted start positions of each atom's matches in the section text."""
    lengths: tuple[int, ...]
    """Words in each atom."""
    every_match: bool
    """Whether the next three list every match of the section (else they are empty)."""
    matches: list[tuple[int, int]]
    """(position, length) of the query's matches in the section text, sorted, not overlapping."""
    starts: list[int]
    """Character spans of those matches."""
    ends: list[int]
    title_spans: tuple[tuple[int, int], ...]
    in_title: bool
    title_term: str
    """The matched text of the section title, else of the article title, else ``""``."""


# --- Markdown to plain text ---------------------------------------------------------------------


class _Block(NamedTuple):
    text: str
    heading: int
    """Heading level (1-6), 0 for other text."""
    anchor_line: int
    """Source line of a top-level ``###`` heading (a subsection), else -1."""


def _inline_text(children: Sequence[Token] | None) -> str:
    """What inline tokens show: text, code, link text, image descriptions; no markup, no URLs.

    Whitespace inside text is collapsed and soft breaks become spaces, as Textual's Markdown does.
    """
    parts: list[str] = []
    for child in children or ():
        kind = child.type
        if kind == "text":
            parts.append(_SPACE_RE.sub(" ", child.content))
        elif kind == "code_inline":
            parts.append(child.content)
        elif kind == "softbreak":
            parts.append(" ")
        elif kind == "hardbreak":
            parts.append("\n")
        elif kind == "image":
            parts.append(_inline_text(child.children))
    return "".join(parts)


def _plain_inline(content: str) -> str:
    """What `_inline_text` gives for inline content free of markup, without running the parser.

    Inline parsing is most of the cost of building; most table cells, list items and many paragraphs
    hold no markup, and then only line breaks matter (markdown-it's ``newline`` rule).
    """
    if "\n" not in content:
        return _SPACE_RE.sub(" ", content)
    lines = content.split("\n")
    parts: list[str] = []
    for n, line in enumerate(lines):
        if n:
            line = line.lstrip(" \t")
        if n < len(lines) - 1:
            hard = line.endswith("  ")
            line = line.rstrip(" ") if hard else line.removesuffix(" ")
            parts.append(_SPACE_RE.sub(" ", line))
            parts.append("\n" if hard else " ")
        else:
            parts.append(_SPACE_RE.sub(" ", line))
    return "".join(parts)


def _blocks(source: str) -> list[_Block]:
    """The plain text blocks of a section's Markdown, in order, from markdown-it's tokens."""
    md = markdown_parser()
    env: dict[str, Any] = {}
    tokens: list[Token] = []
    md.block.parse(source, md, env, tokens)
    blocks: list[_Block] = []
    heading, anchor_line = 0, -1
    for token in tokens:
        kind = token.type
        if kind == "heading_open":
            heading = int(token.tag[1:])
            subsection = heading == 3 and token.level == 0 and token.map
            anchor_line = token.map[0] if subsection and token.map else -1
        elif kind == "heading_close":
            heading, anchor_line = 0, -1
        elif kind == "inline":
            if _INLINE_MARKUP_RE.search(token.content) is None:
                text = _plain_inline(token.content)
            else:
                children: list[Token] = []
                md.inline.parse(token.content, md, env, children)
                text = _inline_text(children)
            blocks.append(_Block(text, heading, anchor_line))
        elif kind in {"fence", "code_block"}:  # the code only: not the fence or its info string
            blocks.append(_Block(token.content.rstrip(), 0, -1))
    return blocks


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


class _FoldCache(dict[str, str]):
    """Raw word -> folded (and cut) word, folding each word only the first time it is seen."""

    def __missing__(self, raw: str) -> str:
        word = self[raw] = fold(raw)[:MAX_WORD_CHARS]
        return word


def _index_section(
    section: Section,
    doc: int,
    body: _IndexBuilder,
    headings: dict[str, set[int]],
    folds: _FoldCache,
) -> tuple[str, int, array[int], array[int], list[tuple[int, int]], list[tuple[int, str]], int]:
    """Add one section's words to ``body``: (plain text, base position, word starts, word ends,
    heading position ranges, subsection anchors, positions of the title line).

    The text starts with the section's title on a line of its own, as the reader shows it, so
    that counting occurrences in the text counts those a reader sees in the title too.
    """
    title = _SPACE_RE.sub(" ", section.title)
    pieces: list[str] = [title]
    words: list[str | None] = []
    starts, ends = array("I"), array("I")
    for match in _WORD_RE.finditer(title):
        words.append(folds[match.group()])
        starts.append(match.start())
        ends.append(match.end())
    words.append(None)
    starts.append(len(title))
    ends.append(len(title))
    title_end = len(words)
    heading_ranges: list[tuple[int, int]] = []
    anchors: list[tuple[int, str]] = []
    by_line = {sub.line: sub.id for sub in section.subsections}
    unused = [sub.id for sub in section.subsections]
    offset = len(title)
    for block in _blocks(section.source):
        pieces.append("\n")
        offset += 1
        if block.anchor_line >= 0 and unused:
            sub_id = by_line.get(block.anchor_line, unused[0])
            anchors.append((offset, sub_id))
            if sub_id in unused:
                unused.remove(sub_id)
        first = len(words)
        spans = [match.span() for match in _WORD_RE.finditer(block.text)]
        if spans:
            words.extend(map(folds.__getitem__, [block.text[a:b] for a, b in spans]))
            starts.extend([offset + a for a, _ in spans])
            ends.extend([offset + b for _, b in spans])
            if block.heading:
                heading_ranges.append((first, len(words)))
                for word in words[first:]:
                    headings.setdefault(word or "", set()).add(doc)
            words.append(None)  # an empty position, so phrases stay inside one block
            starts.append(offset + len(block.text))
            ends.append(offset + len(block.text))
        pieces.append(block.text)
        offset += len(block.text)
    if len(pieces) == 1:
        pieces.append("\n")
    return "".join(pieces), body.add(words), starts, ends, heading_ranges, anchors, title_end


# --- the index ----------------------------------------------------------------------------------


class SearchIndex:
    """The search index of one library.

    Build it once with `build` (seconds for megabytes: run it off the UI thread), then query it as
    often as wanted, from any thread: the index is never modified after it is built (only a small
    memo of recent `occurrences` answers changes, under a lock).
    """

    def __init__(
        self,
        docs: Sequence[_Doc],
        body: _Index,
        titles: _Index,
        article_titles: _Index,
        headings: dict[str, frozenset[int]],
        article_docs: Sequence[range],
    ) -> None:
        self._docs = tuple(docs)
        self._body = body
        self._titles = titles
        self._article_titles = article_titles
        self._headings = headings
        self._article_docs = tuple(article_docs)
        self._by_id = {(d.article_id, d.section_id): n for n, d in enumerate(self._docs)}
        # The only state that changes after building: answers of `occurrences`, kept to step
        # through them. Guarded, as any thread may query.
        self._recent: dict[tuple[Query, int], tuple[Hit, ...]] = {}
        self._lock = threading.Lock()

    @classmethod
    def build(cls, library: Library) -> SearchIndex:
        """Index every section of every article of ``library``.

        Pure apart from splitting the articles not yet split into sections (which they cache).
        """
        body, titles, article_titles = _IndexBuilder(), _IndexBuilder(), _IndexBuilder()
        headings: dict[str, set[int]] = {}
        docs: list[_Doc] = []
        article_docs: list[range] = []
        folds = _FoldCache()  # for this build only
        for article in library.articles:
            article_titles.add([word for _, _, word in words_of(article.title)])
            first = len(docs)
            for section in article.sections:
                text, base, starts, ends, heading_ranges, anchors, title_end = _index_section(
                    section, len(docs), body, headings, folds
                )
                title_words = tuple(words_of(section.title))
                titles.add([word for _, _, word in title_words])
                folded, chunks = _fold_chunks(text)
                docs.append(
                    _Doc(
                        article_id=article.id,
                        article_title=article.title,
                        section_id=section.id,
                        section_title=section.title,
                        text=text,
                        folded=folded,
                        chunks=chunks,
                        base=base,
                        starts=starts,
                        ends=ends,
                        headings=tuple(heading_ranges),
                        anchors=tuple(anchors),
                        title_words=title_words,
                        title_end=title_end,
                        body_start=starts[title_end - 1] + 1,
                    )
                )
            article_docs.append(range(first, len(docs)))
        return cls(
            docs,
            body.build(),
            titles.build(),
            article_titles.build(),
            {word: frozenset(found) for word, found in headings.items()},
            article_docs,
        )

    def __len__(self) -> int:
        """Number of sections indexed."""
        return len(self._docs)

    def section_text(self, article_id: str, section_id: str) -> str:
        """Plain text of a section, that matches and snippets come from; `KeyError` if unknown.

        The section's title is the first line, as the reader shows it above the text. Blocks
        (paragraphs, headings, list items, table cells, code blocks) follow, one per line; inside
        them whitespace is collapsed as Markdown shows it. No markup, URLs or fence lines.
        """
        return self._docs[self._by_id[(article_id, section_id)]].text

    # --- querying -------------------------------------------------------------------------------

    def search(self, query: str | Query, limit: int = 50) -> list[Hit]:
        """The best hit of each matching section, best first, at most ``limit`` of them.

        Sections matching in their title come first, then in a heading, then in the body; among
        equals, those where the query's words are closer together, then where they are whole words,
        then where they occur more often, then the earlier in reading order.
        """
        parsed = query if isinstance(query, Query) else parse_query(query)
        if not parsed or limit <= 0:
            return []
        matched = self._match(parsed)
        if matched is None:
            return []
        atoms, candidates = matched
        if len(atoms) == 1:
            return self._search_one(atoms[0], candidates, limit)
        # Best possible score of each section (if its words were adjacent), in one lean pass, as
        # common words match thousands of sections; then closeness, best bounds first.
        n = len(atoms)
        specs = [(a.title | a.opening, a.heading, a.counts, a.exact) for a in atoms]
        bounds: list[tuple[float, int, float, float, int]] = []
        # Most sections match every atom in the body text only: their zone is 1, so they go fast.
        special: set[int] = set()
        for title, heading, counts, _ in specs:
            special |= title | heading
            special |= candidates.difference(counts)
        plain = candidates - special
        all_exact = candidates.intersection(*(a.exact for a in atoms))
        exact_sets = [a.exact for a in atoms]
        count_of = [a.counts.__getitem__ for a in atoms]
        for doc in plain:
            count = sum(get(doc) for get in count_of)
            exact = 1.0 if doc in all_exact else sum(doc in e for e in exact_sets) / n
            bounds.append((-_combine(1.0, exact, count, 1.0), doc, 1.0, exact, count))
        for doc in special & candidates:
            zone = exact = 0.0
            count = 0
            for title, heading, counts, exacts in specs:
                found = counts.get(doc)
                if doc in title:
                    zone += _ZONE_TITLE
                elif doc in heading:
                    zone += _ZONE_HEADING
                elif found is not None:
                    zone += _ZONE_BODY
                else:
                    zone += _ZONE_ARTICLE
                if doc in exacts:
                    exact += 1
                if found:
                    count += found
            zone, exact = zone / n, exact / n
            bounds.append((-_combine(zone, exact, count, 1.0), doc, zone, exact, count))
        bounds.sort()
        # (score, -section, location, positions): the worst kept first
        best: list[tuple[float, int, tuple[int, int] | None, list[list[int]]]] = []
        for neg, doc, zone, exact, count in bounds:
            if len(best) >= limit:
                worst, worst_doc = best[0][0], -best[0][1]
                if worst > -neg or (worst == -neg and worst_doc < doc):
                    break  # no section left can enter the results
            closeness, location, lists = self._locate(doc, atoms)
            entry = (_combine(zone, exact, count, closeness), -doc, location, lists)
            if len(best) < limit:
                heapq.heappush(best, entry)
            else:
                heapq.heappushpop(best, entry)
        ranked = sorted(best, key=lambda e: (-e[0], -e[1]))
        return [
            self._hit(self._context(-neg, atoms, lists), score, location)
            for score, neg, location, lists in ranked
        ]

    def _search_one(self, atom: _Atom, candidates: set[int], limit: int) -> list[Hit]:
        """`search` for a single term or phrase: ranked with set operations, in C, as a short
        prefix can match every section."""
        counts = atom.counts
        title = candidates & (atom.title | atom.opening)
        heading = (candidates & atom.heading) - title
        body = candidates - title - heading
        picked: list[tuple[int, float]] = []  # (section, zone)
        for zone, tier in ((_ZONE_TITLE, title), (_ZONE_HEADING, heading), (_ZONE_BODY, body)):
            for part in (tier & atom.exact, tier - atom.exact):
                wanted = limit - len(picked)
                if wanted <= 0:
                    break
                if part <= counts.keys():
                    best = heapq.nlargest(wanted, sorted(part), key=counts.__getitem__)
                else:
                    best = heapq.nlargest(wanted, sorted(part), key=lambda d: counts.get(d, 0))
                picked.extend((doc, zone) for doc in best)
        atoms = (atom,)
        hits = []
        for doc, zone in picked:
            score = _combine(zone, float(doc in atom.exact), counts.get(doc, 0), 1.0)
            _, location, lists = self._locate(doc, atoms)
            hits.append(self._hit(self._context(doc, atoms, lists), score, location))
        return hits

    def occurrences(self, query: str | Query, limit: int = MAX_OCCURRENCES) -> list[Hit]:
        """Every match in the text of the matching sections, in reading order (articles, sections,
        then place in the text), to step through them; at most ``limit``.

        Matches in a section's title count (it is the first line of `section_text`), those in an
        article's title do not (no section shows it). The hits' score is 0.0. The last few answers are remembered, as a reader asks again at each step to the next match.
        """
        parsed = query if isinstance(query, Query) else parse_query(query)
        if not parsed or limit <= 0:
            return []
        key = (parsed, limit)
        with self._lock:
            remembered = self._recent.get(key)
        if remembered is None:
            remembered = tuple(self._occurrences(parsed, limit))
            with self._lock:
                self._recent[key] = remembered
                while len(self._recent) > _RECENT_OCCURRENCES:
                    del self._recent[next(iter(self._recent))]
        return list(remembered)

    def _occurrences(self, parsed: Query, limit: int) -> list[Hit]:
        matched = self._match(parsed)
        if matched is None:
            return []
        atoms, candidates = matched
        # Positions of broad prefixes grouped in one pass, rather than looked up per section.
        grouped = [
            self._body.grouped(atom.expanded, candidates) if len(atom.expanded) > 4 else None
            for atom in atoms
        ]
        hits: list[Hit] = []
        folds: dict[str, str] = {}
        for doc in sorted(candidates):
            lists = [
                group.get(doc, []) if group is not None else self._lists(doc, (atom,))[0]
                for atom, group in zip(atoms, grouped, strict=True)
            ]
            context = self._context(doc, atoms, lists, every_match=True)
            found: dict[str, tuple[int, int]] = {}  # folded term -> (offset, occurrence) last seen
            for match in context.matches:
                hits.append(self._hit(context, 0.0, match, found, folds))
                if len(hits) >= limit:
                    return hits
        return hits

    def _match(self, query: Query) -> tuple[list[_Atom], set[int]] | None:
        """The query's atoms and the sections matching all of them; ``None`` if there are none."""
        atoms = [self._atom(words) for words in query.atoms]
        candidates: set[int] | None = None
        for atom in sorted(atoms, key=lambda a: len(a.counts) + len(a.title) + len(a.article)):
            found = atom.title | atom.article
            found.update(atom.counts)
            candidates = found if candidates is None else candidates & found
            if not candidates:
                return None
        # Each section must match at least one atom itself, not only through its article's title.
        own: set[int] = set()
        for atom in atoms:
            own.update(atom.counts)
            own |= atom.title | atom.opening
        candidates = (candidates or set()) & own
        return (atoms, candidates) if candidates else None

    def _atom(self, words: tuple[str, ...]) -> _Atom:
        body, titles, articles = self._body, self._titles, self._article_titles
        if len(words) == 1:
            expanded = tuple(body.expand(words[0]))
            counts = body.counts(expanded)
            heading: set[int] = set()
            for word in expanded:
                heading.update(self._headings.get(word, ()))
            exact = set(body.postings[words[0]].docs) if words[0] in body.postings else set()
            phrase_hits = None
            title = titles.docs(titles.expand(words[0]))
            article_hits = articles.docs(articles.expand(words[0]))
        else:
            expanded = ()
            phrase_hits = body.phrase(words)
            counts = {doc: len(starts) for doc, starts in phrase_hits.items()}
            heading = {
                doc for doc, starts in phrase_hits.items() if self._docs[doc].heading_match(starts)
            }
            exact = set(counts)
            title = set(titles.phrase(words))
            article_hits = set(articles.phrase(words))
        in_articles: set[int] = set()
        opening: set[int] = set()
        for article in article_hits:
            sections = self._article_docs[article]
            in_articles.update(sections)
            if sections:
                opening.add(sections[0])
        return _Atom(
            words, expanded, phrase_hits, counts, heading, title, in_articles, opening, exact
        )

    def _lists(self, doc: int, atoms: Sequence[_Atom], body: bool = False) -> list[list[int]]:
        """Sorted global start positions of each atom's matches in a section's text (with
        ``body``, leaving out those in the title line)."""
        lists = []
        for atom in atoms:
            if atom.phrase_hits is not None:
                found = atom.phrase_hits.get(doc, [])
            elif doc in atom.counts:
                found = self._body.positions(atom.expanded, doc)
            else:
                found = []
            if body and found:
                info = self._docs[doc]
                found = found[bisect_left(found, info.base + info.title_end) :]
            lists.append(found)
        return lists

    def _locate(
        self, doc: int, atoms: Sequence[_Atom]
    ) -> tuple[float, tuple[int, int] | None, list[list[int]]]:
        """Closeness, location and body positions of a section's best match (`_window`); the
        first match in the title line when none is in the body."""
        lists = self._lists(doc, atoms, body=True)
        closeness, location = self._window(doc, atoms, lists)
        if location is None:
            in_title = [
                (found[0], atom.length)
                for atom, found in zip(atoms, self._lists(doc, atoms), strict=True)
                if found
            ]
            location = min(in_title) if in_title else None
        return closeness, location, lists

    def _window(
        self, doc: int, atoms: Sequence[_Atom], positions: Sequence[list[int]]
    ) -> tuple[float, tuple[int, int] | None]:
        """Closeness (1.0: adjacent) of the tightest stretch of text holding a match of every atom
        found in the text, and the (position, length) of its first match; among equally tight
        stretches, one starting in a heading, else the earliest. ``None`` when none is in the text."""
        info = self._docs[doc]
        lists = [(found, a.length) for a, found in zip(atoms, positions, strict=True) if found]
        if not lists:
            return 1.0, None
        if len(lists) == 1:
            found, length = lists[0]
            heading = info.heading_match(found)
            return 1.0, (found[0] if heading is None else heading, length)
        best_span = -1
        firsts: list[tuple[int, int]] = []  # (position, length) of the first match of each window
        if len(lists) == 2:  # the common case, merged with two cursors
            (one, one_length), (two, two_length) = lists
            i = j = 0
            while i < len(one) and j < len(two):
                a, b = one[i], two[j]
                if a <= b:
                    first, span = (a, one_length), max(a + one_length, b + two_length) - a
                    i += 1
                else:
                    first, span = (b, two_length), max(a + one_length, b + two_length) - b
                    j += 1
                if best_span < 0 or span < best_span:
                    best_span, firsts = span, [first]
                elif span == best_span:
                    firsts.append(first)
        else:
            events = sorted(
                (p, p + length, n) for n, (found, length) in enumerate(lists) for p in found[:2000]
            )
            latest: dict[int, tuple[int, int]] = {}
            for start, end, n in events:
                latest[n] = (start, end)
                if len(latest) < len(lists):
                    continue
                low = min(latest.values())
                span = max(e for _, e in latest.values()) - low[0]
                if best_span < 0 or span < best_span:
                    best_span, firsts = span, [(low[0], low[1] - low[0])]
                elif span == best_span:
                    firsts.append((low[0], low[1] - low[0]))
        location = next((f for f in firsts if info.in_heading(f[0])), firsts[0])
        gap = max(0, best_span - sum(length for _, length in lists))
        return 1.0 / (1 + gap), location

    def _context(
        self,
        doc: int,
        atoms: Sequence[_Atom],
        positions: Sequence[list[int]],
        every_match: bool = False,
    ) -> _Context:
        """What the hits of a section share; ``every_match`` to list all its matches (else only
        those near a hit are looked at, by `_spans_near`)."""
        info = self._docs[doc]
        lengths = tuple(atom.length for atom in atoms)
        matches: list[tuple[int, int]] = []
        if every_match:
            matches = _merge(
                [
                    (p, length)
                    for found, length in zip(positions, lengths, strict=True)
                    for p in found
                ]
            )
        starts = [info.starts[p - info.base] for p, _ in matches]
        ends = [info.ends[p - info.base + length - 1] for p, length in matches]
        title_spans = _title_spans(info.title_words, atoms)
        in_title = bool(title_spans) or any(doc in atom.opening for atom in atoms)
        if title_spans:
            title_term = info.section_title[title_spans[0][0] : title_spans[0][1]]
        elif in_title:  # the article's title matched: this is its first section
            spans = _title_spans(words_of(info.article_title), atoms)
            title_term = info.article_title[spans[0][0] : spans[0][1]] if spans else ""
        else:
            title_term = ""
        return _Context(
            info, positions, lengths, every_match, matches, starts, ends, title_spans, in_title,
            title_term,
        )  # fmt: skip

    def _hit(
        self,
        context: _Context,
        score: float,
        location: tuple[int, int] | None,
        found: dict[str, tuple[int, int]] | None = None,
        folds: dict[str, str] | None = None,
    ) -> Hit:
        """The hit for a match at ``location`` (``None``: in the article title only). With
        ``found`` (occurrences), ``where`` describes the match itself, and occurrences are counted
        on from the previous match of the same text.

        Snippets come from the text after the title line (from its start for a match in the title):
        the title is shown beside them.
        """
        info = context.doc
        title_spans = context.title_spans
        floor = info.body_start
        if location is None:
            bounds = _snippet_bounds(info.text, floor, floor, floor)
            if context.every_match:
                starts, ends = context.starts, context.ends
            else:
                starts, ends = _spans_near(info, context.positions, context.lengths, *bounds)
            snippet, highlights = _snippet(info.text, *bounds, starts, ends, floor)
            return Hit(
                info.article_id, info.article_title, info.section_id, info.section_title,
                round(score, 4), snippet, highlights, "title", "", context.title_term, -1, 0.0,
                title_spans,
            )  # fmt: skip
        local = location[0] - info.base
        start, end = info.starts[local], info.ends[local + location[1] - 1]
        in_title_line = local < info.title_end
        if in_title_line:
            lo, hi = _snippet_bounds(info.text, floor, floor, floor)
        else:
            lo, hi = _snippet_bounds(info.text, start, end, floor)
        if context.every_match:
            starts, ends = context.starts, context.ends
        else:
            starts, ends = _spans_near(info, context.positions, context.lengths, lo, hi)
        snippet, highlights = _snippet(info.text, lo, hi, starts, ends, floor)
        where: Where = "heading" if info.in_heading(location[0]) else "body"
        if in_title_line or (context.in_title and found is None):
            where = "title"
        term = info.text[start:end]
        if folds is None:
            folded_term = fold(term)
        elif (folded_term := folds.get(term, "")) == "":
            folded_term = folds[term] = fold(term)
        folded_start = info.folded_offset(start)
        if not folded_term:
            occurrence = 0
        elif found is None or folded_term not in found:
            occurrence = info.folded.count(folded_term, 0, folded_start)
        else:  # count on from the previous match of the same text (itself an occurrence)
            previous, before = found[folded_term]
            occurrence = before + info.folded.count(folded_term, previous, folded_start)
        if found is not None:
            found[folded_term] = (folded_start, occurrence)
        return Hit(
            info.article_id, info.article_title, info.section_id, info.section_title,
            round(score, 4), snippet, highlights, where, info.anchor_at(start), term, occurrence,
            start / max(1, len(info.text)), title_spans,
        )  # fmt: skip


def _combine(zone: float, exact: float, count: int, closeness: float) -> float:
    """A section's score from its parts: zone first, then closeness, exactness and frequency."""
    return 100 * zone + 10 * closeness + 2 * exact + count / (count + 10)


def _title_spans(
    title_words: Sequence[tuple[int, int, str]], atoms: Sequence[_Atom]
) -> tuple[tuple[int, int], ...]:
    """Character spans of a title matched by any atom (checked word by word: titles are short)."""
    spans: list[tuple[int, int]] = []
    for atom in atoms:
        *whole, last = atom.words
        for i in range(len(title_words) - len(whole)):
            if title_words[i + len(whole)][2].startswith(last) and all(
                title_words[i + k][2] == word for k, word in enumerate(whole)
            ):
                spans.append((title_words[i][0], title_words[i + len(whole)][1]))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return tuple(merged)


def _merge(matches: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """(position, length) matches sorted, without those starting inside an earlier one."""
    matches.sort(key=lambda m: (m[0], -m[1]))
    merged: list[tuple[int, int]] = []
    end = -1
    for position, length in matches:
        if position >= end:
            merged.append((position, length))
            end = position + length
    return merged


def _spans_near(
    info: _Doc, positions: Sequence[list[int]], lengths: Sequence[int], lo: int, hi: int
) -> tuple[list[int], list[int]]:
    """Character spans (starts, ends) of the matches overlapping ``text[lo:hi]``, found by
    bisection: a section may hold thousands of matches of a common word."""
    first = info.base + bisect_right(info.ends, lo)
    after = info.base + bisect_left(info.starts, hi)
    near: list[tuple[int, int]] = []
    for found, length in zip(positions, lengths, strict=True):
        i, j = bisect_left(found, first - length + 1), bisect_left(found, after)
        near.extend((p, length) for p in found[i:j])
    merged = _merge(near)
    return (
        [info.starts[p - info.base] for p, _ in merged],
        [info.ends[p - info.base + length - 1] for p, length in merged],
    )


def _snippet_bounds(text: str, start: int, end: int, floor: int = 0) -> tuple[int, int]:
    """Where a snippet of ``text`` around ``[start, end)`` begins (not before ``floor``) and ends,
    at word boundaries."""
    lo = max(floor, start - SNIPPET_LEAD)
    if lo > floor:  # begin at a word
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
    text: str, lo: int, hi: int, starts: Sequence[int], ends: Sequence[int], floor: int = 0
) -> tuple[str, tuple[tuple[int, int], ...]]:
    """``text[lo:hi]`` on one line, marked where cut (after ``floor``), and where the spans given
    by ``starts`` and ``ends`` (sorted, not overlapping) fall in it."""
    raw = _ODD_SPACE_RE.sub(" ", text[lo:hi])  # newlines, tabs: one character for one
    lead = ELLIPSIS if lo > floor else ""
    tail = ELLIPSIS if hi < len(text) else ""
    if "  " not in raw and not raw.startswith(" ") and not raw.endswith(" "):  # usual: no change
        shift = len(lead) - lo
        spans = []
        for i in range(bisect_right(ends, lo), bisect_left(starts, hi)):
            a, b = starts[i], ends[i]
            spans.append(((a if a > lo else lo) + shift, (b if b < hi else hi) + shift))
        return lead + raw + tail, tuple(spans)
    # Collapse each run of spaces to one (none at the ends), noting how offsets move.
    out: list[str] = []
    breaks_at, breaks_to = [0], [0]
    previous = length = 0
    for space in _SPACE_RE.finditer(raw):
        out.append(raw[previous : space.start()])
        length += space.start() - previous
        if space.start() > 0 and space.end() < len(raw):
            out.append(" ")
            length += 1
        previous = space.end()
        breaks_at.append(space.end())
        breaks_to.append(length)
    out.append(raw[previous:])
    snippet = lead + "".join(out) + tail

    def moved(offset: int) -> int:
        i = bisect_right(breaks_at, offset) - 1
        return len(lead) + breaks_to[i] + max(0, offset - breaks_at[i])

    highlights = []
    for i in range(bisect_right(ends, lo), bisect_left(starts, hi)):
        a, b = moved(max(starts[i], lo) - lo), moved(min(ends[i], hi) - lo)
        if b > a:
            highlights.append((a, b))
    return snippet, tuple(highlights)


__all__ = [
    "ELLIPSIS",
    "MAX_OCCURRENCES",
    "Hit",
    "Query",
    "SearchIndex",
    "Where",
    "fold",
    "parse_query",
    "words_of",
]
