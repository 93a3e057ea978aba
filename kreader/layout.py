"""Lay one section's Markdown out into styled lines for a given width and palette.

Rich's Markdown renderer does the typesetting; this module cuts the section at its ``###`` headings so every
subsection's first line is known (the contents pane follows the reader, ``#anchor`` links jump, bookmarks keep a
position that survives reflow), and turns links into click metadata so our code, never the terminal or a web
browser, decides what a click does. The result is cached by (section, width, palette).
"""

from __future__ import annotations

import io
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import ClassVar

from markdown_it.token import Token
from rich.console import Console, ConsoleOptions, RenderResult
from rich.markdown import ListElement, ListItem, Markdown, MarkdownElement
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from rich.theme import Theme

from kreader.content import Section
from kreader.mdtext import shown_tokens
from kreader.search import find_in_lines

LINK_META = "href"
"""Style meta key that carries a link's target on the segments of its text."""

FIRST_LINES = 100
"""Lines a section's layout starts with (`Layouts.start`): more than a screenful; the rest follows in slices."""


@dataclass(frozen=True)
class Palette:
    """The colours a layout is drawn with: derived from the app's theme, part of the cache key."""

    name: str
    dark: bool
    foreground: str
    primary: str
    secondary: str
    accent: str
    surface: str
    muted: str

    def rich_theme(self) -> Theme:
        """Rich styles for Markdown elements in this palette's colours.

        Light themes' accents are bright (orange on white in textual-light): there the secondary colour marks
        subheadings and list bullets, so they stay readable.
        """
        accent = self.accent if self.dark else self.secondary
        return Theme(
            {
                "markdown.h1": f"bold {self.primary}",
                "markdown.h2": f"bold underline {self.primary}",
                "markdown.h3": f"bold {accent}",
                "markdown.h4": f"bold italic {accent}",
                "markdown.h5": "italic",
                "markdown.h6": "italic",
                "markdown.link": f"underline {accent}",
                "markdown.link_url": f"underline {accent}",
                "markdown.code": f"bold {accent} on {self.surface}",
                "markdown.code_block": f"{self.foreground} on {self.surface}",
                "markdown.block_quote": f"italic {self.secondary}",
                "markdown.item.bullet": f"bold {accent}",
                "markdown.item.number": f"bold {accent}",
                "markdown.list": accent,
                "markdown.hr": self.muted,
                "markdown.table.border": self.muted,
                "markdown.table.header": f"bold {self.primary}",
            },
            inherit=True,
        )


