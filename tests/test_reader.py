"""Pilot tests of the reader: every key, clicks in the contents and the text, bookmarks, resume, search.

Each test drives the real app (built by `helpers.build_app` over a generated two-article library and a real
SQLite store in ``tmp_path``) and checks state: what is shown, where the contents cursor is, what the store
holds. Starting an app costs about a second, so each test walks through a whole scenario.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers import (
    build_app,
    click_contents,
    click_text,
    cursor_place,
    footer_key,
    footer_keys,
    matches_listed,
    notices,
    ready_index,
    search_bar,
    shown,
    tree,
    view,
    write_library,
)
from textual import events
from textual.color import Color
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input, OptionList, Static

from kreader.app import KReaderApp, StartAt
from kreader.content import load_library
from kreader.screens.bookmarks import BookmarksScreen, NoteScreen
from kreader.screens.help import HelpScreen
from kreader.screens.search import SearchScreen
from kreader.store import Store, open_store
from kreader.widgets.contents import BOOKMARK_MARK, ContentsTree, Place
from kreader.widgets.section_view import SectionView

SIZE = (80, 24)


def top(app: KReaderApp) -> Screen[Any]:
    """The screen on top (a function, so a type checker does not narrow ``app.screen`` for good)."""
    return app.screen


def labels(options: OptionList) -> list[str]:
    """The plain text of every option of a list."""
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


def node_label(app: KReaderApp, place: Place) -> str:
    """The text the contents shows for ``place``."""
    return str(tree(app)._entries[place].label)


async def open_section(pilot: Pilot[None], article_id: str, section_id: str) -> None:
    """Open a section the way the contents does."""
    app = pilot.app
    assert isinstance(app, KReaderApp)
    app.reader().open_place(Place(article_id, section_id))
    await pilot.pause()


async def wheel_down(pilot: Pilot[None], target: type[SectionView] | type[ContentsTree]) -> None:
    """Turn the mouse wheel over a widget (Pilot has no wheel method in Textual 8.2; this is the one its
    click and hover use)."""
    await pilot._post_mouse_events([events.MouseScrollDown], target, offset=(5, 3))
    await pilot.pause()


# -- start-up, focus, the contents pane, help ----------------------------------------------------------


async def test_start_focus_contents_toggle_and_help(tmp_path: Path) -> None:
    app = build_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        reader = app.reader()
        assert shown(app) == ("alpha", "overview")
        assert cursor_place(app) == Place("alpha", "overview")
        assert reader.title == "Alpha guide"
        assert reader.sub_title == "Section 1 of 4 · Overview"
        assert isinstance(app.focused, SectionView)
        assert notices(app) == []

        # tab and shift+tab move between the panes.
        await pilot.press("tab")
        assert isinstance(app.focused, ContentsTree)
        await pilot.press("tab")
        assert isinstance(app.focused, SectionView)
        await pilot.press("shift+tab")
        assert isinstance(app.focused, ContentsTree)

        # c hides the contents (moving focus to the text, which gets wider) and shows it again.
        width = view(app).size.width
        await pilot.press("c")
        await pilot.pause()
        assert not tree(app).display
        assert isinstance(app.focused, SectionView)
        assert view(app).size.width > width
        await pilot.press("c")
        await pilot.pause()
        assert tree(app).display
        assert view(app).size.width == width

        # ? and F1 open help; escape closes it and nothing moved.
        for key in ("question_mark", "f1"):
            await pilot.press(key)
            await pilot.pause()
            assert isinstance(app.screen, HelpScreen)
            await pilot.press("escape")
            await pilot.pause()
            assert top(app) is reader
        assert shown(app) == ("alpha", "overview")


async def test_a_skipped_file_is_noticed_and_a_small_terminal_says_so(tmp_path: Path) -> None:
    app = build_app(tmp_path, write_library(tmp_path / "content", broken=True))
    async with app.run_test(size=(30, 10)) as pilot:
        await pilot.pause()
        skipped = [text for text in notices(app) if "broken.md" in text]
        assert skipped and "UTF-8" in skipped[0]

        reader = app.reader()
        assert reader.has_class("-too-small")
        message = reader.query_one("#too-small", Static)
        assert message.display and "too small" in str(message.content)
        assert view(app).region.height == 0
        # Keys still work while the text is hidden; it is laid out once there is room.
        await pilot.press("n")
        await pilot.pause()
        assert shown(app) == ("alpha", "start-here")

        await pilot.resize_terminal(40, 12)
        await pilot.pause()
        assert not reader.has_class("-too-small")
        assert not message.region
        assert view(app).region.height >= 8 and tree(app).region.width > 0
        layout = view(app).layout_
        assert layout is not None and layout.width >= 10
        assert layout.plain[0].strip() == "Start here"
        await pilot.press("n")
        await pilot.pause()
        assert shown(app) == ("alpha", "middle-part")


# -- scrolling -----------------------------------------------------------------------------------------


async def test_scroll_keys_and_the_wheel(tmp_path: Path) -> None:
    app = build_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot, "alpha", "start-here")
        pane = view(app)
        page = pane.scrollable_content_region.height
        assert pane.max_scroll_y > page + 3

        async def after(*keys: str) -> float:
            await pilot.press(*keys)
            await pilot.pause()
            return pane.scroll_y

        assert await after("down") == 1
        assert await after("down", "down") == 3
        assert await after("up") == 2
        assert await after("pagedown") == 2 + page
        assert await after("pageup") == 2
        assert await after("space") == 2 + page
        assert await after("end") == pane.max_scroll_y
        assert await after("home") == 0
        assert await after("G") == pane.max_scroll_y
        assert await after("g") == 0
        assert await after("up") == 0
        assert shown(app) == ("alpha", "start-here")

        await wheel_down(pilot, SectionView)
        assert pane.scroll_y > 0
        await wheel_down(pilot, ContentsTree)
        assert shown(app) == ("alpha", "start-here")


# -- moving between sections -----------------------------------------------------------------------------


async def test_next_and_previous_cross_articles_and_stop_at_the_ends(tmp_path: Path) -> None:
    app = build_app(tmp_path)
    order = [
        ("alpha", "overview"),
        ("alpha", "start-here"),
        ("alpha", "middle-part"),
        ("alpha", "last-words"),
        ("beta", "overview"),
        ("beta", "one"),
        ("beta", "two"),
    ]
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("p")
        await pilot.pause()
        assert shown(app) == ("alpha", "overview")
        assert "This is the start of the library." in notices(app)

        seen = [shown(app)]
        for key in ("n", "right_square_bracket", "n", "n", "right_square_bracket", "n"):
            await pilot.press(key)
            await pilot.pause()
            seen.append(shown(app))
            assert cursor_place(app) == Place(*shown(app))
            assert view(app).scroll_y == 0
        assert seen == order
        assert app.reader().title == "Beta notes"
        assert app.reader().sub_title == "Section 3 of 3 · Two"

        await pilot.press("n")
        await pilot.pause()
        assert shown(app) == ("beta", "two")
        assert "This is the end of the library." in notices(app)

        back = [shown(app)]
        for key in ("p", "left_square_bracket", "p", "p", "left_square_bracket", "p"):
            await pilot.press(key)
            await pilot.pause()
            back.append(shown(app))
            assert cursor_place(app) == Place(*shown(app))
        assert back == order[::-1]


# -- the contents pane ---------------------------------------------------------------------------------


async def test_enter_and_clicks_in_the_contents_open_entries(tmp_path: Path) -> None:
    app = build_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("tab", "down", "down")
        await pilot.pause()
        assert cursor_place(app) == Place("alpha", "middle-part")
        assert shown(app) == ("alpha", "overview")
        await pilot.press("enter")
        await pilot.pause()
        assert shown(app) == ("alpha", "middle-part")
        assert view(app).scroll_y == 0

        # A subsection entry opens its section at that subsection.
        await pilot.press("down", "down", "enter")
        await pilot.pause()
        assert shown(app) == ("alpha", "middle-part")
        assert view(app).position() == ("deep-dive", 0.0)

        # Another article's entry opens it, and its sections appear under it.
        await pilot.press("end", "enter")
        await pilot.pause()
        assert shown(app) == ("beta", "overview")
        assert cursor_place(app) == Place("beta", "overview")
        assert Place("beta", "two") in tree(app)._entries

        await click_contents(pilot, Place("alpha", "last-words"))
        assert shown(app) == ("alpha", "last-words")
        await click_contents(pilot, Place("alpha", "middle-part", "first-part"))
        assert shown(app) == ("alpha", "middle-part")
        assert view(app).position() == ("first-part", 0.0)
        assert cursor_place(app) == Place("alpha", "middle-part", "first-part")
        await click_contents(pilot, Place("beta", "two"))
        assert shown(app) == ("beta", "two")


async def test_the_contents_follows_scrolling_into_a_subsection(tmp_path: Path) -> None:
    app = build_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot, "alpha", "middle-part")
        pane = view(app)
        layout = pane.layout_
        assert layout is not None
        assert cursor_place(app) == Place("alpha", "middle-part")

        first = layout.anchors["first-part"]
        pane.scroll_to(y=first - 1, animate=False)
        await pilot.pause()
        assert cursor_place(app) == Place("alpha", "middle-part")
        await pilot.press("down")
        await pilot.pause()
        assert pane.scroll_y == first
        assert cursor_place(app) == Place("alpha", "middle-part", "first-part")
        await pilot.press("up")
        await pilot.pause()
        assert cursor_place(app) == Place("alpha", "middle-part")

        await pilot.press("end")
        await pilot.pause()
        assert cursor_place(app) == Place("alpha", "middle-part", "deep-dive")
        await pilot.press("home")
        await pilot.pause()
        assert cursor_place(app) == Place("alpha", "middle-part")


async def test_a_subsection_near_the_end_stays_the_current_place(tmp_path: Path) -> None:
    # The text cannot scroll far enough to bring the last subsection to the top of the pane; the contents,
    # `b` and the saved position still take the place asked for, until the reader scrolls.
    app = build_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await click_contents(pilot, Place("alpha", "middle-part", "wrap-up"))
        pane = view(app)
        assert pane.layout_ is not None
        assert pane.scroll_y == pane.max_scroll_y < pane.layout_.anchors["wrap-up"]
        assert pane.position() == ("wrap-up", 0.0)
        assert cursor_place(app) == Place("alpha", "middle-part", "wrap-up")

        await pilot.press("m")
        await pilot.pause()
        (mark,) = app.store.list()
        assert (mark.anchor, mark.fraction) == ("wrap-up", 0.0)
        await pilot.press("m")
        await pilot.pause()
        assert app.store.list() == []

        await pilot.press("tab", "up")
        await pilot.pause()
        assert isinstance(app.focused, SectionView)
        assert pane.position()[0] == "deep-dive"
        assert cursor_place(app) == Place("alpha", "middle-part", "deep-dive")


# -- quitting ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["q", "ctrl+q"])
async def test_quit_keys_end_the_app(tmp_path: Path, key: str) -> None:
    app = build_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.return_code is None
        await pilot.press(key)
        assert app.return_code == 0


# -- links ---------------------------------------------------------------------------------------------


async def test_links_jump_open_articles_and_never_leave_the_app(tmp_path: Path) -> None:
    app = build_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        # An external link is only shown: nothing opens, nothing moves.
        await open_section(pilot, "alpha", "start-here")
        await click_text(pilot, "the web page")
        before = view(app).position()
        assert shown(app) == ("alpha", "start-here")
        assert top(app) is app.reader()
        assert any("https://example.com/page" in text for text in notices(app))
        assert view(app).position() == before

        # #anchor jumps to a subsection of another section of the same article.
        await click_text(pilot, "the deep dive")
        assert shown(app) == ("alpha", "middle-part")
        assert view(app).position() == ("deep-dive", 0.0)
        assert cursor_place(app) == Place("alpha", "middle-part", "deep-dive")

        # beta.md#two opens the other article at that section.
        await open_section(pilot, "alpha", "start-here")
        await click_text(pilot, "beta notes")
        assert shown(app) == ("beta", "two")
        assert cursor_place(app) == Place("beta", "two")


# -- bookmarks -----------------------------------------------------------------------------------------


async def test_b_adds_a_bookmark_and_b_again_removes_it(tmp_path: Path) -> None:
    app = build_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot, "alpha", "start-here")
        await pilot.press("pagedown")
        await pilot.pause()
        anchor, fraction = view(app).position()
        assert fraction > 0

        await pilot.press("m")
        await pilot.pause()
        (mark,) = app.store.list()
        assert (mark.article_id, mark.section_id, mark.anchor) == ("alpha", "start-here", anchor)
        assert mark.fraction == pytest.approx(fraction)
        assert (mark.article_title, mark.section_title) == ("Alpha guide", "Start here")
        assert node_label(app, Place("alpha", "start-here")) == BOOKMARK_MARK + "Start here"
        assert "Bookmarked: Start here" in notices(app)

        await pilot.press("m")
        await pilot.pause()
        assert app.store.list() == []
        assert node_label(app, Place("alpha", "start-here")) == "Start here"
        assert "Bookmark removed: Start here" in notices(app)


async def test_bookmarks_list_jump_remove_undo_and_note(tmp_path: Path) -> None:
    now = [1_000_000.0]

    def clock() -> float:
        now[0] += 60
        return now[0]

    store = open_store(tmp_path / "data", clock=clock)
    app = build_app(tmp_path, store=store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("m")
        await open_section(pilot, "alpha", "middle-part")
        await pilot.press("end", "m")
        await pilot.pause()
        older, newer = sorted(store.list(), key=lambda b: b.created)
        assert (older.section_id, newer.section_id) == ("overview", "middle-part")

        await pilot.press("home", "B")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, BookmarksScreen)
        options = screen.query_one(OptionList)
        assert [line.split("  ·  ")[:2] for line in labels(options)] == [
            ["Middle part", "Alpha guide"],
            ["Overview", "Alpha guide"],
        ]

        # enter jumps to the highlighted (newest) bookmark, at its place.
        await pilot.press("enter")
        await pilot.pause()
        assert top(app) is app.reader()
        assert shown(app) == ("alpha", "middle-part")
        anchor, fraction = view(app).position()
        assert anchor == newer.anchor and fraction == pytest.approx(newer.fraction, abs=0.05)

        # d and delete remove; u puts back; the stars in the contents follow.
        await pilot.press("B")
        await pilot.pause()
        listing = app.screen
        assert isinstance(listing, BookmarksScreen)
        options = listing.query_one(OptionList)
        await pilot.press("down", "d")
        await pilot.pause()
        assert [b.id for b in store.list()] == [newer.id]
        assert node_label(app, Place("alpha", "overview")) == "Overview"
        await pilot.press("u")
        await pilot.pause()
        assert [b.id for b in store.list()] == [newer.id, older.id]
        assert node_label(app, Place("alpha", "overview")) == BOOKMARK_MARK + "Overview"
        options.highlighted = 0
        await pilot.press("delete")
        await pilot.pause()
        assert [b.id for b in store.list()] == [older.id]
        await pilot.press("u")
        await pilot.pause()
        assert len(store.list()) == 2
        await pilot.press("u")
        await pilot.pause()
        assert "Nothing to undo." in notices(app)

        # e edits the note of the highlighted bookmark; escape in the note dialog keeps the old note.
        options.highlighted = 1
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, NoteScreen)
        await pilot.press(*"see page 2", "enter")
        await pilot.pause()
        assert top(app) is listing
        edited = store.get(older.id)
        assert edited is not None and edited.note == "see page 2"
        assert "see page 2" in labels(options)[1]
        await pilot.press("e")
        await pilot.pause()
        await pilot.press("x", "escape")
        await pilot.pause()
        assert top(app) is listing
        edited = store.get(older.id)
        assert edited is not None and edited.note == "see page 2"

        await pilot.press("escape")
        await pilot.pause()
        assert top(app) is app.reader()


async def test_stale_bookmarks_and_stars_in_the_contents(tmp_path: Path) -> None:
    store = Store.in_memory()
    store.add("alpha", "gone", "", 0.5, "Alpha guide", "A section since removed")
    store.add("alpha", "last-words", "", 0.0, "Alpha guide", "Last words")
    store.add("beta", "two", "", 0.0, "Beta notes", "Two")
    app = build_app(tmp_path, store=store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert node_label(app, Place("alpha", "last-words")) == BOOKMARK_MARK + "Last words"
        assert node_label(app, Place("alpha", "start-here")) == "Start here"

        # beta's sections are listed on first need, with their stars.
        await open_section(pilot, "beta", "one")
        assert node_label(app, Place("beta", "two")) == BOOKMARK_MARK + "Two"
        assert node_label(app, Place("beta", "one")) == "One"

        await pilot.press("B")
        await pilot.pause()
        lines = labels(app.screen.query_one(OptionList))
        stale = [line for line in lines if "A section since removed" in line]
        assert len(stale) == 1 and "no longer in the library" in stale[0]
        assert sum("no longer in the library" in line for line in lines) == 1

        app.screen.query_one(OptionList).highlighted = lines.index(stale[0])
        await pilot.press("enter")
        await pilot.pause()
        assert shown(app) == ("alpha", "overview")
        assert any("no longer in" in text for text in notices(app))
        assert len(store.list()) == 3


# -- reading position ----------------------------------------------------------------------------------


def start_from_store(store: Store, library_dir: Path) -> StartAt:
    """Where kreader reopens, worked out as `kreader.commands.read.run` does."""
    library = load_library(library_dir)
    saved = store.last_position()
    article = library.article(saved.article_id) if saved else None
    assert saved is not None and article is not None and article.section(saved.section_id)
    return StartAt(saved.article_id, saved.section_id, saved.anchor, saved.fraction, "Resumed")


async def test_the_position_is_saved_while_reading_and_restored_after_a_restart(
    tmp_path: Path,
) -> None:
    content = write_library(tmp_path / "content")
    store = open_store(tmp_path / "data")
    app = build_app(tmp_path, content, store=store)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot, "beta", "one")
        # Saving waits for the reader to be still for a moment, so a killed terminal loses little.
        await pilot.pause(0.8)
        saved = store.last_position()
        assert saved is not None and (saved.article_id, saved.section_id) == ("beta", "one")

        await open_section(pilot, "alpha", "middle-part")
        pane = view(app)
        assert pane.layout_ is not None
        target = pane.layout_.anchors["first-part"] + 3
        pane.scroll_to(y=target - 1, animate=False)
        await pilot.press("down")
        await pilot.pause()
        where = pane.position()
        assert where[0] == "first-part" and where[1] > 0
    # Quitting straight after moving still saves.
    store.close()

    store = open_store(tmp_path / "data")
    saved = store.last_position()
    assert saved is not None
    assert (saved.article_id, saved.section_id, saved.anchor) == (
        "alpha",
        "middle-part",
        "first-part",
    )
    assert saved.fraction == pytest.approx(where[1])

    again = build_app(tmp_path, content, store=store, start=start_from_store(store, content))
    async with again.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert shown(again) == ("alpha", "middle-part")
        assert view(again).scroll_y == target
        assert cursor_place(again) == Place("alpha", "middle-part", "first-part")
        assert "Resumed" in notices(again)
    store.close()


async def test_a_bookmark_and_the_position_survive_a_resize(tmp_path: Path) -> None:
    app = build_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_section(pilot, "alpha", "middle-part")
        pane = view(app)
        assert pane.layout_ is not None
        wide = pane.layout_.width
        target = pane.layout_.anchors["deep-dive"] + 2
        pane.scroll_to(y=target, animate=False)
        await pilot.pause()
        await pilot.press("m")
        await pilot.pause()
        (mark,) = app.store.list()
        assert mark.anchor == "deep-dive"

        # Reflow keeps the subsection at the top of the pane.
        await pilot.resize_terminal(60, 20)
        await pilot.pause()
        layout = pane.layout_
        assert layout is not None and layout.width < wide
        assert pane.position()[0] == "deep-dive"
        assert cursor_place(app) == Place("alpha", "middle-part", "deep-dive")

        # The bookmark opens at the same subsection in the narrower layout.
        await pilot.press("n", "B", "enter")
        await pilot.pause()
        assert shown(app) == ("alpha", "middle-part")
        assert pane.layout_ is layout
        start = layout.anchors["deep-dive"]
        assert start <= pane.scroll_y < start + 6
        assert pane.position()[0] == "deep-dive"
        assert cursor_place(app) == Place("alpha", "middle-part", "deep-dive")

        # b at the bookmark's place, even after reflow, removes it rather than adding a second one.
        await pilot.press("m")
        await pilot.pause()
        assert app.store.list() == []

        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert pane.position()[0] == "deep-dive"


# -- search --------------------------------------------------------------------------------------------


async def test_search_as_you_type_open_a_result_and_step_through_matches(tmp_path: Path) -> None:
    app = build_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await ready_index(app)
        reader = app.reader()

        # Escape closes search without moving.
        await pilot.press("slash", "b", "e", "t", "a")
        await pilot.pause()
        assert isinstance(app.screen, SearchScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert top(app) is reader
        assert shown(app) == ("alpha", "overview")
        assert reader.search_query == ""

        # Reader keys typed into the search field are text.
        await pilot.press("slash")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, SearchScreen)
        results = screen.query_one(OptionList)
        status = screen.query_one("#search-status", Static)
        await pilot.press(*"qnbBct?")
        await pilot.pause()
        assert screen.query_one(Input).value == "qnbBct?"
        assert app.store.list() == [] and app.theme == "textual-dark"
        screen.query_one(Input).value = ""

        # An empty or blank query shows nothing, and enter does nothing.
        await pilot.press("space", "space")
        await pilot.pause()
        assert results.option_count == 0 and str(status.content) == ""
        await pilot.press("enter")
        await pilot.pause()
        assert top(app) is screen
        await pilot.press("backspace", "backspace")

        # Results follow each keystroke.
        counts = []
        for key in "zanzib":
            await pilot.press(key)
            await pilot.pause()
            counts.append(results.option_count)
        assert counts == [2] * 6
        # Both match in body text; bm25 puts the short section first.
        assert [(h.article_id, h.section_id) for h in screen.hits] == [
            ("beta", "one"),
            ("alpha", "middle-part"),
        ]
        assert screen.hits[1].anchor == "deep-dive"
        await pilot.press("x")
        await pilot.pause()
        assert results.option_count == 0 and str(status.content) == "No matches."
        await pilot.press("backspace")
        await pilot.pause()
        assert results.option_count == 2 and str(status.content) == "Found in 2 places"

        # enter opens the best result, scrolled to the match, which is marked.
        await pilot.press("enter")
        await pilot.pause()
        assert top(app) is reader
        assert shown(app) == ("beta", "one")
        pane = view(app)
        assert pane.highlight is not None and pane.layout_ is not None
        assert pane.layout_.plain[pane.highlight[0]].find("zanzibar") == pane.highlight[1]
        assert reader.search_query == "zanzib"

        # n and N step through the matches across the library, in reading order.
        await pilot.press("n")
        await pilot.pause()
        assert shown(app) == ("alpha", "middle-part")
        assert pane.highlight is not None and pane.layout_ is not None
        line, start, end = pane.highlight
        assert pane.layout_.plain[line][start:end].lower() == "zanzibar"
        assert pane.scroll_y <= line < pane.scroll_y + pane.scrollable_content_region.height
        assert cursor_place(app) == Place("alpha", "middle-part", "deep-dive")
        await pilot.press("n")
        await pilot.pause()
        assert shown(app) == ("beta", "one")
        await pilot.press("N")
        await pilot.pause()
        assert shown(app) == ("alpha", "middle-part")
        await pilot.press("N")
        await pilot.pause()
        assert shown(app) == ("beta", "one")

        # Escape in the reader ends the search: n is the next section again.
        await pilot.press("escape")
        await pilot.pause()
        assert reader.search_query == ""
        assert pane.highlight is None
        await pilot.press("n")
        await pilot.pause()
        assert shown(app) == ("beta", "two")

        # A result chosen in the list (down moves there from the field) opens too.
        await pilot.press("slash", *"zanzibar", "down")
        await pilot.pause()
        assert isinstance(app.focused, OptionList)
        await pilot.press("down", "enter")
        await pilot.pause()
        assert shown(app) == ("alpha", "middle-part")
        assert pane.highlight is not None


async def test_search_the_bundled_article(tmp_path: Path, content_dir: Path) -> None:
    app = build_app(tmp_path, content_dir)
    async with app.run_test(size=SIZE) as pilot:
        await ready_index(app)
        assert shown(app) == ("ketamine-ptsd", "overview")
        await pilot.press("slash", *"fear extinction")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, SearchScreen) and screen.hits
        first = screen.hits[0]
        await pilot.press("enter")
        await pilot.pause()
        pane = view(app)
        assert shown(app) == (first.article_id, first.section_id)
        assert pane.highlight is not None and pane.layout_ is not None
        line, start, end = pane.highlight
        assert pane.layout_.plain[line][start:end].lower().startswith("fear")
        assert pane.scroll_y <= line < pane.scroll_y + pane.scrollable_content_region.height
        # The contents marks the subsection of the match, not of the line at the top of the pane.
        assert cursor_place(app) == Place(*shown(app), pane.layout_.anchor_at(line))


async def test_the_footer_shows_the_search_mode_and_its_keys_do_what_it_says(
    tmp_path: Path,
) -> None:
    app = build_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await ready_index(app)
        reading = footer_keys(app)
        assert reading[:2] == [("n", "Next"), ("p", "Prev")]
        assert ("c", "Contents") in reading and ("q", "Quit") in reading
        assert not {"N", "escape"} & {key for key, _ in reading}
        assert search_bar(app) is None

        # "opening" is five times in alpha's first section; the best result is the first of them.
        assert app.search_index is not None
        total = len(app.search_index.occurrences("opening"))
        assert total >= 5
        await pilot.press("slash", *"opening", "enter")
        await matches_listed(pilot)
        assert top(app) is app.reader() and shown(app) == ("alpha", "overview")
        keys = footer_keys(app)
        assert keys[:3] == [("n", "Next match"), ("N", "Prev match"), ("escape", "End search")]
        # The section keys leave the footer to the search's (they would push q Quit off 80 columns).
        assert not {"p", "c", "B"} & {key for key, _ in keys}
        assert ("q", "Quit") in keys and ("slash", "Search") in keys
        assert search_bar(app) == f"Searching for opening · match 1 of {total}"
        pane = view(app)
        first = pane.highlight

        # n and N step through the matches, and the bar follows.
        await pilot.press("n")
        await pilot.pause()
        assert search_bar(app) == f"Searching for opening · match 2 of {total}"
        assert pane.highlight is not None and pane.highlight != first
        await pilot.press("N")
        await pilot.pause()
        assert search_bar(app) == f"Searching for opening · match 1 of {total}"
        assert pane.highlight == first
        await pilot.press("N")
        await pilot.pause()
        assert search_bar(app) == f"Searching for opening · match {total} of {total}"
        await pilot.press("n")
        await pilot.pause()
        assert search_bar(app) == f"Searching for opening · match 1 of {total}"

        # Unlisted keys still act: ] is the next section, and the search goes on.
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert shown(app) == ("alpha", "start-here") and app.reader().searching

        # escape ends the search: the footer and the keys are the reading ones again.
        await pilot.press("escape")
        await pilot.pause()
        assert not app.reader().searching and search_bar(app) is None
        assert footer_keys(app) == reading
        assert pane.highlight is None
        await pilot.press("n")
        await pilot.pause()
        assert shown(app) == ("alpha", "middle-part")
        await pilot.press("N", "escape")  # nothing to step through or end
        await pilot.pause()
        assert shown(app) == ("alpha", "middle-part") and footer_keys(app) == reading

        # The footer's keys are buttons: a click on "esc End search" ends a search too.
        await pilot.press("slash", *"zanzibar", "enter")
        await matches_listed(pilot)
        assert search_bar(app) == "Searching for zanzibar · match 2 of 2"
        await pilot.click(footer_key(app, "escape"))
        await pilot.pause()
        assert search_bar(app) is None and footer_keys(app) == reading


# -- themes --------------------------------------------------------------------------------------------


def close(a: Color, b: Color) -> bool:
    """Whether two colours are the same but for rounding."""
    return max(abs(a.r - b.r), abs(a.g - b.g), abs(a.b - b.b)) <= 2


def title_colour(app: KReaderApp) -> Color:
    """The colour the section's title is drawn in."""
    layout = view(app).layout_
    assert layout is not None
    style = next(iter(layout.lines[0])).style
    assert style is not None and style.color is not None and style.color.triplet is not None
    return Color(*style.color.triplet)


