"""A kiosk a finger can use, with the clinic's line always in view (issue 15).

Every dialog has a Close button at least three rows tall and closes on a tap outside it; the footer has
targets to page a long section; under every dialog and screen the contact line and 988 stay on screen.
"""

from __future__ import annotations

import textwrap
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from rendered import screen_text
from textual.pilot import Pilot
from textual.screen import ModalScreen
from textual.widgets import Button
from textual.widgets._footer import FooterKey

from kreader.contact import CRISIS_LINE, SHORT_DISCLAIMER, balanced_lines
from kreader.content import Library, load_library
from kreader.factory import make_app
from kreader.kiosk_app import KioskApp
from kreader.pin import hash_pin
from kreader.settings import Settings
from kreader.store import Store
from kreader.widgets.section_view import SectionView

PIN = "2468"
PIN_HASH = hash_pin(PIN, salt=b"0123456789abcdef")
ADDRESS = "5105 Sunmore Cir, Suite B, Midland, TX 79707"
PHONE = "(432) 218-8135"
LONG_DISCLAIMER = (
    "This article is general information only, not medical advice. Talk to a qualified clinician "
    "about your own care. If you are in crisis in the US, call or text 988."
)


def kiosk(library: Library) -> KioskApp:
    app = make_app(
        library,
        Store.in_memory(),
        Settings(kiosk=True, admin_pin_hash=PIN_HASH),
        kiosk=True,
        clock=lambda: 5_000.0,
    )
    assert isinstance(app, KioskApp)
    app.tick_seconds = 3600
    app.animation_level = "none"
    return app


async def _press(pilot: Pilot[None], *keys: str) -> None:
    await pilot.press(*keys)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause(0.1)


async def _note(pilot: Pilot[None]) -> None:
    await _press(pilot, "b", "B", "e")


DIALOGS: dict[str, tuple[Callable[[Pilot[None]], Awaitable[None]], str]] = {
    "contact": (lambda p: _press(p, "c"), "ContactScreen"),
    "help": (lambda p: _press(p, "question_mark"), "HelpScreen"),
    "search": (lambda p: _press(p, "slash", *"ptsd"), "SearchScreen"),
    "bookmarks": (lambda p: _press(p, "b", "B"), "BookmarksScreen"),
    "note": (_note, "NoteScreen"),
    "pin": (lambda p: _press(p, "f12"), "PinScreen"),
    "staff menu": (lambda p: _press(p, "f12", *PIN, "enter"), "StaffMenu"),
}


@pytest.mark.parametrize("name", list(DIALOGS))
async def test_every_dialog_has_a_close_button_a_finger_can_hit(
    content_dir: Path, name: str
) -> None:
    app = kiosk(load_library(content_dir))
    opening, screen_name = DIALOGS[name]
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await opening(pilot)
        dialog = app.screen
        assert type(dialog).__name__ == screen_name
        button = dialog.query_one("#dialog-close", Button)
        assert button.region.height >= 3 and button.region.width >= 16
        below = len(app.screen_stack) - 1
        await pilot.click("#dialog-close")
        await pilot.pause()
        assert dialog not in app.screen_stack and len(app.screen_stack) == below
        assert app.is_running


