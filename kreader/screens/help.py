"""The help screen: every key, from a Markdown file shipped beside the package."""

from __future__ import annotations

from importlib.resources import files
from typing import ClassVar

from rich.console import Console, ConsoleOptions, RenderResult
from rich.markdown import Markdown
from rich.theme import Theme
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from kreader.i18n import N_, SOURCE_LANGUAGE, _
from kreader.screens.dialog import Dialog


def help_text(kiosk: bool = False, language: str = SOURCE_LANGUAGE) -> str:
    """The help page's Markdown (kept in ``help.md`` so it reads well on its own; the kiosk has its own),
    in ``language`` where it is translated (``help.es.md``), else in English."""
    name = "help-kiosk" if kiosk else "help"
    package = files("kreader")
    translated = package.joinpath(f"{name}.{language}.md")
    if language != SOURCE_LANGUAGE and translated.is_file():
        return translated.read_text(encoding="utf-8")
    return package.joinpath(f"{name}.md").read_text(encoding="utf-8")


class ThemedMarkdown:
    """Markdown drawn in the reader's colours rather than Rich's own (pink headings whatever the theme)."""

    def __init__(self, markdown: Markdown, theme: Theme | None) -> None:
        self.markdown = markdown
        self.theme = theme

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if self.theme is None:
            yield from console.render(self.markdown, options)
            return
        with console.use_theme(self.theme):
            yield from console.render(self.markdown, options)


class HelpScreen(Dialog[None]):
    """Keys and mouse, one key away (``?`` or F1); any of escape, ``q``, ``?`` closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark,f1", "close", N_("Close")),
    ]

    def __init__(
        self, kiosk: bool = False, theme: Theme | None = None, language: str = SOURCE_LANGUAGE
    ) -> None:
        super().__init__()
        self.kiosk = kiosk
        self.language = language
        self.markdown_theme = theme
        """The reader's colours for headings and code (None: Rich's own)."""

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog-body"):
            yield Static(_("Help") if self.kiosk else _("kreader help"), id="dialog-title")
            with VerticalScroll(id="help-text"):
                markdown = Markdown(help_text(self.kiosk, self.language))
                yield Static(ThemedMarkdown(markdown, self.markdown_theme))
            yield self.close_row(_("or press escape"))
