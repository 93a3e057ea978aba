"""What the reader looks like: the main view at two sizes in a dark and a light theme, the dialogs, the
message for a terminal that is too small.

Baselines live in ``tests/__snapshots__``; after a deliberate change of look, review the report and run
``pytest tests/test_reader_snapshots.py --snapshot-update``. Everything shown is fixed: the bundled article,
bookmarks with set creation times, no blinking cursor.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from helpers import CONTENT, build_app, ready_index
from textual.pilot import Pilot
from textual.widgets import Input

from kreader.app import KReaderApp, StartAt
from kreader.store import Bookmark, Store

DAY = 86400.0


def reader(tmp_path: Path, **kwargs: Any) -> KReaderApp:
    """The reader on the bundled article, with bookmarks in memory."""
    kwargs.setdefault("store", Store.in_memory())
    return build_app(tmp_path, CONTENT, **kwargs)


async def ready(pilot: Pilot[None]) -> None:
    """Wait for the search index, built in a thread shortly after the first frame."""
    app = pilot.app
    assert isinstance(app, KReaderApp)
    await ready_index(app)
    await pilot.pause()


async def type_in_field(pilot: Pilot[None], text: str) -> None:
    """Type into the focused input with its cursor held still (a blinking cursor is never stable)."""
    field = pilot.app.focused
    assert isinstance(field, Input)
    field.cursor_blink = False
    await pilot.press(*text)
    await pilot.pause()


@pytest.mark.parametrize("theme", ["textual-dark", "textual-light"])
@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_main_view(snap_compare: Any, tmp_path: Path, theme: str, size: tuple[int, int]) -> None:
    assert snap_compare(reader(tmp_path, theme=theme), terminal_size=size)


def test_main_view_high_contrast(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(reader(tmp_path, theme="kreader-contrast"), terminal_size=(80, 24))


def test_contents_follows_a_subsection(snap_compare: Any, tmp_path: Path) -> None:
    app = reader(tmp_path, start=StartAt("ketamine-ptsd", "how-it-may-work", "fear-extinction"))
    assert snap_compare(app, terminal_size=(100, 30))


def test_bookmarks_list(snap_compare: Any, tmp_path: Path) -> None:
    now = time.time()
    store = Store.in_memory()
    for bookmark in [
        Bookmark(
            1,
            "ketamine-ptsd",
            "history",
            "",
            0.0,
            "How ketamine may help treat PTSD",
            "History",
            "",
            now - 3 * DAY - 600,
        ),
        Bookmark(
            2,
            "ketamine-ptsd",
            "how-it-may-work",
            "fear-extinction",
            0.25,
            "How ketamine may help treat PTSD",
            "How it may work",
            "ask about the rodent studies",
            now - 2 * 3600 - 600,
        ),
    ]:
        store.restore(bookmark)  # with its id and creation time
    assert snap_compare(reader(tmp_path, store=store), press=["B"], terminal_size=(100, 30))


def test_search_results(snap_compare: Any, tmp_path: Path) -> None:
    async def search(pilot: Pilot[None]) -> None:
        await ready(pilot)
        await pilot.press("slash")
        await pilot.pause()
        await type_in_field(pilot, "ketamine")

    assert snap_compare(reader(tmp_path), terminal_size=(100, 30), run_before=search)


def test_search_match_in_the_text(snap_compare: Any, tmp_path: Path) -> None:
    async def search(pilot: Pilot[None]) -> None:
        await ready(pilot)
        await pilot.press("slash")
        await pilot.pause()
        await type_in_field(pilot, "rodent")
        await pilot.press("enter")
        await pilot.app.workers.wait_for_complete()  # the matches are counted in a thread
        await pilot.pause()

    assert snap_compare(reader(tmp_path), terminal_size=(100, 30), run_before=search)


def test_search_mode(snap_compare: Any, tmp_path: Path) -> None:
    """At 80x24: the search bar (query, "match 2 of N") above a footer of the search's keys."""

    async def search_and_step(pilot: Pilot[None]) -> None:
        await ready(pilot)
        await pilot.press("slash")
        await pilot.pause()
        await type_in_field(pilot, "nmda")
        await pilot.press("enter")
        await pilot.app.workers.wait_for_complete()
        await pilot.press("n")
        await pilot.pause()

    assert snap_compare(reader(tmp_path), terminal_size=(80, 24), run_before=search_and_step)


def test_help(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(reader(tmp_path), press=["question_mark"], terminal_size=(80, 24))


def test_terminal_too_small(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(reader(tmp_path), terminal_size=(30, 10))


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_main_view_in_spanish(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    """The Spanish edition and the interface in Spanish, in the middle of a subsection."""
    app = reader(
        tmp_path,
        language="es",
        start=StartAt("ketamine-ptsd", "how-it-may-work", "fear-extinction"),
    )
    assert snap_compare(app, terminal_size=size)


def test_help_in_spanish(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(
        reader(tmp_path, language="es"), press=["question_mark"], terminal_size=(80, 24)
    )
