"""``kreader serve``: command-line errors, the session cap and a clean stop, and a real browser end to end.

Every server here is a real ``kreader serve`` subprocess in its own process group, stopped in a ``finally``.
Its content folder is a fresh copy under ``tmp_path``, so the folder's path marks every process the server
starts: after SIGTERM, a scan of ``/proc`` for that path proves nothing was left behind.

The browser tests drive Debian's Chromium (``/usr/bin/chromium``, or ``KREADER_CHROMIUM``) through Playwright's
Python package; they never download a browser. They read what the terminal shows from xterm.js's buffer
through page JavaScript, and save screenshots under ``artifacts/``.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kreader import cli
from kreader.commands.serve import MISSING_SERVE, session_command, shell_command
from kreader.content import Article, load_library

ROOT = Path(__file__).resolve().parent.parent
CONTENT = ROOT / "content"
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = os.environ.get("KREADER_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LINK = "https://example.invalid/clinic"
"""A bare URL put into the first section of the test library: xterm.js makes it clickable in the page."""


# -- helpers ---------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def kreader(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kreader", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


def library_copy(tmp_path: Path) -> Path:
    """The bundled library, with a bare URL added to the first article's opening section."""
    folder = tmp_path / "served-library"
    shutil.copytree(CONTENT, folder)
    first = load_library(folder).articles[0]
    text = first.path.read_text(encoding="utf-8")
    heading = next(line for line in text.splitlines() if line.startswith("# "))
    first.path.write_text(
        text.replace(heading, f"{heading}\n\nClinic website: {LINK}", 1), encoding="utf-8"
    )
    return folder


def processes_mentioning(marker: str) -> list[tuple[int, str]]:
    """(pid, command line) of every live process whose command line contains ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmdline:
            found.append((int(entry.name), cmdline.strip()))
    return found


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, f"expected one line, got:\n{text}"
    return lines[0]


@dataclass
class Serving:
    process: subprocess.Popen[bytes]
    url: str
    marker: str
    stderr_path: Path
    stdout_path: Path

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    @property
    def output(self) -> str:
        return self.stdout_path.read_text(errors="replace") + self.stderr

    def app_processes(self) -> list[tuple[int, str]]:
        """The session apps: processes naming our content folder that are not the server."""
        return [p for p in processes_mentioning(self.marker) if p[0] != self.process.pid]

    def terminate(self) -> int:
        """SIGTERM, as a service manager stops it; returns the exit status."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=20)

    def assert_nothing_left(self) -> None:
        deadline = time.monotonic() + 3
        while (left := processes_mentioning(self.marker)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not left, f"processes left behind after kreader serve stopped: {left}"


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return error.code


@contextmanager
def serving(tmp_path: Path, content: Path, *args: str) -> Iterator[Serving]:
    """Run ``kreader serve`` on a free port until it answers HTTP; always stop its whole process group."""
    port = free_port()
    out, err = tmp_path / f"serve-{port}.out", tmp_path / f"serve-{port}.err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kreader",
                "serve",
                "--port",
                str(port),
                "--content",
                str(content),
                *args,
            ],
            stdout=stdout,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
            cwd=ROOT,
            start_new_session=True,
        )
    handle = Serving(process, f"http://127.0.0.1:{port}/", str(content), err, out)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                pytest.fail(f"kreader serve exited with {process.returncode}:\n{handle.output}")
            with suppress(OSError):
                if http_status(handle.url) in {200, 503}:
                    break
            if time.monotonic() > deadline:
                pytest.fail(f"kreader serve did not answer within 30 s:\n{handle.output}")
            time.sleep(0.1)
        yield handle
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, sig)
            with suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)
                break


# -- command line ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("port", ["70000", "abc", "0", "-1"])
def test_bad_port_is_one_line_and_status_2(port: str) -> None:
    result = kreader("serve", f"--port={port}")
    assert result.returncode == 2
    assert "--port must be a number from 1 to 65535" in one_line(result.stderr)
    assert result.stdout == ""


