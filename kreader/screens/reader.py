"""The reader screen: the one place that knows which article and section are open.

It owns the reading state: the article and section, the active search, the bookmark marks and saving the
reading position. Widgets post messages (a contents entry opened, the pane scrolled, a link clicked); this screen
acts on them and tells the store. Dialogs hand their choice back with ``dismiss``. The kiosk uses this same
screen in kiosk mode: a CSS class shows the contact line and the attract banner, and `check_action` decides
which keys act.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import ClassVar
from urllib.parse import unquote

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingsMap, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Header, ProgressBar, Static

from kreader.contact import SHORT_DISCLAIMER, balanced_lines, contact_info, contact_lines
from kreader.content import Article, Library, Section
from kreader.glyphs import UNICODE, Glyphs
from kreader.i18n import N_, _, current_language, ngettext
from kreader.layout import Layouts, Palette, SectionLayout
from kreader.messages import (
    IndexReady,
    LanguageSwitch,
    LibraryChanged,
    PreferenceChanged,
    StartOver,
)
from kreader.safetext import clean_line, plain, plain_line
from kreader.search import MAX_OCCURRENCES, Hit, SearchIndex
from kreader.store import Bookmark, Position, Store
from kreader.widgets.contents import ContentsTree, Place
from kreader.widgets.footer import KeysFooter
from kreader.widgets.section_view import SectionView

MIN_WIDTH, MIN_HEIGHT = 40, 12
"""Below this the layout cannot hold; the screen says so instead of drawing garbage."""

PREFETCH_DELAY = 0.4
"""Seconds after a section opens before its neighbours are laid out (idle time, so keys stay quick)."""

SAVE_DELAY = 0.5
"""Seconds of stillness before the reading position is written (a killed terminal loses at most this)."""

WIDTH_STEP = 4
MIN_READING_WIDTH, MAX_READING_WIDTH = 30, 200
KIOSK_WIDTH = 72
"""Reading column in kiosk mode: comfortable at a distance, centred."""
KIOSK_ROOMY_FOOTER = 100
"""Columns from which the kiosk's footer keeps its padding: narrower, it is compact so that every target,
the language one and Help included, fits in either language (Spanish words are longer)."""

READER_ONLY = frozenset(
    {
        "previous",
        "toggle_contents",
        "bookmark",
        "bookmarks",
        "quit",
        "widen",
        "narrow",
        "reset_width",
        "page_up",
        "page_down",
        "half_page_down",
        "half_page_up",
        "go_back",
    }
)
"""Actions of the personal reader that a kiosk visitor does not get."""
KIOSK_ONLY = frozenset(
    {"back", "mark", "marks", "contact", "start_over", "touch_page_up", "touch_page_down"}
)
"""Actions only the kiosk has (``back``, ``mark`` and ``marks`` are the reader's ``previous``, ``bookmark`` and
``bookmarks`` on the keys a visitor reads in the footer; the reader gives ``b`` to paging back, as less does).
``touch_page_up`` and ``touch_page_down`` put "▲ Up" and "▼ Down" in the footer, where a finger on a touch screen
can page through a long section (a drag does not scroll in the browser)."""
HISTORY_LIMIT = 50
"""Jumps that backspace can undo."""
KIOSK_FOOTER_ORDER = (
    "l",
    "n",
    "N",
    "escape",
    "p",
    "shift+pageup",
    "shift+pagedown",
    "slash",
    "b",
    "B",
    "c",
    "s",
    "question_mark",
)
"""The kiosk's footer reads in its own order (``c`` is Contact there, after the reading keys)."""
SEARCH_ACTIONS = frozenset({"next_match", "previous_match", "end_search"})
"""Actions that act, and are listed in the footer, only while a search is active."""
SEARCH_KEYS = frozenset({"N", "escape"})
"""Keys that mean something only while a search is active (the kiosk lets them through then)."""
PORTRAIT_WIDTH = 100
"""Narrower than this, and taller than wide on screen, the contents go above the text (a tablet upright)."""
KIOSK_FULL_FOOTER = 120
"""Below this width the kiosk's footer shows its page targets as bare arrows and leaves Marks out (B still
works): every other key, in English or Spanish, then fits in one row."""
TOUCH_TARGETS = frozenset({"touch_page_up", "touch_page_down"})
"""The kiosk footer's page targets for a finger."""
UNLISTED_WHILE_SEARCHING = frozenset(
    {"previous", "back", "toggle_contents", "bookmarks", "marks", "contact", "start_over"}
)
"""Actions that keep their keys during a search but leave the footer to the search's keys: with them the
footer would be wider than 80 columns and cut off its last keys (``q Quit`` in the reader)."""


