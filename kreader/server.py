"""The web server behind ``kreader serve``: textual-serve, with a session cap, kiosk rules and a clean stop.

textual-serve's `Server` starts one app process per browser websocket and has no limit, so this subclass:

- counts live sessions in `handle_websocket` (a slot is reserved before the first ``await``, so two browsers
  arriving together cannot both take the last one). Beyond ``max_sessions`` the index page is a short "all
  screens are in use" page (HTTP 503) that retries by itself, and a websocket that arrives anyway is told the
  same in the terminal and closed: a browser never waits on a process that will not come;
- frees a session's slot as soon as its app process ends, for whatever reason (it quit, crashed or was
  killed): the browser's connection is closed, so a kiosk page reconnects instead of freezing;
- never puts the request's ``Host`` header into the page: asset addresses are paths (``/static/...``), and the
  page's own script builds the websocket address from the address bar (``public_url``, when set, is used
  as given). Binding ``0.0.0.0`` still works from other machines, and a forged ``Host`` changes nothing. The
  Roboto Mono font comes from textual-serve's own static folder rather than Google Fonts (a waiting-room
  screen may be offline, and need not tell anyone it is there); ``/static/`` does not list its folder;
- clamps every terminal size a browser asks for to `MAX_COLUMNS` x `MAX_ROWS` (one resize message to
  20000 x 5000 took an app to 1 GB and the server sent 504 MB in 20 s), and ignores malformed messages;
- in kiosk mode drops the app's ``open_url`` and file deliveries, and the page neuters ``window.open`` (the
  terminal's link add-ons would otherwise open any URL shown on screen in a new window), blocks the context
  menu, and reconnects by itself when the session ends or the server restarts;
- on SIGINT or SIGTERM asks every app to quit, waits a moment, then terminates and finally kills what is left,
  so no process outlives the server.

Imported only by ``kreader serve`` (textual-serve is an optional extra).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import logging
import os
import re
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import quote

import aiohttp_jinja2
import jinja2
from aiohttp import WSCloseCode, WSMsgType, web
from textual_serve.app_service import AppService
from textual_serve.download_manager import DownloadManager
from textual_serve.server import Server, to_int

from kreader.webapp import (
    DEFAULT_TITLE,
    PNG_SIZES,
    head_tags,
    icon_png,
    icon_svg,
    manifest,
    page_title,
)

log = logging.getLogger("kreader.serve")

QUIT_GRACE = 3.0
"""Seconds an app gets to quit when asked, before it is sent SIGTERM."""
EXIT_GRACE = 1.0
"""Seconds for an app that was asked to quit (or has closed its output) to exit, before SIGTERM."""
TERM_GRACE = 2.0
"""Seconds after SIGTERM before SIGKILL."""
SHUTDOWN_TIMEOUT = 8.0
"""aiohttp's wait for open requests at shutdown (its default is a minute)."""
RETRY_SECONDS = 10
"""How often a waiting browser (busy page, ended kiosk session) checks whether it can connect."""
MAX_COLUMNS = 500
"""Widest terminal a browser may ask for: a 4K screen at the page's smallest font size (8 px) is ~480."""
MAX_ROWS = 200
"""Tallest terminal a browser may ask for: a portrait 4K screen at 8 px is ~190 rows."""
WEBSOCKET_PATH_MARK = "data-kreader-relative"
"""Marks a page whose websocket address is a path, for the page's script to complete from the address bar."""


def clamp_size(width: object, height: object) -> tuple[int, int]:
    """A terminal size from a browser, as whole numbers from 1x1 to `MAX_COLUMNS` x `MAX_ROWS`.

    Anything that is not a number (or is not finite) counts as the smallest size rather than an error.
    """

    def whole(value: object, top: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            return 1
        try:
            number = int(float(value))
        except (ValueError, OverflowError):
            return 1
        return max(1, min(top, number))

    return whole(width, MAX_COLUMNS), whole(height, MAX_ROWS)


def busy_message(max_sessions: int) -> str:
    """What a browser beyond the cap is told."""
    screens = "The screen is" if max_sessions == 1 else f"All {max_sessions} screens are"
    return f"{screens} in use; try again shortly."


def busy_page(max_sessions: int, title: str, base: str = "") -> str:
    """A small page for a browser beyond the cap; it checks every few seconds and starts when a slot frees."""
    message = html.escape(busy_message(max_sessions))
    icon = html.escape(base + "/icon.svg")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}: busy</title>
