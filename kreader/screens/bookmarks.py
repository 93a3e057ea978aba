"""The bookmarks list, and the small dialog that edits a bookmark's note."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from kreader.safetext import plain, plain_line
from kreader.screens import kreader_app
from kreader.store import Bookmark
from kreader.widgets.plain_input import PlainInput

if TYPE_CHECKING:
    from kreader.app import KReaderApp


def age(created: float, now: float) -> str:
    """How long ago, in words a reader skims: "just now", "5 minutes ago", "3 days ago"."""
    seconds = max(0.0, now - created)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return "just now"


class NoteScreen(ModalScreen[str | None]):
    """Edit a bookmark's note: enter saves, escape cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CLASSES = "dialog"

    def __init__(self, note: str) -> None:
        super().__init__()
        self._note = note

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog-body"):
            yield Static("Note for this bookmark", id="dialog-title")
            yield PlainInput(
                self._note, placeholder="a few words to remember it by", max_length=500
            )
            yield Static("enter saves · escape cancels", classes="dialog-hint")

    @on(Input.Submitted)
    def _save(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)


class BookmarksScreen(ModalScreen[None]):
    """Newest first; ``enter`` jumps, ``d`` removes, ``u`` undoes, ``e`` edits the note."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,B", "close", "Close"),
        Binding("d,delete", "remove", "Remove"),
        Binding("u", "undo", "Undo"),
        Binding("e", "edit_note", "Note"),
    ]
    DEFAULT_CLASSES = "dialog"

    def __init__(self) -> None:
        super().__init__()
        self.bookmarks: list[Bookmark] = []
        self._removed: list[Bookmark] = []

    @property
    def kapp(self) -> KReaderApp:
        return kreader_app(self.app)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog-body"):
            yield Static("Bookmarks", id="dialog-title")
            yield Static("", id="bookmark-status")
            yield OptionList(id="bookmark-list", markup=False)
            yield Static(
                "enter opens · d removes · u undoes · e edits the note · escape closes",
                classes="dialog-hint",
            )

    def on_mount(self) -> None:
        self.reload()
        self.query_one(OptionList).focus()

    def is_stale(self, bookmark: Bookmark) -> bool:
        """Whether the bookmarked section no longer exists in the library."""
        article = self.kapp.library.article(bookmark.article_id)
        return article is None or article.section(bookmark.section_id) is None

    def label(self, bookmark: Bookmark, now: float) -> Text:
        """Section, article, note and age; stale bookmarks say so."""
        text = Text.assemble(
            plain_line(bookmark.section_title, "bold"),
            ("  ·  ", "dim"),
            plain_line(bookmark.article_title, "italic"),
            ("  ·  ", "dim"),
            (age(bookmark.created, now), "dim"),
        )
        if self.is_stale(bookmark):
            text.append("  (no longer in the library)", style="bold red")
        if bookmark.note:
            text.append("\n  ")
            text.append_text(plain(bookmark.note, "italic"))
        return text

    def reload(self, keep: int | None = None) -> None:
        """Read the list again from the app's store."""
        options = self.query_one(OptionList)
        highlighted = options.highlighted if keep is None else keep
        self.bookmarks = self.kapp.store.list()
        now = time.time()
        options.clear_options()
        options.add_options(Option(self.label(b, now), id=str(b.id)) for b in self.bookmarks)
        status = self.query_one("#bookmark-status", Static)
        count = len(self.bookmarks)
        status.update(
            f"{count} bookmark{'s' if count != 1 else ''}"
            if count
            else "No bookmarks yet: b marks."
        )
        if self.bookmarks:
            options.highlighted = min(highlighted or 0, count - 1)

    def current(self) -> Bookmark | None:
        """The highlighted bookmark."""
        index = self.query_one(OptionList).highlighted
        return self.bookmarks[index] if index is not None and index < len(self.bookmarks) else None

    @on(OptionList.OptionSelected)
    def _open(self, event: OptionList.OptionSelected) -> None:
        bookmark = self.bookmarks[event.option_index]
        reader = self.kapp.reader()
        self.dismiss()
        reader.open_bookmark(bookmark)

    def action_remove(self) -> None:
        bookmark = self.current()
        if bookmark is None:
            return
        self.kapp.store.remove(bookmark.id)
        self._removed.append(bookmark)
        self.notify(f"Removed {bookmark.section_title!r}. Press u to undo.", timeout=4)
        self.reload()
        self.kapp.refresh_marks()

    def action_undo(self) -> None:
        if not self._removed:
            self.notify("Nothing to undo.", timeout=2)
            return
        bookmark = self._removed.pop()
        self.kapp.store.restore(bookmark)
        self.notify(f"Restored {bookmark.section_title!r}.", timeout=2)
        self.reload()
        self.kapp.refresh_marks()

    def action_edit_note(self) -> None:
        bookmark = self.current()
        if bookmark is None:
            return

        def saved(note: str | None) -> None:
            if note is not None:
                self.kapp.store.set_note(bookmark.id, note)
                self.reload()

        self.app.push_screen(NoteScreen(bookmark.note), saved)

    def action_close(self) -> None:
        self.dismiss()
