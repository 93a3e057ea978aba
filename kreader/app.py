"""The application shell: the theme, the palette, the layout cache and the search index build.

Everything about reading (which article and section are open, the search, the bookmarks, saving the position)
belongs to `ReaderScreen`, the app's default screen. The screen talks to the app with messages that bubble up
to it (`PreferenceChanged`); the app tells the screen with messages (`IndexReady`). `kreader.factory.make_app`
builds the app without running it.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import ClassVar, TypedDict

from textual.app import App
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.notifications import SeverityLevel
from textual.screen import Screen

from kreader.content import Library
from kreader.editions import Editions, load_editions
from kreader.glyphs import glyphs_for
from kreader.i18n import N_, SOURCE_LANGUAGE, _, next_language, set_language
from kreader.layout import Layouts, Palette
from kreader.messages import BookmarksChanged, IndexReady, LanguageSwitch, PreferenceChanged
from kreader.safetext import clean, clean_line
from kreader.screens.reader import ReaderScreen, StartAt
from kreader.search import SearchIndex
from kreader.settings import Settings, SettingsError, save_preferences
from kreader.store import Store
from kreader.themes import CONTRAST_THEME, DEFAULT_THEME, THEME_CYCLE, palette_for
from kreader.widgets import scrollbar

__all__ = ["IndexReady", "KReaderApp", "StartAt"]

INDEX_DELAY = 0.01
"""Seconds after the first frame before the search index is opened (and, for what changed, built):
opening the cache takes milliseconds, and its thread starts only once the first frame is drawn."""


class ReaderOptions(TypedDict, total=False):
    """What tells the reader screen of the kiosk from the reader's (see `KReaderApp.reader_options`)."""

    reading_width: int | None
    kiosk: bool
    featured: str


