"""The search screen: results for the whole library update with every keystroke."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from kreader.screens import kreader_app
from kreader.search import Hit

if TYPE_CHECKING:
    from kreader.app import KReaderApp

RESULT_LIMIT = 50


def hit_label(hit: Hit) -> Text:
    """Two lines for a result: where it is (section and subsection), then the snippet with the match
    marked."""
    label = Text(hit.section_title, style="bold")
    if hit.subsection_title:
        label.append(" › ", style="dim")
        label.append(hit.subsection_title, style="bold")
    label.append("  ·  ", style="dim")
    label.append(hit.article_title, style="italic dim")
    snippet = Text(hit.snippet)
    for start, end in hit.highlights:
        snippet.stylize("bold reverse", start, end)
    label.append("\n")
    label.append_text(snippet)
    return label


class SearchScreen(ModalScreen[None]):
    """Type to search; ``enter`` or a click opens a result; ``escape`` closes."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("down", "focus_results", "Results", show=False),
    ]
    DEFAULT_CLASSES = "dialog"

    def __init__(self, query: str = "") -> None:
        super().__init__()
        self._initial = query
        self.hits: list[Hit] = []

    @property
    def kapp(self) -> KReaderApp:
        return kreader_app(self.app)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog-body"):
            yield Static("Search the library", id="dialog-title")
            yield Input(self._initial, placeholder='words, or "a phrase"', id="search-input")
            yield Static("", id="search-status")
            yield OptionList(id="search-results")
            yield Static("enter opens · ↓ to the results · escape closes", classes="dialog-hint")

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
        index = self.kapp.search_index
        if index is None:
            status.update("Preparing the search index…")
            self.set_timer(0.2, lambda: self.run_search(self.query_one(Input).value))
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
            count = len(self.hits)
            status.update(
                f"{count}{'+' if count >= RESULT_LIMIT else ''} section{'s' if count != 1 else ''}"
            )
        else:
            status.update("No matches.")

    @on(Input.Submitted)
    def _submitted(self) -> None:
        results = self.query_one(OptionList)
        if self.hits:
            self.choose(results.highlighted or 0)

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.choose(event.option_index)

    def choose(self, number: int) -> None:
        """Open result ``number`` in the reader and make its query the one ``n``/``N`` follow."""
        if not 0 <= number < len(self.hits):
            return
        hit = self.hits[number]
        query = self.query_one(Input).value
        reader = self.kapp.reader()
        self.dismiss()
        reader.start_matches(query, hit.article_id, hit.section_id, hit.occurrence)
        reader.show_match(hit.article_id, hit.section_id, hit.term, hit.occurrence, hit.fraction)

    def action_close(self) -> None:
        self.dismiss()

    def action_focus_results(self) -> None:
        if self.hits:
            self.query_one(OptionList).focus()
