#!/usr/bin/env python3
"""Set up ``.venv`` and run kreader, its tests or its benchmarks, with nothing but python3.

Usage:
    python3 tasks.py run [KREADER ARGS...]   install (once) and open the reader
    python3 tasks.py test [PYTEST ARGS...]   install (once), then ruff, mypy and pytest
    python3 tasks.py bench [BENCH ARGS...]   install (once) and run the benchmarks
    python3 tasks.py setup                   only install

Kept to the standard library on purpose: it must run before anything is installed.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".kreader-installed"


def _fingerprint() -> str:
    """Hash of what decides the install, so a changed pyproject reinstalls, and a changed translation
    catalogue (compiled to .mo by the install's build hook) is compiled again."""
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes())
    for po in sorted((ROOT / "kreader" / "locale").glob("*/LC_MESSAGES/*.po")):
        digest.update(po.read_bytes())
    return digest.hexdigest()


def setup(extras: str = "test") -> None:
    """Create the virtual environment and install kreader (editable) with its test tools."""
    wanted = f"{_fingerprint()} {extras}"
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not (BIN / "python").exists():
        print("tasks: creating .venv", file=sys.stderr)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("tasks: installing kreader and its dependencies into .venv", file=sys.stderr)
    status = subprocess.run(
        [
            str(BIN / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-e",
            f"{ROOT}[{extras}]",
        ],
    ).returncode
    if status != 0:
        raise SystemExit(
            f"tasks: installing into .venv failed (pip exit status {status}); see above"
        )
    STAMP.write_text(wanted)


def _run(*cmd: str) -> int:
    print("tasks: $", " ".join(cmd), file=sys.stderr)
    return subprocess.run(cmd, cwd=ROOT).returncode


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(__doc__)
        return 0
    task, rest = argv[0], argv[1:]
    if task == "setup":
        setup()
        return 0
    if task == "run":
        setup()
        os.execv(str(BIN / "kreader"), [str(BIN / "kreader"), *rest])
    if task == "test":
        setup()
        checks = [
            (str(BIN / "ruff"), "format", "--check", "."),
            (str(BIN / "ruff"), "check", "."),
            (str(BIN / "mypy"),),
            (str(BIN / "python"), "-m", "pytest", *rest),
        ]
        failed = [" ".join(c) for c in checks if _run(*c) != 0]
        if failed:
            print("tasks: FAILED: " + "; ".join(failed), file=sys.stderr)
            return 1
        print("tasks: all checks passed", file=sys.stderr)
        return 0
    if task == "bench":
        setup()
        return _run(str(BIN / "python"), "-m", "bench", *rest)
    print(f"tasks: unknown task {task!r} (run, test, bench, setup)", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
