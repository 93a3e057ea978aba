"""The settings file: reader preferences and kiosk options, in TOML.

This module never imports Textual. It reads the file into a frozen `Settings` value, reports any
problem as a one-line `SettingsError` naming the file, the line and the key, and edits the file line
by line, so that the reader's own changes (theme, width) and ``kreader kiosk set-pin`` keep every
other line and comment.

Where the file is: ``--config FILE``, else ``$KREADER_CONFIG``, else the user's config folder (for
example ``~/.config/kreader/kreader.toml``). A missing file means every default.

The format::

    # Reader preferences (kreader saves theme and width here when you change them).
    theme = "textual-light"   # a Textual theme or "kreader-contrast"; default: textual-dark
    width = 80                # reading column width in cells, 30 to 200; default: fill
    content = "~/library"     # library folder; ~ expanded; relative to this file's folder
    glyphs = "console"        # "console": only the Linux console font's characters; default "auto"

    [kiosk]
    enabled = true            # start as a waiting-room kiosk (like --kiosk); default: false
    idle_seconds = 90         # no input for this long starts the attract loop; at least 5
    rotate_seconds = 25       # the attract loop moves on this often; at least 5
    featured = "flu-season"   # article the attract loop starts from (file name without .md)
    theme = "kreader-contrast"  # theme in kiosk mode (this high-contrast one by default)
    admin_pin_hash = "scrypt$16384$8$1$..."  # written by `kreader kiosk set-pin`

``kiosk = true`` (or ``false``) at the top level is a short form of ``[kiosk] enabled = ...``
for when no other kiosk option is needed. Unknown keys are errors, so a misspelt option is
reported rather than silently ignored.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import stat
import tempfile
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import platformdirs

from kreader.errors import UserError
from kreader.sources import MAX_TOML_DEPTH, SourceError, read_regular, toml_too_deep

CONFIG_ENV = "KREADER_CONFIG"
"""Environment variable naming the settings file."""

CONFIG_NAME = "kreader.toml"
"""File name of the settings file inside the user's config folder."""

CONTRAST_THEME = "kreader-contrast"
"""The high-contrast theme kreader registers; the default theme of kiosk mode."""

WIDTH_RANGE = (30, 200)
"""Smallest and largest reading column width, in cells."""

GLYPHS = ("auto", "unicode", "console")
"""Values of ``glyphs``: "auto" draws for the Linux console when ``TERM=linux``, "console" always does,
"unicode" never does."""

MIN_SECONDS = 5.0
"""Smallest accepted ``idle_seconds`` and ``rotate_seconds``."""

MAX_FILE_BYTES = 1024 * 1024
"""A settings file larger than this is refused."""

TOP_LEVEL_KEYS = ("content", "glyphs", "kiosk", "theme", "width")
KIOSK_KEYS = ("admin_pin_hash", "enabled", "featured", "idle_seconds", "rotate_seconds", "theme")
PREFERENCE_KEYS = ("theme", "width")
"""Keys `save_preferences` may change."""

_BELONGS_IN_KIOSK = {
    "enabled": "it belongs in the [kiosk] table",
    "idle_seconds": "it belongs in the [kiosk] table",
    "rotate_seconds": "it belongs in the [kiosk] table",
    "featured": "it belongs in the [kiosk] table",
    "admin_pin_hash": "it belongs in the [kiosk] table",
    "kiosk_theme": "write it as 'theme' in the [kiosk] table",
}
_THEME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}")
THEMES = (
    *("ansi-dark", "ansi-light", "atom-one-dark", "atom-one-light", "catppuccin-frappe"),
    *("catppuccin-latte", "catppuccin-macchiato", "catppuccin-mocha", "dracula", "flexoki"),
    *(
        "gruvbox",
        CONTRAST_THEME,
        "monokai",
        "nord",
        "rose-pine",
        "rose-pine-dawn",
        "rose-pine-moon",
    ),
    *("solarized-dark", "solarized-light", "textual-dark", "textual-light", "tokyo-night"),
)
"""Every theme the app can show: Textual 8.2's built-in themes and kreader's own (a test keeps this list
equal to `kreader.themes.theme_names`; listed here because this module must not import Textual)."""
_NEW_FILE_HEADER = "# kreader settings (TOML). Check them with: kreader kiosk check-config\n"


