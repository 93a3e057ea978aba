"""Editions: an article in other languages, sharing its source's ids.

An article's edition in another language lives beside the library, in a folder named by the language, under
the same file name: ``content/es/ketamine-ptsd.md`` is the Spanish edition of ``content/ketamine-ptsd.md``.
An edition has the same sections and subsections as its source, in the same order (``kreader check`` holds
it to that), so its sections and subsections are given their source's ids by position: a reading position, a
bookmark or a link (``#history``) means the same place in either language, and switching language keeps the
place. The edition's own heading slugs (``#historia``) still work as links inside it.

This module never imports Textual; reading an edition costs what reading an article costs (its sections are
split when first asked for).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import replace
from functools import cached_property
from pathlib import Path

from kreader.content import (
    OPENING_TITLE,
    Article,
    ContentError,
    Library,
    Section,
    Subsection,
    gc_paused,
    read_article,
    split_sections,
    unique_id,
)
from kreader.i18n import LANGUAGES, N_, SOURCE_LANGUAGE, translations

OPENING_TITLE_MESSAGE = N_("Overview")
"""The opening section's title, translated in each edition (the same words as `OPENING_TITLE`)."""
assert OPENING_TITLE_MESSAGE == OPENING_TITLE


class Edition(Article):
    """An article in another language: its own text and titles, its source's id and section ids."""

    from_file_alone = False

    def __init__(self, source: Article, translated: Article, language: str) -> None:
        meta = translated.meta
        if meta.order is None and source.meta.order is not None:
            meta = replace(meta, order=source.meta.order)  # both languages list articles alike
        if not meta.contact and source.meta.contact:
            meta = replace(
                meta, contact=source.meta.contact
            )  # the same clinic, whatever the language
        super().__init__(
            source.id,
            translated.path,
            translated.body,
            translated.body_line,
            meta,
            translated.title,
            translated.flattened,
        )
        self.source = source
        """The article this edition translates."""
        self.language = language

    def __repr__(self) -> str:
        return f"Edition({self.id!r}, {self.language!r}, title={self.title!r})"

    @cached_property
    def native_sections(self) -> tuple[Section, ...]:
        """The edition's sections with the ids its own headings give (``historia``)."""
        with gc_paused():
            return split_sections(self.body, self.body_line)

    @cached_property
    def sections(self) -> tuple[Section, ...]:  # type: ignore[override]
        """The edition's sections under their source's ids (see `shared_ids`)."""
        opening = translations(self.language).gettext(OPENING_TITLE_MESSAGE)
        return shared_ids(self.source.sections, self.native_sections, opening)

    @cached_property
    def _anchors(self) -> dict[str, tuple[Section, Subsection | None]]:  # type: ignore[override]
        """Source ids first, then the edition's own slugs, so links written in either language land."""
        anchors = dict(super()._anchors)
        for native, shared in zip(self.native_sections, self.sections, strict=True):
            anchors.setdefault(native.id, (shared, None))
            for own, sub in zip(native.subsections, shared.subsections, strict=True):
                anchors.setdefault(own.id, (shared, sub))
        return anchors


def shared_ids(
    source: tuple[Section, ...], native: tuple[Section, ...], opening_title: str = OPENING_TITLE
) -> tuple[Section, ...]:
    """``native`` (an edition's sections) with the ids of ``source`` (its source's), matched by position.

    Sections are matched in order, and subsections in order within their section; the parts a very large
    section is cut into count as one section. What has no counterpart (an edition with more sections than its
    source; ``kreader check`` reports it) keeps its own id, made unique. The opening section (text before the
    first ``## ``) is titled ``opening_title``.
    """
    # Ids of each whole section of the source: (section id, subsection ids across its parts).
    wholes: list[tuple[str, list[str]]] = []
    for section in source:
        if section.part <= 1:
            wholes.append((section.id, []))
        if wholes:
            wholes[-1][1].extend(sub.id for sub in section.subsections)
    taken = {id_ for section_id, subs in wholes for id_ in (section_id, *subs)}

    result: list[Section] = []
    whole = -1
    sub_index = 0
    for section in native:
        if section.part <= 1:
            whole += 1
            sub_index = 0
        match = wholes[whole] if 0 <= whole < len(wholes) else None
        subs: list[Subsection] = []
        for sub in section.subsections:
            shared = match[1][sub_index] if match and sub_index < len(match[1]) else None
            subs.append(Subsection(shared or unique_id(sub.id, taken), sub.title, sub.line))
            sub_index += 1
        section_id = (
            match[0] if match is not None and section.part <= 1 else unique_id(section.id, taken)
        )
        title = section.title
        if whole == 0 and section.part <= 1 and title == OPENING_TITLE:
            title = opening_title  # the section content.py names, not a heading of the edition
        result.append(
            Section(
                id=section_id,
                title=title,
                raw=section.raw,
                span=section.span,
                line=section.line,
                subsections=tuple(subs),
                part=section.part,
            )
        )
    return tuple(result)


