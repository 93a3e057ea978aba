"""Text is data: markup in headings, titles, file names, paths and bookmarks is shown, never obeyed, and escape
sequences in them never reach the terminal (issue 11, items 1 and 3).

Each test is one reproduction from the issue, run against the real reader, kiosk or command line.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import build_app, notices, tree, write_library
from textual.pilot import Pilot
from textual.widgets._toast import Toast

from kreader.app import KReaderApp
from kreader.content import load_library
from kreader.factory import make_app
from kreader.kiosk_app import KioskApp
from kreader.safetext import clean, clean_line, find_controls, plain, plain_line
from kreader.screens.bookmarks import BookmarksScreen
from kreader.screens.reader import ReaderScreen
from kreader.settings import Settings
from kreader.store import Store, open_store
from kreader.widgets.contents import Place

ROOT = Path(__file__).resolve().parent.parent

CLIPBOARD = "\x1b]52;c;aGVsbG8=\x07"
"""OSC 52: sets the terminal's clipboard to "hello" (tmux with set-clipboard on obeys it)."""
RETITLE = "\x1b]0;pwned\x07"
"""OSC 0: sets the terminal window's title."""


def markup_library(folder: Path, *headings: str) -> Path:
    """A one-article library whose section ``Start`` holds ``### `` subsections with these titles."""
    folder.mkdir(parents=True, exist_ok=True)
    subsections = "\n\n".join(f"### {heading}\n\nWords under it." for heading in headings)
    (folder / "guide.md").write_text(
        f"# Guide\n\nOpening words.\n\n## Start\n\nFirst words.\n\n{subsections}\n\n## End\n\nBye.\n",
        encoding="utf-8",
    )
    return folder


def labels(app: KReaderApp) -> list[str]:
    """The text of every entry of the contents tree, as shown."""
    return [node.label.plain for node in tree(app)._entries.values()]


async def click_entry(pilot: Pilot[None], place: Place) -> None:
    """Click all along the contents entry for ``place``, as a visitor taps it."""
    app = pilot.app
    assert isinstance(app, KReaderApp)
    for x in (2, 4, 6, 8, 12, 20, 30):
        contents = tree(app)
        line = contents._entries[place].line
        assert line >= 0, f"{place} is not shown in the contents"
        await pilot.click("#contents", offset=(x, line - round(contents.scroll_y)))
        await pilot.pause()


def toasts(app: KReaderApp) -> list[str]:
    """The text of the notifications drawn on screen."""
    return [str(toast.render()) for toast in app.screen.query(Toast)]


def still_running(app: KReaderApp) -> bool:
    """The app has not been asked to exit (no ``[@click=app.quit]`` ran)."""
    return app.return_code is None and not app._exit


# --- safetext -----------------------------------------------------------------------------------


def test_clean_removes_sequences_and_controls_and_keeps_text() -> None:
    evil = f"a{CLIPBOARD}b{RETITLE}c\x1b[31md\x9b2Je\x00\x07\x7f\x85f\tg\r\nh\ud800i"
    assert clean(evil) == "abcdef\tg\nh\ufffdi"
    assert clean("Dose [mg/kg] · 漢字 🙂 é") == "Dose [mg/kg] · 漢字 🙂 é"
    assert clean_line("one\n two\tthree") == "one two three"
    assert find_controls(f"ok\nx{RETITLE}") == [(2, repr(RETITLE))]


def test_plain_is_never_markup() -> None:
    for text in (
        "[@click=app.quit]Tap here[/]",
        "Use [/bold] carefully",
        "Dose [mg/kg]",
        ":smile:",
    ):
        assert plain(text).plain == text and not plain(text).spans
    assert plain_line("a\nb", "bold").plain == "a b"


