"""Instrumentation shared by the benchmark's child processes (imported as a plain module, not via ``bench``).

- Headless Textual composes every frame but skips turning it into terminal bytes; `install` puts that step
  back (the frame is encoded with the app's console and thrown away), so "painted" costs what it would in a
  terminal, minus the write itself.
- `install(done)` calls ``done(screen)`` after every compositor refresh; the first time it returns True the
  time is recorded as the paint and the app is asked to exit.
- `report` writes the recorded times as JSON to the file named by ``BENCH_REPORT``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from typing import Any

from textual.app import App
from textual.screen import Screen

marks: dict[str, float] = {}
"""Name -> ``time.monotonic()`` when it happened."""
cpu: dict[str, float] = {}
"""Name -> CPU seconds the process had used by then (all threads, interpreter start-up included)."""
rss: dict[str, int | None] = {}
"""Name -> peak resident memory by then, in bytes."""
exit_on_paint = True
frame_bytes = 0


def install(done: Callable[[Screen[Any]], bool]) -> None:
    """Record the first frame for which ``done(screen)`` holds, then exit the app (if `exit_on_paint`)."""
    refresh = Screen._compositor_refresh
    display = App._display

    def _display(self: App[Any], screen: Screen[Any], renderable: Any) -> None:
        global frame_bytes
        display(self, screen, renderable)
        if self.is_headless and renderable is not None and hasattr(renderable, "render_segments"):
            frame_bytes += len(renderable.render_segments(self.console))

    def _compositor_refresh(self: Screen[Any]) -> None:
        refresh(self)
        if "paint" not in marks and self.is_current and done(self):
            mark("paint")
            if exit_on_paint:
                self.app.exit()

    App._display = _display  # type: ignore[method-assign]
    Screen._compositor_refresh = _compositor_refresh  # type: ignore[method-assign]


def mark(name: str) -> None:
    if name not in marks:
        marks[name] = time.monotonic()
        cpu[name] = time.process_time()
        rss[name] = peak_rss()


def peak_rss() -> int | None:
    """This process's peak resident memory so far (``VmHWM``), in bytes.

    The parent's view of a child's ``ru_maxrss`` is no good here: it also counts the parent's memory that
    the child shared between fork and exec (the bench's own).
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def report(**extra: Any) -> None:
    path = os.environ.get("BENCH_REPORT")
    if path:
        data = {
            "marks": marks,
            "cpu": cpu,
            "rss": rss,
            "frame_bytes": frame_bytes,
            "peak_rss": peak_rss(),
        }
        with open(path, "w", encoding="utf-8") as handle:
            json.dump({**data, **extra}, handle)
