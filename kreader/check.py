"""Find problems in a library of articles before readers see them.

Used by ``kreader check`` and by the kiosk when its content folder changes. Every problem is a
`Problem` with the file's real 1-based line, printed as ``file:line: level: message`` (the form
editors jump to). This module never imports Textual.
"""

from __future__ import annotations

import ast
import difflib
import posixpath
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

from markdown_it.token import Token

from kreader.content import (
    MAX_LIST_DEPTH,
    MAX_QUOTE_DEPTH,
    Article,
    ContentError,
    LibraryError,
    gc_paused,
    library_files,
    parse_article,
    read_source,
    slugify,
    title_heading,
    unique_id,
)
from kreader.mdtext import html_is_simplified, inline_text, markdown_parser
from kreader.safetext import clean, find_controls
from kreader.tomlkey import key_line

Level = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One problem of one file: where it is, how bad, and what is wrong."""

    file: Path
    line: int
    """1-based line of the file."""
    level: Level
    """``error`` (readers will see something broken) or ``warning`` (works, but is likely wrong)."""
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.level}: {self.message}"

    def to_dict(self) -> dict[str, str | int]:
        """The problem as a JSON-ready mapping: ``file``, ``line``, ``level``, ``message``."""
        return {
            "file": str(self.file),
            "line": self.line,
            "level": self.level,
            "message": self.message,
        }


@dataclass(frozen=True)
class Report:
    """The result of checking one library folder."""

    root: Path
    files: tuple[Path, ...]
    """Every ``*.md`` file that was checked."""
    problems: tuple[Problem, ...] = field(default=())
    """Sorted by file, then line."""

    @property
    def errors(self) -> int:
        return sum(problem.level == "error" for problem in self.problems)

    @property
    def warnings(self) -> int:
        return sum(problem.level == "warning" for problem in self.problems)

    def exit_status(self, strict: bool = False) -> int:
        """0 when clean, 1 when there is an error (or, with ``strict``, a warning)."""
        return 1 if self.errors or (strict and self.warnings) else 0

    def summary(self) -> str:
        """``ok: 4 articles, no problems`` or ``3 errors, 2 warnings in 2 files (4 checked)``."""
        if not self.problems:
            return f"ok: {_plural(len(self.files), 'article')}, no problems"
        with_problems = len({problem.file for problem in self.problems})
        return (
            f"{_plural(self.errors, 'error')}, {_plural(self.warnings, 'warning')} "
            f"in {_plural(with_problems, 'file')} ({len(self.files)} checked)"
        )


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def check_library(root: Path) -> list[Problem]:
    """Every problem of the library in ``root``, sorted by file then line.

    Raises `LibraryError` when the folder is missing, is not a folder, cannot be listed or has no
    ``*.md`` file.
    """
    return list(check_report(root).problems)


def check_report(root: Path) -> Report:
    """Like `check_library`, with the list of files checked and a summary."""
    root = Path(root)
    files = library_files(root)
    if not files:
        raise LibraryError(f"{root}: no articles (*.md) in this folder")
    problems: list[Problem] = []
    articles: dict[str, Article | None] = {}  # article id -> article (None when it cannot be used)
    parsed: list[tuple[Article, list[Token]]] = []
    with gc_paused():
        for path in files:
            article, tokens, found = _check_file(path, root)
            articles.setdefault(path.stem, article)
            if article is not None:
                parsed.append((article, tokens))
            problems += found
        for article, tokens in parsed:
            problems += _check_links(article, tokens, articles)
        problems += _check_editions(root, articles)
    problems.sort(key=lambda problem: (str(problem.file), problem.line))
    return Report(root, tuple(files), tuple(problems))


def _check_file(path: Path, root: Path) -> tuple[Article | None, list[Token], list[Problem]]:
    """Read, decode and parse one file: (article, its full token stream, problems).

    Everything but links is checked here; links need every article of the library.
    """
    text = read_source(path, root)
    if isinstance(text, ContentError):
        reason = text.reason
        if reason.startswith("not valid UTF-8"):
            reason += "; save the file as UTF-8"
        return None, [], [_error(path, text.line, reason)]

    # Line endings as the content model reads them, so '\r' is not taken for a control character.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    problems = list(_check_controls(path, text))
    # Every problem of the file in one pass: a broken front matter is reported, and the rest is still checked.
    front: list[ContentError] = []
    result = parse_article(text, path, path.stem, front)
    for error in front:
        problems.append(
            Problem(
                path, error.line, "warning" if error.level == "warning" else "error", error.reason
            )
        )
    if isinstance(result, ContentError):
        level: Level = "warning" if result.level == "warning" else "error"
        return None, [], [*problems, Problem(path, result.line, level, result.reason)]
    article = result
    tokens = _link_tokens(article.body)
    if article.flattened:
        problems.append(
            _warning(
                path,
                article.flattened[0],
                f"lists or quotes nest too deeply ({len(article.flattened)} lines deeper than "
                f"{MAX_LIST_DEPTH} lists or {MAX_QUOTE_DEPTH} quotes); readers see them at that depth",
            )
        )
    problems += _check_front_matter(article, clean(text))
    problems += _check_structure(article, tokens)
    problems += _check_html(article, tokens)
    return article, tokens, problems


def _link_tokens(body: str) -> list[Token]:
    """markdown-it's tokens of ``body``, with inline children only where a link can be (``[`` or ``<``).

    Headings and links are all the checks need; parsing the inline content of every block as well took most
    of the time on a file of 50,000 headings.
    """
    md = markdown_parser()
    env: dict[str, object] = {}
    tokens: list[Token] = []
    with gc_paused():
        md.block.parse(body, md, env, tokens)
        for token in tokens:
            if token.type == "inline" and ("[" in token.content or "<" in token.content):
                token.children = []
                md.inline.parse(token.content, md, env, token.children)
    return tokens


def _error(path: Path, line: int, message: str) -> Problem:
    return Problem(path, line, "error", message)


def _warning(path: Path, line: int, message: str) -> Problem:
    return Problem(path, line, "warning", message)


def _check_controls(path: Path, text: str) -> Iterator[Problem]:
    """One warning per line with escape sequences or control characters (removed when shown)."""
    by_line: dict[int, list[str]] = {}
    notes: dict[int, str] = {}
    for line, shown in find_controls(text):
        by_line.setdefault(line, []).append(shown if len(shown) <= 40 else shown[:36] + "...'")
        raw: str = ast.literal_eval(shown)
        opens_string = (
            raw[:2] in {"\x1b]", "\x1bP", "\x1bX", "\x1b^", "\x1b_"}
            or raw[:1] in "\x90\x98\x9d\x9e\x9f"
        )
        if opens_string and not raw.endswith(("\x07", "\x1b\\", "\x9c")):
            notes[line] = "; it is never ended, so the rest of its line is removed too"
    for line, found in by_line.items():
        what = "control character or escape sequence" if len(found) == 1 else "control characters"
        yield _warning(
            path, line, f"{what} {', '.join(found)} will be removed{notes.get(line, '')}"
        )


# --- front matter ---------------------------------------------------------------------------------


def _yaml_key_lines(text: str) -> dict[str, int]:
    """Dotted key -> first file line where YAML front matter sets it (top-level keys, and those of one
    nested mapping); TOML front matter's lines come from `kreader.tomlkey`."""
    lines = text.split("\n")
    found: dict[str, int] = {}
    table = ""
    for number, line in enumerate(lines[1:], start=2):
        if line.rstrip() in ("---", "..."):
            break
        match = re.match(r"(\s*)([A-Za-z_][\w .-]*?)\s*:", line)
        if match:
            key = match.group(2)
            if match.group(1):
                found.setdefault(f"{table}.{key}" if table else key, number)
            else:
                table = key
                found.setdefault(key, number)
    return found


