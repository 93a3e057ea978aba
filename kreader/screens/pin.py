"""The kiosk's staff PIN prompt: hands back whether the right PIN was entered."""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Input, Static

from kreader.i18n import N_, _, ngettext
from kreader.kiosk import PinGate
from kreader.screens.dialog import Dialog


class PinScreen(Dialog[bool]):
    """Staff exit: dismisses with True for the right PIN; five wrong tries lock the prompt for a minute."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", N_("Cancel"))]

    def __init__(self, gate: PinGate) -> None:
        super().__init__()
        self.gate = gate

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog-body"):
            yield Static(_("Staff"), id="dialog-title")
            yield Input(
                password=True, restrict=r"[0-9]*", max_length=12, placeholder="PIN", id="pin-input"
            )
            yield Static(_("Enter the staff PIN and press enter."), id="pin-status")
            yield self.close_row(_("or press escape to return to reading"))

    def on_mount(self) -> None:
        self.query_one(Input).focus()
        self._show_lock()

    def _show_lock(self) -> bool:
        left = self.gate.locked_for()
        if left > 0:
            self.query_one("#pin-status", Static).update(
                _("Too many wrong tries. Try again in {seconds:.0f} s.").format(seconds=left)
            )
            return True
        return False

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        pin = event.value
        event.input.value = ""
        if not self._show_lock():
            self.query_one("#pin-status", Static).update(_("Checking…"))
            self.check(pin)

    @work(thread=True, exclusive=True, group="pin")
    def check(self, pin: str) -> None:
        """Hashing a PIN takes a fifth of a second: do it off the UI thread."""
        result = self.gate.attempt(pin)
        self.app.call_from_thread(self._show_result, result)

    def _show_result(self, result: str) -> None:
        status = self.query_one("#pin-status", Static)
        if result == "ok":
            self.dismiss(True)
        elif result == "no-pin":
            status.update(_("No staff PIN is set: stop the kiosk from its service manager."))
        elif not self._show_lock():
            left = self.gate.attempts_left
            status.update(
                ngettext(
                    "Wrong PIN. {count} try left before a one-minute lock.",
                    "Wrong PIN. {count} tries left before a one-minute lock.",
                    left,
                ).format(count=left)
            )

    def action_cancel(self) -> None:
        self.dismiss(False)

    def action_close(self) -> None:
        self.dismiss(False)
