"""``kreader serve`` under load: many browsers at once on loopback, then one too many.

A real ``kreader serve --kiosk --max-sessions N`` subprocess; N websocket clients connect at the same moment, as
N screens would after a power cut. For each session: the time from asking for the websocket to the first frame
(the reader's "Section 1 of" footer has arrived), and the resident memory of its app process once every
session has drawn. Then session N + 1 must be refused cleanly: the page answers 503 and a websocket that comes
anyway is told so and closed with 1013 (try again later), at once. Everything is bounded: each wait has a
deadline, the whole run has one, and the server's process group is always stopped at the end.

Also runs alone: ``python -m bench.serve --sessions 20`` prints the result as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FIRST_FRAME = b"Section 1 of"
"""Bytes every kiosk session's first frame holds (the reader's footer), for the bundled content."""
SIZE = (100, 30)
"""The terminal size each client asks for (columns, rows)."""


@dataclass
class ServeResult:
    sessions: int
    first_frame: list[float]
    """Seconds from asking for the websocket to the first frame, per session (NaN: none within the deadline)."""
    rss: list[int]
    """Resident memory of each session's app process, bytes, once every session has drawn."""
    pss: list[int]
    """Proportional set size of the same processes (shared pages split between them), bytes."""
    server_rss: int
    refused: bool
    """Session N + 1: a 503 page and a websocket closed with 1013, both within `REFUSAL_DEADLINE`."""
    refusal_seconds: float
    server_exit: int | None
    """The server's status after SIGTERM (0 expected)."""
    seconds: float
    notes: list[str] = field(default_factory=list)


SESSION_DEADLINE = 120.0
REFUSAL_DEADLINE = 10.0
RUN_DEADLINE = 300.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _status_kib(pid: int, field_name: str) -> int:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    return 0


def _pss_kib(pid: int) -> int:
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (each session's shell ``exec``s its app, so these are the apps)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The parent is the second field after the command name, which is in parentheses.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


async def _session(url: str, client: Any, deadline: float) -> tuple[Any, float]:
    """Connect as a page does; return the websocket and the seconds to the first frame (NaN if none came)."""
    import aiohttp

    started = time.monotonic()
    websocket = await client.ws_connect(url + f"ws?width={SIZE[0]}&height={SIZE[1]}")
    received = bytearray()
    while (left := deadline - time.monotonic()) > 0:
        try:
            message = await asyncio.wait_for(websocket.receive(), left)
        except TimeoutError:
            break
        if message.type != aiohttp.WSMsgType.BINARY:
            break
        received += message.data
        if FIRST_FRAME in received:
            return websocket, time.monotonic() - started
    return websocket, float("nan")


async def _refusal(url: str, client: Any) -> tuple[bool, float]:
    """Session N + 1: the page says 503 with the busy message, and a websocket is told so and closed."""
    import aiohttp

    started = time.monotonic()
    try:
        async with client.get(url) as page:
            text = await page.text()
            page_ok = page.status == 503 and "in use" in text
        websocket = await client.ws_connect(url + "ws")
        told = await asyncio.wait_for(websocket.receive(), REFUSAL_DEADLINE)
        closed = await asyncio.wait_for(websocket.receive(), REFUSAL_DEADLINE)
        socket_ok = (
            told.type == aiohttp.WSMsgType.BINARY
            and b"in use" in told.data
            and closed.type == aiohttp.WSMsgType.CLOSE
            and closed.data == 1013
        )
        await websocket.close()
    except (TimeoutError, aiohttp.ClientError):
        return False, time.monotonic() - started
    return page_ok and socket_ok, time.monotonic() - started


def _wait_for_http(url: str, process: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"kreader serve exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("kreader serve did not answer in time")


def measure(sessions: int, home: Path, content: Path | None = None) -> ServeResult:
    """Run the whole scenario once; always stops the server and every session."""
    content = content or ROOT / "content"
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TEXTUAL", "KREADER_")) and key not in {"COLUMNS", "LINES"}
    }
    env.update(
        {
            "HOME": str(home),
            "XDG_STATE_HOME": str(home / "xdg-state"),
            "XDG_CACHE_HOME": str(home / "xdg-cache"),
            "KREADER_DATA_DIR": str(home / "data"),
            "KREADER_CONFIG": str(home / "config" / "kreader.toml"),
            "PYTHONPATH": str(ROOT),
        }
    )
    started = time.monotonic()
    run_deadline = started + RUN_DEADLINE
    log = home / "serve.log"
    home.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as output:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kreader",
                "serve",
                "--kiosk",
                "--port",
                str(port),
                "--max-sessions",
                str(sessions),
                "--content",
                str(content),
            ],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=output,
            start_new_session=True,
        )
    try:
        _wait_for_http(url, server, min(run_deadline, time.monotonic() + 30))
        result = asyncio.run(_scenario(url, server.pid, sessions, run_deadline))
        server.send_signal(signal.SIGTERM)
        try:
            result.server_exit = server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            result.notes.append("the server did not stop within 30 s of SIGTERM")
        result.seconds = time.monotonic() - started
        return result
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(server.pid, sig)
            with suppress(subprocess.TimeoutExpired):
                server.wait(timeout=10)
                break


