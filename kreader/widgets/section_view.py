"""The section pane: draws a laid-out section line by line, so cost follows the screen, not the section."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.actions import SkipAction
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from kreader.i18n import N_
from kreader.layout import LINK_META, SectionLayout

STRIPS_KEPT = 512
"""Strips kept, over all layouts, for the lines drawn last: a few screens' worth.

A `Strip` starts out with seven caches of its own (about 1.5 KB before any use), so a `Strip` per line made a
laid-out section weigh about 2.5 KB a line, 45-60 times its Markdown, and the layout cache (and the kiosk,
which cycles through sections for days) grow accordingly. Layouts keep plain segment lists; only the lines
drawn last keep their `Strip`, so drawing a screen again still finds each line's caches warm.
"""
_strips: LRUCache[tuple[int, int], tuple[list[list[Segment]], Strip]] = LRUCache(STRIPS_KEPT)


def strip_of(layout: SectionLayout, index: int) -> Strip:
    """Line ``index`` of a layout as a `Strip`, from the shared cache of recently drawn lines."""
    key = (id(layout.lines), index)
    cached = _strips.get(key)
    if cached is not None and cached[0] is layout.lines:  # not a reused id
        return cached[1]
    strip = Strip(layout.lines[index])
    _strips[key] = (layout.lines, strip)
    return strip


LayoutProvider = Callable[[int], SectionLayout]
"""Lays the current section out for a given width (the screen owns content and cache)."""


class SectionView(ScrollView, can_focus=True):
    """Shows one section; posts where the reader is and which link was clicked."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "page_down", N_("Page down"), show=False),
        Binding("shift+space", "page_up", N_("Page up"), show=False),
        Binding("j", "scroll_down", N_("Down"), show=False),
        Binding("k", "scroll_up", N_("Up"), show=False),
        Binding("g", "scroll_home", N_("Top"), show=False),
        Binding("G", "scroll_end", N_("Bottom"), show=False),
    ]

    max_width: reactive[int | None] = reactive(None)
    """Widest text column in cells; None fills the pane."""

    @dataclass
    class AnchorChanged(Message):
        """The subsection at the top of the pane changed while scrolling."""

        view: SectionView
        anchor: str

    @dataclass
    class Scrolled(Message):
        """The reading position moved (for saving it)."""

        view: SectionView

    @dataclass
    class LinkClicked(Message):
        """A link in the text was clicked; the screen decides what that means."""

        view: SectionView
        href: str

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._provider: LayoutProvider | None = None
        self.layout_: SectionLayout | None = None
        self._anchor = ""
        self._left = 0
        self.highlight: tuple[int, int, int] | None = None
        """(line, first cell, end cell) of a search match to mark."""
        self._wanted: tuple[str, float] | None = None
        """A position asked for before the pane had a size, applied at the first layout."""
        self._asked: tuple[str, float, int] | None = None
        """The position last jumped to and the top line it gave; it stands until the reader scrolls."""
        self._jumping = False

    @property
    def text_width(self) -> int:
        """Cells available for text, after the scrollbar gutter and the reading-width limit."""
        available = max(10, self.scrollable_content_region.width)
        return min(available, self.max_width) if self.max_width else available

    def show(self, provider: LayoutProvider, anchor: str = "", fraction: float = 0.0) -> None:
        """Display a new section, starting at a saved position (or the top)."""
        self._provider = provider
        self.highlight = None
        self.layout_ = None
        self._asked = None
        self._wanted = (anchor, fraction)
        self._relayout()

    def restyle(self, provider: LayoutProvider) -> None:
        """Lay the same section out again (new colours), keeping the position and the search mark."""
        self._provider = provider
        self._relayout(keep_position=True)

    def go_to(self, anchor: str, fraction: float = 0.0) -> None:
        """Scroll so the given position is at the top of the pane."""
        if self.layout_ is None:
            self._wanted = (anchor, fraction)
            return
        self._jumping = True
        try:
            line = self.layout_.line_for(anchor, fraction)
            self._sync_size()
            self.scroll_to(y=line, animate=False, force=True)
        finally:
            self._jumping = False
        # Near the end of a section the text cannot scroll far enough to bring the position to the top. Until
        # the reader scrolls, the position (and the subsection the contents marks) stays the one asked for, so
        # a bookmark or a contents entry opened there is what `b` and the contents see.
        self._asked = (anchor, fraction, round(self.scroll_y))
        self._note_anchor()

    def go_to_line(self, line: int, *, center: bool = True) -> None:
        """Scroll so ``line`` is visible (centred when asked: where search puts a match).

        The line, not the top of the pane, is then the current place: the contents marks its subsection.
        """
        if self.layout_ is None:
            return
        y = line - (self.scrollable_content_region.height // 3 if center else 0)
        self.layout_.reach(max(0, y) + self.scrollable_content_region.height + 1)
        self._sync_size()
        self._jumping = True
        try:
            self.scroll_to(y=max(0, y), animate=False, force=True)
        finally:
            self._jumping = False
        self._asked = (*self.layout_.position_at(line), round(self.scroll_y))
        self._note_anchor()

    def position(self) -> tuple[str, float]:
        """The width-independent position of the top of the pane."""
        if self.layout_ is None:
            return "", 0.0
        top = round(self.scroll_y)
        if self._asked is not None and self._asked[2] == top:
            return self._asked[0], self._asked[1]
        return self.layout_.position_at(top)

    def _relayout(self, keep_position: bool = False) -> None:
        if self._provider is None or not self.is_mounted:
            return
        if not self.scrollable_content_region.width:
            # Textual has not sized the pane yet: a layout now would be at a made-up width, wasted work on a
            # long section. `on_resize` lays the text out once the real width is known.
            if keep_position and self._wanted is None and self.layout_ is not None:
                self._wanted = self.position()
            return
        wanted, self._wanted = self._wanted, None
        position = wanted or (self.position() if keep_position else None)
        width = self.text_width
        layout = self._provider(width)
        if self.layout_ is not None and self.highlight and layout.width != self.layout_.width:
            self.highlight = None
        self.layout_ = layout
        self._left = max(0, (max(10, self.scrollable_content_region.width) - width) // 2)
        self.virtual_size = Size(width + self._left, len(layout.lines))
        if position is not None:
            self.go_to(*position)
        self.refresh()
        if not layout.complete:
            self.call_after_refresh(self._grow, layout)

    def _sync_size(self) -> None:
        """The scrollable height follows a layout that is still growing."""
        if self.layout_ is not None and self.virtual_size.height != len(self.layout_.lines):
            self.virtual_size = Size(self.virtual_size.width, len(self.layout_.lines))

    def _grow(self, layout: SectionLayout) -> None:
        """Lay out the next subsection of the shown section, after the frame before it was painted."""
        if self.layout_ is not layout or layout.complete:
            return
        layout.grow()
        self._sync_size()
        if not layout.complete:
            self.call_after_refresh(self._grow, layout)

    def on_resize(self, event: events.Resize) -> None:
        if self.layout_ is None or self.layout_.width != self.text_width:
            self._relayout(keep_position=True)

    def watch_max_width(self) -> None:
        self._relayout(keep_position=True)

    def _lay_out_to(self, lines: int) -> None:
        """A layout still growing gets at least ``lines`` lines now (a key scrolls further than it has)."""
        if self.layout_ is not None and not self.layout_.complete:
            self.layout_.reach(lines)
            self._sync_size()

    def action_page_down(self) -> None:
        """A page down shows the next page in the very next frame: a reader would not miss the animation."""
        if not self.allow_vertical_scroll:
            raise SkipAction()
        self._lay_out_to(round(self.scroll_y) + 2 * self.scrollable_content_region.height + 1)
        self.scroll_page_down(animate=False)

    def action_scroll_end(self) -> None:
        if self.layout_ is not None and not self.layout_.complete:
            self.layout_.finish()
            self._sync_size()
        super().action_scroll_end()

    def action_page_up(self) -> None:
        if not self.allow_vertical_scroll:
            raise SkipAction()
        self.scroll_page_up(animate=False)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if round(old_value) != round(new_value):
            if not self._jumping:
                self._note_anchor()
            self.post_message(self.Scrolled(self))

    def _note_anchor(self) -> None:
        if self.layout_ is None:
            return
        anchor = self.position()[0]
        if anchor != self._anchor:
            self._anchor = anchor
            self.post_message(self.AnchorChanged(self, anchor))

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.scrollable_content_region.width
        base = self.rich_style
        layout = self.layout_
        if layout is None or index >= len(layout.lines):
            return Strip.blank(width, base)
        strip = strip_of(layout, index)
        if self.highlight and self.highlight[0] == index:
            _, start, end = self.highlight
            mark = Style(reverse=True, bold=True)
            before, match, after = strip.divide([start, end, strip.cell_length])[:3]
            strip = Strip.join([before, match.apply_style(mark), after])
        if self._left:
            strip = Strip.join([Strip([Segment(" " * self._left)]), strip])
        return strip.crop_extend(scroll_x, scroll_x + width, base).apply_style(base)

    def on_click(self, event: events.Click) -> None:
        href = event.style.meta.get(LINK_META) if event.style else None
        if href:
            event.stop()
            self.post_message(self.LinkClicked(self, str(href)))
