"""Bookmarks and reading positions: SQLite on disk, or memory when the disk cannot be used.

The reader must never lose a bookmark and never crash because of its data folder, so `open_store`
turns every storage fault (a damaged file, a read-only or full disk, a file from a newer kreader)
into a working store plus a one-line message for the user. Two implementations share one
interface, `Store`:

- `SqliteStore` keeps everything in ``bookmarks.sqlite3`` (WAL journal, every write inside
  ``BEGIN IMMEDIATE``), so several kreader processes can write at once without losing anything.
- `MemoryStore` keeps everything in memory. Kiosk mode uses it, so "the kiosk writes nothing" is
  true by construction; it is also what a failing disk falls back to.

Write failures at runtime (a disk that fills up mid-session) never raise: a `SqliteStore` copies
what it holds into memory, carries on there, sets ``persistent = False`` and ``read_only = True``
and adds a message. The UI calls `Store.take_messages` after each write (or on a timer) and shows
what it returns.

This module must not import Textual: the CLI and the tests use it without a terminal.
"""

from __future__ import annotations

import builtins
import contextlib
import datetime as dt
import json
import math
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Protocol, TypeVar

from kreader.safetext import clean

DB_NAME = "bookmarks.sqlite3"
"""File name of the database inside the data folder."""

EXPORT_FORMAT = 1
"""Value of ``kreader_bookmarks`` in exported JSON; a file with a larger one is refused."""

MAX_TEXT = 10_000
"""Longest string an import accepts; longer titles and notes given to `Store.add` or
`Store.set_note` are cut to it, so that every export can be imported again."""

MAX_CREATED = 32_503_680_000.0
"""Latest creation time accepted on import (year 3000): later ones cannot be shown as dates."""

MAX_IMPORT_ENTRIES = 100_000
MAX_IMPORT_BYTES = 20 * 1024 * 1024

BUSY_TIMEOUT_MS = 5000
"""How long a write waits for another kreader process to finish its own."""

FALLBACK_NOTE = "bookmarks and reading positions will last only until you quit"

_T = TypeVar("_T")

# Escape and other control characters (but tab and newline) in titles and notes could drive the
# terminal when shown, so they are dropped on the way in. Dropping ESC defuses any sequence.
# SQLite primary result codes meaning the file itself is damaged (not unwritable, not busy).
_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26


class StoreError(Exception):
    """A bookmarks file `Store.import_json` refuses; nothing has been changed.

    No other store operation raises it: the reader calls them on its own data, and must not
    crash because of it.
    """


def default_data_dir(explicit: Path | None = None) -> Path:
    """Where the bookmark database lives: ``explicit``, else ``$KREADER_DATA_DIR``, else the
    platform's user data folder (``~/.local/share/kreader`` on Linux)."""
    if explicit is not None:
        return Path(explicit).expanduser()
    env = os.environ.get("KREADER_DATA_DIR")
    if env:
        return Path(env).expanduser()
    import platformdirs  # only here: callers that pass a folder never pay for it

    return platformdirs.user_data_path("kreader")


@dataclass(frozen=True)
class Bookmark:
    """A saved place. It is ``(section, anchor, fraction)`` rather than a screen line, so that it
    still points at the same text after the terminal is resized or the layout changes."""

    id: int
    article_id: str
    section_id: str
    anchor: str
    """Id of the nearest subsection heading above the place; ``""`` for the section's top."""
    fraction: float
    """0..1: how far into the anchor's chunk of text the place is."""
    article_title: str
    section_title: str
    note: str
    created: float
    """Unix time."""


@dataclass(frozen=True)
class Position:
    """Where the reader was in one article, so that it can reopen there."""

    article_id: str
    section_id: str
    anchor: str
    fraction: float
    updated: float
    """Unix time; the most recent position is where kreader reopens."""


@dataclass(frozen=True)
class ImportReport:
    """What `Store.import_json` did."""

    added: int
    skipped_duplicates: int


class Store(Protocol):
    """What the app and the CLI need from a store: `SqliteStore` and `MemoryStore` provide it."""

    path: Path | None
    """The database file, if any (a memory fallback names the file it stands in for)."""
    persistent: bool
    """True while writes reach the disk."""
    read_only: bool
    """True when a database exists that this session cannot write (newer version, read-only
    folder, full disk): what it held is shown, changes stay in memory."""
    messages: builtins.list[str]
    """Every warning for the user so far (opening problems, failed writes), oldest first."""

    def take_messages(self) -> builtins.list[str]:
        """Messages added since the last call, for the UI to show once."""
        ...

    def add(
        self,
        article_id: str,
        section_id: str,
        anchor: str,
        fraction: float,
        article_title: str,
        section_title: str,
        note: str = "",
    ) -> tuple[Bookmark, bool]:
        """Bookmark a place; returns the bookmark and whether it is new (one per place)."""
        ...

    def find(
        self, article_id: str, section_id: str, anchor: str, fraction: float
    ) -> Bookmark | None:
        """The bookmark at this place (fraction rounded to 2 places), if any."""
        ...

    def get(self, bookmark_id: int) -> Bookmark | None:
        """The bookmark with this id, if any."""
        ...

    def remove(self, bookmark_id: int) -> Bookmark | None:
        """Delete a bookmark; returns it (for `restore`), or None if there was none."""
        ...

    def restore(self, bookmark: Bookmark) -> Bookmark:
        """Undo `remove`: put the bookmark back with its fields, creation time and (if free) id."""
        ...

    def set_note(self, bookmark_id: int, note: str) -> Bookmark | None:
        """Change a bookmark's note; None if there is no such bookmark."""
        ...

    def list(self) -> builtins.list[Bookmark]:
        """Every bookmark, newest first."""
        ...

    def clear(self) -> int:
        """Delete every bookmark (not the reading positions); returns how many there were."""
        ...

    def save_position(self, position: Position) -> None:
        """Remember where the reader is in an article (one position per article)."""
        ...

    def position(self, article_id: str) -> Position | None:
        """Where the reader was in this article, if anywhere."""
        ...

    def last_position(self) -> Position | None:
        """The most recently saved position of any article."""
        ...

    def export_json(self) -> str:
        """Every bookmark as JSON (see `import_json`), oldest first."""
        ...

    def import_json(self, text: str) -> ImportReport:
        """Add the bookmarks of an export, skipping places already bookmarked.

        Everything is checked before anything is written: on any problem `StoreError` is raised
        and the store is unchanged.
        """
        ...

    def close(self) -> None:
        """Release the database; the store must not be used afterwards."""
        ...


