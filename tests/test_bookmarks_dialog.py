"""The bookmarks dialog over a real store of 100,000 bookmarks: it reads a page at a time (issue 11, item 9).

It took 9-12 s to open when it built a row for every bookmark. These tests assert on laziness, not on
time: the list holds one page until the highlight or the view comes near its end.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from helpers import build_app, shown
from textual.screen import Screen
from textual.widgets import OptionList, Static

from kreader.app import KReaderApp
from kreader.screens.bookmarks import PAGE, BookmarksScreen
from kreader.store import DB_NAME, Store, open_store

COUNT = 100_000
SIZE = (80, 24)


def big_store(folder: Path) -> Store:
    """A real bookmarks file of `COUNT` rows (written straight into SQLite, which takes a second rather than
    the import's dozen); the newest, created last, is in alpha's "Start here"."""
    open_store(folder).close()  # the schema, as kreader makes it
    rows = [
        ("beta" if n % 2 else "alpha", f"section-{n}", "", 0.0, 0, "Article", f"Section {n}", "", n)
        for n in range(1, COUNT)
    ]
    rows.append(("alpha", "start-here", "", 0.0, 0, "Alpha guide", "Start here", "", COUNT))
    db = sqlite3.connect(folder / DB_NAME)
    with db:
        db.executemany(
            "INSERT INTO bookmarks (article_id, section_id, anchor, fraction, place, article_title,"
            " section_title, note, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    db.close()
    store = open_store(folder)
    assert store.persistent and store.count() == COUNT
    return store


def top(app: KReaderApp) -> Screen[Any]:
    return app.screen


async def test_100_000_bookmarks_open_one_page_at_a_time(tmp_path: Path) -> None:
    store = big_store(tmp_path / "data")
    app = build_app(tmp_path, store=store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("B")
        await pilot.pause()
        screen = top(app)
        assert isinstance(screen, BookmarksScreen)
        options = screen.query_one(OptionList)
        assert options.option_count == len(screen.bookmarks) == PAGE  # not 100,000 rows
        assert str(screen.query_one("#bookmark-status", Static).render()) == "100,000 bookmarks"
        assert [b.created for b in screen.bookmarks[:2]] == [COUNT, COUNT - 1]  # newest first

        # Moving down within the page reads nothing more; nearing its end reads the next page.
        await pilot.press("down", "down")
        await pilot.pause()
        assert options.option_count == PAGE
        await pilot.press("end")
        await pilot.pause()
        assert options.option_count == 2 * PAGE
        assert [b.created for b in screen.bookmarks[PAGE - 1 : PAGE + 1]] == [
            COUNT - PAGE + 1,
            COUNT - PAGE,
        ]  # the pages join without a gap or a repeat

        # Scrolling the view (a wheel, a drag) to the end reads more too.
        options.scroll_end(animate=False, immediate=True)
        await pilot.pause()
        assert options.option_count == 3 * PAGE
        assert len({b.id for b in screen.bookmarks}) == 3 * PAGE

        # Removing one keeps what was read; the newest still opens where it points.
        options.highlighted = 5
        await pilot.press("d")
        await pilot.pause()
        assert store.count() == COUNT - 1
        assert options.option_count == 3 * PAGE
        options.highlighted = 0
        await pilot.press("enter")
        await pilot.pause()
        assert shown(app) == ("alpha", "start-here")
    store.close()
