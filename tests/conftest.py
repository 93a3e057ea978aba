"""Shared fixtures: every test runs with its own data and config folders, never the user's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONTENT = ROOT / "content"


@pytest.fixture(autouse=True)
def isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """Point every folder kreader could touch at a temporary one, for this test and its subprocesses."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "xdg-config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "xdg-state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "xdg-cache"))
    monkeypatch.setenv("KREADER_DATA_DIR", str(home / "data"))
    monkeypatch.setenv("KREADER_CONFIG", str(home / "config" / "kreader.toml"))
    for name in (
        "TEXTUAL_THEME",
        "NO_COLOR",
        "TEXTUAL_PRESS",
        "TEXTUAL_DRIVER",
        "TEXTUAL_ALLOW_SIGNALS",
    ):
        monkeypatch.delenv(name, raising=False)
    yield home


@pytest.fixture
def content_dir() -> Path:
    """The bundled library."""
    return CONTENT