# --- Shared by both stores ------------------------------------------------------------------


def place_key(fraction: float) -> int:
    """The identity of a place inside an anchor's chunk: the fraction rounded to 2 places, as a
    whole percentage, so that SQLite's unique index and the memory store compare the same thing."""
    return round(round(clamp_fraction(fraction), 2) * 100)


def clamp_fraction(fraction: float) -> float:
    """``fraction`` forced into 0..1: a scroll computation that overshoots is not an error."""
    if not math.isfinite(fraction):
        return 0.0
    return min(1.0, max(0.0, float(fraction)))


def clean_text(text: str) -> str:
    """``text`` without terminal escape sequences or control characters (tab and newline are
    kept; see `kreader.safetext.clean`), cut to `MAX_TEXT` characters."""
    text = clean(text)
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def _new_bookmark(
    bookmark_id: int,
    article_id: str,
    section_id: str,
    anchor: str,
    fraction: float,
    article_title: str,
    section_title: str,
    note: str,
    created: float,
) -> Bookmark:
    """A `Bookmark` whose inputs both stores clean in the same way."""
    return Bookmark(
        id=bookmark_id,
        article_id=article_id,
        section_id=section_id,
        anchor=anchor,
        fraction=clamp_fraction(fraction),
        article_title=clean_text(article_title),
        section_title=clean_text(section_title),
        note=clean_text(note),
        created=float(created),
    )


def _copy_bookmark(bookmark: Bookmark) -> Bookmark:
    """``bookmark`` cleaned again: `restore` takes it from the caller."""
    fields = asdict(bookmark)
    return _new_bookmark(fields.pop("id"), **fields)


def _clean_position(position: Position) -> Position:
    return replace(
        position, fraction=clamp_fraction(position.fraction), updated=float(position.updated)
    )


def _export(bookmarks: Iterable[Bookmark]) -> str:
    entries = []
    for bookmark in sorted(bookmarks, key=lambda b: (b.created, b.id)):
        entry = asdict(bookmark)
        del entry["id"]
        entries.append(entry)
    document = {"kreader_bookmarks": EXPORT_FORMAT, "bookmarks": entries}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


_TEXT_FIELDS = ("article_id", "section_id", "anchor", "article_title", "section_title", "note")
_NUMBER_FIELDS = (("fraction", 0.0, 1.0), ("created", 0.0, MAX_CREATED))
_EXPORT_FIELDS = (*_TEXT_FIELDS, *(name for name, _, _ in _NUMBER_FIELDS))


def _refuse_constant(name: str) -> float:
    raise StoreError(f"not valid JSON: {name} is not a number JSON allows")


def _json_type(value: Any) -> str:
    names = {dict: "an object", builtins.list: "a list", str: "a string", bool: "true or false"}
    return "null" if value is None else names.get(type(value), "a number")


