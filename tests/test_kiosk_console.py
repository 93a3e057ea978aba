"""The kiosk on the Linux console, and a QR code a real decoder reads (issue 15).

Every kiosk screen drawn in console mode is checked, cell by cell, against the Unicode table of the console font
Debian ships (console-setup-linux's Uni2-Fixed16); the QR code the contact dialog draws is rasterised from the
cells on screen, in their real colours, and decoded with zbarimg (zbar-tools).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from rendered import CONSOLE_FONT, cells, psf_unicode, screen_rows
from rich.color import Color
from rich.style import Style
from textual.pilot import Pilot

from kreader.contact import contact_qr_data
from kreader.content import Contact, Library, load_library
from kreader.factory import make_app
from kreader.glyphs import console_mode
from kreader.kiosk_app import KioskApp
from kreader.pin import hash_pin
from kreader.settings import THEMES, Settings, SettingsError, load_settings
from kreader.store import Store

PIN = "2468"
PIN_HASH = hash_pin(PIN, salt=b"0123456789abcdef")


class FrozenClock:
    def __init__(self) -> None:
        self.now = 5_000.0

    def __call__(self) -> float:
        return self.now


def kiosk(
    library: Library,
    *,
    glyphs: str = "console",
    theme: str | None = None,
    clock: FrozenClock | None = None,
) -> KioskApp:
    settings = Settings(kiosk=True, glyphs=glyphs, admin_pin_hash=PIN_HASH)
    app = make_app(
        library, Store.in_memory(), settings, kiosk=True, theme=theme, clock=clock or FrozenClock()
    )
    assert isinstance(app, KioskApp)
    app.tick_seconds = 3600  # the test ticks by hand
    app.animation_level = "none"
    return app


@pytest.fixture(scope="module")
def console_font() -> set[str]:
    if not CONSOLE_FONT.exists():
        pytest.skip(f"{CONSOLE_FONT} is missing: apt-get install console-setup-linux")
    return psf_unicode(CONSOLE_FONT)


# -- console mode ---------------------------------------------------------------------------------------------


def test_console_mode_follows_term_and_the_setting() -> None:
    assert console_mode("auto", {"TERM": "linux"})
    assert not console_mode("auto", {"TERM": "xterm-256color"})
    assert not console_mode("auto", {})
    assert console_mode("console", {"TERM": "xterm-256color"})
    assert not console_mode("unicode", {"TERM": "linux"})


def test_glyphs_setting_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "kreader.toml"
    path.write_text('glyphs = "console"\n', encoding="utf-8")
    assert load_settings(path).glyphs == "console"
    assert Settings().glyphs == "auto"
    path.write_text('theme = "nord"\nglyphs = "ascii"\n', encoding="utf-8")
    with pytest.raises(SettingsError) as error:
        load_settings(path)
    assert str(error.value).startswith(f"{path}:2: key 'glyphs' must be one of")


async def test_term_linux_switches_the_kiosk_to_console_mode(
    content_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TERM", "linux")
    app = kiosk(load_library(content_dir), glyphs="auto")
    assert app.glyphs.console and app.has_class("-console")
    monkeypatch.setenv("TERM", "xterm-256color")
    assert not kiosk(load_library(content_dir), glyphs="auto").glyphs.console


async def _press(pilot: Pilot[None], *keys: str) -> None:
    await pilot.press(*keys)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause(0.1)


async def _reading(pilot: Pilot[None]) -> None:
    await pilot.press("n")


async def _attract(pilot: Pilot[None]) -> None:
    app = pilot.app
    assert isinstance(app, KioskApp)
    clock = app.clock
    assert isinstance(clock, FrozenClock)
    clock.now += app.settings.idle_seconds + 1
    app.tick()
    await pilot.pause()
    assert app.reader().has_class("-attract")


async def _toast(pilot: Pilot[None]) -> None:
    pilot.app.notify("The content was reloaded.")
    pilot.app.notify("A file was skipped.", severity="warning")
    pilot.app.notify("Something went wrong.", severity="error")
    await pilot.pause(0.2)


async def _staff(pilot: Pilot[None]) -> None:
    await _press(pilot, "f12", *PIN, "enter")
    assert type(pilot.app.screen).__name__ == "StaffMenu"


async def _bookmarks(pilot: Pilot[None]) -> None:
    await _press(pilot, "b", "B")


async def _search(pilot: Pilot[None]) -> None:
    await _press(pilot, "slash", *"ketamine")
    await pilot.pause(0.3)


KIOSK_SCREENS: dict[str, Callable[[Pilot[None]], Awaitable[None]]] = {
    "reading": _reading,
    "attract loop": _attract,
    "toasts": _toast,
    "contact": lambda pilot: _press(pilot, "c"),
    "help": lambda pilot: _press(pilot, "question_mark"),
    "pin": lambda pilot: _press(pilot, "f12", "1", "2"),
    "staff menu": _staff,
    "search": _search,
    "bookmarks": _bookmarks,
}


def _foreign(app: KioskApp, font: set[str]) -> list[str]:
    """Every character on screen the console font cannot draw, with where it is."""
    found = []
    for y, row in enumerate(screen_rows(app)):
        text = row.text
        for x, char in enumerate(text):
            if char not in font:
                found.append(f"{char!r} (U+{ord(char):04X}) at {x},{y}: {text.strip()[:60]!r}")
    return found


@pytest.mark.parametrize("size", [(80, 24), (160, 60)], ids=["80x24", "160x60"])
@pytest.mark.parametrize("name", list(KIOSK_SCREENS))
async def test_every_kiosk_screen_draws_with_the_console_font(
    content_dir: Path, console_font: set[str], name: str, size: tuple[int, int]
) -> None:
    app = kiosk(load_library(content_dir))
    async with app.run_test(size=size, notifications=True) as pilot:
        await pilot.pause()
        await KIOSK_SCREENS[name](pilot)
        await pilot.pause()
        assert _foreign(app, console_font) == []


async def test_every_section_of_the_featured_article_draws_with_the_console_font(
    content_dir: Path, console_font: set[str]
) -> None:
    library = load_library(content_dir)
    app = kiosk(library)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        for _ in library.articles[0].sections:
            assert _foreign(app, console_font) == []
            await pilot.press("space", "space")
            assert _foreign(app, console_font) == []
            await pilot.press("n")
            await pilot.pause()


async def test_unavailable_screen_draws_with_the_console_font(
    tmp_path: Path, console_font: set[str]
) -> None:
    app = kiosk(Library(tmp_path, ()))
    app.load_error = "no articles in the content folder"
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert type(app.screen).__name__ == "UnavailableScreen"
        assert _foreign(app, console_font) == []
        await _press(pilot, "f12")
        assert type(app.screen).__name__ == "PinScreen"
        assert _foreign(app, console_font) == []


def test_the_console_font_reader_agrees_with_psfgettable(console_font: set[str]) -> None:
    """The few lines that read the PSF file find what kbd's own tool finds (when kbd is installed)."""
    assert "█" in console_font and "─" in console_font
    assert not {"▀", "▄", "▎", "☎", "✚", "★"} & console_font
    tool = shutil.which("psfgettable")
    if tool is None:
        return
    import gzip
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".psf") as raw:
        raw.write(gzip.decompress(CONSOLE_FONT.read_bytes()))
        raw.flush()
        listed = subprocess.run([tool, raw.name], capture_output=True, text=True, check=True).stdout
    points = {
        chr(int(word[2:], 16))
        for line in listed.splitlines()
        if not line.startswith("#")
        for word in line.split()[1:]
        if word.startswith("U+")
    }
    assert points <= console_font and len(console_font - points) == 0


