"""Property-based tests: hostile text anywhere kreader shows it is shown as text (issue 11, "Fuzz it").

Random Rich markup (``[@click=...]``, ``[/x]``, ``[link=...]``), terminal escape sequences and odd Unicode go into
headings, article titles, file names, contact details, bookmark titles and notes, notices and search input, in the
reader, the kiosk and the command line. Whatever Hypothesis finds: no exception, no action runs (the app keeps
running, its theme and screens are as the visitor left them), and no ESC reaches what is drawn or printed.

Examples are few (each one starts a real app), so the suite stays quick; Hypothesis keeps any failure it finds.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import re
import tempfile
from pathlib import Path

from helpers import ready_index, tree
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from textual import events
from textual.pilot import Pilot
from textual.widgets import Input

from kreader.app import KReaderApp
from kreader.cli import main
from kreader.content import load_library
from kreader.factory import make_app
from kreader.kiosk_app import KioskApp, kiosk_log_path
from kreader.safetext import REPLACEMENT, clean, clean_line, plain, plain_line
from kreader.screens.reader import ReaderScreen
from kreader.settings import Settings
from kreader.store import Store, open_store

PIECES = [
    "[@click=app.quit]",
    "[@click=app.change_theme]",
    "[@click=app.command_palette]",
    "[@click=screen.dismiss]",
    "[/x]",
    "[/]",
    "[/bold]",
    "[link=a:b]",
    "[link=https://example.com]",
    "[bold]",
    "[b]",
    "[on red]",
    "[",
    "]",
    "\\[",
    "\\",
    ":smile:",
    "\x1b]52;c;aGVsbG8=\x07",
    "\x1b]0;pwned\x07",
    "\x1b]8;;https://x\x1b\\",
    "\x1b[31m",
    "\x1b[2J",
    "\x1b[?1049l",
    "\x1bc",
    "\x1b",
    "\x9b2J",
    "\x9d0;x\x9c",
    "\x90q\x9c",
    "\x1bP1$r\x1b\\",
    "\x00",
    "\x07",
    "\x08",
    "\r",
    "\n",
    "\t",
    "\x7f",
    "\x85",
    "\u0301",
    "\u200b",
    "\u200d",
    "\u200f",
    "\u202e",
    "\u2066",
    "\u2028",
    "\ufeff",
    "\ufffd",
    "漢字",
    "🙂",
    "👨\u200d👩\u200d👧",
    "Ａ",
    "e\u0301",
    "#",
    "*",
    "`",
    "_",
    "zanzibar",
    " ",
]

ESC_CHARS = re.compile(r"[\x1b\x9b\x9d\x90\x98\x9e\x9f]")
"""ESC, and the 8-bit C1 forms of CSI, OSC, DCS, SOS, PM and APC."""


def hostile(surrogates: bool = False) -> st.SearchStrategy[str]:
    """Text made of markup, escape sequences and odd Unicode (lone surrogates only if asked for)."""
    alphabet = st.characters() if surrogates else st.characters(blacklist_categories=("Cs",))
    pieces = st.one_of(st.sampled_from(PIECES), st.text(alphabet, max_size=4))
    if surrogates:
        pieces = st.one_of(pieces, st.sampled_from(["\ud800", "\udcff", "\udfff"]))
    return st.lists(pieces, min_size=1, max_size=6).map("".join)


def file_name(text: str) -> str:
    """``text`` as a file name Linux accepts: no "/" or NUL, not hidden, short enough (bytes of other
    file names that are not UTF-8 arrive as surrogates, which `os.fsencode` turns back into bytes)."""
    name = "a" + re.sub(r"[/\x00\ud800-\udc7f\udd00-\udfff]", "", text)
    while len(os.fsencode(name)) > 200:
        name = name[:-1]
    return name


def toml_string(text: str) -> str:
    """A TOML basic string holding ``text`` exactly (control characters as \\u escapes)."""
    out = []
    for char in text:
        if char in '"\\' or ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def one_line(text: str) -> str:
    """A heading holds one line: what follows a line break would be a paragraph of its own."""
    return re.sub(r"[\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]", " ", text)


def write_library(
    folder: Path, name: str, title: str, h2: str, h3: str, body: str, contact: str
) -> Path:
    """A hostile article (first in reading order) and a plain one, so the library is never empty."""
    folder.mkdir(parents=True, exist_ok=True)
    front = (
        f"+++\norder = 1\ntitle = {toml_string(title)}\ndisclaimer = {toml_string(body)}\n"
        f"[contact]\nname = {toml_string(contact)}\nphone = {toml_string(title)}\n+++\n"
    )
    text = (
        f"{front}\n{body} zanzibar\n\n## {one_line(h2)}\n\nSome zanzibar words. {body}\n\n"
        f"### {one_line(h3)}\n\nMore words.\n\n## {one_line(h3)}\n\nLast.\n"
    )
    (folder / f"{name}.md").write_text(text, encoding="utf-8")
    (folder / "plain.md").write_text("+++\norder = 2\n+++\n\n# Plain\n\n## One\n\nzanzibar\n")
    return folder


def assert_drawn_clean(app: KReaderApp) -> None:
    screenshot = app.export_screenshot()
    assert not ESC_CHARS.search(screenshot), "an escape sequence would reach the terminal"
    for notification in app._notifications:
        assert not ESC_CHARS.search(notification.message)


def still_running(app: KReaderApp) -> bool:
    return app.return_code is None and not app._exit


async def click_every_entry(pilot: Pilot[None], app: KReaderApp) -> None:
    """Tap each contents entry, anywhere along it: a markup action in a label would run."""
    contents = tree(app)
    for node in list(contents._entries.values()):
        if node.line < 0:
            continue
        contents.scroll_to(y=max(0, node.line - 1), animate=False)
        await pilot.pause()
        for x in (4, 12):
            await pilot.click("#contents", offset=(x, node.line - round(contents.scroll_y)))
        if not isinstance(app.screen, ReaderScreen):
            return


APP_PHASES = [Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink]
"""Without Hypothesis's "explain" phase, which reruns a failing app example dozens of times."""


