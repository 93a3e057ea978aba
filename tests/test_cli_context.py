"""Every command finds its library the same way: ``--content`` > the settings' ``content =`` > the bundled one.

Each test runs the real ``kreader`` process with a settings file that names a library and no ``--content``
(the bug this guards against: search, print, check and bookmarks add used the bundled article instead).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

ARTICLE = """+++
title = "Quokka field notes"
+++

# Quokka field notes

A short article about the quokka.

## Habitat

Quokkas live on Rottnest Island; see [the missing part](#nowhere).
"""


@pytest.fixture
def settings_library(tmp_path: Path, isolated_home: Path) -> Path:
    """A library in ``tmp_path/lib`` named by the settings file that ``KREADER_CONFIG`` points at."""
    library = tmp_path / "lib"
    library.mkdir()
    (library / "quokka.md").write_text(ARTICLE, encoding="utf-8")
    config = Path(os.environ["KREADER_CONFIG"])
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f"content = {json.dumps(str(library))}\n", encoding="utf-8")
    return library


def kreader(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kreader", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
    )


def test_search_uses_the_settings_library(settings_library: Path) -> None:
    result = kreader("search", "rottnest")
    assert result.returncode == 0, result.stderr
    assert "Quokka field notes" in result.stdout


def test_print_uses_the_settings_library(settings_library: Path) -> None:
    result = kreader("print", "quokka#habitat", "--plain")
    assert result.returncode == 0, result.stderr
    assert "Rottnest Island" in result.stdout


def test_check_uses_the_settings_library(settings_library: Path) -> None:
    result = kreader("check", "--json")
    problems = json.loads(result.stdout)
    assert any(p["file"].endswith("quokka.md") and "nowhere" in p["message"] for p in problems), (
        problems
    )


def test_bookmarks_add_uses_the_settings_library(settings_library: Path) -> None:
    result = kreader("bookmarks", "add", "quokka#habitat")
    assert result.returncode == 0, result.stderr
    listed = kreader("bookmarks", "list", "--json")
    assert [b["section_title"] for b in json.loads(listed.stdout)] == ["Habitat"]


def test_reader_uses_the_settings_library(settings_library: Path) -> None:
    """Checked before anything is drawn: an unknown section names the ids of the settings' library."""
    result = kreader("--section", "nope")
    assert result.returncode == 2
    assert "habitat" in result.stderr and "history" not in result.stderr


def test_serve_uses_the_settings_library(settings_library: Path) -> None:
    """serve reads the library before it listens: a settings library that is gone stops it, by name."""
    for file in settings_library.iterdir():
        file.unlink()
    settings_library.rmdir()
    result = kreader("serve", "--port", "1")
    assert result.returncode == 2
    assert str(settings_library) in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_content_option_beats_the_settings(settings_library: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "wombat.md").write_text("# Wombats\n\n## Burrows\n\nWombats dig.\n", encoding="utf-8")
    result = kreader("search", "wombats", "--content", str(other))
    assert result.returncode == 0, result.stderr
    assert kreader("search", "wombats").returncode == 1  # without it, the settings' library


@pytest.mark.parametrize(
    "args",
    [("search", "x"), ("print", "x"), ("check",), ("bookmarks", "add", "x"), ("--section", "x")],
)
def test_a_broken_settings_file_is_one_line_and_status_2(
    args: tuple[str, ...], isolated_home: Path
) -> None:
    config = Path(os.environ["KREADER_CONFIG"])
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('content = "unterminated\n', encoding="utf-8")
    result = kreader(*args)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"kreader: {config}:1")
