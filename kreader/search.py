"""Full-text search over a library: an inverted index built once, answering each keystroke in milliseconds.

Matching ignores case and accents (`fold`), needs every query word (AND, any order), takes each word as a
prefix of indexed words (so ``keta`` finds ``ketamine``) and ``"quoted words"`` as a phrase. The index is built
from the plain text markdown-it gives, so Markdown syntax, link targets and code fence markers are never hits.

This module never imports Textual: the reader builds the index in a worker thread and the ``kreader search``
command uses it without a screen. A built `SearchIndex` is never changed, so any thread may query it.
"""

from __future__ import annotations

import heapq
import re
import unicodedata
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

from markdown_it.token import Token

from kreader.content import Library, Section, markdown_parser

MAX_QUERY_CHARS = 8192
"""Longer queries are cut here before anything else is done with them."""
MAX_TERMS = 32
"""Words and phrases of a query beyond this many are ignored."""
MAX_WORD_CHARS = 200
"""Query and indexed words are cut to this length."""
MAX_PHRASE_WORDS = 32
"""Words of one phrase beyond this many are ignored."""
MAX_EXPANSION_WORDS = 200
"""A prefix matching more indexed words than this uses only the most frequent of them."""
MAX_EXPANSION_PAIRS = 30_000
"""...and only as many as keep the (word, section) pairs to visit under this (short prefixes stay fast)."""
MAX_OCCURRENCES = 10_000
"""`SearchIndex.occurrences` stops after this many matches."""
SNIPPET_WIDTH = 90
"""Characters of section text around a match shown in a snippet (more if the match itself is longer)."""
SNIPPET_LEAD = 30
"""Characters of the snippet taken before the match."""
ELLIPSIS = "…"

Where = Literal["title", "heading", "body"]

# A word: letters and digits (not "_"), with any combining marks of decomposed (NFD) text kept inside it.
_WORD_RE = re.compile(
    r"[^\W_](?:[^\W_]|[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f])*"
)
_SPACE_RE = re.compile(r"\s+")
_ZONE_TITLE, _ZONE_HEADING, _ZONE_BODY, _ZONE_ARTICLE = 3.0, 2.0, 1.0, 0.5


def fold(text: str) -> str:
    """Case- and accent-insensitive form of ``text``: NFKD, combining marks dropped, casefolded.

    Folding is done character by character (no character's fold depends on its neighbours), so
    ``fold(a + b) == fold(a) + fold(b)``: the viewer can fold rendered lines and find the same matches.
    """
    if text.isascii():
        return text.lower()
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    if not text.isascii():  # casefold can produce new combining marks ("İ" -> "i̇")
        text = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in text if not unicodedata.combining(c))
    return text


def words_of(text: str) -> list[tuple[int, int, str]]:
    """(start, end, folded word) of every word of ``text``: the one tokenizer used for index and queries."""
    return [(m.start(), m.end(), fold(m.group())[:MAX_WORD_CHARS]) for m in _WORD_RE.finditer(text)]


