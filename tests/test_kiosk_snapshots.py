"""What a waiting-room visitor sees: the kiosk view, the attract loop, the contact QR code, the PIN prompt."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers import ready_index
from textual.pilot import Pilot
from textual.widgets import Static

from kreader.content import load_library
from kreader.factory import make_app
from kreader.kiosk_app import KioskApp
from kreader.pin import hash_pin
from kreader.settings import Settings
from kreader.store import Store


class FrozenClock:
    def __init__(self) -> None:
        self.now = 5_000.0

    def __call__(self) -> float:
        return self.now


def kiosk(
    content_dir: Path,
    clock: FrozenClock | None = None,
    language: str = "en",
    glyphs: str = "unicode",
) -> KioskApp:
    settings = Settings(
        kiosk=True, glyphs=glyphs, admin_pin_hash=hash_pin("2468", salt=b"0123456789abcdef")
    )
    app = make_app(
        load_library(content_dir),
        Store.in_memory(),
        settings,
        kiosk=True,
        clock=clock or FrozenClock(),
        language=language,
    )
    assert isinstance(app, KioskApp)
    app.tick_seconds = 3600
    return app


def test_kiosk_view(snap_compare: Any, content_dir: Path) -> None:
    assert snap_compare(kiosk(content_dir), terminal_size=(100, 30))


def test_kiosk_view_small(snap_compare: Any, content_dir: Path) -> None:
    assert snap_compare(kiosk(content_dir), terminal_size=(80, 24))


def test_kiosk_attract_loop(snap_compare: Any, content_dir: Path) -> None:
    clock = FrozenClock()
    app = kiosk(content_dir, clock)

    async def go_idle(pilot: Pilot[None]) -> None:
        await pilot.press("n", "n")
        clock.now += 91
        app.tick()
        await pilot.pause()

    assert snap_compare(app, terminal_size=(100, 30), run_before=go_idle)


def test_kiosk_contact_view_with_qr_code(snap_compare: Any, content_dir: Path) -> None:
    assert snap_compare(kiosk(content_dir), press=["c"], terminal_size=(100, 32))


def test_kiosk_pin_prompt(snap_compare: Any, content_dir: Path) -> None:
    assert snap_compare(kiosk(content_dir), press=["f12", "1", "2"], terminal_size=(100, 30))


def test_kiosk_search_mode_small(snap_compare: Any, content_dir: Path) -> None:
    """At 80x24: the search bar and the search's keys fit above the contact lines' footer."""
    app = kiosk(content_dir)

    async def search(pilot: Pilot[None]) -> None:
        await ready_index(app)
        await pilot.press("slash", *"trauma", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=search)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_kiosk_view_in_spanish(snap_compare: Any, content_dir: Path, size: tuple[int, int]) -> None:
    """A visitor who touched "Español": the article, the footer, the contact line and disclaimer in Spanish."""
    assert snap_compare(kiosk(content_dir, language="es"), terminal_size=size)


def test_kiosk_attract_loop_in_spanish(snap_compare: Any, content_dir: Path) -> None:
    clock = FrozenClock()
    app = kiosk(content_dir, clock, language="es")

    async def go_idle(pilot: Pilot[None]) -> None:
        clock.now += 91
        app.tick()
        await pilot.pause()

    assert snap_compare(app, terminal_size=(100, 30), run_before=go_idle)


def test_kiosk_staff_menu(snap_compare: Any, content_dir: Path) -> None:
    app = kiosk(content_dir)

    async def open_menu(pilot: Pilot[None]) -> None:
        await pilot.press("f12", *"2468", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        # The status line names a folder, a time and a process: fixed here so the snapshot is stable.
        app.screen.query_one("#staff-status", Static).update(
            "kreader 0.1.0 · /srv/kreader/content · 1 article · loaded just now (09:00:00) · "
            "0 errors logged since start · up 0 h 05 min · pid 1234"
        )
        await pilot.pause()

    assert snap_compare(app, terminal_size=(100, 30), run_before=open_menu)


def test_kiosk_console_view(snap_compare: Any, content_dir: Path) -> None:
    """On the Linux console: box-line borders, no half blocks, no ☎ ✚ ★."""
    assert snap_compare(kiosk(content_dir, glyphs="console"), terminal_size=(80, 24))


def test_kiosk_console_contact_qr(snap_compare: Any, content_dir: Path) -> None:
    """The QR code in full blocks, two cells a module (at 80x24 it scrolls; a console screen is larger)."""
    assert snap_compare(kiosk(content_dir, glyphs="console"), press=["c"], terminal_size=(80, 24))
