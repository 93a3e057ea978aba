"""The contents pane: articles, their sections and their headings (nested, deeper ones folded), following where
the reader is."""

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


SECTION_WINDOW = 100
"""Most sections (and subsections of the open section) listed at once; the rest stand behind one entry each
side. Textual's tree lays out every node whenever it changes: 50,000 entries took over 40 seconds."""
SUBSECTION_CAP = 30
"""Most subsections listed under a section that is not open, when the article has other sections."""


def _window(count: int, current: int, size: int) -> tuple[int, int]:
    """The ``size`` positions (first, end) out of ``count`` centred on ``current``."""
    if count <= size:
        return 0, count
    start = max(0, min(current - size // 2, count - size))
    return start, start + size


BOOKMARK_MARK = "★ "
LINE_CACHE_SIZE = 128
"""Rendered tree lines kept: a few screens' worth, so memory stays flat over days of attract loop."""


class ContentsTree(Tree[Place]):
    """A tree of the library; ``enter`` or a click opens an entry, the cursor follows the reader."""

    @dataclass
    class Opened(Message):
        """The reader chose an entry."""

        place: Place

    def __init__(self, *, id: str | None = None, mark: str = BOOKMARK_MARK) -> None:
        super().__init__("Contents", id=id)
        self.mark = mark
        """Put before a bookmarked section's title (a plain ``*`` on the Linux console, which lacks ``★``)."""
        self.show_root = False
        self.auto_expand = False
        self.guide_depth = 2
        self._entries: dict[Place, TreeNode[Place]] = {}
        self._marked: set[tuple[str, str]] = set()
        self._labelled: dict[Place, bool] = {}
        """Whether each section entry's label shows the bookmark mark."""
        self._windows: dict[str, tuple[int, int, str, str]] = {}
        """Article id -> (first, end) of the sections listed, and the section and anchor they are around."""
        self._library: Library | None = None
        # A kiosk moves the cursor thousands of times a day; Textual's 1,024-line cache would grow with it.
        self._line_cache = LRUCache(LINE_CACHE_SIZE)

    def fill(self, library: Library, open_article: str) -> None:
        """Build the tree; only the open article's sections are expanded."""
        self.clear()
        self._entries.clear()
        self._windows.clear()
        self._labelled.clear()
        self._library = library
        for article in library.articles:
            place = Place(article.id)
            article_node = self.root.add(plain_line(article.title, "bold"), data=place)
            self._entries[place] = article_node
            if article.id == open_article:
                self._add_sections(article_node, library, article.id)
                article_node.expand()
        self.root.expand()

    def _add_sections(
        self, node: TreeNode[Place], library: Library, article_id: str, around: Place | None = None
    ) -> None:
        """List an article's sections (a window of them around ``around`` in a very long article)."""
        article = library.article(article_id)
        if article is None or (node.children and around is None):
            return
        sections = article.sections
        current = max(0, article.index_of(around.section_id)) if around else 0
        start, end = _window(len(sections), current, SECTION_WINDOW)
        self._windows[article_id] = (start, end, around.section_id if around else "", "")
        if start:
            self._add_more(
                node, f"{start:,} earlier sections", Place(article.id, sections[start - 1].id)
            )
        for index in range(start, end):
            section = sections[index]
            place = Place(article.id, section.id)
            label = self._label(section.title, (article.id, section.id) in self._marked)
            subs = section.subsections
            if subs:
                section_node = node.add(label, data=place, expand=True)
                if around is not None and index == current and around.anchor:
                    sub_index = next(
                        (i for i, sub in enumerate(subs) if sub.id == around.anchor), 0
                    )
                    first, last = _window(len(subs), sub_index, SECTION_WINDOW)
                    self._windows[article_id] = (start, end, section.id, around.anchor)
                else:
                    first, last = (
                        0,
                        min(len(subs), SUBSECTION_CAP if len(sections) > 1 else SECTION_WINDOW),
                    )
                if first:
                    self._add_more(
                        section_node,
                        f"{first:,} earlier subsections",
                        Place(article.id, section.id, subs[first - 1].id),
                    )
                # Deeper headings nest under the one above them, folded until the reader gets there.
                listed = subs[first:last]
                stack: list[tuple[int, TreeNode[Place]]] = []
                for n, sub in enumerate(listed):
                    while stack and stack[-1][0] >= sub.depth:
                        stack.pop()
                    parent = stack[-1][1] if stack else section_node
                    sub_place = Place(article.id, section.id, sub.id)
                    if n + 1 < len(listed) and listed[n + 1].depth > sub.depth:
                        sub_node = parent.add(plain_line(sub.title), data=sub_place, expand=False)
                        stack.append((sub.depth, sub_node))
                    else:
                        sub_node = parent.add_leaf(plain_line(sub.title), data=sub_place)
                    self._entries[sub_place] = sub_node
                if last < len(subs):
                    self._add_more(
                        section_node,
                        f"{len(subs) - last:,} more subsections",
                        Place(article.id, section.id, subs[last].id),
                    )
            else:
                section_node = node.add_leaf(label, data=place)
            self._entries[place] = section_node
            self._labelled[place] = (article.id, section.id) in self._marked
        if end < len(sections):
            self._add_more(
                node, f"{len(sections) - end:,} more sections", Place(article.id, sections[end].id)
            )

    def _add_more(self, node: TreeNode[Place], text: str, place: Place) -> None:
        """An entry standing for entries not listed: choosing it opens the first of them (and lists them)."""
        node.add_leaf(Text(f"… {text}", style="italic"), data=place)

    def _rebuild(self, place: Place) -> bool:
        """List the window of a long article that holds ``place``; False if ``place`` is not in the article."""
        library = self._library
        node = self._entries.get(Place(place.article_id))
        article = library.article(place.article_id) if library else None
        if library is None or node is None or article is None:
            return False
        found = article.anchor(place.anchor) if place.anchor else None
        if article.section(place.section_id) is None or (place.anchor and found is None):
            return False
        for key in [
            key for key in self._entries if key.article_id == place.article_id and key.section_id
        ]:
            del self._entries[key]
            self._labelled.pop(key, None)
        node.remove_children()
        self._add_sections(node, library, place.article_id, place)
        node.expand()
        return True

    def _label(self, title: str, marked: bool) -> Text:
        return Text.assemble((self.mark, "bold yellow") if marked else "", plain_line(title))

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
        node = self._entries.get(place)
        if (
            node is None
            and place.section_id
            and self._outside_window(place)
            and self._rebuild(place)
        ):
            node = self._entries.get(place)
        node = node or self._entries.get(Place(place.article_id, place.section_id))
        if node is None:
            return
        parent = node.parent
        while parent is not None and not parent.is_root:  # a deeper heading's entry is folded away
            if not parent.is_expanded:
                parent.expand()
            parent = parent.parent
        # Nodes just added or expanded have no line number until the tree is laid out again, which Tree
        # does lazily (on idle); asking for the last line lays it out now, so the cursor lands on the node.
        _ = self.last_line
        if self.cursor_node is not node:
            self.move_cursor(node, animate=False)

    def _outside_window(self, place: Place) -> bool:
        """Is ``place`` in a long article but not among the entries listed for it?"""
        window = self._windows.get(place.article_id)
        if window is None:
            return False
        if Place(place.article_id, place.section_id) not in self._entries:
            return True
        return bool(place.anchor) and place not in self._entries

    def mark_bookmarks(self, library: Library, marked: set[tuple[str, str]]) -> None:
        """Show a star on sections that hold bookmarks."""
        self._marked = set(marked)
        for place, node in self._entries.items():
            if place.section_id and not place.anchor:
                is_marked = (place.article_id, place.section_id) in marked
                if self._labelled.get(place) == is_marked:
                    continue  # only labels that change: an article can list thousands of sections
                article = library.article(place.article_id)
                section = article.section(place.section_id) if article else None
                if section is not None:
                    node.set_label(self._label(section.title, is_marked))
                    self._labelled[place] = is_marked

    def on_tree_node_selected(self, event: Tree.NodeSelected[Place]) -> None:
        event.stop()
        if event.node.data is not None:
            self.post_message(self.Opened(event.node.data))
