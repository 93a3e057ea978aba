"""The systemd units in ``deploy/``: what they promise must be what systemd would do with them."""

from __future__ import annotations

import configparser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"


def read_unit(name: str) -> configparser.ConfigParser:
    """A unit file as systemd reads its keys (a repeated key, such as ``Environment=``, is allowed)."""
    unit = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    unit.optionxform = str  # type: ignore[assignment, method-assign]  # systemd keys are case-sensitive
    unit.read_string((DEPLOY / name).read_text(encoding="utf-8"))
    return unit


def test_kiosk_unit_draws_on_the_tty_not_in_the_journal() -> None:
    """Textual's Linux driver writes the screen to stderr: stderr going to the journal left tty1 blank."""
    service = read_unit("kreader-kiosk.service")["Service"]
    assert service["TTYPath"] == "/dev/tty1"
    assert service["StandardInput"] == "tty"
    # Both are spelled out: left unset, each would go to the journal (systemd's default). `inherit` for
    # stdout means the input's tty; for stderr it means wherever stdout goes.
    assert service["StandardOutput"] in {"tty", "inherit"}
    assert service["StandardError"] in {"tty", "inherit"}
