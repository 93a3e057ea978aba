"""The kiosk's staff menu, shown after the right PIN: leave, reload the content, restart, and how it is doing."""

from __future__ import annotations

from typing import ClassVar, Literal

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Button, Static

from kreader.i18n import N_, _
from kreader.safetext import plain
from kreader.screens.dialog import Dialog

StaffChoice = Literal["leave", "reload", "restart"]
"""What a member of staff chose: leave the kiosk (it stays stopped), reload the content now, or restart it."""


class StaffMenu(Dialog[StaffChoice | None]):
    """Three large buttons, a status line, and Close (back to the kiosk, nothing done)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", N_("Close")),
        Binding("l", "choose('leave')", N_("Leave"), show=False),
        Binding("r", "choose('reload')", N_("Reload"), show=False),
        Binding("R", "choose('restart')", N_("Restart"), show=False),
    ]

    def __init__(self, status: str) -> None:
        super().__init__()
        self.status = status
        """One line or two: version, content folder, articles, last reload, errors logged, uptime."""

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog-body"):
            yield Static(_("Staff menu"), id="dialog-title")
            yield Button(_("Leave the kiosk (l)"), id="staff-leave", classes="staff-choice")
            yield Button(_("Reload the content now (r)"), id="staff-reload", classes="staff-choice")
            yield Button(_("Restart the kiosk (R)"), id="staff-restart", classes="staff-choice")
            yield Static(plain(self.status), id="staff-status")
            yield self.close_row(_("back to the kiosk; escape too"))

    @on(Button.Pressed, ".staff-choice")
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        choice = (event.button.id or "").removeprefix("staff-")
        self.action_choose(choice)

    def action_choose(self, choice: str) -> None:
        if choice == "leave":
            self.dismiss("leave")
        elif choice == "reload":
            self.dismiss("reload")
        elif choice == "restart":
            self.dismiss("restart")

    def action_close(self) -> None:
        self.dismiss(None)
