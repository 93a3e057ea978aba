"""The reader (and, with ``--kiosk`` or ``kiosk = true``, the kiosk): the command run when none is named.

Everything is checked before anything is drawn: a bad theme, article or section is one line and exit status 2.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from types import FrameType
from typing import TYPE_CHECKING, Any

from kreader.commands.context import Context
from kreader.content import Library, LibraryError, load_library
from kreader.errors import CliError

if TYPE_CHECKING:
    from textual.app import App

ENDING_SIGNALS: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name)
    for name in (
        "SIGTERM",
        "SIGHUP",
        "SIGQUIT",
        "SIGUSR1",
        "SIGUSR2",
        "SIGALRM",
        "SIGVTALRM",
        "SIGPROF",
        "SIGXCPU",
        "SIGPWR",
    )
    if hasattr(signal, name)
)
"""Signals whose default action ends the process: each one instead ends the app the normal way, which
leaves the alternate screen, turns mouse reporting off and restores the terminal's modes. (SIGINT is
Textual's own; SIGKILL and SIGSTOP cannot be caught; SIGTSTP suspends, as Textual handles it.)"""

RESTORE_TERMINAL = (
    "\x1b[?1000l\x1b[?1003l\x1b[?1015l\x1b[?1006l"  # mouse reporting off
    "\x1b[?2004l\x1b[?7h\x1b[<u"  # bracketed paste off, line wrap on, Kitty keyboard protocol off
    "\x1b[?1049l\x1b[?25h\x1b[?1004l"  # leave the alternate screen, show the cursor, no focus events
)
"""What Textual's Linux driver writes when it stops, for when the app cannot stop by itself."""


class SignalGuard:
    """While an app runs, a terminating signal asks it to exit (status 128 + the signal's number).

    Without this, SIGQUIT, SIGUSR1 and SIGTERM left the terminal in the alternate screen with mouse
    reporting on. The handler only schedules `App.exit` on the app's event loop, which is safe at any
    moment; if a second signal comes before the app has managed to exit (its loop is stuck), the
    terminal is restored directly and the process ends at once. The kiosk's own SIGTERM and SIGHUP
    handlers (status 0, for systemd) take precedence while it runs.
    """

    def __init__(self) -> None:
        self.app: App[Any] | None = None
        """The app running now (the kiosk starts a fresh one after an internal error)."""
        self.received: int | None = None
        """The first ending signal received, if any."""
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> SignalGuard:
        for sig in ENDING_SIGNALS:
            with contextlib.suppress(OSError, ValueError):  # not the main thread: nothing to guard
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for sig, previous in self._previous.items():
            with contextlib.suppress(OSError, ValueError, TypeError):
                signal.signal(sig, previous if previous is not None else signal.SIG_DFL)
        self._previous.clear()

    @property
    def return_code(self) -> int | None:
        """128 + the signal's number, as a shell reports a process ended by a signal; None if none came."""
        return None if self.received is None else 128 + self.received

    def run(self, app: App[Any]) -> None:
        """Run ``app`` under the guard."""
        self.app = app
        try:
            app.run()
        finally:
            self.app = None

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        first = self.received is None
        if first:
            self.received = signum
        code = 128 + signum
        app = self.app
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if app is None or loop is None:
            raise SystemExit(code)  # no app on screen: nothing to restore
        if first:
            loop.call_soon_threadsafe(lambda: app.exit(return_code=code))
            return
        self._restore_now(app)
        os._exit(code)

    @staticmethod
    def _restore_now(app: App[Any]) -> None:
        """Put the terminal back without the app's help (its event loop is not answering)."""
        driver = getattr(app, "_driver", None)
        attrs = getattr(driver, "attrs_before", None)
        stream = sys.__stderr__
        if stream is None:
            return
        with contextlib.suppress(Exception):
            import termios

            if attrs is not None:
                termios.tcsetattr(stream.fileno(), termios.TCSANOW, attrs)
        with contextlib.suppress(Exception):
            stream.write(RESTORE_TERMINAL)
            stream.flush()