# --- queries -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    """A parsed query: folded words matched as prefixes, and phrases of consecutive words.

    In a phrase every word but the last must be a whole indexed word; the last is a prefix, so a phrase
    being typed already matches.
    """

    terms: tuple[str, ...] = ()
    phrases: tuple[tuple[str, ...], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.terms or self.phrases)

    @property
    def atoms(self) -> tuple[tuple[str, ...], ...]:
        """Every term (as a one-word tuple) and phrase: each must match for a section to match."""
        return tuple((term,) for term in self.terms) + self.phrases


def parse_query(query: str) -> Query:
    """Split a query typed by a person into terms and phrases; never fails, whatever the text.

    ``"..."`` makes a phrase (an unclosed quote runs to the end). Outside quotes, a chunk without spaces
    that holds several words (``NMDA-receptor``, ``don't``, ``2.5``) is a phrase too, since that is how
    the text was indexed. Regular-expression characters are just punctuation. Lengths are capped (see
    `MAX_QUERY_CHARS`, `MAX_TERMS`, `MAX_WORD_CHARS`, `MAX_PHRASE_WORDS`).
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


# --- results -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    """One match: which section, a snippet to show, and enough to find the match in the rendered text."""

    article_id: str
    article_title: str
    section_id: str
    section_title: str
    score: float
    """Higher is better; only comparable between hits of one query."""
    snippet: str
    """Plain text around the match on one line, with `ELLIPSIS` where it was cut."""
    highlights: tuple[tuple[int, int], ...]
    """(start, end) character spans of ``snippet`` that matched the query."""
    where: Where
    """``title`` if the section title matched, else ``heading`` if the match is in a heading, else ``body``."""
    anchor: str
    """Id of the ``###`` subsection heading above the match, ``""`` if none."""
    term: str
    """The matched text exactly as in `SearchIndex.section_text` (a whole phrase for a phrase)."""
    occurrence: int
    """How many non-overlapping occurrences of ``fold(term)`` come before this one in
    ``fold(section_text)`` (0 = the first); -1 when the match is only in the section title."""
    fraction: float
    """Match's character offset divided by the length of the section text (0.0 for title-only hits)."""
    title_highlights: tuple[tuple[int, int], ...] = ()
    """(start, end) character spans of ``section_title`` that matched the query."""


# --- index structures --------------------------------------------------------------------------------------


class _Postings(NamedTuple):
    """Where one word occurs: the documents, and for document ``docs[i]`` the positions
    ``poss[offs[i]:offs[i + 1]]`` (global positions, ascending)."""

    docs: array[int]
    offs: array[int]
    poss: array[int]


class _Index:
    """An inverted index over documents whose words have global positions (documents never share one).

    A gap of one position is left between documents, and between blocks of one document, so a phrase
    never spans two paragraphs.
    """

    def __init__(self, postings: dict[str, _Postings], bases: array[int]) -> None:
        self.postings = postings
        self.vocab = sorted(postings)
        self.bases = bases
        """Global position of each document's first word."""

    def expand(self, prefix: str) -> list[str]:
        """Indexed words starting with ``prefix``, capped to the most frequent for very short prefixes."""
        lo = bisect_left(self.vocab, prefix)
        hi = bisect_left(self.vocab, prefix[:-1] + chr(ord(prefix[-1]) + 1)) if prefix else lo
        words = self.vocab[lo:hi]
        if len(words) <= 1:
            return words
        pairs = sum(len(self.postings[word].docs) for word in words)
        if len(words) <= MAX_EXPANSION_WORDS and pairs <= MAX_EXPANSION_PAIRS:
            return words
        ranked = sorted(words, key=lambda word: -len(self.postings[word].poss))
        if prefix in self.postings:  # the whole word typed always counts
            ranked.remove(prefix)
            ranked.insert(0, prefix)
        kept: list[str] = []
        pairs = 0
        for word in ranked[:MAX_EXPANSION_WORDS]:
            pairs += len(self.postings[word].docs)
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

    def positions(self, words: Sequence[str], docs: Collection[int]) -> dict[int, list[int]]:
        """Sorted positions of any of ``words`` in each of ``docs`` that holds one."""
        found: dict[int, list[int]] = {}
        for word in words:
            p = self.postings[word]
            if len(p.docs) <= 4 * len(docs):  # walk the word's documents
                for i, doc in enumerate(p.docs):
                    if doc in docs:
                        found.setdefault(doc, []).extend(p.poss[p.offs[i] : p.offs[i + 1]])
            else:  # look each wanted document up
                for doc in docs:
                    i = bisect_left(p.docs, doc)
                    if i < len(p.docs) and p.docs[i] == doc:
                        found.setdefault(doc, []).extend(p.poss[p.offs[i] : p.offs[i + 1]])
        if len(words) > 1:
            for positions in found.values():
                positions.sort()
        return found

    def phrase(self, words: Sequence[str]) -> dict[int, list[int]]:
        """Start positions of the phrase in each document: words in a row, the last one a prefix."""
        if words[0] not in self.postings:
            return {}
        starts = set(self.postings[words[0]].poss)
        for offset, word in enumerate(words[1:], start=1):
            if offset == len(words) - 1:
                choices = self.expand(word)
            else:
                choices = [word] if word in self.postings else []
            following: set[int] = set()
            for choice in choices:
                following.update(self.postings[choice].poss)
            if len(following) < len(starts):
                starts &= {position - offset for position in following}
            else:
                starts = {start for start in starts if start + offset in following}
            if not starts:
                return {}
        found: dict[int, list[int]] = {}
        for start in sorted(starts):
            found.setdefault(bisect_right(self.bases, start) - 1, []).append(start)
        return found


class _IndexBuilder:
    """Collects documents' words into an `_Index`."""

    def __init__(self) -> None:
        self._words: dict[str, tuple[list[int], list[int], list[int]]] = {}
        self._bases = array("I")
        self._next = 0

    def add(self, words: Sequence[str | None]) -> int:
        """Add the next document (``None`` marks a gap between blocks); returns its base position."""
        doc, base = len(self._bases), self._next
        self._bases.append(base)
        table = self._words
        for offset, word in enumerate(words):
            if word is None:
                continue
            entry = table.get(word)
            if entry is None:
                entry = table[word] = ([], [], [])
            docs, offs, poss = entry
            if not docs or docs[-1] != doc:
                docs.append(doc)
                offs.append(len(poss))
            poss.append(base + offset)
        self._next = base + len(words) + 1
        return base

    def build(self) -> _Index:
        postings = {
            word: _Postings(array("I", docs), array("I", [*offs, len(poss)]), array("I", poss))
            for word, (docs, offs, poss) in self._words.items()
        }
        return _Index(postings, self._bases)


@dataclass(frozen=True)
class _Doc:
    """One section as indexed: its plain text and where each of its words is."""

    article: int
    article_id: str
    article_title: str
    section_id: str
    section_title: str
    text: str
    folded: str
    """``fold(text)``."""
    lines: tuple[tuple[int, int], ...]
    """(offset in text, offset in folded) of each line start; empty when folding keeps offsets (ASCII)."""
    base: int
    """Global position of the first word in the body index."""
    starts: array[int]
    """Character offset in ``text`` where the word at each local position starts (gaps repeat)."""
    ends: array[int]
    headings: tuple[tuple[int, int], ...]
    """Local position ranges [start, end) of words inside headings."""
    anchors: tuple[tuple[int, str], ...]
    """(character offset, id) of each ``###`` subsection heading, in order."""
    title_words: tuple[tuple[int, int, str], ...]
    """`words_of` the section title."""

    def in_heading(self, local: int) -> bool:
        i = bisect_right(self.headings, (local, 1 << 62)) - 1
        return i >= 0 and self.headings[i][0] <= local < self.headings[i][1]

    def anchor_at(self, offset: int) -> str:
        i = bisect_right(self.anchors, (offset, "\U0010ffff")) - 1
        return self.anchors[i][1] if i >= 0 else ""

    def folded_offset(self, offset: int) -> int:
        """Offset in ``folded`` of character ``offset`` of ``text``."""
        if not self.lines:
            return offset
        i = bisect_right(self.lines, (offset, 1 << 62)) - 1
        start, folded_start = self.lines[i]
        return folded_start + len(fold(self.text[start:offset]))


class _Atom(NamedTuple):
    """How one term or phrase of a query matches the library."""

    words: tuple[str, ...]
    length: int
    """Words in it."""
    body_words: list[str]
    """Indexed words it expands to (terms only)."""
    phrase_hits: dict[int, list[int]] | None
    """Start positions per section (phrases only)."""
    body: set[int]
    heading: set[int]
    title: set[int]
    article: set[int]
    """Sections whose article title matches."""
    opening: set[int]
    """First section of each article whose title matches: it stands for the article."""
    exact: set[int]
    """Sections holding the term as a whole word (every section of ``body`` for phrases)."""


# --- Markdown to plain text --------------------------------------------------------------------------------


class _Block(NamedTuple):
    text: str
    heading: int
    """Heading level (1-6), 0 for other text."""
    anchor_line: int
    """Source line of a top-level ``###`` heading (a subsection), else -1."""


def _inline_text(children: Sequence[Token] | None) -> str:
    """What an inline token shows: text, code, link text and image descriptions; no markup, no URLs.

    Whitespace inside text is collapsed, and soft breaks become spaces, as Textual's Markdown shows them.
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


def _blocks(source: str) -> list[_Block]:
    """The plain text blocks of a section's Markdown, in order (via markdown-it, never regexes)."""
    blocks: list[_Block] = []
    heading, anchor_line = 0, -1
    for token in markdown_parser().parse(source):
        kind = token.type
        if kind == "heading_open":
            heading = int(token.tag[1:])
            top_h3 = heading == 3 and token.level == 0 and token.map
            anchor_line = token.map[0] if top_h3 and token.map else -1
        elif kind == "heading_close":
            heading, anchor_line = 0, -1
        elif kind == "inline":
            blocks.append(_Block(_inline_text(token.children), heading, anchor_line))
        elif kind in {"fence", "code_block"}:  # the code only: not the fence or its info string
            blocks.append(_Block(token.content.rstrip(), 0, -1))
    return blocks


# --- the index ---------------------------------------------------------------------------------------------


class SearchIndex:
    """The search index of one library. Build it once (`build`, slow-ish: run it off the UI thread), then
    query it as often as wanted from any thread: it is never modified after building."""

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
        self._by_id = {(doc.article_id, doc.section_id): n for n, doc in enumerate(self._docs)}

    @classmethod
    def build(cls, library: Library) -> SearchIndex:
        """Index every section of every article (splitting articles not yet split). Pure: touches no
        state but the library's own lazily split sections."""
        body, titles, article_titles = _IndexBuilder(), _IndexBuilder(), _IndexBuilder()
        headings: dict[str, set[int]] = {}
        docs: list[_Doc] = []
        article_docs: list[range] = []
        folds: dict[str, str] = {}  # raw word -> folded word, for this build only
        for article_index, article in enumerate(library.articles):
            article_titles.add([word for _, _, word in words_of(article.title)])
            first = len(docs)
            for section in article.sections:
                doc = len(docs)
                docs.append(
                    _index_section(
                        article_index,
                        article.id,
                        article.title,
                        section,
                        doc,
                        body,
                        titles,
                        headings,
                        folds,
                    )
                )
            article_docs.append(range(first, len(docs)))
        frozen = {word: frozenset(found) for word, found in headings.items()}
        return cls(docs, body.build(), titles.build(), article_titles.build(), frozen, article_docs)

    def __len__(self) -> int:
        """Number of sections indexed."""
        return len(self._docs)

    def section_text(self, article_id: str, section_id: str) -> str:
        """The plain text of a section that matches and snippets come from; `KeyError` if unknown."""
        return self._docs[self._by_id[(article_id, section_id)]].text

    # --- querying ----------------------------------------------------------------------------------------

    def search(self, query: str | Query, limit: int = 50) -> list[Hit]:
        """The best hit of each matching section, best first, at most ``limit`` of them.

        Sections whose title matches come first, then those matching in a heading, then in the body;
        among equals, sections where the query's words are closer together, then where they appear as
        whole words, then more often, then in reading order.
        """
        parsed = query if isinstance(query, Query) else parse_query(query)
        if not parsed or limit <= 0:
            return []
        matched = self._match(parsed)
        if matched is None:
            return []
        atoms, candidates, positions = matched
        scored = []
        for doc in candidates:
            score, location = self._score(doc, atoms, positions)
            scored.append((-score, doc, location))
        best = heapq.nsmallest(limit, scored, key=lambda item: (item[0], item[1]))
        return [self._hit(doc, -neg, location, atoms, positions) for neg, doc, location in best]

    def occurrences(self, query: str | Query) -> list[Hit]:
        """Every match in the text of every matching section, in reading order (article, section, then
        position), for stepping through them; at most `MAX_OCCURRENCES`. Title-only matches are not
        included, as they are not in `section_text`."""
        parsed = query if isinstance(query, Query) else parse_query(query)
        if not parsed:
            return []
        matched = self._match(parsed)
        if matched is None:
            return []
        atoms, candidates, positions = matched
        hits: list[Hit] = []
        for doc in sorted(candidates):
            matches = _merge(
                [
                    (p, atom.length)
                    for n, atom in enumerate(atoms)
                    for p in positions[n].get(doc, ())
                ]
            )
            if not matches:
                continue
            score, _ = self._score(doc, atoms, positions)
            for match in matches:
                hits.append(self._hit(doc, score, match, atoms, positions, matches))
                if len(hits) >= MAX_OCCURRENCES:
                    return hits
        return hits

    def _match(
        self, query: Query
    ) -> tuple[list[_Atom], set[int], list[dict[int, list[int]]]] | None:
        """The atoms of the query, the sections matching all of them, and each atom's body positions in
        those sections; ``None`` when nothing matches."""
        atoms: list[_Atom] = []
        for words in query.atoms:
            atom = self._atom(words)
            if not (atom.body or atom.title or atom.article):
                return None
            atoms.append(atom)
        candidates: set[int] | None = None
        own: set[int] = set()  # sections where at least one atom matches the section itself
        for atom in sorted(atoms, key=lambda a: len(a.body) + len(a.title) + len(a.article)):
            found = atom.body | atom.title | atom.article
            candidates = found if candidates is None else candidates & found
            if not candidates:
                return None
        for atom in atoms:
            own |= atom.body | atom.title | atom.opening
        candidates = (candidates or set()) & own
        if not candidates:
            return None
        positions: list[dict[int, list[int]]] = []
        for atom in atoms:
            if atom.phrase_hits is not None:
                positions.append({d: p for d, p in atom.phrase_hits.items() if d in candidates})
            else:
                positions.append(self._body.positions(atom.body_words, candidates))
        return atoms, candidates, positions

    def _atom(self, words: tuple[str, ...]) -> _Atom:
        body, titles, articles = self._body, self._titles, self._article_titles
        if len(words) == 1:
            expanded = body.expand(words[0])
            body_docs = body.docs(expanded)
            heading: set[int] = set()
            for word in expanded:
                heading.update(self._headings.get(word, ()))
            exact = set(body.postings[words[0]].docs) if words[0] in body.postings else set()
            title = titles.docs(titles.expand(words[0]))
            article_hits = articles.docs(articles.expand(words[0]))
            phrase_hits = None
        else:
            expanded = []
            phrase_hits = body.phrase(words)
            body_docs = set(phrase_hits)
            heading = {
                doc
                for doc, starts in phrase_hits.items()
                if any(self._docs[doc].in_heading(s - self._docs[doc].base) for s in starts)
            }
            exact = body_docs
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
            words,
            len(words),
            expanded,
            phrase_hits,
            body_docs,
            heading,
            title,
            in_articles,
            opening,
            exact,
        )

    def _score(
        self, doc: int, atoms: Sequence[_Atom], positions: Sequence[dict[int, list[int]]]
    ) -> tuple[float, tuple[int, int] | None]:
        """Score of a matching section and the (position, length) of the match to show (``None`` when
        only titles matched)."""
        zone = exact = 0.0
        count = 0
        lists: list[tuple[list[int], int]] = []
        for n, atom in enumerate(atoms):
            if doc in atom.title or doc in atom.opening:
                zone += _ZONE_TITLE
            elif doc in atom.heading:
                zone += _ZONE_HEADING
            elif doc in atom.body:
                zone += _ZONE_BODY
            else:
                zone += _ZONE_ARTICLE
            exact += doc in atom.exact
            found = positions[n].get(doc)
            if found:
                lists.append((found, atom.length))
                count += len(found)
        closeness, location = self._window(doc, lists)
        score = (
            100 * zone / len(atoms) + 10 * closeness + 2 * exact / len(atoms) + min(count, 50) / 50
        )
        return round(score, 4), location

    def _window(
        self, doc: int, lists: Sequence[tuple[list[int], int]]
    ) -> tuple[float, tuple[int, int] | None]:
        """Closeness (1.0 = adjacent) of the tightest window holding a match of every atom found in the
        body, and its first match (a heading match, then the earliest, among equally tight windows)."""
        if not lists:
            return 1.0, None
        info = self._docs[doc]
        if len(lists) == 1:
            found, length = lists[0]
            for position in found:
                if info.in_heading(position - info.base):
                    return 1.0, (position, length)
            return 1.0, (found[0], length)
        events = sorted(
            (p, p + length, n) for n, (found, length) in enumerate(lists) for p in found[:2000]
        )
        latest: dict[int, tuple[int, int]] = {}
        best: tuple[int, bool, int] | None = None
        location: tuple[int, int] | None = None
        for start, end, n in events:
            latest[n] = (start, end)
            if len(latest) < len(lists):
                continue
            first = min(latest.values())
            span = max(e for _, e in latest.values()) - first[0]
            key = (span, not info.in_heading(first[0] - info.base), first[0])
            if best is None or key < best:
                best, location = key, (first[0], first[1] - first[0])
        if best is None or location is None:
            return 1.0, (events[0][0], events[0][1] - events[0][0])
        gap = max(0, best[0] - sum(length for _, length in lists))
        return 1.0 / (1 + gap), location

    def _hit(
        self,
        doc: int,
        score: float,
        location: tuple[int, int] | None,
        atoms: Sequence[_Atom],
        positions: Sequence[dict[int, list[int]]],
        matches: Sequence[tuple[int, int]] | None = None,
    ) -> Hit:
        info = self._docs[doc]
        text = info.text
        if matches is None:
            matches = _merge(
                [
                    (p, atom.length)
                    for n, atom in enumerate(atoms)
                    for p in positions[n].get(doc, ())
                ]
            )
        spans = [
            (info.starts[p - info.base], info.ends[p - info.base + length - 1])
            for p, length in matches
        ]
        title_spans = _title_spans(info.title_words, atoms)
        in_title = any(doc in atom.title or doc in atom.opening for atom in atoms)
        if location is None:
            snippet, highlights = _snippet(text, 0, 0, [])
            if title_spans:
                term = info.section_title[title_spans[0][0] : title_spans[0][1]]
            else:  # the article's title matched: this is its opening section
                spans = _title_spans(words_of(info.article_title), atoms)
                term = info.article_title[spans[0][0] : spans[0][1]] if spans else ""
            return Hit(
                info.article_id,
                info.article_title,
                info.section_id,
                info.section_title,
                score,
                snippet,
                highlights,
                "title",
                "",
                term,
                -1,
                0.0,
                title_spans,
            )
        local = location[0] - info.base
        start, end = info.starts[local], info.ends[local + location[1] - 1]
        snippet, highlights = _snippet(text, start, end, spans)
        where: Where = "title" if in_title else "heading" if info.in_heading(local) else "body"
        term = text[start:end]
        folded_term = fold(term)
        occurrence = (
            info.folded.count(folded_term, 0, info.folded_offset(start)) if folded_term else 0
        )
        return Hit(
            info.article_id,
            info.article_title,
            info.section_id,
            info.section_title,
            score,
            snippet,
            highlights,
            where,
            info.anchor_at(start),
            term,
            occurrence,
            start / max(1, len(text)),
            title_spans,
        )


