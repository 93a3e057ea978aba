"""Open anything the way glow, bat or less do: a file, a folder, standard input; page like less.

Real processes for the command line (a pseudo-terminal where a terminal matters), the real app through the
pilot for the keys.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from helpers import build_app, click_contents, shown, view

from kreader.cli import split_path
from kreader.commands.context import load_file
from kreader.store import open_store
from kreader.themes import contrast_ratio, palette_for
from kreader.widgets.section_view import SectionView

ROOT = Path(__file__).resolve().parent.parent

NOTE = """# Field notes

Opening words.

## Burrows

Wombats dig burrows.

## Diet

Wombats eat grass.
"""


def kreader(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kreader", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture
def note(tmp_path: Path) -> Path:
    path = tmp_path / "notes" / "field-notes.md"
    path.parent.mkdir()
    path.write_text(NOTE, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("argv", "rest", "path"),
    [
        (["notes.md"], [], "notes.md"),
        (["--theme", "nord", "notes.md", "--fresh"], ["--theme", "nord", "--fresh"], "notes.md"),
        (["-"], [], "-"),
        (["search", "notes.md"], ["search", "notes.md"], None),
        (["--content", "lib", "--section", "x"], ["--content", "lib", "--section", "x"], None),
        (["--", "--odd-name.md"], [], "--odd-name.md"),
        (["--theme=nord", "dir"], ["--theme=nord"], "dir"),
    ],
)
def test_the_path_is_the_first_word_that_is_not_an_option_or_a_command(
    argv: list[str], rest: list[str], path: str | None
) -> None:
    assert split_path(argv) == (rest, path)


def test_a_file_is_opened(note: Path) -> None:
    """Checked before anything is drawn: an unknown section names the ids of that file."""
    result = kreader(str(note), "--section", "nope")
    assert result.returncode == 2
    assert "burrows, diet" in result.stderr and "history" not in result.stderr


def test_a_folder_is_opened(note: Path) -> None:
    result = kreader(str(note.parent), "--section", "nope")
    assert result.returncode == 2 and "burrows" in result.stderr


def test_a_path_and_content_together_are_refused(note: Path) -> None:
    result = kreader(str(note), "--content", str(note.parent))
    assert result.returncode == 2 and "not both" in result.stderr


def test_a_missing_file_is_one_line(tmp_path: Path) -> None:
    result = kreader(str(tmp_path / "nowhere.md"))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "nowhere.md" in result.stderr


def test_a_file_is_keyed_by_its_resolved_path(note: Path, tmp_path: Path) -> None:
    """The same file opened through a link or another working folder keeps its bookmarks."""
    link = tmp_path / "elsewhere.md"
    link.symlink_to(note)
    assert load_file(note).articles[0].id == str(note.resolve())
    assert load_file(link).articles[0].id == str(note.resolve())


async def test_a_bookmark_in_an_opened_file_is_keyed_by_its_path(
    note: Path, tmp_path: Path
) -> None:
    from kreader.factory import make_app

    app = make_app(load_file(note), open_store(tmp_path / "data"))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("n", "m")
        await pilot.pause()
    (mark,) = open_store(tmp_path / "data").list()
    assert (mark.article_id, mark.section_id) == (str(note.resolve()), "burrows")


def _piped_on_a_terminal(tmp_path: Path, text: bytes) -> tuple[subprocess.Popen[bytes], int]:
    """``kreader`` with ``text`` piped into it, on a pseudo-terminal that is its controlling terminal."""
    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, b"\x1e\x00\x64\x00\x00\x00\x00\x00")  # 30 rows, 100 cols

    def controlling_terminal() -> None:
        fcntl.ioctl(1, termios.TIOCSCTTY, 0)

    process = subprocess.Popen(
        [sys.executable, "-m", "kreader"],
        stdin=subprocess.PIPE,
        stdout=child,
        stderr=child,
        env={**os.environ, "TERM": "xterm-256color"},
        cwd=tmp_path,
        start_new_session=True,
        preexec_fn=controlling_terminal,
    )
    os.close(child)
    assert process.stdin is not None
    process.stdin.write(text)
    process.stdin.close()
    return process, main


def _read(fd: int, until: bytes, timeout: float = 30) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while until not in seen and time.monotonic() < deadline:
        if select.select([fd], [], [], 0.1)[0]:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    return seen


def test_a_pipe_is_read_and_keys_come_from_the_terminal(tmp_path: Path) -> None:
    """``cat notes.md | kreader``: the text from the pipe, the keys from the terminal (as less does)."""
    process, terminal = _piped_on_a_terminal(tmp_path, NOTE.encode())
    try:
        assert b"Field notes" in _read(terminal, b"Field notes")
        os.write(terminal, b"n")
        assert b"Wombats dig burrows" in _read(terminal, b"Wombats dig burrows")
        os.write(terminal, b"q")
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
        os.close(terminal)


def test_print_pages_through_the_pager(tmp_path: Path) -> None:
    """On a terminal, ``kreader print`` goes through $PAGER (as git and man do); --no-pager does not."""
    paged = tmp_path / "paged.txt"
    main, child = pty.openpty()
    env = {**os.environ, "PAGER": f"sh -c 'cat > {paged}'", "TERM": "xterm-256color"}
    process = subprocess.run(
        [sys.executable, "-m", "kreader", "print", "--plain"],
        stdin=child,
        stdout=child,
        stderr=child,
        env=env,
        cwd=ROOT,
        timeout=60,
    )
    os.close(child)
    os.close(main)
    assert process.returncode == 0
    assert "How ketamine may help treat PTSD" in paged.read_text(encoding="utf-8")

    paged.unlink()
    main, child = pty.openpty()
    subprocess.run(
        [sys.executable, "-m", "kreader", "print", "--plain", "--no-pager"],
        stdin=child,
        stdout=child,
        stderr=child,
        env=env,
        cwd=ROOT,
        timeout=60,
    )
    os.close(child)
    written = _read(main, b"Contact", timeout=10)
    os.close(main)
    assert not paged.exists() and b"How ketamine may help treat PTSD" in written


def test_print_into_a_pipe_never_pages(tmp_path: Path) -> None:
    paged = tmp_path / "paged.txt"
    result = kreader("print", env={**os.environ, "PAGER": f"sh -c 'cat > {paged}'"})
    assert result.returncode == 0 and "How ketamine" in result.stdout and not paged.exists()


async def test_less_keys_page_and_bookmark(tmp_path: Path) -> None:
    app = build_app(tmp_path)
    async with app.run_test(size=(100, 20)) as pilot:
        await pilot.press("n")  # a long section
        await pilot.pause()
        pane = view(app)
        page = pane.scrollable_content_region.height
        await pilot.press("ctrl+f")
        assert round(pane.scroll_y) == page
        await pilot.press("d")
        assert round(pane.scroll_y) == min(page + page // 2, round(pane.max_scroll_y))
        await pilot.press("u", "b")
        assert round(pane.scroll_y) == 0
        await pilot.press("ctrl+f", "ctrl+b")
        assert round(pane.scroll_y) == 0
        await pilot.press("m")  # mark, as in less
        await pilot.pause()
        assert [b.section_id for b in app.store.list()] == ["start-here"]
        await pilot.press("apostrophe")
        await pilot.pause()
        assert type(app.screen).__name__ == "BookmarksScreen"
        await pilot.press("escape", "h")
        await pilot.pause()
        assert type(app.screen).__name__ == "HelpScreen"


async def test_backspace_goes_back_before_the_last_jump(tmp_path: Path) -> None:
    from kreader.widgets.contents import Place

    app = build_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("n", "ctrl+f")
        await pilot.pause()
        before = round(view(app).scroll_y)
        await click_contents(pilot, Place("alpha", "last-words"))
        assert shown(app) == ("alpha", "last-words")
        await pilot.press("backspace")
        await pilot.pause()
        assert shown(app) == ("alpha", "start-here")
        assert round(app.reader().query_one(SectionView).scroll_y) == before
        await pilot.press("backspace")  # nothing more: a notice, no move
        await pilot.pause()
        assert shown(app) == ("alpha", "start-here")


def test_the_man_page_and_completions_are_current_and_installed() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "generate.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout
    share = Path(sys.prefix) / "share"
    assert (share / "man" / "man1" / "kreader.1").is_file()
    assert (share / "bash-completion" / "completions" / "kreader").is_file()
    page = (ROOT / "docs" / "man" / "kreader.1").read_text(encoding="utf-8")
    for key in ("backspace", "ctrl+f", "B, '", "check\\-config"):
        assert key in page


def test_the_license_matches_pyproject() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == {"file": "LICENSE"}
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")


def test_help_names_check_config_and_check_ends_its_line() -> None:
    assert "check-config" in kreader("--help").stdout
    for args in (("check", "content"), ("check", "content", "--json")):
        result = kreader(*args)
        assert result.stderr.endswith("\n") and result.stderr.count("\n") == 1
    assert json.loads(kreader("check", "content", "--json").stdout) == []


@pytest.mark.parametrize("theme", ["textual-dark", "textual-light", "kreader-contrast", "nord"])
def test_no_color_headings_keep_their_contrast(theme: str) -> None:
    """Textual greys every colour under NO_COLOR; a heading must still stand out at 4.5:1."""
    from textual.app import App
    from textual.color import Color

    from kreader.themes import CONTRAST_THEME

    app = App()
    app.register_theme(CONTRAST_THEME)
    app.theme = theme
    variables = app.get_css_variables()
    palette = palette_for(app.current_theme, variables, monochrome=True)
    background = Color.parse(variables["background"]).monochrome
    for colour in (palette.primary, palette.accent, palette.secondary):
        grey = Color.parse(colour).monochrome
        assert contrast_ratio(grey, background) >= 4.5, (theme, colour)


@pytest.mark.parametrize("theme", ["ansi-dark", "ansi-light"])
def test_the_ansi_themes_have_a_palette_rich_accepts(theme: str) -> None:
    """Their colours are "ansi_default" and the like: the kiosk used to stop (StyleSyntaxError) in them."""
    from textual.app import App

    app = App()
    app.theme = theme
    palette = palette_for(app.current_theme, app.get_css_variables())
    palette.rich_theme()  # raises on a colour Rich does not know
    for colour in (palette.foreground, palette.primary, palette.accent, palette.surface):
        assert "ansi_" not in colour