def parse_export(text: str) -> builtins.list[Bookmark]:
    """The bookmarks of an export (with id 0), or `StoreError` saying what is wrong with it.

    Nothing is trusted, since the file may come from anywhere: size, structure, types, fields and
    ranges are all checked before a single bookmark is written.
    """
    too_large = f"file is too large (the limit is {MAX_IMPORT_BYTES // (1024 * 1024)} MB)"
    if len(text) > MAX_IMPORT_BYTES:
        raise StoreError(too_large)
    if len(text.encode("utf-8", "surrogatepass")) > MAX_IMPORT_BYTES:
        raise StoreError(too_large)
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise StoreError(
            f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except (ValueError, RecursionError) as exc:  # huge integers, absurd nesting
        raise StoreError(f"not valid JSON: {exc or type(exc).__name__}") from None
    if not isinstance(data, dict):
        raise StoreError("not a kreader bookmarks export (expected a JSON object)")
    version = data.get("kreader_bookmarks")
    if isinstance(version, bool) or not isinstance(version, int):
        raise StoreError("not a kreader bookmarks export (no 'kreader_bookmarks' format number)")
    if version > EXPORT_FORMAT:
        raise StoreError(f"written by a newer kreader (format {version}; this one reads 1)")
    if version < 1:
        raise StoreError(f"unknown export format {version}")
    unknown = sorted(set(data) - {"kreader_bookmarks", "bookmarks"})
    if unknown:
        raise StoreError(f"unknown field {unknown[0]!r} at the top level")
    entries = data.get("bookmarks")
    if not isinstance(entries, builtins.list):
        raise StoreError(f"'bookmarks' must be a list, not {_json_type(entries)}")
    if len(entries) > MAX_IMPORT_ENTRIES:
        limit = MAX_IMPORT_ENTRIES
        raise StoreError(f"too many bookmarks ({len(entries)}; the limit is {limit})")
    bookmarks = []
    for index, entry in enumerate(entries):
        where = f"bookmarks[{index}]"
        if not isinstance(entry, dict):
            raise StoreError(f"{where}: must be an object, not {_json_type(entry)}")
        unknown = sorted(set(entry) - set(_EXPORT_FIELDS))
        if unknown:
            raise StoreError(f"{where}: unknown field {unknown[0]!r}")
        missing = [name for name in _EXPORT_FIELDS if name not in entry]
        if missing:
            raise StoreError(f"{where}: missing field {missing[0]!r}")
        for name in _TEXT_FIELDS:
            value = entry[name]
            if not isinstance(value, str):
                raise StoreError(f"{where}.{name}: must be a string, not {_json_type(value)}")
            if len(value) > MAX_TEXT:
                size = len(value)
                raise StoreError(f"{where}.{name}: too long ({size} characters; limit {MAX_TEXT})")
        for name, low, high in _NUMBER_FIELDS:
            value = entry[name]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise StoreError(f"{where}.{name}: must be a number, not {_json_type(value)}")
            if not low <= value <= high:  # also refuses huge integers without converting them
                raise StoreError(f"{where}.{name}: must be from {low:g} to {high:g}, not {value}")
        bookmarks.append(_new_bookmark(0, **entry))
    return bookmarks


# --- Memory ---------------------------------------------------------------------------------


class MemoryStore:
    """A store that lasts as long as the process: for kiosk mode, and when the disk fails."""

    def __init__(
        self,
        *,
        path: Path | None = None,
        read_only: bool = False,
        messages: Iterable[str] = (),
        bookmarks: Iterable[Bookmark] = (),
        positions: Iterable[Position] = (),
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``bookmarks`` keep their ids; ``positions`` are taken as saved in the order given."""
        self.path = path
        self.persistent = False
        self.read_only = read_only
        self.messages: builtins.list[str] = builtins.list(messages)
        self._taken = 0
        self._clock = clock
        self._lock = threading.RLock()
        self._bookmarks: dict[int, Bookmark] = {}
        self._places: dict[tuple[str, str, str, int], int] = {}
        self._positions: dict[str, Position] = {}
        self._next_id = 1
        for bookmark in bookmarks:
            self._insert(bookmark, keep_id=True)
        for position in positions:
            self.save_position(position)

    @staticmethod
    def _key(bookmark: Bookmark) -> tuple[str, str, str, int]:
        return (
            bookmark.article_id,
            bookmark.section_id,
            bookmark.anchor,
            place_key(bookmark.fraction),
        )

    def _insert(self, bookmark: Bookmark, keep_id: bool) -> tuple[Bookmark, bool]:
        existing = self._places.get(self._key(bookmark))
        if existing is not None:
            return self._bookmarks[existing], False
        if not keep_id or bookmark.id <= 0 or bookmark.id in self._bookmarks:
            bookmark = replace(bookmark, id=self._next_id)
        # Like SQLite's AUTOINCREMENT: an id is never given twice, so a stale one finds nothing.
        self._next_id = max(self._next_id, bookmark.id + 1)
        self._bookmarks[bookmark.id] = bookmark
        self._places[self._key(bookmark)] = bookmark.id
        return bookmark, True

    def take_messages(self) -> builtins.list[str]:
        """Messages added since the last call."""
        with self._lock:
            new = self.messages[self._taken :]
            self._taken = len(self.messages)
            return new

    def add(
        self,
        article_id: str,
        section_id: str,
        anchor: str,
        fraction: float,
        article_title: str,
        section_title: str,
        note: str = "",
    ) -> tuple[Bookmark, bool]:
        """Bookmark a place unless it already is; returns (bookmark, newly created)."""
        bookmark = _new_bookmark(
            0,
            article_id,
            section_id,
            anchor,
            fraction,
            article_title,
            section_title,
            note,
            self._clock(),
        )
        with self._lock:
            return self._insert(bookmark, keep_id=False)

    def find(
        self, article_id: str, section_id: str, anchor: str, fraction: float
    ) -> Bookmark | None:
        """The bookmark at this place, if any."""
        with self._lock:
            found = self._places.get((article_id, section_id, anchor, place_key(fraction)))
            return None if found is None else self._bookmarks[found]

    def get(self, bookmark_id: int) -> Bookmark | None:
        """The bookmark with this id, if any."""
        with self._lock:
            return self._bookmarks.get(bookmark_id)

    def remove(self, bookmark_id: int) -> Bookmark | None:
        """Delete a bookmark and return it."""
        with self._lock:
            bookmark = self._bookmarks.pop(bookmark_id, None)
            if bookmark is not None:
                del self._places[self._key(bookmark)]
            return bookmark

    def restore(self, bookmark: Bookmark) -> Bookmark:
        """Put a removed bookmark back (with its id if free). If its place has been bookmarked
        again since, that bookmark is returned instead."""
        checked = _copy_bookmark(bookmark)
        with self._lock:
            return self._insert(checked, keep_id=True)[0]

    def set_note(self, bookmark_id: int, note: str) -> Bookmark | None:
        """Change a bookmark's note."""
        with self._lock:
            bookmark = self._bookmarks.get(bookmark_id)
            if bookmark is None:
                return None
            bookmark = replace(bookmark, note=clean_text(note))
            self._bookmarks[bookmark_id] = bookmark
            return bookmark

    def list(self) -> builtins.list[Bookmark]:
        """Every bookmark, newest first."""
        with self._lock:
            return sorted(self._bookmarks.values(), key=lambda b: (b.created, b.id), reverse=True)

    def clear(self) -> int:
        """Delete every bookmark; returns how many there were."""
        with self._lock:
            count = len(self._bookmarks)
            self._bookmarks.clear()
            self._places.clear()
            return count

    def save_position(self, position: Position) -> None:
        """Remember where the reader is in an article."""
        with self._lock:
            # Removed and added again, so that the dict's order is the order of saving.
            self._positions.pop(position.article_id, None)
            self._positions[position.article_id] = _clean_position(position)

    def position(self, article_id: str) -> Position | None:
        """Where the reader was in this article."""
        with self._lock:
            return self._positions.get(article_id)

    def last_position(self) -> Position | None:
        """The most recently updated position; of equal times, the one saved last."""
        with self._lock:
            newest_first = reversed(self._positions.values())
            return max(newest_first, key=lambda p: p.updated, default=None)

    def export_json(self) -> str:
        """Every bookmark as JSON."""
        with self._lock:
            return _export(self._bookmarks.values())

    def import_json(self, text: str) -> ImportReport:
        """Add the bookmarks of an export; all or nothing."""
        bookmarks = parse_export(text)
        with self._lock:
            added = sum(self._insert(b, keep_id=False)[1] for b in bookmarks)
            return ImportReport(added=added, skipped_duplicates=len(bookmarks) - added)

    def close(self) -> None:
        """Nothing to release."""


# --- SQLite ---------------------------------------------------------------------------------

Migration = Callable[[sqlite3.Connection], None]
"""Brings the schema from version ``n`` to ``n + 1``, inside the opening write transaction."""

_BOOKMARK_COLUMNS = (
    "id, article_id, section_id, anchor, fraction, article_title, section_title, note, created"
)
_POSITION_COLUMNS = "article_id, section_id, anchor, fraction, updated"


def _migrate_to_v1(db: sqlite3.Connection) -> None:
    """v0 → v1: create the tables.

    A version-0 file is usually new and empty, but it may hold ``bookmarks`` or ``positions``
    tables without a schema version (from a pre-release kreader, or made by hand). They are kept,
    renamed to ``<name>_v0``, and what their rows hold is carried over: nothing stored is lost.
    """
    tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    legacy = sorted(tables & {"bookmarks", "positions"})
    kept: dict[str, str] = {}
    for name in legacy:
        kept[name] = f"{name}_v0"
        while kept[name] in tables:  # never drop anything, even an odd table of that name
            kept[name] += "_"
        db.execute(f"ALTER TABLE {name} RENAME TO {kept[name]}")
    db.execute(
        """
        CREATE TABLE bookmarks (
            id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused, so a stale id finds nothing
            article_id TEXT NOT NULL,
            section_id TEXT NOT NULL,
            anchor TEXT NOT NULL DEFAULT '',
            fraction REAL NOT NULL CHECK (fraction >= 0 AND fraction <= 1),
            place INTEGER NOT NULL,  -- round(fraction, 2) * 100: the identity of the place
            article_title TEXT NOT NULL DEFAULT '',
            section_title TEXT NOT NULL DEFAULT '',
            note TEXT NOT NULL DEFAULT '',
            created REAL NOT NULL
        )
        """
    )
    db.execute(
        "CREATE UNIQUE INDEX bookmarks_place ON bookmarks (article_id, section_id, anchor, place)"
    )
    db.execute("CREATE INDEX bookmarks_created ON bookmarks (created)")
    db.execute(
        """
        CREATE TABLE positions (
            article_id TEXT PRIMARY KEY,
            section_id TEXT NOT NULL,
            anchor TEXT NOT NULL DEFAULT '',
            fraction REAL NOT NULL,
            updated REAL NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX positions_updated ON positions (updated)")
    if "bookmarks" in legacy:
        for row in _rows_as_dicts(db, kept["bookmarks"]):
            try:
                article_id, section_id = (
                    _legacy_id(row, "article_id"),
                    _legacy_id(row, "section_id"),
                )
                bookmark = _new_bookmark(
                    0,
                    article_id,
                    section_id,
                    str(row.get("anchor") or ""),
                    float(row.get("fraction") or 0.0),
                    str(row.get("article_title") or article_id),
                    str(row.get("section_title") or section_id),
                    str(row.get("note") or ""),
                    float(row.get("created") or time.time()),
                )
            except (TypeError, ValueError):
                continue  # a row we cannot make sense of stays in bookmarks_v0
            _insert_bookmark(db, bookmark, keep_id=False)
    if "positions" in legacy:
        for row in _rows_as_dicts(db, kept["positions"]):
            try:
                position = Position(
                    _legacy_id(row, "article_id"),
                    _legacy_id(row, "section_id"),
                    str(row.get("anchor") or ""),
                    clamp_fraction(float(row.get("fraction") or 0.0)),
                    float(row.get("updated") or 0.0),
                )
            except (TypeError, ValueError):
                continue
            _save_position_row(db, position)


def _legacy_id(row: dict[str, Any], name: str) -> str:
    """An id column of an unversioned table, which must be a non-empty string to be of use."""
    value = row.get(name)
    if not isinstance(value, str) or not value:
        raise ValueError(f"no {name}")
    return value


def _rows_as_dicts(db: sqlite3.Connection, table: str) -> Iterator[dict[str, Any]]:
    cursor = db.execute(f"SELECT * FROM {table}")
    names = [column[0] for column in cursor.description]
    for values in cursor.fetchall():
        yield dict(zip(names, values, strict=True))


MIGRATIONS: Sequence[Migration] = (_migrate_to_v1,)
"""Schema migrations in order; ``PRAGMA user_version`` says how many have run. Append only."""

SCHEMA_VERSION = len(MIGRATIONS)


def _row_to_bookmark(row: Sequence[Any]) -> Bookmark:
    return Bookmark(
        id=int(row[0]),
        article_id=str(row[1]),
        section_id=str(row[2]),
        anchor=str(row[3]),
        fraction=float(row[4]),
        article_title=str(row[5]),
        section_title=str(row[6]),
        note=str(row[7]),
        created=float(row[8]),
    )


def _row_to_position(row: Sequence[Any]) -> Position:
    return Position(str(row[0]), str(row[1]), str(row[2]), float(row[3]), float(row[4]))


def _insert_bookmark(db: sqlite3.Connection, bookmark: Bookmark, keep_id: bool) -> bool:
    """Insert unless the place is already bookmarked (keeping the id if asked and still free);
    True if inserted."""
    # Looked up first rather than left to ON CONFLICT, which would still use up an AUTOINCREMENT
    # id and leave gaps in the numbers people type in `kreader bookmarks remove ID`.
    if _find_row(db, bookmark) is not None:
        return False
    row: dict[str, Any] = asdict(bookmark)
    row["place"] = place_key(bookmark.fraction)
    if not keep_id or bookmark.id <= 0 or _get_row(db, bookmark.id) is not None:
        del row["id"]
    columns = ", ".join(row)
    marks = ", ".join(f":{name}" for name in row)
    sql = f"INSERT INTO bookmarks ({columns}) VALUES ({marks}) ON CONFLICT DO NOTHING"
    return db.execute(sql, row).rowcount == 1


def _save_position_row(db: sqlite3.Connection, position: Position) -> None:
    # REPLACE deletes and inserts, so the row gets a new rowid: that breaks ties in last_position
    # in favour of the latest saved, as in the memory store.
    db.execute(
        f"INSERT OR REPLACE INTO positions ({_POSITION_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
        (
            position.article_id,
            position.section_id,
            position.anchor,
            position.fraction,
            position.updated,
        ),
    )


def _find_row(db: sqlite3.Connection, bookmark: Bookmark) -> Any:
    return db.execute(
        f"SELECT {_BOOKMARK_COLUMNS} FROM bookmarks"
        " WHERE article_id = ? AND section_id = ? AND anchor = ? AND place = ?",
        (bookmark.article_id, bookmark.section_id, bookmark.anchor, place_key(bookmark.fraction)),
    ).fetchone()


def _get_row(db: sqlite3.Connection, bookmark_id: int) -> Any:
    sql = f"SELECT {_BOOKMARK_COLUMNS} FROM bookmarks WHERE id = ?"
    return db.execute(sql, (bookmark_id,)).fetchone()


def _snapshot(db: sqlite3.Connection) -> tuple[builtins.list[Bookmark], builtins.list[Position]]:
    """Every bookmark and position in a database, reading only the columns this version knows
    (so that a newer kreader's file can be shown too)."""
    rows = db.execute(f"SELECT {_BOOKMARK_COLUMNS} FROM bookmarks ORDER BY id").fetchall()
    bookmarks = [_row_to_bookmark(row) for row in rows]
    sql = f"SELECT {_POSITION_COLUMNS} FROM positions ORDER BY updated, rowid"
    positions = [_row_to_position(row) for row in db.execute(sql).fetchall()]
    return bookmarks, positions


def read_snapshot(path: Path) -> tuple[builtins.list[Bookmark], builtins.list[Position]]:
    """Read a database without writing anything; raises `sqlite3.Error` when it cannot.

    ``mode=ro`` still has to create the ``-shm`` file of a WAL database; where the folder forbids
    that, the file is opened as immutable, which is safe because nobody can write there either.
    """
    uri = path.absolute().as_uri()
    failure: sqlite3.Error | None = None
    for query in ("?mode=ro", "?mode=ro&immutable=1"):
        try:
            db = sqlite3.connect(uri + query, uri=True, isolation_level=None)
        except sqlite3.Error as exc:
            failure = exc
            continue
        try:
            return _snapshot(db)
        except sqlite3.Error as exc:
            failure = exc
        finally:
            db.close()
    assert failure is not None
    raise failure


class _Corrupt(Exception):
    """The database file is damaged, or is not a database at all."""


class _Newer(Exception):
    """The database was written by a newer kreader."""

    def __init__(self, version: int) -> None:
        super().__init__(f"schema version {version}")
        self.version = version


def _is_corruption(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (_SQLITE_CORRUPT, _SQLITE_NOTADB)
    return "malformed" in str(exc) or "not a database" in str(exc)


def _check_existing(path: Path, known_version: int) -> None:
    """Raise `_Corrupt` or `_Newer` before the file is opened for writing.

    The check runs on a read-only connection because a writing one, on closing, would checkpoint
    the WAL into a damaged file or delete it, destroying what could still be recovered.
    """
    uri = path.absolute().as_uri() + "?mode=ro"
    db = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        problems = [row[0] for row in db.execute("PRAGMA quick_check(5)")]
        if problems != ["ok"]:
            raise _Corrupt("; ".join(map(str, problems)))
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
        if version > known_version:
            raise _Newer(version)
    except sqlite3.DatabaseError as exc:
        if _is_corruption(exc):
            raise _Corrupt(str(exc)) from exc
        raise
    finally:
        db.close()


class SqliteStore:
    """Bookmarks and positions in an SQLite file; several kreaders may write to it at once.

    Open it with `open_store`, which deals with damaged, unwritable and newer files. Built
    directly, it raises `sqlite3.Error` or `OSError` when the file cannot be opened for writing.

    Once open, a failing write or read (disk full, I/O error, file damaged) never raises: the
    store copies what it holds into a `MemoryStore`, answers from there for the rest of the
    session, sets ``persistent = False`` and ``read_only = True``, and adds a message for
    `take_messages`.
    """

    def __init__(
        self,
        path: Path,
        *,
        migrations: Sequence[Migration] = MIGRATIONS,
        messages: Iterable[str] = (),
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``migrations`` is for tests of future schema versions; ``messages`` start the list."""
        self.path: Path | None = path
        self.persistent = True
        self.read_only = False
        self.messages: builtins.list[str] = builtins.list(messages)
        self._taken = 0
        self._clock = clock
        self._lock = threading.RLock()
        self._fallback: MemoryStore | None = None
        if path.exists():
            _check_existing(path, len(migrations))
        self._db = sqlite3.connect(
            path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False
        )
        try:
            self._open(migrations)
        except sqlite3.DatabaseError as exc:
            self._db.close()
            if _is_corruption(exc):
                raise _Corrupt(str(exc)) from exc
            raise
        except BaseException:
            self._db.close()
            raise

    def _open(self, migrations: Sequence[Migration]) -> None:
        db = self._db
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        # Turning WAL on needs the file to itself for a moment, which two kreaders creating it
        # together both want, and the busy timeout does not cover that: retry briefly.
        for attempt in range(100):
            try:
                db.execute("PRAGMA journal_mode = WAL").fetchone()
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == 99:
                    raise
                time.sleep(0.02)
        # In WAL mode NORMAL never corrupts and loses no commit when a process dies; only a power
        # cut can drop the last few. FULL would fsync every position save, which stutters on the
        # SD cards kiosks run from.
        db.execute("PRAGMA synchronous = NORMAL")
        # Also proves the file writable: BEGIN IMMEDIATE fails at once on a read-only one.
        db.execute("BEGIN IMMEDIATE")
        try:
            version = int(db.execute("PRAGMA user_version").fetchone()[0])  # it may have moved on
            if version > len(migrations):
                raise _Newer(version)
            for target in range(version + 1, len(migrations) + 1):
                migrations[target - 1](db)
                db.execute(f"PRAGMA user_version = {target}")
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def take_messages(self) -> builtins.list[str]:
        """Messages added since the last call (a failed write adds one)."""
        with self._lock:
            new = self.messages[self._taken :]
            self._taken = len(self.messages)
            return new

    def _degrade(self, exc: sqlite3.Error) -> MemoryStore:
        """Carry on in memory after a storage failure, with everything the file still shows."""
        bookmarks: builtins.list[Bookmark] = []
        positions: builtins.list[Position] = []
        try:
            bookmarks, positions = _snapshot(self._db)
        except sqlite3.Error:
            with contextlib.suppress(sqlite3.Error, OSError):
                if self.path is not None:
                    bookmarks, positions = read_snapshot(self.path)
        self._fallback = MemoryStore(
            path=self.path,
            read_only=True,
            bookmarks=bookmarks,
            positions=positions,
            clock=self._clock,
        )
        self.persistent = False
        self.read_only = True
        self.messages.append(f"Could not save to {self.path} ({exc}); {FALLBACK_NOTE}.")
        with contextlib.suppress(sqlite3.Error):
            self._db.close()
        return self._fallback

    def _write(
        self,
        operation: Callable[[sqlite3.Connection], _T],
        fallback: Callable[[MemoryStore], _T],
    ) -> _T:
        """``operation`` in one ``BEGIN IMMEDIATE`` transaction; ``fallback`` in memory if the
        disk fails (the transaction is rolled back first, so it happens once, in one place)."""
        with self._lock:
            if self._fallback is not None:
                return fallback(self._fallback)
            db = self._db
            try:
                db.execute("BEGIN IMMEDIATE")
                try:
                    result = operation(db)
                    db.execute("COMMIT")
                    return result
                except BaseException:
                    if db.in_transaction:
                        db.execute("ROLLBACK")
                    raise
            except (sqlite3.ProgrammingError, sqlite3.IntegrityError):
                raise  # a bug or a closed store, not a storage fault
            except sqlite3.Error as exc:
                return fallback(self._degrade(exc))

    def _read(
        self,
        operation: Callable[[sqlite3.Connection], _T],
        fallback: Callable[[MemoryStore], _T],
    ) -> _T:
        """A query, or the answer from memory once the database has failed."""
        with self._lock:
            if self._fallback is not None:
                return fallback(self._fallback)
            try:
                return operation(self._db)
            except (sqlite3.ProgrammingError, sqlite3.IntegrityError):
                raise
            except sqlite3.Error as exc:
                return fallback(self._degrade(exc))

    def add(
        self,
        article_id: str,
        section_id: str,
        anchor: str,
        fraction: float,
        article_title: str,
        section_title: str,
        note: str = "",
    ) -> tuple[Bookmark, bool]:
        """Bookmark a place unless it already is; returns (bookmark, newly created)."""
        bookmark = _new_bookmark(
            0,
            article_id,
            section_id,
            anchor,
            fraction,
            article_title,
            section_title,
            note,
            self._clock(),
        )

        def write(db: sqlite3.Connection) -> tuple[Bookmark, bool]:
            created = _insert_bookmark(db, bookmark, keep_id=False)
            return _row_to_bookmark(_find_row(db, bookmark)), created

        return self._write(write, lambda memory: memory._insert(bookmark, keep_id=False))

    def find(
        self, article_id: str, section_id: str, anchor: str, fraction: float
    ) -> Bookmark | None:
        """The bookmark at this place, if any."""
        place = Bookmark(0, article_id, section_id, anchor, fraction, "", "", "", 0.0)

        def read(db: sqlite3.Connection) -> Bookmark | None:
            row = _find_row(db, place)
            return None if row is None else _row_to_bookmark(row)

        return self._read(
            read, lambda memory: memory.find(article_id, section_id, anchor, fraction)
        )

    def get(self, bookmark_id: int) -> Bookmark | None:
        """The bookmark with this id, if any."""

        def read(db: sqlite3.Connection) -> Bookmark | None:
            row = _get_row(db, bookmark_id)
            return None if row is None else _row_to_bookmark(row)

        return self._read(read, lambda memory: memory.get(bookmark_id))

    def remove(self, bookmark_id: int) -> Bookmark | None:
        """Delete a bookmark and return it (for `restore`)."""

        def write(db: sqlite3.Connection) -> Bookmark | None:
            row = _get_row(db, bookmark_id)
            if row is None:
                return None
            db.execute("DELETE FROM bookmarks WHERE id = ?", (bookmark_id,))
            return _row_to_bookmark(row)

        return self._write(write, lambda memory: memory.remove(bookmark_id))

    def restore(self, bookmark: Bookmark) -> Bookmark:
        """Put a removed bookmark back (with its id if free). If its place has been bookmarked
        again since, that bookmark is returned instead."""
        checked = _copy_bookmark(bookmark)

        def write(db: sqlite3.Connection) -> Bookmark:
            _insert_bookmark(db, checked, keep_id=True)
            return _row_to_bookmark(_find_row(db, checked))

        return self._write(write, lambda memory: memory.restore(checked))

    def set_note(self, bookmark_id: int, note: str) -> Bookmark | None:
        """Change a bookmark's note."""
        cleaned = clean_text(note)

        def write(db: sqlite3.Connection) -> Bookmark | None:
            db.execute("UPDATE bookmarks SET note = ? WHERE id = ?", (cleaned, bookmark_id))
            row = _get_row(db, bookmark_id)
            return None if row is None else _row_to_bookmark(row)

        return self._write(write, lambda memory: memory.set_note(bookmark_id, note))

    def list(self) -> builtins.list[Bookmark]:
        """Every bookmark, newest first."""

        def read(db: sqlite3.Connection) -> builtins.list[Bookmark]:
            sql = f"SELECT {_BOOKMARK_COLUMNS} FROM bookmarks ORDER BY created DESC, id DESC"
            return [_row_to_bookmark(row) for row in db.execute(sql).fetchall()]

        return self._read(read, lambda memory: memory.list())

    def clear(self) -> int:
        """Delete every bookmark; returns how many there were."""

        def write(db: sqlite3.Connection) -> int:
            return db.execute("DELETE FROM bookmarks").rowcount

        return self._write(write, lambda memory: memory.clear())

    def save_position(self, position: Position) -> None:
        """Remember where the reader is in an article."""
        cleaned = _clean_position(position)
        self._write(
            lambda db: _save_position_row(db, cleaned),
            lambda memory: memory.save_position(cleaned),
        )

    def position(self, article_id: str) -> Position | None:
        """Where the reader was in this article."""

        def read(db: sqlite3.Connection) -> Position | None:
            sql = f"SELECT {_POSITION_COLUMNS} FROM positions WHERE article_id = ?"
            row = db.execute(sql, (article_id,)).fetchone()
            return None if row is None else _row_to_position(row)

        return self._read(read, lambda memory: memory.position(article_id))

    def last_position(self) -> Position | None:
        """The most recently updated position; of equal times, the one saved last."""

        def read(db: sqlite3.Connection) -> Position | None:
            sql = f"SELECT {_POSITION_COLUMNS} FROM positions ORDER BY updated DESC, rowid DESC"
            row = db.execute(sql + " LIMIT 1").fetchone()
            return None if row is None else _row_to_position(row)

        return self._read(read, lambda memory: memory.last_position())

    def export_json(self) -> str:
        """Every bookmark as JSON."""
        return _export(self.list())

    def import_json(self, text: str) -> ImportReport:
        """Add the bookmarks of an export in one transaction: all or nothing."""
        bookmarks = parse_export(text)

        def write(db: sqlite3.Connection) -> ImportReport:
            added = sum(_insert_bookmark(db, b, keep_id=False) for b in bookmarks)
            return ImportReport(added=added, skipped_duplicates=len(bookmarks) - added)

        def in_memory(memory: MemoryStore) -> ImportReport:
            added = sum(memory._insert(b, keep_id=False)[1] for b in bookmarks)
            return ImportReport(added=added, skipped_duplicates=len(bookmarks) - added)

        return self._write(write, in_memory)

    def close(self) -> None:
        """Close the database (the last connection to close checkpoints and removes the WAL)."""
        with self._lock:
            self._db.close()


# --- Opening, whatever state the folder is in -----------------------------------------------


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc) or type(exc).__name__


def _memory_fallback(
    db_path: Path,
    problem: str,
    clock: Callable[[], float],
    *,
    earlier: Sequence[str] = (),
) -> MemoryStore:
    """A memory store with what ``db_path`` still shows, and one message saying what is wrong."""
    bookmarks: builtins.list[Bookmark] = []
    positions: builtins.list[Position] = []
    unread = ""
    if db_path.is_file():
        try:
            bookmarks, positions = read_snapshot(db_path)
        except (sqlite3.Error, OSError) as exc:
            unread = f", and its bookmarks cannot be read ({_reason(exc)})"
    return MemoryStore(
        path=db_path,
        read_only=True,
        messages=[*earlier, f"{problem}{unread}; {FALLBACK_NOTE}."],
        bookmarks=bookmarks,
        positions=positions,
        clock=clock,
    )


def _probe_folder(data_dir: Path, db_path: Path) -> None:
    """Raise `OSError` if the folder or the database cannot be written (even by root: read-only
    disk, immutable file), rather than let SQLite find out halfway."""
    probe = data_dir / f".kreader-probe-{os.getpid()}-{threading.get_ident()}"
    os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    os.unlink(probe)
    if db_path.is_file():
        with open(db_path, "r+b"):
            pass


def move_aside(db_path: Path, now: float | None = None) -> Path:
    """Rename a damaged database, with its ``-wal`` and ``-shm``, to
    ``<name>.corrupt-YYYYmmdd-HHMMSS`` so that it can still be examined; returns the new path."""
    stamp = dt.datetime.fromtimestamp(time.time() if now is None else now)
    base = f"{db_path.name}.corrupt-{stamp:%Y%m%d-%H%M%S}"
    target, n = db_path.with_name(base), 0
    while target.exists():
        n += 1
        target = db_path.with_name(f"{base}-{n}")
    os.replace(db_path, target)
    for suffix in ("-wal", "-shm"):
        companion = db_path.with_name(db_path.name + suffix)
        if companion.exists():
            os.replace(companion, target.with_name(target.name + suffix))
    return target


def open_store(data_dir: Path, *, clock: Callable[[], float] = time.time) -> Store:
    """The store for ``data_dir``, whatever state it is in: storage faults never raise.

    - damaged file: moved aside (`move_aside`) and a new one started;
    - folder missing and not creatable, read-only, or disk full: a `MemoryStore` holding what
      can still be read, ``read_only`` set;
    - file from a newer kreader: shown but never written (or downgraded); changes stay in memory.

    Each case adds one message to ``store.messages``; ``store.persistent`` says whether writes
    will be kept.
    """
    data_dir = Path(data_dir)
    db_path = data_dir / DB_NAME
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        problem = f"Cannot create the bookmarks folder {data_dir} ({_reason(exc)})"
        return _memory_fallback(db_path, problem, clock)
    try:
        _probe_folder(data_dir, db_path)
    except OSError as exc:
        problem = f"Cannot write in the bookmarks folder {data_dir} ({_reason(exc)})"
        return _memory_fallback(db_path, problem, clock)
    messages: builtins.list[str] = []
    for attempt in range(2):
        try:
            return SqliteStore(db_path, messages=messages, clock=clock)
        except _Corrupt as exc:
            if attempt:  # the brand-new file is damaged too: this disk is not to be trusted
                problem = f"The new bookmarks file {db_path} is damaged too ({exc})"
                return _memory_fallback(db_path, problem, clock, earlier=messages)
            try:
                moved = move_aside(db_path, clock())
            except OSError as move_exc:
                problem = f"The bookmarks file {db_path} is damaged ({exc}) and cannot be moved"
                return _memory_fallback(db_path, f"{problem} ({_reason(move_exc)})", clock)
            messages.append(
                f"The bookmarks file {db_path} was damaged ({exc}); it was moved to {moved} and "
                "a new one started."
            )
        except _Newer as exc:
            problem = (
                f"{db_path} was written by a newer kreader; opened read-only (its schema version "
                f"is {exc.version}, this kreader knows {SCHEMA_VERSION})"
            )
            return _memory_fallback(db_path, problem, clock, earlier=messages)
        except (sqlite3.Error, OSError) as exc:
            problem = f"Cannot write bookmarks in {data_dir} ({_reason(exc)})"
            return _memory_fallback(db_path, problem, clock, earlier=messages)
    raise AssertionError("unreachable")  # pragma: no cover
