"""The footer of keys, drawn whether or not the terminal says it has focus, in the interface's language."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from kreader.i18n import _


class KeysFooter(Footer):
    """Textual's footer redraws its keys only while the app has focus; a served kiosk on a TV or a tablet
    whose browser tab never reports focus would show an empty footer all day. This one always redraws.

    Binding descriptions are class attributes, written in English and marked for the catalogue (``N_``);
    they are translated here, each time the footer is drawn, so a language switch only has to redraw it.
    """

    def bindings_changed(self, screen: Screen[object]) -> None:
        self._bindings_ready = True
        if self.is_attached and screen is self.screen:
            self.call_after_refresh(self.recompose)

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            if isinstance(widget, FooterKey):
                widget.description = _(widget.description) if widget.description else ""
                if isinstance(widget.tooltip, str) and widget.tooltip:
                    widget.tooltip = _(widget.tooltip)
            yield widget
