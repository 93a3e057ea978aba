"""Keep editions in step with their source: the same sections and subsections, the same facts.

An edition (``content/es/x.md``, see `kreader.editions`) is matched to its source by position, so a section
or subsection it lacks moves every id after it; and a translation must not lose or change a number, a year, a
phone number, an address or a link. Each finding names the edition's file and line. ``kreader check`` turns
findings into problems; this module never imports Textual (nor `kreader.check`, which imports it).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from kreader.content import Article, parsed_headings
from kreader.editions import edition_folders

Finding = tuple[Path, int, str, str]
"""(file, 1-based line, level, message), as `kreader.check.Problem` takes them."""

KNOWN_ADDITIONS: Mapping[str, Mapping[str, frozenset[str]]] = {
    # The 988 Suicide & Crisis Lifeline answers in Spanish: "press 2" when calling, or text AYUDA to 988. A
    # Spanish edition may say so where its source mentions 988 (only there), with these numbers.
    "es": {"988": frozenset({"2", "988"})},
}
"""Language -> a number in the source -> numbers an edition may add beside it."""

_PHONE_RE = re.compile(r"(?<![\w+])(?:\+?1[ .-]?)?\(?\d{3}\)?[ .-]?\d{3}[ .-]\d{4}(?![\w])")
_LINK_RE = re.compile(
    r"\]\(\s*<?(?P<href>[^)\s>]*)>?(?:\s+[\"'(][^)]*)?\)"  # [text](href "title")
    r"|<(?P<auto>(?:https?|mailto|tel):[^>\s]+)>"  # <https://...>
    r"|(?P<bare>\bhttps?://[^\s)>\]]+)"  # a bare address
)
_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*")
_CENTURY_RE = re.compile(r"\b(?:siglos?|siècles?|séculos?)\s+(?P<roman>[IVXLC]+)\b")
"""A century written in Roman numerals, as Spanish (French, Portuguese) write them: ``siglo XX``."""
_ROMAN = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100}


def roman_value(text: str) -> int:
    """``XX`` -> 20, ``XIX`` -> 19."""
    total = 0
    for index, char in enumerate(text):
        value = _ROMAN[char]
        following = _ROMAN[text[index + 1]] if index + 1 < len(text) else 0
        total += -value if value < following else value
    return total


def _number(text: str) -> str:
    """A number as written, in one form whatever its separators: ``1,000`` and ``1.000`` are ``1000``."""
    if re.fullmatch(r"\d{1,3}(?:[.,]\d{3})+", text):
        return re.sub(r"[.,]", "", text)
    return text.replace(",", ".")


@dataclass(frozen=True)
class Fact:
    """A number, phone number, address or link, and the file line it is on."""

    kind: str
    """``number``, ``phone number``, ``address`` or ``link``."""
    value: str
    """Its normal form (what is compared)."""
    shown: str
    """As written."""
    line: int


def facts_of_line(text: str, line: int, link_key: LinkKey) -> Iterator[Fact]:
    """The facts one line of Markdown states."""
    for match in _LINK_RE.finditer(text):
        href = match.group("href") or match.group("auto") or match.group("bare") or ""
        if href:
            yield Fact("link", link_key(href), href, line)
    # Numbers inside link targets are the links' own, not facts of the text.
    rest = _LINK_RE.sub(lambda m: "]" if m.group("href") is not None else " ", text)
    for match in _PHONE_RE.finditer(rest):
        digits = re.sub(r"\D", "", match.group(0))
        yield Fact("phone number", digits[-10:], match.group(0), line)
    rest = _PHONE_RE.sub(" ", rest)
    for match in _CENTURY_RE.finditer(rest):
        roman = match.group("roman")
        yield Fact("number", str(roman_value(roman)), match.group(0), line)
    for match in _NUMBER_RE.finditer(rest):
        yield Fact("number", _number(match.group(0)), match.group(0), line)


class LinkKey:
    """What a link points at, in ids both editions share (``#lo-que-viene`` and ``#what-comes-next`` are one)."""

    def __init__(self, article: Article, articles: Mapping[str, Article | None]) -> None:
        self.article = article
        self.articles = articles

    def __call__(self, href: str) -> str:
        parts = urlsplit(href)
        if parts.scheme or parts.netloc:
            return href
        target: Article | None = self.article
        name = ""
        if parts.path:
            name = unquote(parts.path).rsplit("/", 1)[-1]
            name = name[:-3] if name.lower().endswith(".md") else name
            target = self.articles.get(name)
        fragment = unquote(parts.fragment).lower()
        if fragment and target is not None:
            found = target.anchor(fragment)
            if found is not None:
                section, sub = found
                fragment = sub.id if sub is not None else section.id
        return f"{name}#{fragment}" if fragment else name


@dataclass(frozen=True)
class _Unit:
    """A whole section (all its parts) of one file: its title, first line and line range."""

    title: str
    line: int
    end: int
    """File line after its last line."""
    subsections: tuple[tuple[str, int], ...]
    """(title, file line) of each subsection."""


def _units(article: Article, text: str) -> list[_Unit]:
    lines = text.split("\n")
    h3_lines = [article.body_line + h[0] for h in parsed_headings(article.body) if h[2] == 3]
    wholes = [s for s in article.sections if s.part <= 1]
    starts = [s.line for s in wholes] + [len(lines) + 1]
    units = []
    h3 = 0
    for index, section in enumerate(wholes):
        end = starts[index + 1]
        subs = []
        while h3 < len(h3_lines) and h3_lines[h3] < end:
            if h3_lines[h3] >= section.line:
                subs.append((_title_at(lines, h3_lines[h3]), h3_lines[h3]))
            h3 += 1
        units.append(_Unit(section.title, section.line, end, tuple(subs)))
    return units


def _title_at(lines: list[str], line: int) -> str:
    return lines[line - 1].lstrip("#").strip() if 0 < line <= len(lines) else ""


def compare_edition(
    source: Article,
    source_text: str,
    edition: Article,
    edition_text: str,
    language: str,
    articles: Mapping[str, Mapping[str, Article | None]] | None = None,
) -> list[Finding]:
    """Where ``edition`` (its file's text ``edition_text``) falls out of step with ``source``.

    ``articles`` maps "source" and "edition" to the article ids of each language (for links between
    articles); ``source`` and ``edition`` are the articles themselves (the edition an `Edition`, so its
    links resolve to shared ids). Errors: a section or subsection missing (or added), a number, year, phone
    number, address or link lost, changed or added. Differences a translation needs are not errors: a
    century in Roman numerals (``siglo XX`` for "20th century"), the numbers in `KNOWN_ADDITIONS`, and
    front matter the edition leaves out (it keeps its source's order and contact).
    """
    path = edition.path
    source_name = source.path.name
    findings: list[Finding] = []
    source_units = _units(source, source_text)
    edition_units = _units(edition, edition_text)

    # Structure: the same sections, each with the same number of subsections.
    if len(edition_units) != len(source_units):
        fewer = len(edition_units) < len(source_units)
        where = edition_units[-1].line if fewer and edition_units else 1
        if not fewer:
            where = edition_units[len(source_units)].line
        findings.append(
            (
                path,
                where,
                "error",
                f"the edition has {len(edition_units)} sections where its source {source_name} has "
                f"{len(source_units)}: it must have every section of its source, in the same order "
                f"({'a section is missing' if fewer else 'this one is not in the source'})",
            )
        )
    for mine, theirs in zip(edition_units, source_units, strict=False):
        if len(mine.subsections) == len(theirs.subsections):
            continue
        lacking = len(mine.subsections) < len(theirs.subsections)
        titles = ", ".join(f"'{title}'" for title, _ in theirs.subsections)
        where = mine.line
        if not lacking:
            where = mine.subsections[len(theirs.subsections)][1]
        findings.append(
            (
                path,
                where,
                "error",
                f"section '{mine.title}' has {len(mine.subsections)} subsections where its source "
                f"'{theirs.title}' ({source_name}:{theirs.line}) has {len(theirs.subsections)} "
                f"({titles}): {'a subsection is missing' if lacking else 'one is not in the source'}",
            )
        )

    # Facts, section by section (the whole article if the sections do not match).
    by_language = articles or {}
    source_key = LinkKey(source, by_language.get("source", {}))
    edition_key = LinkKey(edition, by_language.get("edition", {}))
    source_lines = source_text.split("\n")
    edition_lines = edition_text.split("\n")
    if len(edition_units) == len(source_units):
        pairs = [
            ((s.line, s.end, s.title), (e.line, e.end, e.title))
            for s, e in zip(source_units, edition_units, strict=True)
        ]
    else:
        pairs = [
            ((source.body_line, len(source_lines) + 1, source.title),
             (edition.body_line, len(edition_lines) + 1, edition.title))
        ]  # fmt: skip
    # A changed phone number is a phone number fact; an address is words too, so it must be there exactly.
    contact = [source.contact.address] if source.contact.address else []
    for (s_start, s_end, _), (e_start, e_end, e_title) in pairs:
        source_facts = _facts(source_lines, s_start, s_end, source_key)
        edition_facts = _facts(edition_lines, e_start, e_end, edition_key)
        findings += _compare(
            source_facts,
            edition_facts,
            path,
            e_start,
            f"section '{e_title}'",
            source_name,
            language,
        )
        source_text_unit = "\n".join(source_lines[s_start - 1 : s_end - 1])
        edition_text_unit = "\n".join(edition_lines[e_start - 1 : e_end - 1])
        for value in contact:
            if value in source_text_unit and value not in edition_text_unit:
                findings.append(
                    (
                        path,
                        e_start,
                        "error",
                        f"section '{e_title}' lacks '{value}', which its source gives "
                        f"({source_name}:{_line_of(source_lines, value, s_start)}); write it exactly",
                    )
                )

    # Front matter: the same contact, and the same facts in the title, summary and disclaimer.
    keys = _front_matter_keys(edition_text)
    for name in ("address", "phone", "email", "url"):
        theirs_value = getattr(source.contact, name)
        mine_value = getattr(edition.meta.contact, name)
        if mine_value and mine_value != theirs_value:
            findings.append(
                (
                    path,
                    keys.get(name, 1),
                    "error",
                    f"contact {name} '{mine_value}' differs from its source's "
                    f"'{theirs_value}' ({source_name}); write it exactly as the source does",
                )
            )
    for name in ("title", "summary", "disclaimer"):
        theirs_text = getattr(source.meta, name)
        mine_text = getattr(edition.meta, name)
        if not mine_text:
            continue
        line = keys.get(name, 1)
        source_facts = list(facts_of_line(theirs_text, 1, source_key))
        edition_facts = [
            Fact(f.kind, f.value, f.shown, line) for f in facts_of_line(mine_text, 1, edition_key)
        ]
        findings += _compare(
            source_facts, edition_facts, path, line, f"'{name}'", source_name, language
        )
    return findings


def _facts(lines: list[str], start: int, end: int, key: LinkKey) -> list[Fact]:
    found: list[Fact] = []
    for number in range(start, min(end, len(lines) + 1)):
        found += facts_of_line(lines[number - 1], number, key)
    return found


def _line_of(lines: list[str], value: str, start: int) -> int:
    for number in range(start, len(lines) + 1):
        if value in lines[number - 1]:
            return number
    return start


def _compare(
    theirs: list[Fact],
    mine: list[Fact],
    path: Path,
    where: int,
    what: str,
    source_name: str,
    language: str,
) -> list[Finding]:
    """Facts of the source that the edition lost or changed, and facts it added."""
    findings: list[Finding] = []
    additions = KNOWN_ADDITIONS.get(language, {})
    allowed = {extra for fact in theirs for extra in additions.get(fact.value, ())}
    for kind in ("phone number", "link", "number"):
        source_facts = [f for f in theirs if f.kind == kind]
        edition_facts = [f for f in mine if f.kind == kind]
        lost = Counter(f.value for f in source_facts) - Counter(f.value for f in edition_facts)
        added = Counter(f.value for f in edition_facts) - Counter(f.value for f in source_facts)
        if kind == "number":
            added = Counter({value: n for value, n in added.items() if value not in allowed})
        missing = _first(source_facts, lost)
        extra = _first(edition_facts, added)
        for new, old in zip(extra, missing, strict=False):
            findings.append(
                (
                    path,
                    new.line,
                    "error",
                    f"{kind} '{new.shown}' differs from its source: {source_name}:{old.line} has "
                    f"'{old.shown}' here",
                )
            )
        for old in missing[len(extra) :]:
            findings.append(
                (
                    path,
                    where,
                    "error",
                    f"{what} lacks the {kind} '{old.shown}' of its source ({source_name}:{old.line})",
                )
            )
        for new in extra[len(missing) :]:
            findings.append(
                (
                    path,
                    new.line,
                    "error",
                    f"{kind} '{new.shown}' is not in its source ({source_name}): an edition states "
                    f"the same facts",
                )
            )
    return findings


def _first(facts: list[Fact], surplus: Counter[str]) -> list[Fact]:
    """The first ``surplus[value]`` facts of each value, in order (the ones to report)."""
    left = Counter(surplus)
    chosen = []
    for fact in facts:
        if left[fact.value] > 0:
            left[fact.value] -= 1
            chosen.append(fact)
    return chosen


def _front_matter_keys(text: str) -> dict[str, int]:
    """Key name (last part) -> line of the front matter where it is set."""
    lines = text.split("\n")
    found: dict[str, int] = {}
    if not lines or lines[0].strip() != "+++":
        return found
    for number, line in enumerate(lines[1:], start=2):
        if line.strip() == "+++":
            break
        match = re.match(r"\s*([A-Za-z_]+)\s*=", line)
        if match:
            found.setdefault(match.group(1), number)
    return found


def edition_files(root: Path) -> list[tuple[str, Path]]:
    """(language, file) of every edition in the language folders of the library in ``root``."""
    found = []
    for language, folder in edition_folders(root).items():
        try:
            entries = sorted(folder.iterdir())
        except OSError:
            continue
        found += [
            (language, path)
            for path in entries
            if path.suffix.lower() == ".md" and not path.name.startswith(".")
        ]
    return found
