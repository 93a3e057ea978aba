"""A QR code as text, for the kiosk's contact dialog."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text


def qr_text(data: str) -> Text:
    """The QR code drawn with half-block characters, dark on white whatever the theme, so a phone can read it."""
    import segno

    code = segno.make(data, error="l", micro=False)
    rows = [list(row) for row in code.matrix_iter(scale=1, border=2)]
    if len(rows) % 2:
        rows.append([0] * len(rows[0]))
    ink = Style(color="#000000", bgcolor="#ffffff")
    lines = []
    for top, bottom in zip(rows[::2], rows[1::2], strict=True):
        cells = zip(top, bottom, strict=True)
        lines.append("".join("█" if a and b else "▀" if a else "▄" if b else " " for a, b in cells))
    return Text("\n".join(lines), style=ink, no_wrap=True, overflow="crop", end="")
