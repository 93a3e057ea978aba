"""What the bookmarks store and the search cache do alike to an SQLite file shared by several kreaders."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager

WAL_TRIES = 100
"""Attempts at turning WAL on, 20 ms apart: two kreaders creating the same file both want it for a moment."""


def use_wal(db: sqlite3.Connection) -> None:
    """Put ``db`` in WAL mode with ``synchronous = NORMAL``.

    Turning WAL on needs the file to itself for a moment, which the busy timeout does not cover: retry briefly.
    In WAL mode NORMAL never corrupts and loses no commit when a process dies; only a power cut can drop the
    last few, and FULL would fsync every position save, which stutters on the SD cards kiosks run from. (In
    memory there is no file: the journal stays "memory" and both pragmas change nothing.)
    """
    for attempt in range(WAL_TRIES):
        try:
            db.execute("PRAGMA journal_mode = WAL").fetchone()
            break
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == WAL_TRIES - 1:
                raise
            time.sleep(0.02)
    db.execute("PRAGMA synchronous = NORMAL")


@contextmanager
def immediate(db: sqlite3.Connection) -> Iterator[None]:
    """One write transaction: ``BEGIN IMMEDIATE`` (the write lock at once, so another kreader's update waits its
    turn instead of failing half-way), ``COMMIT`` at the end, ``ROLLBACK`` on any exception."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