@dataclass
class SectionLayout:
    """A section laid out at one width: its lines and where each subsection starts."""

    width: int
    lines: list[list[Segment]]
    """Each line's segments (the section pane turns the lines it draws into Textual strips)."""
    anchors: dict[str, int]
    """Subsection id -> first line; ``""`` is the section's top (line 0)."""
    plain: list[str]
    """Each line's text, for finding search matches."""
    _more: Iterator[None] | None = field(default=None, repr=False, compare=False)
    """Lays out the next subsection each step, while the layout is incomplete."""

    @property
    def complete(self) -> bool:
        """Is every line laid out? (`Layouts.start` gives the first screenful, `grow` the rest.)"""
        return self._more is None

    def grow(self) -> bool:
        """Lay out one more subsection; whether there is more to come."""
        if self._more is None:
            return False
        try:
            next(self._more)
        except StopIteration:
            self._more = None
        self.__dict__.pop("chunks", None)
        return self._more is not None

    def finish(self) -> SectionLayout:
        """Lay out everything that is left."""
        while self.grow():
            pass
        return self

    def reach(self, lines: int) -> None:
        """Lay out until there are at least ``lines`` lines (or all of them)."""
        while len(self.lines) < lines and self.grow():
            pass

    def _reach_anchor(self, anchor: str) -> None:
        """Lay out until the chunk of ``anchor`` is complete: the next one has started, or all is laid out."""
        while self._more is not None:
            if anchor in self.anchors and next(reversed(self.anchors)) != anchor:
                return
            self.grow()

    @cached_property
    def chunks(self) -> list[tuple[str, int, int]]:
        """(anchor, first line, end line) of the section top and of each subsection, in order.

        Computed once per layout: every scroll asks for it (the contents follows, the position is saved).
        """
        starts = sorted(self.anchors.items(), key=lambda item: item[1])
        out: list[tuple[str, int, int]] = []
        for index, (anchor, start) in enumerate(starts):
            end = starts[index + 1][1] if index + 1 < len(starts) else len(self.lines)
            out.append((anchor, start, max(end, start + 1)))
        return out

    def anchor_at(self, y: int) -> str:
        """The subsection that line ``y`` belongs to (``""`` before the first one)."""
        current = ""
        for anchor, start, _ in self.chunks:
            if start <= y:
                current = anchor
        return current

    def position_at(self, y: float) -> tuple[str, float]:
        """A width-independent position for line ``y``: (anchor, fraction of that chunk)."""
        for anchor, start, end in reversed(self.chunks):
            if start <= y:
                return anchor, min(1.0, max(0.0, (y - start) / (end - start)))
        return "", 0.0

    def line_for(self, anchor: str, fraction: float) -> int:
        """The line for a position made by `position_at`, at this width (unknown anchors: the top).

        An incomplete layout grows to hold the position and a screenful after it."""
        self._reach_anchor(anchor)
        line = self._line_for(anchor, fraction)
        self.reach(line + FIRST_LINES)
        return line

    def _line_for(self, anchor: str, fraction: float) -> int:
        for name, start, end in self.chunks:
            if name == anchor:
                return start + round(min(1.0, max(0.0, fraction)) * (end - start))
        return 0

    def find(
        self, term: str, occurrence: int = 0, near: float | None = None
    ) -> tuple[int, int, int] | None:
        """(line, first cell, end cell) of a match of ``term``, ignoring case and accents.

        Takes the ``occurrence``-th match, or with ``near`` (a fraction of the text) the match closest to it.
        Matching is per line, so a phrase broken across lines is found by its first word.
        """
        if near is None:
            # Matches are counted from the top, and lines are only ever added below: once a match after
            # the wanted one is laid out, the wanted one is where the whole layout would have it.
            while self._more is not None and find_in_lines(
                self.plain, term, occurrence + 1
            ) == find_in_lines(self.plain, term, occurrence):
                self.grow()
        else:
            self.finish()
        return find_in_lines(self.plain, term, occurrence, near)


class _NumberedList(ListElement):
    """A list that numbers its items as written: ``7.`` (or ``7)``), where Rich shows ``7``."""

    delimiter = "."

    @classmethod
    def create(cls, markdown: Markdown, token: Token) -> ListElement:
        element = cls(token.type, int(token.attrs.get("start", 1)))
        if token.type == "ordered_list_open":
            element.delimiter = token.markup or "."
        return element

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if self.list_type != "ordered_list_open":
            yield from super().__rich_console__(console, options)
            return
        first = 1 if self.list_start is None else self.list_start
        last = first + max(0, len(self.items) - 1)
        width = max(len(f"{first}{self.delimiter}"), len(f"{last}{self.delimiter}")) + 2
        for index, item in enumerate(self.items):
            yield from _numbered(item, console, options, f"{first + index}{self.delimiter}", width)


def _numbered(
    item: ListItem, console: Console, options: ConsoleOptions, number: str, width: int
) -> RenderResult:
    lines = console.render_lines(
        item.elements, options.update(width=options.max_width - width), style=item.style
    )
    style = console.get_style("markdown.item.number", default="none")
    numeral = Segment(number.rjust(width - 1) + " ", style)
    padding = Segment(" " * width, style)
    for index, line in enumerate(lines):
        yield padding if index else numeral
        yield from line
        yield Segment("\n")


class SectionMarkdown(Markdown):
    """Rich's Markdown renderer over tokens kreader already parsed and prepared (`kreader.mdtext.prepare`):
    one parse per section, whose references and footnotes resolve across its subsections."""

    elements: ClassVar[dict[str, type[MarkdownElement]]] = {
        **Markdown.elements,
        "ordered_list_open": _NumberedList,
        "bullet_list_open": _NumberedList,
    }

    def __init__(self, tokens: list[Token], code_theme: str = "monokai") -> None:
        self.markup = ""
        self.parsed = tokens
        self.code_theme = code_theme
        self.justify = None
        self.style = "none"
        self.hyperlinks = True
        self.inline_code_lexer = None
        self.inline_code_theme = code_theme