def _check_front_matter(article: Article, text: str) -> Iterator[Problem]:
    # The front matter's TOML: the lines between the '+++' fences, the second one just above the body.
    yaml = text.startswith("---")
    yaml_lines = _yaml_key_lines(text) if yaml else {}
    front_matter = "\n".join(text.split("\n")[1 : max(1, article.body_line - 2)])
    for key in article.meta.unknown_keys:
        if yaml:
            line = yaml_lines.get(key, 1)
        else:
            line = key_line(front_matter, tuple(key.split(".")), first_line=2) or 1
        known = "title, summary, order, reviewed, disclaimer, contact"
        if key.startswith("contact."):
            known = "name, address, phone, email, url"
        yield _warning(
            article.path, line, f"unknown front matter key '{key}' is ignored (known keys: {known})"
        )


# --- headings and sections ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Heading:
    line: int
    """File line."""
    level: int
    text: str


def _headings(article: Article, tokens: Sequence[Token]) -> list[_Heading]:
    """Top-level headings (not those inside lists or quotes, which never split sections)."""
    found = []
    for i, token in enumerate(tokens):
        if token.type == "heading_open" and token.level == 0 and token.map:
            text = inline_text(tokens[i + 1].content) if i + 1 < len(tokens) else ""
            found.append(_Heading(article.body_line + token.map[0], int(token.tag[1:]), text))
    return found


