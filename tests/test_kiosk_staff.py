"""The staff menu (issue 15): F12 and the PIN open it; leave stops the kiosk for good, reload and restart do what
they say, and the process's exit status is the one the kiosk unit lists in RestartPreventExitStatus."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest
from helpers import write_library
from test_signals import read, start

from kreader import __version__
from kreader.content import load_library
from kreader.exitcodes import STAFF_EXIT
from kreader.factory import make_app
from kreader.kiosk_app import (
    RESTART_CODE,
    STAFF_RESTART_CODE,
    KioskApp,
    run_kiosk,
)
from kreader.pin import hash_pin
from kreader.screens.staff import StaffMenu
from kreader.settings import Settings
from kreader.store import Store

PIN = "2468"
PIN_HASH = hash_pin(PIN, salt=b"0123456789abcdef")


def kiosk(content: Path) -> KioskApp:
    app = make_app(
        load_library(content),
        Store.in_memory(),
        Settings(kiosk=True, admin_pin_hash=PIN_HASH),
        kiosk=True,
        clock=lambda: 5_000.0,
    )
    assert isinstance(app, KioskApp)
    app.tick_seconds = 3600
    return app


async def open_menu(app: KioskApp, pilot: object) -> None:
    from textual.pilot import Pilot

    assert isinstance(pilot, Pilot)
    await pilot.pause()
    await pilot.press("f12", *PIN, "enter")
    await app.workers.wait_for_complete()
    await pilot.pause()
    assert isinstance(app.screen, StaffMenu)


async def test_ctrl_alt_a_opens_the_pin_too(content_dir: Path) -> None:
    app = kiosk(content_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+alt+a")
        assert type(app.screen).__name__ == "PinScreen"


async def test_leave_exits_with_staff_exit(content_dir: Path) -> None:
    app = kiosk(content_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_menu(app, pilot)
        await pilot.click("#staff-leave")
        await pilot.pause()
    assert app.return_code == STAFF_EXIT == 10


async def test_close_goes_back_to_the_kiosk(content_dir: Path) -> None:
    app = kiosk(content_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_menu(app, pilot)
        await pilot.click("#dialog-close")
        await pilot.pause()
        assert app.is_running and app.screen is app.reader()


async def test_the_status_line_says_how_the_kiosk_is_doing(content_dir: Path) -> None:
    app = kiosk(content_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_menu(app, pilot)
        status = str(app.screen.query_one("#staff-status").render())
    for part in (
        f"kreader {__version__}",
        str(content_dir),
        "1 article ",
        "loaded just now",
        "logged since start",
        "up 0 h",
    ):
        assert part in status, status


async def test_reload_reads_the_content_folder_now(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kreader.kiosk_app

    monkeypatch.setattr(kreader.kiosk_app, "RELOAD_SECONDS", 3600.0)  # only the menu reloads
    folder = write_library(tmp_path / "content")
    app = kiosk(folder)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_menu(app, pilot)
        loaded = app.loaded_at
        (folder / "gamma.md").write_text("# Gamma notes\n\nNew today.\n", encoding="utf-8")
        await pilot.press("r")
        await app.workers.wait_for_complete()
        await pilot.pause(0.2)
        assert app.screen is app.reader()
        assert [a.id for a in app.library.articles] == ["alpha", "beta", "gamma"]
        assert app.loaded_at >= loaded
        assert app.is_running


async def test_restart_asks_for_a_fresh_app(content_dir: Path) -> None:
    app = kiosk(content_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_menu(app, pilot)
        await pilot.click("#staff-restart")
        await pilot.pause()
    assert app.return_code == STAFF_RESTART_CODE


def test_run_kiosk_restarts_for_staff_as_often_as_asked_and_stops_on_staff_exit(
    content_dir: Path,
) -> None:
    built: list[KioskApp] = []
    codes = [STAFF_RESTART_CODE] * 8 + [STAFF_EXIT]

    def build() -> KioskApp:
        built.append(kiosk(content_dir))
        return built[-1]

    def run(app: KioskApp) -> None:
        app._return_code = codes[len(built) - 1]

    # Eight staff restarts in a second are not eight failures: only internal errors count.
    assert run_kiosk(build, run, clock=lambda: 0.0, max_restarts=5) == STAFF_EXIT
    assert len(built) == 9
    assert len({id(app) for app in built}) == 9
    codes[:] = [RESTART_CODE] * 9
    built.clear()
    assert run_kiosk(build, run, clock=lambda: 0.0, max_restarts=5) == 1


def test_the_process_exit_status_is_staff_exit(tmp_path: Path) -> None:
    """A real ``kreader --kiosk`` on a terminal: F12, the PIN, then "leave" ends the process with STAFF_EXIT."""
    config = Path(os.environ["KREADER_CONFIG"])
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f'[kiosk]\nadmin_pin_hash = "{PIN_HASH}"\n', encoding="utf-8")
    process, terminal = start(tmp_path, "--kiosk")
    try:
        drawn = read(terminal, b"Overview", 30)
        assert b"Overview" in drawn, drawn[-2000:]
        os.write(terminal, b"\x1b[24~")  # F12
        assert b"PIN" in read(terminal, b"PIN", 10)
        os.write(terminal, PIN.encode() + b"\r")
        assert b"Staff menu" in read(terminal, b"Staff menu", 15)
        os.write(terminal, b"l")
        deadline = time.monotonic() + 15
        while process.poll() is None and time.monotonic() < deadline:
            read(terminal, None, 0.2)
        assert process.poll() == STAFF_EXIT
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        os.close(terminal)


def test_staff_exit_is_documented_where_the_unit_can_name_it() -> None:
    import kreader.exitcodes

    documented = (kreader.exitcodes.__doc__ or "") + str(kreader.exitcodes.__doc__)
    source = Path(kreader.exitcodes.__file__).read_text(encoding="utf-8")
    assert "RestartPreventExitStatus" in source and "STAFF_EXIT" in documented
    assert sys.modules["kreader.exitcodes"].STAFF_EXIT == 10
