"""The settings file: reader preferences and kiosk options, in TOML.

This module never imports Textual. It reads the file with `tomllib` into a frozen `Settings` value
and reports any problem as a one-line `SettingsError` naming the file, the line and the key. The
reader's own changes (theme, width) and ``kreader kiosk set-pin`` write it back with tomlkit, which
keeps every other line, comment and blank line where the person put them; the file is replaced
atomically, and only if the result means exactly the old settings plus the change.

Where the file is: ``--config FILE``, else ``$KREADER_CONFIG``, else the user's config folder (for
example ``~/.config/kreader/kreader.toml``). A missing file means every default.

The format::

    # Reader preferences (kreader saves theme and width here when you change them).
    theme = "textual-light"   # a Textual theme or "kreader-contrast"; default: textual-dark
    width = 80                # reading column width in cells, 30 to 200; default: fill
    content = "~/library"     # library folder; ~ expanded; relative to this file's folder
    language = "es"           # "en" or "es"; default: LANGUAGE, LC_ALL, LANG, else English
    glyphs = "console"        # "console": only the Linux console font's characters; default "auto"

    [kiosk]
    enabled = true            # start as a waiting-room kiosk (like --kiosk); default: false
    idle_seconds = 90         # no input for this long starts the attract loop; at least 5
    rotate_seconds = 25       # the attract loop moves on this often; at least 5
    featured = "flu-season"   # article the attract loop starts from (file name without .md)
    theme = "kreader-contrast"  # theme in kiosk mode (this high-contrast one by default)
    attract_languages = ["en", "es"]  # the attract loop alternates these; default: the language only
    admin_pin_hash = "scrypt$16384$8$1$..."  # written by `kreader kiosk set-pin`

``kiosk = true`` (or ``false``) at the top level is a short form of ``[kiosk] enabled = ...``
for when no other kiosk option is needed. Unknown keys are errors, so a misspelt option is
reported rather than silently ignored.
"""

from __future__ import annotations

import contextlib
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
import tomlkit
from tomlkit import TOMLDocument
from tomlkit.container import OutOfOrderTableProxy
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import AoT, Bool, Comment, Item, Key, Table, Whitespace

from kreader import tomlkey
from kreader.errors import UserError
from kreader.pin import pin_hash_problem
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

TOP_LEVEL_KEYS = ("content", "glyphs", "kiosk", "language", "theme", "width")
KIOSK_KEYS = (
    "admin_pin_hash",
    "attract_languages",
    "enabled",
    "featured",
    "idle_seconds",
    "rotate_seconds",
    "theme",
)
LANGUAGES = ("en", "es")
"""Languages kreader has an interface in (`kreader.i18n.LANGUAGES`; a test keeps the two equal)."""
PREFERENCE_KEYS = ("theme", "width")
"""Keys `save_preferences` may change."""