@dataclass(frozen=True)
class StartAt:
    """Where the reader opens: an article, a section and a position in it (all optional)."""

    article_id: str = ""
    section_id: str = ""
    anchor: str = ""
    fraction: float = 0.0
    note: str = ""
    """Told to the reader once the screen is up (for example that the position was restored)."""


class ReaderScreen(Screen[None]):
    """Contents on the left, the current section on the right."""

    # Descriptions are marked for the catalogue here and translated when the footer draws them.
    BINDINGS: ClassVar[list[BindingType]] = [
        # While a search is active n is the next match; ] is always the next section.
        Binding("n", "next_match", N_("Next match")),
        Binding("N", "previous_match", N_("Prev match")),
        Binding("escape", "end_search", N_("End search")),
        Binding("n", "next", N_("Next")),
        Binding("right_square_bracket", "next", N_("Next"), show=False),
        Binding("p,left_square_bracket", "previous", N_("Prev")),
        Binding("p,left_square_bracket", "back", N_("Back")),
        Binding("c", "toggle_contents", N_("Contents")),
        Binding("slash", "search", N_("Search")),
        Binding("m", "bookmark", N_("Mark")),
        Binding("b", "mark", N_("Mark")),
        Binding("B,apostrophe", "bookmarks", N_("Bookmarks")),
        Binding("B", "marks", N_("Marks")),
        Binding("c", "contact", N_("Contact")),
        Binding("s", "start_over", N_("Start over")),
        Binding("question_mark,f1", "help", N_("Help")),
        Binding("q", "quit", N_("Quit")),
        Binding("b,shift+space,ctrl+b", "page_up", N_("Page up"), show=False),
        Binding("ctrl+f", "page_down", N_("Page down"), show=False),
        Binding("d", "half_page_down", N_("Half a page down"), show=False),
        Binding("u", "half_page_up", N_("Half a page up"), show=False),
        Binding("h", "help", N_("Help"), show=False),
        Binding("backspace", "go_back", N_("Back to before the last jump"), show=False),
        Binding("plus", "widen", N_("Wider"), show=False),
        Binding("minus", "narrow", N_("Narrower"), show=False),
        Binding("equals_sign", "reset_width", N_("Reset width"), show=False),
        # TRANSLATORS: the footer target that switches language names the OTHER language in that
        # language: the English interface offers "Español", the Spanish one offers "English".
        Binding("l", "switch_language", N_("Español"), show=False),
        Binding("l", "switch_language_target", N_("Español")),
        # Footer targets for a finger. The text view takes the PgUp and PgDn keys themselves before the screen
        # sees them, and the footer would show its hidden binding instead: these sit on keys nothing else uses.
        Binding("shift+pageup", "touch_page_up", N_("Up"), key_display="▲"),
        Binding("shift+pagedown", "touch_page_down", N_("Down"), key_display="▼"),
    ]

    def __init__(
        self,
        library: Library,
        store: Store,
        layouts: Layouts,
        palette: Callable[[], Palette],
        *,
        start: StartAt | None = None,
        reading_width: int | None = None,
        kiosk: bool = False,
        featured: str = "",
        glyphs: Glyphs = UNICODE,
    ) -> None:
        super().__init__(classes="-kiosk" if kiosk else None)
        if kiosk:
            # The footer lists keys in the order they first appear; the kiosk's Contact sits late.
            keys = self._bindings.key_to_bindings
            ordered = {key: keys[key] for key in KIOSK_FOOTER_ORDER if key in keys}
            self._bindings.key_to_bindings = ordered | keys
        self._all_bindings = self._bindings
        self._footers: dict[tuple[bool, bool], BindingsMap] = {}
        """The same keys with fewer of them listed, by (searching, narrow): the footer is one row."""
        self.library = library
        self.store = store
        self.layouts = layouts
        self._palette = palette
        self.start = start or StartAt()
        self.kiosk = kiosk
        self.glyphs = glyphs
        """The icons to draw (only the console font's characters under ``TERM=linux``)."""
        self.featured = featured
        """Id of the article the kiosk features (its contact is the one always shown)."""
        self.reading_width: int | None = KIOSK_WIDTH if kiosk else reading_width
        self.search_index: SearchIndex | None = None
        self.article: Article | None = None
        self.section: Section | None = None
        self._save_timer: Timer | None = None
        self._prefetch_timer: Timer | None = None
        self.search_query = ""
        """The query whose matches ``n``/``N`` step through; empty when no search is active."""
        self._match_index = -1
        self._pending: tuple[str, str, str, float] | None = None
        self._matches: list[Hit] | None = None
        """Every match of ``search_query`` in reading order, once listed."""
        self._chosen: tuple[str, str, int] = ("", "", -1)
        self._history: list[tuple[str, str, str, float]] = []
        """Where the reader was before each jump (link, contents, search result, bookmark), newest last."""

    def compose(self) -> ComposeResult:
        glyphs = self.glyphs
        yield Header(icon=glyphs.kiosk_icon if self.kiosk else glyphs.reader_icon)
        with Horizontal(id="main"):
            yield ContentsTree(id="contents", mark=glyphs.bookmark)
            yield SectionView(id="section")
        yield Static(id="too-small")
        if self.kiosk:
            with Vertical(id="attract"):
                yield Static(_("Press any key or touch the screen to read"), id="attract-hint")
                yield ProgressBar(
                    total=1.0, show_eta=False, show_percentage=False, id="attract-bar"
                )
            yield Static("", id="kiosk-contact")
            yield Static("", id="kiosk-disclaimer")
            yield Static("", id="search-bar")
            yield KeysFooter(show_command_palette=False)
        else:
            # Compact and without the palette hint (ctrl+p still opens it), so every key, q included, fits
            # in 80 columns.
            yield Static("", id="search-bar")
            yield KeysFooter(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        start = self.start
        article = self.library.article(start.article_id) or self.library.articles[0]
        self.query_one(ContentsTree).fill(self.library, article.id)
        self.refresh_bookmark_marks()
        view = self.query_one(SectionView)
        view.max_width = self.reading_width
        view.focus()
        section = article.section(start.section_id) if start.section_id else None
        self.open(article, section or article.sections[0], start.anchor, start.fraction, save=False)
        self._check_size()
        self.show_store_messages()
        self.watch(self.app, "theme", self._theme_changed, init=False)
        if self.kiosk:
            self.update_contact()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Which keys act in this mode: the kiosk has its own few, the reader all of its own; the search's
        keys only while a search is active."""
        if action in SEARCH_ACTIONS:
            return self.searching
        if action in READER_ONLY:
            return not self.kiosk
        if action in KIOSK_ONLY:
            return self.kiosk
        if action == "copy_text":
            return not self.kiosk
        if action == "switch_language_target":
            return self.kiosk  # the kiosk's footer shows it; the reader's has no room, ``l`` works
        if action == "switch_language":
            return not self.kiosk
        return True

    # -- opening things --------------------------------------------------------------------------------

    def open(
        self,
        article: Article,
        section: Section,
        anchor: str = "",
        fraction: float = 0.0,
        *,
        save: bool = True,
    ) -> None:
        """Show ``section`` of ``article`` at a position, and make the header and contents follow."""
        if self.article is not article:
            self.query_one(ContentsTree).ensure_article(self.library, article.id)
        self.article, self.section = article, section
        view = self.query_one(SectionView)
        view.show(self._provider(section), anchor, fraction)
        self._update_header()
        self.query_one(ContentsTree).follow(Place(article.id, section.id, view.position()[0]))
        if save:
            self.schedule_save()
        if self._prefetch_timer is not None:
            self._prefetch_timer.stop()
        self._prefetch_timer = self.set_timer(PREFETCH_DELAY, self._prefetch_neighbours)

    def _prefetch_neighbours(self) -> None:
        """Lay out the next and previous sections while the reader reads, so ``n`` and ``p`` are instant."""
        self._prefetch_timer = None
        if self.article is None or self.section is None or not self.app.is_running:
            return
        view = self.query_one(SectionView)
        if view.layout_ is None:
            return
        sections = self.article.sections
        index = self.article.index_of(self.section.id)
        for neighbour in (index + 1, index - 1):
            if 0 <= neighbour < len(sections):
                self._provider(sections[neighbour])(view.layout_.width)

    def _provider(self, section: Section) -> Callable[[int], SectionLayout]:
        layouts, palette = self.layouts, self._palette

        def provide(width: int) -> SectionLayout:
            return layouts.start(section, width, palette())

        return provide

    def _theme_changed(self, _theme: str) -> None:
        self.relayout()

    def relayout(self) -> None:
        """Lay the current section out again (the theme or width changed), keeping the position."""
        if self.article is None or self.section is None:
            return
        self.query_one(SectionView).restyle(self._provider(self.section))

    def _update_header(self) -> None:
        if self.article is None or self.section is None:
            return
        index = self.article.index_of(self.section.id) + 1
        total = len(self.article.sections)
        self.title = clean_line(self.article.title)
        self.sub_title = _("Section {index} of {total} · {title}").format(
            index=index, total=total, title=clean_line(self.section.title)
        )

    def step(self, delta: int) -> None:
        """Open the next (or previous) section, crossing into the neighbouring article at the ends."""
        if self.article is None or self.section is None:
            return
        articles = self.library.articles
        index = self.article.index_of(self.section.id) + delta
        article = self.article
        if index >= len(article.sections) or index < 0:
            position = articles.index(article) + delta
            if not 0 <= position < len(articles):
                self.notify(
                    _("This is the end of the library.")
                    if delta > 0
                    else _("This is the start of the library."),
                    timeout=2,
                )
                return
            article = articles[position]
            index = 0 if delta > 0 else len(article.sections) - 1
        self.open(article, article.sections[index])

    def open_place(self, place: Place) -> None:
        """Open what a contents entry, bookmark or link points at."""
        article = self.library.article(place.article_id)
        if article is None:
            return
        section = article.section(place.section_id) if place.section_id else article.sections[0]
        if section is None:
            return
        self.open(article, section, place.anchor)

    def open_bookmark(self, bookmark: Bookmark) -> None:
        """Go to a bookmark; a stale one (its section is gone) opens the article's start with a message."""
        article = self.library.article(bookmark.article_id)
        section = article.section(bookmark.section_id) if article else None
        if article is not None and section is not None:
            self.open(article, section, bookmark.anchor, bookmark.fraction)
            return
        article = article or self.library.articles[0]
        self.open(article, article.sections[0])
        self.notify(
            _("{section!r} is no longer in {article!r}; opened {opened!r}.").format(
                section=bookmark.section_title, article=bookmark.article_title, opened=article.title
            ),
            severity="warning",
            timeout=5,
            markup=False,
        )

    def go_home(self, article_id: str) -> None:
        """Forget the search and show an article's first section (the kiosk's start screen)."""
        self.end_search()
        article = self.library.article(article_id) or self.library.articles[0]
        self.open(article, article.sections[0], save=False)

    # -- messages from widgets and the app ----------------------------------------------------------------

    @on(ContentsTree.Opened)
    def _contents_opened(self, message: ContentsTree.Opened) -> None:
        self.remember()
        self.open_place(message.place)

    @on(SectionView.AnchorChanged)
    def _anchor_changed(self, message: SectionView.AnchorChanged) -> None:
        if self.article is not None and self.section is not None:
            self.query_one(ContentsTree).follow(
                Place(self.article.id, self.section.id, message.anchor)
            )

    @on(SectionView.Scrolled)
    def _scrolled(self) -> None:
        self.schedule_save()

    @on(SectionView.LinkClicked)
    def _link_clicked(self, message: SectionView.LinkClicked) -> None:
        self.remember()
        self.follow_link(message.href)

    def on_index_ready(self, message: IndexReady) -> None:
        self.search_index = message.index
        if self.search_query and self._matches is None:
            self._list_matches(message.index, self.search_query)

    def on_library_changed(self, message: LibraryChanged) -> None:
        """The content folder changed: show the new text at the same place where it still exists."""
        library = message.library
        current = (
            self.article.id if self.article else "",
            self.section.id if self.section else "",
        )
        self.library = library
        self.search_index = None
        self.end_search()
        article = (
            library.article(current[0]) or library.article(self.featured) or library.articles[0]
        )
        section = article.section(current[1]) or article.sections[0]
        self.query_one(ContentsTree).fill(library, article.id)
        self.refresh_bookmark_marks()
        self.article = None
        self.open(article, section, save=False)
        if self.kiosk:
            self.update_contact()

    def follow_link(self, href: str) -> None:
        """Jump to an ``#anchor`` or another article of the library; never fetch anything external."""
        if self.article is None:
            return
        href = unquote(href.strip())
        target, _hash, fragment = href.partition("#")
        if "://" in target or target.startswith(("mailto:", "tel:", "//")):
            self.notify(
                _("External link, not opened: {href}").format(href=href), timeout=4, markup=False
            )
            return
        article: Article | None = self.article
        if target:
            name = target.rsplit("/", 1)[-1]
            article_id = name[:-3] if name.lower().endswith(".md") else name
            article = self.library.article(article_id)
        if article is None:
            self.notify(
                _("No article in this library for the link {href!r}.").format(href=href),
                severity="warning",
                markup=False,
            )
            return
        if not fragment:
            self.open(article, article.sections[0])
            return
        found = article.anchor(fragment.lower())
        if found is None:
            self.notify(
                _("No heading {anchor!r} in {title}.").format(anchor=fragment, title=article.title),
                severity="warning",
                markup=False,
            )
            return
        section, sub = found
        self.open(article, section, sub.id if sub else "")

    # -- saving ------------------------------------------------------------------------------------------

    def show_store_messages(self) -> None:
        """Show any warning the store produced (a moved corrupt file, a read-only folder)."""
        for message in self.store.take_messages():
            self.notify(message, severity="warning", timeout=10, markup=False)

    def schedule_save(self) -> None:
        """Save the reading position once the reader stops moving for a moment."""
        if self.article is not None and self.section is not None:
            anchor, fraction = self.query_one(SectionView).position()
            self._pending = (self.article.id, self.section.id, anchor, fraction)
        if self._save_timer is not None:
            self._save_timer.stop()
        self._save_timer = self.set_timer(SAVE_DELAY, self.save_position)

    def save_position(self) -> None:
        """Write where the reader is to the store."""
        self._save_timer = None
        if self._pending is not None:
            self.store.save_position(Position(*self._pending, time.time()))
            self._pending = None
            self.show_store_messages()

    def on_unmount(self) -> None:
        if self._save_timer is not None:
            self._save_timer.stop()
            self.save_position()

    # -- actions -----------------------------------------------------------------------------------------

    def action_next(self) -> None:
        self.step(1)

    def action_next_match(self) -> None:
        self.step_match(1)

    def action_previous(self) -> None:
        self.step(-1)

    def action_back(self) -> None:
        self.step(-1)

    def action_previous_match(self) -> None:
        self.step_match(-1)

    def action_toggle_contents(self) -> None:
        contents = self.query_one(ContentsTree)
        contents.display = not contents.display
        if not contents.display:
            self.query_one(SectionView).focus()

    def action_help(self) -> None:
        from kreader.screens.help import HelpScreen

        palette = self._palette()
        self.app.push_screen(
            HelpScreen(kiosk=self.kiosk, theme=palette.rich_theme(), language=current_language())
        )

    async def action_quit(self) -> None:
        await self.app.action_quit()

    def action_search(self) -> None:
        from kreader.screens.search import SearchChoice, SearchScreen

        def chosen(choice: SearchChoice | None) -> None:
            if choice is not None:
                hit = choice.hit
                self.remember()
                self.start_matches(choice.query, hit.article_id, hit.section_id, hit.occurrence)
                self.show_match(
                    hit.article_id, hit.section_id, hit.term, hit.occurrence, hit.fraction
                )

        self.app.push_screen(SearchScreen(self.search_index), chosen)

    def action_end_search(self) -> None:
        self.end_search()

    def end_search(self) -> None:
        """Stop stepping through matches: ``n`` and ``p`` move between sections again, and the footer
        says so (the search bar goes; no notice is needed)."""
        if not self.search_query:
            return
        self.search_query = ""
        self._match_index = -1
        self._matches = None
        view = self.query_one(SectionView)
        view.highlight = None
        view.refresh()
        self._search_mode_changed()

    def action_bookmark(self) -> None:
        """Bookmark this place, or remove the bookmark already here."""
        article, section = self.article, self.section
        if article is None or section is None:
            return
        anchor, fraction = self.query_one(SectionView).position()
        existing = self.store.find(article.id, section.id, anchor, fraction)
        if existing is not None:
            self.store.remove(existing.id)
            self.notify(
                _("Bookmark removed: {title}").format(title=section.title), timeout=2, markup=False
            )
        else:
            self.store.add(article.id, section.id, anchor, fraction, article.title, section.title)
            self.notify(
                _("Bookmarked: {title}").format(title=section.title), timeout=2, markup=False
            )
        self.show_store_messages()
        self.refresh_bookmark_marks()

    def action_bookmarks(self) -> None:
        from kreader.screens.bookmarks import BookmarksScreen

        def chosen(bookmark: Bookmark | None) -> None:
            self.refresh_bookmark_marks()
            self.show_store_messages()
            if bookmark is not None:
                self.remember()
                self.open_bookmark(bookmark)

        self.app.push_screen(BookmarksScreen(self.store, self.library), chosen)

    def action_marks(self) -> None:
        self.action_bookmarks()

    def action_mark(self) -> None:
        self.action_bookmark()

    # -- paging and going back -----------------------------------------------------------------------------

    def action_page_up(self) -> None:
        self.query_one(SectionView).scroll_page_up(animate=False)

    def action_page_down(self) -> None:
        self.query_one(SectionView).scroll_page_down(animate=False)

    def action_touch_page_up(self) -> None:
        self.action_page_up()

    def action_touch_page_down(self) -> None:
        self.action_page_down()

    def action_half_page_down(self) -> None:
        view = self.query_one(SectionView)
        view.scroll_relative(y=max(1, view.scrollable_content_region.height // 2), animate=False)

    def action_half_page_up(self) -> None:
        view = self.query_one(SectionView)
        view.scroll_relative(y=-max(1, view.scrollable_content_region.height // 2), animate=False)

    def remember(self) -> None:
        """Note where the reader is before a jump, for backspace (at most `HISTORY_LIMIT` places)."""
        if self.article is None or self.section is None:
            return
        anchor, fraction = self.query_one(SectionView).position()
        place = (self.article.id, self.section.id, anchor, fraction)
        if not self._history or self._history[-1] != place:
            self._history.append(place)
            del self._history[:-HISTORY_LIMIT]

    def action_go_back(self) -> None:
        """Back to where the reader was before the last jump."""
        while self._history:
            article_id, section_id, anchor, fraction = self._history.pop()
            article = self.library.article(article_id)
            section = article.section(section_id) if article else None
            if article is not None and section is not None:
                self.open(article, section, anchor, fraction)
                return
        self.notify(
            _(
                "Nothing to go back to: backspace returns from a link, contents entry, search "
                "result or bookmark."
            ),
            timeout=3,
        )

    def refresh_bookmark_marks(self) -> None:
        """Star the sections that hold bookmarks in the contents pane."""
        self.query_one(ContentsTree).mark_bookmarks(self.library, self.store.marked_sections())

    # -- reading width -----------------------------------------------------------------------------------

    def _set_width(self, width: int | None) -> None:
        self.reading_width = width
        view = self.query_one(SectionView)
        view.max_width = width
        shown = _("full") if width is None else _("{count} columns").format(count=view.text_width)
        self.notify(_("Reading width: {width}").format(width=shown), timeout=1.5)
        self.post_message(PreferenceChanged("width", width))

    def action_widen(self) -> None:
        current = self.query_one(SectionView).text_width
        self._set_width(min(MAX_READING_WIDTH, current + WIDTH_STEP))

    def action_narrow(self) -> None:
        current = self.query_one(SectionView).text_width
        self._set_width(max(MIN_READING_WIDTH, current - WIDTH_STEP))

    def action_reset_width(self) -> None:
        self._set_width(None)

    # -- kiosk -------------------------------------------------------------------------------------------

    def update_contact(self) -> None:
        """Show the featured article's contact and disclaimer in the always-visible lines."""
        reach, note = contact_lines(*contact_info(self.library, self.featured))
        width = max(20, self.app.size.width - 2)
        if len(note) > 2 * width:
            note = _(SHORT_DISCLAIMER)
        self.query_one("#kiosk-contact", Static).update(
            Text.assemble((self.glyphs.phone, "bold"), plain_line(reach))
        )
        self.query_one("#kiosk-disclaimer", Static).update(
            plain(balanced_lines(clean_line(note), width))
        )

    def show_attract(self, on: bool, countdown: float) -> None:
        """Show or hide the attract banner, with the time left before the next page (0 to 1)."""
        self.set_class(on, "-attract")
        self.query_one("#attract-bar", ProgressBar).progress = countdown

    def action_contact(self) -> None:
        from kreader.screens.contact import ContactScreen

        self.app.push_screen(
            ContactScreen(*contact_info(self.library, self.featured), console=self.glyphs.console)
        )

    def action_start_over(self) -> None:
        self.post_message(StartOver())

    # -- language ----------------------------------------------------------------------------------------

    def action_switch_language(self) -> None:
        """Text and interface in the next language, at the same place (the app decides which)."""
        self.post_message(LanguageSwitch())

    def action_switch_language_target(self) -> None:
        self.action_switch_language()

    def show_language(self, library: Library, index: SearchIndex | None) -> None:
        """Show ``library`` (the same articles in another language) at the same place: the same section,
        subsection and fraction, as the ids are shared. The interface's words follow as they are drawn."""
        view = self.query_one(SectionView)
        anchor, fraction = view.position()
        current = (self.article.id if self.article else "", self.section.id if self.section else "")
        self.library = library
        self.search_index = index
        self.end_search()  # its matches are in the other language's text
        article = library.article(current[0]) or library.articles[0]
        section = article.section(current[1]) or article.sections[0]
        self.query_one(ContentsTree).fill(library, article.id)
        self.refresh_bookmark_marks()
        self.article = None
        self.open(article, section, anchor, fraction, save=False)
        if self.kiosk:
            self.query_one("#attract-hint", Static).update(
                _("Press any key or touch the screen to read")
            )
            self.update_contact()
        self._check_size()

    # -- search results ----------------------------------------------------------------------------------

    def show_match(
        self, article_id: str, section_id: str, term: str, occurrence: int, fraction: float
    ) -> None:
        """Open a section at a search match and mark it."""
        article = self.library.article(article_id)
        section = article.section(section_id) if article else None
        if article is None or section is None:
            return
        if self.section is not section:
            self.open(article, section)
        view = self.query_one(SectionView)
        layout = view.layout_
        if layout is None:
            return
        found = layout.find(term, occurrence)
        if found is None:
            return
        view.highlight = found
        view.go_to_line(found[0])
        view.refresh()

    def step_match(self, delta: int) -> None:
        """Go to the next or previous match of the active search, anywhere in the library."""
        matches = self._matches
        if matches is None:  # still being listed in the background: list them now
            index = self.search_index
            if index is None:
                self.notify(_("The search index is still being built."), timeout=2)
                return
            matches = self._matches = index.occurrences(self.search_query)
            self._match_index = self._position_in(matches)
        if not matches:
            self.notify(
                _("No matches for {query!r}.").format(query=self.search_query),
                timeout=2,
                markup=False,
            )
            return
        self._match_index = (self._match_index + delta) % len(matches)
        hit = matches[self._match_index]
        self.show_match(hit.article_id, hit.section_id, hit.term, hit.occurrence, hit.fraction)
        self._update_search_bar()

    def start_matches(self, query: str, article_id: str, section_id: str, occurrence: int) -> None:
        """Make ``query`` the active search, positioned at the chosen result.

        Every match in the library is listed in a thread: for a common word in a large library that takes a
        good part of a second, which the reader should not wait for.
        """
        self.search_query = query
        self._chosen = (article_id, section_id, occurrence)
        self._matches = None
        self._match_index = -1
        self._search_mode_changed()
        if self.search_index is not None:
            self._list_matches(self.search_index, query)

    @work(thread=True, exclusive=True, group="matches")
    def _list_matches(self, index: SearchIndex, query: str) -> None:
        matches = index.occurrences(query)
        self.app.call_from_thread(self._matches_listed, query, matches)

    def _matches_listed(self, query: str, matches: list[Hit]) -> None:
        if query == self.search_query and self._matches is None:
            self._matches = matches
            self._match_index = self._position_in(matches)
            self._update_search_bar()

    @property
    def searching(self) -> bool:
        """Whether a search is active (``n``, ``N`` and ``escape`` are the search's keys)."""
        return bool(self.search_query)

    def _footer_bindings(self) -> BindingsMap:
        """The keys, with those the footer leaves out (but which still act) while searching, and, in a kiosk
        narrower than `KIOSK_FULL_FOOTER`, with the page targets as bare arrows and Marks left out, so that
        l Español, the page targets, Contact and Help all fit in one row of 80 columns."""
        narrow = self.kiosk and self.app.size.width < KIOSK_FULL_FOOTER
        mode = (self.searching, narrow)
        if mode not in self._footers:
            unlisted = set(UNLISTED_WHILE_SEARCHING) if self.searching else set()
            if narrow:
                unlisted.add("marks")

            def listed(binding: Binding) -> Binding:
                if binding.action in unlisted:
                    return replace(binding, show=False)
                if narrow and binding.action in TOUCH_TARGETS:
                    return replace(binding, description="")
                return binding

            self._footers[mode] = BindingsMap.from_keys(
                {
                    key: [listed(binding) for binding in bindings]
                    for key, bindings in self._all_bindings.key_to_bindings.items()
                }
            )
        return self._footers[mode]

    def _search_mode_changed(self) -> None:
        """Show the search bar and the search's keys in the footer, or put the reading keys back."""
        self._bindings = self._footer_bindings()
        self.set_class(self.searching, "-searching")
        self._update_search_bar()
        self.refresh_bindings()

    def search_position(self) -> str:
        """Where the reader is among the matches: "match 3 of 20", or what is known so far."""
        matches = self._matches
        if matches is None:
            return _("counting matches…")
        if not matches:
            return _("no matches")
        count = len(matches)
        total = f"{count:,}{'+' if count >= MAX_OCCURRENCES else ''}"
        if self._match_index < 0:
            return ngettext("{total} match", "{total} matches", count).format(total=total)
        return _("match {number} of {total}").format(
            number=f"{self._match_index + 1:,}", total=total
        )

    def _update_search_bar(self) -> None:
        if not self.searching:
            return
        self.query_one("#search-bar", Static).update(
            Text.assemble(
                _("Searching for "),
                plain_line(self.search_query, "bold"),
                " · ",
                self.search_position(),
            )
        )

    def _position_in(self, matches: list[Hit]) -> int:
        """Where the chosen result stands among all matches (-1 if it is not among them)."""
        for number, hit in enumerate(matches):
            if (hit.article_id, hit.section_id, hit.occurrence) == self._chosen:
                return number
        return -1

    # -- size --------------------------------------------------------------------------------------------

    def on_resize(self) -> None:
        self._check_size()
        if self.kiosk:
            self.update_contact()
            # Every kiosk key, PgUp and PgDn included, stays on screen in 80 columns.
            self.query_one(KeysFooter).compact = self.app.size.width < KIOSK_ROOMY_FOOTER

    def _check_size(self) -> None:
        width, height = self.app.size
        # A cell is about twice as tall as it is wide: more rows than half the columns is a portrait screen.
        self.set_class(width < PORTRAIT_WIDTH and 2 * height > width, "-portrait")
        if self.kiosk:
            self.query_one(KeysFooter).compact = width < KIOSK_ROOMY_FOOTER
            footer = self._footer_bindings()
            if footer is not self._bindings:
                self._bindings = footer
                self.refresh_bindings()
        small = width < MIN_WIDTH or height < MIN_HEIGHT
        self.set_class(small, "-too-small")
        if small:
            self.query_one("#too-small", Static).update(
                _(
                    "The terminal is too small ({width}×{height}).\n"
                    "kreader needs at least {min_width}×{min_height}."
                ).format(width=width, height=height, min_width=MIN_WIDTH, min_height=MIN_HEIGHT)
            )