def test_port_in_use_is_one_line_and_status_2() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = kreader("serve", "--port", str(port))
    assert result.returncode == 2
    assert f"port {port} on 127.0.0.1 is already in use" in one_line(result.stderr)


def test_missing_content_folder_is_one_line_and_status_2(tmp_path: Path) -> None:
    result = kreader("serve", "--port", str(free_port()), "--content", str(tmp_path / "nowhere"))
    assert result.returncode == 2
    assert "nowhere" in one_line(result.stderr)


def test_bad_max_sessions_is_one_line_and_status_2() -> None:
    result = kreader("serve", "--max-sessions", "0")
    assert result.returncode == 2
    assert "--max-sessions" in one_line(result.stderr)


def test_without_textual_serve_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "textual_serve", None)
    monkeypatch.delitem(sys.modules, "kreader.server", raising=False)
    assert cli.main(["serve", "--port", str(free_port()), "--content", str(CONTENT)]) == 2
    assert one_line(capsys.readouterr().err) == f"kreader: {MISSING_SERVE}"


def test_session_command_forwards_options_quoted(tmp_path: Path) -> None:
    odd = tmp_path / "it's a folder; rm -rf x"
    args = cli.build_parser().parse_args(
        ["--kiosk", "serve", "--content", str(odd), "--config", "k.toml", "--theme", "nord"]
    )
    argv = session_command(args, kiosk=True)
    assert argv[:4] == [sys.executable, "-m", "kreader", "--web-session"]
    config = os.path.abspath("k.toml")
    assert argv[4:] == ["--content", str(odd), "--config", config, "--kiosk", "--theme", "nord"]
    assert shlex.split(shell_command(argv)) == ["exec", *argv]


def test_other_addresses_warn_about_authentication(tmp_path: Path) -> None:
    with serving(tmp_path, CONTENT, "--host", "0.0.0.0") as server:
        deadline = time.monotonic() + 10
        while "no authentication" not in server.stderr and time.monotonic() < deadline:
            time.sleep(0.1)
        warning = next(line for line in server.stderr.splitlines() if "no authentication" in line)
        assert "0.0.0.0" in warning and "proxy" in warning and "trusted network" in warning
        assert server.terminate() == 0


# -- sessions over a websocket ---------------------------------------------------------------------------------


async def _open_session(url: str, client: Any) -> Any:
    """Connect a websocket as the page does, and wait for the app to draw (so its process exists)."""
    import aiohttp

    websocket = await client.ws_connect(url.replace("http:", "ws:") + "ws?width=100&height=30")
    received = 0
    while received < 2000:
        message = await asyncio.wait_for(websocket.receive(), 30)
        assert message.type == aiohttp.WSMsgType.BINARY, message
        received += len(message.data)
    return websocket


def test_session_cap_and_sigterm_leave_no_process(tmp_path: Path) -> None:
    """Two of two screens in use: a third browser is told so at once; SIGTERM then ends everything."""
    content = library_copy(tmp_path)

    async def scenario(server: Serving) -> None:
        import aiohttp

        async with aiohttp.ClientSession() as client:
            first = await _open_session(server.url, client)
            second = await _open_session(server.url, client)
            assert len(server.app_processes()) == 2, server.app_processes()

            async with client.get(server.url) as page:
                assert page.status == 503
                assert "All 2 screens are in use; try again shortly." in await page.text()
            third = await client.ws_connect(server.url.replace("http:", "ws:") + "ws")
            told = await asyncio.wait_for(third.receive(), 10)
            assert b"All 2 screens are in use; try again shortly." in told.data
            closed = await asyncio.wait_for(third.receive(), 10)
            assert closed.type == aiohttp.WSMsgType.CLOSE and closed.data == 1013  # try again later

            await second.close()  # a browser leaves: its app ends and its slot frees
            for _ in range(100):
                async with client.get(server.url) as page:
                    if page.status == 200:
                        break
                await asyncio.sleep(0.1)
            assert page.status == 200
            assert len(server.app_processes()) == 1

            status = await asyncio.to_thread(server.terminate)
            assert status == 0, server.output
            ended = {aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED}
            while (await asyncio.wait_for(first.receive(), 10)).type not in ended:
                pass  # the last frames the app drew; then the server closed the connection

    with serving(tmp_path, content, "--max-sessions", "2") as server:
        asyncio.run(scenario(server))
        server.assert_nothing_left()
        assert "warning" not in server.stderr  # loopback: no warning


