"""Deterministic, realistic Markdown for the benchmarks.

Everything comes from a seeded `random.Random`, so the same sizes give byte-identical files on every machine:
a ``#`` title, ``##`` sections of a chosen size, ``###`` subsections, paragraphs with emphasis, inline code and
links (external and ``#anchor``), bullet and numbered lists, tables, fenced code and block quotes. Words follow a
Zipf-like distribution over a made-up vocabulary (with some accented words), so search sees common and rare
words as it would in real text.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

KB = 1024
MB = 1024 * KB

_SYLLABLES = [
    "ka",
    "ta",
    "mi",
    "ne",
    "ro",
    "lu",
    "pa",
    "se",
    "di",
    "vo",
    "ga",
    "re",
    "ti",
    "mo",
    "na",
    "ke",
    "la",
    "zu",
    "bi",
    "fe",
    "sho",
    "chan",
    "tri",
    "ex",
    "pla",
    "ver",
    "qui",
    "dro",
    "sen",
    "tal",
    "mor",
    "bel",
    "cor",
    "gen",
    "lin",
    "pos",
    "sta",
    "tra",
    "ment",
    "ion",
    "ical",
    "ous",
    "able",
]
_ENGLISH = [
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "that",
    "for",
    "it",
    "as",
    "was",
    "with",
    "be",
    "by",
    "on",
    "not",
    "he",
    "this",
    "are",
    "or",
    "his",
    "from",
    "at",
    "which",
    "but",
    "have",
    "an",
    "they",
    "you",
    "were",
    "her",
    "she",
    "there",
    "been",
    "one",
    "all",
    "we",
    "their",
    "has",
    "would",
    "when",
    "if",
    "so",
    "what",
    "no",
    "out",
    "up",
    "said",
    "about",
    "into",
    "than",
    "them",
    "can",
    "only",
    "other",
    "new",
    "some",
    "could",
    "time",
    "these",
    "two",
    "may",
    "then",
    "do",
    "first",
    "any",
    "my",
    "now",
    "such",
    "like",
    "our",
    "over",
    "man",
    "me",
    "even",
    "most",
    "made",
    "after",
    "also",
    "did",
    "many",
    "before",
    "must",
    "through",
    "back",
    "years",
    "where",
    "much",
    "your",
    "way",
    "well",
    "down",
    "should",
    "because",
    "each",
    "just",
    "those",
    "people",
    "how",
    "too",
    "little",
    "state",
    "good",
    "very",
    "make",
    "world",
    "still",
    "own",
    "see",
    "men",
    "work",
    "long",
    "get",
    "here",
    "between",
    "both",
    "life",
    "being",
    "under",
    "never",
    "day",
    "same",
    "another",
    "know",
    "while",
    "last",
    "might",
    "us",
    "great",
    "old",
    "year",
    "off",
    "come",
    "since",
    "against",
    "go",
    "came",
    "right",
    "used",
    "take",
    "three",
    "treatment",
    "patient",
    "dose",
    "therapy",
    "clinic",
    "research",
    "study",
    "trial",
    "effect",
    "symptoms",
    "memory",
    "brain",
    "receptor",
    "ketamine",
    "infusion",
    "session",
    "anxiety",
    "depression",
    "sleep",
]
_ACCENTED = (
    "café",
    "naïve",
    "résumé",
    "über",
    "façade",
    "jalapeño",
    "coöperate",
    "Zürich",
    "São",
    "Ærø",
)
_LANGS = ("python", "bash", "json", "toml", "")


def _vocabulary(rng: random.Random, size: int = 3000) -> list[str]:
    words = list(_ENGLISH)
    seen = set(words)
    while len(words) < size:
        word = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    words[len(_ENGLISH) + 50 : len(_ENGLISH) + 50] = list(_ACCENTED)
    return words


class _Writer:
    """Produces Markdown blocks from one seeded generator."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.vocab = _vocabulary(random.Random(1234))  # one vocabulary shared by every document
        weights = [1.0 / (rank + 1) ** 1.05 for rank in range(len(self.vocab))]
        self._cum: list[float] = []
        total = 0.0
        for weight in weights:
            total += weight
            self._cum.append(total)
        self.anchors: list[str] = []

    def words(self, n: int) -> list[str]:
        return self.rng.choices(self.vocab, cum_weights=self._cum, k=n)

    def phrase(self, lo: int, hi: int) -> str:
        return " ".join(self.words(self.rng.randint(lo, hi)))

    def title(self, lo: int = 2, hi: int = 6) -> str:
        text = self.phrase(lo, hi)
        return text[:1].upper() + text[1:]

    def sentence(self) -> str:
        parts: list[str] = []
        for word in self.words(self.rng.randint(6, 22)):
            roll = self.rng.random()
            if roll < 0.03:
                parts.append(f"**{word}**")
            elif roll < 0.05:
                parts.append(f"*{word}*")
            elif roll < 0.065:
                parts.append(f"`{word}_{self.rng.randint(0, 99)}`")
            elif roll < 0.08:
                parts.append(f"[{word}](https://example.org/{word}/{self.rng.randint(1, 999)})")
            elif roll < 0.085 and self.anchors:
                parts.append(f"[{word}](#{self.rng.choice(self.anchors)})")
            else:
                parts.append(word)
        text = " ".join(parts)
        return text[:1].upper() + text[1:] + self.rng.choice(".....?!;")

    def paragraph(self) -> str:
        text = " ".join(self.sentence() for _ in range(self.rng.randint(2, 7)))
        # wrap at about 100 columns, as hand-written Markdown usually is
        lines: list[str] = []
        line = ""
        for word in text.split(" "):
            if line and len(line) + 1 + len(word) > 100:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}" if line else word
        lines.append(line)
        return "\n".join(lines)

    def bullet_list(self) -> str:
        ordered = self.rng.random() < 0.35
        items = []
        for n in range(self.rng.randint(3, 8)):
            marker = f"{n + 1}." if ordered else "-"
            item = f"{marker} {self.sentence()}"
            if self.rng.random() < 0.15:
                item += f"\n   - {self.phrase(3, 8)}\n   - {self.phrase(3, 8)}"
            items.append(item)
        return "\n".join(items)

    def table(self) -> str:
        cols = self.rng.randint(2, 5)
        rows = self.rng.randint(3, 10)
        header = "| " + " | ".join(self.title(1, 2) for _ in range(cols)) + " |"
        rule = "| " + " | ".join("---" for _ in range(cols)) + " |"
        body = [
            "| "
            + " | ".join(
                self.phrase(1, 4) if self.rng.random() < 0.7 else str(self.rng.randint(1, 5000))
                for _ in range(cols)
            )
            + " |"
            for _ in range(rows)
        ]
        return "\n".join([header, rule, *body])

    def code(self) -> str:
        lang = self.rng.choice(_LANGS)
        lines = []
        for _ in range(self.rng.randint(3, 14)):
            a, b = self.words(2)
            indent = "    " * self.rng.randint(0, 2)
            lines.append(
                f"{indent}{a}_{b} = compute({self.rng.randint(0, 999)}, '{b}')  # {self.phrase(2, 5)}"
            )
        return f"```{lang}\n" + "\n".join(lines) + "\n```"

    def quote(self) -> str:
        return "> " + self.sentence() + "\n> " + self.sentence()

    def block(self) -> str:
        roll = self.rng.random()
        if roll < 0.55:
            return self.paragraph()
        if roll < 0.72:
            return self.bullet_list()
        if roll < 0.82:
            return self.table()
        if roll < 0.94:
            return self.code()
        return self.quote()

    def section(self, size: int) -> str:
        """A ``##`` section of about ``size`` bytes, with ``###`` subsections every 2-6 KB."""
        heading = self.title()
        self.anchors.append(_slug(heading))
        out = [f"## {heading}", self.paragraph()]
        length = sum(len(part.encode()) + 2 for part in out)
        next_sub = length + self.rng.randint(2 * KB, 6 * KB)
        while length < size:
            if length >= next_sub and size - length > KB:
                sub = self.title()
                self.anchors.append(_slug(sub))
                block = f"### {sub}\n\n{self.paragraph()}"
                next_sub = length + self.rng.randint(2 * KB, 6 * KB)
            else:
                block = self.block()
            out.append(block)
            length += len(block.encode()) + 2
        return "\n\n".join(out)


