"""Text from outside the code, made safe to show: never markup, never a terminal command.

Everything kreader shows that it did not write itself (content and front matter, file and folder names, paths,
bookmark titles and notes, settings values, search input) goes through this module on its way to the screen or
a terminal:

* `clean` removes terminal escape sequences (CSI, OSC, DCS, SOS, PM, APC, two-byte escapes) and every C0 and C1
  control character but tab and newline, and turns lone surrogates (from file names that are not UTF-8) into
  U+FFFD, so the text can always be encoded and can never retitle, recolour or write the clipboard of the
  terminal it is written to. It is kreader's one control-character filter.
* `plain` and `plain_line` hand the cleaned text to Rich and Textual as a `rich.text.Text`, which no widget parses
  for markup (a ``str`` given to ``Tree.add``, ``Static``, ``Label``, ``OptionList`` or ``notify`` is markup:
  ``[@click=app.quit]`` would run an action, ``[/x]`` would raise).

This module imports nothing from Textual, and Rich only when a `Text` is asked for, so the command-line tools
that print plain strings (``kreader bookmarks``, ``kreader search``) do not pay for importing Rich.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.text import Text

# Terminal control sequences: CSI (7- and 8-bit), OSC/DCS/SOS/PM/APC strings, two-byte escapes, then any
# remaining C0 (but tab and newline), DEL and C1 control characters.
_CONTROL_RE = re.compile(
    r"""
    (?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?          # CSI ... final byte
  | (?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])     # OSC, DCS, SOS, PM, APC ...
      [^\x07\x1b\x9c\n]*(?:\x07|\x1b\\|\x9c)?   # ... up to BEL or ST (never past a line)
  | \x1b[ -/]*[0-~]?                            # other escapes (charset, keypad, RIS ...)
  | [\x00-\x08\x0b-\x1f\x7f-\x9f]               # stray controls
    """,
    re.VERBOSE,
)

_ANY_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
"""Every match of `_CONTROL_RE` starts with one of these characters."""

_SURROGATE_RE = re.compile(r"[\ud800-\udfff]")
"""Lone surrogates: Python's stand-ins for the bytes of a file name that is not UTF-8. They cannot be encoded."""

_UNSAFE_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
"""Any character `clean` has to act on: if none is present the text is returned as it is."""

_LINE_BREAKS_RE = re.compile(r"\s*[\n\t\v\f\x1c-\x1e\x85\u2028\u2029]\s*")
"""Line breaks and tabs, with the spaces around them: one space in a single-line label."""

REPLACEMENT = "\ufffd"
"""Shown in place of a character that cannot be encoded."""


def find_controls(text: str) -> list[tuple[int, str]]:
    """Line numbers (1-based) and ``repr`` of each terminal control sequence in ``text``."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    found: list[tuple[int, str]] = []
    for match in _CONTROL_RE.finditer(text):
        found.append((text.count("\n", 0, match.start()) + 1, repr(match.group())))
    return found


def valid_text(text: str) -> str:
    """``text`` with every lone surrogate (a file name's undecodable byte, JSON's ``"\\ud800"``) replaced by
    U+FFFD: what SQLite can store and UTF-8 can write. Nothing else changes, so an id stays an id."""
    return _SURROGATE_RE.sub(REPLACEMENT, text)


def clean(text: str) -> str:
    """``text`` without terminal escape sequences or control characters; tabs and newlines are kept.

    ``\\r\\n`` and a lone ``\\r`` become ``\\n``; a lone surrogate becomes U+FFFD. Textual's Markdown and Rich
    pass ESC through to the terminal, so without this a content file or a file name could retitle, recolour or
    write the clipboard of the reader's terminal.
    """
    if not _UNSAFE_RE.search(text):  # the usual case, told 50x faster than by _CONTROL_RE.sub
        return text
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _ANY_CONTROL_RE.search(text):
        text = _CONTROL_RE.sub("", text)
    return _SURROGATE_RE.sub(REPLACEMENT, text)


def clean_line(text: str) -> str:
    """`clean` text folded onto one line: each line break or tab (and the spaces around it) becomes a space."""
    return _LINE_BREAKS_RE.sub(" ", clean(text))


def plain(text: str, style: str = "") -> Text:
    """``text`` cleaned, as a `Text` that is shown exactly as written: no markup, no emoji codes."""
    from rich.text import Text

    return Text(clean(text), style=style)


def plain_line(text: str, style: str = "") -> Text:
    """Like `plain`, folded onto one line, for a label, a title or a list entry."""
    from rich.text import Text

    return Text(clean_line(text), style=style)
