"""Kiosk mode: the reader locked down for a clinic's waiting room.

The decisions (which keys act, when it is idle, when to rotate, whether a PIN is right) are made by
`kreader.kiosk.KioskPolicy` on an injectable clock; this module only applies them. Nothing here opens the
bookmark database: the app is handed a store in memory (`Store.in_memory`), so a visitor's bookmarks vanish at the idle reset and
nothing reaches the disk but the error log.
"""

from __future__ import annotations

import logging
import os
import signal
import stat
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import ClassVar

import platformdirs
from textual import events, work
from textual.binding import BindingType
from textual.screen import ModalScreen, Screen

from kreader import __version__
from kreader.app import KReaderApp, ReaderOptions
from kreader.contact import featured_article
from kreader.content import (
    Contact,
    Library,
    LibraryError,
    keep_last_good,
    library_signature,
    load_library,
)
from kreader.editions import editions_signature, load_editions
from kreader.exitcodes import STAFF_EXIT
from kreader.humanize import ago
from kreader.i18n import SOURCE_LANGUAGE, _, ngettext
from kreader.kiosk import KioskPolicy, is_key_allowed, is_staff_chord
from kreader.messages import LibraryChanged, StartOver
from kreader.safetext import clean
from kreader.screens.pin import PinScreen
from kreader.screens.reader import SEARCH_KEYS, StartAt
from kreader.screens.staff import StaffChoice, StaffMenu
from kreader.screens.unavailable import UnavailableScreen
from kreader.settings import Settings
from kreader.store import Store
from kreader.widgets.section_view import SectionView

RESTART_CODE = 75
"""Return code of a kiosk app that hit an internal error and wants a fresh start (EX_TEMPFAIL)."""
STAFF_RESTART_CODE = 76
"""Return code of a kiosk app that staff asked to restart: `run_kiosk` starts a fresh one, and it is not
counted as a failure. Never a process's exit status."""
PROCESS_STARTED = time.monotonic()
"""When this process started (near enough: when the kiosk was imported), for the staff menu's uptime."""
RELOAD_SECONDS = 3.0
"""How often the content folder is checked for edits."""
WAKE_GRACE_SECONDS = 0.6
"""After a wake, clicks in this window belong to the touch that woke the kiosk and are not acted on."""

log = logging.getLogger("kreader.kiosk")


def kiosk_log_path() -> Path:
    """Where kiosk errors are written (the platform's log folder)."""
    return platformdirs.user_log_path("kreader") / "kiosk.log"


