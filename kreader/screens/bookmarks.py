"""The bookmarks list, and the small dialog that edits a bookmark's note.

The list reads the store a page at a time (`PAGE` bookmarks, newest first) and reads the next page only
when the highlight or the scroll position comes near the end of what it holds: with 100,000 bookmarks
it opened in 9-12 s when it built every row; now it builds one page.
"""

from __future__ import annotations

import time
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from kreader.content import Library
from kreader.humanize import ago
from kreader.i18n import N_, _, ngettext
from kreader.messages import BookmarksChanged
from kreader.safetext import plain, plain_line
from kreader.screens.dialog import Dialog
from kreader.store import Bookmark, Store
from kreader.widgets.plain_input import PlainInput

PAGE = 100
"""Bookmarks read and laid out at a time: several screens' worth, even on a tall terminal."""
NEAR_END = 20
"""How close (in rows) the highlight or the view may come to the last row held before the next page is read."""


class NoteScreen(Dialog[str | None]):
    """Edit a bookmark's note: enter saves, escape cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", N_("Cancel"))]

    def __init__(self, note: str) -> None:
        super().__init__()
        self._note = note

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog-body"):
            yield Static(_("Note for this bookmark"), id="dialog-title")
            yield PlainInput(
                self._note, placeholder=_("a few words to remember it by"), max_length=500
            )
            yield self.close_row(_("enter saves · escape cancels"))

    @on(Input.Submitted)
    def _save(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)


class BookmarksScreen(Dialog[Bookmark | None]):
    """Newest first; ``enter`` hands the bookmark back, ``d`` removes, ``u`` undoes, ``e`` edits the note."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,B", "close", N_("Close")),
        Binding("d,delete", "remove", N_("Remove")),
        Binding("u", "undo", N_("Undo")),
        Binding("e", "edit_note", N_("Note")),
    ]

    def __init__(self, store: Store, library: Library) -> None:
        super().__init__()
        self.store = store
        self.library = library
        self.bookmarks: list[Bookmark] = []
        """The bookmarks read so far, newest first: the list's rows, one for one."""
        self.total = 0
        """How many bookmarks the store holds."""
        self._removed: list[Bookmark] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog-body"):
            yield Static(_("Bookmarks"), id="dialog-title")
            yield Static("", id="bookmark-status")
            yield OptionList(id="bookmark-list", markup=False)
            yield self.close_row(
                _("enter opens · d removes · u undoes · e edits the note · escape closes")
            )

    def on_mount(self) -> None:
        self.reload()
        options = self.query_one(OptionList)
        options.focus()
        self.watch(options, "scroll_y", self._scrolled, init=False)

    def is_stale(self, bookmark: Bookmark) -> bool:
        """Whether the bookmarked section no longer exists in the library."""
        article = self.library.article(bookmark.article_id)
        return article is None or article.section(bookmark.section_id) is None

    def label(self, bookmark: Bookmark, now: float) -> Text:
        """Section, article, note and age; stale bookmarks say so."""
        text = Text.assemble(
            plain_line(bookmark.section_title, "bold"),
            ("  ·  ", "dim"),
            plain_line(bookmark.article_title, "italic"),
            ("  ·  ", "dim"),
            (ago(bookmark.created, now), "dim"),
        )
        if self.is_stale(bookmark):
            text.append(_("  (no longer in the library)"), style="bold red")
        if bookmark.note:
            text.append("\n  ")
            text.append_text(plain(bookmark.note, "italic"))
        return text

    def reload(self, keep: int | None = None) -> None:
        """Read the list again from the app's store: as many rows as were shown (at least a page)."""
        options = self.query_one(OptionList)
        highlighted = options.highlighted if keep is None else keep
        store = self.store
        self.total = store.count()
        self.bookmarks = store.list_page(0, max(PAGE, len(self.bookmarks)))
        now = time.time()
        options.clear_options()
        options.add_options(Option(self.label(b, now), id=str(b.id)) for b in self.bookmarks)
        status = self.query_one("#bookmark-status", Static)
        count = self.total
        status.update(
            ngettext("{count:,} bookmark", "{count:,} bookmarks", count).format(count=count)
            if count
            else _("No bookmarks yet: b marks.")
        )
        if self.bookmarks:
            options.highlighted = min(highlighted or 0, len(self.bookmarks) - 1)

    def read_more(self) -> bool:
        """Add the next page of bookmarks to the list; False if every bookmark is already in it."""
        if len(self.bookmarks) >= self.total:
            return False
        more = self.store.list_page(len(self.bookmarks), PAGE)
        if not more:
            return False
        self.bookmarks.extend(more)
        now = time.time()
        self.query_one(OptionList).add_options(
            Option(self.label(b, now), id=str(b.id)) for b in more
        )
        return True

    @on(OptionList.OptionHighlighted)
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_index >= len(self.bookmarks) - NEAR_END:
            self.read_more()

    def _scrolled(self, scroll_y: float) -> None:
        options = self.query_one(OptionList)
        if scroll_y + options.scrollable_content_region.height >= options.max_scroll_y - NEAR_END:
            self.read_more()

    def current(self) -> Bookmark | None:
        """The highlighted bookmark."""
        index = self.query_one(OptionList).highlighted
        return self.bookmarks[index] if index is not None and index < len(self.bookmarks) else None

    @on(OptionList.OptionSelected)
    def _open(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.bookmarks[event.option_index])

    def action_remove(self) -> None:
        bookmark = self.current()
        if bookmark is None:
            return
        self.store.remove(bookmark.id)
        self._removed.append(bookmark)
        self.notify(
            _("Removed {title!r}. Press u to undo.").format(title=bookmark.section_title),
            timeout=4,
        )
        self.reload()
        self.post_message(BookmarksChanged())

    def action_undo(self) -> None:
        if not self._removed:
            self.notify(_("Nothing to undo."), timeout=2)
            return
        bookmark = self._removed.pop()
        self.store.restore(bookmark)
        self.notify(_("Restored {title!r}.").format(title=bookmark.section_title), timeout=2)
        self.reload()
        self.post_message(BookmarksChanged())

    def action_edit_note(self) -> None:
        bookmark = self.current()
        if bookmark is None:
            return

        def saved(note: str | None) -> None:
            if note is not None:
                self.store.set_note(bookmark.id, note)
                self.reload()

        self.app.push_screen(NoteScreen(bookmark.note), saved)

    def action_close(self) -> None:
        self.dismiss(None)
