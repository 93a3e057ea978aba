"""``kreader serve``: the reader (or the kiosk) in web browsers, one app process per browser, via textual-serve.

Everything that can be wrong is checked before the server starts, each as one line and exit status 2: the port
and session count, the settings file, the content folder, the theme, textual-serve being installed, and the
address being free (the listening sockets are bound here and handed to the server, so nothing can take the
port in between). The server itself lives in `kreader.server`, imported only here.
"""

from __future__ import annotations

import argparse
import errno
import ipaddress
import os
import shlex
import socket
import sys
from collections.abc import Sequence

from kreader.commands.context import Context, add_language_option
from kreader.errors import CliError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_MAX_SESSIONS = 8
MISSING_SERVE = (
    "kreader serve needs textual-serve: pip install '.[serve]' in a checkout of kreader "
    "(or pip install 'kreader[serve]')"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to listen on (default {DEFAULT_HOST}; anything else is reachable from other machines)",
    )
    parser.add_argument(
        "--port", default=str(DEFAULT_PORT), metavar="N", help=f"port (default {DEFAULT_PORT})"
    )
    # SUPPRESS, so `kreader --kiosk serve` and `kreader serve --kiosk` both work.
    parser.add_argument(
        "--kiosk",
        action="store_true",
        default=argparse.SUPPRESS,
        help="every browser gets a locked kiosk session",
    )
    parser.add_argument(
        "--theme", metavar="NAME", default=argparse.SUPPRESS, help="colour theme of every session"
    )
    add_language_option(parser, argparse.SUPPRESS)  # given before or after the command
    parser.add_argument(
        "--max-sessions",
        default=str(DEFAULT_MAX_SESSIONS),
        metavar="N",
        help=f"most browsers served at once; others get a 'try again shortly' page (default {DEFAULT_MAX_SESSIONS})",
    )
    parser.add_argument(
        "--public-url",
        metavar="URL",
        help="address browsers use to reach the server, when behind a proxy that changes it "
        "(default: whatever address the browser asked for)",
    )


def parse_port(text: str) -> int:
    """A TCP port from 1 to 65535."""
    try:
        port = int(text.strip(), 10)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise CliError(f"--port must be a number from 1 to 65535, not {text!r}")
    return port


def parse_max_sessions(text: str) -> int:
    """A session count of at least one."""
    try:
        count = int(text.strip(), 10)
    except ValueError:
        count = 0
    if count < 1:
        raise CliError(f"--max-sessions must be a whole number of at least 1, not {text!r}")
    return count


def session_command(args: argparse.Namespace, kiosk: bool) -> list[str]:
    """The command each browser session runs: this Python, this kreader, the options given to serve.

    ``--web-session`` keeps each browser's bookmarks, position and preferences in its own process's memory:
    a visitor never reads or changes the host's (nor another visitor's).
    """
    argv = [sys.executable, "-m", "kreader", "--web-session"]
    for name in ("content", "config", "data_dir"):
        value = getattr(args, name, None)
        if value is not None:
            argv += [f"--{name.replace('_', '-')}", os.path.abspath(value)]
    if kiosk:
        argv.append("--kiosk")
    theme = getattr(args, "theme", None)
    if theme:
        argv += ["--theme", theme]
    language = getattr(args, "lang", None)
    if language:
        argv += ["--lang", language]
    return argv


def shell_command(argv: Sequence[str]) -> str:
    """textual-serve runs a shell command line; ``exec`` makes the app the process it watches and stops."""
    return "exec " + shlex.join(argv)


def bind_sockets(host: str, port: int) -> list[socket.socket]:
    """Bind every address ``host`` names on ``port`` (not yet listening); CliError if any cannot be had."""
    try:
        infos = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        raise CliError(f"cannot listen on {host!r}: {exc.strerror}") from None
    bound: list[socket.socket] = []
    seen: set[tuple[int, str]] = set()
    for family, kind, proto, _, address in infos:
        if (family, str(address[0])) in seen:
            continue
        seen.add((family, str(address[0])))
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(
                socket.SOL_SOCKET, socket.SO_REUSEADDR, 1
            )  # as aiohttp does; a live port still fails
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.setblocking(False)
        except OSError as exc:
            sock.close()
            for other in bound:
                other.close()
            if exc.errno == errno.EADDRINUSE:
                raise CliError(
                    f"port {port} on {host} is already in use; choose another with --port"
                ) from None
            if exc.errno == errno.EACCES:
                raise CliError(
                    f"not allowed to listen on port {port} (ports below 1024 need privileges)"
                ) from None
            raise CliError(f"cannot listen on {host} port {port}: {exc.strerror}") from None
        bound.append(sock)
    if not bound:
        raise CliError(f"cannot listen on {host!r}: no usable address")
    return bound


def is_loopback(sockets: Sequence[socket.socket]) -> bool:
    """Are all the bound addresses loopback ones (reachable only from this machine)?"""
    for sock in sockets:
        try:
            if not ipaddress.ip_address(str(sock.getsockname()[0]).split("%")[0]).is_loopback:
                return False
        except ValueError:
            return False
    return True


def run(ctx: Context) -> int:
    args = ctx.args
    port = parse_port(args.port)
    max_sessions = parse_max_sessions(args.max_sessions)
    public_url = args.public_url
    if public_url is not None and not public_url.startswith(("http://", "https://")):
        raise CliError(f"--public-url must start with http:// or https://, not {public_url!r}")

    settings = ctx.settings
    library = ctx.library()  # an unreachable or empty content folder stops us here
    from kreader.contact import featured_article

    featured = featured_article(library, settings.featured or "")
    kiosk = bool(getattr(args, "kiosk", False) or settings.kiosk)
    theme = getattr(args, "theme", None)
    if theme:
        from kreader.themes import known_theme, theme_names

        if not known_theme(theme):
            raise CliError(f"unknown theme {theme!r}; choose one of: {', '.join(theme_names())}")

    try:
        from kreader.server import KReaderServer
    except ImportError as exc:
        if (exc.name or "").split(".")[0] in {
            "textual_serve",
            "aiohttp",
            "aiohttp_jinja2",
            "jinja2",
        }:
            raise CliError(MISSING_SERVE) from None
        raise

    sockets = bind_sockets(args.host, port)
    try:
        if not is_loopback(sockets):
            print(
                f"kreader: warning: serving on {args.host}, reachable from other machines; textual-serve has "
                "no authentication, so keep it behind a proxy on a trusted network (see docs/serve.md)",
                file=sys.stderr,
                flush=True,
            )
        server = KReaderServer(
            shell_command(session_command(args, kiosk)),
            host=args.host,
            port=port,
            max_sessions=max_sessions,
            kiosk=kiosk,
            public_url=public_url,
            title=featured.title if featured else None,  # the page's title and home-screen name
        )
        server.serve_sockets(sockets)
    finally:
        for sock in sockets:
            sock.close()
    return 0