# -- the QR code scans ----------------------------------------------------------------------------------------

CELL_W, CELL_H = 4, 8
"""Pixels of a terminal cell in the rasterised image (a cell is about twice as tall as wide)."""


def _rgb(color: Color | None, fallback: tuple[int, int, int]) -> tuple[int, int, int]:
    if color is None or color.is_default:
        return fallback
    triplet = color.get_truecolor()
    return triplet.red, triplet.green, triplet.blue


def _grey(rgb: tuple[int, int, int]) -> int:
    red, green, blue = rgb
    return round(0.299 * red + 0.587 * green + 0.114 * blue)


def rasterise_qr(app: KioskApp, path: Path) -> Path:
    """Draw the cells of the contact dialog's QR code, each a filled rectangle in its own colours (half-block
    cells split in two), into a PGM image a decoder can read; a margin of the dialog's own cells is kept."""
    qr = app.screen.query_one("#contact-qr")
    region = qr.content_region.grow((2, 4, 2, 4)).intersection(app.screen.region)
    rows = screen_rows(app)
    width, height = region.width * CELL_W, region.height * CELL_H
    pixels = bytearray(width * height)
    for y in range(region.height):
        row = cells(rows[region.y + y])
        for x in range(region.width):
            segment = row[region.x + x]
            style = segment.style or Style()
            fore = _rgb(style.color, (255, 255, 255))
            back = _rgb(style.bgcolor, (0, 0, 0))
            if style.reverse:
                fore, back = back, fore
            top, bottom = {
                "█": (fore, fore),
                "▀": (fore, back),
                "▄": (back, fore),
            }.get(segment.text, (back, back))
            for dy in range(CELL_H):
                shade = _grey(top if dy < CELL_H // 2 else bottom)
                start = (y * CELL_H + dy) * width + x * CELL_W
                pixels[start : start + CELL_W] = bytes([shade]) * CELL_W
    path.write_bytes(f"P5 {width} {height} 255\n".encode("ascii") + bytes(pixels))
    return path


def zbar_decode(image: Path) -> str:
    zbarimg = shutil.which("zbarimg")
    if zbarimg is None:
        pytest.skip("zbarimg is missing: apt-get install zbar-tools")
    result = subprocess.run(
        [zbarimg, "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(image)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, f"zbarimg found no code in {image}: {result.stderr}"
    return result.stdout.rstrip("\n")


async def _decoded_contact(app: KioskApp, tmp_path: Path, size: tuple[int, int]) -> str:
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await _press(pilot, "c")
        qr = app.screen.query_one("#contact-qr")
        assert qr.content_region.height > 0
        scroll = app.screen.query_one("#contact-scroll")
        assert scroll.max_scroll_y == 0, f"the whole code must be on screen at {size}"
        return zbar_decode(rasterise_qr(app, tmp_path / f"qr-{app.theme}.pgm"))


KIOSK_THEMES = list(THEMES)  # the ANSI themes too: they once stopped the kiosk (see test_themes.py)


@pytest.mark.parametrize("theme", KIOSK_THEMES)
async def test_the_contact_qr_code_scans_in_every_theme(
    content_dir: Path, tmp_path: Path, theme: str
) -> None:
    library = load_library(content_dir)
    app = kiosk(library, glyphs="unicode", theme=theme)
    decoded = await _decoded_contact(app, tmp_path, (100, 40))
    assert decoded == contact_qr_data(library.articles[0].contact)
    assert "TEL:+14322188135" in decoded and "ADR:5105 Sunmore Cir" in decoded


@pytest.mark.parametrize("theme", ["kreader-contrast", "textual-light", "textual-dark", "nord"])
async def test_the_contact_qr_code_scans_in_console_mode(
    content_dir: Path, tmp_path: Path, theme: str
) -> None:
    library = load_library(content_dir)
    app = kiosk(library, glyphs="console", theme=theme)
    decoded = await _decoded_contact(app, tmp_path, (160, 66))
    assert decoded == contact_qr_data(library.articles[0].contact)


CLINIC = """+++
title = "Clinic notes"

[contact]
name = "Midland Wellness Clinic"
address = "5105 Sunmore Cir, Suite B, Midland, TX 79707"
phone = "(432) 218-8135"
email = "front@example.org"
url = "https://example.org/"
+++

# Clinic notes

Opening words.
"""


@pytest.mark.parametrize("glyphs", ["unicode", "console"])
async def test_the_qr_code_carries_name_phone_address_email_and_website(
    tmp_path: Path, glyphs: str
) -> None:
    folder = tmp_path / "content"
    folder.mkdir()
    (folder / "clinic.md").write_text(CLINIC, encoding="utf-8")
    library = load_library(folder)
    decoded = await _decoded_contact(
        kiosk(library, glyphs=glyphs), tmp_path, (100, 40) if glyphs == "unicode" else (180, 80)
    )
    assert decoded.startswith("MECARD:N:Midland Wellness Clinic;TEL:+14322188135;")
    assert "ADR:5105 Sunmore Cir\\, Suite B\\, Midland\\, TX 79707;" in decoded
    assert "EMAIL:front@example.org;" in decoded
    assert "URL:https\\://example.org/;" in decoded


def test_the_qr_payload_of_a_contact_without_a_name() -> None:
    data = contact_qr_data(Contact(phone="432-218-8135", email="a@b.org"))
    assert data == "MECARD:N:Clinic;TEL:+14322188135;EMAIL:a@b.org;;"