@pytest.mark.parametrize("name", list(DIALOGS))
async def test_a_tap_outside_a_dialog_closes_it(content_dir: Path, name: str) -> None:
    app = kiosk(load_library(content_dir))
    opening, screen_name = DIALOGS[name]
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await opening(pilot)
        dialog = app.screen
        assert isinstance(dialog, ModalScreen) and type(dialog).__name__ == screen_name
        # A tap inside the dialog, on its title, leaves it open.
        await pilot.click("#dialog-title")
        await pilot.pause()
        assert app.screen is dialog
        body = dialog.query_one("#dialog-body").region
        outside = (0, body.y + body.height // 2)
        assert not body.contains(*outside)
        await pilot.click(offset=outside)
        await pilot.pause()
        assert dialog not in app.screen_stack
        assert app.is_running


async def test_a_tap_outside_closes_the_readers_dialogs_too(tmp_path: Path) -> None:
    from helpers import build_app

    app = build_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("question_mark")
        await pilot.pause()
        assert type(app.screen).__name__ == "HelpScreen"
        await pilot.click(offset=(0, 15))
        await pilot.pause()
        assert app.screen is app.reader()


def _footer_key(app: KioskApp, action: str) -> FooterKey:
    for key in app.screen.query(FooterKey):
        if key.action == action:
            return key
    raise AssertionError(f"no {action!r} in the footer")


@pytest.mark.parametrize("size", [(80, 24), (160, 45)], ids=["80x24", "160x45"])
async def test_footer_targets_page_a_long_section(tmp_path: Path, size: tuple[int, int]) -> None:
    folder = tmp_path / "content"
    folder.mkdir()
    paragraphs = "\n\n".join(f"Paragraph {n} of a long section." for n in range(1, 200))
    (folder / "long.md").write_text(f"# Long read\n\n{paragraphs}\n", encoding="utf-8")
    app = kiosk(load_library(folder))
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        view = app.reader().query_one(SectionView)
        assert view.max_scroll_y > 2 * view.scrollable_content_region.height
        footer = screen_text(app)[-1]
        # Narrower than 120 columns the page targets are bare arrows, so every other key still fits.
        arrows = ("▲ Up", "▼ Down") if size[0] >= 120 else ("▲", "▼")
        for label in (*arrows, "? Help", "s Start over", "c Contact", "l Español"):
            assert label in footer, footer
        await pilot.click(_footer_key(app, "touch_page_down"))
        await pilot.pause()
        first = view.scroll_y
        assert first > 0
        await pilot.click(_footer_key(app, "touch_page_down"))
        await pilot.pause()
        assert view.scroll_y > first
        await pilot.click(_footer_key(app, "touch_page_up"))
        await pilot.pause()
        assert view.scroll_y == first


def test_the_footer_targets_are_the_kiosks_only(tmp_path: Path) -> None:
    from kreader.screens.reader import KIOSK_ONLY

    assert {"touch_page_up", "touch_page_down"} <= KIOSK_ONLY


# -- the clinic's line stays on screen ---------------------------------------------------------------------


async def _attract(pilot: Pilot[None]) -> None:
    app = pilot.app
    assert isinstance(app, KioskApp)
    app.policy.enter_attract()
    app.tick()
    await pilot.pause()


SCREENS: dict[str, Callable[[Pilot[None]], Awaitable[None]]] = {
    "reading": lambda p: p.pause(),
    "attract loop": _attract,
    **{name: opening for name, (opening, _) in DIALOGS.items()},
}


@pytest.mark.parametrize("size", [(80, 24), (160, 45)], ids=["80x24", "160x45"])
@pytest.mark.parametrize("name", list(SCREENS))
async def test_the_clinics_line_stays_on_screen(
    content_dir: Path, name: str, size: tuple[int, int]
) -> None:
    app = kiosk(load_library(content_dir))
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await SCREENS[name](pilot)
        await pilot.pause()
        rows = screen_text(app)
        shown = "\n".join(rows)
        assert ADDRESS in shown and PHONE in shown, shown
        assert "988" in shown, shown
        # Not merely somewhere under the dialog: on the lines just above the footer, whole.
        contact_row = max(i for i, row in enumerate(rows) if ADDRESS in row and PHONE in row)
        assert contact_row >= size[1] - 5


async def test_the_unavailable_screen_keeps_its_line_under_the_pin(tmp_path: Path) -> None:
    app = kiosk(Library(tmp_path, ()))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await _press(pilot, "f12")
        assert type(app.screen).__name__ == "PinScreen"
        shown = "\n".join(screen_text(app))
        assert "Ask at the front desk" in shown and "988" in shown


@pytest.mark.parametrize("width", range(20, 201))
def test_the_disclaimer_never_leaves_a_word_alone_on_its_last_line(width: int) -> None:
    for text in (LONG_DISCLAIMER, SHORT_DISCLAIMER, f"General information only. {CRISIS_LINE}"):
        lines = balanced_lines(text, width).split("\n")
        assert len(lines) <= len(textwrap.wrap(text, width)) + 1  # at most one line more
        assert all(len(line) <= width for line in lines)
        assert " ".join(lines) == text
        if len(lines) > 1:
            assert len(lines[-1].split()) > 1, lines


@pytest.mark.parametrize("width", [80, 100, 120, 140, 160, 161, 170, 200])
async def test_the_kiosk_disclaimer_ends_with_more_than_988(content_dir: Path, width: int) -> None:
    app = kiosk(load_library(content_dir))
    async with app.run_test(size=(width, 30)) as pilot:
        await pilot.pause()
        rows = [row.strip() for row in screen_text(app)]
        last = max(i for i, row in enumerate(rows) if "988" in row)
        assert rows[last].endswith("988.")
        assert len(rows[last].split()) > 2, rows[last]


@pytest.mark.parametrize("kiosk_mode", [True, False], ids=["kiosk", "reader"])
async def test_a_portrait_tablet_puts_the_contents_above_the_text(
    tmp_path: Path, kiosk_mode: bool
) -> None:
    """An upright tablet (70 columns, 60 rows): the text gets the whole width, the contents sit above it."""
    from kreader.factory import make_app
    from kreader.settings import Settings
    from kreader.store import Store
    from kreader.widgets.contents import ContentsTree

    library = load_library(Path(__file__).resolve().parent.parent / "content")
    app = make_app(library, Store.in_memory(), Settings(kiosk=kiosk_mode), kiosk=kiosk_mode)
    async with app.run_test(size=(70, 60)) as pilot:
        await pilot.pause()
        reader = app.reader()
        assert reader.has_class("-portrait")
        contents = reader.query_one(ContentsTree)
        text = reader.query_one(SectionView)
        assert contents.region.bottom <= text.region.y  # above, not beside
        assert text.region.width >= 60
        await pilot.resize_terminal(160, 45)  # turned sideways: side by side again
        await pilot.pause()
        assert not reader.has_class("-portrait")
        assert contents.region.right <= text.region.x