async def test_an_app_that_will_not_quit_is_terminated_then_killed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from textual_serve.download_manager import DownloadManager

    from kreader import server

    monkeypatch.setattr(server, "QUIT_GRACE", 0.3)
    monkeypatch.setattr(server, "EXIT_GRACE", 0.3)
    monkeypatch.setattr(server, "TERM_GRACE", 0.3)
    stubborn = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('__GANGLION__', flush=True); time.sleep(60)"
    )

    async def ignore(_: object = None) -> None:
        return None

    service = server.SessionService(
        shell_command([sys.executable, "-c", stubborn]),
        write_bytes=ignore,
        write_str=ignore,
        close=ignore,
        download_manager=DownloadManager(),
        kiosk=True,
    )
    await service.start(80, 24)
    await asyncio.sleep(0.5)
    assert service.running
    started = time.monotonic()
    await service.stop()
    assert not service.running
    assert service._process is not None and service._process.returncode == -signal.SIGKILL
    assert time.monotonic() - started < 5
    await service.stop()  # a second stop (shutdown, then the session's end) is harmless


async def test_kiosk_sessions_drop_open_url_and_downloads() -> None:
    from textual_serve.download_manager import DownloadManager

    from kreader.server import SessionService

    sent: list[str] = []

    async def write_str(text: str) -> None:
        sent.append(text)

    async def ignore(_: object = None) -> None:
        return None

    def service(kiosk: bool) -> SessionService:
        return SessionService(
            "true",
            write_bytes=ignore,
            write_str=write_str,
            close=ignore,
            download_manager=DownloadManager(),
            kiosk=kiosk,
        )

    open_url = b'{"type": "open_url", "url": "https://example.invalid/", "new_tab": true}'
    await service(kiosk=True).on_meta(open_url)
    assert sent == []
    await service(kiosk=False).on_meta(open_url)
    assert len(sent) == 1 and "open_url" in sent[0]


def test_ctrl_c_stops_kiosk_sessions_too(tmp_path: Path) -> None:
    """Ctrl+C in a terminal signals the whole process group; kiosk apps ignore SIGINT, the server ends them."""
    content = library_copy(tmp_path)

    async def scenario(server: Serving) -> None:
        import aiohttp

        async with aiohttp.ClientSession() as client:
            await _open_session(server.url, client)
            assert len(server.app_processes()) == 1
            os.killpg(server.process.pid, signal.SIGINT)
            status = await asyncio.to_thread(server.process.wait, 20)
            assert status == 0, server.output

    with serving(tmp_path, content, "--kiosk") as server:
        asyncio.run(scenario(server))
        server.assert_nothing_left()


# -- what a hostile or unlucky browser can do (issue 11, item 6) ---------------------------------------------


async def _drain_until_closed(websocket: Any, timeout: float) -> bool:
    """Read until the server closes the connection; True if it did within ``timeout`` seconds."""
    import aiohttp

    ended = {aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING}
    deadline = time.monotonic() + timeout
    with suppress(TimeoutError):
        while (left := deadline - time.monotonic()) > 0:
            if (await asyncio.wait_for(websocket.receive(), left)).type in ended:
                return True
    return False


