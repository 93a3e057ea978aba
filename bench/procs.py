"""Whole-process measurements: spawn a driver script, time it, read its peak memory.

Each run is a fresh interpreter (OS file cache warm: one unmeasured run goes first). Times use
``time.monotonic``, which is one system-wide clock on Linux, so the parent's spawn time and the child's paint
time can be subtracted. Peak memory is the child's own ``VmHWM``, read by the child: not ``RUSAGE_CHILDREN`` (the
largest child so far), and not even this child's ``ru_maxrss`` from ``os.wait4``, which also counts the
parent's memory the child shared between fork and exec (a 300 MiB parent made ``python -c pass`` 314 MiB).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

DRIVERS = Path(__file__).resolve().parent / "drivers"
HEADLESS = "textual.drivers.headless_driver:HeadlessDriver"
SIZE = (100, 40)
"""Terminal size of every headless run (columns, lines)."""


@dataclass
class ProcRun:
    """One child process: seconds from spawn to the paint it reports and to its exit, peak RSS in bytes."""

    paint: float
    exit: float
    peak_rss: int
    """Peak resident memory of the whole run (``VmHWM`` read by the child as it ends)."""
    paint_rss: int
    """Peak resident memory when the paint was recorded."""
    cpu: float
    """User plus system CPU seconds of the whole process, to its exit."""
    paint_cpu: float
    """CPU seconds the process had used when it painted (steadier than wall time on a busy machine)."""
    marks: dict[str, float] = field(default_factory=dict)
    """Seconds from spawn to each event the driver recorded (``paint``, ``loaded``, ``index``)."""
    marks_cpu: dict[str, float] = field(default_factory=dict)


class ProcError(RuntimeError):
    """A driver failed or did not report a paint."""


def child_env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of every child: headless, a fixed size, every folder kreader could touch in ``home``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TEXTUAL", "KREADER_"))
        and key not in {"NO_COLOR", "COLUMNS", "LINES"}
    }
    env.update(
        {
            "HOME": str(home),
            "XDG_DATA_HOME": str(home / "xdg-data"),
            "XDG_CONFIG_HOME": str(home / "xdg-config"),
            "XDG_STATE_HOME": str(home / "xdg-state"),
            "XDG_CACHE_HOME": str(home / "xdg-cache"),
            "KREADER_DATA_DIR": str(home / "data"),
            "KREADER_CONFIG": str(home / "config" / "kreader.toml"),
            "TEXTUAL_DRIVER": HEADLESS,
            "COLUMNS": str(SIZE[0]),
            "LINES": str(SIZE[1]),
            "PYTHONDONTWRITEBYTECODE": "",
        }
    )
    env.pop("PYTHONDONTWRITEBYTECODE")
    env.update(extra or {})
    return env


def run_driver(
    script: str,
    args: list[str],
    home: Path,
    extra_env: dict[str, str] | None = None,
    timeout: float = 1800,
) -> ProcRun:
    """Run ``bench/drivers/<script>`` once in a fresh interpreter and measure it."""
    with tempfile.TemporaryDirectory(prefix="kbench-run-") as scratch:
        report = Path(scratch) / "report.json"
        errors = Path(scratch) / "stderr"
        env = child_env(home, {**(extra_env or {}), "BENCH_REPORT": str(report)})
        with errors.open("wb") as err:
            start = time.monotonic()
            proc = subprocess.Popen(
                [sys.executable, str(DRIVERS / script), *args],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
            killer = threading.Timer(timeout, proc.kill)
            killer.start()
            try:
                _, status, usage = os.wait4(proc.pid, 0)
            finally:
                killer.cancel()
            ended = time.monotonic()
            proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0 or not report.exists():
            detail = errors.read_text(errors="replace")[-3000:]
            raise ProcError(f"{script} {' '.join(args)}: exit status {proc.returncode}\n{detail}")
        data = json.loads(report.read_text())
    marks = {name: when - start for name, when in data["marks"].items()}
    if "paint" not in marks:
        raise ProcError(f"{script} {' '.join(args)}: no paint reported")
    cpu = usage.ru_utime + usage.ru_stime
    peak = data.get("peak_rss") or usage.ru_maxrss * 1024
    return ProcRun(
        marks["paint"],
        ended - start,
        peak,
        data["rss"].get("paint") or peak,
        cpu,
        data["cpu"]["paint"],
        marks,
        data["cpu"],
    )