<link rel="icon" href="{icon}" type="image/svg+xml">
<style>
  body {{ background: #0c181f; color: #f2f2f2; font: 1.6rem/1.5 system-ui, sans-serif; margin: 0;
         display: flex; align-items: center; justify-content: center; min-height: 100vh; text-align: center; }}
  p {{ max-width: 32em; padding: 1em; }}
  small {{ display: block; opacity: 0.7; font-size: 0.7em; margin-top: 1em; }}
</style>
</head>
<body>
<p id="busy">{message}<small>This page will start by itself when a screen is free.</small></p>
{_retry_script()}
<script>setTimeout(kreaderRetry, {RETRY_SECONDS * 1000});</script>
</body>
</html>
"""


def _retry_script() -> str:
    """``kreaderRetry()``: reload once the server answers the index page with 200, else try again later."""
    return (
        "<script>\n"
        "async function kreaderRetry() {\n"
        "  try {\n"
        '    const answer = await fetch(window.location.href, {cache: "no-store"});\n'
        "    if (answer.ok) { window.location.reload(); return; }\n"
        "  } catch (error) {}\n"
        f"  setTimeout(kreaderRetry, {RETRY_SECONDS * 1000});\n"
        "}\n"
        "</script>"
    )


# textual.js reads the terminal's websocket address when the window has loaded; DOMContentLoaded comes first.
_WEBSOCKET_FROM_ADDRESS_BAR = (
    "<script>\n"
    "// kreader: the websocket is on the server this page came from, as the address bar names it (the\n"
    "// server never echoes the request's Host header back into the page).\n"
    'document.addEventListener("DOMContentLoaded", function () {\n'
    f'  document.querySelectorAll(".textual-terminal[{WEBSOCKET_PATH_MARK}]").forEach(function (element) {{\n'
    '    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";\n'
    "    element.dataset.sessionWebsocketUrl = scheme + window.location.host + element.dataset.sessionWebsocketUrl;\n"
    "  });\n"
    "});\n"
    "</script>"
)


def _head_extras(static_url: str, kiosk: bool, title: str, base: str, font_size: int | None) -> str:
    """What goes into the page's head: the bundled font, the web app's title, icons and manifest, the websocket
    address, and in kiosk mode its rules."""
    font = quote(static_url + "fonts/RobotoMono-VariableFont_wght.ttf", safe=":/@[]%")
    parts = [
        *head_tags(html.escape(title), html.escape(base), font_size),
        f'<link rel="preload" href="{font}" as="font" type="font/ttf" crossorigin>',
        f'<style>@font-face {{ font-family: "Roboto Mono"; src: url("{font}"); }}</style>',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        _WEBSOCKET_FROM_ADDRESS_BAR,
    ]
    if kiosk:
        parts.append(_retry_script())
        parts.append(
            "<script>\n"
            "// kreader kiosk: never open another window or tab (the terminal's link add-ons call\n"
            "// window.open for any URL on screen), no context menu, and reconnect when the session ends.\n"
            "window.open = function () { return null; };\n"
            "window.confirm = function () { return false; };  // xterm asks before following an OSC 8 link\n"
            'document.addEventListener("contextmenu", function (event) { event.preventDefault(); });\n'
            'document.addEventListener("DOMContentLoaded", function () {\n'
            "  let waiting = false;\n"
            "  new MutationObserver(function () {\n"
            '    if (!waiting && document.body.classList.contains("-closed")) {\n'
            "      waiting = true;\n"
            "      setTimeout(kreaderRetry, 3000);\n"
            "    }\n"
            '  }).observe(document.body, {attributes: true, attributeFilter: ["class"]});\n'
            "});\n"
            "</script>"
        )
    return "\n    ".join(parts)


def patch_page(
    page: str,
    static_url: str,
    kiosk: bool,
    *,
    title: str = DEFAULT_TITLE,
    base: str = "",
    font_size: int | None = None,
) -> str:
    """textual-serve's page without the Google Fonts stylesheet, plus our head extras.

    A websocket address that is only a path (no ``public_url``) gets `WEBSOCKET_PATH_MARK`, for the script
    in the head to complete.
    """
    page = re.sub(r"<link\b[^>]*fonts\.googleapis\.com[^>]*>\s*", "", page)
    page = page.replace(
        'data-session-websocket-url="/', f'{WEBSOCKET_PATH_MARK} data-session-websocket-url="/', 1
    )
    extras = _head_extras(static_url, kiosk, title, base, font_size)
    if "<head>" in page:
        return page.replace("<head>", f'<head>\n    <meta charset="utf-8">\n    {extras}', 1)
    return extras + page


class SessionService(AppService):
    """One browser's app process, which always ends: asked to quit, then SIGTERM, then SIGKILL."""

    def __init__(
        self,
        command: str,
        *,
        write_bytes: Callable[[bytes], Awaitable[None]],
        write_str: Callable[[str], Awaitable[None]],
        close: Callable[[], Awaitable[None]],
        download_manager: DownloadManager,
        kiosk: bool = False,
    ) -> None:
        super().__init__(
            command,
            write_bytes=write_bytes,
            write_str=write_str,
            close=close,
            download_manager=download_manager,
        )
        self.kiosk = kiosk
        self.stopping = False
        """Set once the server has asked this session to end (as opposed to its app ending by itself)."""

    @property
    def pid(self) -> int | None:
        """The app's process id, once started."""
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        """Has the app process started and not yet been reaped?"""
        return self._process is not None and self._process.returncode is None

    async def on_meta(self, data: bytes) -> None:
        """In kiosk mode nothing reaches the browser that could open a window or a download."""
        if self.kiosk:
            try:
                kind = json.loads(data).get("type")
            except (ValueError, AttributeError):
                kind = None
            if kind in {"open_url", "deliver_file_start"}:
                log.info("kiosk: dropped %s from the app", kind)
                return
        await super().on_meta(data)

    async def run(self) -> None:
        """Relay the app's output until it ends; if it ended by itself, close the browser's connection.

        textual-serve leaves the websocket open when the app dies, so the session (and its slot) would last
        until the browser left: a TV would show a frozen screen forever.
        """
        await super().run()
        if not self.stopping:
            log.info("session %s: the app ended by itself; closing its connection", self.pid)
            with contextlib.suppress(Exception):  # a browser that has already gone
                await self.remote_close()

    async def stop(self) -> None:
        """Ask the app to quit; if it has not within `QUIT_GRACE`, terminate it, then kill it.

        Safe to call more than once (the server's shutdown and the session's own ending both call it).
        """
        self.stopping = True
        if self._task is not None and self._task.cancelled():
            self._task = None  # an earlier stop gave up on it; awaiting it again would raise
        try:
            await asyncio.wait_for(super().stop(), QUIT_GRACE)
        except TimeoutError:
            log.warning("session %s did not quit when asked; terminating it", self.pid)
        except Exception as error:  # a broken pipe to an app that already died: reap below
            log.debug("stopping session %s: %r", self.pid, error)
        await self.reap()

    async def reap(self) -> None:
        """Make sure the process has ended and been waited for."""
        process = self._process
        if process is None or process.returncode is not None:
            return
        for action, grace in (
            (None, EXIT_GRACE),
            (process.terminate, TERM_GRACE),
            (process.kill, None),
        ):
            if action is not None:
                with contextlib.suppress(ProcessLookupError):
                    action()
            try:
                await asyncio.wait_for(process.wait(), grace)
                return
            except TimeoutError:
                continue