class KioskApp(KReaderApp, inherit_bindings=False):
    """The locked-down reader: its own input filter, the attract loop, content reload; the reader screen
    in kiosk mode does the reading."""

    ENABLE_COMMAND_PALETTE = False
    SEARCH_CACHE = False
    BINDINGS: ClassVar[list[BindingType]] = []
    INPUT_EVENTS = (
        events.Key,
        events.MouseDown,
        events.MouseUp,
        events.Click,
        events.MouseScrollDown,
        events.MouseScrollUp,
        events.MouseMove,
    )
    CLICK_EVENTS = (events.MouseDown, events.MouseUp, events.Click)

    def __init__(
        self,
        library: Library,
        store: Store,
        settings: Settings,
        *,
        notices: Sequence[str] = (),
        theme: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        tick_seconds: float = 1.0,
        language: str = SOURCE_LANGUAGE,
    ) -> None:
        super().__init__(
            library,
            store if not store.persistent else Store.in_memory(),
            settings,
            start=StartAt(self._featured_id(library, settings)),
            notices=notices,
            theme=theme or settings.kiosk_theme,
            clock=clock,
            language=language,
        )
        self.default_language = language
        """The language each visit starts in: the idle reset comes back to it."""
        self.policy = KioskPolicy(
            idle_seconds=settings.idle_seconds,
            rotate_seconds=settings.rotate_seconds,
            pin_hash=settings.admin_pin_hash,
            clock=clock,
        )
        self.gate = self.policy.pin_gate()
        self.tick_seconds = tick_seconds
        self.load_error = ""
        self._signature: tuple[tuple[str, int, int], ...] = ()
        self.errors_logged = 0
        self._mouse_grace_until = 0.0
        self.loaded_at = time.time()
        """Wall-clock time the content on screen was loaded (for the staff menu)."""
        self.add_class("-kiosk")

    @staticmethod
    def _featured_id(library: Library, settings: Settings) -> str:
        article = featured_article(library, settings.featured or "")
        return article.id if article else ""

    @property
    def featured(self) -> str:
        """Id of the article the attract loop shows."""
        return self._featured_id(self.library, self.settings)

    # -- start-up --------------------------------------------------------------------------------------------

    def reader_options(self) -> ReaderOptions:
        return {"kiosk": True, "featured": self.featured}

    def get_default_screen(self) -> Screen[None]:
        if not self.library.articles:
            # Nothing to read: a calm notice until the content folder is mended (`_swap_library`).
            return UnavailableScreen(self.load_error, Contact(), "")
        return super().get_default_screen()

    def start_up(self) -> None:
        self.apply_wanted_theme()
        self._install_signals()
        if self.library.articles:
            self.build_index_after_first_paint()
        try:
            self._signature = self._content_signature()
        except LibraryError:
            self._signature = ()
        self.set_interval(self.tick_seconds, self.tick)
        self.set_interval(RELOAD_SECONDS, self.check_content)

    def _install_signals(self) -> None:
        """SIGINT and SIGTSTP do nothing; SIGTERM and SIGHUP end the kiosk cleanly with status 0."""
        import asyncio

        try:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGHUP):
                loop.add_signal_handler(sig, self._exit_cleanly)
            loop.add_signal_handler(signal.SIGINT, lambda: None)
            signal.signal(signal.SIGTSTP, signal.SIG_IGN)
        except (RuntimeError, ValueError, NotImplementedError):
            log.warning("could not install signal handlers (not the main thread)")

    def _content_signature(self) -> tuple[tuple[str, int, int], ...]:
        """What changes when an article or one of its editions does."""
        root = self.library.root
        return library_signature(root) + editions_signature(root)

    def open_url(self, url: str, *, new_tab: bool = True) -> None:
        """Never open anything outside the kiosk: no browser, no new tab in a served session."""
        log.info("blocked an attempt to open %s", url)

    def _exit_cleanly(self) -> None:
        """SIGTERM or SIGHUP from the service manager: stop with status 0."""
        self.exit(return_code=0)

    # -- input -----------------------------------------------------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, self.INPUT_EVENTS):
            if self.policy.wake():
                self._set_attract(False)
                # The touch that woke the kiosk arrives as move, down, up and click: none of them acts.
                self._mouse_grace_until = self.clock() + WAKE_GRACE_SECONDS
                return  # the first input after the attract loop only wakes the kiosk
            if isinstance(event, self.CLICK_EVENTS) and self.clock() < self._mouse_grace_until:
                return
            if isinstance(event, events.Key):
                if is_staff_chord(event.key):
                    self.open_pin()
                    return
                in_dialog = isinstance(self.screen, ModalScreen)
                if not (
                    is_key_allowed(event.key, in_dialog=in_dialog, character=event.character)
                    or self._is_search_key(event.key)
                ):
                    return
        await super().on_event(event)

    def _is_search_key(self, key: str) -> bool:
        """``N`` and ``escape`` while the reader shows a search: the footer offers them as Prev match and End
        search (a touch on those keys sends them too), and they act on nothing else."""
        reader = self._reader
        return (
            key in SEARCH_KEYS and reader is not None and self.screen is reader and reader.searching
        )

    def open_pin(self) -> None:
        """Show the staff PIN prompt (once); the right PIN opens the staff menu."""
        if isinstance(self.screen, PinScreen | StaffMenu):
            return

        def answered(right: bool | None) -> None:
            if right:
                self.push_screen(StaffMenu(self.status_line()), self.staff_chose)

        self.push_screen(PinScreen(self.gate), answered)

    def staff_chose(self, choice: StaffChoice | None) -> None:
        """Act on the staff menu: leave for good, reload the content now, or start a fresh kiosk."""
        if choice == "leave":
            _write_log("staff left the kiosk from the staff menu")
            self.exit(return_code=STAFF_EXIT)
        elif choice == "reload":
            self.notify("Reloading the content.", timeout=3)
            self.reload_content()
        elif choice == "restart":
            _write_log("staff restarted the kiosk from the staff menu")
            self.exit(return_code=STAFF_RESTART_CODE)

    def status_line(self) -> str:
        """Version, content folder, articles, last reload, errors logged since start, uptime."""
        articles = len(self.library.articles)
        uptime = int(time.monotonic() - PROCESS_STARTED)
        hours, rest = divmod(uptime, 3600)
        parts = [
            f"kreader {__version__}",
            str(self.library.root),
            ngettext("{count} article", "{count} articles", articles).format(count=articles),
            _("loaded {ago} ({time})").format(
                ago=ago(self.loaded_at, time.time()),
                time=time.strftime("%H:%M:%S", time.localtime(self.loaded_at)),
            ),
            ngettext(
                "{count} error logged since start",
                "{count} errors logged since start",
                _process_errors,
            ).format(count=_process_errors),
            _("up {hours} h {minutes} min").format(hours=hours, minutes=f"{rest // 60:02d}"),
            f"pid {os.getpid()}",
        ]
        return " · ".join(parts)

    # -- dialogs keep the clinic's line in view ----------------------------------------------------------------

    def dialog_insets(self) -> tuple[int, int]:
        """Rows above and below a dialog that stay uncovered: the header, and the contact line, disclaimer
        and footer at the bottom of the screen under it."""
        base = self.screen_stack[0] if self.screen_stack else None
        if base is None:
            return 0, 0
        height = self.size.height
        top = max((w.region.bottom for w in base.query("Header") if w.display), default=0)
        bottom_rows = [
            w.region.y
            for w in base.query("#kiosk-contact, #kiosk-disclaimer, Footer")
            if w.display and w.region.height
        ]
        bottom = height - min(bottom_rows) if bottom_rows else 0
        return top, max(0, bottom)

    def on_start_over(self, message: StartOver) -> None:
        self.idle_reset()

    # -- the clock -------------------------------------------------------------------------------------------

    def tick(self) -> None:
        """Once a second: go idle, rotate the attract loop, draw the countdown."""
        if not self.library.articles or not self.is_running:
            return  # nothing to show, or the app is closing its screens (a tick then found no widgets)
        if not self.policy.in_attract and self.policy.is_idle():
            self.idle_reset()
            self.policy.enter_attract()
            self._set_attract(True)
        elif self.policy.rotation_due():
            self.attract_step()
            self.policy.rotated()
        self._set_attract(self.policy.in_attract)

    def _set_attract(self, on: bool) -> None:
        reader = self._reader
        if reader is not None and reader.is_mounted:
            reader.show_attract(on, self.policy.countdown_fraction())

    def idle_reset(self) -> None:
        """Forget the visitor: close every dialog, clear search and bookmarks, show the featured article's start."""
        reader = self._reader
        while len(self.screen_stack) > 1:
            self.pop_screen()
        self.store.clear()
        self.switch_language(self.default_language)
        if reader is not None and reader.is_mounted:
            reader.go_home(self.featured)
            reader.refresh_bookmark_marks()
        self.clear_notifications()

    def attract_step(self) -> None:
        """Page down gently through a long section, then go on to the next, looping over the featured article."""
        reader = self._reader
        if reader is None or not reader.is_mounted:
            return
        view = reader.query_one(SectionView)
        step = self.policy.next_attract_step(
            view.scroll_y, view.max_scroll_y, view.scrollable_content_region.height
        )
        if step == "page":
            view.scroll_page_down(animate=True, duration=1.2)
            return
        languages = self.settings.attract_languages
        if self.language in languages and languages.index(self.language) + 1 < len(languages):
            # The same section again in the loop's next language, from its top: a passer-by sees
            # every page in each language.
            self.switch_language(languages[languages.index(self.language) + 1])
            reader.query_one(SectionView).go_to("", 0.0)
            return
        if languages and self.language != languages[0]:
            self.switch_language(languages[0])
        reader = self._reader
        if reader is None:
            return
        article = reader.library.article(self.featured)
        if article is None or reader.section is None:
            return
        index = article.index_of(reader.section.id) if reader.article is article else -1
        reader.open(article, article.sections[(index + 1) % len(article.sections)], save=False)

    # -- content edits ---------------------------------------------------------------------------------------

    def check_content(self) -> None:
        """Pick up edits to the content folder; a broken edit keeps the last good content on screen."""
        if not self.is_running:
            return
        try:
            signature = self._content_signature()
        except LibraryError as exc:
            self._log_problem(str(exc))
            return
        if signature != self._signature:
            self._signature = signature
            self.reload_content()

    @work(thread=True, exclusive=True, group="reload")
    def reload_content(self) -> None:
        try:
            library = load_library(self.library.root)
        except LibraryError as exc:
            self.call_from_thread(
                self._log_problem, f"content not reloaded, keeping what is shown: {exc}"
            )
            return
        for error in library.errors:
            self.call_from_thread(self._log_problem, f"content file skipped: {error}")
        self.call_from_thread(self._swap_library, keep_last_good(library, self.library))

    def _swap_library(self, library: Library) -> None:
        was_unavailable = not self.library.articles
        self.library = library
        self.editions = load_editions(library)
        self.layouts.clear()
        self.forget_indexes()
        self.build_search_index()
        self.loaded_at = time.time()
        if was_unavailable:
            # The reader was never shown: a new one opens at the featured article.
            self.start = StartAt(self.featured)
            self._reader = self.make_reader()
            self.switch_screen(self._reader)
            return
        if self._reader is not None:
            self._reader.featured = self.featured
            self._reader.post_message(LibraryChanged(self.shown_library))

    # -- errors ----------------------------------------------------------------------------------------------

    def _log_problem(self, message: str) -> None:
        self.errors_logged += 1
        _count_error()
        _write_log(message)

    def _handle_exception(self, error: Exception) -> None:
        """Log the error and ask to be started afresh instead of showing a traceback to a visitor.

        Textual stops the message loop that raised, so no part of this app can be trusted any more; the
        caller (`run_kiosk`) builds a new app, which opens at the start screen.
        """
        self.errors_logged += 1
        _count_error()
        _write_log("".join(traceback.format_exception(error)))
        self._return_code = RESTART_CODE
        self._close_messages_no_wait()