class KReaderApp(App[None]):
    """The terminal reader: a thin shell around `ReaderScreen`."""

    CSS_PATH = "kreader.tcss"
    TITLE = "kreader"
    SEARCH_CACHE = True
    """Keep the search index in a cache file (the kiosk keeps it in memory: it writes nothing)."""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("t", "cycle_theme", N_("Theme")),
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
        language: str = SOURCE_LANGUAGE,
        editions: Editions | None = None,
    ) -> None:
        super().__init__()
        self.library = library
        """The library as read from its folder (the kiosk swaps it when the folder changes)."""
        self.editions = editions if editions is not None else load_editions(library)
        """The library in each language (its articles' editions)."""
        set_language(language)
        self.language = language
        """The language of the interface and of the articles shown."""
        self._indexes: dict[str, SearchIndex] = {}
        """The search index of each language's library, once built."""
        self._index_languages: dict[int, str] = {}
        """Language of each index build under way, by generation."""
        self.store = store
        """Bookmarks and positions; handed to the reader screen, closed by whoever opened it."""
        self.settings = settings
        self.start = start or StartAt()
        self.notices = list(notices)
        self.config_path = config_path
        self.clock = clock
        self.layouts = Layouts()
        self.search_index: SearchIndex | None = None
        self._index_generation = 0
        self._palette: Palette | None = None
        self._reader: ReaderScreen | None = None
        self._wanted_theme = (
            theme or settings.theme or os.environ.get("TEXTUAL_THEME") or DEFAULT_THEME
        )
        self.register_theme(CONTRAST_THEME)
        self.glyphs = glyphs_for(settings.glyphs, os.environ)
        """The characters to draw with: only the console font's under ``TERM=linux`` (or ``glyphs = "console"``)."""
        if self.glyphs.console:
            # The stylesheet's console rules: borders, toasts and buttons from the console font's box lines.
            self.add_class(scrollbar.CONSOLE_CLASS)
        scrollbar.install()

    # -- text from outside the code ---------------------------------------------------------------------------

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Show a notification as plain text, whatever ``markup`` says.

        Every screen and widget notifies through here. Notices name sections, files, paths, links and search
        words, any of which may hold ``[@click=app.quit]`` or ``[/x]`` (an action or a crash as markup) or
        escape sequences, so none is ever parsed as markup and control characters are removed.
        """
        super().notify(
            clean(message),
            title=clean_line(title),
            severity=severity,
            timeout=timeout,
            markup=False,
        )

    def action_help_quit(self) -> None:
        """Textual's ctrl+c hint, without the markup `notify` no longer parses."""
        for key, active in self.active_bindings.items():
            if active.binding.action in ("quit", "app.quit"):
                self.notify(
                    _("Press {key} to quit the app").format(key=key),
                    title=_("Do you want to quit?"),
                )
                return

    def format_title(self, title: str, sub_title: str) -> Content:
        """The header line: article and section titles come from content, so they are cleaned first."""
        return super().format_title(clean_line(title), clean_line(sub_title))

    # -- start-up ------------------------------------------------------------------------------------------

    def get_default_screen(self) -> Screen[None]:
        self._reader = self.make_reader()
        return self._reader

    def make_reader(self) -> ReaderScreen:
        """The reader screen this app shows (the kiosk opens it in kiosk mode: `reader_options`)."""
        return ReaderScreen(
            self.shown_library,
            self.store,
            self.layouts,
            lambda: self.palette,
            start=self.start,
            glyphs=self.glyphs,
            **self.reader_options(),
        )

    def reader_options(self) -> ReaderOptions:
        """What this kind of app gives its reader screen beyond the library, store and layouts."""
        return {"reading_width": self.settings.width}

    @property
    def shown_library(self) -> Library:
        """The library in the language shown: each article's edition in it, where there is one."""
        return self.editions.library(self.language)

    def reader(self) -> ReaderScreen:
        """The reader screen (the default screen, always at the bottom of the stack)."""
        if self._reader is None:
            raise LookupError("no reader screen")
        return self._reader

    def on_mount(self) -> None:
        self.start_up()

    def apply_wanted_theme(self) -> None:
        """Use the theme asked for; an unknown name (from a settings file, say) is a warning, not a crash."""
        if self._wanted_theme in self.available_themes:
            self.theme = self._wanted_theme
        else:
            self.notify(
                _("Unknown theme {theme!r}; using {default}.").format(
                    theme=self._wanted_theme, default=DEFAULT_THEME
                ),
                severity="warning",
                markup=False,
            )
            self.theme = DEFAULT_THEME

    def start_up(self) -> None:
        """Apply the theme, tell what needs telling, start the index (subclasses override this rather than
        ``on_mount``, which Textual calls once per class)."""
        self.apply_wanted_theme()
        if self.start.note:
            self.notify(self.start.note, timeout=4, markup=False)
        for notice in self.notices:
            self.notify(notice, severity="warning", timeout=8, markup=False)
        self.build_index_after_first_paint()

    # -- search index ----------------------------------------------------------------------------------------

    def build_index_after_first_paint(self) -> None:
        """Start the index build once the first frame is on screen: its thread would slow the first paint."""
        self.call_after_refresh(self.set_timer, INDEX_DELAY, self.build_search_index)

    def build_search_index(self) -> None:
        """Open the search index in a daemon thread, so neither the first paint nor quitting waits for it.

        With nothing changed since the last start, opening the cache file takes milliseconds; a new or
        edited file is indexed there first, by helper processes when there is a lot of it (this
        process keeps its core for the reader, and its memory stays what it was). A Textual worker thread would hold the process open at exit
        until the build ends; a daemon thread is simply dropped (SQLite rolls back what it left undone).
        """
        library = self.shown_library
        self._index_generation += 1
        generation = self._index_generation
        self._index_languages[generation] = self.language
        cached = self.SEARCH_CACHE

        def build() -> None:
            try:
                index = (
                    SearchIndex.open(library, helpers_take_all=True)
                    if cached
                    else SearchIndex.build(library)
                )
            except Exception as exc:  # a fault in the cache must not leave search waiting for ever
                index = SearchIndex.build(library)
                index.messages.append(
                    _("Search works from memory this time ({error}).").format(error=exc)
                )
            with contextlib.suppress(RuntimeError):  # the app has already exited
                self.post_message(IndexReady(index, generation))

        threading.Thread(target=build, name="kreader-search-index", daemon=True).start()

    def forget_indexes(self) -> None:
        """Drop every language's index (the library changed): builds under way are ignored when done."""
        self._indexes.clear()
        self._index_languages.clear()
        self.search_index = None

    def on_index_ready(self, message: IndexReady) -> None:
        if not self.is_running:
            return  # a build that ended while the app closes its screens: there is no screen to tell
        language = self._index_languages.pop(message.generation, None)
        if language is None:
            return  # overtaken by a newer library
        self._indexes[language] = message.index
        if language != self.language:
            return  # kept for when that language is shown again
        self.search_index = message.index
        for notice in message.index.messages:
            self.notify(notice, severity="warning", timeout=8)
        # The reader steps through matches with it; an open search dialog stops waiting for it.
        if self._reader is not None:
            self._reader.post_message(IndexReady(message.index, message.generation))
        if self.screen is not self._reader:
            self.screen.post_message(IndexReady(message.index, message.generation))

    # -- theme and palette -----------------------------------------------------------------------------------

    @property
    def palette(self) -> Palette:
        """Colours for laying out text in the current theme."""
        wanted = f"{self.theme}-monochrome" if self.no_color else self.theme
        if self._palette is None or self._palette.name != wanted:
            self._palette = palette_for(
                self.current_theme, self.get_css_variables(), monochrome=self.no_color
            )
        return self._palette

    def watch_theme(self, theme: str) -> None:
        self._palette = (
            None  # the reader screen watches the theme too, and lays its section out again
        )

    def action_cycle_theme(self) -> None:
        """Step through dark, light and high contrast, and remember the choice."""
        current = self.theme if self.theme in THEME_CYCLE else THEME_CYCLE[-1]
        self.theme = THEME_CYCLE[(THEME_CYCLE.index(current) + 1) % len(THEME_CYCLE)]
        self.notify(_("Theme: {theme}").format(theme=self.theme), timeout=1.5, markup=False)
        self.save_preference(theme=self.theme)

    def on_bookmarks_changed(self, message: BookmarksChanged) -> None:
        """A dialog changed the bookmarks: the reader's contents stars follow at once."""
        if self._reader is not None and self._reader.is_mounted:
            self._reader.refresh_bookmark_marks()

    # -- language --------------------------------------------------------------------------------------------

    def on_language_switch(self, message: LanguageSwitch) -> None:
        self.switch_language(next_language(self.language))

    def switch_language(self, language: str) -> None:
        """Show the interface and the articles in ``language``, at the same place in the text."""
        if language == self.language:
            return
        set_language(language)
        self.language = language
        self.search_index = self._indexes.get(language)
        reader = self._reader
        if reader is not None and reader.is_mounted:
            reader.show_language(self.shown_library, self.search_index)
        if self.search_index is None:
            self.build_search_index()
        self.refresh_bindings()  # the footer draws its descriptions again, in the new language

    # -- preferences -----------------------------------------------------------------------------------------

    def on_preference_changed(self, message: PreferenceChanged) -> None:
        self.save_preference(**{message.name: message.value})

    def save_preference(self, **changes: str | int | None) -> None:
        """Keep a reader preference in the settings file; a failure is one warning, not a crash."""
        if self.config_path is None:
            return
        try:
            save_preferences(self.config_path, **changes)
        except SettingsError as exc:
            self.notify(
                _("Could not save the setting: {error}").format(error=exc),
                severity="warning",
                timeout=6,
                markup=False,
            )