def test_a_dead_app_frees_its_slot_and_the_screen_reconnects(tmp_path: Path) -> None:
    """The only session's app is killed: the browser is disconnected, the page answers 200, a new session works."""
    content = library_copy(tmp_path)

    async def scenario(server: Serving) -> None:
        import aiohttp

        async with aiohttp.ClientSession() as client:
            first = await _open_session(server.url, client)
            [(pid, _)] = server.app_processes()
            async with client.get(server.url) as page:
                assert page.status == 503  # the one screen is in use
            os.kill(pid, signal.SIGKILL)
            assert await _drain_until_closed(first, 10), (
                "the browser of a dead session stays connected"
            )
            for _ in range(50):
                async with client.get(server.url) as page:
                    if page.status == 200:
                        break
                await asyncio.sleep(0.1)
            assert page.status == 200, "the dead session still holds the only slot"
            second = await _open_session(server.url, client)  # draws again: a working session
            [(new_pid, _)] = server.app_processes()
            assert new_pid != pid
            await second.close()

    with serving(tmp_path, content, "--kiosk", "--max-sessions", "1") as server:
        asyncio.run(scenario(server))
        assert server.terminate() == 0
        server.assert_nothing_left()


def test_clamp_size_keeps_terminal_sizes_sane() -> None:
    from kreader.server import MAX_COLUMNS, MAX_ROWS, clamp_size

    assert clamp_size(100, 30) == (100, 30)
    assert clamp_size(20000, 5000) == (MAX_COLUMNS, MAX_ROWS) == (500, 200)
    assert clamp_size("120", "40") == (120, 40)
    assert clamp_size(-5, 0) == (1, 1)
    assert clamp_size(float("inf"), float("nan")) == (1, 1)
    assert clamp_size(None, [1]) == (1, 1)
    assert clamp_size(True, "x") == (1, 1)


CURSOR_MOVE = re.compile(rb"\x1b\[(\d+);(\d+)H")


def test_a_huge_resize_is_clamped_before_it_reaches_the_app(tmp_path: Path) -> None:
    """``["resize", {"width": 20000, "height": 5000}]`` took an app to 1 GB and sent 504 MB in 20 s."""
    content = library_copy(tmp_path)

    async def scenario(server: Serving) -> tuple[int, int, int, int]:
        async with aiohttp_session() as client:
            # The size in the address is clamped too; then a resize message asks for a wall of a screen.
            websocket = await client.ws_connect(
                server.url.replace("http:", "ws:") + "ws?width=100000&height=100000"
            )
            await websocket.send_str('["resize",{"width":20000,"height":5000}]')
            await websocket.send_str(
                '["resize",{"width":"lots","height":null}]'
            )  # ignored, not fatal
            await websocket.send_str('["resize",{"width":20000,"height":5000}]')
            await websocket.send_str("not json at all")
            received = bytearray()
            deadline = time.monotonic() + 8
            with suppress(TimeoutError):
                while (left := deadline - time.monotonic()) > 0:
                    message = await asyncio.wait_for(websocket.receive(), left)
                    if isinstance(message.data, bytes):
                        received += message.data
            rows = [int(row) for row, _ in CURSOR_MOVE.findall(received)]
            columns = [int(column) for _, column in CURSOR_MOVE.findall(received)]
            assert rows and columns, "the app drew nothing"
            [(pid, _)] = server.app_processes()
            rss = _rss_kib(pid)
            await websocket.close()
            return max(rows), max(columns), len(received), rss

    with serving(tmp_path, content) as server:
        top_row, right_column, sent, rss_kib = asyncio.run(scenario(server))
    assert 100 < top_row <= 200, top_row  # the resize took effect, clamped to 200 rows
    assert right_column <= 500, right_column
    assert sent < 32 * 1024 * 1024, f"{sent} bytes sent in 8 s"
    assert rss_kib < 400 * 1024, f"the app holds {rss_kib} KiB"


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def aiohttp_session() -> Any:
    import aiohttp

    return aiohttp.ClientSession()


def test_static_folder_is_not_listed(tmp_path: Path) -> None:
    with serving(tmp_path, CONTENT) as server:
        for folder in ("static/", "static/js/", "static/fonts"):
            assert http_status(server.url + folder) in {403, 404}, folder
        with urllib.request.urlopen(server.url + "static/js/textual.js", timeout=5) as answer:
            assert answer.status == 200 and len(answer.read()) > 10_000  # files are still served


def _page(url: str, **headers: str) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=5) as answer:
        return int(answer.status), answer.read().decode("utf-8")


