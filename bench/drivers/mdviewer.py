"""The anchor: Textual's own MarkdownViewer on one file, headless; exits once the whole document is mounted,
laid out and painted (the screen idle after the document's last batch of blocks)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import _hook  # type: ignore[import-not-found]  # beside this script, not a package
from textual.app import App, ComposeResult
from textual.widgets import Markdown, MarkdownViewer

TEXT = Path(sys.argv[1]).read_text(encoding="utf-8")


class Viewer(MarkdownViewer):
    def _on_markdown_table_of_contents_updated(
        self, message: Markdown.TableOfContentsUpdated
    ) -> None:
        super()._on_markdown_table_of_contents_updated(message)
        if self.document._markdown == TEXT:  # not the empty document it starts with
            _hook.mark("loaded")
            self.app.call_after_refresh(self._painted)

    def _painted(self) -> None:
        _hook.mark("paint")
        self.app.exit()


class ViewerApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Viewer(TEXT)


def never(screen: Any) -> bool:
    return False


_hook.install(never)  # only for the frame encoding; the exit comes from Viewer._painted
ViewerApp().run(headless=True)
_hook.report(blocks=0)
