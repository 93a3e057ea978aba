"""What makes ``kreader serve``'s page a web app a tablet can add to its home screen: its title, icons, manifest.

No Textual and no web server here (the server in `kreader.server` uses it; so do the tests): the icon is
``kreader/web/icon.svg``, shipped with the package, and the PNG sizes that home screens want are drawn from
that file's rectangles, so the two never disagree.
"""

from __future__ import annotations

import re
import struct
import zlib
from functools import cache
from importlib.resources import files
from typing import Any

from kreader.safetext import clean_line

BACKGROUND = "#0c181f"
"""The page's background (textual-serve's), used as the manifest's background and theme colour."""
DEFAULT_TITLE = "kreader"
TITLE_LIMIT = 80
"""Longest title a browser tab or home-screen label gets, in characters."""
PNG_SIZES = (180, 192, 512)
"""Apple's touch icon, and the two sizes Android's installer asks a manifest for."""

_RECT = re.compile(r"<rect\b([^>]*)/>")
_ATTRIBUTE = re.compile(r'(\w+)="([^"]*)"')


def page_title(title: str | None) -> str:
    """A title for the page: the featured article's, on one line without control characters, not too long."""
    text = clean_line(title or "").strip()
    if len(text) > TITLE_LIMIT:
        text = text[: TITLE_LIMIT - 1].rstrip() + "…"
    return text or DEFAULT_TITLE


def icon_svg() -> bytes:
    """The icon as shipped (``kreader/web/icon.svg``)."""
    return files("kreader").joinpath("web", "icon.svg").read_bytes()


def icon_rectangles() -> list[tuple[int, int, int, int, tuple[int, int, int]]]:
    """The icon's rectangles, in drawing order: (x, y, width, height, RGB) on its 64 x 64 grid."""
    rectangles = []
    for match in _RECT.finditer(icon_svg().decode("utf-8")):
        attributes = dict(_ATTRIBUTE.findall(match.group(1)))
        colour = attributes["fill"].lstrip("#")
        rgb = (int(colour[0:2], 16), int(colour[2:4], 16), int(colour[4:6], 16))
        x, y, width, height = (int(attributes[key]) for key in ("x", "y", "width", "height"))
        rectangles.append((x, y, width, height, rgb))
    return rectangles


@cache
def icon_png(size: int) -> bytes:
    """The icon as a ``size`` x ``size`` PNG (drawn once per size, then kept)."""
    grid = 64
    canvas = [bytearray(3 * size) for _ in range(size)]
    for x, y, width, height, rgb in icon_rectangles():
        left, right = x * size // grid, (x + width) * size // grid
        top, bottom = y * size // grid, (y + height) * size // grid
        run = bytes(rgb) * (right - left)
        for row in canvas[top:bottom]:
            row[3 * left : 3 * right] = run
    raw = b"".join(b"\x00" + bytes(row) for row in canvas)  # filter type 0 on every row

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def manifest(title: str, font_size: int | None = None) -> dict[str, Any]:
    """The web manifest: a home-screen icon opens the page full screen, at the font size it was added with.

    Addresses are relative to the manifest's own, so they stay right behind a proxy that adds a path prefix.
    """
    start = "./" if font_size is None else f"./?fontsize={font_size}"
    return {
        "name": title,
        "short_name": title if len(title) <= 12 else DEFAULT_TITLE,
        "start_url": start,
        "scope": "./",
        "display": "fullscreen",
        "display_override": ["fullscreen", "standalone"],
        "background_color": BACKGROUND,
        "theme_color": BACKGROUND,
        "icons": [
            {"src": "icon.svg", "sizes": "any", "type": "image/svg+xml"},
            {"src": "icon-192.png", "sizes": "192x192", "type": "image/png"},
            {"src": "icon-512.png", "sizes": "512x512", "type": "image/png"},
        ],
    }


def head_tags(title: str, base: str, font_size: int | None = None) -> list[str]:
    """The page's ``<head>`` lines for a web app: title, icons, manifest, and full screen from a home screen.

    ``title`` must already be HTML-escaped; ``base`` is the public URL's prefix ('' for plain paths).
    """
    query = "" if font_size is None else f"?fontsize={font_size}"
    return [
        f"<title>{title}</title>",
        f'<link rel="icon" href="{base}/icon.svg" type="image/svg+xml">',
        f'<link rel="icon" href="{base}/icon-192.png" type="image/png" sizes="192x192">',
        f'<link rel="apple-touch-icon" href="{base}/icon-180.png">',
        f'<link rel="manifest" href="{base}/manifest.webmanifest{query}">',
        f'<meta name="theme-color" content="{BACKGROUND}">',
        '<meta name="mobile-web-app-capable" content="yes">',
        '<meta name="apple-mobile-web-app-capable" content="yes">',
        '<meta name="apple-mobile-web-app-status-bar-style" content="black-translucent">',
        f'<meta name="apple-mobile-web-app-title" content="{title}">',
    ]
