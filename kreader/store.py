"""Bookmarks and reading positions: one `Store` over SQLite, in a file or in memory.

The reader must never lose a bookmark and never crash because of its data folder, so `open_store`
turns every storage fault (a damaged file, a read-only or full disk, a file from a newer kreader)
into a working store plus a one-line message for the user.

A `Store` is one class over one sqlite3 connection, to either

- ``bookmarks.sqlite3`` in the data folder (WAL journal, a busy timeout, every write inside
  ``BEGIN IMMEDIATE``), so several kreader processes can write at once without losing anything; or
- ``:memory:`` (`Store.in_memory`): kiosk mode uses it, so "the kiosk writes nothing" is true by
  construction; it is also what a failing disk falls back to.

Either way the same SQL runs, so no behaviour is written twice. Write failures at runtime (a disk
that fills up mid-session) never raise: the store copies what the file holds into memory with
SQLite's backup (`sqlite3.Connection.backup`), carries on there, sets ``persistent = False`` and
``read_only = True`` and adds a message. The UI calls `Store.take_messages` after each write (or on
a timer) and shows what it returns.

This module must not import Textual: the CLI and the tests use it without a terminal.
"""

from __future__ import annotations

import builtins
import contextlib
import datetime as dt
import errno
import json
import math
import os
import sqlite3
import stat
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from kreader.dbfile import immediate, use_wal
from kreader.safetext import clean, valid_text

DB_NAME = "bookmarks.sqlite3"
"""File name of the database inside the data folder."""

EXPORT_FORMAT = 1
"""Value of ``kreader_bookmarks`` in exported JSON; a file with a larger one is refused."""

MAX_TEXT = 10_000
"""Longest string an import accepts; longer titles and notes given to `Store.add` or
`Store.set_note` are cut to it, so that every export can be imported again."""

MAX_CREATED = 32_503_680_000.0
"""Latest creation time accepted on import (year 3000): later ones cannot be shown as dates."""

# There is no limit on an import's size or count: the store has none, so a limit would refuse an export
# kreader wrote itself (100,004 bookmarks make a 22.7 MB export). Each field is still checked.

BUSY_TIMEOUT_MS = 5000
"""How long a write waits for another kreader process to finish its own."""

FALLBACK_NOTE = "bookmarks and reading positions will last only until you quit"

DAMAGED_NOTE = "Damaged bookmarks file set aside; started a new one."
"""What the reader says when it moved a damaged database aside: one line of a 60-column notification.
Where it went follows a fixed pattern (`move_aside`), so the message need not spell it out."""

LOW_SPACE_BYTES = 1024 * 1024
"""Free space under which an SQLite I/O error is taken to mean the disk is full (SQLite often reports a
full disk as "disk I/O error": it cannot grow its shared-memory file)."""

_T = TypeVar("_T")

# Escape and other control characters (but tab and newline) in titles and notes could drive the
# terminal when shown, so they are dropped on the way in. Dropping ESC defuses any sequence.

# SQLite primary result codes meaning the file itself is damaged (not unwritable, not busy).
_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26
_SQLITE_IOERR = 10
_SQLITE_FULL = 13


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


# --- Cleaning what comes in ----------------------------------------------------------------


def place_key(fraction: float) -> int:
    """The identity of a place inside an anchor's chunk: the fraction rounded to 2 places, as a
    whole percentage (the ``place`` column, which the unique index compares)."""
    return round(round(clamp_fraction(fraction), 2) * 100)


def clamp_fraction(fraction: float) -> float:
    """``fraction`` forced into 0..1: a scroll computation that overshoots is not an error."""
    if not math.isfinite(fraction):
        return 0.0
    return min(1.0, max(0.0, float(fraction)))