async def _scenario(url: str, server_pid: int, sessions: int, run_deadline: float) -> ServeResult:
    import aiohttp

    timeout = aiohttp.ClientTimeout(total=None, sock_connect=10)
    async with aiohttp.ClientSession(timeout=timeout) as client:
        deadline = min(run_deadline, time.monotonic() + SESSION_DEADLINE)
        opened = await asyncio.gather(
            *(_session(url, client, deadline) for _ in range(sessions)), return_exceptions=True
        )
        websockets = [item[0] for item in opened if isinstance(item, tuple)]
        first_frame = [item[1] if isinstance(item, tuple) else float("nan") for item in opened]
        notes = [f"session failed: {item!r}" for item in opened if isinstance(item, BaseException)]
        apps = children(server_pid)
        rss = [_status_kib(pid, "VmRSS") * 1024 for pid in apps]
        pss = [_pss_kib(pid) * 1024 for pid in apps]
        server_rss = _status_kib(server_pid, "VmRSS") * 1024
        refused, refusal_seconds = await _refusal(url, client)
        await asyncio.gather(*(ws.close() for ws in websockets), return_exceptions=True)
    if len(apps) != sessions:
        notes.append(f"{len(apps)} app processes for {sessions} sessions")
    return ServeResult(
        sessions,
        first_frame,
        rss,
        pss,
        server_rss,
        refused,
        refusal_seconds,
        None,
        0.0,
        notes,
    )


def summary(result: ServeResult) -> dict[str, float]:
    """Median and slowest first frame, median RSS and PSS per session."""
    frames = [t for t in result.first_frame if t == t]  # NaN: no frame
    return {
        "first_frame_median": statistics.median(frames) if frames else float("nan"),
        "first_frame_max": max(frames) if len(frames) == result.sessions else float("nan"),
        "rss_median": float(statistics.median(result.rss)) if result.rss else float("nan"),
        "pss_median": float(statistics.median(result.pss)) if result.pss else float("nan"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.serve", description=__doc__)
    parser.add_argument("--sessions", type=int, default=20, help="concurrent sessions (default 20)")
    parser.add_argument(
        "--home", type=Path, help="folder for the server's files (default: temporary)"
    )
    args = parser.parse_args(argv)
    import tempfile

    with tempfile.TemporaryDirectory(prefix="kbench-serve-") as scratch:
        result = measure(args.sessions, args.home or Path(scratch))
    print(json.dumps({**asdict(result), **summary(result)}, indent=1))
    return 0 if result.refused and result.server_exit == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