def _index_section(
    article: int,
    article_id: str,
    article_title: str,
    section: Section,
    doc: int,
    body: _IndexBuilder,
    titles: _IndexBuilder,
    headings: dict[str, set[int]],
    folds: dict[str, str],
) -> _Doc:
    """Turn one section into plain text and add its words to the builders."""
    pieces: list[str] = []
    words: list[str | None] = []
    starts, ends = array("I"), array("I")
    heading_ranges: list[tuple[int, int]] = []
    anchors: list[tuple[int, str]] = []
    sub_ids = {sub.line: sub.id for sub in section.subsections}
    unmatched = [sub.id for sub in section.subsections]
    offset = 0
    for block in _blocks(section.source):
        if pieces:
            pieces.append("\n")
            offset += 1
        if block.anchor_line >= 0:
            sub_id = sub_ids.get(block.anchor_line) or (unmatched[0] if unmatched else "")
            if sub_id:
                anchors.append((offset, sub_id))
                if sub_id in unmatched:
                    unmatched.remove(sub_id)
        first = len(words)
        for match in _WORD_RE.finditer(block.text):
            raw = match.group()
            word = folds.get(raw)
            if word is None:
                word = folds[raw] = fold(raw)[:MAX_WORD_CHARS]
            words.append(word)
            starts.append(offset + match.start())
            ends.append(offset + match.end())
            if block.heading:
                headings.setdefault(word, set()).add(doc)
        if block.heading and len(words) > first:
            heading_ranges.append((first, len(words)))
        if len(words) > first:  # a gap, so phrases stay inside one block
            words.append(None)
            starts.append(offset + len(block.text))
            ends.append(offset + len(block.text))
        pieces.append(block.text)
        offset += len(block.text)
    text = "".join(pieces)
    lines: tuple[tuple[int, int], ...] = ()
    if text.isascii():
        folded = text.lower()
    else:
        folded_lines, line_starts = [], []
        at = folded_at = 0
        for line in text.split("\n"):
            folded_line = fold(line)
            folded_lines.append(folded_line)
            line_starts.append((at, folded_at))
            at += len(line) + 1
            folded_at += len(folded_line) + 1
        folded, lines = "\n".join(folded_lines), tuple(line_starts)
    title_words = tuple(words_of(section.title))
    titles.add([word for _, _, word in title_words])
    return _Doc(
        article=article,
        article_id=article_id,
        article_title=article_title,
        section_id=section.id,
        section_title=section.title,
        text=text,
        folded=folded,
        lines=lines,
        base=body.add(words),
        starts=starts,
        ends=ends,
        headings=tuple(heading_ranges),
        anchors=tuple(anchors),
        title_words=title_words,
    )