class SettingsError(UserError):
    """An unreadable, unwritable or invalid settings file.

    ``str()`` is one line: ``FILE:LINE: reason`` (or ``FILE: reason`` when no line applies).
    """

    def __init__(
        self, path: Path, reason: str, line: int | None = None, key: str | None = None
    ) -> None:
        self.path = path
        self.reason = reason
        self.line = line
        self.key = key
        """Dotted key the problem is about (``kiosk.idle_seconds``), if any."""
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else f"{self.path}"
        return _one_line(f"{where}: {self.reason}")


@dataclass(frozen=True)
class Settings:
    """Everything the settings file can set; the defaults are what a missing file means."""

    theme: str | None = None
    """Theme of the reader; None means the app default (textual-dark)."""
    width: int | None = None
    """Reading column width in cells (30..200); None fills the screen."""
    kiosk: bool = False
    """Start in kiosk mode."""
    idle_seconds: float = 90
    """Seconds without input before the kiosk's attract loop starts."""
    rotate_seconds: float = 25
    """Seconds between steps of the attract loop."""
    featured: str | None = None
    """Id of the article the attract loop starts from; None means the first one."""
    kiosk_theme: str = CONTRAST_THEME
    """Theme in kiosk mode."""
    admin_pin_hash: str | None = None
    """Hash of the staff PIN (see `kreader.kiosk.hash_pin`); None means no PIN is set."""
    content: str | None = None
    """Library folder, made absolute against the settings file's folder; None: the bundled one."""
    glyphs: str = "auto"
    """Which characters to draw with: one of `GLYPHS` (see `kreader.glyphs.console_mode`)."""


def default_config_path(explicit: Path | None = None) -> Path:
    """The settings file: ``explicit`` (--config), else ``$KREADER_CONFIG``, else the default."""
    if explicit is not None:
        return explicit.expanduser()
    from_env = os.environ.get(CONFIG_ENV, "")
    if from_env:
        return Path(from_env).expanduser()
    return platformdirs.user_config_path("kreader") / CONFIG_NAME


def load_settings(path: Path) -> Settings:
    """Read and check the settings file; a missing file gives the defaults.

    Raises `SettingsError` for a file that cannot be read, is not UTF-8 or TOML, or holds an
    unknown key or a value of the wrong type or out of range.
    """
    text = _read_text(path)
    if text is None:
        return Settings()
    return _parse(text, path)


def key_line(path: Path, key: tuple[str, ...]) -> int | None:
    """The 1-based line of the settings file where ``key`` (``("kiosk", "featured")``) is set, if found."""
    try:
        text = _read_text(path)
    except SettingsError:
        return None
    return None if text is None else _line_of(_scan(_split_lines(text)), key)


def save_preferences(path: Path, **changes: str | int | None) -> None:
    """Set top-level ``theme`` and/or ``width`` in the settings file; None removes the key.

    Every other line and comment is kept. The file (and its folder) is created if missing, and
    replaced atomically. Raises `SettingsError` for a bad value, if the existing file is invalid (it
    is left alone rather than overwritten) or if it cannot be written; `TypeError` for a key other
    than theme and width.
    """
    rendered: dict[str, str | None] = {}
    for key, value in changes.items():
        if key not in PREFERENCE_KEYS:
            raise TypeError(
                f"save_preferences: unknown key {key!r} (known: {', '.join(PREFERENCE_KEYS)})"
            )
        problem = _check_preference(key, value)
        if problem:
            raise SettingsError(path, f"not saved: {problem}", key=key)
        rendered[key] = None if value is None else f"{key} = {_toml_value(value)}"

    def edit(lines: list[str], newline: str) -> list[str]:
        for key, line in rendered.items():
            lines = _set_top_level_key(lines, key, line, newline)
        return lines

    def expect(old: Settings) -> Settings:
        theme, width = changes.get("theme"), changes.get("width")
        if "theme" in rendered:
            old = replace(old, theme=theme if isinstance(theme, str) else None)
        if "width" in rendered:
            old = replace(old, width=width if isinstance(width, int) else None)
        return old

    _update_file(path, edit, expect, " and ".join(rendered) or "preferences")