async def test_t_cycles_the_themes_and_lays_the_text_out_again(tmp_path: Path) -> None:
    app = build_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await ready_index(app)
        pane = view(app)
        assert app.theme == "textual-dark"
        # A search mark survives a change of theme.
        await pilot.press("slash", *"opening", "enter")
        await pilot.pause()
        assert pane.highlight is not None
        for expected in ("textual-light", "kreader-contrast", "textual-dark"):
            before = pane.layout_
            await pilot.press("t")
            await pilot.pause()
            assert app.theme == expected
            assert any(expected in text for text in notices(app))
            assert pane.layout_ is not before and pane.layout_ is not None
            assert pane.highlight is not None
            assert shown(app) == ("alpha", "overview")


async def test_the_text_takes_the_colours_of_the_theme_shown(tmp_path: Path) -> None:
    app = build_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert close(title_colour(app), Color.parse(app.current_theme.primary or ""))
        for expected in ("textual-light", "kreader-contrast", "textual-dark"):
            await pilot.press("t")
            await pilot.pause()
            assert app.theme == expected
            # The section title is drawn in the primary colour of the theme now shown.
            primary = Color.parse(app.current_theme.primary or "")
            assert close(title_colour(app), primary), (expected, title_colour(app), primary)


# -- the search index's cache --------------------------------------------------------------------------


