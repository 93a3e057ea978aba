"""Reading width and theme: keys change them, the settings file keeps them, the next start uses them."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from textual.color import Color

from kreader.cli import main
from kreader.content import load_library
from kreader.factory import make_app
from kreader.settings import load_settings
from kreader.store import Store
from kreader.themes import CONTRAST_THEME, THEME_CYCLE, contrast_ratio
from kreader.widgets.section_view import SectionView


def reader(content_dir: Path, config: Path):  # type: ignore[no-untyped-def]
    return make_app(
        load_library(content_dir), Store.in_memory(), load_settings(config), config_path=config
    )


async def test_theme_key_cycles_and_is_remembered(content_dir: Path, tmp_path: Path) -> None:
    config = tmp_path / "kreader.toml"
    config.write_text("# my settings\nwidth = 70\n")
    app = reader(content_dir, config)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert app.theme == THEME_CYCLE[0]
        await pilot.press("t")
        assert app.theme == THEME_CYCLE[1]
        await pilot.press("t")
        assert app.theme == "kreader-contrast"
    text = config.read_text()
    assert "# my settings" in text and "width = 70" in text
    assert load_settings(config).theme == "kreader-contrast"
    again = reader(content_dir, config)
    async with again.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert again.theme == "kreader-contrast"


async def test_width_keys_narrow_widen_reset_and_persist(content_dir: Path, tmp_path: Path) -> None:
    config = tmp_path / "kreader.toml"
    app = reader(content_dir, config)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        view = app.screen.query_one(SectionView)
        full = view.text_width
        await pilot.press("minus")
        await pilot.pause()
        assert view.text_width == full - 4
        assert view.layout_ is not None and view.layout_.width == full - 4
        await pilot.press("minus", "minus", "plus")
        await pilot.pause()
        assert view.text_width == full - 8
    assert load_settings(config).width == full - 8
    again = reader(content_dir, config)
    async with again.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        view = again.screen.query_one(SectionView)
        assert view.text_width == full - 8
        await pilot.press("equals_sign")
        await pilot.pause()
        assert view.text_width == full
    assert load_settings(config).width is None


HAND_WRITTEN = """\
# Waiting-room reader: ask Sam before changing anything.

width = 70  # the clinic's screens are narrow
theme = "textual-dark"    # dark, like the room

# The kiosk: on from Monday.
[kiosk]
enabled = false  # not yet
idle_seconds = 120

# featured = "flu-season"
"""


async def test_saving_keeps_the_files_comments_blank_lines_and_key_order(
    content_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """tomlkit writes the file back: only the values that changed differ, and the PIN's new line."""
    config = tmp_path / "kreader.toml"
    config.write_text(HAND_WRITTEN)
    app = reader(content_dir, config)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        await pilot.press("t", "minus")
        await pilot.pause()
    monkeypatch.setattr("sys.stdin", io.StringIO("2468\n2468\n"))
    assert main(["kiosk", "set-pin", "--config", str(config)]) == 0

    pin_hash = load_settings(config).admin_pin_hash
    assert pin_hash is not None
    assert config.read_text() == (
        HAND_WRITTEN.replace('"textual-dark"', '"textual-light"')
        .replace("width = 70", "width = 66")
        .replace("idle_seconds = 120\n", f'idle_seconds = 120\nadmin_pin_hash = "{pin_hash}"\n')
    )


async def test_reflow_keeps_the_reading_position(content_dir: Path, tmp_path: Path) -> None:
    app = reader(content_dir, tmp_path / "kreader.toml")
    async with app.run_test(size=(120, 16)) as pilot:
        await pilot.pause()
        await pilot.press("n", "n")
        view = app.screen.query_one(SectionView)
        assert view.layout_ is not None
        view.go_to("synaptic-plasticity")
        await pilot.pause()
        assert view.position()[0] == "synaptic-plasticity"
        await pilot.press(*["minus"] * 8)
        await pilot.pause()
        assert view.position()[0] == "synaptic-plasticity"
        await pilot.resize_terminal(70, 16)
        await pilot.pause()
        assert view.position()[0] == "synaptic-plasticity"


def test_high_contrast_theme_meets_wcag_aa() -> None:
    background = Color.parse(CONTRAST_THEME.background or "#000000")
    for name in ("foreground", "primary", "accent", "secondary"):
        value = getattr(CONTRAST_THEME, name)
        assert contrast_ratio(Color.parse(value), background) >= 4.5, name
    assert contrast_ratio(Color.parse(CONTRAST_THEME.foreground or ""), background) >= 7.0


def test_contrast_ratio_formula() -> None:
    assert round(contrast_ratio(Color(0, 0, 0), Color(255, 255, 255)), 1) == 21.0
    assert round(contrast_ratio(Color(119, 119, 119), Color(255, 255, 255)), 2) == 4.48