def _merge(matches: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """(position, length) matches sorted, without ones starting inside an earlier match."""
    matches.sort(key=lambda m: (m[0], -m[1]))
    merged: list[tuple[int, int]] = []
    end = -1
    for position, length in matches:
        if position >= end:
            merged.append((position, length))
            end = position + length
    return merged


def _title_spans(
    title_words: Sequence[tuple[int, int, str]], atoms: Sequence[_Atom]
) -> tuple[tuple[int, int], ...]:
    """Character spans of the section title matched by any atom (checked directly: titles are short)."""
    spans: list[tuple[int, int]] = []
    for atom in atoms:
        *whole, last = atom.words
        for i in range(len(title_words) - len(whole)):
            if all(title_words[i + k][2] == word for k, word in enumerate(whole)) and title_words[
                i + len(whole)
            ][2].startswith(last):
                spans.append((title_words[i][0], title_words[i + len(whole)][1]))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return tuple(merged)


def _snippet(
    text: str, start: int, end: int, spans: Sequence[tuple[int, int]]
) -> tuple[str, tuple[tuple[int, int], ...]]:
    """A one-line excerpt of ``text`` around ``[start, end)`` and where ``spans`` fall in it."""
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
    raw = text[lo:hi]
    # Collapse each run of whitespace to one space (none at the ends), remembering how offsets move.
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
    lead = ELLIPSIS if lo > 0 else ""
    snippet = lead + "".join(out) + (ELLIPSIS if hi < len(text) else "")

    def moved(offset: int) -> int:
        i = bisect_right(breaks_at, offset) - 1
        return len(lead) + breaks_to[i] + max(0, offset - breaks_at[i])

    highlights = []
    for span_start, span_end in spans:
        if span_end <= lo or span_start >= hi:
            continue
        a, b = moved(max(span_start, lo) - lo), moved(min(span_end, hi) - lo)
        if b > a:
            highlights.append((a, b))
    return snippet, tuple(highlights)