def save_kiosk_pin(path: Path, pin_hash: str) -> None:
    """Write ``admin_pin_hash`` into the ``[kiosk]`` table of the settings file, keeping the rest.

    A top-level ``kiosk = true`` becomes ``[kiosk] enabled = true``. Raises `ValueError` for a
    malformed hash and `SettingsError` if the existing file is invalid or cannot be written.
    """
    from kreader.kiosk import pin_hash_problem

    problem = pin_hash_problem(pin_hash)
    if problem:
        raise ValueError(f"save_kiosk_pin: {problem}")
    line = f"admin_pin_hash = {_toml_value(pin_hash)}"

    def edit(lines: list[str], newline: str) -> list[str]:
        return _set_kiosk_key(lines, "admin_pin_hash", line, newline)

    def expect(old: Settings) -> Settings:
        return replace(old, admin_pin_hash=pin_hash)

    _update_file(path, edit, expect, "the staff PIN")


# --- reading and checking -------------------------------------------------------------------------


def _one_line(text: str) -> str:
    """``text`` with line breaks and other control characters escaped, to keep it on one line."""
    return "".join(
        ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode("ascii")
        for ch in text
    )


def _read_text(path: Path) -> str | None:
    """The file's text, or None if there is no file."""
    try:
        data = read_regular(path, MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        return None
    except SourceError as exc:
        raise SettingsError(path, f"cannot read settings: {_size_hint(str(exc))}") from None
    except OSError as exc:
        raise SettingsError(path, f"cannot read settings: {exc.strerror or exc}") from None
    return _decode(data, path)


def _size_hint(reason: str) -> str:
    return (
        f"settings file is larger than {MAX_FILE_BYTES // 1024} KiB"
        if "too large" in reason
        else reason
    )


def _decode(data: bytes, path: Path) -> str:
    """The text of the settings file ``path`` from its bytes."""
    if len(data) > MAX_FILE_BYTES:
        raise SettingsError(path, f"settings file is larger than {MAX_FILE_BYTES // 1024} KiB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise SettingsError(path, f"not valid UTF-8 (byte 0x{data[exc.start]:02x})", line) from None
    return text.removeprefix("\ufeff")


def _parse(text: str, path: Path) -> Settings:
    """Check ``text`` (the content of ``path``) and turn it into `Settings`."""
    deep = toml_too_deep(text)
    if deep is not None:
        raise SettingsError(
            path, f"invalid TOML: arrays or tables nested more than {MAX_TOML_DEPTH} deep", deep
        )
    try:
        data = tomllib.loads(text)
    except RecursionError:
        raise SettingsError(path, "invalid TOML: arrays or tables nested too deeply") from None
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = re.search(r"\(at line (\d+), column \d+\)", message)
        if match:
            line: int | None = int(match.group(1))
        elif "end of document" in message:
            line = max(1, text.count("\n") + (0 if text.endswith("\n") else 1))
        else:
            line = None
        reason = re.sub(r"\s*\(at (?:line \d+, column \d+|end of document)\)", "", message).strip()
        raise SettingsError(path, f"invalid TOML: {reason or 'syntax error'}", line) from None
    return _Checker(text, path).check(data)


class _Checker:
    """Checks parsed TOML key by key, in file order, and builds `Settings`."""

    def __init__(self, text: str, path: Path) -> None:
        self.path = path
        self.statements = _scan(_split_lines(text))

    def error(self, key: tuple[str, ...], reason: str) -> SettingsError:
        return SettingsError(self.path, reason, _line_of(self.statements, key), ".".join(key))

    def check(self, data: Mapping[str, Any]) -> Settings:
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key == "theme":
                values["theme"] = self.theme((key,), value)
            elif key == "width":
                values["width"] = self.width(value)
            elif key == "content":
                values["content"] = self.content(value)
            elif key == "glyphs":
                if value not in GLYPHS:
                    raise self.error(
                        (key,), f"key 'glyphs' must be one of: {', '.join(map(repr, GLYPHS))}"
                    )
                values["glyphs"] = value
            elif key == "kiosk":
                if isinstance(value, bool):
                    values["kiosk"] = value
                elif isinstance(value, dict):
                    values.update(self.kiosk_table(value))
                else:
                    raise self.error((key,), "key 'kiosk' must be true, false or a [kiosk] table")
            else:
                hint = _BELONGS_IN_KIOSK.get(key, f"known: {', '.join(TOP_LEVEL_KEYS)}")
                raise self.error((key,), f"unknown key '{key}' ({hint})")
        return Settings(**values)

    def kiosk_table(self, table: Mapping[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for key, value in table.items():
            where = ("kiosk", key)
            name = f"kiosk.{key}"
            if key == "enabled":
                if not isinstance(value, bool):
                    raise self.error(where, f"key '{name}' must be true or false")
                values["kiosk"] = value
            elif key in ("idle_seconds", "rotate_seconds"):
                if not _is_number(value) or not math.isfinite(value) or value < MIN_SECONDS:
                    raise self.error(
                        where, f"key '{name}' must be a number of seconds >= {MIN_SECONDS:g}"
                    )
                values[key] = value
            elif key == "featured":
                if not isinstance(value, str) or not value.strip() or not value.isprintable():
                    raise self.error(
                        where, f"key '{name}' must be an article id (its file name without .md)"
                    )
                values["featured"] = value
            elif key == "theme":
                values["kiosk_theme"] = self.theme(where, value)
            elif key == "admin_pin_hash":
                values["admin_pin_hash"] = self.pin_hash(value)
            else:
                raise self.error(where, f"unknown key '{name}' (known: {', '.join(KIOSK_KEYS)})")
        return values

    def theme(self, where: tuple[str, ...], value: Any) -> str:
        if not isinstance(value, str) or not _THEME_RE.fullmatch(value):
            raise self.error(
                where,
                f"key '{'.'.join(where)}' must be a theme name "
                f"such as 'textual-dark' or '{CONTRAST_THEME}'",
            )
        if value not in THEMES:
            raise self.error(
                where,
                f"key '{'.'.join(where)}': unknown theme {value!r}; "
                f"choose one of: {', '.join(THEMES)}",
            )
        return value

    def width(self, value: Any) -> int:
        low, high = WIDTH_RANGE
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.error(
                ("width",), f"key 'width' must be a whole number of cells from {low} to {high}"
            )
        return value

    def content(self, value: Any) -> str:
        if not isinstance(value, str) or not value.strip() or not value.isprintable():
            raise self.error(("content",), "key 'content' must be the path of a library folder")
        folder = Path(value).expanduser()
        if not folder.is_absolute():
            folder = self.path.parent / folder
        return str(folder)

    def pin_hash(self, value: Any) -> str:
        from kreader.kiosk import pin_hash_problem

        where = ("kiosk", "admin_pin_hash")
        problem = pin_hash_problem(value)
        if problem:
            raise self.error(where, f"key 'kiosk.admin_pin_hash' {problem}")
        assert isinstance(value, str)
        return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_preference(key: str, value: object) -> str | None:
    """Why ``value`` cannot be saved as preference ``key``, or None."""
    if value is None:
        return None
    if key == "theme" and not (isinstance(value, str) and value in THEMES):
        return f"theme must be a theme name, not {value!r}"
    low, high = WIDTH_RANGE
    if key == "width" and (
        isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high
    ):
        return f"width must be a whole number from {low} to {high}, not {value!r}"
    return None


# --- finding keys in the text ---------------------------------------------------------------------

_SIMPLE_KEY = r"""(?:[A-Za-z0-9_-]+|"(?:[^"\\\n]|\\.)*"|'[^'\n]*')"""
_DOTTED_KEY = rf"{_SIMPLE_KEY}(?:[ \t]*\.[ \t]*{_SIMPLE_KEY})*"
_KEY_RE = re.compile(rf"[ \t]*({_DOTTED_KEY})[ \t]*=")
_HEADER_RE = re.compile(rf"[ \t]*\[\[?[ \t]*({_DOTTED_KEY})[ \t]*\]")
_COMMENT_OR_BLANK_RE = re.compile(r"[ \t]*(#.*)?\r?\n?")


@dataclass
class _Statement:
    """A table header or a ``key = value``, with the lines it covers (0-based, inclusive)."""

    start: int
    end: int
    header: bool
    table: tuple[str, ...]
    """The table it is in (for a header: the table it opens)."""
    key: tuple[str, ...]
    """Full path of the key (for a header: the table)."""
    comment: str = ""
    """Comment at the end of its last line, from ``#``."""


def _split_lines(text: str) -> list[str]:
    """Lines split on ``\\n`` only (as TOML counts them), each keeping its line ending."""
    lines = text.split("\n")
    result = [line + "\n" for line in lines[:-1]]
    if lines[-1]:
        result.append(lines[-1])
    return result


def _key_parts(raw: str) -> tuple[str, ...]:
    """The parts of a dotted TOML key as written (``a."b.c"`` is ``("a", "b.c")``)."""
    try:
        node: Any = tomllib.loads(f"{raw} = 0")
    except tomllib.TOMLDecodeError:
        return (raw.strip(),)
    parts: list[str] = []
    while isinstance(node, dict) and len(node) == 1:
        ((name, node),) = node.items()
        parts.append(name)
    return tuple(parts)


def _scan_value(
    line: str, index: int, open_string: str | None, depth: int
) -> tuple[str | None, int, int]:
    """Scan a value from ``index``.

    Returns the multi-line string still open, the bracket depth, and the column of a comment or -1.
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
            return None, depth, index
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
    return open_string, depth, -1


def _scan(lines: list[str]) -> list[_Statement]:
    """Headers and key lines of a valid TOML text (not lines inside multi-line values)."""
    statements: list[_Statement] = []
    table: tuple[str, ...] = ()
    open_string: str | None = None
    depth = 0
    current: _Statement | None = None
    for number, raw in enumerate(lines):
        line = raw.rstrip("\r\n")
        if open_string is not None or depth > 0:
            open_string, depth, comment = _scan_value(line, 0, open_string, depth)
            if current is not None:
                current.end = number
                current.comment = line[comment:] if comment >= 0 else ""
            continue
        header = _HEADER_RE.match(line)
        if header:
            table = _key_parts(header.group(1))
            statements.append(_Statement(number, number, True, table, table))
            current = None
            continue
        key = _KEY_RE.match(line)
        if key:
            open_string, depth, comment = _scan_value(line, key.end(), None, 0)
            current = _Statement(number, number, False, table, table + _key_parts(key.group(1)))
            current.comment = line[comment:] if comment >= 0 else ""
            statements.append(current)
    return statements


def _line_of(statements: list[_Statement], key: tuple[str, ...]) -> int | None:
    """1-based line where ``key`` is set, else that of its closest enclosing (inline) table."""
    best: _Statement | None = None
    for statement in statements:
        if statement.key == key:
            return statement.start + 1
        size = len(statement.key)
        if key[:size] == statement.key and (best is None or size > len(best.key)):
            best = statement
    return best.start + 1 if best is not None else None


# --- editing --------------------------------------------------------------------------------------


def _toml_value(value: str | int) -> str:
    if isinstance(value, int):
        return str(value)
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def _is_blank_or_comment(line: str) -> bool:
    return _COMMENT_OR_BLANK_RE.fullmatch(line) is not None


def _ensure_final_newline(lines: list[str], newline: str) -> list[str]:
    if lines and not lines[-1].endswith("\n"):
        lines = [*lines[:-1], lines[-1] + newline]
    return lines


def _replace_statement(
    lines: list[str], statement: _Statement, line: str | None, newline: str
) -> list[str]:
    """Replace (None: remove) the lines of ``statement``, keeping its indent and end comment."""
    if line is None:
        return lines[: statement.start] + lines[statement.end + 1 :]
    original = lines[statement.start]
    indent = original[: len(original) - len(original.lstrip(" \t"))]
    comment = f"  {statement.comment}" if statement.comment else ""
    return [
        *lines[: statement.start],
        f"{indent}{line}{comment}{newline}",
        *lines[statement.end + 1 :],
    ]


def _set_top_level_key(lines: list[str], key: str, line: str | None, newline: str) -> list[str]:
    """Set (None: remove) top-level ``key`` to ``line``; a new key goes before the first table."""
    statements = _scan(lines)
    for statement in statements:
        if not statement.header and statement.table == () and statement.key == (key,):
            return _replace_statement(lines, statement, line, newline)
    if line is None:
        return lines
    first_table = next((s.start for s in statements if s.header), None)
    if first_table is None:
        if not lines:
            return [_NEW_FILE_HEADER.replace("\n", newline), line + newline]
        return [*_ensure_final_newline(lines, newline), line + newline]
    # Before the comments that introduce the first table, and before the blank lines above them.
    position = first_table
    while position > 0 and lines[position - 1].lstrip(" \t").startswith("#"):
        position -= 1
    while position > 0 and not lines[position - 1].strip():
        position -= 1
    addition = [line + newline]
    if lines[position].strip():
        addition.append(newline)
    return [*lines[:position], *addition, *lines[position:]]


def _set_kiosk_key(lines: list[str], key: str, line: str, newline: str) -> list[str]:
    """Set ``key`` in the kiosk table, however it is written (table, flat bool, dotted keys)."""
    statements = _scan(lines)
    header = next((s for s in statements if s.header and s.key == ("kiosk",)), None)
    if header is not None:
        inside = [
            s
            for s in statements
            if s.start > header.start and s.table == ("kiosk",) and not s.header
        ]
        for statement in inside:
            if statement.key == ("kiosk", key):
                return _replace_statement(lines, statement, line, newline)
        after = max((s.end for s in inside), default=header.start) + 1
        lines = lines if after < len(lines) else _ensure_final_newline(lines, newline)
        return [*lines[:after], line + newline, *lines[after:]]
    top = [s for s in statements if not s.header and s.table == () and s.key[:1] == ("kiosk",)]
    flat = next((s for s in top if s.key == ("kiosk",)), None)
    if flat is not None:
        # `kiosk = true`: turn it into a table at the end, keeping its value and comment.
        value = re.sub(r"^[^=]*=\s*", "", lines[flat.start].rstrip("\r\n"))
        value = value[: len(value) - len(flat.comment)].strip() if flat.comment else value.strip()
        if value not in ("true", "false"):
            raise _CannotEdit(
                "'kiosk' is an inline table here; write it as a [kiosk] table first", flat.start + 1
            )
        enabled = f"enabled = {value}" + (f"  {flat.comment}" if flat.comment else "")
        lines = _replace_statement(lines, flat, None, newline)
        return _append_table(lines, ["[kiosk]", enabled, line], newline)
    if top:
        # Dotted keys at the top level (`kiosk.enabled = true`): add another one.
        for statement in top:
            if statement.key == ("kiosk", key):
                return _replace_statement(lines, statement, f"kiosk.{line}", newline)
        return _set_top_level_key(lines, f"kiosk.{key}", f"kiosk.{line}", newline)
    return _append_table(lines, ["[kiosk]", line], newline)


def _append_table(lines: list[str], table: list[str], newline: str) -> list[str]:
    lines = _ensure_final_newline(lines, newline)
    if lines and lines[-1].strip():
        lines = [*lines, newline]
    return [*lines, *(text + newline for text in table)]


class _CannotEdit(Exception):
    """The file is valid but written in a way the line editor does not handle."""

    def __init__(self, reason: str, line: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


def _update_file(
    path: Path,
    edit: Callable[[list[str], str], list[str]],
    expect: Callable[[Settings], Settings],
    what: str,
) -> None:
    """Edit the file line by line, check the result means exactly ``expect(old)``, replace it."""
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    for _ in range(5):
        try:
            original: bytes | None = read_regular(target, MAX_FILE_BYTES + 1)
        except FileNotFoundError:
            original = None
        except SourceError as exc:
            raise SettingsError(path, f"cannot read settings: {_size_hint(str(exc))}") from None
        except OSError as exc:
            raise SettingsError(path, f"cannot read settings: {exc.strerror or exc}") from None
        try:
            text = "" if original is None else _decode(original, path)
            old = _parse(text, path)
        except SettingsError as exc:
            raise SettingsError(
                path, f"{exc.reason} (not saved: fix this first)", exc.line, exc.key
            ) from None
        newline = "\r\n" if "\r\n" in text else "\n"
        try:
            new_text = "".join(edit(_split_lines(text), newline))
        except _CannotEdit as exc:
            raise SettingsError(path, f"cannot save {what}: {exc.reason}", exc.line) from None
        if new_text == text:
            return
        try:
            new = _parse(new_text, path)
        except SettingsError:
            new = None
        if new != expect(old):
            raise SettingsError(
                path, f"cannot save {what} without changing other settings: edit it by hand"
            )
        if _replace_if_unchanged(path, target, original, new_text.encode("utf-8")):
            return
    raise SettingsError(path, f"cannot save {what}: the file kept changing; try again")


def _replace_if_unchanged(path: Path, target: Path, original: bytes | None, data: bytes) -> bool:
    """Atomically replace ``target`` with ``data``, unless it no longer reads as ``original``."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        mode = stat.S_IMODE(target.stat().st_mode) if original is not None else None
        handle, temporary = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
        )
    except FileNotFoundError:
        return False  # Removed since it was read: start again.
    except OSError as exc:
        raise SettingsError(path, f"cannot write settings: {exc.strerror or exc}") from None
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        if mode is not None:
            os.chmod(temporary, mode)
        try:
            now: bytes | None = read_regular(target, MAX_FILE_BYTES + 1)
        except FileNotFoundError:
            now = None
        except SourceError as exc:
            os.unlink(temporary)
            raise SettingsError(path, f"cannot write settings: {_size_hint(str(exc))}") from None
        if now != original:
            os.unlink(temporary)
            return False
        os.replace(temporary, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise SettingsError(path, f"cannot write settings: {exc.strerror or exc}") from None
    return True
