"""The footer of keys, drawn whether or not the terminal says it has focus."""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


class KeysFooter(Footer):
    """Textual's footer redraws its keys only while the app has focus; a served kiosk on a TV or a tablet
    whose browser tab never reports focus would show an empty footer all day. This one always redraws."""

    def bindings_changed(self, screen: Screen[object]) -> None:
        self._bindings_ready = True
        if self.is_attached and screen is self.screen:
            self.call_after_refresh(self.recompose)