def clean_text(text: str) -> str:
    """``text`` without terminal escape sequences or control characters (tab and newline are
    kept; see `kreader.safetext.clean`) or lone surrogates, cut to `MAX_TEXT` characters."""
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
    """A `Bookmark` with its inputs cleaned, wherever they came from."""
    return Bookmark(
        id=bookmark_id,
        article_id=valid_text(article_id),
        section_id=valid_text(section_id),
        anchor=valid_text(anchor),
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
        position,
        article_id=valid_text(position.article_id),
        section_id=valid_text(position.section_id),
        anchor=valid_text(position.anchor),
        fraction=clamp_fraction(position.fraction),
        updated=float(position.updated),
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

    Nothing is trusted, since the file may come from anywhere: structure, types, fields and ranges
    are all checked before a single bookmark is written. Lone surrogates (``"\\ud800"``) in text become
    U+FFFD. Any export kreader writes is accepted, however many bookmarks it holds.
    """
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


# --- The schema -----------------------------------------------------------------------------

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
    # in favour of the latest saved.
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


def _connect(target: Path | str) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), usable from any thread: the
    store's lock lets one use it at a time."""
    return sqlite3.connect(
        target, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False
    )


def _prepare(db: sqlite3.Connection, migrations: Sequence[Migration]) -> None:
    """Set the connection up and bring the schema to the last of ``migrations``."""
    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    use_wal(db)
    # Also proves the file writable: BEGIN IMMEDIATE fails at once on a read-only one.
    with immediate(db):
        version = int(db.execute("PRAGMA user_version").fetchone()[0])  # it may have moved on
        if version > len(migrations):
            raise _Newer(version)
        for target in range(version + 1, len(migrations) + 1):
            migrations[target - 1](db)
            db.execute(f"PRAGMA user_version = {target}")


def _memory_copy(source: sqlite3.Connection) -> sqlite3.Connection:
    """A ``:memory:`` database holding what ``source`` holds, copied page by page with SQLite's
    backup; raises `sqlite3.Error` if this version cannot use the copy."""
    memory = _connect(":memory:")
    try:
        source.backup(memory)
        problems = [row[0] for row in memory.execute("PRAGMA quick_check(1)")]
        if problems != ["ok"]:
            raise sqlite3.DatabaseError(f"database disk image is malformed ({problems[0]})")
        # A newer kreader's file may have changed the tables: this version must be able to read
        # and write them, which is tried now (and rolled back) rather than failing mid-session.
        memory.execute("BEGIN")
        try:
            memory.execute(f"SELECT {_BOOKMARK_COLUMNS} FROM bookmarks LIMIT 0")
            probe = _new_bookmark(0, "\0probe", "", "", 0.0, "", "", "", 0.0)
            _insert_bookmark(memory, probe, keep_id=False)
            _save_position_row(memory, Position("\0probe", "", "", 0.0, 0.0))
        finally:
            memory.execute("ROLLBACK")
    except BaseException:
        memory.close()
        raise
    return memory


def _memory_copy_of_file(path: Path) -> sqlite3.Connection:
    """`_memory_copy` of the database at ``path``, read without writing anything; raises
    `sqlite3.Error` when it cannot be read.

    ``mode=ro`` still has to create the ``-shm`` file of a WAL database; where the folder forbids
    that, the file is opened as immutable, which is safe because nobody can write there either.
    """
    uri = path.absolute().as_uri()
    failure: sqlite3.Error | None = None
    for query in ("?mode=ro", "?mode=ro&immutable=1"):
        try:
            source = sqlite3.connect(uri + query, uri=True, isolation_level=None)
        except sqlite3.Error as exc:
            failure = exc
            continue
        try:
            return _memory_copy(source)
        except sqlite3.Error as exc:
            failure = exc
        finally:
            source.close()
    assert failure is not None
    raise failure


def _bookmark_or_none(row: Sequence[Any] | None) -> Bookmark | None:
    return None if row is None else _row_to_bookmark(row)


def _position_or_none(row: Sequence[Any] | None) -> Position | None:
    return None if row is None else _row_to_position(row)


_NEWEST_FIRST = f"SELECT {_BOOKMARK_COLUMNS} FROM bookmarks ORDER BY created DESC, id DESC"
"""Every bookmark in `Store.list`'s order (the index on ``created`` serves it)."""


# --- The store ------------------------------------------------------------------------------


class Store:
    """Bookmarks and positions in SQLite: a file several kreaders may write at once, or memory.

    Open a data folder's file with `open_store`, which deals with damaged, unwritable and newer
    files. Built directly over a file, a store raises `sqlite3.Error` or `OSError` when the file
    cannot be opened for writing.

    Once open, a failing write or read (disk full, I/O error, file damaged) never raises: the
    store copies the database into memory (`sqlite3.Connection.backup`), answers from there for
    the rest of the session, sets ``persistent = False`` and ``read_only = True``, and adds a
    message for `take_messages`.
    """

    path: Path | None
    """The database file, if any (a memory fallback names the file it stands in for)."""
    persistent: bool
    """True while writes reach the disk."""
    read_only: bool
    """True when a database exists that this session cannot write (newer version, read-only
    folder, full disk): what it held is shown, changes stay in memory."""
    messages: builtins.list[str]
    """Every warning for the user so far (opening problems, failed writes), oldest first."""

    def __init__(
        self,
        path: Path | None,
        *,
        migrations: Sequence[Migration] = MIGRATIONS,
        messages: Iterable[str] = (),
        clock: Callable[[], float] = time.time,
    ) -> None:
        """A store over the file at ``path`` (created or migrated as needed), or over memory if
        ``path`` is None. ``migrations`` is for tests of future schema versions; ``messages``
        start the list; ``clock`` gives bookmarks their creation time."""
        self.path = path
        self.persistent = path is not None
        self.read_only = False
        self.messages = builtins.list(messages)
        self._taken = 0
        self._clock = clock
        self._lock = threading.RLock()
        if path is not None and path.exists():
            _check_existing(path, len(migrations))
        self._db = _connect(":memory:" if path is None else path)
        try:
            _prepare(self._db, migrations)
        except sqlite3.DatabaseError as exc:
            self._db.close()
            if _is_corruption(exc):
                raise _Corrupt(str(exc)) from exc
            raise
        except BaseException:
            self._db.close()
            raise

    @classmethod
    def in_memory(
        cls, *, messages: Iterable[str] = (), clock: Callable[[], float] = time.time
    ) -> Store:
        """A store that lasts as long as the process and writes nothing: for kiosk mode."""
        return cls(None, messages=messages, clock=clock)

    def take_messages(self) -> builtins.list[str]:
        """Messages added since the last call, for the UI to show once (a failed write adds one)."""
        with self._lock:
            new = self.messages[self._taken :]
            self._taken = len(self.messages)
            return new

    def _use(self, db: sqlite3.Connection) -> None:
        """Carry on over ``db`` instead of the present connection, which is closed."""
        with self._lock:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = db

    def _degrade(self, exc: sqlite3.Error) -> None:
        """Carry on in memory after a storage failure, with everything the file still shows."""
        assert self.path is not None
        try:
            memory = _memory_copy(self._db)
        except sqlite3.Error:
            try:
                memory = _memory_copy_of_file(self.path)
            except (sqlite3.Error, OSError):
                memory = _connect(":memory:")
                _prepare(memory, MIGRATIONS)
        self._use(memory)
        self.persistent = False
        self.read_only = True
        if _disk_full(exc, self.path.parent):
            self.messages.append(f"{_full_disk_problem(self.path)}; {FALLBACK_NOTE}.")
        else:
            self.messages.append(f"Could not save to {self.path} ({exc}); {FALLBACK_NOTE}.")

    def _run(self, operation: Callable[[sqlite3.Connection], _T], write: bool) -> _T:
        """``operation``, inside one ``BEGIN IMMEDIATE`` transaction if it writes. If the file
        fails, the transaction is rolled back, the store moves to memory, and ``operation`` runs
        there instead: it happens once, in one place."""
        with self._lock:
            try:
                return self._attempt(operation, write)
            except (sqlite3.ProgrammingError, sqlite3.IntegrityError):
                raise  # a bug or a closed store, not a storage fault
            except sqlite3.Error as exc:
                if not self.persistent:
                    raise  # already in memory: there is no disk to blame
                self._degrade(exc)
                return self._attempt(operation, write)

    def _attempt(self, operation: Callable[[sqlite3.Connection], _T], write: bool) -> _T:
        db = self._db
        if not write:
            return operation(db)
        with immediate(db):
            return operation(db)

    def _read(self, operation: Callable[[sqlite3.Connection], _T]) -> _T:
        return self._run(operation, write=False)

    def _write(self, operation: Callable[[sqlite3.Connection], _T]) -> _T:
        return self._run(operation, write=True)

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
        """Bookmark a place unless it already is; returns (bookmark, newly created). One
        bookmark per place: the same article, section and anchor, fraction rounded to 2 places."""
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

        def insert(db: sqlite3.Connection) -> tuple[Bookmark, bool]:
            created = _insert_bookmark(db, bookmark, keep_id=False)
            return _row_to_bookmark(_find_row(db, bookmark)), created

        return self._write(insert)

    def find(
        self, article_id: str, section_id: str, anchor: str, fraction: float
    ) -> Bookmark | None:
        """The bookmark at this place (fraction rounded to 2 places), if any."""
        place = _new_bookmark(0, article_id, section_id, anchor, fraction, "", "", "", 0.0)
        return self._read(lambda db: _bookmark_or_none(_find_row(db, place)))

    def get(self, bookmark_id: int) -> Bookmark | None:
        """The bookmark with this id, if any."""
        return self._read(lambda db: _bookmark_or_none(_get_row(db, bookmark_id)))

    def remove(self, bookmark_id: int) -> Bookmark | None:
        """Delete a bookmark; returns it (for `restore`), or None if there was none."""

        def delete(db: sqlite3.Connection) -> Bookmark | None:
            row = _get_row(db, bookmark_id)
            db.execute("DELETE FROM bookmarks WHERE id = ?", (bookmark_id,))
            return _bookmark_or_none(row)

        return self._write(delete)

    def restore(self, bookmark: Bookmark) -> Bookmark:
        """Undo `remove`: put the bookmark back with its fields, creation time and (if free) id.
        If its place has been bookmarked again since, that bookmark is returned instead."""
        checked = _copy_bookmark(bookmark)

        def insert(db: sqlite3.Connection) -> Bookmark:
            _insert_bookmark(db, checked, keep_id=True)
            return _row_to_bookmark(_find_row(db, checked))

        return self._write(insert)

    def set_note(self, bookmark_id: int, note: str) -> Bookmark | None:
        """Change a bookmark's note; None if there is no such bookmark."""
        cleaned = clean_text(note)

        def update(db: sqlite3.Connection) -> Bookmark | None:
            db.execute("UPDATE bookmarks SET note = ? WHERE id = ?", (cleaned, bookmark_id))
            return _bookmark_or_none(_get_row(db, bookmark_id))

        return self._write(update)

    def list(self) -> builtins.list[Bookmark]:
        """Every bookmark, newest first."""
        return self._read(lambda db: [_row_to_bookmark(row) for row in db.execute(_NEWEST_FIRST)])

    def count(self) -> int:
        """How many bookmarks there are."""
        return self._read(
            lambda db: int(db.execute("SELECT count(*) FROM bookmarks").fetchone()[0])
        )

    def list_page(self, offset: int, limit: int) -> builtins.list[Bookmark]:
        """At most ``limit`` bookmarks, from the ``offset``-th on, in `list`'s order (newest first).

        For lists that show what is visible: read from the index on creation time, a page costs
        milliseconds however many bookmarks there are.
        """
        page = (max(0, limit), max(0, offset))
        sql = _NEWEST_FIRST + " LIMIT ? OFFSET ?"
        return self._read(lambda db: [_row_to_bookmark(row) for row in db.execute(sql, page)])

    def marked_sections(self) -> set[tuple[str, str]]:
        """Every (article id, section id) that holds a bookmark, for the contents' stars.

        Read from the unique index on places, without reading the bookmarks themselves.
        """
        sql = "SELECT DISTINCT article_id, section_id FROM bookmarks"
        return self._read(lambda db: set(db.execute(sql)))

    def clear(self) -> int:
        """Delete every bookmark (not the reading positions); returns how many there were."""
        return self._write(lambda db: db.execute("DELETE FROM bookmarks").rowcount)

    def save_position(self, position: Position) -> None:
        """Remember where the reader is in an article (one position per article)."""
        cleaned = _clean_position(position)
        self._write(lambda db: _save_position_row(db, cleaned))

    def position(self, article_id: str) -> Position | None:
        """Where the reader was in this article, if anywhere."""
        sql = f"SELECT {_POSITION_COLUMNS} FROM positions WHERE article_id = ?"
        key = (valid_text(article_id),)
        return self._read(lambda db: _position_or_none(db.execute(sql, key).fetchone()))

    def last_position(self) -> Position | None:
        """The most recently saved position of any article; of equal times, the one saved last."""
        sql = f"SELECT {_POSITION_COLUMNS} FROM positions ORDER BY updated DESC, rowid DESC LIMIT 1"
        return self._read(lambda db: _position_or_none(db.execute(sql).fetchone()))

    def export_json(self) -> str:
        """Every bookmark as JSON (see `import_json`), oldest first."""
        return _export(self.list())

    def import_json(self, text: str) -> ImportReport:
        """Add the bookmarks of an export, skipping places already bookmarked.

        Everything is checked before anything is written, and the bookmarks are added in one
        transaction: on any problem `StoreError` is raised and the store is unchanged.
        """
        bookmarks = parse_export(text)

        def insert(db: sqlite3.Connection) -> ImportReport:
            added = sum(_insert_bookmark(db, b, keep_id=False) for b in bookmarks)
            return ImportReport(added=added, skipped_duplicates=len(bookmarks) - added)

        return self._write(insert)

    def close(self) -> None:
        """Release the database (the last connection to a file checkpoints and removes the WAL);
        the store must not be used afterwards."""
        with self._lock:
            self._db.close()


# --- Opening, whatever state the folder is in -----------------------------------------------


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc) or type(exc).__name__


