"""The bookmark store: its behaviour over a file and over memory, then a file's faults, for real.

Every database file here is a real file under ``tmp_path``; faults are real too (random bytes, a cut
file, a folder that cannot be created or written, a file size limit, a killed process).
"""

from __future__ import annotations

import array
import contextlib
import datetime as dt
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import platformdirs
import pytest

from kreader.store import (
    DAMAGED_NOTE,
    DB_NAME,
    MAX_TEXT,
    MIGRATIONS,
    SCHEMA_VERSION,
    Bookmark,
    Position,
    Store,
    StoreError,
    default_data_dir,
    open_store,
)

ROOT = Path(__file__).resolve().parent.parent


class Clock:
    """A clock that moves one second each time it is read, so that creation order is certain."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        self.now += 1
        return self.now


@pytest.fixture(params=["file", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """Each behaviour test runs against both forms of the store: a file and memory."""
    if request.param == "file":
        opened = open_store(tmp_path / "data", clock=Clock())
        assert opened.persistent and opened.path is not None and not opened.messages
    else:
        opened = Store.in_memory(clock=Clock())
    yield opened
    opened.close()


def add(
    store: Store,
    article: str = "a",
    section: str = "s",
    anchor: str = "",
    fraction: float = 0.0,
    note: str = "",
) -> Bookmark:
    return store.add(
        article, section, anchor, fraction, f"Title {article}", f"Title {section}", note
    )[0]


def integrity(path: Path) -> list[str]:
    db = sqlite3.connect(path)
    try:
        return [row[0] for row in db.execute("PRAGMA integrity_check")]
    finally:
        db.close()


def query(path: Path, sql: str) -> list[tuple[object, ...]]:
    db = sqlite3.connect(path)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def run_python(code: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


# --- Behaviour, file and memory -----------------------------------------------------------------


def test_add_get_list_round_trip(store: Store) -> None:
    first, created = store.add("art", "sec", "sub", 0.25, "Article", "Section", "a note")
    assert created
    assert first == Bookmark(
        first.id, "art", "sec", "sub", 0.25, "Article", "Section", "a note", first.created
    )
    second = add(store, "other")
    assert store.get(first.id) == first
    assert store.get(9999) is None
    assert store.list() == [second, first]  # newest first
    assert second.created > first.created


def test_the_same_place_twice_is_one_bookmark(store: Store) -> None:
    first, created = store.add("a", "s", "", 0.501, "A", "S")
    again, created_again = store.add("a", "s", "", 0.499, "A", "S", "other note")
    assert created and not created_again
    assert again == first  # round(fraction, 2) is the same place; the first one is kept as it was
    assert store.find("a", "s", "", 0.504) == first
    assert store.find("a", "s", "", 0.51) is None
    others = [
        add(store, "a", "s", "", 0.51),
        add(store, "a", "s", "x", 0.5),
        add(store, "a", "t", "", 0.5),
    ]
    assert len({b.id for b in [first, *others]}) == 4
    assert len(store.list()) == 4


def test_remove_and_restore(store: Store) -> None:
    kept = add(store, "a")
    removed = add(store, "b", anchor="h", fraction=0.3, note="keep me")
    assert store.remove(removed.id) == removed
    assert store.remove(removed.id) is None
    assert store.get(removed.id) is None and store.list() == [kept]
    restored = store.restore(removed)
    assert restored == removed  # same id, fields and creation time
    assert store.list() == [removed, kept]


def test_restore_when_the_place_was_bookmarked_again(store: Store) -> None:
    removed = add(store, "a")
    store.remove(removed.id)
    again = add(store, "a")
    assert again.id != removed.id  # ids are never given twice
    assert store.restore(removed) == again
    assert len(store.list()) == 1


def test_notes(store: Store) -> None:
    bookmark = add(store)
    updated = store.set_note(bookmark.id, "line one\nline two\t!")
    assert updated == Bookmark(**{**bookmark.__dict__, "note": "line one\nline two\t!"})
    assert store.get(bookmark.id) == updated
    assert store.set_note(12345, "x") is None
    # Terminal escapes are dropped (they would drive the terminal when shown); length is capped.
    assert store.set_note(bookmark.id, "\x1b]0;pwned\x07red \x1b[31mtext\x9b") is not None
    assert store.get(bookmark.id).note == "red text"  # type: ignore[union-attr]
    long = store.set_note(bookmark.id, "n" * (MAX_TEXT + 50))
    assert long is not None and len(long.note) == MAX_TEXT


def test_positions(store: Store) -> None:
    assert store.last_position() is None and store.position("a") is None
    store.save_position(Position("a", "s1", "", 0.5, 100.0))
    store.save_position(Position("b", "s2", "h", 0.1, 200.0))
    store.save_position(Position("a", "s3", "x", 1.7, 300.0))  # replaces, fraction clamped
    assert store.position("a") == Position("a", "s3", "x", 1.0, 300.0)
    assert store.position("b") == Position("b", "s2", "h", 0.1, 200.0)
    assert store.last_position() == store.position("a")
    store.save_position(Position("b", "s2", "h", 0.2, 300.0))  # equal times: the latest saved wins
    assert store.last_position() == Position("b", "s2", "h", 0.2, 300.0)


def test_clear_keeps_positions(store: Store) -> None:
    for name in "abc":
        add(store, name)
    store.save_position(Position("a", "s", "", 0.0, 1.0))
    assert store.clear() == 3
    assert store.list() == [] and store.clear() == 0
    assert store.position("a") is not None


def test_export_import_round_trip(store: Store) -> None:
    originals = [
        add(store, "a", note="x"),
        add(store, "b", anchor="h", fraction=0.42),
        add(store, "c"),
    ]
    text = store.export_json()
    document = json.loads(text)
    assert document["kreader_bookmarks"] == 1
    assert [e["article_id"] for e in document["bookmarks"]] == ["a", "b", "c"]  # oldest first
    assert "id" not in document["bookmarks"][0]

    other = Store.in_memory()
    report = other.import_json(text)
    assert (report.added, report.skipped_duplicates) == (3, 0)
    strip = [{k: v for k, v in b.__dict__.items() if k != "id"} for b in originals]
    assert [
        {k: v for k, v in b.__dict__.items() if k != "id"} for b in reversed(other.list())
    ] == strip

    store.remove(originals[1].id)
    report = store.import_json(text)
    assert (report.added, report.skipped_duplicates) == (1, 2)
    assert len(store.list()) == 3


def test_take_messages_returns_each_once() -> None:
    store = Store.in_memory(messages=["one"])
    assert store.take_messages() == ["one"]
    assert store.take_messages() == []
    store.messages.append("two")
    assert store.take_messages() == ["two"] and store.messages == ["one", "two"]


def test_memory_store_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = Store.in_memory()
    add(store)
    store.save_position(Position("a", "s", "", 0.5, 1.0))
    assert (store.path, store.persistent, store.read_only) == (None, False, False)
    assert list(tmp_path.iterdir()) == []


# --- Hostile imports ---------------------------------------------------------------------------

GOOD = {
    "article_id": "a",
    "section_id": "s",
    "anchor": "",
    "fraction": 0.5,
    "article_title": "A",
    "section_title": "S",
    "note": "",
    "created": 1_700_000_000.0,
}


def export_of(*entries: object, **top: object) -> str:
    return json.dumps({"kreader_bookmarks": 1, "bookmarks": list(entries), **top})


HOSTILE: dict[str, tuple[str, str]] = {
    "bad json": ('{"kreader_bookmarks": 1, "bookmarks": [', "not valid JSON"),
    "not an object": ("[1, 2]", "expected a JSON object"),
    "no format": (json.dumps({"bookmarks": []}), "format number"),
    "format is text": (json.dumps({"kreader_bookmarks": "1", "bookmarks": []}), "format number"),
    "newer format": (json.dumps({"kreader_bookmarks": 2, "bookmarks": []}), "newer kreader"),
    "unknown top field": (export_of(extra=1), "unknown field 'extra'"),
    "bookmarks not a list": (
        json.dumps({"kreader_bookmarks": 1, "bookmarks": {}}),
        "must be a list",
    ),
    "entry not an object": (export_of(GOOD, "x"), "bookmarks[1]: must be an object"),
    "missing field": (
        export_of({k: v for k, v in GOOD.items() if k != "note"}),
        "missing field 'note'",
    ),
    "unknown field": (export_of({**GOOD, "colour": "red"}), "unknown field 'colour'"),
    "id is a number": (export_of({**GOOD, "article_id": 7}), "article_id: must be a string"),
    "title is null": (export_of({**GOOD, "section_title": None}), "must be a string, not null"),
    "fraction is text": (export_of({**GOOD, "fraction": "0.5"}), "fraction: must be a number"),
    "fraction is bool": (export_of({**GOOD, "fraction": True}), "fraction: must be a number"),
    "fraction above 1": (export_of({**GOOD, "fraction": 1.5}), "fraction: must be from 0 to 1"),
    "fraction below 0": (export_of({**GOOD, "fraction": -0.01}), "fraction: must be from 0 to 1"),
    "NaN": (export_of(GOOD).replace("0.5", "NaN"), "not valid JSON"),
    "Infinity": (export_of(GOOD).replace("1700000000.0", "Infinity"), "not valid JSON"),
    "huge integer": (export_of(GOOD).replace("1700000000.0", "9" * 400), "created: must be from"),
    "endless integer": (export_of(GOOD).replace("1700000000.0", "9" * 5000), "not valid JSON"),
    "string too long": (export_of({**GOOD, "note": "x" * (MAX_TEXT + 1)}), "note: too long"),
    "many entries, one bad": (export_of(*[GOOD] * 100_001, {}), "bookmarks[100001]: missing"),
    "deep nesting": ("[" * 200_000 + "]" * 200_000, "not valid JSON"),
    "good then bad": (
        export_of(GOOD, {**GOOD, "article_id": "b", "fraction": 2}),
        "bookmarks[1].fraction",
    ),
}


@pytest.mark.parametrize("text, reason", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_import_changes_nothing(store: Store, text: str, reason: str) -> None:
    add(store, "existing")
    before = store.list()
    with pytest.raises(StoreError, match=re.escape(reason)):
        store.import_json(text)
    assert store.list() == before
    if store.path is not None:
        assert query(store.path, "SELECT article_id FROM bookmarks") == [("existing",)]


def test_import_cleans_terminal_escapes(store: Store) -> None:
    report = store.import_json(export_of({**GOOD, "article_title": "\x1b[2J\x1b]0;x\x07Title"}))
    assert report.added == 1
    assert store.list()[0].article_title == "Title"


def test_lone_surrogates_are_replaced_not_a_traceback(store: Store) -> None:
    """JSON's ``"\\ud800"`` is a lone surrogate: SQLite could not store it, nor an export write it."""
    text = export_of(
        {**GOOD, "note": "bad \ud800 note", "section_title": "\udcff", "article_id": "a\udfff"}
    )
    assert "\\ud800" in text  # as JSON escapes, the way a hand-edited file would have them
    assert store.import_json(text).added == 1
    [bookmark] = store.list()
    assert (bookmark.note, bookmark.section_title) == ("bad \ufffd note", "\ufffd")
    assert bookmark.article_id == "a\ufffd"
    # The reader's own calls (a file name's undecodable byte becomes a surrogate) are safe too.
    added, _ = store.add("b\udc80", "s\ud800", "\udfff", 0.0, "T\ud800", "S", "n\ud800")
    assert store.find("b\udc80", "s\ud800", "\udfff", 0.0) == added
    assert added.note == "n\ufffd" and added.article_id == "b\ufffd"
    assert store.set_note(added.id, "x\ud800") is not None
    store.save_position(Position("b\udc80", "s", "", 0.5, 1.0))
    assert store.position("b\udc80") is not None
    export = store.export_json()
    export.encode("utf-8")  # strict: no surrogate left to write
    assert Store.in_memory().import_json(export).added == 2


