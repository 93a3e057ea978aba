"""Kiosk mode: the reader locked down for a clinic's waiting room.

The decisions (which keys act, when it is idle, when to rotate, whether a PIN is right) are made by
`kreader.kiosk.KioskPolicy` on an injectable clock; this module only applies them. Nothing here opens the
bookmark database: the app is handed a `MemoryStore`, so a visitor's bookmarks vanish at the idle reset and
nothing reaches the disk but the error log.
"""

from __future__ import annotations

import logging
import signal
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import ClassVar

import platformdirs
from rich.style import Style
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Center, Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Header, Input, ProgressBar, Static

from kreader.app import KReaderApp, StartAt
from kreader.content import Contact, Library, LibraryError, library_signature, load_library
from kreader.kiosk import KioskPolicy, PinGate, is_key_allowed, is_staff_chord
from kreader.screens.reader import ReaderScreen
from kreader.settings import Settings
from kreader.store import MemoryStore, Store
from kreader.widgets.section_view import SectionView

KIOSK_WIDTH = 72
"""Reading column in kiosk mode: comfortable at a distance, centred."""

CRISIS_LINE = "In a crisis in the US, call or text 988."
SHORT_DISCLAIMER = "Not medical advice: ask a clinician. In a crisis (US), call or text 988."
"""Used where the article's own disclaimer would take more than two lines."""
DEFAULT_DISCLAIMER = "General information only, not medical advice. Talk to a qualified clinician."
RESTART_CODE = 75
"""Return code of a kiosk app that hit an internal error and wants a fresh start (EX_TEMPFAIL)."""
RELOAD_SECONDS = 3.0
WAKE_GRACE_SECONDS = 0.6
"""After a wake, clicks in this window belong to the touch that woke the kiosk and are not acted on."""
"""How often the content folder is checked for edits."""

log = logging.getLogger("kreader.kiosk")


def kiosk_log_path() -> Path:
    """Where kiosk errors are written (the platform's log folder)."""
    return platformdirs.user_log_path("kreader") / "kiosk.log"


def contact_lines(contact: Contact, disclaimer: str) -> tuple[str, str]:
    """The two lines always on screen: how to reach the clinic, and the disclaimer with 988."""
    reach = " · ".join(part for part in (contact.name, contact.address, contact.phone) if part)
    note = disclaimer or DEFAULT_DISCLAIMER
    if "988" not in note:
        note = f"{note} {CRISIS_LINE}"
    return reach or "Ask at the front desk for help.", note


def contact_qr_data(contact: Contact) -> str:
    """A MECARD a phone camera offers to save as a contact (phone and address); short, so the code stays small."""

    def escape(value: str) -> str:
        for char in "\\;,:":
            value = value.replace(char, "\\" + char)
        return value

    digits = "".join(c for c in contact.phone if c.isdigit() or c == "+")
    if digits and not digits.startswith("+") and len(digits) == 10:
        digits = "+1" + digits
    fields = [f"N:{escape(contact.name or 'Clinic')}"]
    if digits:
        fields.append(f"TEL:{digits}")
    if contact.address:
        fields.append(f"ADR:{escape(contact.address)}")
    if contact.url:
        fields.append(f"URL:{escape(contact.url)}")
    return "MECARD:" + ";".join(fields) + ";;"


def qr_text(data: str) -> Text:
    """The QR code drawn with half-block characters, dark on white whatever the theme, so a phone can read it."""
    import segno

    code = segno.make(data, error="l", micro=False)
    rows = [list(row) for row in code.matrix_iter(scale=1, border=2)]
    if len(rows) % 2:
        rows.append([0] * len(rows[0]))
    ink = Style(color="#000000", bgcolor="#ffffff")
    lines = []
    for top, bottom in zip(rows[::2], rows[1::2], strict=True):
        cells = zip(top, bottom, strict=True)
        lines.append("".join("█" if a and b else "▀" if a else "▄" if b else " " for a, b in cells))
    return Text("\n".join(lines), style=ink, no_wrap=True, overflow="crop", end="")


