"""The kiosk's contact dialog: how to reach the clinic, with a QR code a phone can scan."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Static

from kreader.contact import contact_lines, contact_qr_data
from kreader.content import Contact
from kreader.i18n import N_, _
from kreader.safetext import plain
from kreader.screens.dialog import Dialog
from kreader.widgets.qr import qr_text


class ContactScreen(Dialog[None]):
    """How to reach the clinic, with a QR code a phone can scan to take the contact home."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,c", "close", N_("Close"))]

    def __init__(self, contact: Contact, disclaimer: str, *, console: bool = False) -> None:
        super().__init__()
        self.contact = contact
        self.disclaimer = disclaimer
        self.console = console
        """Draw the QR code in full blocks, for the Linux console's font."""

    def compose(self) -> ComposeResult:
        reach = [
            part for part in (self.contact.name, self.contact.address, self.contact.phone) if part
        ]
        with Vertical(id="dialog-body"):
            yield Static(_("Contact the clinic"), id="dialog-title")
            with VerticalScroll(id="contact-scroll"), Horizontal(id="contact-row"):
                if self.contact:
                    yield Static(
                        qr_text(contact_qr_data(self.contact), console=self.console),
                        id="contact-qr",
                    )
                with Vertical(id="contact-text"):
                    yield Static(
                        plain("\n".join(reach) or _("Please ask at the front desk.")),
                        id="contact-details",
                    )
                    yield Static(
                        _(
                            "Scan the code with your phone's camera to save this number and "
                            "address."
                        ),
                        classes="dialog-hint",
                    )
                    yield Static(
                        plain(contact_lines(self.contact, self.disclaimer)[1]),
                        id="contact-disclaimer",
                    )
            yield self.close_row(_("or press escape"))