def run_kiosk(
    build: Callable[[], KioskApp],
    run: Callable[[KioskApp], int | None] = lambda app: app.run(),
    *,
    clock: Callable[[], float] = time.monotonic,
    max_restarts: int = 5,
    window: float = 60.0,
) -> int:
    """Run kiosk apps until one ends for a reason other than an internal error.

    After an error the kiosk comes back at its start screen at once; if it fails ``max_restarts`` times within
    ``window`` seconds something is badly wrong, and it exits with status 1 for the service manager to handle.
    """
    failures: list[float] = []
    while True:
        app = build()
        run(app)
        if app.return_code == STAFF_RESTART_CODE:
            continue  # asked for by staff: not a failure
        if app.return_code != RESTART_CODE:
            return app.return_code or 0
        now = clock()
        failures = [t for t in failures if now - t < window] + [now]
        if len(failures) >= max_restarts:
            _write_log(
                f"{len(failures)} errors within {window:.0f} s; exiting for the service manager"
            )
            return 1


_process_errors = 0
"""Errors this process has written to the kiosk log (the staff menu shows it; it survives restarts)."""


def _count_error() -> None:
    global _process_errors
    _process_errors += 1


def _write_log(message: str) -> None:
    """Append to the kiosk log; a log that cannot be written is not worth crashing for.

    Messages name content files, whose names may hold escape sequences: staff read this log in a terminal.
    """
    message = clean(message)
    try:
        path = kiosk_log_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        # Never blocks: a FIFO put where the log should be would otherwise hang the kiosk at its first error.
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NONBLOCK", 0)
        descriptor = os.open(path, flags, 0o600)
        try:
            if stat.S_ISREG(os.fstat(descriptor).st_mode):
                line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message.rstrip()}\n"
                os.write(descriptor, line.encode("utf-8", errors="replace"))
        finally:
            os.close(descriptor)
    except OSError:
        pass