def test_host_header_is_not_reflected_into_the_page(tmp_path: Path) -> None:
    """A forged ``Host`` (cache poisoning, DNS rebinding) must not choose where the page loads code from."""
    with serving(tmp_path, CONTENT) as server:
        status, page = _page(server.url, Host="evil.example", **{"X-Forwarded-Proto": "javascript"})
        assert status == 200
        assert "evil.example" not in page and "javascript:" not in page
        assert 'src="/static/js/textual.js"' in page
        assert (
            'data-session-websocket-url="/ws"' in page
        )  # completed in the browser from its address bar
        assert "window.location.host" in page
        for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', page):
            assert http_status(server.url + asset.lstrip("/")) == 200, asset

    with serving(tmp_path, CONTENT, "--public-url", "https://screens.example.org/") as server:
        status, page = _page(server.url, Host="evil.example")
        assert status == 200 and "evil.example" not in page
        assert 'src="https://screens.example.org/static/js/textual.js"' in page
        assert 'data-session-websocket-url="wss://screens.example.org/ws"' in page


# -- the page as a web app, and sessions that keep to themselves (issue 15) ------------------------------------

COMMAND_LINE_WORDS = re.compile(
    r"(?<![\w-])--(?:fresh|kiosk|theme|content|config|data-dir|max-sessions|web-session|port|host)\b"
    r"|kreader (?:serve|check|bookmarks|kiosk)"
)
"""What a browser visitor must never be asked to type: command-line options and commands."""


def _get(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=5) as answer:
        return int(answer.status), answer.headers.get_content_type(), answer.read()


def test_the_page_is_a_web_app(tmp_path: Path) -> None:
    """Title, icons, manifest and the tags that make "add to home screen" open full screen."""
    import json

    featured = load_library(CONTENT).articles[0].title
    with serving(tmp_path, CONTENT) as server:
        status, _, body = _get(server.url + "?fontsize=24")
        page = body.decode("utf-8")
        assert status == 200
        assert f"<title>{featured}</title>" in page
        assert '<link rel="manifest" href="/manifest.webmanifest?fontsize=24">' in page
        assert '<link rel="icon" href="/icon.svg" type="image/svg+xml">' in page
        assert '<link rel="apple-touch-icon" href="/icon-180.png">' in page
        for name in ("mobile-web-app-capable", "apple-mobile-web-app-capable"):
            assert f'<meta name="{name}" content="yes">' in page
        assert '<meta name="theme-color"' in page
        assert not COMMAND_LINE_WORDS.search(page), COMMAND_LINE_WORDS.search(page)

        status, kind, body = _get(server.url + "manifest.webmanifest?fontsize=24")
        assert status == 200 and kind == "application/manifest+json"
        manifest = json.loads(body)
        assert manifest["name"] == featured
        assert manifest["display"] in {"fullscreen", "standalone"}
        assert (
            manifest["start_url"] == "./?fontsize=24"
        )  # the home-screen icon keeps the TV's text size
        assert manifest["theme_color"].startswith("#")
        sizes = set()
        for icon in manifest["icons"]:
            status, kind, body = _get(server.url + icon["src"])  # relative to the manifest
            assert status == 200 and kind == icon["type"], icon
            if kind == "image/png":
                assert body.startswith(b"\x89PNG\r\n\x1a\n")
                width, height = (
                    int.from_bytes(body[16:20], "big"),
                    int.from_bytes(body[20:24], "big"),
                )
                assert f"{width}x{height}" == icon["sizes"]
                sizes.add(width)
            else:
                assert body.lstrip().startswith(b"<svg")
        assert {192, 512} <= sizes  # what Android's installer asks for
        status, kind, body = _get(server.url + "icon-180.png")
        assert status == 200 and kind == "image/png"


def test_the_busy_page_has_the_title_and_icon() -> None:
    from kreader.server import busy_page

    page = busy_page(2, "Blood <pressure>")
    assert "<title>Blood &lt;pressure&gt;: busy</title>" in page
    assert '<link rel="icon" href="/icon.svg"' in page