def test_safetext_imports_neither_textual_nor_rich() -> None:
    """The command-line tools that print strings import it without paying for Rich."""
    code = (
        "import sys, kreader.safetext\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'textual', 'rich'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0 and result.stdout.strip() == "[]", result.stderr


# --- item 1: markup in headings -------------------------------------------------------------------


@pytest.mark.parametrize("kiosk", [False, True], ids=["reader", "kiosk"])
async def test_click_markup_heading_does_not_quit(tmp_path: Path, kiosk: bool) -> None:
    content = markup_library(tmp_path / "content", "[@click=app.quit]Tap here[/]")
    library = load_library(content)
    app = make_app(library, Store.in_memory(), Settings(), kiosk=kiosk)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await pilot.pause()
        assert "[@click=app.quit]Tap here[/]" in labels(app)
        anchor = library.articles[0].sections[1].subsections[0].id
        await click_entry(pilot, Place("guide", "start", anchor))
        assert still_running(app)
        assert app.reader().section is not None and app.reader().section.id == "start"
    assert app.return_code is None


async def test_click_markup_heading_does_not_open_the_theme_picker(tmp_path: Path) -> None:
    content = markup_library(tmp_path / "content", "[@click=app.change_theme]Themes[/]")
    app = build_app(tmp_path, content)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await pilot.pause()
        theme, stack = app.theme, len(app.screen_stack)
        anchor = app.library.articles[0].sections[1].subsections[0].id
        await click_entry(pilot, Place("guide", "start", anchor))
        assert isinstance(app.screen, ReaderScreen) and len(app.screen_stack) == stack
        assert app.theme == theme and still_running(app)


async def test_closing_tag_heading_loads_and_shows_literally(tmp_path: Path) -> None:
    content = markup_library(tmp_path / "content", "Use [/bold] carefully", "Dose [mg/kg]")
    app = build_app(tmp_path, content)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await pilot.pause()
        assert "Use [/bold] carefully" in labels(app)
        assert "Dose [mg/kg]" in labels(app)
        await pilot.press("n")  # to the section that holds them
        await pilot.pause()
        layout = app.reader().query_one("#section").layout_  # type: ignore[attr-defined]
        assert any("Dose [mg/kg]" in line for line in layout.plain)
        assert still_running(app)


async def test_skipped_file_with_markup_in_its_name_is_named_literally(tmp_path: Path) -> None:
    content = write_library(tmp_path / "content")
    (content / "[link=a:b]bad.md").write_bytes(b"# Bad\n\n\xff\xfe not UTF-8\n")
    app = build_app(tmp_path, content)
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        await pilot.pause()
        assert any("[link=a:b]bad.md" in notice for notice in notices(app))
        assert any("[link=a:b]bad.md" in text for text in toasts(app))
        assert still_running(app)


async def test_data_dir_with_brackets_is_named_literally(tmp_path: Path) -> None:
    blocker = tmp_path / "[" / "x] [@click=app.quit]here"  # the path holds "[/x] [@click=...]"
    blocker.parent.mkdir()
    blocker.write_text("a file where the data folder should be")
    store = open_store(blocker / "data")  # cannot be created: the store says so, naming the path
    app = build_app(tmp_path, store=store)
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        await pilot.pause()
        assert any("[/x] [@click=app.quit]here" in notice for notice in notices(app))
        assert still_running(app)


async def test_imported_bookmark_titled_closing_tag(tmp_path: Path) -> None:
    store = open_store(tmp_path / "data")
    entry = {
        "article_id": "alpha",
        "section_id": "gone",
        "anchor": "",
        "fraction": 0.0,
        "article_title": "[/x]",
        "section_title": "[/x] [@click=app.quit]",
        "note": "[bold]note[/x]",
        "created": 1_700_000_000.0,
    }
    store.import_json(
        json.dumps({"kreader_bookmarks": 1, "bookmarks": [entry, entry | {"section_id": "x"}]})
    )
    app = build_app(tmp_path, store=store)
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        await pilot.pause()
        await pilot.press("B")
        await pilot.pause()
        assert isinstance(app.screen, BookmarksScreen)
        assert "[/x] [@click=app.quit]" in str(app.screen.label(app.screen.bookmarks[0], 0.0))
        await pilot.press("d")  # removed: a notice names it
        await pilot.pause()
        assert any("[/x] [@click=app.quit]" in notice for notice in notices(app))
        await pilot.press("enter")  # stale: a notice names it, the article's start opens
        await pilot.pause()
        assert isinstance(app.screen, ReaderScreen)
        assert any("is no longer in '[/x]'" in notice for notice in notices(app))
        assert still_running(app)


async def test_kiosk_bookmark_on_a_section_with_markup(tmp_path: Path) -> None:
    content = tmp_path / "content"
    content.mkdir()
    (content / "clinic.md").write_text("## Broken [/x] title\n\nText.\n\n## Next\n\nMore.\n")
    app = make_app(load_library(content), Store.in_memory(), Settings(kiosk=True), kiosk=True)
    assert isinstance(app, KioskApp)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, ReaderScreen)
        await pilot.press("b")
        await pilot.pause()
        assert "Bookmarked: Broken [/x] title" in notices(app)
        assert "★ Broken [/x] title" in labels(app)
        await pilot.press("b")
        await pilot.pause()
        assert "Bookmark removed: Broken [/x] title" in notices(app)
        assert still_running(app) and app.errors_logged == 0


