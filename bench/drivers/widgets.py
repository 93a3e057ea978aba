"""A diagnostic baseline: the widgets kreader's reader screen is made of (Header, a Tree, a ScrollView drawing
lines with ``render_line``, Footer with bindings), with a dozen lines of plain text and no kreader code. It
separates what those Textual widgets cost at start-up from what kreader itself adds."""

from __future__ import annotations

from typing import Any, ClassVar

import _hook  # type: ignore[import-not-found]  # beside this script, not a package
from rich.segment import Segment
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Footer, Header, Tree

TEXT = [f"Line {n}: some words of a paragraph, as a reader would show them." for n in range(12)]


class Lines(ScrollView):
    def on_mount(self) -> None:
        self.virtual_size = Size(80, len(TEXT))

    def render_line(self, y: int) -> Strip:
        index = round(self.scroll_y) + y
        text = TEXT[index] if index < len(TEXT) else ""
        return Strip([Segment(text)]).crop_extend(0, self.size.width, self.rich_style)


class Widgets(App[None]):
    CSS = "#contents { width: 32; } #main { height: 1fr; }"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(key, key, key) for key in ("n", "p", "c", "slash", "b", "question_mark", "q", "t")
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            tree: Tree[Any] = Tree("Contents", id="contents")
            tree.show_root = False
            article = tree.root.add("An article", expand=True)
            for n in range(8):
                article.add_leaf(f"Section {n + 1}")
            tree.root.expand()
            yield tree
            yield Lines()
        yield Footer()


_hook.install(lambda screen: bool(screen.query(Lines)))
Widgets().run(headless=True)
_hook.report()
