"""Which characters kreader draws with: all of Unicode, or only what the Linux console's font has.

The Linux console (``TERM=linux``, where the kiosk unit runs on tty1) draws only the glyphs its font holds,
at most 512. Debian's console-setup fonts have ``█``, the light and heavy box lines, ``•``, ``▶ ▼`` and
``↑ ↓``, but none of the half and eighth blocks (``▀ ▄ ▌ ▎ ▔ ▁``) nor ``☎ ✚ ★``. This module never imports
Textual: the app asks it once and applies the answer (a ``-console`` class on the app picks the stylesheet's
console rules; the values below replace kreader's own icons).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Glyphs:
    """kreader's own icons, in one character set."""

    console: bool
    """True: only characters of the Linux console font (the QR code in full blocks, two cells a module)."""
    kiosk_icon: str
    """The kiosk header's icon."""
    reader_icon: str
    """The reader header's icon."""
    phone: str
    """Before the clinic's phone number and address on the kiosk's contact line."""
    bookmark: str
    """Marks a bookmarked section in the contents."""


UNICODE = Glyphs(console=False, kiosk_icon="✚", reader_icon="≡", phone="☎ ", bookmark="★ ")
CONSOLE = Glyphs(console=True, kiosk_icon="+", reader_icon="≡", phone="", bookmark="* ")


def console_mode(setting: str, environ: Mapping[str, str]) -> bool:
    """Should kreader draw for the Linux console? ``setting``: the settings' ``glyphs`` value."""
    if setting == "console":
        return True
    if setting == "unicode":
        return False
    return environ.get("TERM", "") == "linux"


def glyphs_for(setting: str, environ: Mapping[str, str]) -> Glyphs:
    """The `Glyphs` to draw with, for the settings' ``glyphs`` value and the environment."""
    return CONSOLE if console_mode(setting, environ) else UNICODE
