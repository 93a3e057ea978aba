"""``kreader kiosk set-pin`` and ``check-config``, run as real subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from kreader.pin import verify_pin
from kreader.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent


def kreader(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """Run ``python -m kreader ARGS`` with the test's environment (see conftest.py)."""
    return subprocess.run(
        [sys.executable, "-m", "kreader", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=dict(os.environ),
        timeout=120,
    )


def test_set_pin_writes_a_hash_and_keeps_the_file(tmp_path: Path) -> None:
    path = tmp_path / "kreader.toml"
    path.write_text('# clinic\ntheme = "nord"  # chosen by Sam\n\n[kiosk]\nenabled = true\n')
    result = kreader("kiosk", "set-pin", "--config", str(path), stdin="1234\n1234\n")
    assert result.returncode == 0, result.stderr
    assert str(path) in result.stdout
    assert "1234" not in result.stdout + result.stderr
    text = path.read_text()
    assert text.startswith('# clinic\ntheme = "nord"  # chosen by Sam\n\n[kiosk]\nenabled = true\n')
    assert "1234" not in text
    settings = load_settings(path)
    assert settings.kiosk is True
    assert settings.theme == "nord"
    assert settings.admin_pin_hash is not None
    assert verify_pin("1234", settings.admin_pin_hash)
    assert not verify_pin("4321", settings.admin_pin_hash)


def test_set_pin_uses_kreader_config_and_creates_it(tmp_path: Path) -> None:
    path = Path(os.environ["KREADER_CONFIG"])  # set per test by conftest.py
    assert not path.exists()
    result = kreader("kiosk", "set-pin", stdin="987654\n987654\n")
    assert result.returncode == 0, result.stderr
    assert verify_pin("987654", load_settings(path).admin_pin_hash)


def test_set_pin_config_before_the_action(tmp_path: Path) -> None:
    path = tmp_path / "k.toml"
    result = kreader("kiosk", "--config", str(path), "set-pin", stdin="1234\n1234\n")
    assert result.returncode == 0, result.stderr
    assert verify_pin("1234", load_settings(path).admin_pin_hash)


def test_set_pin_mismatch(tmp_path: Path) -> None:
    path = tmp_path / "kreader.toml"
    result = kreader("kiosk", "set-pin", "--config", str(path), stdin="1234\n1235\n")
    assert result.returncode == 2
    assert result.stderr == "kreader: the two PINs do not match; nothing was saved\n"
    assert not path.exists()


def test_set_pin_too_short(tmp_path: Path) -> None:
    path = tmp_path / "kreader.toml"
    result = kreader("kiosk", "set-pin", "--config", str(path), stdin="12\n12\n")
    assert result.returncode == 2
    assert result.stderr == (
        "kreader: a staff PIN must be 4 to 12 digits (0-9); nothing was saved\n"
    )
    assert not path.exists()


def test_set_pin_needs_two_lines(tmp_path: Path) -> None:
    path = tmp_path / "kreader.toml"
    result = kreader("kiosk", "set-pin", "--config", str(path), stdin="1234\n")
    assert result.returncode == 2
    assert "twice" in result.stderr
    assert result.stderr.count("\n") == 1
    assert not path.exists()


def test_set_pin_refuses_an_invalid_file(tmp_path: Path) -> None:
    path = tmp_path / "kreader.toml"
    path.write_text("[kiosk]\nidle_seconds = 1\n")
    result = kreader("kiosk", "set-pin", "--config", str(path), stdin="1234\n1234\n")
    assert result.returncode == 2
    assert result.stderr.startswith(f"kreader: {path}:2: key 'kiosk.idle_seconds'")
    assert result.stderr.count("\n") == 1
    assert path.read_text() == "[kiosk]\nidle_seconds = 1\n"


def test_check_config(tmp_path: Path) -> None:
    path = tmp_path / "kreader.toml"
    path.write_text('theme = "nord"\nkiosk = true\n')
    result = kreader("kiosk", "check-config", "--config", str(path))
    assert result.returncode == 0, result.stderr
    assert 'theme = "nord"' in result.stdout
    assert "kiosk.enabled = true" in result.stdout
    assert "kiosk.idle_seconds = 90" in result.stdout
    assert "no staff PIN is set" in result.stderr

    path.write_text("width = 5\n")
    result = kreader("kiosk", "check-config", "--config", str(path))
    assert result.returncode == 2
    assert result.stderr == (
        f"kreader: {path}:1: key 'width' must be a whole number of cells from 30 to 200\n"
    )