def _disk_full(exc: BaseException, folder: Path) -> bool:
    """Does this failure come from a full disk (which SQLite may report as a mere I/O error)?"""
    if isinstance(exc, OSError):
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
    elif isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        primary = None if code is None else code & 0xFF
        if primary == _SQLITE_FULL or "disk is full" in str(exc):
            return True
        if primary != _SQLITE_IOERR and "disk I/O error" not in str(exc):
            return False
    else:
        return False
    try:
        space = os.statvfs(folder)
    except OSError:
        return False
    return space.f_bavail * space.f_frsize < LOW_SPACE_BYTES


def _full_disk_problem(db_path: Path) -> str:
    return f"The disk holding {db_path} is full"


def _not_a_file_problem(db_path: Path) -> str | None:
    """Why ``db_path`` cannot be the database (a folder, a FIFO, a device), or None if it can be.

    Checked before SQLite sees it: SQLite calls a folder a "disk I/O error", and opening a FIFO would
    wait forever for a writer.
    """
    try:
        mode = os.stat(db_path).st_mode
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"Cannot read the bookmarks file {db_path} ({_reason(exc)})"
    if stat.S_ISREG(mode):
        return None
    kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file"
    return f"{db_path} is {kind}, not a bookmarks file; move it away to keep bookmarks"