class KReaderServer(Server):
    """textual-serve's server with a cap on sessions, kiosk rules and a stop that leaves no process behind."""

    def __init__(
        self,
        command: str,
        *,
        host: str,
        port: int,
        max_sessions: int = 8,
        kiosk: bool = False,
        public_url: str | None = None,
        title: str | None = None,
    ) -> None:
        super().__init__(
            command, host=host, port=port, title=page_title(title), public_url=public_url
        )
        self.fixed_public_url = public_url.rstrip("/") if public_url else None
        if public_url is None:
            self.public_url = f"http://{f'[{host}]' if ':' in host else host}:{port}"
        self.max_sessions = max_sessions
        self.kiosk = kiosk
        self.live_sessions = 0
        """Slots taken: reserved before the first await of a websocket, freed when its app has ended."""
        self.services: set[SessionService] = set()
        self.websockets: set[web.WebSocketResponse] = set()
        self.stopping = False

    # -- pages ---------------------------------------------------------------------------------------------

    @property
    def full(self) -> bool:
        """Is every slot taken (or the server on its way down)?"""
        return self.stopping or self.live_sessions >= self.max_sessions

    async def _make_app(self) -> web.Application:
        """textual-serve's routes, but ``/static/`` serves its files without listing the folder."""
        app = web.Application()
        aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(self.templates_path))
        app.add_routes(
            [
                web.get("/", self.handle_index, name="index"),
                web.get("/ws", self.handle_websocket, name="websocket"),
                web.get("/download/{key}", self.handle_download, name="download"),
                web.get("/manifest.webmanifest", self.handle_manifest, name="manifest"),
                web.get("/icon.svg", self.handle_icon_svg, name="icon"),
                *(
                    web.get(f"/icon-{size}.png", self.handle_icon_png, name=f"icon_{size}")
                    for size in PNG_SIZES
                ),
                web.static("/static", self.statics_path, show_index=False, name="static"),
            ]
        )
        app.on_startup.append(self.on_startup)
        app.on_shutdown.append(self.on_shutdown)
        return app

    async def handle_index(self, request: web.Request) -> web.StreamResponse:  # type: ignore[override]
        """The page that runs the terminal, or the busy page when every screen is in use."""
        if self.full:
            return web.Response(
                text=busy_page(self.max_sessions, self.title, self.fixed_public_url or ""),
                status=503,
                content_type="text/html",
                headers={"Retry-After": str(RETRY_SECONDS), "Cache-Control": "no-store"},
            )
        # Nothing from the request's headers goes into the page: paths only, unless public_url is set.
        base = self.fixed_public_url or ""
        static_url = (
            base + str(request.app.router["static"].url_for(filename="/")).rstrip("/") + "/"
        )
        ws_url = base + str(request.app.router["websocket"].url_for())
        if base:
            ws_url = ("wss:" if base.startswith("https:") else "ws:") + ws_url.split(":", 1)[1]
        asked_font_size = self._font_size(request)
        context: dict[str, Any] = {
            "font_size": asked_font_size or 16,
            "app_websocket_url": ws_url,
            "config": {"static": {"url": static_url}},
            "application": {"name": self.title},
        }
        response = aiohttp_jinja2.render_template("app_index.html", request, context)
        response.text = patch_page(
            response.text or "",
            static_url,
            self.kiosk,
            title=self.title,
            base=base,
            font_size=asked_font_size,
        )
        response.headers["Cache-Control"] = "no-store"
        return response

    @staticmethod
    def _font_size(request: web.Request) -> int | None:
        """The ``?fontsize=`` a browser asked for, as a whole number from 8 to 64; None if it asked for none."""
        if "fontsize" not in request.query:
            return None
        return max(8, min(64, to_int(request.query.get("fontsize", "16"), 16)))

    async def handle_manifest(self, request: web.Request) -> web.Response:
        """The web manifest: "add to home screen" opens the page full screen, at the font size it had."""
        return web.Response(
            text=json.dumps(manifest(self.title, self._font_size(request)), indent=1),
            content_type="application/manifest+json",
            headers={"Cache-Control": "no-cache"},
        )

    async def handle_icon_svg(self, request: web.Request) -> web.Response:
        return web.Response(
            body=icon_svg(),
            content_type="image/svg+xml",
            headers={"Cache-Control": "max-age=86400"},
        )

    async def handle_icon_png(self, request: web.Request) -> web.Response:
        size = int(request.path.rsplit("-", 1)[1].removesuffix(".png"))
        return web.Response(
            body=icon_png(size),
            content_type="image/png",
            headers={"Cache-Control": "max-age=86400"},
        )

    # -- sessions ------------------------------------------------------------------------------------------

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """One browser session: its own app process, or a refusal when every slot is taken."""
        websocket = web.WebSocketResponse(heartbeat=15)
        if self.full:
            await websocket.prepare(request)
            text = f"\r\n\r\n    {busy_message(self.max_sessions)}\r\n"
            await websocket.send_bytes(text.encode("utf-8"))
            await websocket.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"all screens in use")
            log.info("refused a session: %d of %d in use", self.live_sessions, self.max_sessions)
            return websocket
        self.live_sessions += 1  # reserve the slot before anything can yield
        width, height = clamp_size(
            request.query.get("width", "80"), request.query.get("height", "24")
        )
        service: SessionService | None = None
        try:
            await websocket.prepare(request)
            self.websockets.add(websocket)

            async def close_websocket() -> None:
                await websocket.close()

            service = SessionService(
                self.command,
                write_bytes=websocket.send_bytes,
                write_str=websocket.send_str,
                close=close_websocket,
                download_manager=self.download_manager,
                kiosk=self.kiosk,
            )
            self.services.add(service)
            await service.start(width, height)
            log.info(
                "session %s started (%d of %d)", service.pid, self.live_sessions, self.max_sessions
            )
            await self._process_messages(websocket, service)
        except asyncio.CancelledError:
            await websocket.close()
        except Exception as error:
            log.exception(error)
        finally:
            try:
                if service is not None:
                    await service.stop()
                    log.info("session %s ended", service.pid)
            finally:
                if service is not None:
                    self.services.discard(service)
                self.websockets.discard(websocket)
                self.live_sessions -= 1
        return websocket

    async def _process_messages(
        self, websocket: web.WebSocketResponse, app_service: AppService
    ) -> None:
        """Relay the browser's messages to the app: sizes clamped, anything malformed ignored.

        textual-serve's own loop passed any size on and ended the session on a message it could not parse.
        """
        async for message in websocket:
            if message.type != WSMsgType.TEXT:
                continue
            try:
                envelope = json.loads(message.data)
            except (ValueError, RecursionError):
                continue
            if not isinstance(envelope, list) or not envelope or not isinstance(envelope[0], str):
                continue
            kind, data = envelope[0], envelope[1] if len(envelope) > 1 else None
            if kind == "stdin" and isinstance(data, str):
                await app_service.send_bytes(data.encode("utf-8", "replace"))
            elif kind == "resize" and isinstance(data, dict):
                await app_service.set_terminal_size(
                    *clamp_size(data.get("width"), data.get("height"))
                )
            elif kind == "ping":
                await websocket.send_json(["pong", data])
            elif kind == "blur":
                await app_service.blur()
            elif kind == "focus":
                await app_service.focus()

    # -- start and stop ------------------------------------------------------------------------------------

    def initialize_logging(self) -> None:
        """Rich log lines in a terminal; plain ones on stderr for a service manager's journal."""
        if sys.stdout.isatty():
            super().initialize_logging()
        else:
            logging.basicConfig(
                level=logging.INFO, format="%(levelname)s %(message)s", stream=sys.stderr
            )

    async def on_startup(self, app: web.Application) -> None:
        mode = "kiosk sessions" if self.kiosk else "reader sessions"
        print(
            f"kreader: serving {mode} on {self.public_url} (at most {self.max_sessions} at once); "
            "Ctrl+C stops it",
            flush=True,
        )

    async def on_shutdown(self, app: web.Application) -> None:
        """Stop every session (their apps quit, or are terminated) and close every browser's connection."""
        self.stopping = True
        services = list(self.services)
        if services:
            log.info("stopping %d session(s)", len(services))
        await asyncio.gather(*(service.stop() for service in services), return_exceptions=True)
        await asyncio.gather(
            *(
                ws.close(code=WSCloseCode.GOING_AWAY, message=b"server stopping")
                for ws in list(self.websockets)
            ),
            return_exceptions=True,
        )

    def kill_leftovers(self) -> None:
        """Last resort after the event loop has ended: SIGKILL any app process that is somehow still running."""
        for service in list(self.services):
            pid = service.pid
            if pid is not None and service.running:
                with contextlib.suppress(ProcessLookupError, ChildProcessError):
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)

    def serve_sockets(self, sockets: Sequence[socket.socket]) -> None:
        """Serve on already-bound sockets until SIGINT or SIGTERM, then stop every session."""
        self.initialize_logging()
        logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.request_exit)
        try:
            web.run_app(
                self._make_app(),
                sock=list(sockets),
                handle_signals=False,
                loop=loop,
                print=None,
                shutdown_timeout=SHUTDOWN_TIMEOUT,
            )
        finally:
            self.kill_leftovers()