def test_an_export_of_more_than_100_000_bookmarks_imports_again(tmp_path: Path) -> None:
    """100,004 bookmarks export to 22.7 MB, which the old 20 MB and 100,000-entry limits refused."""
    entries = [
        {**GOOD, "section_id": f"s{n}", "note": "n" * 150, "created": 1_700_000_000.0 + n}
        for n in range(100_004)
    ]
    source = open_store(tmp_path / "a")
    assert source.import_json(export_of(*entries)).added == 100_004
    export = source.export_json()
    source.close()
    assert len(export.encode("utf-8")) > 20 * 1024 * 1024
    target = open_store(tmp_path / "b")
    assert target.import_json(export).added == 100_004
    assert target.export_json() == export
    target.close()


# --- The file itself -------------------------------------------------------------------------


def test_sqlite_file_persists_and_is_set_up(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = open_store(data)
    bookmark = add(store, note="remember")
    store.save_position(Position("a", "s", "", 0.3, 5.0))
    store.close()
    db = data / DB_NAME
    assert query(db, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert query(db, "PRAGMA journal_mode") == [("wal",)]
    unique = [
        row for row in query(db, "PRAGMA index_list(bookmarks)") if row[1] == "bookmarks_place"
    ]
    assert unique and unique[0][2] == 1

    again = open_store(data)
    assert again.persistent and again.messages == []
    assert again.list() == [bookmark]
    assert again.last_position() == Position("a", "s", "", 0.3, 5.0)
    again.close()
    assert sorted(p.name for p in data.iterdir()) == [DB_NAME]  # no stray probe or journal files


def test_default_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert default_data_dir(tmp_path / "x") == tmp_path / "x"
    monkeypatch.setenv("KREADER_DATA_DIR", str(tmp_path / "env"))
    assert default_data_dir() == tmp_path / "env"
    monkeypatch.delenv("KREADER_DATA_DIR")
    assert default_data_dir() == platformdirs.user_data_path("kreader")


def test_store_modules_do_not_import_textual() -> None:
    result = run_python(
        """
        import sys
        import kreader.store, kreader.commands.bookmarks
        print(sorted({m.split(".")[0] for m in sys.modules} & {"textual", "rich", "markdown_it"}))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# --- Migrations ---------------------------------------------------------------------------------


def test_migrates_an_empty_file(tmp_path: Path) -> None:
    (tmp_path / DB_NAME).touch()  # SQLite's own idea of an empty, version-0 database
    store = open_store(tmp_path)
    assert store.persistent and store.messages == []
    add(store)
    store.close()
    assert query(tmp_path / DB_NAME, "PRAGMA user_version") == [(SCHEMA_VERSION,)]


def test_migrates_an_unversioned_database_keeping_its_rows(tmp_path: Path) -> None:
    db_path = tmp_path / DB_NAME
    db = sqlite3.connect(db_path)
    db.executescript(
        """
        CREATE TABLE bookmarks (id INTEGER PRIMARY KEY, article_id TEXT, section_id TEXT,
                                line INTEGER, created REAL);
        INSERT INTO bookmarks VALUES (1, 'alpha', 'intro', 40, 1000.0);
        INSERT INTO bookmarks VALUES (2, 'beta', 'end', 3, NULL);
        INSERT INTO bookmarks VALUES (3, NULL, 'lost', 0, 5.0);
        CREATE TABLE positions (article_id TEXT PRIMARY KEY, section_id TEXT, updated REAL);
        INSERT INTO positions VALUES ('alpha', 'intro', 77.0);
        CREATE TABLE by_hand (x);
        INSERT INTO by_hand VALUES ('mine');
        """
    )
    db.commit()
    db.close()
    assert query(db_path, "PRAGMA user_version") == [(0,)]

    store = open_store(tmp_path)
    assert store.persistent and store.messages == []
    carried = {
        (b.article_id, b.section_id, b.anchor, b.fraction, b.article_title) for b in store.list()
    }
    assert carried == {("alpha", "intro", "", 0.0, "alpha"), ("beta", "end", "", 0.0, "beta")}
    assert store.last_position() == Position("alpha", "intro", "", 0.0, 77.0)
    store.close()
    assert query(db_path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert query(db_path, "SELECT count(*) FROM bookmarks_v0") == [(3,)]  # the old rows are kept
    assert query(db_path, "SELECT x FROM by_hand") == [("mine",)]
    assert integrity(db_path) == ["ok"]


def test_a_future_migration_is_one_appended_function(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    kept = add(store)
    store.close()

    def to_v2(db: sqlite3.Connection) -> None:
        db.execute("ALTER TABLE bookmarks ADD COLUMN colour TEXT NOT NULL DEFAULT ''")

    newer = Store(tmp_path / DB_NAME, migrations=[*MIGRATIONS, to_v2])
    assert newer.list() == [kept]
    newer.close()
    assert query(tmp_path / DB_NAME, "PRAGMA user_version") == [(SCHEMA_VERSION + 1,)]
    assert query(tmp_path / DB_NAME, "SELECT colour FROM bookmarks") == [("",)]

    # ...and this version, which does not know v2, shows the bookmarks but writes nothing.
    older = open_store(tmp_path)
    assert older.list() == [kept] and not older.persistent and older.read_only
    assert "was written by a newer kreader; opened read-only" in older.messages[0]


def test_newer_database_is_opened_read_only(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    kept = add(store)
    store.save_position(Position("a", "s", "", 0.5, 9.0))
    store.close()
    db_path = tmp_path / DB_NAME
    db = sqlite3.connect(db_path)
    db.execute("PRAGMA user_version = 99")
    db.close()
    before = db_path.read_bytes()

    newer = open_store(tmp_path)
    assert (newer.persistent, newer.read_only, newer.path) == (False, True, db_path)
    [message] = newer.take_messages()
    assert f"{db_path} was written by a newer kreader; opened read-only" in message
    assert newer.list() == [kept] and newer.last_position() == Position("a", "s", "", 0.5, 9.0)
    added = add(newer, "in-memory")
    assert newer.list() == [added, kept]
    newer.close()
    assert db_path.read_bytes() == before  # never downgraded, never written
    assert query(db_path, "PRAGMA user_version") == [(99,)]


def test_a_newer_database_this_version_cannot_write_is_not_used(tmp_path: Path) -> None:
    """The memory copy of a newer file must take this version's writes: one that would not (a rule
    this version does not know) is not used, so that no write fails later in the session."""
    open_store(tmp_path).close()
    db = sqlite3.connect(tmp_path / DB_NAME)
    db.execute(
        "CREATE TRIGGER needs_colour BEFORE INSERT ON bookmarks"
        " BEGIN SELECT RAISE(ABORT, 'a bookmark needs a colour'); END"
    )
    db.execute("PRAGMA user_version = 99")
    db.commit()
    db.close()

    newer = open_store(tmp_path)
    [message] = newer.take_messages()
    assert "was written by a newer kreader; opened read-only" in message
    assert "its bookmarks cannot be read (a bookmark needs a colour)" in message
    assert (newer.persistent, newer.read_only) == (False, True)
    assert add(newer) in newer.list()  # the session still works, in memory
    newer.close()
    assert query(tmp_path / DB_NAME, "PRAGMA user_version") == [(99,)]


# --- Damaged files ------------------------------------------------------------------------------

ASIDE = re.compile(re.escape(DB_NAME) + r"\.corrupt-\d{8}-\d{6}")


def test_random_bytes_are_moved_aside(tmp_path: Path) -> None:
    db_path = tmp_path / DB_NAME
    junk = os.urandom(8192)
    db_path.write_bytes(junk)
    (tmp_path / f"{DB_NAME}-wal").write_bytes(b"stale wal")
    when = dt.datetime(2024, 1, 2, 3, 4, 5).timestamp()

    store = open_store(tmp_path, clock=lambda: when)
    assert store.persistent
    aside = tmp_path / f"{DB_NAME}.corrupt-20240102-030405"
    assert aside.read_bytes() == junk
    assert (tmp_path / f"{aside.name}-wal").read_bytes() == b"stale wal"
    [message] = store.take_messages()
    # One line, even in a 60-column notification (it took five): where it went follows a fixed pattern.
    assert message == DAMAGED_NOTE and len(message) <= 56
    assert store.list() == []
    add(store)
    store.close()
    assert integrity(db_path) == ["ok"]

    # A second damaged file in the same second does not overwrite the first one kept aside.
    db_path.write_bytes(os.urandom(4096))
    open_store(tmp_path, clock=lambda: when).close()
    assert (tmp_path / f"{aside.name}-1").exists() and aside.read_bytes() == junk


def test_truncated_database_is_moved_aside(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    for n in range(300):
        add(store, f"article-{n}", note="x" * 100)
    store.close()
    db_path = tmp_path / DB_NAME
    whole = db_path.read_bytes()
    assert len(whole) > 8 * 4096
    db_path.write_bytes(whole[: len(whole) // 2])

    fresh = open_store(tmp_path)
    assert fresh.persistent and fresh.list() == []
    [aside] = [p for p in tmp_path.iterdir() if ASIDE.fullmatch(p.name)]
    assert aside.read_bytes() == whole[: len(whole) // 2]
    assert fresh.messages == [DAMAGED_NOTE]
    fresh.close()


# --- Folders that cannot be written --------------------------------------------------------------

FS_IOC_GETFLAGS, FS_IOC_SETFLAGS, FS_IMMUTABLE_FL = 0x80086601, 0x40086602, 0x10


def _set_immutable(path: Path, on: bool) -> None:
    import fcntl  # Linux and macOS only; read_only() skips where it is missing

    fd = os.open(path, os.O_RDONLY)
    try:
        flags = array.array("i", [0])
        fcntl.ioctl(fd, FS_IOC_GETFLAGS, flags, True)
        flags[0] = flags[0] | FS_IMMUTABLE_FL if on else flags[0] & ~FS_IMMUTABLE_FL
        fcntl.ioctl(fd, FS_IOC_SETFLAGS, flags, True)
    finally:
        os.close(fd)


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """Make ``folder`` and its files truly unwritable, even for root.

    chmod is enough for other users. Root ignores permissions, so there the Linux immutable flag
    is used; where that is refused too, the test is skipped and says why.
    """
    paths = [folder, *folder.iterdir()]
    if os.geteuid() != 0:
        modes = {p: p.stat().st_mode for p in paths}
        for p in paths:
            p.chmod(0o500 if p.is_dir() else 0o400)
        try:
            yield
        finally:
            for p, mode in modes.items():
                p.chmod(mode)
        return
    done: list[Path] = []
    try:
        try:
            for p in paths:
                _set_immutable(p, True)
                done.append(p)
        except (OSError, ImportError) as exc:
            pytest.skip(
                "running as root, where chmod cannot stop writes, and the immutable flag is "
                f"refused here ({getattr(exc, 'strerror', None) or exc})"
            )
        try:
            (folder / "probe").touch()
        except OSError:
            yield
        else:
            (folder / "probe").unlink()
            pytest.skip("running as root and could not make a folder read-only")
    finally:
        for p in done:
            _set_immutable(p, False)


def test_folder_that_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    data = blocker / "kreader"
    store = open_store(data)
    assert (store.persistent, store.read_only) == (False, True)
    [message] = store.take_messages()
    assert str(data) in message and "Cannot create" in message and "until you quit" in message
    bookmark = add(store)
    assert store.list() == [bookmark]  # the session still works, in memory
    assert blocker.read_text() == "not a folder"


def test_read_only_folder_shows_what_it_holds(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = open_store(data)
    kept = add(store, note="stored")
    store.save_position(Position("a", "s", "", 0.5, 3.0))
    store.close()
    db_path = data / DB_NAME
    before = db_path.read_bytes()

    with read_only(data):
        fallback = open_store(data)
        assert (fallback.persistent, fallback.read_only) == (False, True)
        [message] = fallback.take_messages()
        assert f"Cannot write in the bookmarks folder {data}" in message
        assert fallback.list() == [kept] and fallback.position("a") is not None
        added = add(fallback, "new")
        assert fallback.remove(kept.id) == kept
        assert fallback.list() == [added]
        fallback.close()

    assert db_path.read_bytes() == before  # nothing already stored was harmed
    assert sorted(p.name for p in data.iterdir()) == [DB_NAME]
    assert open_store(data).list() == [kept]


def test_a_failing_write_moves_what_was_stored_into_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write that fails mid-session (here: another process holds the write lock for longer than
    the busy timeout) copies the database into memory, where the session carries on whole."""
    monkeypatch.setattr("kreader.store.BUSY_TIMEOUT_MS", 200)
    store = open_store(tmp_path, clock=Clock())
    kept = [add(store, "a", note="stored"), add(store, "b", anchor="h", fraction=0.5)]
    store.save_position(Position("a", "s", "", 0.25, 7.0))
    removed = add(store, "c")
    store.remove(removed.id)
    other = sqlite3.connect(tmp_path / DB_NAME, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # and never lets go
    try:
        added, created = store.add("new", "s", "", 0.0, "New", "S")
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert created and (store.persistent, store.read_only) == (False, True)
    [message] = store.take_messages()
    assert message.startswith(f"Could not save to {tmp_path / DB_NAME} (")
    assert message.endswith("until you quit.") and "\n" not in message
    # Everything stored is still there, ids and all, and the failed write happened once, in memory.
    assert store.list() == [added, *reversed(kept)]
    assert store.position("a") == Position("a", "s", "", 0.25, 7.0)
    assert added.id not in (b.id for b in [*kept, removed])  # ids are never given twice
    assert store.restore(removed) == removed and store.count() == 4
    assert store.marked_sections() == {("a", "s"), ("b", "s"), ("c", "s"), ("new", "s")}
    assert store.path == tmp_path / DB_NAME and store.take_messages() == []
    store.close()
    # None of it reached the file, which is as it was before the failure.
    assert integrity(tmp_path / DB_NAME) == ["ok"]
    assert sorted(r[0] for r in query(tmp_path / DB_NAME, "SELECT article_id FROM bookmarks")) == [
        "a",
        "b",
    ]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses RLIMIT_FSIZE and SIGXFSZ")
def test_disk_full_mid_session_switches_to_memory(tmp_path: Path) -> None:
    # A file size limit makes the disk "full" for this process only, which works even as root.
    result = run_python(
        """
        import json, resource, signal, sys
        from pathlib import Path
        from kreader.store import open_store
        data = Path(sys.argv[1])
        store = open_store(data)
        saved = [store.add(f"saved-{n}", "s", "", 0.0, "A", "S")[0].id for n in range(5)]
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        limit = max(p.stat().st_size for p in data.iterdir())
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
        results = []
        for n in range(50):
            bookmark, created = store.add(f"big-{n}", "s", "", 0.0, "A" * 5000, "S", "x" * 5000)
            results.append(store.persistent)
            if not store.persistent:
                break
        print(json.dumps({
            "saved": saved,
            "results": results,
            "messages": store.take_messages(),
            "later": store.take_messages(),
            "read_only": store.read_only,
            "listed": [b.article_id for b in store.list()],
        }))
        """,
        str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["results"][-1] is False and out["read_only"] is True
    [message] = out["messages"]
    assert (
        message.startswith(f"Could not save to {tmp_path / DB_NAME}")
        and "until you quit" in message
    )
    assert out["later"] == []
    # the failed write went to memory rather than being lost or raising
    assert out["listed"][0] == f"big-{len(out['results']) - 1}"
    db_path = tmp_path / DB_NAME
    assert integrity(db_path) == ["ok"]
    on_disk = {row[0] for row in query(db_path, "SELECT id FROM bookmarks")}
    assert set(out["saved"]) <= on_disk


# --- Several processes --------------------------------------------------------------------------

WRITER = """
import sys, time
from pathlib import Path
from kreader.store import open_store
data, name, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
print("ready", flush=True)
while not (data.parent / "go").exists():
    time.sleep(0.005)
store = open_store(data)
assert store.persistent, store.messages
n = 0
while count < 0 or n < count:
    bookmark, created = store.add(f"{name}-{n}", "s", "", 0.0, "A", "S", "x" * 200)
    assert created
    print(bookmark.id, flush=True)
    n += 1
store.close()
"""


def start_writer(data: Path, name: str, count: int) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(data), name, str(count)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert process.stdout is not None
    assert process.stdout.readline() == "ready\n"
    return process


def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"  # created by the writers themselves, racing
    writers = [start_writer(data, name, 200) for name in ("left", "right")]
    (tmp_path / "go").touch()
    outputs = [w.communicate(timeout=60) for w in writers]
    for writer, (_, err) in zip(writers, outputs, strict=True):
        assert writer.returncode == 0, err
    ids = [set(map(int, out.split())) for out, _ in outputs]
    assert len(ids[0]) == len(ids[1]) == 200 and not ids[0] & ids[1]
    db_path = data / DB_NAME
    assert query(db_path, "SELECT count(*) FROM bookmarks") == [(400,)]
    assert integrity(db_path) == ["ok"]


def test_writer_killed_mid_run_keeps_every_committed_bookmark(tmp_path: Path) -> None:
    data = tmp_path / "data"
    writer = start_writer(data, "killed", -1)
    (tmp_path / "go").touch()
    assert writer.stdout is not None
    reported = [int(writer.stdout.readline()) for _ in range(150)]
    os.kill(writer.pid, signal.SIGKILL)
    rest, _ = writer.communicate(timeout=30)
    assert writer.returncode == -signal.SIGKILL
    reported += [int(line) for line in rest.splitlines(keepends=True) if line.endswith("\n")]

    db_path = data / DB_NAME
    assert integrity(db_path) == ["ok"]
    on_disk = {row[0] for row in query(db_path, "SELECT id FROM bookmarks")}
    assert set(reported) <= on_disk
    store = open_store(data)
    assert store.persistent and store.messages == []
    assert len(store.list()) == len(on_disk)
    store.close()


def test_a_busy_database_is_waited_for_not_given_up(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    other = sqlite3.connect(tmp_path / DB_NAME, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another kreader in the middle of a write
    release = threading.Timer(0.3, lambda: other.execute("COMMIT"))
    started = time.monotonic()
    release.start()
    bookmark = add(store)
    release.join()
    other.close()
    assert time.monotonic() - started >= 0.25
    assert store.persistent and store.messages == [] and store.list() == [bookmark]
    store.close()


# --- Problems named for what they are (issue 11, item 8) --------------------------------------


def test_a_folder_where_the_database_should_be_is_named(tmp_path: Path) -> None:
    """SQLite calls it a "disk I/O error"; the reader says what is in the way, and where."""
    data = tmp_path / "data"
    (data / DB_NAME).mkdir(parents=True)
    store = open_store(data)
    assert not store.persistent
    [message] = store.take_messages()
    assert message.startswith(f"{data / DB_NAME} is a folder, not a bookmarks file")
    assert "I/O" not in message and "\n" not in message
    assert add(store) in store.list()  # the session still works, in memory
    assert (data / DB_NAME).is_dir() and sorted(p.name for p in data.iterdir()) == [DB_NAME]


def test_a_fifo_where_the_database_should_be_does_not_hang(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    os.mkfifo(data / DB_NAME)
    result = run_python(
        """
        import sys
        from pathlib import Path
        from kreader.store import open_store
        print(open_store(Path(sys.argv[1])).messages)
        """,
        str(data),
        timeout=20,
    )
    assert result.returncode == 0, result.stderr
    assert f"{data / DB_NAME} is not a regular file" in result.stdout


FULL_DISK = """
    import json, shutil, sys
    from pathlib import Path
    from kreader.store import open_store
    disk = Path(sys.argv[1])
    out = {}
    store = open_store(disk / "data")  # a small database, closed cleanly while there was room
    store.add("kept", "s", "", 0.0, "A", "S")
    store.close()
    store = open_store(disk / "busy")
    out["opened"] = store.messages[:]
    while store.persistent:  # fill the disk with bookmarks until a write fails
        store.add(f"big-{len(store.list())}", "s", "", 0.0, "A", "S", "x" * 5000)
    out["mid_session"] = store.take_messages()
    store.close()
    shutil.rmtree(disk / "busy")
    try:
        with open(disk / "filler", "wb") as filler:
            while True:
                filler.write(b"x" * 4096)
                filler.flush()
    except OSError:
        pass
    out["existing"] = open_store(disk / "data").messages
    out["new"] = open_store(disk / "new").messages
    print(json.dumps(out))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mounts a tmpfs")
def test_a_full_disk_is_named_not_an_io_error(tmp_path: Path) -> None:
    """A real full disk: a 256 KiB tmpfs in a private mount namespace (needs root, as the test machine is)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    probe = subprocess.run(
        ["unshare", "--mount", "sh", "-c", f"mount -t tmpfs -o size=4k tmpfs {disk}"],
        capture_output=True,
        timeout=20,
    )
    if probe.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {probe.stderr.decode(errors='replace').strip()}")
    script = str(tmp_path / "full_disk.py")
    Path(script).write_text(textwrap.dedent(FULL_DISK), encoding="utf-8")
    result = subprocess.run(
        [
            "unshare",
            "--mount",
            "sh",
            "-c",
            'mount -t tmpfs -o size=256k tmpfs "$1" && exec "$2" "$3" "$1"',
            "sh",
            str(disk),
            sys.executable,
            script,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["opened"] == []
    [mid_session] = out["mid_session"]
    assert mid_session.startswith(f"The disk holding {disk / 'busy' / DB_NAME} is full; ")
    [existing] = out["existing"]
    full = f"The disk holding {disk / 'data' / DB_NAME} is full; "
    assert existing.startswith(full) and "I/O" not in existing, existing  # was "disk I/O error"
    [new] = out["new"]
    assert new.startswith(f"The disk holding {disk / 'new' / DB_NAME} is full; "), new


def test_count_and_pages_follow_the_list(store: Store) -> None:
    added = [add(store, f"a{n}") for n in range(7)]
    newest_first = store.list()
    assert newest_first == added[::-1] and store.count() == 7
    assert store.list_page(0, 3) == newest_first[:3]
    assert store.list_page(3, 3) == newest_first[3:6]
    assert store.list_page(6, 3) == newest_first[6:]
    assert store.list_page(7, 3) == [] and store.list_page(-1, 2) == newest_first[:2]
    assert store.list_page(0, 0) == []
    store.remove(added[3].id)
    assert store.count() == 6 and store.list_page(0, 10) == store.list()


def test_marked_sections_are_the_sections_holding_bookmarks(store: Store) -> None:
    assert store.marked_sections() == set()
    add(store, "a", "s1")
    add(store, "a", "s1", anchor="h", fraction=0.5)  # a second bookmark, same section
    add(store, "a", "s2", fraction=0.9)
    gone = add(store, "b", "s1")
    add(store, "c\ud800", "s")  # cleaned as it is stored, like every other field
    assert store.marked_sections() == {("a", "s1"), ("a", "s2"), ("b", "s1"), ("c\ufffd", "s")}
    store.remove(gone.id)
    assert ("b", "s1") not in store.marked_sections()
    store.clear()
    assert store.marked_sections() == set()