def _memory_fallback(
    db_path: Path,
    problem: str,
    clock: Callable[[], float],
    *,
    earlier: Sequence[str] = (),
) -> Store:
    """A memory store with what ``db_path`` still shows, and one message saying what is wrong."""
    store = Store.in_memory(messages=earlier, clock=clock)
    store.path, store.read_only = db_path, True
    unread = ""
    # An empty file is one SQLite created just now and could not write to: nothing to read.
    if db_path.is_file() and db_path.stat().st_size > 0:
        try:
            store._use(_memory_copy_of_file(db_path))
        except (sqlite3.Error, OSError) as exc:
            unread = f", and its bookmarks cannot be read ({_reason(exc)})"
    store.messages.append(f"{problem}{unread}; {FALLBACK_NOTE}.")
    return store


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
    - folder missing and not creatable, read-only, or disk full: a store in memory holding what
      can still be read (copied with SQLite's backup), ``read_only`` set;
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
    not_a_file = _not_a_file_problem(db_path)
    if not_a_file is not None:
        return _memory_fallback(db_path, not_a_file, clock)
    try:
        _probe_folder(data_dir, db_path)
    except OSError as exc:
        if _disk_full(exc, data_dir):
            return _memory_fallback(db_path, _full_disk_problem(db_path), clock)
        problem = f"Cannot write in the bookmarks folder {data_dir} ({_reason(exc)})"
        return _memory_fallback(db_path, problem, clock)
    messages: builtins.list[str] = []
    for attempt in range(2):
        try:
            return Store(db_path, messages=messages, clock=clock)
        except _Corrupt as exc:
            if attempt:  # the brand-new file is damaged too: this disk is not to be trusted
                problem = f"The new bookmarks file {db_path} is damaged too ({exc})"
                return _memory_fallback(db_path, problem, clock, earlier=messages)
            try:
                move_aside(db_path, clock())
            except OSError as move_exc:
                problem = f"The bookmarks file {db_path} is damaged ({exc}) and cannot be moved"
                return _memory_fallback(db_path, f"{problem} ({_reason(move_exc)})", clock)
            # Where it went follows a fixed pattern beside the file; the message stays one line.
            messages.append(DAMAGED_NOTE)
        except _Newer as exc:
            problem = (
                f"{db_path} was written by a newer kreader; opened read-only (its schema version "
                f"is {exc.version}, this kreader knows {SCHEMA_VERSION})"
            )
            return _memory_fallback(db_path, problem, clock, earlier=messages)
        except (sqlite3.Error, OSError) as exc:
            if _disk_full(exc, data_dir):
                problem = _full_disk_problem(db_path)
            else:
                problem = f"Cannot write bookmarks in {data_dir} ({_reason(exc)})"
            return _memory_fallback(db_path, problem, clock, earlier=messages)
    raise AssertionError("unreachable")  # pragma: no cover