def _slug(text: str) -> str:
    return re.sub(r"\s", "-", re.sub(r"[^\w\- ]", "", text.strip().lower()))


def article(
    seed: int, section_sizes: Sequence[int], *, title: str = "", front_matter: bool = False
) -> str:
    """One article: a ``#`` title, a short opening, then one ``##`` section per size (bytes)."""
    writer = _Writer(seed)
    heading = title or writer.title(3, 7)
    parts = []
    if front_matter:
        parts.append(
            "+++\n"
            f'title = "{heading}"\n'
            f'summary = "{writer.phrase(8, 16)}"\n'
            f"order = {seed}\n"
            "reviewed = 2025-01-01\n"
            "+++\n"
        )
    parts.append(f"# {heading}\n\n{writer.paragraph()}\n")
    for size in section_sizes:
        parts.append(writer.section(size) + "\n")
    return "\n".join(parts)


def sizes_for(total: int, seed: int, lo: int = 3 * KB, hi: int = 12 * KB) -> list[int]:
    """Section sizes between ``lo`` and ``hi`` adding up to about ``total`` bytes."""
    rng = random.Random(seed)
    sizes: list[int] = []
    while sum(sizes) < total:
        sizes.append(min(rng.randint(lo, hi), max(lo, total - sum(sizes))))
    return sizes


