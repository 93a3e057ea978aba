"""Kiosk mode driven like a visitor and like the clinic's staff, on a fake clock (no real waiting)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import footer_key, footer_keys, matches_listed, search_bar
from textual import events
from textual.pilot import Pilot, _get_mouse_message_arguments

from kreader.contact import contact_qr_data
from kreader.content import load_library
from kreader.exitcodes import STAFF_EXIT
from kreader.factory import make_app
from kreader.kiosk_app import RESTART_CODE, KioskApp, kiosk_log_path, run_kiosk
from kreader.pin import hash_pin
from kreader.screens.contact import ContactScreen
from kreader.screens.pin import PinScreen
from kreader.screens.reader import ReaderScreen
from kreader.screens.staff import StaffMenu
from kreader.screens.unavailable import UnavailableScreen
from kreader.settings import Settings
from kreader.store import Store
from kreader.widgets.qr import qr_text

ROOT = Path(__file__).resolve().parent.parent


class FakeClock:
    """Seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 10_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def kiosk(content: Path, clock: FakeClock, **settings: object) -> KioskApp:
    app = make_app(
        load_library(content),
        Store.in_memory(),
        Settings(kiosk=True, **settings),
        kiosk=True,
        clock=clock,  # type: ignore[arg-type]
    )
    assert isinstance(app, KioskApp)
    app.tick_seconds = 3600  # the test ticks by hand
    return app


async def go_idle(app: KioskApp, pilot: Pilot[None], clock: FakeClock) -> None:
    clock.advance(app.settings.idle_seconds + 1)
    app.tick()
    await pilot.pause()


@pytest.mark.parametrize(
    "key",
    ["ctrl+c", "ctrl+q", "ctrl+z", "ctrl+backslash", "q", "escape", "ctrl+p", "t", "ctrl+s", "f2"],
)
async def test_escape_keys_are_inert(content_dir: Path, key: str) -> None:
    app = kiosk(content_dir, FakeClock())
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        theme = app.theme
        await pilot.press(key)
        await pilot.pause()
        assert app.is_running and app.return_code is None
        assert isinstance(app.screen, ReaderScreen)
        assert app.theme == theme


async def test_command_palette_and_header_icon_do_nothing(content_dir: Path) -> None:
    app = kiosk(content_dir, FakeClock())
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.click("HeaderIcon")
        app.action_command_palette()
        await pilot.pause()
        assert isinstance(app.screen, ReaderScreen)


async def test_reading_keys_work(content_dir: Path) -> None:
    app = kiosk(content_dir, FakeClock())
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("n")
        assert app.reader().section is not None and app.reader().section.id == "history"
        await pilot.press("p")
        assert app.reader().section.id == "overview"
        await pilot.press("slash", *"nmda")
        await pilot.pause(0.3)
        assert type(app.screen).__name__ == "SearchScreen"
        await pilot.press("escape")
        assert isinstance(app.screen, ReaderScreen)


