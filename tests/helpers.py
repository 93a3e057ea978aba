"""Build the real reader over temporary folders, and drive it the way a user would.

The pilot tests and the snapshot tests both use `build_app`; nothing here replaces a kreader module.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Static
from textual.widgets._footer import FooterKey

from kreader.app import KReaderApp, StartAt
from kreader.content import Library, load_library
from kreader.factory import make_app
from kreader.store import Store, open_store
from kreader.widgets.contents import ContentsTree, Place
from kreader.widgets.section_view import SectionView

ROOT = Path(__file__).resolve().parent.parent
CONTENT = ROOT / "content"


def _paragraph(topic: str, count: int) -> str:
    """``count`` numbered lines of plain text about ``topic``, each its own paragraph."""
    return "\n\n".join(f"{topic} line {n}: some words to read." for n in range(1, count + 1))


ALPHA = f"""+++
title = "Alpha guide"
order = 1
+++

# Alpha guide

Opening words of the alpha guide.

{_paragraph("Opening", 4)}

## Start here

See [the deep dive](#deep-dive) below, the [beta notes](beta.md#two), or
[the web page](https://example.com/page).

{_paragraph("Start", 30)}

## Middle part

{_paragraph("Middle", 20)}

### First part

{_paragraph("First", 20)}

### Deep dive

The deep dive starts here with a rare word: zanzibar.

{_paragraph("Deep", 20)}

### Wrap-up

A short closing subsection.

## Last words

{_paragraph("Last", 3)}
"""

BETA = """+++
title = "Beta notes"
order = 2
+++

# Beta notes

The beta notes begin.

## One

First section of beta, which also mentions zanzibar once.

## Two

Second and last section of beta.
"""


def write_library(folder: Path, *, broken: bool = False) -> Path:
    """Write a two-article library (alpha then beta) into ``folder``; ``broken`` adds an unreadable file."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "alpha.md").write_text(ALPHA, encoding="utf-8")
    (folder / "beta.md").write_text(BETA, encoding="utf-8")
    if broken:
        (folder / "broken.md").write_bytes(b"# Broken\n\nbad bytes \xff\xfe here\n")
    return folder


def build_app(
    tmp_path: Path,
    content: Path | None = None,
    *,
    start: StartAt | None = None,
    theme: str | None = None,
    store: Store | None = None,
    notices: list[str] | None = None,
    language: str = "en",
) -> KReaderApp:
    """The reader over ``content`` (default: a generated two-article library) and a real store in ``tmp_path``."""
    library = load_library(content if content is not None else write_library(tmp_path / "content"))
    if store is None:
        store = open_store(tmp_path / "data")
    if notices is None:
        notices = [f"Skipped {error}" for error in library.errors]
    app = make_app(library, store, start=start, notices=notices, theme=theme, language=language)
    # Scrolling jumps instead of gliding, so a key press is done when the pilot says it is.
    app.animation_level = "none"
    return app


def library_of(app: KReaderApp) -> Library:
    """The app's library (typed)."""
    return app.library


def view(app: KReaderApp) -> SectionView:
    """The reader's section pane."""
    return app.reader().query_one(SectionView)


def tree(app: KReaderApp) -> ContentsTree:
    """The reader's contents pane."""
    return app.reader().query_one(ContentsTree)


def cursor_place(app: KReaderApp) -> Place | None:
    """What the contents cursor is on."""
    node = tree(app).cursor_node
    return None if node is None else node.data


def shown(app: KReaderApp) -> tuple[str, str]:
    """(article id, section id) of what the reader shows."""
    reader = app.reader()
    assert reader.article is not None and reader.section is not None
    return reader.article.id, reader.section.id


def footer_keys(app: KReaderApp) -> list[tuple[str, str]]:
    """(key, description) of every key the reader's footer shows, left to right."""
    return [(key.key, key.description) for key in app.reader().query(FooterKey)]


def footer_key(app: KReaderApp, key: str) -> FooterKey:
    """The footer's entry for ``key`` (to click it)."""
    return next(entry for entry in app.reader().query(FooterKey) if entry.key == key)


def search_bar(app: KReaderApp) -> str | None:
    """The text of the reader's search bar, ``None`` while it is hidden."""
    bar = app.reader().query_one("#search-bar", Static)
    return str(bar.content) if bar.display else None


async def matches_listed(pilot: Pilot[None]) -> None:
    """Wait for the reader to list every match of the search just chosen (a thread does it)."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def notices(app: KReaderApp) -> list[str]:
    """The text of every notification still on screen."""
    return [notification.message for notification in app._notifications]


def text_cell(app: KReaderApp, needle: str) -> tuple[int, int]:
    """Offset, inside the section pane, of the first cell of ``needle`` in the laid-out text."""
    pane = view(app)
    layout = pane.layout_
    assert layout is not None
    found = [(line, text.find(needle)) for line, text in enumerate(layout.plain) if needle in text]
    assert found, f"{needle!r} is not in the section"
    line, column = found[0]
    return pane.styles.padding.left + pane._left + column, line


async def click_text(pilot: Pilot[None], needle: str) -> None:
    """Scroll ``needle`` into view and click on it, as a user clicks a link."""
    app = pilot.app
    assert isinstance(app, KReaderApp)
    pane = view(app)
    x, line = text_cell(app, needle)
    pane.go_to_line(line, center=False)
    await pilot.pause()
    await pilot.click(SectionView, offset=(x + 1, line - round(pane.scroll_y)))
    await pilot.pause()


async def click_contents(pilot: Pilot[None], place: Place) -> None:
    """Click the contents entry for ``place``."""
    app = pilot.app
    assert isinstance(app, KReaderApp)
    contents = tree(app)
    node = contents._entries[place]
    line = node.line
    assert line >= 0, f"{place} is not shown in the contents"
    contents.scroll_to(y=max(0, line - 1), animate=False)
    await pilot.pause()
    await pilot.click(ContentsTree, offset=(4, line - round(contents.scroll_y)))
    await pilot.pause()


async def ready_index(app: KReaderApp) -> None:
    """Wait for the search index the app builds in a worker shortly after the first frame."""
    for _ in range(200):
        await app.workers.wait_for_complete()
        if app.search_index is not None:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the search index was never built")
