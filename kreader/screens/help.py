"""The help screen: every key, from a Markdown file shipped beside the package."""

from __future__ import annotations

from importlib.resources import files
from typing import ClassVar

from rich.markdown import Markdown
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


def help_text(kiosk: bool = False) -> str:
    """The help page's Markdown (kept in ``help.md`` so it reads well on its own; the kiosk has its own)."""
    name = "help-kiosk.md" if kiosk else "help.md"
    return files("kreader").joinpath(name).read_text(encoding="utf-8")


class HelpScreen(ModalScreen[None]):
    """Keys and mouse, one key away (``?`` or F1); any of escape, ``q``, ``?`` closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark,f1", "close", "Close"),
    ]

    DEFAULT_CLASSES = "dialog"

    def __init__(self, kiosk: bool = False) -> None:
        super().__init__()
        self.kiosk = kiosk

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog-body"):
            yield Static("Help" if self.kiosk else "kreader help", id="dialog-title")
            with VerticalScroll(id="help-text"):
                yield Static(Markdown(help_text(self.kiosk)))
            yield Static("escape closes", classes="dialog-hint")

    def action_close(self) -> None:
        self.dismiss()
