"""kreader's real start, headless: ``kreader.cli.main(argv)`` exactly as the ``kreader`` script runs it (argument
parsing, settings, library, store, imports), exiting right after the first frame that shows the opening
section's text at the pane's real width.

Headless comes from ``TEXTUAL_DRIVER`` (set by the benchmark), so the app is not touched. Environment switches:
``BENCH_WAIT_INDEX=1`` exits only once the search index is built (memory when settled);
``BENCH_NO_INDEX=1`` never builds the index (to show what building it costs the first paint);
``BENCH_QUIT_DURING_INDEX=1`` quits as soon as the index build has started (how long quitting then takes);
``BENCH_VISIT_ALL=1`` opens every section of the article in turn after the first frame, one a tick, then exits
(peak memory with every section laid out once).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any

import _hook  # type: ignore[import-not-found]  # beside this script, not a package
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
        if layout is not None and layout.width == view.text_width and shown.get(id(view)) is layout:
            return True
    return False


def no_index(self: Any) -> None:
    """Stands in for `KReaderApp.build_search_index`."""


wait_index = os.environ.get("BENCH_WAIT_INDEX") == "1"
quit_in_build = os.environ.get("BENCH_QUIT_DURING_INDEX") == "1"
visit_all = os.environ.get("BENCH_VISIT_ALL") == "1"
from kreader.app import KReaderApp  # noqa: E402

if os.environ.get("BENCH_NO_INDEX") == "1":
    KReaderApp.build_search_index = no_index  # type: ignore[method-assign,assignment]
else:
    build_index = KReaderApp.build_search_index

    def build_index_noted(self: Any) -> Any:
        _hook.mark("index_start")  # to tell whether the build can slow the first paint
        return build_index(self)

    KReaderApp.build_search_index = build_index_noted  # type: ignore[method-assign]


def index_running(app: Any) -> bool:
    """Is the search index being built (in a Textual worker or a thread of the app's own)?"""
    if any(w.group == "search-index" and w.state.name == "RUNNING" for w in app.workers):
        return True
    return "index_start" in _hook.marks and any(
        "index" in thread.name for thread in threading.enumerate()
    )


def painted(screen: Screen[Any]) -> bool:
    if not section_painted(screen):
        return False
    app: Any = screen.app
    if wait_index:

        def check() -> None:
            if app.search_index is not None:
                _hook.mark("index")
                app.exit()

        app.set_interval(0.005, check)
    elif visit_all:
        reader: Any = screen
        pending = list(reader.article.sections) if reader.article is not None else []

        def visit_next() -> None:
            if not pending:
                _hook.mark("visited")
                app.exit()
                return
            reader.open(reader.article, pending.pop(0), save=False)

        app.set_interval(0.001, visit_next)
    elif quit_in_build:

        def quit_once_building() -> None:
            if index_running(app):
                _hook.mark("quit")  # as if the reader pressed q while the index is being built
                app.exit()
            elif time.monotonic() - _hook.marks["paint"] > 30:
                app.exit()  # the build never showed up: no "quit" mark, no figure

        app.set_interval(0.005, quit_once_building)
    return True


_hook.exit_on_paint = not (wait_index or quit_in_build or visit_all)
_hook.install(painted)

from kreader.cli import main  # noqa: E402  (after the hooks, as the real script imports it)

status = main(sys.argv[1:])
_hook.report(status=status)
sys.exit(status)
