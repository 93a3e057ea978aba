"""The application shell: holds the library, the store and the settings, and builds the screens.

`make_app` builds the app without running it; the command line and every test use it, so tests run the real
app over temporary folders.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches

from kreader.content import Article, Library, Section
from kreader.layout import Layouts, Palette
from kreader.screens.reader import ReaderScreen
from kreader.search import SearchIndex
from kreader.settings import Settings, SettingsError, save_preferences
from kreader.store import Position, Store
from kreader.themes import CONTRAST_THEME, DEFAULT_THEME, THEME_CYCLE, palette_for
from kreader.widgets.section_view import SectionView

WIDTH_STEP = 4
INDEX_DELAY = 0.01
"""Seconds after the first frame before the search index is opened (and, for what changed, built):
opening the cache takes milliseconds, and its thread starts only once the first frame is drawn."""
MIN_READING_WIDTH, MAX_READING_WIDTH = 30, 200


@dataclass(frozen=True)
class StartAt:
    """Where the reader opens: an article, a section and a position in it (all optional)."""

    article_id: str = ""
    section_id: str = ""
    anchor: str = ""
    fraction: float = 0.0
    note: str = ""
    """Told to the reader once the screen is up (for example that the position was restored)."""


class KReaderApp(App[None]):
    """The terminal reader."""

    CSS_PATH = "kreader.tcss"
    TITLE = "kreader"
    SEARCH_CACHE = True
    """Keep the search index in a cache file (the kiosk keeps it in memory: it writes nothing)."""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("t", "cycle_theme", "Theme"),
        Binding("plus", "widen", "Wider", show=False),
        Binding("minus", "narrow", "Narrower", show=False),
        Binding("equals_sign", "reset_width", "Reset width", show=False),
    ]

    def __init__(
        self,
        library: Library,
        store: Store,
        settings: Settings,
        *,
        start: StartAt | None = None,
        notices: Sequence[str] = (),
        theme: str | None = None,
        config_path: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.library = library
        self.store = store
        self.settings = settings
        self.start = start or StartAt()
        self.notices = list(notices)
        self.config_path = config_path
        self.clock = clock
        self.layouts = Layouts()
        self.search_index: SearchIndex | None = None
        self._index_generation = 0
        self.reading_width: int | None = settings.width
        self._palette: Palette | None = None
        self._wanted_theme = (
            theme or settings.theme or os.environ.get("TEXTUAL_THEME") or DEFAULT_THEME
        )
        self.register_theme(CONTRAST_THEME)

    # -- start-up ------------------------------------------------------------------------------------------

    def on_mount(self) -> None:
        self.start_up()

    def apply_wanted_theme(self) -> None:
        """Use the theme asked for; an unknown name (from a settings file, say) is a warning, not a crash."""
        if self._wanted_theme in self.available_themes:
            self.theme = self._wanted_theme
        else:
            self.notify(
                f"Unknown theme {self._wanted_theme!r}; using {DEFAULT_THEME}.", severity="warning"
            )
            self.theme = DEFAULT_THEME

    def start_up(self) -> None:
        """Apply the theme and show the first screen (Textual calls every class's ``on_mount``, so
        subclasses override this instead)."""
        self.apply_wanted_theme()
        self.push_screen(ReaderScreen())
        if self.start.note:
            self.notify(self.start.note, timeout=4)
        for notice in self.notices:
            self.notify(notice, severity="warning", timeout=8)
        self.show_store_messages()
        self.build_index_after_first_paint()

    def build_index_after_first_paint(self) -> None:
        """Start the index build once the first frame is on screen: its thread would slow the first paint."""
        self.call_after_refresh(self.set_timer, INDEX_DELAY, self.build_search_index)

    def build_search_index(self) -> None:
        """Open the search index in a daemon thread, so neither the first paint nor quitting waits for it.

        With nothing changed since the last start, opening the cache file takes milliseconds; a new or
        edited file is indexed there first. A Textual worker thread would hold the process open at exit
        until the build ends; a daemon thread is simply dropped (SQLite rolls back what it left undone).
        """
        library = self.library
        self._index_generation += 1
        generation = self._index_generation
        cached = self.SEARCH_CACHE

        def build() -> None:
            index = SearchIndex.open(library) if cached else SearchIndex.build(library)
            with contextlib.suppress(RuntimeError):  # the app has already exited
                self.call_from_thread(self._index_built, generation, index)

        threading.Thread(target=build, name="kreader-search-index", daemon=True).start()

    def _index_built(self, generation: int, index: SearchIndex) -> None:
        if generation == self._index_generation:  # not overtaken by a newer library
            self.search_index = index
            for message in index.messages:
                self.notify(message, severity="warning", timeout=8)

    # -- theme and palette -----------------------------------------------------------------------------------

    @property
    def palette(self) -> Palette:
        """Colours for laying out text in the current theme."""
        if self._palette is None or self._palette.name != self.theme:
            self._palette = palette_for(self.current_theme, self.get_css_variables())
        return self._palette

    def watch_theme(self, theme: str) -> None:
        self._palette = None
        self.reader_relayout()

    def reader_relayout(self) -> None:
        """Ask the reader screen to lay its section out again."""
        for screen in self.screen_stack:
            if isinstance(screen, ReaderScreen) and screen.is_mounted:
                screen.relayout()

    def action_cycle_theme(self) -> None:
        """Step through dark, light and high contrast, and remember the choice."""
        current = self.theme if self.theme in THEME_CYCLE else THEME_CYCLE[-1]
        self.theme = THEME_CYCLE[(THEME_CYCLE.index(current) + 1) % len(THEME_CYCLE)]
        self.notify(f"Theme: {self.theme}", timeout=1.5)
        self.save_preference(theme=self.theme)

    # -- reading width -------------------------------------------------------------------------------------

    def _reader_view(self) -> SectionView | None:
        try:
            return self.reader().query_one(SectionView)
        except (LookupError, NoMatches):
            return None

    def _set_width(self, width: int | None) -> None:
        self.reading_width = width
        view = self._reader_view()
        if view is not None:
            view.max_width = width
        shown = "full" if width is None else f"{view.text_width if view else width} columns"
        self.notify(f"Reading width: {shown}", timeout=1.5)
        self.save_preference(width=width)

    def _current_width(self) -> int:
        view = self._reader_view()
        return view.text_width if view else (self.reading_width or 80)

    def action_widen(self) -> None:
        self._set_width(min(MAX_READING_WIDTH, self._current_width() + WIDTH_STEP))

    def action_narrow(self) -> None:
        self._set_width(max(MIN_READING_WIDTH, self._current_width() - WIDTH_STEP))

    def action_reset_width(self) -> None:
        self._set_width(None)

    def save_preference(self, **changes: str | int | None) -> None:
        """Keep a reader preference in the settings file; a failure is one warning, not a crash."""
        if self.config_path is None:
            return
        try:
            save_preferences(self.config_path, **changes)
        except SettingsError as exc:
            self.notify(f"Could not save the setting: {exc}", severity="warning", timeout=6)

    # -- store -----------------------------------------------------------------------------------------------

    def show_store_messages(self) -> None:
        """Show any warning the store produced (a moved corrupt file, a read-only folder)."""
        for message in self.store.take_messages():
            self.notify(message, severity="warning", timeout=10)

    def save_position(self, article_id: str, section_id: str, anchor: str, fraction: float) -> None:
        """Remember where the reader is in an article."""
        self.store.save_position(Position(article_id, section_id, anchor, fraction, time.time()))
        self.show_store_messages()

    def toggle_bookmark(
        self, article: Article, section: Section, anchor: str, fraction: float
    ) -> None:
        """Bookmark this place, or remove the bookmark already here."""
        existing = self.store.find(article.id, section.id, anchor, fraction)
        if existing is not None:
            self.store.remove(existing.id)
            self.notify(f"Bookmark removed: {section.title}", timeout=2)
        else:
            self.store.add(article.id, section.id, anchor, fraction, article.title, section.title)
            self.notify(f"Bookmarked: {section.title}", timeout=2)
        self.show_store_messages()
        self.refresh_marks()

    def refresh_marks(self) -> None:
        """Update the bookmark stars in the contents pane."""
        for screen in self.screen_stack:
            if isinstance(screen, ReaderScreen) and screen.is_mounted:
                screen.refresh_bookmark_marks()

    def reader(self) -> ReaderScreen:
        """The reader screen (always at the bottom of the stack)."""
        for screen in self.screen_stack:
            if isinstance(screen, ReaderScreen):
                return screen
        raise LookupError("no reader screen")

    def open_search(self) -> None:
        """Show the search screen."""
        from kreader.screens.search import SearchScreen

        self.push_screen(SearchScreen())

    def open_bookmarks(self) -> None:
        """Show the bookmarks list."""
        from kreader.screens.bookmarks import BookmarksScreen

        self.push_screen(BookmarksScreen())


def make_app(
    library: Library,
    store: Store,
    settings: Settings | None = None,
    *,
    start: StartAt | None = None,
    notices: Sequence[str] = (),
    theme: str | None = None,
    config_path: Path | None = None,
    kiosk: bool = False,
    clock: Callable[[], float] = time.monotonic,
) -> KReaderApp:
    """Build the reader (or the kiosk) without running it."""
    settings = settings or Settings()
    if kiosk:
        from kreader.kiosk_app import KioskApp

        return KioskApp(library, store, settings, notices=notices, theme=theme, clock=clock)
    return KReaderApp(
        library,
        store,
        settings,
        start=start,
        notices=notices,
        theme=theme,
        config_path=config_path,
        clock=clock,
    )