class ContactScreen(ModalScreen[None]):
    """How to reach the clinic, with a QR code a phone can scan to take the contact home."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,c", "dismiss", "Close")]
    DEFAULT_CLASSES = "dialog"

    def __init__(self, contact: Contact, disclaimer: str) -> None:
        super().__init__()
        self.contact = contact
        self.disclaimer = disclaimer

    def compose(self) -> ComposeResult:
        reach = [
            part for part in (self.contact.name, self.contact.address, self.contact.phone) if part
        ]
        with Vertical(id="dialog-body"):
            yield Static("Contact the clinic", id="dialog-title")
            with Horizontal(id="contact-row"):
                if self.contact:
                    yield Static(qr_text(contact_qr_data(self.contact)), id="contact-qr")
                with Vertical(id="contact-text"):
                    yield Static(
                        "\n".join(reach) or "Please ask at the front desk.", id="contact-details"
                    )
                    yield Static(
                        "Scan the code with your phone's camera to save this number and address.",
                        classes="dialog-hint",
                    )
                    yield Static(
                        contact_lines(self.contact, self.disclaimer)[1], id="contact-disclaimer"
                    )
            yield Static("escape or c closes", classes="dialog-hint")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)


class PinScreen(ModalScreen[None]):
    """Staff exit: the right PIN ends the kiosk; five wrong tries lock the prompt for a minute."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CLASSES = "dialog"

    def __init__(self, gate: PinGate) -> None:
        super().__init__()
        self.gate = gate

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog-body"):
            yield Static("Staff exit", id="dialog-title")
            yield Input(
                password=True, restrict=r"[0-9]*", max_length=12, placeholder="PIN", id="pin-input"
            )
            yield Static("Enter the staff PIN and press enter.", id="pin-status")
            yield Static("escape returns to reading", classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one(Input).focus()
        self._show_lock()

    def _show_lock(self) -> bool:
        left = self.gate.locked_for()
        if left > 0:
            self.query_one("#pin-status", Static).update(
                f"Too many wrong tries. Try again in {left:.0f} s."
            )
            return True
        return False

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        pin = event.value
        event.input.value = ""
        if not self._show_lock():
            self.query_one("#pin-status", Static).update("Checking…")
            self.check(pin)

    @work(thread=True, exclusive=True, group="pin")
    def check(self, pin: str) -> None:
        """Hashing a PIN takes a fifth of a second: do it off the UI thread."""
        result = self.gate.attempt(pin)
        self.app.call_from_thread(self._show_result, result)

    def _show_result(self, result: str) -> None:
        status = self.query_one("#pin-status", Static)
        if result == "ok":
            self.app.exit(return_code=0)
        elif result == "no-pin":
            status.update("No staff PIN is set: stop the kiosk from its service manager.")
        elif not self._show_lock():
            left = self.gate.attempts_left
            status.update(
                f"Wrong PIN. {left} tr{'y' if left == 1 else 'ies'} left before a one-minute lock."
            )

    def action_cancel(self) -> None:
        self.dismiss()


class UnavailableScreen(Screen[None]):
    """Shown when the content cannot be loaded: calm words and the contact line, never a traceback."""

    def __init__(self, reason: str, contact: Contact, disclaimer: str) -> None:
        super().__init__()
        self.reason = reason
        self.contact = contact
        self.disclaimer = disclaimer

    def compose(self) -> ComposeResult:
        reach, note = contact_lines(self.contact, self.disclaimer)
        with Center(id="unavailable"):
            yield Static("The reading screen is temporarily unavailable.", id="unavailable-title")
            yield Static("Please ask at the front desk, or try again in a few minutes.")
        yield Static(reach, id="kiosk-contact")
        yield Static(note, id="kiosk-disclaimer")


class KioskReaderScreen(ReaderScreen, inherit_bindings=False):
    """The reader with only reading keys, a contact line and disclaimer always shown, and the attract banner."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n,right_square_bracket", "next", "Next"),
        Binding("p,left_square_bracket", "previous", "Back"),
        Binding("slash", "search", "Search"),
        Binding("b", "bookmark", "Mark"),
        Binding("B", "bookmarks", "Marks"),
        Binding("c", "contact", "Contact"),
        Binding("s", "start_over", "Start over"),
        Binding("question_mark,f1", "help", "Help"),
        Binding("tab", "app.focus_next", "Focus next", show=False),
        Binding("shift+tab", "app.focus_previous", "Focus previous", show=False),
    ]

    def compose(self) -> ComposeResult:
        yield Header(icon="✚")
        with Horizontal(id="main"):
            from kreader.widgets.contents import ContentsTree

            yield ContentsTree(id="contents")
            yield SectionView(id="section")
        yield Static(id="too-small")
        with Vertical(id="attract"):
            yield Static("Press any key or touch the screen to read", id="attract-hint")
            yield ProgressBar(total=1.0, show_eta=False, show_percentage=False, id="attract-bar")
        yield Static("", id="kiosk-contact")
        yield Static("", id="kiosk-disclaimer")
        yield Footer(show_command_palette=False)

    def set_up(self) -> None:
        super().set_up()
        self.query_one(SectionView).max_width = KIOSK_WIDTH
        self.update_contact()

    def update_contact(self) -> None:
        """Show the featured article's contact and disclaimer in the always-visible lines."""
        app = self.app
        assert isinstance(app, KioskApp)
        reach, note = contact_lines(*app.contact_info())
        width = max(20, self.app.size.width - 2)
        if len(note) > 2 * width:
            note = SHORT_DISCLAIMER
        self.query_one("#kiosk-contact", Static).update(Text.assemble(("☎ ", "bold"), reach))
        self.query_one("#kiosk-disclaimer", Static).update(note)

    def on_resize(self) -> None:
        self.update_contact()

    def action_contact(self) -> None:
        app = self.app
        assert isinstance(app, KioskApp)
        app.push_screen(ContactScreen(*app.contact_info()))

    def action_start_over(self) -> None:
        app = self.app
        assert isinstance(app, KioskApp)
        app.idle_reset()

    def action_help(self) -> None:
        from kreader.screens.help import HelpScreen

        self.app.push_screen(HelpScreen(kiosk=True))


class KioskApp(KReaderApp, inherit_bindings=False):
    """The locked-down reader. Only reading keys act; the staff chord asks for the PIN."""

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
    ) -> None:
        super().__init__(
            library,
            store if isinstance(store, MemoryStore) else MemoryStore(),
            settings,
            start=StartAt(self._featured_id(library, settings)),
            notices=notices,
            theme=theme or settings.kiosk_theme,
            clock=clock,
        )
        self.policy = KioskPolicy(settings, clock)
        self.gate = self.policy.pin_gate()
        self.tick_seconds = tick_seconds
        self.load_error = ""
        self._signature: tuple[tuple[str, int, int], ...] = ()
        self.errors_logged = 0
        self._mouse_grace_until = 0.0

    @staticmethod
    def _featured_id(library: Library, settings: Settings) -> str:
        if settings.featured and library.article(settings.featured):
            return settings.featured
        return library.articles[0].id if library.articles else ""

    @property
    def featured(self) -> str:
        """Id of the article the attract loop shows."""
        return self._featured_id(self.library, self.settings)

    def contact_info(self) -> tuple[Contact, str]:
        """Contact and disclaimer of the featured article (or of the first that has them)."""
        featured = self.library.article(self.featured)
        candidates = [featured] if featured else []
        candidates += [a for a in self.library.articles if a is not featured]
        for article in candidates:
            if article.contact:
                return article.contact, article.disclaimer or (
                    featured.disclaimer if featured else ""
                )
        return Contact(), featured.disclaimer if featured else ""

    # -- start-up --------------------------------------------------------------------------------------------

    def start_up(self) -> None:
        self.apply_wanted_theme()
        self._install_signals()
        if not self.library.articles:
            self.push_screen(UnavailableScreen(self.load_error, Contact(), ""))
        else:
            self.push_screen(KioskReaderScreen())
            self.build_index_after_first_paint()
        try:
            self._signature = library_signature(self.library.root)
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
                if not is_key_allowed(event.key, in_dialog=in_dialog, character=event.character):
                    return
        await super().on_event(event)

    def open_pin(self) -> None:
        """Show the staff PIN prompt (once)."""
        if not isinstance(self.screen, PinScreen):
            self.push_screen(PinScreen(self.gate))

    # -- the clock -------------------------------------------------------------------------------------------

    def tick(self) -> None:
        """Once a second: go idle, rotate the attract loop, draw the countdown."""
        if not self.library.articles:
            return
        if not self.policy.in_attract and self.policy.is_idle():
            self.idle_reset()
            self.policy.enter_attract()
            self._set_attract(True)
        elif self.policy.rotation_due():
            self.attract_step()
            self.policy.rotated()
        self._draw_countdown()

    def _set_attract(self, on: bool) -> None:
        for screen in self.screen_stack:
            if isinstance(screen, KioskReaderScreen):
                screen.set_class(on, "-attract")
        self._draw_countdown()

    def _draw_countdown(self) -> None:
        for screen in self.screen_stack:
            if isinstance(screen, KioskReaderScreen) and screen.is_mounted:
                screen.query_one(
                    "#attract-bar", ProgressBar
                ).progress = self.policy.countdown_fraction()

    def idle_reset(self) -> None:
        """Forget the visitor: close every screen, clear search and bookmarks, show the featured article's start."""
        while len(self.screen_stack) > 2 and not isinstance(self.screen, KioskReaderScreen):
            self.pop_screen()
        self.store.clear()
        try:
            reader = self.reader()
        except LookupError:
            return
        reader.search_query = ""
        article = self.library.article(self.featured)
        if article is not None:
            reader.open(article, article.sections[0], save=False)
        reader.query_one(SectionView).highlight = None
        self.refresh_marks()
        self.clear_notifications()

    def attract_step(self) -> None:
        """Page down gently through a long section, then go on to the next, looping over the featured article."""
        try:
            reader = self.reader()
        except LookupError:
            return
        view = reader.query_one(SectionView)
        step = self.policy.next_attract_step(
            view.scroll_y, view.max_scroll_y, view.scrollable_content_region.height
        )
        if step == "page":
            view.scroll_page_down(animate=True, duration=1.2)
            return
        article = self.library.article(self.featured)
        if article is None or reader.section is None:
            return
        index = article.index_of(reader.section.id) if reader.article is article else -1
        reader.open(article, article.sections[(index + 1) % len(article.sections)], save=False)

    # -- content edits ---------------------------------------------------------------------------------------

    def check_content(self) -> None:
        """Pick up edits to the content folder; a broken edit keeps the last good content on screen."""
        try:
            signature = library_signature(self.library.root)
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
        self.call_from_thread(self._swap_library, library)

    def _swap_library(self, library: Library) -> None:
        was_unavailable = not self.library.articles
        self.library = library
        self.layouts.clear()
        self.search_index = None
        self.build_search_index()
        if was_unavailable:
            self.start = StartAt(self.featured)
            self.switch_screen(KioskReaderScreen())
            return
        try:
            reader = self.reader()
        except LookupError:
            return
        from kreader.widgets.contents import ContentsTree

        current = (
            reader.article.id if reader.article else "",
            reader.section.id if reader.section else "",
        )
        article = (
            library.article(current[0]) or library.article(self.featured) or library.articles[0]
        )
        section = article.section(current[1]) or article.sections[0]
        reader.query_one(ContentsTree).fill(library, article.id)
        reader.article = None
        reader.open(article, section, save=False)
        if isinstance(reader, KioskReaderScreen):
            reader.update_contact()

    # -- errors ----------------------------------------------------------------------------------------------

    def _log_problem(self, message: str) -> None:
        self.errors_logged += 1
        _write_log(message)

    def _handle_exception(self, error: Exception) -> None:
        """Log the error and ask to be started afresh instead of showing a traceback to a visitor.

        Textual stops the message loop that raised, so no part of this app can be trusted any more; the
        caller (`run_kiosk`) builds a new app, which opens at the start screen.
        """
        self.errors_logged += 1
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
        if app.return_code != RESTART_CODE:
            return app.return_code or 0
        now = clock()
        failures = [t for t in failures if now - t < window] + [now]
        if len(failures) >= max_restarts:
            _write_log(
                f"{len(failures)} errors within {window:.0f} s; exiting for the service manager"
            )
            return 1


def _write_log(message: str) -> None:
    """Append to the kiosk log; a log that cannot be written is not worth crashing for."""
    try:
        path = kiosk_log_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            handle.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message.rstrip()}\n")
    except OSError:
        pass