def _links_to_meta(segments: list[Segment]) -> list[Segment]:
    """Move each link target from the terminal hyperlink into click metadata.

    The terminal then never sees an OSC 8 link it could open by itself, and a click reaches our handler.
    """
    out: list[Segment] = []
    for text, style, control in segments:
        if style is not None and style.link:
            style = style.update_link(None) + Style.from_meta({LINK_META: style.link})
        out.append(Segment(text, style, control))
    return out


class Layouts:
    """Lays out sections and keeps the most recent results (by section, width and palette)."""

    def __init__(self, capacity: int = 64) -> None:
        self._cache: OrderedDict[tuple[Section, int, str], SectionLayout] = OrderedDict()
        self._capacity = capacity
        self._consoles: dict[str, Console] = {}

    def clear(self) -> None:
        """Forget every cached layout (the content changed)."""
        self._cache.clear()

    def get(self, section: Section, width: int, palette: Palette) -> SectionLayout:
        """The whole layout of ``section`` at ``width`` cells in ``palette``, from cache when possible."""
        return self.start(section, width, palette).finish()

    def start(
        self, section: Section, width: int, palette: Palette, first_lines: int = FIRST_LINES
    ) -> SectionLayout:
        """The layout of ``section``, from cache when possible, with at least its first ``first_lines``
        lines: the rest is laid out a subsection at a time by `SectionLayout.grow` (the section pane does
        it in idle slices) or when a position further down is asked for."""
        width = max(10, width)
        key = (section, width, palette.name)
        layout = self._cache.get(key)
        if layout is None:
            layout = SectionLayout(width, [], {"": 0}, [])
            layout._more = self._steps(section, width, palette, layout)
            layout.reach(first_lines)
            self._cache[key] = layout
            if len(self._cache) > self._capacity:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(key)
        return layout

    def _console(self, palette: Palette) -> Console:
        console = self._consoles.get(palette.name)
        if console is None:
            console = Console(
                file=io.StringIO(),
                force_terminal=True,
                color_system="truecolor",
                theme=palette.rich_theme(),
                legacy_windows=False,
                emoji=False,
                highlight=False,
            )
            self._consoles[palette.name] = console
        return console

    def _steps(
        self, section: Section, width: int, palette: Palette, layout: SectionLayout
    ) -> Iterator[None]:
        """Lay ``section`` out into ``layout``, one subsection a step (the title and the parse go first)."""
        console = self._console(palette)
        options = console.options.update_width(width)
        code_theme = "monokai" if palette.dark else "friendly"
        lines, plain, anchors = layout.lines, layout.plain, layout.anchors

        def add(renderable: Text | SectionMarkdown) -> None:
            for segments in console.render_lines(renderable, options, pad=False, new_lines=False):
                row = list(Segment.simplify(_links_to_meta(segments)))
                lines.append(row)
                plain.append("".join(segment.text for segment in row))

        title = Text(section.title, style=f"bold {palette.primary}")
        add(title)
        add(Text("━" * min(width, max(8, title.cell_len)), style=palette.primary))
        add(Text(""))

        tokens = shown_tokens(section.source, section.level)
        starts = {sub.line: sub.id for sub in section.subsections}
        cuts: list[tuple[int, str]] = [(0, "")]
        for index, token in enumerate(tokens):
            if (
                token.type == "heading_open"
                and token.level == 0
                and token.map
                and token.map[0] in starts
            ):
                cuts.append((index, starts.pop(token.map[0])))
        for number, (first, name) in enumerate(cuts):
            end = cuts[number + 1][0] if number + 1 < len(cuts) else len(tokens)
            if number and name:
                if lines and plain[-1].strip():
                    add(Text(""))
                anchors[name] = len(lines)
            if end > first:
                add(SectionMarkdown(tokens[first:end], code_theme=code_theme))
            if number + 1 < len(cuts):
                yield
        while plain and not plain[-1].strip():
            lines.pop()
            plain.pop()