def run(ctx: Context) -> int:
    """Open the reader (or, with ``--kiosk`` or ``kiosk = true``, the kiosk); returns the exit status."""
    args = ctx.args
    settings = ctx.settings
    kiosk = bool(args.kiosk or settings.kiosk)
    web_session = bool(getattr(args, "web_session", False))
    if kiosk:
        from kreader.kiosk import sanitize_environment

        sanitize_environment(os.environ, allow_web_driver=True)
    try:
        library = ctx.library()
    except LibraryError as exc:
        if not kiosk:
            raise
        # A kiosk never exits over content: it shows a calm notice and keeps checking the folder.
        library = Library(ctx.content_dir, ())
        load_error = str(exc)
    else:
        load_error = ""
    if args.theme:
        from kreader.themes import known_theme, theme_names

        if not known_theme(args.theme):
            raise CliError(
                f"unknown theme {args.theme!r}; choose one of: {', '.join(theme_names())}"
            )

    from kreader.factory import make_app
    from kreader.screens.reader import StartAt

    notices = [f"Skipped {error}" for error in library.errors]
    start = StartAt()
    if args.article:
        if library.article(args.article) is None:
            ids = ", ".join(a.id for a in library.articles)
            raise CliError(f"no article {args.article!r} in {library.root}; articles: {ids}")
        start = StartAt(args.article)
    if args.section:
        candidates = [library.article(args.article)] if args.article else list(library.articles)
        found = next(
            ((a, a.section(args.section)) for a in candidates if a and a.section(args.section)),
            None,
        )
        if found is None:
            valid = ", ".join(s.id for a in candidates if a for s in a.sections)
            raise CliError(f"no section {args.section!r}; valid section ids: {valid}")
        start = StartAt(found[0].id, args.section)

    if kiosk:
        from kreader.kiosk_app import KioskApp, _write_log, run_kiosk
        from kreader.store import Store

        if load_error:
            _write_log(load_error)

        def build() -> KioskApp:
            nonlocal library
            if (
                library.articles
            ):  # each fresh start reads the content again: it may have been mended
                with contextlib.suppress(LibraryError):
                    library = load_library(library.root)
            kiosk_app = make_app(
                library,
                Store.in_memory(),
                settings,
                theme=args.theme,
                kiosk=True,
                notices=notices,
                language=ctx.language,
            )
            assert isinstance(kiosk_app, KioskApp)
            return kiosk_app

        with SignalGuard() as guard:
            status = run_kiosk(build, guard.run)
        return status
    elif web_session:
        # One browser's session of `kreader serve`: anyone who can reach the page gets one, so it neither
        # reads nor writes the host's bookmarks, reading position, search cache or settings file. Each session
        # keeps its own in memory while its page is open.
        from kreader.store import Store

        app = make_app(
            library, Store.in_memory(), settings, start=start, notices=notices, theme=args.theme
        )
        app.SEARCH_CACHE = False
    else:
        from kreader.store import open_store

        store = open_store(ctx.data_dir)
        if not args.section and not args.article and not args.fresh:
            saved = store.last_position()
            article = library.article(saved.article_id) if saved else None
            if saved and article and article.section(saved.section_id):
                section = article.section(saved.section_id)
                note = f"Resumed where you left off: {section.title if section else ''} (--fresh starts over)"
                start = StartAt(
                    saved.article_id, saved.section_id, saved.anchor, saved.fraction, note
                )
        app = make_app(
            library,
            store,
            settings,
            start=start,
            notices=notices,
            theme=args.theme,
            config_path=ctx.config_path,
            language=ctx.language,
        )
    try:
        with SignalGuard() as guard:
            guard.run(app)
    finally:
        if not kiosk:
            app.store.close()
    if guard.return_code is not None:
        return guard.return_code  # stopped from outside: no error to report
    if app.return_code:
        print("kreader: stopped by an internal error (see above)", file=sys.stderr)
    return app.return_code or 0