def test_web_app_title_is_one_clean_line() -> None:
    from kreader.webapp import DEFAULT_TITLE, TITLE_LIMIT, page_title

    assert page_title("Blood\npressure\x1b]0;owned\x07") == "Blood pressure"
    assert page_title(None) == page_title("  ") == DEFAULT_TITLE
    long = page_title("word " * 100)
    assert len(long) == TITLE_LIMIT and long.endswith("…")


def test_png_icons_are_drawn_from_the_shipped_svg() -> None:
    """The SVG is the one source: only whole-number rectangles, which the PNGs draw exactly."""
    import zlib

    from kreader.webapp import icon_png, icon_rectangles, icon_svg

    svg = icon_svg().decode("utf-8")
    assert svg.count("<rect") == len(icon_rectangles()) >= 2
    assert not re.search(r"<(?!svg|rect|!--|/svg)", svg), "an element the PNG drawing would miss"
    png = icon_png(64)
    pixels = zlib.decompress(png[png.index(b"IDAT") + 4 :])
    x, y, _, _, colour = icon_rectangles()[-1]  # the last one drawn is on top
    row = pixels[y * (1 + 3 * 64) + 1 :]
    assert tuple(row[3 * x : 3 * x + 3]) == colour


def test_a_reader_session_neither_reads_nor_writes_the_hosts_bookmarks(
    tmp_path: Path, isolated_home: Path
) -> None:
    """Anyone who reaches the page gets a session: it must not resume where the host left off, nor leave its
    bookmarks and position in the host's database. Each session keeps its own in memory."""
    from kreader.store import Position, open_store

    content = library_copy(tmp_path)
    article = _first_article(content)
    data = isolated_home / "data"  # KREADER_DATA_DIR, which the server and its sessions inherit
    store = open_store(data)
    store.save_position(Position(article.id, article.sections[1].id, "", 0.5, time.time()))
    store.close()
    before = {path.name: path.read_bytes() for path in data.iterdir()}

    async def scenario(server: Serving) -> bytes:
        async with aiohttp_session() as client:
            websocket = await _open_session(server.url, client)
            received = bytearray()
            for keys in ("n", "b", "n", "b"):  # move on (a saved position) and bookmark, twice
                await websocket.send_str(f'["stdin", "{keys}"]')
                await asyncio.sleep(0.5)
            deadline = time.monotonic() + 3
            with suppress(TimeoutError):
                while (left := deadline - time.monotonic()) > 0:
                    message = await asyncio.wait_for(websocket.receive(), left)
                    if isinstance(message.data, bytes):
                        received += message.data
            await websocket.close()
            return bytes(received)

    with serving(tmp_path, content) as server:
        shown = asyncio.run(scenario(server))
        assert server.terminate() == 0
        server.assert_nothing_left()
    # Two sections on from the first (1, 2, 3), not from where the host left off (2, 3, 4).
    total = len(article.sections)
    assert total >= 4
    assert f"Section 3 of {total}".encode() in shown
    assert f"Section 4 of {total}".encode() not in shown
    assert b"Resumed" not in shown and b"--fresh" not in shown
    after = {path.name: path.read_bytes() for path in data.iterdir()}
    assert after == before, "a browser session changed the host's bookmark database"


# -- a real browser --------------------------------------------------------------------------------------------

READ_SCREEN = """() => {
  const term = window.__kreaderTerminal;
  if (!term) {  // the DOM renderer, should textual-serve ever stop loading the canvas ones
    const rows = document.querySelector(".xterm-rows");
    return rows ? Array.from(rows.children, row => row.textContent).join("\\n") : "";
  }
  const buffer = term.buffer.active, lines = [];
  for (let y = 0; y < term.rows; y++) {
    const line = buffer.getLine(buffer.viewportY + y);
    lines.push(line ? line.translateToString(true) : "");
  }
  return lines.join("\\n");
}"""