def edition_folders(root: Path, languages: Iterable[str] = LANGUAGES) -> dict[str, Path]:
    """Language -> folder of editions, for each language (not the source's) with a folder in ``root``."""
    found = {}
    for language in languages:
        if language == SOURCE_LANGUAGE:
            continue
        folder = Path(root) / language
        if folder.is_dir():
            found[language] = folder
    return found


class Editions:
    """A library and its editions: the library to show in each language."""

    def __init__(
        self,
        source: Library,
        editions: dict[str, dict[str, Edition]],
        errors: dict[str, tuple[ContentError, ...]] | None = None,
    ) -> None:
        self.source = source
        """The library as read from its folder (in the source language)."""
        self.editions = editions
        """Language -> article id -> edition."""
        self.errors = errors or {}
        """Language -> edition files that could not be used."""
        self._libraries: dict[str, Library] = {}

    @property
    def languages(self) -> tuple[str, ...]:
        """The source language and every language with at least one edition."""
        return (SOURCE_LANGUAGE, *(lang for lang in LANGUAGES if self.editions.get(lang)))

    def edition(self, article_id: str, language: str) -> Article | None:
        """The article in ``language``: its edition, else the article itself (None if no such article)."""
        found = self.editions.get(language, {}).get(article_id)
        return found if found is not None else self.source.article(article_id)

    def library(self, language: str) -> Library:
        """The library in ``language``: each article's edition where there is one, else the article.

        Its root is the language's folder, so each language has its own search index cache.
        """
        if language == SOURCE_LANGUAGE or not self.editions.get(language):
            return self.source
        found = self._libraries.get(language)
        if found is None:
            editions = self.editions[language]
            found = Library(
                self.source.root / language,
                tuple(editions.get(article.id, article) for article in self.source.articles),
                self.source.errors + self.errors.get(language, ()),
            )
            self._libraries[language] = found
        return found


def load_editions(library: Library, languages: Iterable[str] = LANGUAGES) -> Editions:
    """Read the editions of ``library``'s articles from the language folders beside it.

    A file that cannot be used becomes a `ContentError` (that article then shows in its source language).
    """
    editions: dict[str, dict[str, Edition]] = {}
    errors: dict[str, tuple[ContentError, ...]] = {}
    for language, folder in edition_folders(library.root, languages).items():
        found: dict[str, Edition] = {}
        problems: list[ContentError] = []
        for article in library.articles:
            path = folder / article.path.name
            if not os.path.lexists(path):
                continue
            result = read_article(path, article.id, library.root)
            if isinstance(result, ContentError):
                problems.append(result)
            else:
                found[article.id] = Edition(article, result, language)
        if found:
            editions[language] = found
        if problems:
            errors[language] = tuple(problems)
    return Editions(library, editions, errors)


def editions_signature(root: Path) -> tuple[tuple[str, int, int], ...]:
    """Names, sizes and modification times of the edition files: changes when any edition does."""
    signature = []
    for language, folder in edition_folders(root).items():
        try:
            entries = sorted(folder.iterdir())
        except OSError:
            continue
        for path in entries:
            if path.suffix.lower() != ".md" or path.name.startswith("."):
                continue
            try:
                stat = path.stat()
            except OSError:
                continue
            signature.append((f"{language}/{path.name}", stat.st_size, stat.st_mtime_ns))
    return tuple(signature)
