"""A QR code as text, for the kiosk's contact dialog."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text

QUIET_ZONE = 4
"""Light modules around the code, as the QR standard asks: phones find a code with less margin badly."""
INK = Style(color="#000000", bgcolor="#ffffff")
"""Dark modules on a light field whatever the theme: phone cameras look for dark on light."""


def qr_matrix(data: str) -> list[list[bool]]:
    """The modules of the code for ``data`` (True: dark), quiet zone included."""
    import segno

    code = segno.make(data, error="l", micro=False)
    return [[bool(m) for m in row] for row in code.matrix_iter(scale=1, border=QUIET_ZONE)]


def qr_text(data: str, *, console: bool = False) -> Text:
    """The QR code as text, dark on white.

    Two modules a cell with half blocks (``▀ ▄``); on the Linux console, whose fonts lack half blocks, one
    module is two cells of full blocks side by side (a cell is about twice as tall as it is wide).
    """
    rows = qr_matrix(data)
    if console:
        lines = ["".join("██" if dark else "  " for dark in row) for row in rows]
    else:
        if len(rows) % 2:
            rows.append([False] * len(rows[0]))
        lines = [
            "".join(
                "█" if a and b else "▀" if a else "▄" if b else " "
                for a, b in zip(top, bottom, strict=True)
            )
            for top, bottom in zip(rows[::2], rows[1::2], strict=True)
        ]
    return Text("\n".join(lines), style=INK, no_wrap=True, overflow="crop", end="")
