"""The footer of keys, drawn whether or not the terminal says it has focus, in the interface's language."""

from __future__ import annotations

from collections.abc import Hashable

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from kreader.i18n import _, current_language


class KeysFooter(Footer):
    """Textual's footer redraws its keys only while the app has focus; a served kiosk on a TV or a tablet
    whose browser tab never reports focus would show an empty footer all day. This one always redraws.

    It also shows its keys in the first frame (Textual's footer is empty until the screen's bindings
    settle, then builds its keys again) and builds them again only when what it shows changed: every
    rebuild makes a dozen widgets, and the one after the first frame cost 2.5 MB of peak memory.

    Binding descriptions are class attributes, written in English and marked for the catalogue (``N_``);
    they are translated here, each time the footer is drawn, so a language switch only has to redraw it.
    """

    _shown: Hashable = None
    """What the last compose showed (`_showing`): a rebuild that would show the same is skipped."""

    def bindings_changed(self, screen: Screen[object]) -> None:
        self._bindings_ready = True
        if self.is_attached and screen is self.screen:
            self.call_after_refresh(self._recompose_if_changed)

    async def _recompose_if_changed(self) -> None:
        if self.is_attached and self.app.is_running and self._showing() != self._shown:
            await self.recompose()

    def _showing(self) -> Hashable:
        """The keys the footer would show now, in the language it would show them in."""
        return (
            current_language(),
            self.compact,
            tuple(
                (binding.key, binding.action, binding.description, enabled, tooltip)
                for _node, binding, enabled, tooltip in self.screen.active_bindings.values()
                if binding.show
            ),
        )

    def compose(self) -> ComposeResult:
        self._bindings_ready = True
        self._shown = self._showing()
        for widget in super().compose():
            if isinstance(widget, FooterKey):
                widget.description = _(widget.description) if widget.description else ""
                if isinstance(widget.tooltip, str) and widget.tooltip:
                    widget.tooltip = _(widget.tooltip)
            yield widget