async def test_the_reader_keeps_its_index_in_the_cache_folder(tmp_path: Path) -> None:
    from kreader.search import cache_path

    app = build_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await ready_index(app)
        await pilot.pause()
        assert app.search_index is not None
        assert app.search_index.path == cache_path(app.library.root)
        assert app.search_index.messages == []


async def test_a_corrupt_index_cache_is_made_again_with_one_notice(tmp_path: Path) -> None:
    from kreader.search import cache_path

    app = build_app(tmp_path)
    path = cache_path(app.library.root)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"garbage" * 1000)
    async with app.run_test(size=SIZE) as pilot:
        await ready_index(app)
        await pilot.pause()
        assert app.search_index is not None and app.search_index.path == path
        warnings = [text for text in notices(app) if "Search index cache" in text]
        assert len(warnings) == 1 and "\n" not in warnings[0] and "damaged" in warnings[0]
        await pilot.press("slash", *"zanzibar")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, SearchScreen) and len(screen.hits) == 2
    assert b"garbage" not in path.read_bytes()

    # The next start has a good cache: no notice at all.
    again = build_app(tmp_path / "again", app.library.root)
    async with again.run_test(size=SIZE) as pilot:
        await ready_index(again)
        await pilot.pause()
        assert again.search_index is not None and again.search_index.path == path
        assert not [text for text in notices(again) if "Search index cache" in text]