def _check_structure(article: Article, tokens: Sequence[Token]) -> Iterator[Problem]:
    path = article.path
    headings = _headings(article, tokens)
    as_tuples = [(h.line, h.line + 1, h.level, h.text) for h in headings]
    title = title_heading(as_tuples)

    has_h1 = any(h.level == 1 for h in headings)
    if not article.meta.title and not has_h1:
        yield _warning(
            path,
            1,
            f"no title: add title = \"...\" to the front matter or a '# ' heading; "
            f"readers see '{article.title}'",
        )

    for heading in headings:
        if not heading.text.strip():
            yield _warning(path, heading.line, "heading has no text")

    previous = 1  # the article's title is the level-1 heading, wherever it comes from
    for heading in headings:
        if heading.level > previous + 1:
            yield _warning(
                path,
                heading.line,
                f"heading level skips from {'#' * previous} to {'#' * heading.level} "
                f"(use {'#' * (previous + 1)} here)",
            )
        previous = heading.level

    sections = tuple(section for section in article.sections if section.part <= 1)
    split_at = sections[0].level if sections else 2
    splits = [h for h in headings if h.level == split_at and (title is None or h.line != title[0])]
    if len(sections) == 1 and not splits and not sections[0].source.strip():
        yield _warning(path, sections[0].line, "the article has no text")
    else:
        for section in sections:
            if not section.source.strip():
                yield _warning(path, section.line, f"section '{section.title}' is empty")

    # Every heading is a link target, with GitHub's ids: the first of a name keeps it, the next get -1, -2...
    # Only a section's is worth a warning: repeated subheadings ("Examples" under each function) are usual.
    first_use: dict[str, int] = {}
    taken: set[str] = set()
    for heading in headings:
        slug = slugify(heading.text)
        given = unique_id(slug, taken)
        if title is not None and heading.line == title[0]:
            first_use[slug] = heading.line
            continue
        if slug in first_use and heading.level == split_at:
            yield _warning(
                path,
                heading.line,
                f"duplicate section id '{slug}' (also on line {first_use[slug]}): links to "
                f"'#{slug}' go to the first one; this one's id becomes '{given}'",
            )
        else:
            first_use.setdefault(slug, heading.line)


def _check_html(article: Article, tokens: Sequence[Token]) -> Iterator[Problem]:
    """A warning for each HTML block, and each line of inline HTML tags, that readers see simplified."""
    path = article.path
    for token in tokens:
        if not token.map:
            continue
        line = article.body_line + token.map[0]
        if token.type == "html_block" and html_is_simplified(token.content):
            yield _warning(
                path,
                line,
                "HTML is shown as its text: tags are removed (tables, line breaks and <details> "
                "are kept as such); write it in Markdown to control how it looks",
            )
        elif token.type == "inline" and token.children:
            tags = sorted(
                {
                    match.group(1).lower()
                    for child in token.children
                    if child.type == "html_inline"
                    for match in [re.match(r"</?([A-Za-z][A-Za-z0-9-]*)", child.content)]
                    if match and match.group(1).lower() not in _KEPT_INLINE_TAGS
                }
            )
            if tags:
                shown = ", ".join(f"<{tag}>" for tag in tags)
                yield _warning(
                    path, line, f"inline HTML {shown} is removed; readers see only its text"
                )


_KEPT_INLINE_TAGS = frozenset({"br", "kbd", "a"})
"""Inline tags readers see as meant (a line break, a key) or that only mark a link target."""


# --- editions ----------------------------------------------------------------------------------