_BELONGS_IN_KIOSK = {
    "enabled": "it belongs in the [kiosk] table",
    "idle_seconds": "it belongs in the [kiosk] table",
    "rotate_seconds": "it belongs in the [kiosk] table",
    "featured": "it belongs in the [kiosk] table",
    "admin_pin_hash": "it belongs in the [kiosk] table",
    "kiosk_theme": "write it as 'theme' in the [kiosk] table",
    "attract_languages": "it belongs in the [kiosk] table",
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
    """Hash of the staff PIN (see `kreader.pin.hash_pin`); None means no PIN is set."""
    content: str | None = None
    """Library folder, made absolute against the settings file's folder; None: the bundled one."""
    language: str | None = None
    """Language of the interface and the articles ("en", "es"); None: the environment's, else English."""
    attract_languages: tuple[str, ...] = ()
    """Languages the kiosk's attract loop alternates, one per step; empty: only the kiosk's language."""
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
    return None if text is None else tomlkey.key_line(text, key)


def save_preferences(path: Path, **changes: str | int | None) -> None:
    """Set top-level ``theme`` and/or ``width`` in the settings file; None removes the key.

    Every other line and comment is kept. The file (and its folder) is created if missing, and
    replaced atomically. Raises `SettingsError` for a bad value, if the existing file is invalid (it
    is left alone rather than overwritten) or if it cannot be written; `TypeError` for a key other
    than theme and width.
    """
    for key, value in changes.items():
        if key not in PREFERENCE_KEYS:
            raise TypeError(
                f"save_preferences: unknown key {key!r} (known: {', '.join(PREFERENCE_KEYS)})"
            )
        problem = _check_preference(key, value)
        if problem:
            raise SettingsError(path, f"not saved: {problem}", key=key)

    def edit(doc: TOMLDocument, newline: str) -> None:
        for key, value in changes.items():
            if value is None:
                doc.pop(key, None)
            else:
                _set_key(doc, key, value, newline)

    def expect(old: Settings) -> Settings:
        theme, width = changes.get("theme"), changes.get("width")
        if "theme" in changes:
            old = replace(old, theme=theme if isinstance(theme, str) else None)
        if "width" in changes:
            old = replace(old, width=width if isinstance(width, int) else None)
        return old

    _update_file(path, edit, expect, " and ".join(changes) or "preferences")


def save_kiosk_pin(path: Path, pin_hash: str) -> None:
    """Write ``admin_pin_hash`` into the ``[kiosk]`` table of the settings file, keeping the rest.

    A top-level ``kiosk = true`` becomes ``[kiosk] enabled = true``. Raises `ValueError` for a
    malformed hash and `SettingsError` if the existing file is invalid or cannot be written.
    """
    problem = pin_hash_problem(pin_hash)
    if problem:
        raise ValueError(f"save_kiosk_pin: {problem}")

    def edit(doc: TOMLDocument, newline: str) -> None:
        kiosk = doc.item("kiosk") if "kiosk" in doc else None
        if isinstance(kiosk, Table | OutOfOrderTableProxy):  # [kiosk], or kiosk.enabled = true
            _set_key(kiosk, "admin_pin_hash", pin_hash, newline)
        elif isinstance(kiosk, Bool):  # kiosk = true: the table it is short for
            enabled = tomlkit.item(kiosk.value)
            enabled.trivia.comment_ws = kiosk.trivia.comment_ws
            enabled.trivia.comment = kiosk.trivia.comment
            del doc["kiosk"]
            table = _new_table(newline, enabled=enabled, admin_pin_hash=tomlkit.item(pin_hash))
            _append_table(doc, "kiosk", table, newline)
        elif kiosk is not None:
            raise _CannotEdit(
                "'kiosk' is an inline table here; write it as a [kiosk] table first",
                tomlkey.key_line(doc.as_string(), ("kiosk",)) or 1,
            )
        else:
            table = _new_table(newline, admin_pin_hash=tomlkit.item(pin_hash))
            _append_table(doc, "kiosk", table, newline)

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
        self.text = text

    def error(self, key: tuple[str, ...], reason: str) -> SettingsError:
        line = tomlkey.key_line(self.text, key)
        return SettingsError(self.path, reason, line, ".".join(key))

    def check(self, data: Mapping[str, Any]) -> Settings:
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key == "theme":
                values["theme"] = self.theme((key,), value)
            elif key == "width":
                values["width"] = self.width(value)
            elif key == "content":
                values["content"] = self.content(value)
            elif key == "language":
                values["language"] = self.language((key,), value)
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
            elif key == "attract_languages":
                if not isinstance(value, list) or not value:
                    raise self.error(
                        where,
                        f'key \'{name}\' must be a list of languages such as ["en", "es"]',
                    )
                values[key] = tuple(self.language(where, item) for item in value)
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

    def language(self, where: tuple[str, ...], value: Any) -> str:
        if not isinstance(value, str) or value not in LANGUAGES:
            raise self.error(
                where,
                f"key '{'.'.join(where)}' must be one of {', '.join(map(repr, LANGUAGES))}, "
                f"not {value!r}",
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


# --- writing --------------------------------------------------------------------------------------
# tomlkit edits the document and renders it back with every comment, blank line and key order the
# person wrote. Where it would put a new key after the comments that introduce the next table (it
# appends before the first table), the key goes after the last key of its table instead.


def _set_key(
    table: TOMLDocument | Table | OutOfOrderTableProxy, key: str, value: str | int, newline: str
) -> None:
    """Set ``key`` in ``table``: in place if it is there (keeping its comment), else on a new line."""
    if key in table:
        table[key] = value
        return
    item = tomlkit.item(value)
    item.trivia.trail = newline
    if isinstance(table, OutOfOrderTableProxy):  # dotted keys spread over the file
        table[key] = item
        return
    container = table.value if isinstance(table, Table) else table
    body = container.body
    keys = [name for name, node in body if name is not None and not _opens_a_table(name, node)]
    if keys:
        # Private, but there since tomlkit 0.5 and the only way to put a key in a given place.
        container._insert_after(keys[-1], key, item)
        return
    first_table = next(
        (index for index, (name, node) in enumerate(body) if _opens_a_table(name, node)), None
    )
    if first_table is None:
        container.append(key, item)
        return
    # Before the comments that introduce the first table and the blank lines above them.
    position = first_table
    while position > 0 and isinstance(body[position - 1][1], Comment):
        position -= 1
    while position > 0 and isinstance(body[position - 1][1], Whitespace):
        position -= 1
    if not isinstance(body[position][1], Whitespace):
        item.trivia.trail = newline * 2
    container._insert_at(position, key, item)


def _opens_a_table(name: Key | None, node: Item) -> bool:
    """Is this item of a table's body a ``[table]`` of its own (not a dotted ``a.b = ...`` key)?"""
    return isinstance(node, Table | AoT) and name is not None and not name.is_dotted()


def _new_table(newline: str, **values: Item) -> Table:
    table = tomlkit.table()
    table.trivia.trail = newline
    for key, item in values.items():
        item.trivia.trail = newline
        table.add(key, item)
    return table


def _append_table(doc: TOMLDocument, key: str, table: Table, newline: str) -> None:
    """Append ``table`` to ``doc``, after a blank line."""
    text = doc.as_string()
    doc.add(key, table)
    table.trivia.indent = newline if text and not text.endswith(newline * 2) else ""


class _CannotEdit(Exception):
    """The file is valid but written in a way these edits do not handle."""

    def __init__(self, reason: str, line: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


def _update_file(
    path: Path,
    edit: Callable[[TOMLDocument, str], None],
    expect: Callable[[Settings], Settings],
    what: str,
) -> None:
    """Edit the file with tomlkit, check the result means exactly ``expect(old)``, replace it."""
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
        if text and not text.endswith("\n"):
            text += newline
        try:
            doc = tomlkit.parse(text)
            edit(doc, newline)
            new_text = doc.as_string()
        except _CannotEdit as exc:
            raise SettingsError(path, f"cannot save {what}: {exc.reason}", exc.line) from None
        except TOMLKitError as exc:
            raise SettingsError(path, f"cannot save {what}: {_one_line(str(exc))}") from None
        if new_text == text:
            return
        if not text:
            header = _NEW_FILE_HEADER.replace("\n", newline)
            new_text = header + (newline if new_text.startswith("[") else "") + new_text
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
