"""What every dialog shares: a Close button a finger can hit, and a tap outside the dialog closes it.

A tablet has no escape key, and a served kiosk turns a tap into a mouse click at that cell: without something
to tap, a visitor who opened Contact or Help would wait for the idle reset to get back to reading.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from textual import events, on
from textual.containers import Horizontal
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from kreader.i18n import N_, _

ResultT = TypeVar("ResultT")


class Dialog(ModalScreen[ResultT]):
    """A modal dialog that hands back a value; ``action_close`` dismisses it with "nothing chosen"."""

    DEFAULT_CLASSES = "dialog"

    def close_row(self, hint: str = "", label: str = N_("Close")) -> Horizontal:
        """The Close button (three rows tall, sixteen columns wide) and a hint beside it (already translated)."""
        return Horizontal(
            Button(_(label), id="dialog-close", classes="close-button"),
            Static(hint, classes="dialog-hint close-hint"),
            classes="close-row",
        )

    def on_mount(self) -> None:
        self._fit()

    def on_resize(self) -> None:
        # The lines under the dialog may wrap differently at the new width: measure once they have.
        self.call_after_refresh(self._fit)

    def _fit(self) -> None:
        """Keep the dialog's body clear of the rows the app keeps in view (the kiosk: header, the clinic's
        lines and the footer), so they stay readable under it."""
        insets: Callable[[], tuple[int, int]] | None = getattr(self.app, "dialog_insets", None)
        if insets is None or not self.is_mounted:
            return
        top, bottom = insets()
        for body in self.query("#dialog-body"):
            body.styles.margin = (top, 0, bottom, 0)
            body.styles.max_height = max(3, self.size.height - top - bottom)

    def action_close(self) -> None:
        """Close with nothing chosen (dialogs whose "nothing" is not None override this)."""
        self.dismiss()

    @on(Button.Pressed, "#dialog-close")
    def _close_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_close()

    def on_click(self, event: events.Click) -> None:
        """A tap on the backdrop, outside the dialog's body, closes it."""
        if event.widget is self:
            event.stop()
            self.action_close()