# textual-serve keeps its xterm.js Terminal in a local variable. Its session object does
# `this.weblinksAddon = ...` right after creating `this.terminal`, so a setter on Object.prototype
# catches that object once and hands us the terminal.
EXPOSE_TERMINAL = """
Object.defineProperty(Object.prototype, "weblinksAddon", {
  configurable: true,
  set(value) {
    Object.defineProperty(this, "weblinksAddon", {value, writable: true, configurable: true, enumerable: true});
    if (this.terminal && this.terminal.buffer) { window.__kreaderTerminal = this.terminal; }
  },
});
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip(
            "browser test skipped: the playwright package is not installed (pip install playwright)"
        )
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(
            f"browser test skipped: no Chromium at {CHROMIUM} (apt-get install -y chromium)"
        )
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


class Screen:
    """One browser page on the server, read through xterm.js's buffer."""

    def __init__(self, browser: Any, url: str, *, touch: bool = False) -> None:
        self.url = url
        self.context = browser.new_context(
            viewport={"width": 1200, "height": 760}, has_touch=touch, is_mobile=False
        )
        self.external: list[str] = []
        self.popups: list[Any] = []
        self.context.route("**/*", self._route)  # nothing leaves the machine
        self.context.on("page", lambda page: self.popups.append(page))
        self.page = self.context.new_page()
        self.popups.clear()
        self.page.add_init_script(EXPOSE_TERMINAL)
        self.page.goto(url)

    def _route(self, route: Any) -> None:
        if route.request.url.startswith(self.url):
            route.continue_()
        else:
            self.external.append(route.request.url)
            route.abort()

    def text(self) -> str:
        return str(self.page.evaluate(READ_SCREEN))

    def wait_for(self, *needles: str, timeout: float = 30) -> str:
        """Wait until every needle is on screen; fail showing the screen otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.text()
            if all(needle in text for needle in needles):
                return text
            if time.monotonic() > deadline:
                pytest.fail(f"not on screen after {timeout} s: {needles}\n--- screen ---\n{text}")
            self.page.wait_for_timeout(100)

    def press(self, *keys: str) -> None:
        self.page.locator(".xterm-screen").click(position={"x": 600, "y": 300})
        for key in keys:
            self.page.keyboard.press(key)

    def tap_text(self, needle: str) -> None:
        """A finger's tap (touch emulation) on the middle of ``needle`` where the terminal shows it."""
        lines = self.text().splitlines()
        row = next(i for i, line in enumerate(lines) if needle in line)
        column = lines[row].index(needle) + len(needle) // 2
        box = self.page.locator(".xterm-screen").bounding_box()
        cols, rows = self.page.evaluate(
            "[window.__kreaderTerminal.cols, window.__kreaderTerminal.rows]"
        )
        self.page.touchscreen.tap(
            box["x"] + (column + 0.5) * box["width"] / cols,
            box["y"] + (row + 0.5) * box["height"] / rows,
        )

    def click_text(self, needle: str) -> None:
        """Hover, then click the middle of ``needle`` where the terminal shows it."""
        lines = self.text().splitlines()
        row = next(i for i, line in enumerate(lines) if needle in line)
        column = lines[row].index(needle) + len(needle) // 2
        box = self.page.locator(".xterm-screen").bounding_box()
        cols, rows = self.page.evaluate(
            "[window.__kreaderTerminal.cols, window.__kreaderTerminal.rows]"
        )
        x = box["x"] + (column + 0.5) * box["width"] / cols
        y = box["y"] + (row + 0.5) * box["height"] / rows
        self.page.mouse.move(x - 40, y)
        self.page.mouse.move(x, y, steps=4)
        self.page.wait_for_timeout(300)
        self.page.mouse.click(x, y)

    def closed(self) -> bool:
        return bool(self.page.evaluate("document.body.classList.contains('-closed')"))

    def screenshot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / name))


def _first_article(content: Path) -> Article:
    article = load_library(content).articles[0]
    assert len(article.sections) >= 2
    return article