# --- safetext itself ------------------------------------------------------------------------------

CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


@settings(max_examples=300, deadline=None)
@given(hostile(surrogates=True))
def test_clean_leaves_no_control_and_is_stable(text: str) -> None:
    cleaned = clean(text)
    assert not CONTROLS.search(cleaned)
    assert clean(cleaned) == cleaned
    cleaned.encode("utf-8")  # always writable to a terminal
    assert plain(text).plain == cleaned and not plain(text).spans
    line = clean_line(text)
    assert "\n" not in line and "\t" not in line and plain_line(text).plain == line
    assert len(cleaned) <= len(text)
    if not CONTROLS.search(text):
        assert cleaned == text  # text without controls is left exactly as it is
    elif not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", text):
        assert cleaned == re.sub(r"[\ud800-\udfff]", REPLACEMENT, text)


# --- the reader -----------------------------------------------------------------------------------


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    phases=APP_PHASES,
)
@given(
    name=hostile(surrogates=True),
    title=hostile(),
    h2=hostile(),
    h3=hostile(),
    body=hostile(),
    bookmark=hostile(surrogates=True),
    query=hostile(surrogates=True),
)
def test_reader_shows_hostile_text_as_text(
    name: str, title: str, h2: str, h3: str, body: str, bookmark: str, query: str
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(
            _reader_scenario(Path(tmp), file_name(name), title, h2, h3, body, bookmark, query)
        )


async def _reader_scenario(
    tmp: Path, name: str, title: str, h2: str, h3: str, body: str, bookmark: str, query: str
) -> None:
    library = load_library(write_library(tmp / "content", name, title, h2, h3, body, title))
    store = Store.in_memory()
    store.add("gone", "gone", "", 0.5, bookmark, bookmark + title, note=bookmark)
    notices = [f"Skipped {error}" for error in library.errors] + [f"Notice: {bookmark} {tmp}"]
    app = make_app(library, store, notices=notices)
    app.animation_level = "none"
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await pilot.pause()
        theme = app.theme
        await click_every_entry(pilot, app)
        assert still_running(app) and app.theme == theme
        assert isinstance(app.screen, ReaderScreen) and len(app.screen_stack) == 1
        assert_drawn_clean(app)

        await pilot.press("m", "p", "m")  # bookmarks named after the sections: notices
        await pilot.press("B")  # the list, newest first, the stale one last
        await pilot.pause()
        assert_drawn_clean(app)
        await pilot.press("e")  # the note dialog echoes what is pasted
        await pilot.pause()
        app.screen.query_one(Input).post_message(events.Paste(bookmark))
        await pilot.pause()
        assert_drawn_clean(app)
        await pilot.press("enter", "end", "enter")  # save the note; open the stale bookmark
        await pilot.pause()
        assert isinstance(app.screen, ReaderScreen)

        await ready_index(app)
        await pilot.press("slash")
        await pilot.pause()
        field = app.screen.query_one(Input)
        field.value = query
        field.post_message(events.Paste(query))
        await pilot.pause(0.1)
        assert_drawn_clean(app)
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("n", "N", "escape")
        await pilot.pause()
        assert still_running(app) and app.theme == theme
        assert isinstance(app.screen, ReaderScreen)
        assert_drawn_clean(app)
    assert app.return_code is None


# --- the kiosk ------------------------------------------------------------------------------------


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    phases=APP_PHASES,
)
@given(name=hostile(surrogates=True), title=hostile(), h2=hostile(), contact=hostile())
def test_kiosk_shows_hostile_text_as_text(name: str, title: str, h2: str, contact: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(_kiosk_scenario(Path(tmp), file_name(name), title, h2, contact))


async def _kiosk_scenario(tmp: Path, name: str, title: str, h2: str, contact: str) -> None:
    library = load_library(write_library(tmp / "content", name, title, h2, h2, contact, contact))
    app = make_app(library, Store.in_memory(), Settings(kiosk=True), kiosk=True)
    assert isinstance(app, KioskApp)
    app.animation_level = "none"
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await pilot.pause()
        theme = app.theme
        await click_every_entry(pilot, app)
        await pilot.press("b", "n", "b", "B")
        await pilot.pause()
        assert_drawn_clean(app)
        await pilot.press("escape", "c")
        await pilot.pause()
        assert_drawn_clean(app)
        await pilot.click("#contact-details")
        await pilot.press("escape")
        await pilot.pause()
        assert still_running(app) and app.errors_logged == 0 and app.theme == theme
        assert isinstance(app.screen, ReaderScreen)
        assert_drawn_clean(app)
    log = kiosk_log_path()
    assert app.return_code is None, log.read_text() if log.exists() else "no kiosk log"


# --- the command line -----------------------------------------------------------------------------

OWN_STYLING = re.compile(r"\x1b\[[0-9;]*m|\x1b\]8;[^\x1b\x07]*\x1b\\")
"""What ``kreader print --rich`` may send: colours and styles, and Rich's hyperlinks (OSC 8)."""


def run_main(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(list(args))
        except SystemExit as exc:
            status = int(exc.code or 0)
    return status, out.getvalue(), err.getvalue()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    phases=APP_PHASES,
)
@given(
    name=hostile(surrogates=True),
    title=hostile(),
    h2=hostile(),
    body=hostile(),
    query=hostile(),
    bookmark=hostile(surrogates=True),
)
def test_cli_prints_hostile_text_as_text(
    name: str, title: str, h2: str, body: str, query: str, bookmark: str
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_library(Path(tmp) / "content", file_name(name), title, h2, h2, body, title)
        content = str(folder)
        first = load_library(folder).articles[0]
        for args in (
            ("check", content),
            ("print", "--plain", "--content", content),
            ("print", "--plain", "--content", content, f"{first.id}#{first.sections[-1].id}"),
            ("print", "--content", content, f"no-such{name}"),
            ("search", "--content", content, f"zanzibar {query}"),
            ("search", "--content", content, query),
        ):
            status, out, err = run_main(*args)
            assert status in (0, 1, 2), (args, err)
            assert "Traceback" not in err
            assert not ESC_CHARS.search(out) and not ESC_CHARS.search(err), args
        status, out, err = run_main("print", "--rich", "--content", content)
        assert status == 0
        assert not ESC_CHARS.search(OWN_STYLING.sub("", out))
        data = Path(tmp) / "data"
        store = open_store(data)
        store.add("a", "s", "", 0.0, bookmark, title, note=bookmark)
        store.close()
        status, out, err = run_main("bookmarks", "list", "--data-dir", str(data))
        assert status == 0 and not ESC_CHARS.search(out + err)
