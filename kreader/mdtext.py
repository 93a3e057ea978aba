"""Markdown as kreader reads it: one parser, the token fixes every view shares, and one converter to plain text.

* `markdown_parser`: CommonMark with tables, strikethrough and footnotes (mdit-py-plugins).
* `inline_text`: the one Markdown-inline-to-plain-text converter. Heading titles, the search index, ``kreader
  print --plain`` and ``kreader check`` all read inline Markdown through it (or through `tokens_text`, the same
  rules over tokens already parsed), so a word is the same word everywhere. Like `scan_headings` it has a quick
  path for the usual text (words, code spans, ``*emphasis*``, ``[links](url)``) that declines to markdown-it
  whenever it is not sure, and a differential fuzz test holds the two to the same answer.
* `prepare`: the tokens of a section as both the reader (Rich) and plain printing show them: footnotes as
  ``[1]`` markers with the notes at the end, task lists as ☐ / ☑, HTML blocks as their text (tables as tables,
  ``<br>`` as a line break, ``<details>`` as its summary in bold then its body), HTML comments gone.
* `definitions`: the link reference and footnote definitions of a whole file, so a section can be given the ones
  it uses that are written elsewhere (markdown-it only resolves definitions inside the text it parses).

This module never imports Textual or Rich.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.common.utils import isMdAsciiPunct, isPunctChar, isWhiteSpace
from markdown_it.token import Token

_md: MarkdownIt | None = None


def markdown_parser() -> MarkdownIt:
    """The shared markdown-it parser (CommonMark plus tables, strikethrough and footnotes)."""
    global _md
    if _md is None:
        from mdit_py_plugins.footnote import footnote_plugin

        _md = MarkdownIt("commonmark").enable(["table", "strikethrough"]).use(footnote_plugin)
    return _md


_text_md: MarkdownIt | None = None


def _text_parser() -> MarkdownIt:
    """The shared parser for `inline_text`, which keeps only words: a link's target is never normalized
    (percent-encoding and punycode took a sixth of the time indexing real package docs)."""
    global _text_md
    if _text_md is None:
        from mdit_py_plugins.footnote import footnote_plugin

        parser = MarkdownIt("commonmark").enable(["table", "strikethrough"]).use(footnote_plugin)
        parser.normalizeLink = lambda url: url  # type: ignore[method-assign]
        _text_md = parser
    return _text_md


# --- inline Markdown to plain text ----------------------------------------------------------------------------

_INLINE_SYNTAX_RE = re.compile(r"[\\`*_\[\]!<>&~\n\r\x00^]")
"""Characters that can make inline Markdown differ from its plain text (escapes, code, emphasis, links, images,
HTML, entities, strikethrough, line breaks, footnotes): without any, the text is its own plain text."""
_QUICK_DECLINE_RE = re.compile(
    r"[\n\r\x00\ue000-\ue07f]|!\[|\[\^|\^\[|~~|&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{0,31});"
)
"""What the quick path leaves to markdown-it: entities, images, strikethrough, line breaks, footnotes, and the
characters the stand-ins for escapes use (see `_MASKS`; and, see `_may_be_html`, HTML and autolinks). A lone
``~``, ``&`` or ``>`` is text to markdown-it too."""
_ESCAPE_RE = re.compile(r"\\([!-/:-@\[-`{-~])")
"""A backslash escape: a backslash before ASCII punctuation, which then stands for itself."""
_MASKS = "".join(chr(0xE000 + n) for n in range(128))
"""Stand-ins (private use) for escaped characters while the quick path reads a fragment: each is the
punctuation it replaces to the flanking rules, and markup to nothing."""


def _mask_escapes(text: str) -> str:
    """``text`` with each backslash escape outside code spans replaced by the stand-in of its character
    (see `_MASKS`). Read left to right as markdown-it does: an escape is taken before a backtick, and a run of
    backticks opens a code span (whose backslashes stay as they are) up to the next run of the same length."""
    out: list[str] = []
    at, n = 0, len(text)
    while at < n:
        escape = text.find("\\", at)
        tick = text.find("`", at)
        if escape < 0 and tick < 0:
            break
        if tick < 0 or 0 <= escape < tick:
            out.append(text[at:escape])
            match = _ESCAPE_RE.match(text, escape)
            if match is None:
                out.append("\\")
                at = escape + 1
            else:
                out.append(_MASKS[ord(match.group(1))])
                at = match.end()
            continue
        out.append(text[at:tick])
        run = _BACKTICKS_RE.match(text, tick)
        assert run is not None
        size = run.end() - tick
        close = _BACKTICKS_RE.search(text, run.end())
        while close is not None and close.end() - close.start() != size:
            close = _BACKTICKS_RE.search(text, close.end())
        if (
            close is None
        ):  # a run that opens no code span is text: masked, so nothing pairs it later
            out.append(_MASKS[ord("`")] * size)
            at = run.end()
        else:  # a code span, as written
            out.append(text[tick : close.end()])
            at = close.end()
    out.append(text[at:])
    return "".join(out)


def _unmask(text: str) -> str:
    """The escaped characters back in place of their stand-ins."""
    return "".join(
        chr(ord(char) - 0xE000) if "\ue000" <= char <= "\ue07f" else char for char in text
    )


def _may_be_html(text: str) -> bool:
    """Whether a ``<`` in ``text`` could open inline HTML or an autolink: every such construct starts with ``<``
    and a character that is not a space, and ends at a later ``>``. ``a < b`` and ``List<T`` are text."""
    last = text.rfind(">")
    at = text.find("<")
    while 0 <= at < last:
        following = text[at + 1 : at + 2]
        if following and not following.isspace():
            return True
        at = text.find("<", at + 1)
    return False


_BACKTICKS_RE = re.compile(r"`+")
_DELIMS_RE = re.compile(r"[*_]+")
_UNSAFE_SCHEME_RE = re.compile(r"(?:javascript|vbscript|file|data):", re.IGNORECASE)
_BRACKET_RE = re.compile(r"[\[\]`]")
_ODD_DESTINATION_RE = re.compile(r"[\s()`\"']")


def inline_text(
    markdown: str, references: dict[str, Any] | None = None, fallback: bool = True
) -> str:
    """Plain text of an inline Markdown fragment (a heading, a paragraph): emphasis, code and links unwrapped.

    ``references`` is markdown-it's ``env["references"]`` of the document, for ``[text][label]`` links. With
    ``fallback`` a fragment without any text (``<br>``, an HTML comment) is its own plain text, so a heading
    never has an empty title.
    """
    if not _INLINE_SYNTAX_RE.search(markdown):
        return markdown.strip()  # what the parse below gives, 50 times faster (50,000 headings)
    quick = _quick_text(markdown)  # it declines every reference link, so references never change it
    if quick is None:
        env: dict[str, Any] = {"references": references} if references else {}
        tokens = _text_parser().parseInline(markdown, env)
        quick = "".join(tokens_text(token.children or ()) for token in tokens)
    return quick.strip() or (markdown.strip() if fallback else "")


def tokens_text(children: Iterable[Token], targets: bool = False, breaks: str = " ") -> str:
    """Plain text of inline tokens (an ``inline`` token's children).

    With ``targets`` (printing) an external link is written ``text (target)`` and an image ``[image: alt]``;
    without, only the words a reader sees count (the link text, the image's description). A hard line break
    becomes ``breaks``; inline HTML tags go (``<br>`` is a break), their text stays.
    """
    parts: list[str] = []
    href = ""
    start = 0
    for child in children:
        kind = child.type
        if kind in ("text", "code_inline"):
            parts.append(child.content)
        elif kind == "softbreak":
            parts.append(" ")
        elif kind == "hardbreak":
            parts.append(breaks)
        elif kind == "link_open":
            href, start = str(child.attrs.get("href", "")), len(parts)
        elif kind == "link_close":
            if targets and href:
                parts.append(link_target("".join(parts[start:]), href))
            href = ""
        elif kind == "image":
            alt = tokens_text(child.children or ()).strip()
            if targets:
                parts.append(f"[image: {alt}]" if alt else "[image]")
            else:
                parts.append(alt)
        elif kind == "footnote_ref":
            parts.append(footnote_marker(child))
        elif kind == "html_inline" and _BR_RE.match(child.content):
            parts.append(breaks)
    return "".join(parts)


def link_target(text: str, href: str) -> str:
    """`` (target)`` for a link out of the library; nothing for ``#anchor``, ``other.md`` or a link whose text
    already is its target."""
    if not re.match(r"[A-Za-z][A-Za-z0-9+.-]*:|//", href):
        return ""
    shown = href.removeprefix("mailto:").removeprefix("tel:")
    text = text.strip()
    if text in {href, shown} or re.sub(r"^[a-z]+://", "", href) == text:
        return ""
    return f" ({shown})"


def footnote_marker(token: Token) -> str:
    """How a footnote reference is shown: ``[1]``, numbered in the order the text refers to them."""
    return f"[{int(token.meta.get('id', 0)) + 1}]"


_ASCII_SPACE = frozenset(" \t\n\x0b\x0c\r")
_ASCII_PUNCT = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def _kind(char: str) -> int:
    """0 for whitespace, 1 for punctuation, 2 for anything else, as markdown-it tells them."""
    if char < "\x80":
        return 0 if char in _ASCII_SPACE else 1 if char in _ASCII_PUNCT else 2
    if "\ue000" <= char <= "\ue07f":
        return 1  # an escaped character (see `_MASKS`): always ASCII punctuation
    if isWhiteSpace(ord(char)):
        return 0
    return 1 if isMdAsciiPunct(ord(char)) or isPunctChar(char) else 2


def _flanking(text: str, start: int, end: int, hi: int) -> tuple[bool, bool, bool, bool]:
    """markdown-it's ``scanDelims`` for the run ``text[start:end]`` parsed up to ``hi``:
    (left-flanking, right-flanking, punctuation before, punctuation after)."""
    last = _kind(text[start - 1]) if start > 0 else 0
    after = _kind(text[end]) if end < hi else 0
    left = not (after == 0 or (after == 1 and last == 2))
    right = not (last == 0 or (last == 1 and after == 2))
    return left, right, last == 1, after == 1


def _emphasis(
    text: str, runs: list[tuple[int, int]], hi: int, kept: dict[int, tuple[int, int]]
) -> bool:
    """Match the ``*``/``_`` runs of one level (parsed up to ``hi``) as markdown-it's ``balance_pairs`` does,
    recording in ``kept`` how many characters of each run stay text; False where the rules get subtle."""
    stack: list[list[Any]] = []  # [marker, remaining, run start]
    for start, end in runs:
        marker, size = text[start], end - start
        left, right, last_punct, next_punct = _flanking(text, start, end, hi)
        if marker == "_":
            can_open = left and (not right or last_punct)
            can_close = right and (not left or next_punct)
        else:
            can_open, can_close = left, right
        kept[start] = (end, size)
        if can_open and can_close:
            return False
        if can_close:
            while size and stack:
                entry = stack[-1]
                if entry[0] != marker:
                    if any(other[0] == marker for other in stack):
                        return False  # emphasis that crosses another
                    break
                used = min(size, entry[1])
                size -= used
                entry[1] -= used
                run_end, run_kept = kept[entry[2]]
                kept[entry[2]] = (run_end, run_kept - used)
                kept[start] = (end, kept[start][1] - used)
                if not entry[1]:
                    stack.pop()
        elif can_open:
            stack.append([marker, size, start])
    return True


def _quick_text(text: str) -> str | None:
    """`inline_text` for the usual text without a parse, or None when markdown-it must decide.

    Follows markdown-it's own order: code spans first (a backtick run closes at the next run of the same
    length), then ``[text](url)`` links (nothing fancier: no nested brackets, titles, spaces, references), then
    ``*``/``_`` emphasis by the flanking rules, with each link's text a level of its own. It declines runs that
    can both open and close and emphasis that crosses, where the CommonMark rules get subtle.
    """
    if _QUICK_DECLINE_RE.search(
        text
    ):  # on the text as written: an escaped "\\&amp;" is declined too
        return None
    masked = "\\" in text
    if masked:
        text = _mask_escapes(text)
    if "<" in text and _may_be_html(text):
        return None
    shown = _quick_shown(text)
    return _unmask(shown) if masked and shown is not None else shown


def _quick_shown(text: str) -> str | None:
    """`_quick_text` of a fragment whose escapes are masked and that nothing declines."""
    n = len(text)
    # 1. code spans: (start, end, shown text)
    codes: list[tuple[int, int, str]] = []
    if "`" in text:
        runs = list(_BACKTICKS_RE.finditer(text))
        used = -1
        for k, run in enumerate(runs):
            if k <= used:
                continue
            size = len(run.group())
            for m in range(k + 1, len(runs)):
                if len(runs[m].group()) == size:
                    body = text[run.end() : runs[m].start()]
                    if body.startswith(" ") and body.endswith(" ") and body.strip(" "):
                        body = body[1:-1]
                    codes.append((run.start(), runs[m].end(), body))
                    used = m
                    break
    code_starts = [start for start, _, _ in codes]
    code_at = {start: (end, body) for start, end, body in codes}

    def in_code(position: int) -> bool:
        if not codes:
            return False
        k = bisect_right(code_starts, position) - 1
        return k >= 0 and position < codes[k][1]

    # 2. links: (start of "[", end of label, end of ")")
    links: list[tuple[int, int, int]] = []
    at = text.find("[")
    while at >= 0:
        if in_code(at):
            at = text.find("[", at + 1)
            continue
        close = at + 1
        while True:
            found = _BRACKET_RE.search(text, close)
            if found is None:
                return None  # unclosed: markdown-it knows
            close = found.start()
            if close in code_at:
                close = code_at[close][0]
                continue
            if in_code(close) or text[close] == "`":
                close += 1
                continue
            break
        if text[close] == "[" or text[close + 1 : close + 2] != "(":
            return None  # nested brackets or a reference link: markdown-it knows
        stop = text.find(")", close + 2)
        if stop < 0:
            return None
        destination = text[close + 2 : stop]
        if (
            not destination
            or _ODD_DESTINATION_RE.search(destination)
            or _UNSAFE_SCHEME_RE.match(destination)
        ):
            return None
        links.append((at, close, stop + 1))
        at = text.find("[", stop + 1)

    # 3. emphasis, level by level: the top level (links standing as atoms) and each link's label
    kept: dict[int, tuple[int, int]] = {}  # run start -> (run end, characters that stay text)
    if "*" in text or "_" in text:
        # Each run goes to its level: the top (links standing as atoms), or the label of the link it is in.
        groups: dict[int, list[tuple[int, int]]] = {}  # label end (n for the top level) -> runs
        link_starts = [a for a, _, _ in links]
        for match in _DELIMS_RE.finditer(text):
            start = match.start()
            if codes and in_code(start):
                continue
            if "*" in match.group() and "_" in match.group():
                return None  # "**_": two runs side by side
            key = n
            if links:
                k = bisect_right(link_starts, start) - 1
                if k >= 0 and start < links[k][2]:
                    if start >= links[k][1]:
                        continue  # in the destination
                    key = links[k][1]
            groups.setdefault(key, []).append(match.span())
        for hi, level_runs in groups.items():
            if not _emphasis(text, level_runs, hi, kept):
                return None
    if not codes and not links and not kept:
        return text

    # 4. the text: delimiter runs cut to what stays, code spans by their content, links by their label
    events: list[tuple[int, int, str]] = []  # (start, end, shown instead)
    events += codes
    for a, b, c in links:
        events.append((a, a + 1, ""))
        events.append((b, c, ""))
    for start, (end, size) in kept.items():
        events.append((start, end, text[start] * size))
    events.sort()
    out: list[str] = []
    at = 0
    for start, end, shown in events:
        if start < at:
            continue  # inside a code span
        out.append(text[at:start])
        out.append(shown)
        at = end
    out.append(text[at:])
    return "".join(out)


# --- definitions anywhere in a file ---------------------------------------------------------------------------

_DEFINITION_HINT_RE = re.compile(r"^ {0,3}\[[^\]\n]+\]:", re.MULTILINE)
_DEFINITION_RE = re.compile(r" {0,3}\[(\^?)((?:[^\[\]\\\n]|\\.)+)\]:")
_FENCE_LINE_RE = re.compile(r" {0,3}(`{3,}|~{3,})")
_TITLE_LINE_RE = re.compile(r"[ \t]+[\"'(]")
_LABEL_USE_RE = re.compile(r"\[\^?((?:[^\[\]\\]|\\.)+)\]")


def normalize_label(label: str) -> str:
    """A reference label as markdown-it compares them: spaces collapsed, case folded."""
    return " ".join(label.split()).casefold()


@dataclass(frozen=True)
class Definition:
    """A link reference (``[label]: url``) or footnote (``[^label]: text``) definition, as written."""

    label: str
    """Normalized (see `normalize_label`)."""
    footnote: bool
    text: str
    """The definition's own lines, ending with a newline."""
    line: int
    """0-based line where it starts."""


def definitions(body: str) -> list[Definition]:
    """The reference and footnote definitions of a whole file, each as its source text.

    A line scan, not a parse (it runs before the first paint of any file that has one): column-0 fences are
    followed, a reference definition takes its next line when that holds the title, a footnote takes the
    indented lines after it. Each reference candidate is then confirmed by markdown-it on its own.
    """
    if not _DEFINITION_HINT_RE.search(body):
        return []
    lines = body.split("\n")
    found: list[Definition] = []
    fence = ""
    number = 0
    while number < len(lines):
        line = lines[number]
        fence_match = _FENCE_LINE_RE.match(line)
        if fence:
            marker = fence_match.group(1) if fence_match else ""
            if (
                marker[:1] == fence[0]
                and len(marker) >= len(fence)
                and not line.strip().strip(fence[0])
            ):
                fence = ""
            number += 1
            continue
        if fence_match:
            fence = fence_match.group(1)
            number += 1
            continue
        match = _DEFINITION_RE.match(line)
        if match is None:
            not line.strip()
            number += 1
            continue
        start = number
        number += 1
        if match.group(1):  # a footnote: its lazy and indented continuation lines
            while number < len(lines):
                following = lines[number]
                if following.strip() and not following.startswith((" ", "\t")):
                    if _DEFINITION_RE.match(following) or not lines[number - 1].strip():
                        break
                    if re.match(r" {0,3}(?:#|[-*+] |\d+[.)] |>|`{3}|~{3})", following):
                        break
                elif not following.strip():
                    after = lines[number + 1] if number + 1 < len(lines) else ""
                    if not after.startswith(("    ", "\t")):
                        break
                number += 1
        elif number < len(lines) and _TITLE_LINE_RE.match(lines[number]):
            number += 1
        text = "\n".join(lines[start:number]).rstrip() + "\n"
        if match.group(1) or _is_reference(text):
            found.append(
                Definition(normalize_label(match.group(2)), bool(match.group(1)), text, start)
            )
    return found


def _is_reference(text: str) -> bool:
    """Whether ``text`` is one link reference definition (markdown-it makes no token of one)."""
    env: dict[str, Any] = {}
    tokens: list[Token] = []
    md = markdown_parser()
    md.block.parse(text, md, env, tokens)
    return not tokens and bool(env.get("references"))


def references_of(lines: Iterable[str]) -> dict[str, Any]:
    """markdown-it's ``env["references"]`` for reference definition lines (titles on their own line kept)."""
    env: dict[str, Any] = {}
    text = "\n".join(lines)
    if text.strip():
        md = markdown_parser()
        md.block.parse(text, md, env, [])
    return dict(env.get("references") or {})


def labels_used(source: str) -> set[str]:
    """Normalized labels of every ``[...]`` in ``source``: the definitions it may need."""
    if "[" not in source:
        return set()
    return {normalize_label(match.group(1)) for match in _LABEL_USE_RE.finditer(source)}


def with_definitions(source: str, needed: Sequence[Definition]) -> str:
    """``source`` with ``needed`` definitions appended (after a blank line, so none continues a paragraph)."""
    if not needed:
        return source
    return source.rstrip("\n") + "\n\n" + "\n".join(d.text for d in needed)


# --- the tokens a section is shown from -----------------------------------------------------------------------

_BR_RE = re.compile(r"<br\s*/?>$", re.IGNORECASE)
_COMMENT_RE = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
_ANCHOR_ONLY_RE = re.compile(
    r"(?:\s*<a\s[^<>]*\b(?:id|name)\s*=[^<>]*>\s*(?:</a>)?)+\s*$", re.IGNORECASE
)
TASK_OPEN, TASK_DONE = "☐", "☑"
_IMG_ALT_RE = re.compile(r"<img\s[^<>]*?\balt\s*=\s*[\"']([^\"'<>]+)[\"']", re.IGNORECASE)


def parse(source: str) -> tuple[list[Token], dict[str, Any]]:
    """markdown-it's tokens of ``source`` and the environment (references, footnotes) they were parsed in."""
    env: dict[str, Any] = {}
    return markdown_parser().parse(source, env), env


def prepare(tokens: Sequence[Token]) -> list[Token]:
    """``tokens`` as kreader shows them, with only token types Rich's Markdown and the plain printer know:

    footnote references become ``[n]`` text and the notes a rule and ``[n] text`` paragraphs at the end, task
    list items start with ☐ or ☑, ``<br>`` is a line break, and each HTML block becomes the blocks of its text
    (`html_blocks`); HTML comments and bare ``<a id>`` anchors leave nothing behind.
    """
    out: list[Token] = []
    note = 0
    for index, token in enumerate(tokens):
        kind = token.type
        if kind == "inline":
            out.append(_inline_fixed(token, tokens[index - 2] if index >= 2 else None))
        elif kind == "html_block":
            out += html_blocks(token.content, token.map)
        elif kind == "footnote_block_open":
            out.append(Token("hr", "hr", 0, markup="---", map=token.map))
        elif kind == "footnote_open":
            note = int(token.meta.get("id", 0)) + 1
        elif kind in ("footnote_close", "footnote_block_close", "footnote_anchor"):
            continue
        elif kind == "paragraph_open" and note:
            out.append(token)
        else:
            out.append(token)
        if kind == "inline" and note:
            inline = out[-1]
            children = [Token("text", "", 0, content=f"[{note}] "), *(inline.children or ())]
            inline = _copy(inline, children=children, content=f"[{note}] {inline.content}")
            out[-1] = inline
            note = 0
    return _without_empty_paragraphs(out)


def _without_empty_paragraphs(tokens: list[Token]) -> list[Token]:
    """``tokens`` without paragraphs that show nothing (a line of ``<a id>`` anchors or comments)."""
    out: list[Token] = []
    skip = 0
    for index, token in enumerate(tokens):
        if skip:
            skip -= 1
            continue
        if (
            token.type == "paragraph_open"
            and index + 2 < len(tokens)
            and tokens[index + 1].type == "inline"
            and tokens[index + 2].type == "paragraph_close"
            and all(
                child.type in ("html_inline", "softbreak")
                or (child.type == "text" and not child.content.strip())
                for child in tokens[index + 1].children or ()
            )
        ):
            skip = 2
            continue
        out.append(token)
    return out


def shown_tokens(source: str, level: int = 2) -> list[Token]:
    """The prepared tokens of a section's ``source`` (see `prepare`), its headings shown one level per depth
    below the section's own (``##`` under a ``#`` section looks like ``###`` under a ``##`` one)."""
    tokens, _ = parse(source)
    out = prepare(tokens)
    shift = 2 - level
    if shift:
        for index, token in enumerate(out):
            if token.type in ("heading_open", "heading_close"):
                out[index] = _copy(token, tag=f"h{max(3, min(6, int(token.tag[1:]) + shift))}")
    return out


def _copy(token: Token, **changes: Any) -> Token:
    fields = token.as_dict(children=False)
    fields.pop("children", None)
    fields.update(changes)
    fields.setdefault("children", token.children)
    return Token(**fields)


def _inline_fixed(token: Token, item: Token | None) -> Token:
    """An inline token with footnote references as text, ``<br>`` as breaks, and a task box for a list item."""
    children = list(token.children or ())
    changed = False
    fixed: list[Token] = []
    for child in children:
        if child.type == "footnote_ref":
            fixed.append(Token("text", "", 0, content=footnote_marker(child)))
            changed = True
        elif child.type == "html_inline" and _BR_RE.match(child.content.strip()):
            fixed.append(Token("hardbreak", "br", 0))
            changed = True
        elif child.type == "html_inline" and child.content.startswith("<!--"):
            changed = True
        elif child.type == "html_inline" and (alt := _IMG_ALT_RE.match(child.content)):
            fixed.append(Token("text", "", 0, content=html_text(f"<i>{alt.group(1)}</i>")))
            changed = True
        else:
            fixed.append(child)
    if item is not None and item.type == "list_item_open" and fixed and fixed[0].type == "text":
        match = re.match(r"\[([ xX])\](?:[ \t]+|$)", fixed[0].content)
        if match:
            box = TASK_OPEN if match.group(1) == " " else TASK_DONE
            fixed[0] = Token("text", "", 0, content=f"{box} {fixed[0].content[match.end() :]}")
            changed = True
    return _copy(token, children=fixed) if changed else token


# --- HTML blocks as text --------------------------------------------------------------------------------------

_BLOCK_TAGS = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "center",
        "div",
        "dl",
        "dt",
        "dd",
        "figure",
        "figcaption",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "ul",
        "details",
    ]
)
_SKIP_TAGS = frozenset({"script", "style", "template", "head", "title"})


