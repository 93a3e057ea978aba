"""Every signal that ends kreader puts the terminal back (issue 11, item 8).

A real ``kreader`` in a real pseudo-terminal: once it has drawn, it gets a signal; what it writes
afterwards must leave the alternate screen and turn mouse reporting off, and it must exit. SIGQUIT and
SIGUSR1 used to leave the terminal in the alternate screen with mouse reporting on.
"""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

LEAVE_ALTERNATE_SCREEN = b"\x1b[?1049l"
MOUSE_OFF = b"\x1b[?1000l"
MOUSE_ON = b"\x1b[?1000h"


def start(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[bytes], int]:
    """``kreader ARGS`` on a fresh pseudo-terminal; returns the process and the terminal's side."""
    main, child = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "30"}
    process = subprocess.Popen(
        [sys.executable, "-m", "kreader", *args],
        stdin=child,
        stdout=child,
        stderr=child,
        env=env,
        cwd=tmp_path,
        start_new_session=True,
    )
    os.close(child)
    return process, main


def read(fd: int, until: bytes | None, timeout: float) -> bytes:
    """What the program writes, until ``until`` appears, the terminal closes, or time runs out."""
    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (until is None or until not in seen):
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the program has exited and closed the terminal
                break
            if not chunk:
                break
            seen += chunk
    return seen


SIGNALS = [signal.SIGQUIT, signal.SIGUSR1, signal.SIGTERM, signal.SIGHUP]


@pytest.mark.parametrize("mode", ["reader", "kiosk"])
@pytest.mark.parametrize("sig", SIGNALS, ids=[s.name for s in SIGNALS])
def test_a_signal_restores_the_terminal(tmp_path: Path, mode: str, sig: signal.Signals) -> None:
    args = ["--kiosk"] if mode == "kiosk" else []
    process, terminal = start(tmp_path, *args)
    try:
        drawn = read(terminal, b"Overview", 30)
        assert MOUSE_ON in drawn and b"Overview" in drawn, drawn[-2000:]
        process.send_signal(sig)
        after = b""
        deadline = time.monotonic() + 15
        while process.poll() is None and time.monotonic() < deadline:
            after += read(terminal, None, 0.2)
        after += read(terminal, None, 0.5)
        assert process.poll() is not None, f"{sig.name} did not end kreader"
        assert LEAVE_ALTERNATE_SCREEN in after, f"still in the alternate screen: {after[-300:]!r}"
        assert MOUSE_OFF in after, f"mouse reporting left on: {after[-300:]!r}"
        assert b"Traceback" not in after
        # The kiosk's service signals are a clean stop (status 0, as systemd expects); the others are
        # reported as a shell reports a signal.
        service_stop = mode == "kiosk" and sig in (signal.SIGTERM, signal.SIGHUP)
        assert process.returncode == (0 if service_stop else 128 + sig)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        os.close(terminal)