def _check_editions(root: Path, articles: dict[str, Article | None]) -> Iterator[Problem]:
    """Each edition (``es/x.md``) checked as an article, and against its source (`kreader.check_editions`)."""
    from kreader.check_editions import compare_edition, edition_files
    from kreader.editions import Edition

    by_language: dict[str, list[tuple[Path, Article | None, list[Token]]]] = {}
    for language, path in edition_files(root):
        article, tokens, found = _check_file(path, root)
        yield from found
        by_language.setdefault(language, []).append((path, article, tokens))
    for language, files in by_language.items():
        editions: dict[str, Article | None] = dict(articles)
        pending = []
        for path, article, tokens in files:
            source = articles.get(path.stem)
            if path.stem not in articles:
                yield _warning(
                    path,
                    1,
                    f"edition of no article: there is no {path.name} in the library folder, so "
                    f"readers never see this file",
                )
                continue
            if article is None or source is None:
                continue  # the file's (or its source's) own problems are reported on it
            edition = Edition(source, article, language)
            editions[path.stem] = edition
            pending.append((source, edition, tokens))
        for source, edition, tokens in pending:
            yield from _check_links(edition, tokens, editions)
            for file, line, level, message in compare_edition(
                source,
                clean(_text_of(source.path)),
                edition,
                clean(_text_of(edition.path)),
                language,
                {"source": articles, "edition": editions},
            ):
                yield Problem(file, line, "warning" if level == "warning" else "error", message)


def _text_of(path: Path) -> str:
    """A file's text as `_check_file` read it (it was readable then)."""
    text = read_source(path)
    if isinstance(text, ContentError):
        return ""
    return text.replace("\r\n", "\n").replace("\r", "\n")


# --- links ----------------------------------------------------------------------------------------


def _links(article: Article, tokens: Sequence[Token]) -> Iterator[tuple[int, str]]:
    """(file line, href) of every Markdown link of the article, from markdown-it's inline tokens."""
    for token in tokens:
        if token.type != "inline" or not token.map:
            continue
        offset = 0
        for child in token.children or ():
            if child.type in {"softbreak", "hardbreak"}:
                offset += 1
            elif child.type == "link_open":
                yield article.body_line + token.map[0] + offset, str(child.attrs.get("href", ""))
            else:
                offset += child.content.count("\n")


def _did_you_mean(word: str, choices: list[str], prefix: str = "") -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean '{prefix}{close[0]}'?)" if close else ""


def _check_links(
    article: Article, tokens: Sequence[Token], articles: dict[str, Article | None]
) -> Iterator[Problem]:
    """Links are followed as the reader follows them: ``other.md`` (or ``other``) names the article
    whose file is ``other.md``, folders in front of the name are ignored, anchors match in any case.
    """
    path = article.path
    for line, href in _links(article, tokens):
        parts = urlsplit(href)
        if parts.scheme or parts.netloc:
            continue  # external: shown to readers, never checked (and never opened by a kiosk)
        target_path = posixpath.normpath(unquote(parts.path)) if parts.path else ""
        anchor = unquote(parts.fragment)
        if not target_path and not anchor:
            yield _warning(path, line, f"link '{href}' has no target; it goes to the article's top")
            continue
        target: Article | None = article
        where = "this article"
        if target_path:
            name = target_path.rsplit("/", 1)[-1]
            article_id = name[:-3] if name.lower().endswith(".md") else name
            if article_id not in articles:
                hint = _did_you_mean(article_id, sorted(articles))
                yield _error(
                    path,
                    line,
                    f"link to '{href}' leads nowhere: no article '{article_id}' "
                    f"(file {article_id}.md) in the library{hint}",
                )
                continue
            if "/" in target_path:
                yield _warning(
                    path,
                    line,
                    f"link to '{href}' names a folder; kreader opens '{article_id}.md' from this "
                    f"library, but other programs will not: write '{article_id}.md' instead",
                )
            target = articles[article_id]
            where = f"'{article_id}.md'"
            if target is None:
                continue  # that file's own problems are reported on it
        if anchor and target is not None and target.anchor(anchor.lower()) is None:
            hint = _did_you_mean(anchor.lower(), target.anchor_ids(), "#")
            yield _error(
                path,
                line,
                f"link to '{href}' leads nowhere: "
                f"no section or subsection '{anchor}' in {where}{hint}",
            )