class _HtmlText(HTMLParser):
    """The text of an HTML fragment as blocks: ("p", [(text, style, href)...]), ("table", rows), ("pre", text)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[tuple[str, Any]] = []
        self.runs: list[tuple[str, str, str]] = []
        self.styles: list[str] = []
        self.href = ""
        self.skip = 0
        self.pre = 0
        self.table: list[list[tuple[str, bool]]] | None = None
        self.cell: list[str] | None = None
        self.cell_head = False
        self.summary = False

    def flush(self) -> None:
        text = "".join(run[0] for run in self.runs)
        if text.strip():
            kind = "pre" if self.pre else "p"
            self.blocks.append((kind, self.runs))
        self.runs = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self.skip += 1
        elif tag == "br":
            self._add("\n")
        elif tag == "table":
            self.flush()
            self.table = []
        elif tag == "tr" and self.table is not None:
            self.table.append([])
        elif tag in ("td", "th") and self.table is not None:
            self.cell, self.cell_head = [], tag == "th"
        elif tag == "img":
            alt = dict(attrs).get("alt") or ""
            if alt:
                self._add(alt)
        elif tag == "a":
            self.href = dict(attrs).get("href") or ""
        elif tag in ("b", "strong", "summary", "h1", "h2", "h3", "h4", "h5", "h6", "dt", "th"):
            if tag == "summary" or tag[0] == "h":
                self.flush()
            self.styles.append("strong")
        elif tag in ("i", "em", "cite"):
            self.styles.append("em")
        elif tag in ("code", "kbd", "tt", "samp"):
            self.styles.append("code")
        elif tag == "pre":
            self.flush()
            self.pre += 1
        elif tag == "li":
            self.flush()
            self._add("• ")
        elif tag in _BLOCK_TAGS:
            self.flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self.skip = max(0, self.skip - 1)
        elif tag in ("td", "th") and self.cell is not None and self.table is not None:
            if not self.table:
                self.table.append([])
            self.table[-1].append((" ".join("".join(self.cell).split()), self.cell_head))
            self.cell = None
        elif tag == "table" and self.table is not None:
            rows = [row for row in self.table if row]
            if rows:
                self.blocks.append(("table", rows))
            self.table = None
        elif tag == "a":
            self.href = ""
        elif tag in ("b", "strong", "summary", "h1", "h2", "h3", "h4", "h5", "h6", "dt", "th"):
            if self.styles:
                self.styles.pop()
            if tag == "summary" or tag[0] == "h":
                self.flush()
        elif tag in ("i", "em", "cite", "code", "kbd", "tt", "samp"):
            if self.styles:
                self.styles.pop()
        elif tag == "pre":
            self.flush()
            self.pre = max(0, self.pre - 1)
        elif tag in _BLOCK_TAGS:
            self.flush()

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if not self.pre:
            data = re.sub(r"\s+", " ", data)
        self._add(data)

    def _add(self, text: str) -> None:
        if self.cell is not None:
            self.cell.append(text)
        else:
            self.runs.append((text, self.styles[-1] if self.styles else "", self.href))


def html_text(html: str) -> str:
    """The words of an HTML fragment, tags and comments removed (for search and headings)."""
    parser = _HtmlText()
    parser.feed(_COMMENT_RE.sub("", html))
    parser.close()
    parser.flush()
    parts = []
    for kind, value in parser.blocks:
        if kind == "table":
            parts += [" ".join(cell for cell, _ in row) for row in value]
        else:
            parts.append("".join(run[0] for run in value).strip())
    return "\n".join(part for part in parts if part)


def html_is_simplified(html: str) -> bool:
    """Whether an HTML block shows differently from a browser's rendering: it has text (shown without its
    styling) or media. Comments, ``<a id>`` anchors and bare tags such as ``</details>`` lose nothing."""
    rest = _COMMENT_RE.sub("", html).strip()
    if not rest or _ANCHOR_ONLY_RE.match(rest):
        return False
    return bool(html_text(rest).strip()) or bool(_MEDIA_RE.search(rest))


_MEDIA_RE = re.compile(
    r"<(?:img|video|audio|iframe|svg|object|embed|picture|canvas|input|button|select)\b", re.I
)


def html_blocks(html: str, where: list[int] | None = None) -> list[Token]:
    """Tokens that show the text of an HTML block: paragraphs, code, and tables for ``<table>``."""
    parser = _HtmlText()
    parser.feed(_COMMENT_RE.sub("", html))
    parser.close()
    parser.flush()
    out: list[Token] = []
    for kind, value in parser.blocks:
        if kind == "table":
            out += _table_tokens(value, where)
        elif kind == "pre":
            text = "".join(run[0] for run in value).strip("\n") + "\n"
            out.append(Token("code_block", "code", 0, content=text, map=where, block=True))
        else:
            children = _run_tokens(value)
            if not children:
                continue
            content = "".join(c.content for c in children)
            out.append(Token("paragraph_open", "p", 1, map=where, block=True))
            out.append(
                Token("inline", "", 0, content=content, children=children, map=where, block=True)
            )
            out.append(Token("paragraph_close", "p", -1, block=True))
    return out


def _run_tokens(runs: Sequence[tuple[str, str, str]]) -> list[Token]:
    children: list[Token] = []
    text = "".join(run[0] for run in runs)
    strip_left = len(text) - len(text.lstrip(" "))
    total = len(text.rstrip(" "))
    at = 0
    for content, style, href in runs:
        start, end = at, at + len(content)
        at = end
        piece = content[max(0, strip_left - start) : max(0, total - start)]
        if not piece:
            continue
        for line_no, line in enumerate(piece.split("\n")):
            if line_no:
                children.append(Token("hardbreak", "br", 0))
            if not line:
                continue
            if href:
                children.append(Token("link_open", "a", 1, attrs={"href": href}))
            if style == "code":
                children.append(Token("code_inline", "code", 0, content=line, markup="`"))
            elif style:
                tag = "strong" if style == "strong" else "em"
                children.append(Token(f"{tag}_open", tag, 1))
                children.append(Token("text", "", 0, content=line))
                children.append(Token(f"{tag}_close", tag, -1))
            else:
                children.append(Token("text", "", 0, content=line))
            if href:
                children.append(Token("link_close", "a", -1))
    return children


def _table_tokens(rows: list[list[tuple[str, bool]]], where: list[int] | None) -> list[Token]:
    width = max(len(row) for row in rows)
    header_first = all(head for _, head in rows[0])
    header = rows[0] if header_first else [("", True)] * width
    body = rows[1:] if header_first else rows
    out = [Token("table_open", "table", 1, map=where, block=True)]

    def row_tokens(cells: list[tuple[str, bool]], cell_tag: str) -> Iterator[Token]:
        yield Token("tr_open", "tr", 1, block=True)
        for n in range(width):
            text = cells[n][0] if n < len(cells) else ""
            yield Token(f"{cell_tag}_open", cell_tag, 1, block=True)
            children = [Token("text", "", 0, content=text)] if text else []
            yield Token("inline", "", 0, content=text, children=children, block=True)
            yield Token(f"{cell_tag}_close", cell_tag, -1, block=True)
        yield Token("tr_close", "tr", -1, block=True)

    out.append(Token("thead_open", "thead", 1, block=True))
    out += row_tokens(header, "th")
    out.append(Token("thead_close", "thead", -1, block=True))
    out.append(Token("tbody_open", "tbody", 1, block=True))
    for row in body:
        out += row_tokens(row, "td")
    out.append(Token("tbody_close", "tbody", -1, block=True))
    out.append(Token("table_close", "table", -1, block=True))
    return out


__all__ = [
    "TASK_DONE",
    "TASK_OPEN",
    "Definition",
    "definitions",
    "html_blocks",
    "html_is_simplified",
    "html_text",
    "inline_text",
    "labels_used",
    "link_target",
    "markdown_parser",
    "normalize_label",
    "parse",
    "prepare",
    "references_of",
    "shown_tokens",
    "tokens_text",
    "with_definitions",
]
