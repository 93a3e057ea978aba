"""What a running app shows, cell by cell, dialogs over the screens beneath them, as the terminal gets it."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

from rich.segment import Segment
from textual.app import App
from textual.strip import Strip

CONSOLE_FONT = Path("/usr/share/consolefonts/Uni2-Fixed16.psf.gz")
"""Debian's default console font (package console-setup-linux)."""


def screen_rows(app: App[object]) -> list[Strip]:
    """One strip per row of the screen, the dialog composed over the screens under it."""
    update = app.screen._compositor.render_update(
        full=True, screen_stack=app._background_screens, simplify=True
    )
    rows: list[Strip] = []
    for row in update.strips:  # type: ignore[attr-defined]
        strips = list(row)
        rows.append(Strip.join(strips) if len(strips) != 1 else strips[0])
    return rows


def screen_text(app: App[object]) -> list[str]:
    """The screen's rows as text."""
    return [row.text for row in screen_rows(app)]


def cells(row: Strip) -> list[Segment]:
    """The row as one segment per character (its text and style)."""
    return [
        Segment(char, segment.style)
        for segment in row
        if not segment.control
        for char in segment.text
    ]


def psf_unicode(path: Path) -> set[str]:
    """The characters a PSF console font (version 1 or 2, gzipped or not) has a glyph for.

    Its Unicode table lists, for each glyph, the code points it draws; sequences (combining forms) are left out.
    """
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    found: set[str] = set()
    if data[:2] == b"\x36\x04":  # PSF1: 256 or 512 glyphs, a 16-bit table
        mode, height = data[2], data[3]
        if not mode & 0x02:
            raise ValueError(f"{path}: no Unicode table")
        start = 4 + (512 if mode & 0x01 else 256) * height
        in_sequence = False
        for (value,) in struct.iter_unpack(
            "<H", data[start : start + (len(data) - start) // 2 * 2]
        ):
            if value == 0xFFFF:
                in_sequence = False
            elif value == 0xFFFE:
                in_sequence = True
            elif not in_sequence:
                found.add(chr(value))
        return found
    if data[:4] == b"\x72\xb5\x4a\x86":  # PSF2: a UTF-8 table
        header_size, flags, length, glyph_size = struct.unpack("<4I", data[8:24])
        if not flags & 0x01:
            raise ValueError(f"{path}: no Unicode table")
        for entry in data[header_size + length * glyph_size :].split(b"\xff"):
            found.update(entry.split(b"\xfe")[0].decode("utf-8"))
        return found
    raise ValueError(f"{path}: not a PSF font")
