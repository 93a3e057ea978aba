"""The systemd units in ``deploy/``: what they promise must be what systemd would do with them."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from kreader.exitcodes import STAFF_EXIT

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


# -- hardening, restarts and the staff exit ----------------------------------------------------------------------

UNITS = sorted(path.name for path in DEPLOY.glob("*.service"))
KIOSK_UNITS = ("kreader-kiosk.service", "kreader-kiosk-cage.service")
MAX_EXPOSURE = 5.0
"""The highest `systemd-analyze security` exposure a unit may have (0 safe, 10 unsafe; issue 15)."""
HARDENING = {
    "NoNewPrivileges": "yes",
    "CapabilityBoundingSet": "",
    "ProtectSystem": "strict",
    "ProtectHome": "read-only",
    "PrivateTmp": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectControlGroups": "yes",
    "RestrictNamespaces": "yes",
    "RestrictSUIDSGID": "yes",
    "LockPersonality": "yes",
    "SystemCallArchitectures": "native",
    "UMask": "0077",
}
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
needs_systemd_analyze = pytest.mark.skipif(
    SYSTEMD_ANALYZE is None,
    reason="systemd-analyze not installed (apt-get install -y systemd; .ci/run does it)",
)


def unit_lines(name: str, key: str) -> list[str]:
    """Every value given to ``key`` in the unit (a repeated key such as ``SystemCallFilter=`` adds up)."""
    prefix = f"{key}="
    return [
        line[len(prefix) :].strip()
        for line in (DEPLOY / name).read_text(encoding="utf-8").splitlines()
        if line.startswith(prefix)
    ]


def test_there_are_three_units() -> None:
    assert UNITS == [
        "kreader-kiosk-cage.service",
        "kreader-kiosk.service",
        "kreader-serve.service",
    ]


@pytest.mark.parametrize("name", UNITS)
def test_units_are_hardened(name: str) -> None:
    service = read_unit(name)["Service"]
    for key, value in HARDENING.items():
        assert service.get(key) == value, f"{name}: {key}={service.get(key)!r}, want {value!r}"
    assert service["User"] == "kiosk"  # never root
    assert "@system-service" in unit_lines(name, "SystemCallFilter")
    assert "~@privileged @resources" in unit_lines(name, "SystemCallFilter")
    assert unit_lines(name, "IPAddressDeny") == ["any"]
    assert "AF_PACKET" not in service["RestrictAddressFamilies"]
    # Only the kiosk's log folder is writable in the home folder, and only if it exists.
    writable = " ".join(unit_lines(name, "ReadWritePaths")).split()
    assert "-/home/kiosk/.local/state/kreader" in writable
    assert all(path.startswith(("-/home/kiosk/", "/run/user")) for path in writable), writable


@pytest.mark.parametrize("name", KIOSK_UNITS)
def test_kiosk_units_clear_the_console_and_let_staff_leave(name: str) -> None:
    service = read_unit(name)["Service"]
    assert service["TTYPath"] == "/dev/tty1"
    assert service["TTYVTDisallocate"] == "yes"
    assert service["Restart"] == "always"
    assert service["RestartPreventExitStatus"].split() == [str(STAFF_EXIT)]
    assert f"status {STAFF_EXIT}" in (DEPLOY / name).read_text(encoding="utf-8")


def test_staff_exit_is_a_status_nothing_else_uses() -> None:
    from kreader.kiosk_app import RESTART_CODE

    assert STAFF_EXIT not in {
        0,
        1,
        2,
        RESTART_CODE,
    }  # stopped, errors, bad settings, internal restart
    assert not 64 <= STAFF_EXIT <= 78  # sysexits
    assert STAFF_EXIT < 126  # shells' 126/127, 128 + a signal, systemd's 200-243


def test_kiosk_units_take_turns_on_tty1() -> None:
    console = read_unit("kreader-kiosk.service")["Unit"]["Conflicts"].split()
    graphical = read_unit("kreader-kiosk-cage.service")["Unit"]["Conflicts"].split()
    assert "kreader-kiosk-cage.service" in console and "getty@tty1.service" in console
    assert "kreader-kiosk.service" in graphical and "getty@tty1.service" in graphical


def exposure(name: str) -> float:
    assert SYSTEMD_ANALYZE is not None
    result = subprocess.run(
        [SYSTEMD_ANALYZE, "security", "--offline=true", "--no-pager", str(DEPLOY / name)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    found = re.search(r"Overall exposure level for \S+: ([0-9.]+)", result.stdout)
    assert found, f"no exposure in systemd-analyze's answer:\n{result.stdout}\n{result.stderr}"
    return float(found.group(1))


@needs_systemd_analyze
@pytest.mark.parametrize("name", UNITS)
def test_exposure_is_at_most_5(name: str) -> None:
    assert exposure(name) <= MAX_EXPOSURE


@needs_systemd_analyze
def test_verify_would_notice_a_misspelt_key(tmp_path: Path) -> None:
    """The control for the next test: ``verify`` exits 0 on an unknown key, but says so on stderr."""
    unit = tmp_path / "typo.service"
    unit.write_text("[Service]\nExecStart=/bin/true\nTTYVTDisalocate=yes\n", encoding="utf-8")
    complaints = verify(unit)
    assert "Unknown key 'TTYVTDisalocate'" in complaints


def verify(unit: Path) -> str:
    """What ``systemd-analyze verify`` says about a unit file ('' when it has nothing to say)."""
    assert SYSTEMD_ANALYZE is not None
    result = subprocess.run(
        [SYSTEMD_ANALYZE, "verify", "--man=no", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=unit.parent,
    )
    said = (result.stdout + result.stderr).strip()
    return said or ("" if result.returncode == 0 else f"exit status {result.returncode}")


@needs_systemd_analyze
@pytest.mark.parametrize("name", UNITS)
def test_units_pass_systemd_analyze_verify(name: str, tmp_path: Path) -> None:
    """Every key known and well formed. The programs the units start live on the kiosk machine
    (/home/kiosk/...), so they are replaced by one that exists here: verify checks that it is executable."""
    stand_in = tmp_path / "bin" / "kreader"
    stand_in.parent.mkdir()
    stand_in.write_text("#!/bin/sh\n", encoding="utf-8")
    stand_in.chmod(0o755)
    for unit in UNITS:
        text = (DEPLOY / unit).read_text(encoding="utf-8")
        text = re.sub(r"^ExecStart=/home/kiosk/\S+", f"ExecStart={stand_in}", text, flags=re.M)
        (tmp_path / unit).write_text(text, encoding="utf-8")
    assert verify(tmp_path / name) == ""


# -- the graphical kiosk's launcher ---------------------------------------------------------------------------


def fake_program(folder: Path, name: str, body: str) -> None:
    program = folder / name
    program.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    program.chmod(0o755)


@pytest.mark.parametrize("status", [STAFF_EXIT, 0, 1, 2])
def test_cage_launcher_exits_with_kreaders_status(tmp_path: Path, status: int) -> None:
    """Debian 12's cage exits 0 whatever its application did: the launcher must still report kreader's status,
    or RestartPreventExitStatus= could never see the staff exit."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    # cage and foot as Debian 12 has them: run what follows "--", and cage then exits 0 regardless.
    fake_program(bin_dir, "cage", 'shift; "$@"; exit 0')
    fake_program(bin_dir, "foot", 'while [ "$1" != "--" ]; do shift; done; shift; exec "$@"')
    fake_program(bin_dir, "kreader", f'echo "$@" >"{tmp_path}/args"; exit {status}')
    runtime = tmp_path / "run"
    runtime.mkdir()
    result = subprocess.run(
        [str(DEPLOY / "kreader-cage-kiosk")],
        env={
            "PATH": f"{bin_dir}:/usr/bin:/bin",
            "KREADER": str(bin_dir / "kreader"),
            "RUNTIME_DIRECTORY": str(runtime),
        },
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == status, result.stderr
    assert (tmp_path / "args").read_text().split() == ["--kiosk"]
    assert list(runtime.iterdir()) == []  # the status file is gone


def test_cage_unit_starts_the_launcher_with_kreader() -> None:
    service = read_unit("kreader-kiosk-cage.service")["Service"]
    assert service["ExecStart"] == "/home/kiosk/kreader/deploy/kreader-cage-kiosk"
    environment = unit_lines("kreader-kiosk-cage.service", "Environment")
    assert "KREADER=/home/kiosk/kreader/.venv/bin/kreader" in environment
    assert service["RuntimeDirectory"] == "kreader-kiosk"
    assert service["PAMName"] == "kreader-kiosk"
    assert (DEPLOY / "kreader-cage-kiosk").stat().st_mode & 0o111


def test_docs_agree_with_the_units() -> None:
    kiosk_doc = (ROOT / "docs" / "kiosk.md").read_text(encoding="utf-8")
    assert f"| {STAFF_EXIT} | Staff left the kiosk" in kiosk_doc
    assert f"RestartPreventExitStatus={STAFF_EXIT}" in kiosk_doc
    for unit in UNITS:
        if unit != "kreader-serve.service":
            assert unit in kiosk_doc
    assert 'FONTFACE="Terminus"' in kiosk_doc and 'FONTSIZE="32x16"' in kiosk_doc
    assert "(docs/kiosk.md)" in (ROOT / "README.md").read_text(encoding="utf-8")
