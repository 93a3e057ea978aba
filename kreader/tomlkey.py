"""Where a key is set in a TOML text: the line that messages name as ``file:line``.

`tomllib` says what a document means but not where each key is, and neither does tomlkit. The settings file
(`kreader.settings`), an article's front matter (`kreader.content`) and ``kreader check`` all point at the
line of a bad or unknown key, and all ask `key_line`. It reads the text as written: table headers
(``[a.b]``, ``[[a]]``), ``key = value`` lines with bare, quoted and dotted keys, and values that run over
several lines (multi-line strings, arrays, inline tables), whose inner lines are never taken for keys. It
expects a text `tomllib` accepts; on anything else it answers as best it can and never raises. This module
uses the standard library only.
"""

from __future__ import annotations

import re
import tomllib
from typing import Any

_SIMPLE_KEY = r"""(?:[A-Za-z0-9_-]+|"(?:[^"\\\n]|\\.)*"|'[^'\n]*')"""
_DOTTED_KEY = rf"{_SIMPLE_KEY}(?:[ \t]*\.[ \t]*{_SIMPLE_KEY})*"
_KEY_RE = re.compile(rf"[ \t]*({_DOTTED_KEY})[ \t]*=")
_HEADER_RE = re.compile(rf"[ \t]*\[\[?[ \t]*({_DOTTED_KEY})[ \t]*\]")


def key_parts(raw: str) -> tuple[str, ...]:
    """The parts of a dotted TOML key as written: ``a."b.c"`` is ``("a", "b.c")``."""
    try:
        node: Any = tomllib.loads(f"{raw} = 0")
    except tomllib.TOMLDecodeError:
        return (raw.strip(),)
    parts: list[str] = []
    while isinstance(node, dict) and len(node) == 1:
        ((name, node),) = node.items()
        parts.append(name)
    return tuple(parts)


def key_lines(text: str, first_line: int = 1) -> list[tuple[int, tuple[str, ...]]]:
    """Every table header and ``key = value`` of ``text``, in order: (line, full key path).

    Lines are counted from ``first_line`` (the file line of the text's first line: 2 for front matter after
    its ``+++``). A header's path is the table it opens; a key's is its table's path and then its own parts.
    """
    found: list[tuple[int, tuple[str, ...]]] = []
    table: tuple[str, ...] = ()
    open_string: str | None = None
    depth = 0
    for number, raw in enumerate(text.split("\n"), start=first_line):
        line = raw.rstrip("\r")
        if open_string is not None or depth > 0:
            open_string, depth = _scan_value(line, 0, open_string, depth)
            continue
        if header := _HEADER_RE.match(line):
            table = key_parts(header.group(1))
            found.append((number, table))
        elif key := _KEY_RE.match(line):
            open_string, depth = _scan_value(line, key.end(), None, 0)
            found.append((number, table + key_parts(key.group(1))))
    return found


def key_line(text: str, key: tuple[str, ...], first_line: int = 1) -> int | None:
    """The line of TOML ``text`` where ``key`` (``("kiosk", "featured")``) is set, counted from ``first_line``.

    If it is not set on a line of its own, the line of its closest enclosing table (an inline table, a
    dotted key or a header); failing that, the first line that sets something inside it (``[key.sub]``);
    None if nothing in ``text`` is about ``key``.
    """
    if not key:
        return None
    enclosing: tuple[int, int] | None = None  # (depth, line)
    inside: int | None = None
    for number, path in key_lines(text, first_line):
        if path == key:
            return number
        size = len(path)
        if size < len(key) and key[:size] == path and (enclosing is None or size > enclosing[0]):
            enclosing = (size, number)
        elif inside is None and path[: len(key)] == key:
            inside = number
    return enclosing[1] if enclosing is not None else inside


def _scan_value(
    line: str, index: int, open_string: str | None, depth: int
) -> tuple[str | None, int]:
    """Scan a value from ``index`` to the end of ``line`` or a comment.

    Returns the multi-line string still open (its quotes) and the depth of brackets still open, both
    carried from the lines before.
    """
    size = len(line)
    while index < size:
        if open_string is not None:
            while index < size:
                if open_string == '"""' and line[index] == "\\":
                    index += 2
                elif line.startswith(open_string, index):
                    index += 3
                    while index < size and line[index] == open_string[0]:
                        index += 1
                    open_string = None
                    break
                else:
                    index += 1
            continue
        char = line[index]
        if char == "#":
            break
        if line.startswith('"""', index) or line.startswith("'''", index):
            open_string = line[index : index + 3]
            index += 3
            continue
        if char == '"':
            index += 1
            while index < size and line[index] != '"':
                index += 2 if line[index] == "\\" else 1
        elif char == "'":
            close = line.find("'", index + 1)
            index = size if close < 0 else close
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth = max(0, depth - 1)
        index += 1
    return open_string, depth
