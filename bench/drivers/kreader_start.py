"""kreader's real start, headless: ``kreader.cli.main(argv)`` exactly as the ``kreader`` script runs it (argument
parsing, settings, library, store, imports), exiting right after the first frame that shows the opening
section's text at the pane's real width.

Headless comes from ``TEXTUAL_DRIVER`` (set by the benchmark), so the app is not touched. Environment switches:
``BENCH_WAIT_INDEX=1`` exits only once the search index is built (memory when settled);
``BENCH_NO_INDEX=1`` never builds the index (to show what building it costs the first paint).
"""

from __future__ import annotations

import os
import sys
from typing import Any

import _hook
from textual.screen import Screen

from kreader.widgets.section_view import SectionView

shown: dict[int, Any] = {}
_render_line = SectionView.render_line


def render_line(self: SectionView, y: int) -> Any:
    shown[id(self)] = self.layout_
    return _render_line(self, y)


SectionView.render_line = render_line  # type: ignore[method-assign]


def section_painted(screen: Screen[Any]) -> bool:
    for view in screen.query(SectionView):
        layout = view.layout_
        if layout is not None and shown.get(id(view)) is layout and layout.width == view.text_width:
            return True
    return False


wait_index = os.environ.get("BENCH_WAIT_INDEX") == "1"
if os.environ.get("BENCH_NO_INDEX") == "1":
    from kreader.app import KReaderApp

    KReaderApp.build_search_index = lambda self: None  # type: ignore[method-assign,assignment,return-value]


def painted(screen: Screen[Any]) -> bool:
    if not section_painted(screen):
        return False
    if wait_index:
        app: Any = screen.app

        def check() -> None:
            if app.search_index is not None:
                _hook.mark("index")
                app.exit()

        app.set_interval(0.005, check)
    return True


_hook.exit_on_paint = not wait_index
_hook.install(painted)

from kreader.cli import main  # noqa: E402  (after the hooks, as the real script imports it)

status = main(sys.argv[1:])
_hook.report(status=status)
sys.exit(status)
