"""The contents pane: articles, their sections and subsections, following where the reader is."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.cache import LRUCache
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from kreader.content import Library
from kreader.safetext import plain_line


@dataclass(frozen=True)
class Place:
    """Where a contents entry leads: an article, a section, and maybe a subsection anchor."""

    article_id: str
    section_id: str = ""
    anchor: str = ""


BOOKMARK_MARK = "★ "
LINE_CACHE_SIZE = 128
"""Rendered tree lines kept: a few screens' worth, so memory stays flat over days of attract loop."""


class ContentsTree(Tree[Place]):
    """A tree of the library; ``enter`` or a click opens an entry, the cursor follows the reader."""

    @dataclass
    class Opened(Message):
        """The reader chose an entry."""

        place: Place

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("Contents", id=id)
        self.show_root = False
        self.auto_expand = False
        self.guide_depth = 2
        self._entries: dict[Place, TreeNode[Place]] = {}
        self._marked: set[tuple[str, str]] = set()
        # A kiosk moves the cursor thousands of times a day; Textual's 1,024-line cache would grow with it.
        self._line_cache = LRUCache(LINE_CACHE_SIZE)

    def fill(self, library: Library, open_article: str) -> None:
        """Build the tree; only the open article's sections are expanded."""
        self.clear()
        self._entries.clear()
        for article in library.articles:
            place = Place(article.id)
            article_node = self.root.add(plain_line(article.title, "bold"), data=place)
            self._entries[place] = article_node
            if article.id == open_article:
                self._add_sections(article_node, library, article.id)
                article_node.expand()
        self.root.expand()

    def _add_sections(self, node: TreeNode[Place], library: Library, article_id: str) -> None:
        article = library.article(article_id)
        if article is None or node.children:
            return
        for section in article.sections:
            place = Place(article.id, section.id)
            label = self._label(section.title, (article.id, section.id) in self._marked)
            if section.subsections:
                section_node = node.add(label, data=place, expand=True)
                for sub in section.subsections:
                    sub_place = Place(article.id, section.id, sub.id)
                    self._entries[sub_place] = section_node.add_leaf(
                        plain_line(sub.title), data=sub_place
                    )
            else:
                section_node = node.add_leaf(label, data=place)
            self._entries[place] = section_node

    def _label(self, title: str, marked: bool) -> Text:
        return Text.assemble((BOOKMARK_MARK, "bold yellow") if marked else "", plain_line(title))

    def process_label(self, label: str | Text) -> Text:
        """Entries are headings and titles from content: a ``str`` is plain text here, never markup.

        (Textual's `Tree` runs ``Text.from_markup`` on a ``str``: ``### [@click=app.quit]Tap here[/]`` would
        quit when tapped, ``### Use [/bold] carefully`` would raise.)
        """
        return super().process_label(plain_line(label) if isinstance(label, str) else label)

    def ensure_article(self, library: Library, article_id: str) -> None:
        """Make sure an article's sections are listed and expanded (built on first need)."""
        node = self._entries.get(Place(article_id))
        if node is not None:
            self._add_sections(node, library, article_id)
            node.expand()

    def follow(self, place: Place) -> None:
        """Move the cursor to the entry for ``place`` without opening it."""
        node = self._entries.get(place) or self._entries.get(
            Place(place.article_id, place.section_id)
        )
        if node is None:
            return
        # Nodes just added or expanded have no line number until the tree is laid out again, which Tree
        # does lazily (on idle); asking for the last line lays it out now, so the cursor lands on the node.
        _ = self.last_line
        if self.cursor_node is not node:
            self.move_cursor(node, animate=False)

    def mark_bookmarks(self, library: Library, marked: set[tuple[str, str]]) -> None:
        """Show a star on sections that hold bookmarks."""
        self._marked = set(marked)
        for place, node in self._entries.items():
            if place.section_id and not place.anchor:
                article = library.article(place.article_id)
                section = article.section(place.section_id) if article else None
                if section is not None:
                    node.set_label(
                        self._label(section.title, (place.article_id, place.section_id) in marked)
                    )

    def on_tree_node_selected(self, event: Tree.NodeSelected[Place]) -> None:
        event.stop()
        if event.node.data is not None:
            self.post_message(self.Opened(event.node.data))
