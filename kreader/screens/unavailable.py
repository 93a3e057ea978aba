"""The kiosk's calm screen for when the content cannot be loaded."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Center
from textual.screen import Screen
from textual.widgets import Static

from kreader.contact import contact_lines
from kreader.content import Contact
from kreader.i18n import _
from kreader.safetext import plain


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
            yield Static(
                _("The reading screen is temporarily unavailable."), id="unavailable-title"
            )
            yield Static(_("Please ask at the front desk, or try again in a few minutes."))
        yield Static(plain(reach), id="kiosk-contact")
        yield Static(plain(note), id="kiosk-disclaimer")
