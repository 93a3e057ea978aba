"""Reading files kreader does not control: content and settings.

Only regular files are read (a FIFO would block ``open`` or ``read`` forever, ``/dev/zero`` never ends), the size
limit holds while reading (a file can grow after ``stat``), and TOML nesting is measured before ``tomllib``
recurses into it. This module uses the standard library only: no Textual, no Markdown.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

MAX_TOML_DEPTH = 64
"""Deepest nesting of arrays and inline tables accepted in TOML (tomllib recurses once per level or more)."""


class SourceError(Exception):
    """A file that is not read: not a regular file, too large, or not readable. ``str()`` is the reason."""


def _kind(mode: int) -> str:
    """What a non-regular file is, in words."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "an unknown kind of file"


def read_regular(path: Path, limit: int) -> bytes:
    """The bytes of ``path`` if it is a regular file of at most ``limit`` bytes.

    Raises `SourceError` for anything else (FIFO, device, socket, folder, too large) and `OSError` (including
    `FileNotFoundError`) when it cannot be opened. The file is checked with ``stat`` before it is opened, opened
    without blocking, checked again with ``fstat`` (it may have been swapped in between), and read up to
    ``limit + 1`` bytes at most.
    """
    info = os.stat(path)
    if not stat.S_ISREG(info.st_mode):
        raise SourceError(f"not a regular file ({_kind(info.st_mode)})")
    if info.st_size > limit:
        raise SourceError(f"file is too large ({info.st_size} bytes; the limit is {limit})")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    descriptor = os.open(path, flags)
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise SourceError(f"not a regular file ({_kind(info.st_mode)})")
        chunks: list[bytes] = []
        total = 0
        # The size stat gave, plus one byte to see it grew, in one read: the file is never held twice.
        want = min(info.st_size + 1, limit + 1)
        while total <= limit:
            chunk = os.read(descriptor, min(max(want - total, 1 << 16), limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    finally:
        os.close(descriptor)
    if total > limit:
        raise SourceError(f"file is too large (more than {limit} bytes, the limit)")
    return b"".join(chunks)


_TOML_TOKEN_RE = re.compile(
    r'''"""(?:[^"\\]|\\.|"(?!""))*(?:""")?   # multi-line basic string
      | \'\'\'(?:[^']|'(?!''))*(?:\'\'\')?    # multi-line literal string
      | "(?:[^"\\\n]|\\.)*"?                  # basic string
      | '[^'\n]*'?                            # literal string
      | \#[^\n]*                              # comment
      | [\[\]{}\n]
    ''',
    re.VERBOSE | re.DOTALL,
)


def toml_too_deep(text: str, limit: int = MAX_TOML_DEPTH) -> int | None:
    """The 1-based line where TOML ``text`` nests arrays or inline tables deeper than ``limit``, or None.

    Strings and comments are skipped, so brackets inside them do not count. Run before `tomllib.loads`, which
    recurses once per level and would end in `RecursionError`.
    """
    if text.count("[") + text.count("{") <= limit:
        return None
    depth = 0
    line = 1
    for match in _TOML_TOKEN_RE.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > limit:
                return line
        elif token in "]}":
            depth = max(0, depth - 1)
        elif token == "\n":
            line += 1
        else:
            line += token.count("\n")
    return None
