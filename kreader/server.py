"""The web server behind ``kreader serve``: textual-serve, with a session cap, kiosk rules and a clean stop.

textual-serve's `Server` starts one app process per browser websocket and has no limit, so this subclass:

- counts live sessions in `handle_websocket` (a slot is reserved before the first ``await``, so two browsers
  arriving together cannot both take the last one). Beyond ``max_sessions`` the index page is a short "all
  screens are in use" page (HTTP 503) that retries by itself, and a websocket that arrives anyway is told the
  same in the terminal and closed: a browser never waits on a process that will not come;
- serves the page with URLs built from the address the browser used (``public_url`` when set), so binding
  ``0.0.0.0`` works from other machines; the Roboto Mono font comes from textual-serve's own static folder
  rather than Google Fonts (a waiting-room screen may be offline, and need not tell anyone it is there);
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
from aiohttp import WSCloseCode, web
from textual_serve.app_service import AppService
from textual_serve.download_manager import DownloadManager
from textual_serve.server import Server, to_int

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


def busy_message(max_sessions: int) -> str:
    """What a browser beyond the cap is told."""
    screens = "The screen is" if max_sessions == 1 else f"All {max_sessions} screens are"
    return f"{screens} in use; try again shortly."


def busy_page(max_sessions: int, title: str) -> str:
    """A small page for a browser beyond the cap; it checks every few seconds and starts when a slot frees."""
    message = html.escape(busy_message(max_sessions))
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}: busy</title>
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


def _head_extras(static_url: str, kiosk: bool) -> str:
    """What goes into the page's head: the bundled font, and in kiosk mode the kiosk rules."""
    # Percent-encode all but URL structure: the address comes from the request's Host header and lands in CSS.
    font = quote(static_url + "fonts/RobotoMono-VariableFont_wght.ttf", safe=":/@[]%")
    parts = [
        f'<link rel="preload" href="{font}" as="font" type="font/ttf" crossorigin>',
        f'<style>@font-face {{ font-family: "Roboto Mono"; src: url("{font}"); }}</style>',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
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


def patch_page(page: str, static_url: str, kiosk: bool) -> str:
    """textual-serve's page without the Google Fonts stylesheet, plus our head extras."""
    page = re.sub(r"<link\b[^>]*fonts\.googleapis\.com[^>]*>\s*", "", page)
    extras = _head_extras(static_url, kiosk)
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

    async def stop(self) -> None:
        """Ask the app to quit; if it has not within `QUIT_GRACE`, terminate it, then kill it.

        Safe to call more than once (the server's shutdown and the session's own ending both call it).
        """
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
        title: str = "kreader",
    ) -> None:
        super().__init__(command, host=host, port=port, title=title, public_url=public_url)
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

    def base_url(self, request: web.Request) -> str:
        """Where the browser reached us: ``public_url`` if set, else the scheme and host it asked for."""
        if self.fixed_public_url:
            return self.fixed_public_url
        scheme = request.headers.get("X-Forwarded-Proto", request.scheme).split(",")[0].strip()
        if scheme not in {"http", "https"}:
            scheme = request.scheme
        return f"{scheme}://{request.host}"

    async def handle_index(self, request: web.Request) -> web.StreamResponse:  # type: ignore[override]
        """The page that runs the terminal, or the busy page when every screen is in use."""
        if self.full:
            return web.Response(
                text=busy_page(self.max_sessions, self.title),
                status=503,
                content_type="text/html",
                headers={"Retry-After": str(RETRY_SECONDS), "Cache-Control": "no-store"},
            )
        base = self.base_url(request)
        static_url = (
            base + str(request.app.router["static"].url_for(filename="/")).rstrip("/") + "/"
        )
        ws_path = str(request.app.router["websocket"].url_for())
        ws_scheme = "wss" if base.startswith("https:") else "ws"
        context: dict[str, Any] = {
            "font_size": max(8, min(64, to_int(request.query.get("fontsize", "16"), 16))),
            "app_websocket_url": f"{ws_scheme}:{base.split(':', 1)[1]}{ws_path}",
            "config": {"static": {"url": static_url}},
            "application": {"name": self.title},
        }
        response = aiohttp_jinja2.render_template("app_index.html", request, context)
        response.text = patch_page(response.text or "", static_url, self.kiosk)
        response.headers["Cache-Control"] = "no-store"
        return response

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
        width = to_int(request.query.get("width", "80"), 80)
        height = to_int(request.query.get("height", "24"), 24)
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
