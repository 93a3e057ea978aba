"""The reader's screens: the reader itself and its dialogs (help, search, bookmarks)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from textual.app import App

    from kreader.app import KReaderApp


def kreader_app(app: App[Any]) -> KReaderApp:
    """The running app as a `KReaderApp`, for screens that need its library, store or search index."""
    from kreader.app import KReaderApp

    assert isinstance(app, KReaderApp)
    return app
