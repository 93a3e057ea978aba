"""The reader screen: the one place that knows which article and section are open.

Widgets post messages (a contents entry opened, the pane scrolled, a link clicked); this screen acts on them,
asks the app's store to save, and tells the widgets what to show.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import unquote

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Header, Static

from kreader.content import Article, Section
from kreader.layout import SectionLayout
from kreader.safetext import clean_line
from kreader.screens import kreader_app
from kreader.search import Hit, SearchIndex
from kreader.store import Bookmark
from kreader.widgets.contents import ContentsTree, Place
from kreader.widgets.section_view import SectionView

if TYPE_CHECKING:
    from kreader.app import KReaderApp

MIN_WIDTH, MIN_HEIGHT = 40, 12
"""Below this the layout cannot hold; the screen says so instead of drawing garbage."""

PREFETCH_DELAY = 0.4
"""Seconds after a section opens before its neighbours are laid out (idle time, so keys stay quick)."""

SAVE_DELAY = 0.5
"""Seconds of stillness before the reading position is written (a killed terminal loses at most this)."""


class ReaderScreen(Screen[None]):
    """Contents on the left, the current section on the right."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n,right_square_bracket", "next", "Next"),
        Binding("p,left_square_bracket", "previous", "Prev"),
        Binding("c", "toggle_contents", "Contents"),
        Binding("slash", "search", "Search"),
        Binding("b", "bookmark", "Mark"),
        Binding("B", "bookmarks", "Bookmarks"),
        Binding("N", "previous_match", "Prev match", show=False),
        Binding("escape", "clear_search", "Clear search", show=False),
        Binding("question_mark,f1", "help", "Help"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self) -> None:
        super().__init__()
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

    @property
    def kapp(self) -> KReaderApp:
        """The app, typed."""
        return kreader_app(self.app)

    def compose(self) -> ComposeResult:
        yield Header(icon="≡")
        with Horizontal(id="main"):
            yield ContentsTree(id="contents")
            yield SectionView(id="section")
        yield Static(id="too-small")
        # Compact and without the palette hint (ctrl+p still opens it), so every key, q included, fits in 80
        # columns.
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.set_up()

    def set_up(self) -> None:
        """Fill the panes and open the start section (subclasses extend this, not ``on_mount``, which
        Textual calls once per class)."""
        app = self.kapp
        start = app.start
        article = app.library.article(start.article_id) or app.library.articles[0]
        self.query_one(ContentsTree).fill(app.library, article.id)
        self.refresh_bookmark_marks()
        view = self.query_one(SectionView)
        view.max_width = app.reading_width
        view.focus()
        section = article.section(start.section_id) if start.section_id else None
        self.open(article, section or article.sections[0], start.anchor, start.fraction, save=False)
        self._check_size()

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
            self.query_one(ContentsTree).ensure_article(self.kapp.library, article.id)
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
        if self.article is None or self.section is None:
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
        app = self.kapp

        def provide(width: int) -> SectionLayout:
            return app.layouts.get(section, width, app.palette)

        return provide

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
        self.sub_title = f"Section {index} of {total} · {clean_line(self.section.title)}"

    def step(self, delta: int) -> None:
        """Open the next (or previous) section, crossing into the neighbouring article at the ends."""
        if self.article is None or self.section is None:
            return
        articles = self.kapp.library.articles
        index = self.article.index_of(self.section.id) + delta
        article = self.article
        if index >= len(article.sections) or index < 0:
            position = articles.index(article) + delta
            if not 0 <= position < len(articles):
                self.notify(
                    "This is the end of the library."
                    if delta > 0
                    else "This is the start of the library.",
                    timeout=2,
                )
                return
            article = articles[position]
            index = 0 if delta > 0 else len(article.sections) - 1
        self.open(article, article.sections[index])

    def open_place(self, place: Place) -> None:
        """Open what a contents entry, bookmark or link points at."""
        article = self.kapp.library.article(place.article_id)
        if article is None:
            return
        section = article.section(place.section_id) if place.section_id else article.sections[0]
        if section is None:
            return
        self.open(article, section, place.anchor)

    def open_bookmark(self, bookmark: Bookmark) -> None:
        """Go to a bookmark; a stale one (its section is gone) opens the article's start with a message."""
        library = self.kapp.library
        article = library.article(bookmark.article_id)
        section = article.section(bookmark.section_id) if article else None
        if article is not None and section is not None:
            self.open(article, section, bookmark.anchor, bookmark.fraction)
            return
        article = article or library.articles[0]
        self.open(article, article.sections[0])
        self.notify(
            f"{bookmark.section_title!r} is no longer in {bookmark.article_title!r}; opened {article.title!r}.",
            severity="warning",
            timeout=5,
        )

    # -- messages from widgets ---------------------------------------------------------------------------

    @on(ContentsTree.Opened)
    def _contents_opened(self, message: ContentsTree.Opened) -> None:
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
        self.follow_link(message.href)

    def follow_link(self, href: str) -> None:
        """Jump to an ``#anchor`` or another article of the library; never fetch anything external."""
        if self.article is None:
            return
        href = unquote(href.strip())
        target, _, fragment = href.partition("#")
        if "://" in target or target.startswith(("mailto:", "tel:", "//")):
            self.notify(f"External link, not opened: {href}", timeout=4)
            return
        article: Article | None = self.article
        if target:
            name = target.rsplit("/", 1)[-1]
            article_id = name[:-3] if name.lower().endswith(".md") else name
            article = self.kapp.library.article(article_id)
        if article is None:
            self.notify(f"No article in this library for the link {href!r}.", severity="warning")
            return
        if not fragment:
            self.open(article, article.sections[0])
            return
        found = article.anchor(fragment.lower())
        if found is None:
            self.notify(f"No heading {fragment!r} in {article.title}.", severity="warning")
            return
        section, sub = found
        self.open(article, section, sub.id if sub else "")

    # -- saving ------------------------------------------------------------------------------------------

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
            self.kapp.save_position(*self._pending)
            self._pending = None

    def on_unmount(self) -> None:
        if self._save_timer is not None:
            self._save_timer.stop()
            self.save_position()

    # -- actions -----------------------------------------------------------------------------------------

    def action_next(self) -> None:
        if self.search_query:
            self.step_match(1)
        else:
            self.step(1)

    def action_previous(self) -> None:
        self.step(-1)

    def action_previous_match(self) -> None:
        if self.search_query:
            self.step_match(-1)

    def action_toggle_contents(self) -> None:
        contents = self.query_one(ContentsTree)
        contents.display = not contents.display
        if not contents.display:
            self.query_one(SectionView).focus()

    def action_help(self) -> None:
        from kreader.screens.help import HelpScreen

        self.app.push_screen(HelpScreen())

    async def action_quit(self) -> None:
        await self.app.action_quit()

    def action_search(self) -> None:
        self.kapp.open_search()

    def action_clear_search(self) -> None:
        if self.search_query:
            self.search_query = ""
            self._match_index = -1
            view = self.query_one(SectionView)
            view.highlight = None
            view.refresh()
            self.notify("Search cleared: n and p step through sections again.", timeout=2)

    def action_bookmark(self) -> None:
        if self.article is None or self.section is None:
            return
        anchor, fraction = self.query_one(SectionView).position()
        self.kapp.toggle_bookmark(self.article, self.section, anchor, fraction)

    def action_bookmarks(self) -> None:
        self.kapp.open_bookmarks()

    def refresh_bookmark_marks(self) -> None:
        """Star the sections that hold bookmarks in the contents pane."""
        marked = {(b.article_id, b.section_id) for b in self.kapp.store.list()}
        self.query_one(ContentsTree).mark_bookmarks(self.kapp.library, marked)

    # -- search results ----------------------------------------------------------------------------------

    def show_match(
        self, article_id: str, section_id: str, term: str, occurrence: int, fraction: float
    ) -> None:
        """Open a section at a search match and mark it."""
        article = self.kapp.library.article(article_id)
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
            index = self.kapp.search_index
            if index is None:
                self.notify("The search index is still being built.", timeout=2)
                return
            matches = self._matches = index.occurrences(self.search_query)
            self._match_index = self._position_in(matches)
        if not matches:
            self.notify(f"No matches for {self.search_query!r}.", timeout=2)
            return
        self._match_index = (self._match_index + delta) % len(matches)
        hit = matches[self._match_index]
        self.show_match(hit.article_id, hit.section_id, hit.term, hit.occurrence, hit.fraction)
        self.notify(f"Match {self._match_index + 1} of {len(matches)}", timeout=1.5)

    def start_matches(self, query: str, article_id: str, section_id: str, occurrence: int) -> None:
        """Make ``query`` the active search, positioned at the chosen result.

        Every match in the library is listed in a thread: for a common word in a large library that takes a
        good part of a second, which the reader should not wait for.
        """
        self.search_query = query
        self._chosen = (article_id, section_id, occurrence)
        self._matches = None
        self._match_index = -1
        index = self.kapp.search_index
        if index is not None:
            self._list_matches(index, query)

    @work(thread=True, exclusive=True, group="matches")
    def _list_matches(self, index: SearchIndex, query: str) -> None:
        matches = index.occurrences(query)
        self.app.call_from_thread(self._matches_listed, query, matches)

    def _matches_listed(self, query: str, matches: list[Hit]) -> None:
        if query == self.search_query and self._matches is None:
            self._matches = matches
            self._match_index = self._position_in(matches)

    def _position_in(self, matches: list[Hit]) -> int:
        """Where the chosen result stands among all matches (-1 if it is not among them)."""
        for number, hit in enumerate(matches):
            if (hit.article_id, hit.section_id, hit.occurrence) == self._chosen:
                return number
        return -1

    # -- size --------------------------------------------------------------------------------------------

    def on_resize(self) -> None:
        self._check_size()

    def _check_size(self) -> None:
        width, height = self.app.size
        small = width < MIN_WIDTH or height < MIN_HEIGHT
        self.set_class(small, "-too-small")
        if small:
            self.query_one("#too-small", Static).update(
                f"The terminal is too small ({width}×{height}).\nkreader needs at least {MIN_WIDTH}×{MIN_HEIGHT}."
            )
