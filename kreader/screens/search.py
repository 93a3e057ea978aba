"""The search screen: results for the whole library update with every keystroke."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from kreader.i18n import N_, _, ngettext
from kreader.messages import IndexReady
from kreader.safetext import plain, plain_line
from kreader.screens.dialog import Dialog
from kreader.search import Hit, SearchIndex
from kreader.widgets.plain_input import PlainInput

RESULT_LIMIT = 50


def hit_label(hit: Hit) -> Text:
    """Two lines for a result: where it is (section and subsection), then the snippet with the match
    marked."""
    label = plain_line(hit.section_title, "bold")
    if hit.subsection_title:
        label.append(" › ", style="dim")
        label.append_text(plain_line(hit.subsection_title, "bold"))
    label.append("  ·  ", style="dim")
    label.append_text(plain_line(hit.article_title, "italic dim"))
    # Spans index the snippet as the index made it (from cleaned content); cleaning again changes nothing.
    snippet = plain(hit.snippet)
    for start, end in hit.highlights:
        snippet.stylize("bold reverse", start, end)
    label.append("\n")
    label.append_text(snippet)
    return label


def places(count: int) -> str:
    """The status line for ``count`` results: each is a section or a subsection, so they are "places"."""
    more = "+" if count >= RESULT_LIMIT else ""
    return ngettext(
        "Found in {count} place", "Found in {count} places", 2 if more else count
    ).format(count=f"{count}{more}")


@dataclass(frozen=True)
class SearchChoice:
    """The result a reader opened, and the query that found it (``n`` and ``N`` then follow it)."""

    query: str
    hit: Hit


class SearchScreen(Dialog[SearchChoice | None]):
    """Type to search; ``enter`` or a click hands the result back; ``escape`` closes with None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", N_("Close")),
        Binding("down", "focus_results", N_("Results"), show=False),
    ]

    def __init__(self, index: SearchIndex | None, query: str = "") -> None:
        super().__init__()
        self.index = index
        """None until the app says the index is ready (`IndexReady`)."""
        self._initial = query
        self.hits: list[Hit] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog-body"):
            yield Static(_("Search the library"), id="dialog-title")
            yield PlainInput(
                self._initial, placeholder=_('words, or "a phrase"'), id="search-input"
            )
            yield Static("", id="search-status")
            yield OptionList(id="search-results", markup=False)
            yield self.close_row(_("enter opens · ↓ to the results · escape closes"))

    def on_mount(self) -> None:
        self.query_one(Input).focus()
        if self._initial:
            self.run_search(self._initial)

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        self.run_search(event.value)

    def run_search(self, query: str) -> None:
        """Show the results for ``query`` (nothing for an empty one)."""
        results = self.query_one(OptionList)
        status = self.query_one("#search-status", Static)
        results.clear_options()
        self.hits = []
        if not query.strip():
            status.update("")
            return
        index = self.index
        if index is None:
            status.update(_("Preparing the search index…"))
            return
        self.hits = index.search(query, limit=RESULT_LIMIT)
        # A divider between results (None), so one result's snippet does not run into the next one's title.
        options: list[Option | None] = []
        for number, hit in enumerate(self.hits):
            options.extend([None] if number else [])
            options.append(Option(hit_label(hit), id=str(number)))
        results.add_options(options)
        if self.hits:
            results.highlighted = 0
            status.update(places(len(self.hits)))
        else:
            status.update(_("No matches."))

    def on_index_ready(self, message: IndexReady) -> None:
        self.index = message.index
        self.run_search(self.query_one(Input).value)

    @on(Input.Submitted)
    def _submitted(self) -> None:
        results = self.query_one(OptionList)
        if self.hits:
            self.choose(results.highlighted or 0)

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.choose(event.option_index)

    def choose(self, number: int) -> None:
        """Hand result ``number`` and its query back to the reader."""
        if 0 <= number < len(self.hits):
            self.dismiss(SearchChoice(self.query_one(Input).value, self.hits[number]))

    def action_close(self) -> None:
        self.dismiss(None)

    def action_focus_results(self) -> None:
        if self.hits:
            self.query_one(OptionList).focus()
