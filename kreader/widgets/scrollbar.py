"""Scrollbars the Linux console can draw.

Textual draws the ends of a scrollbar's thumb with eighth blocks (``▁ ▂ ▃ ▄``, ``▏ ▎ ▍``) for a smoother
look; the console's fonts have none of them and would show a replacement glyph. While an app with the
``-console`` class renders, the thumb ends on whole cells instead, drawn with spaces in the thumb's colour.
"""

from __future__ import annotations

from typing import ClassVar

from rich.color import Color
from rich.segment import Segments
from textual._context import active_app
from textual.scrollbar import ScrollBar, ScrollBarRender

_BACK = Color.parse("#555555")
_BAR = Color.parse("bright_magenta")
CONSOLE_CLASS = "-console"
"""The app's class for the Linux console's character set (see `kreader.glyphs`)."""


class _WholeCellScrollBarRender(ScrollBarRender):
    VERTICAL_BARS: ClassVar[list[str]] = [" "] * 8
    HORIZONTAL_BARS: ClassVar[list[str]] = [" "] * 8


class GlyphAwareScrollBarRender(ScrollBarRender):
    """Textual's scrollbar, or the whole-cell one while a console-mode app renders."""

    @classmethod
    def render_bar(
        cls,
        size: int = 25,
        virtual_size: float = 50,
        window_size: float = 20,
        position: float = 0,
        thickness: int = 1,
        vertical: bool = True,
        back_color: Color = _BACK,
        bar_color: Color = _BAR,
    ) -> Segments:
        app = active_app.get(None)
        renderer = (
            _WholeCellScrollBarRender
            if app is not None and app.has_class(CONSOLE_CLASS)
            else ScrollBarRender
        )
        return renderer.render_bar(
            size, virtual_size, window_size, position, thickness, vertical, back_color, bar_color
        )


def install() -> None:
    """Draw every scrollbar with `GlyphAwareScrollBarRender` (the same as Textual's outside console mode)."""
    ScrollBar.renderer = GlyphAwareScrollBarRender