def test_browser_reads_the_article_and_moves_on(browser: Any, tmp_path: Path) -> None:
    content = library_copy(tmp_path)
    article = _first_article(content)
    first, second = article.sections[0], article.sections[1]
    with serving(tmp_path, content) as server:
        screen = Screen(browser, server.url)
        try:
            text = screen.wait_for(article.title, "Section 1 of", LINK)
            assert screen.external == [], "the page fetched something from outside the server"
            contents = [line.split("▎")[0] for line in text.splitlines()]
            assert any(first.title in line for line in contents) and any(
                second.title in line for line in contents
            )

            screen.press("n")
            text = screen.wait_for(f"Section 2 of {len(article.sections)}")
            assert second.title in text.splitlines()[0]
            screen.screenshot("serve-e2e.png")

            # Outside kiosk mode the terminal page opens a URL shown on screen in a new tab, like a terminal
            # would: the control for the kiosk test, which must not.
            screen.press("p")
            screen.wait_for("Section 1 of", LINK)
            with screen.page.expect_popup(timeout=10_000):
                screen.click_text(LINK)

            screen.press(
                "Control+q"
            )  # reaches the app, which quits: the page says the session ended
            screen.page.wait_for_function(
                "document.body.classList.contains('-closed')", timeout=15_000
            )
            deadline = time.monotonic() + 10
            while server.app_processes() and time.monotonic() < deadline:
                time.sleep(0.1)
            assert server.app_processes() == []
        finally:
            screen.context.close()
        assert server.terminate() == 0
        server.assert_nothing_left()


def test_browser_kiosk_cannot_be_left(browser: Any, tmp_path: Path, isolated_home: Path) -> None:
    content = library_copy(tmp_path)
    article = _first_article(content)
    with serving(tmp_path, content, "--kiosk") as server:
        screen = Screen(browser, server.url)
        try:
            screen.wait_for(article.title, "Section 1 of", LINK, "Start over")
            screen.press("q", "Control+q", "Control+c", "Escape")
            screen.page.wait_for_timeout(1000)
            assert not screen.closed(), "a quit key ended the kiosk session"
            assert len(server.app_processes()) == 1
            screen.wait_for(article.title, "Section 1 of")

            screen.press("n")  # still there, and still reading
            screen.wait_for(f"Section 2 of {len(article.sections)}")
            screen.press("p")
            screen.wait_for("Section 1 of", LINK)

            screen.click_text(LINK)  # the same click that opens a tab outside kiosk mode
            screen.page.wait_for_timeout(1000)
            assert screen.popups == [], "a link opened a browser window in kiosk mode"
            assert screen.page.evaluate("window.open('https://example.invalid/')") is None
            assert not screen.closed()
            screen.screenshot("serve-e2e-kiosk.png")
        finally:
            screen.context.close()
        assert server.terminate() == 0
        server.assert_nothing_left()
    data = isolated_home / "data"
    assert not data.exists() or not any(data.rglob("*")), "a kiosk session wrote to the data folder"


def test_browser_kiosk_dialogs_close_with_a_tap(browser: Any, tmp_path: Path) -> None:
    """A tablet has no escape key: a tap opens Contact and a tap on its Close button closes it."""
    content = library_copy(tmp_path)
    with serving(tmp_path, content, "--kiosk") as server:
        screen = Screen(browser, server.url, touch=True)
        try:
            screen.wait_for("c Contact", "? Help")
            screen.page.wait_for_timeout(1500)  # past the wake-up grace of the first touch
            screen.tap_text("c Contact")  # the footer key
            screen.page.wait_for_timeout(1000)
            if "Contact the clinic" not in screen.text():
                screen.tap_text("c Contact")  # the first tap may only have woken the kiosk
            screen.wait_for("Contact the clinic", "Close")
            screen.tap_text("Close")
            deadline = time.monotonic() + 15
            while "Contact the clinic" in screen.text() and time.monotonic() < deadline:
                screen.page.wait_for_timeout(200)
            assert "Contact the clinic" not in screen.text(), screen.text()
            # The footer's page target reads a long section with a finger alone.
            before = screen.text()
            screen.tap_text("▼")
            deadline = time.monotonic() + 15
            while screen.text() == before and time.monotonic() < deadline:
                screen.page.wait_for_timeout(200)
            assert screen.text() != before, "a tap on the page-down target did not page"
            assert not screen.closed()
        finally:
            screen.context.close()
        assert server.terminate() == 0