@dataclass(frozen=True)
class Corpus:
    """Where the generated content lives: one folder per document or library (kreader reads folders)."""

    root: Path
    single: dict[str, Path]
    """Label (``6 KB``, ``100 KB``, ``1 MB``) -> folder holding that one article."""
    library: Path
    """The library folder (``library_size`` bytes in ``library_articles`` files)."""
    library_label: str
    sections: Path
    """Folder with one article whose sections are about ``section_sizes`` bytes (in that order)."""
    section_sizes: tuple[int, ...]
    big_library: Path
    """A larger library (12 MB of 150 files in the full suite)."""
    big_library_label: str
    many_sections: Path
    """Folder with one article of many short sections (900 KB of 700 in the full suite)."""
    many_sections_label: str


def label(size: int) -> str:
    return f"{size // MB} MB" if size >= MB and size % MB == 0 else f"{round(size / KB)} KB"


def sized_article(seed: int, size: int, lo: int, hi: int, *, front_matter: bool = False) -> str:
    """An article of about ``size`` bytes (within a few per cent) with sections of ``lo``-``hi`` bytes."""
    budget = size
    text = ""
    for _ in range(4):
        text = article(seed, sizes_for(budget, seed + 1, lo=lo, hi=hi), front_matter=front_matter)
        actual = len(text.encode())
        if abs(actual - size) <= size * 0.02:
            break
        budget = max(lo, budget + size - actual)
    return text


def many_sections_article(seed: int, size: int, count: int) -> str:
    """An article of about ``size`` bytes in exactly ``count`` ``##`` sections of varied length."""
    rng = random.Random(seed)
    shape = [rng.uniform(0.5, 1.5) for _ in range(count)]
    scale = size / sum(shape)
    text = ""
    for _ in range(4):
        text = article(seed, [max(200, round(s * scale)) for s in shape], title="Many sections")
        actual = len(text.encode())
        if abs(actual - size) <= size * 0.02:
            break
        scale *= size / actual
    return text


def _write_library(folder: Path, size: int, articles: int, seed: int, *, reuse: bool) -> None:
    folder.mkdir(exist_ok=True)
    per_article = size // articles
    for n in range(articles):
        path = folder / f"article-{n:03d}.md"
        if reuse and path.exists():  # deterministic, and the folder is named by its size: reused
            continue
        text = sized_article(seed + n, per_article, 3 * KB, 12 * KB, front_matter=True)
        path.write_text(text, encoding="utf-8")


def build(
    root: Path,
    singles: Sequence[int],
    library_size: int,
    library_articles: int,
    section_sizes: Sequence[int],
    big_library: tuple[int, int] = (12 * MB, 150),
    many_sections: tuple[int, int] = (900 * KB, 700),
) -> Corpus:
    """Write every document the benchmarks read under ``root``.

    ``big_library`` is (bytes, files); ``many_sections`` is (bytes, sections). Both are kept in folders named
    by their sizes, so a kept root (``--keep``) generates them once."""
    root.mkdir(parents=True, exist_ok=True)
    single: dict[str, Path] = {}
    for n, size in enumerate(singles):
        folder = root / f"single-{label(size).replace(' ', '').lower()}"
        folder.mkdir(exist_ok=True)
        section_max = 12 * KB if size > 8 * KB else 2 * KB
        text = sized_article(100 + n, size, section_max // 4, section_max)
        (folder / "article.md").write_text(text, encoding="utf-8")
        single[label(size)] = folder

    library = root / "library"
    _write_library(library, library_size, library_articles, 1000, reuse=False)

    big_size, big_files = big_library
    big = root / f"library-{label(big_size).replace(' ', '').lower()}-{big_files}"
    _write_library(big, big_size, big_files, 5000, reuse=True)

    many_size, many_count = many_sections
    many = root / f"sections-{label(many_size).replace(' ', '').lower()}-{many_count}"
    many.mkdir(exist_ok=True)
    many_path = many / "article.md"
    if not many_path.exists():
        many_path.write_text(many_sections_article(700, many_size, many_count), encoding="utf-8")

    sections = root / "sections"
    sections.mkdir(exist_ok=True)
    (sections / "sections.md").write_text(
        article(77, section_sizes, title="Section sizes"), encoding="utf-8"
    )
    return Corpus(
        root,
        single,
        library,
        label(library_size),
        sections,
        tuple(section_sizes),
        big,
        f"{label(big_size)}, {big_files} files",
        many,
        f"{label(many_size)}, {many_count} sections",
    )


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.glob("*.md"))
