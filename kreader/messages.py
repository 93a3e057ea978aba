"""Messages between the app shell and its screens: small dataclasses named for what happened."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from kreader.content import Library
from kreader.search import SearchIndex


@dataclass
class IndexReady(Message, bubble=False):
    """The search index of the current library is built (posted by the app to the screens that search)."""

    index: SearchIndex
    generation: int


@dataclass
class PreferenceChanged(Message):
    """The reader changed a preference worth keeping (the reading width); bubbles up to the app."""

    name: str
    value: str | int | None


@dataclass
class StartOver(Message):
    """A kiosk visitor asked to start over; bubbles up to the kiosk app, which forgets the visit."""


@dataclass
class LibraryChanged(Message, bubble=False):
    """The content folder was read again (the kiosk's live reload); the reader keeps its place if it can."""

    library: Library


@dataclass
class LanguageSwitch(Message):
    """The reader asked for the next language (key ``l``, or the kiosk's footer); bubbles up to the app."""


@dataclass
class BookmarksChanged(Message):
    """Bookmarks were added, removed or restored (from a dialog): the contents' stars must follow."""