async def test_a_visitor_sees_the_search_mode_and_can_end_it(content_dir: Path) -> None:
    clock = FakeClock()
    app = kiosk(content_dir, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        reading = footer_keys(app)
        assert reading[:3] == [("l", "Español"), ("n", "Next"), ("p", "Back")]
        await pilot.press("N", "escape")  # no search: inert, as every key outside the kiosk's few
        await pilot.pause()
        assert app.reader().section is not None and app.reader().section.id == "overview"

        for _ in range(200):  # the index is built in a thread after the first frame
            await app.workers.wait_for_complete()
            if app.search_index is not None:
                break
            await asyncio.sleep(0.02)
        assert app.search_index is not None
        total = len(app.search_index.occurrences("nmda"))
        assert total >= 3
        await pilot.press("slash", *"nmda", "enter")
        await matches_listed(pilot)
        reader = app.reader()
        assert app.screen is reader and reader.searching
        keys = footer_keys(app)
        assert keys[:4] == [
            ("l", "Español"),
            ("n", "Next match"),
            ("N", "Prev match"),
            ("escape", "End search"),
        ]
        assert ("p", "Back") not in keys and ("question_mark", "Help") in keys
        bar = search_bar(app)
        assert bar is not None and bar.startswith("Searching for nmda · match ")
        position = int(bar.split("match ")[1].split(" of ")[0])
        assert bar.endswith(f" of {total}")

        # N and escape act while a search is on (the kiosk lets them through only then).
        await pilot.press("n")
        await pilot.pause()
        assert search_bar(app) == f"Searching for nmda · match {position % total + 1} of {total}"
        await pilot.press("N")
        await pilot.pause()
        assert search_bar(app) == f"Searching for nmda · match {position} of {total}"
        await pilot.press("escape")
        await pilot.pause()
        assert not reader.searching and search_bar(app) is None
        assert footer_keys(app) == reading
        assert app.is_running and app.screen is reader

        # A touch on the footer's "esc End search" ends a search too.
        await pilot.press("slash", *"nmda", "enter")
        await matches_listed(pilot)
        assert reader.searching
        await pilot.click(footer_key(app, "escape"))
        await pilot.pause()
        assert not reader.searching and footer_keys(app) == reading

        # The idle reset forgets a search for the next visitor.
        await pilot.press("slash", *"nmda", "enter")
        await matches_listed(pilot)
        await go_idle(app, pilot, clock)
        assert not reader.searching and search_bar(app) is None


async def test_idle_reset_clears_visitor_and_shows_featured_start(content_dir: Path) -> None:
    clock = FakeClock()
    app = kiosk(content_dir, clock)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("n", "n", "b")
        assert len(app.store.list()) == 1
        await pilot.press("B")
        assert not isinstance(app.screen, ReaderScreen)
        clock.advance(app.settings.idle_seconds - 1)
        app.tick()
        assert not app.policy.in_attract
        await go_idle(app, pilot, clock)
        assert app.policy.in_attract
        assert isinstance(app.screen, ReaderScreen) and app.screen.has_class("-attract")
        assert app.store.list() == []
        assert app.reader().section is not None and app.reader().section.id == "overview"
        assert "★" not in str(
            app.screen.query_one("ContentsTree").root.children[0].children[2].label
        )


async def test_attract_loop_advances_and_wraps(content_dir: Path) -> None:
    clock = FakeClock()
    app = kiosk(content_dir, clock, rotate_seconds=25)
    async with app.run_test(size=(100, 60)) as pilot:
        await pilot.pause()
        await go_idle(app, pilot, clock)
        article = app.library.articles[0]
        seen = []
        for _ in range(40):
            clock.advance(10)
            app.tick()
            assert not app.policy.rotation_due()
            clock.advance(16)
            app.tick()
            await pilot.pause()
            seen.append(app.reader().section.id)  # type: ignore[union-attr]
        assert seen.count(article.sections[-1].id) >= 1
        # after the last section it comes back to the first
        last = max(
            i for i, s in enumerate(seen[:-1]) if s == article.sections[-1].id and seen[i + 1] != s
        )
        assert seen[last + 1] == article.sections[0].id
        assert 0.0 <= app.policy.countdown_fraction() <= 1.0


async def test_long_section_pages_down_before_moving_on(content_dir: Path) -> None:
    clock = FakeClock()
    app = kiosk(content_dir, clock)
    async with app.run_test(size=(80, 16)) as pilot:
        await pilot.pause()
        await go_idle(app, pilot, clock)
        view = app.reader().query_one("SectionView")
        assert view.max_scroll_y > 0
        clock.advance(26)
        app.tick()
        await pilot.pause(1.5)
        assert app.reader().section.id == "overview"  # type: ignore[union-attr]
        assert view.scroll_y > 0


async def test_first_key_after_attract_only_wakes(content_dir: Path) -> None:
    clock = FakeClock()
    app = kiosk(content_dir, clock)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await go_idle(app, pilot, clock)
        await pilot.press("n")
        assert not app.policy.in_attract
        assert not app.screen.has_class("-attract")
        assert app.reader().section.id == "overview"  # type: ignore[union-attr]
        await pilot.press("n")
        assert app.reader().section.id == "history"  # type: ignore[union-attr]


async def test_first_click_after_attract_only_wakes(content_dir: Path) -> None:
    clock = FakeClock()
    app = kiosk(content_dir, clock)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await go_idle(app, pilot, clock)
        # As the terminal driver does (the pilot's click skips App.on_event): move, down, up, click.
        tree = app.screen.query_one("ContentsTree")
        arguments = _get_mouse_message_arguments(tree, (4, 2))
        for event_type in (events.MouseMove, events.MouseDown, events.MouseUp, events.Click):
            app.post_message(event_type(**arguments))
            await pilot.pause()
        assert not app.policy.in_attract
        assert app.reader().section.id == "overview"  # type: ignore[union-attr]
        clock.advance(2)
        for event_type in (events.MouseDown, events.MouseUp, events.Click):
            app.post_message(event_type(**arguments))
            await pilot.pause()
        assert app.reader().section.id == "history"  # type: ignore[union-attr]


async def test_start_over_key(content_dir: Path) -> None:
    app = kiosk(content_dir, FakeClock())
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("n", "n", "b", "s")
        assert app.reader().section.id == "overview"  # type: ignore[union-attr]
        assert app.store.list() == []


async def test_contact_and_disclaimer_always_on_screen(content_dir: Path) -> None:
    app = kiosk(content_dir, FakeClock())
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        contact = str(app.screen.query_one("#kiosk-contact").render())
        disclaimer = str(app.screen.query_one("#kiosk-disclaimer").render())
        assert "(432) 218-8135" in contact and "5105 Sunmore Cir" in contact
        assert "988" in disclaimer and "not medical advice" in disclaimer


async def test_contact_view_shows_a_qr_code(content_dir: Path) -> None:
    app = kiosk(content_dir, FakeClock())
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("c")
        assert isinstance(app.screen, ContactScreen)
        qr = str(app.screen.query_one("#contact-qr").render())
        assert "█" in qr or "▀" in qr
        await pilot.press("escape")
        assert isinstance(app.screen, ReaderScreen)


def test_qr_code_encodes_the_contact_exactly(content_dir: Path) -> None:
    import segno

    article = load_library(content_dir).articles[0]
    data = contact_qr_data(article.contact)
    assert "TEL:+14322188135" in data and "ADR:5105 Sunmore Cir\\, Suite B" in data
    rows = str(qr_text(data)).split("\n")
    expected = [
        list(r) for r in segno.make(data, error="l", micro=False).matrix_iter(scale=1, border=4)
    ]
    if len(expected) % 2:
        expected.append([0] * len(expected[0]))
    decoded = []
    for row in rows:
        decoded.append([1 if c in "█▀" else 0 for c in row])
        decoded.append([1 if c in "█▄" else 0 for c in row])
    assert decoded == [[int(bool(v)) for v in r] for r in expected]


async def test_right_pin_opens_the_staff_menu_and_leave_exits_with_staff_exit(
    content_dir: Path,
) -> None:
    app = kiosk(content_dir, FakeClock(), admin_pin_hash=hash_pin("2468"))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("f12")
        assert isinstance(app.screen, PinScreen)
        await pilot.press(*"2468", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, StaffMenu)
        assert app.is_running, "the right PIN opens the staff menu; it does not leave by itself"
        await pilot.click("#staff-leave")
        await pilot.pause()
    assert app.return_code == STAFF_EXIT


async def test_wrong_pins_lock_for_a_minute(content_dir: Path) -> None:
    clock = FakeClock()
    app = kiosk(content_dir, clock, admin_pin_hash=hash_pin("2468"))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("f12")
        for _ in range(5):
            await pilot.press(*"1111", "enter")
            await app.workers.wait_for_complete()
            await pilot.pause()
        status = str(app.screen.query_one("#pin-status").render())
        assert "Try again in 60" in status
        await pilot.press(*"2468", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.is_running, "a locked prompt must refuse even the right PIN"
        clock.advance(61)
        await pilot.press(*"2468", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, StaffMenu)
        await pilot.press("l")
        await pilot.pause()
    assert app.return_code == STAFF_EXIT


async def test_without_pin_nobody_leaves_from_the_keyboard(content_dir: Path) -> None:
    app = kiosk(content_dir, FakeClock())
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("f12", *"0000", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.is_running
        assert "No staff PIN" in str(app.screen.query_one("#pin-status").render())
        await pilot.press("escape")
        assert isinstance(app.screen, ReaderScreen)


async def test_kiosk_writes_nothing_to_the_data_folder(
    content_dir: Path, isolated_home: Path
) -> None:
    before = {p: p.stat().st_mtime_ns for p in isolated_home.rglob("*")}
    clock = FakeClock()
    app = kiosk(content_dir, clock)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("n", "b", "B", "escape", "slash", *"ketamine", "enter")
        await go_idle(app, pilot, clock)
        await pilot.pause(1.0)
        # The search index was built, in memory: no cache file.
        assert app.search_index is not None and app.search_index.path is None
    after = {p: p.stat().st_mtime_ns for p in isolated_home.rglob("*")}
    assert after == before


async def test_tiny_terminal_never_crashes(content_dir: Path) -> None:
    app = kiosk(content_dir, FakeClock())
    async with app.run_test(size=(100, 30)) as pilot:
        for size in [(40, 12), (20, 5), (200, 60), (41, 13), (100, 30)]:
            await pilot.resize_terminal(*size)
            await pilot.pause()
        assert app.is_running


async def test_content_edits_are_picked_up_and_broken_edits_keep_last_good(tmp_path: Path) -> None:
    library = tmp_path / "lib"
    library.mkdir()
    page = library / "a.md"
    page.write_text("# Alpha\n\n## One\n\nfirst\n")
    app = kiosk(library, FakeClock())
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        page.write_text("# Alpha\n\n## One\n\nfirst\n\n## Two\n\nsecond\n")
        os.utime(page, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
        app.check_content()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert [s.id for s in app.library.articles[0].sections] == ["one", "two"]
        page.write_bytes(b"\xff\xfe broken")
        os.utime(page, ns=(time.time_ns() + 2 * 10**9, time.time_ns() + 2 * 10**9))
        app.check_content()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert [s.id for s in app.library.articles[0].sections] == ["one", "two"]
        assert app.errors_logged >= 1


async def test_missing_content_shows_a_calm_screen(tmp_path: Path) -> None:
    from kreader.content import Library

    app = make_app(Library(tmp_path / "nothing", ()), Store.in_memory(), Settings(), kiosk=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, UnavailableScreen)
        assert "temporarily unavailable" in str(app.screen.query_one("#unavailable-title").render())


async def test_an_error_inside_the_app_is_logged_and_asks_for_a_fresh_start(
    content_dir: Path,
) -> None:
    app = kiosk(content_dir, FakeClock())
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("n", "n")

        def boom() -> None:
            raise RuntimeError("simulated fault")

        app.call_later(boom)
        for _ in range(50):
            if app.return_code is not None:
                break
            await asyncio.sleep(0.05)
    assert app.return_code == RESTART_CODE
    assert app.errors_logged == 1
    assert "simulated fault" in kiosk_log_path().read_text()


def test_run_kiosk_starts_afresh_after_an_error_and_gives_up_on_a_crash_loop(
    content_dir: Path,
) -> None:
    library = load_library(content_dir)
    built: list[KioskApp] = []
    outcomes = iter([RESTART_CODE, RESTART_CODE, 0])

    def build() -> KioskApp:
        app = KioskApp(library, Store.in_memory(), Settings())
        built.append(app)
        return app

    def run(app: KioskApp) -> None:
        app._return_code = next(outcomes)

    assert run_kiosk(build, run) == 0
    assert len(built) == 3, "each restart gets a brand-new app at the start screen"

    def always_failing(app: KioskApp) -> None:
        app._return_code = RESTART_CODE

    clock = FakeClock()
    assert run_kiosk(build, always_failing, clock=clock, max_restarts=5) == 1


def _start_kiosk(tmp_path: Path, *extra: str) -> subprocess.Popen[bytes]:
    import pty

    main, child = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "30"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "kreader", "--kiosk", *extra],
        stdin=child,
        stdout=child,
        stderr=child,
        env=env,
        cwd=tmp_path,
        start_new_session=True,
    )
    os.close(child)
    proc._pty = main  # type: ignore[attr-defined]
    return proc


def _read_until(proc: subprocess.Popen[bytes], needle: bytes, timeout: float = 20) -> bytes:
    import select

    fd = proc._pty  # type: ignore[attr-defined]
    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and needle not in seen:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                seen += os.read(fd, 65536)
            except OSError:
                break
    return seen


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_service_signals_end_it_cleanly(tmp_path: Path, sig: signal.Signals) -> None:
    proc = _start_kiosk(tmp_path)
    try:
        assert b"Overview" in _read_until(proc, b"Overview")
        proc.send_signal(signal.SIGINT)
        proc.send_signal(signal.SIGTSTP)
        _read_until(proc, b"\x00never", timeout=0.5)  # keep the terminal drained meanwhile
        assert proc.poll() is None, "SIGINT and SIGTSTP must not stop the kiosk"
        proc.send_signal(sig)
        deadline = time.monotonic() + 15
        while proc.poll() is None and time.monotonic() < deadline:
            _read_until(proc, b"\x00never", timeout=0.2)
        assert proc.returncode == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        os.close(proc._pty)  # type: ignore[attr-defined]


def test_bad_settings_file_stops_before_drawing(tmp_path: Path) -> None:
    config = tmp_path / "kreader.toml"
    config.write_text("[kiosk]\nidle_seconds = 'soon'\n")
    result = subprocess.run(
        [sys.executable, "-m", "kreader", "--kiosk", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert "kreader.toml:2" in line and "idle_seconds" in line
