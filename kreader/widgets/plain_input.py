"""An `Input` whose value is always plain, one-line text: what is typed or pasted is echoed, never obeyed."""

from __future__ import annotations

from textual.widgets import Input

from kreader.safetext import clean_line


class PlainInput(Input):
    """Search words and bookmark notes: pasted escape sequences and control characters are dropped.

    Textual's `Input` draws its value as it is, so a pasted ``ESC ] 0 ; ...`` would reach the terminal each time
    the field is drawn.
    """

    def replace(self, text: str, start: int, end: int) -> None:
        # Cleaned here as well as in `validate_value`, so the cursor lands after what was really inserted.
        super().replace(clean_line(text), start, end)

    def validate_value(self, value: str) -> str:
        """Every assignment to ``value`` (typing, pasting, code) goes through `clean_line`."""
        return clean_line(value)