async def test_kiosk_contact_with_markup_is_shown_literally(tmp_path: Path) -> None:
    content = tmp_path / "content"
    content.mkdir()
    (content / "clinic.md").write_text(
        '+++\ndisclaimer = "Ask [/x] us"\n[contact]\nname = "[@click=app.quit]Clinic[/]"\n'
        'phone = "555 [b]0100"\n+++\n\n## Hello\n\nText.\n'
    )
    app = make_app(load_library(content), Store.in_memory(), Settings(kiosk=True), kiosk=True)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await pilot.pause()
        assert "[@click=app.quit]Clinic[/]" in str(app.screen.query_one("#kiosk-contact").render())
        assert "Ask [/x] us" in str(app.screen.query_one("#kiosk-disclaimer").render())
        await pilot.press("c")
        await pilot.pause()
        assert "555 [b]0100" in str(app.screen.query_one("#contact-details").render())
        await pilot.click("#contact-details")
        await pilot.pause()
        assert still_running(app)


# --- item 3: escape sequences in file names -------------------------------------------------------


def evil_library(folder: Path) -> Path:
    """Articles whose file names hold terminal commands, and an unreadable one that becomes a notice."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{CLIPBOARD}.md").write_text(
        '+++\norder = 1\nsummary = "s"\n+++\n\nOpening zanzibar words.\n\n## Part\n\nMore zanzibar.\n'
    )
    (folder / f"{RETITLE}notes.md").write_text("+++\norder = 2\n+++\n\nThe notes say zanzibar.\n")
    (folder / f"{RETITLE}broken.md").write_bytes(b"# Broken\n\n\xff\xfe\n")
    return folder


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "kreader", *map(str, args)],
        capture_output=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "100"},
    )


def assert_no_escape(output: bytes) -> None:
    assert b"\x1b" not in output and b"\x07" not in output and b"\xc2\x9d" not in output


@pytest.mark.parametrize(
    "args",
    [
        ("check",),
        ("print",),
        ("print", "--plain", RETITLE + "notes"),
        ("search", "zanzibar"),
        ("search", "zanzibar" + RETITLE),
        ("print", "no-such" + CLIPBOARD),
    ],
    ids=["check", "print", "print-by-id", "search", "search-query", "print-unknown"],
)
def test_cli_prints_no_escape_from_file_names(tmp_path: Path, args: tuple[str, ...]) -> None:
    library = evil_library(tmp_path / "content")
    command, *rest = args
    result = run_cli(command, "--content", library, *rest)
    assert b"Traceback" not in result.stderr
    assert_no_escape(result.stdout)
    assert_no_escape(result.stderr)
    assert result.stdout or result.stderr


def test_cli_rich_print_sends_only_its_own_styling(tmp_path: Path) -> None:
    library = evil_library(tmp_path / "content")
    result = run_cli("print", "--rich", "--content", library)
    assert result.returncode == 0
    assert b"]52;" not in result.stdout and b"pwned" not in result.stdout


def test_cli_json_keeps_the_names_escaped(tmp_path: Path) -> None:
    library = evil_library(tmp_path / "content")
    result = run_cli("search", "--json", "--content", library, "zanzibar")
    assert_no_escape(result.stdout)
    assert b"\\u001b]52;c;aGVsbG8=\\u0007" in result.stdout
    assert CLIPBOARD in {hit["article_id"] for hit in json.loads(result.stdout)}


def test_bookmarks_list_prints_no_escape(tmp_path: Path) -> None:
    store = open_store(tmp_path / "data")
    store.add("a", "s", "", 0.0, f"A{CLIPBOARD}", f"S{RETITLE}", f"n{CLIPBOARD}")
    store.close()
    result = run_cli("bookmarks", "list", "--data-dir", tmp_path / "data")
    assert result.returncode == 0 and b"A" in result.stdout
    assert_no_escape(result.stdout)


async def test_reader_draws_no_escape_from_file_names(tmp_path: Path) -> None:
    app = build_app(tmp_path, evil_library(tmp_path / "content"))
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        await pilot.pause()
        reader = app.reader()
        assert reader.article is not None and reader.article.id == CLIPBOARD
        assert all("\x1b" not in label for label in labels(app))
        assert all("\x1b" not in notice for notice in notices(app))
        assert notices(app), "the broken file is named in a notice"
        await pilot.press("m")  # a bookmark titled after the file
        await pilot.press("B")
        await pilot.pause()
        screenshot = app.export_screenshot()
        assert "\x1b" not in screenshot and "\x07" not in screenshot
        assert still_running(app)


def _read_for(fd: int, seconds: float, until: bytes = b"") -> bytes:
    seen = b""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not (until and until in seen):
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    return seen


def test_reader_in_a_terminal_writes_no_escape_from_file_names(tmp_path: Path) -> None:
    """The real reader in a pseudo-terminal: the OSC payloads of the file names never follow an ESC."""
    import pty

    library = evil_library(tmp_path / "content")
    main, child = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "110", "LINES": "30"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "kreader", "--content", str(library)],
        stdin=child,
        stdout=child,
        stderr=child,
        env=env,
        cwd=tmp_path,
        start_new_session=True,
    )
    os.close(child)
    try:
        output = _read_for(main, 30, until=b"zanzibar")
        assert b"zanzibar" in output, output[-2000:]
        output += _read_for(main, 1.5)  # the notices and the rest of the first frames
        os.write(main, b"\x11")  # ctrl+q
        deadline = time.monotonic() + 15
        while proc.poll() is None and time.monotonic() < deadline:
            output += _read_for(main, 0.2)
        assert proc.returncode == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        os.close(main)
    for payload in (b"]52;c;aGVsbG8", b"]0;pwned"):
        at = output.find(payload)
        while at >= 0:
            assert output[at - 1 : at] != b"\x1b" and output[at - 2 : at] != b"\xc2\x9d"
            at = output.find(payload, at + 1)
    assert b"\x1b]52;" not in output and b"\x1b]0;" not in output


def test_kiosk_log_holds_no_escape() -> None:
    """Staff read the kiosk log in a terminal; skipped files are named in it."""
    from kreader.kiosk_app import _write_log, kiosk_log_path

    _write_log(f"content file skipped: {RETITLE}x.md:1: error: not valid UTF-8{CLIPBOARD}")
    logged = kiosk_log_path().read_bytes()
    assert b"content file skipped: x.md:1" in logged
    assert_no_escape(logged)
