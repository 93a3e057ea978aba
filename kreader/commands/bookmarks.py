"""``kreader bookmarks``: list, add, remove, export, import or clear bookmarks from the shell.

For scripts and for moving bookmarks between machines. It shares the reader's database, so it
works while a reader is open. Exit status: 0 done, 1 nothing to act on (unknown id, bookmarks
cannot be saved, clearing declined), 2 bad input (see `kreader.cli.CliError`).

Only the standard library and `kreader.store` are imported up front: the content model (and its
Markdown parser) is loaded only by ``add``, which checks the place against the library.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from kreader.commands.context import Context
from kreader.errors import CliError
from kreader.humanize import ago
from kreader.safetext import clean
from kreader.store import (
    DB_NAME,
    MAX_TEXT,
    Bookmark,
    Store,
    StoreError,
    clean_text,
    open_store,
    parse_export,
)

MAX_IDS_SHOWN = 40
"""Valid ids listed in an "unknown article/section" error, at most."""


def _location_options(parser: argparse.ArgumentParser) -> None:
    """``--content``, ``--data-dir`` and ``--config`` after the action too (``kreader bookmarks
    list --data-dir X``). SUPPRESS keeps a value given before the action from being reset."""
    parser.add_argument(
        "--content", metavar="DIR", type=Path, default=argparse.SUPPRESS, help="library folder"
    )
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        type=Path,
        default=argparse.SUPPRESS,
        help="bookmark database folder (or KREADER_DATA_DIR)",
    )
    parser.add_argument(
        "--config", metavar="FILE", type=Path, default=argparse.SUPPRESS, help="settings file"
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The actions of ``kreader bookmarks``; without one, it lists."""
    actions = parser.add_subparsers(dest="bookmarks_action", metavar="ACTION")

    def action(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = actions.add_parser(name, help=help_text, description=help_text)
        _location_options(sub)
        return sub

    listing = action("list", "list bookmarks, newest first (the default action)")
    listing.add_argument("--json", action="store_true", help="print a JSON list instead of a table")

    adding = action("add", "bookmark the top of an article, a section or a subsection")
    adding.add_argument(
        "place",
        metavar="ARTICLE[#SECTION]",
        help="article id (file name without .md), then optionally # and a section or subsection id",
    )
    adding.add_argument("--note", metavar="TEXT", default="", help="a note to keep with it")

    removing = action("remove", "remove one bookmark")
    removing.add_argument("id", metavar="ID", type=int, help="its id, as `list` shows")

    exporting = action("export", "write every bookmark to a JSON file")
    exporting.add_argument("file", metavar="FILE", help="where to write it; - for standard output")

    importing = action("import", "add the bookmarks of an exported file (all or nothing)")
    importing.add_argument("file", metavar="FILE", help="the exported file; - for standard input")

    clearing = action("clear", "remove every bookmark (reading positions are kept)")
    clearing.add_argument("--yes", action="store_true", help="do not ask for confirmation")


Action = Callable[[Store], int]
"""What an action does with the store, once its arguments have been checked."""


def run(ctx: Context) -> int:
    """Run the chosen action; returns the exit status."""
    args = ctx.args
    name = getattr(args, "bookmarks_action", None) or "list"
    # Arguments are checked (the place looked up, the import file read) before the store is
    # opened, so that a mistyped command creates no folder and no database.
    action = ACTIONS[name](ctx)
    data_dir = ctx.data_dir
    if name in ("list", "export"):
        store = _open_for_reading(data_dir)
    else:
        store = open_store(data_dir)
        _warn(store)
        if not store.persistent:
            print("kreader: bookmarks cannot be saved, so nothing was changed", file=sys.stderr)
            store.close()
            return 1
    try:
        status = action(store)
        if _warn(store):  # a write failed halfway: what it reported did not reach the disk
            print("kreader: the change was not saved", file=sys.stderr)
            return 1
        return status
    finally:
        store.close()


def _open_for_reading(data_dir: Path) -> Store:
    """The store, but without creating a folder or a database just to find it empty."""
    if not (data_dir / DB_NAME).exists():
        return Store.in_memory()
    store = open_store(data_dir)
    _warn(store)
    return store


def _warn(store: Store) -> bool:
    """Print the store's new messages to stderr; True if there were any."""
    messages = store.take_messages()
    for message in messages:
        print(f"kreader: warning: {clean(message)}", file=sys.stderr)
    return bool(messages)


# --- Actions --------------------------------------------------------------------------------


def _list(ctx: Context) -> Action:
    args = ctx.args

    def act(store: Store) -> int:
        bookmarks = store.list()
        if getattr(args, "json", False):
            print(json.dumps([asdict(b) for b in bookmarks], indent=2, ensure_ascii=False))
        elif bookmarks:
            width = shutil.get_terminal_size((100, 24)).columns
            print(format_table(bookmarks, time.time(), width))
        else:
            print("No bookmarks.")
        return 0

    return act


def _add(ctx: Context) -> Action:
    args = ctx.args
    if len(args.note) > MAX_TEXT:
        raise CliError(f"--note is too long ({len(args.note)} characters; the limit is {MAX_TEXT})")
    article_id, _, section_ref = args.place.partition("#")
    library = ctx.library()  # only `add` needs the library (and its Markdown parser)
    article = library.article(article_id)
    if article is None:
        ids = _some([a.id for a in library.articles])
        raise CliError(f"no article {article_id!r} in {library.root}; articles: {ids}")
    section, subsection = article.sections[0], None
    if section_ref:
        found = article.anchor(section_ref)
        if found is None:
            ids = _some([s.id for s in article.sections])
            raise CliError(f"no section {section_ref!r} in article {article_id!r}; sections: {ids}")
        section, subsection = found
    anchor = subsection.id if subsection else ""

    def act(store: Store) -> int:
        bookmark, created = store.add(
            article.id, section.id, anchor, 0.0, article.title, section.title, note=args.note
        )
        verb = "Added bookmark" if created else "Already bookmarked as"
        print(f"{verb} {bookmark.id}: {_where(bookmark)}")
        return 0

    return act


def _remove(ctx: Context) -> Action:
    args = ctx.args

    def act(store: Store) -> int:
        bookmark = store.remove(args.id)
        if bookmark is None:
            hint = "(see: kreader bookmarks list)"
            print(f"kreader: no bookmark with id {args.id} {hint}", file=sys.stderr)
            return 1
        print(f"Removed bookmark {bookmark.id}: {_where(bookmark)}")
        return 0

    return act


def _export(ctx: Context) -> Action:
    args = ctx.args

    def act(store: Store) -> int:
        text = store.export_json()
        count = store.count()
        noun = "bookmark" if count == 1 else "bookmarks"
        if args.file == "-":
            sys.stdout.write(text)
            sys.stdout.flush()
            print(f"Exported {count} {noun}.", file=sys.stderr)
            return 0
        target = Path(args.file)
        try:
            _write_atomically(target, text)
        except OSError as exc:
            raise CliError(f"cannot write {target}: {exc.strerror or exc}") from None
        print(f"Exported {count} {noun} to {target}.")
        return 0

    return act


def _write_atomically(target: Path, text: str) -> None:
    """Write beside ``target`` and rename, so that a failure never leaves half a file."""
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _import(ctx: Context) -> Action:
    args = ctx.args
    text = _read_text(args.file)
    try:
        parse_export(text)  # refused before the store is opened; import_json checks it again
    except StoreError as exc:
        raise CliError(f"{args.file}: {exc}; nothing was imported") from None

    def act(store: Store) -> int:
        report = store.import_json(text)
        skipped = report.skipped_duplicates
        print(f"added {report.added}, skipped {skipped} duplicate{'' if skipped == 1 else 's'}")
        return 0

    return act


def _read_text(name: str) -> str:
    """The text of ``name`` (``-``: standard input).

    There is no size limit: any export must import again, and the store has no limit on how many
    bookmarks an export holds (100,004 of them make 22.7 MB).
    """
    from kreader.sources import SourceError, read_regular

    try:
        # Only a regular file: a FIFO or a device would hang the import or never end.
        data = sys.stdin.buffer.read() if name == "-" else read_regular(Path(name), limit=1 << 40)
    except SourceError as exc:
        raise CliError(f"cannot read {name}: {exc}") from None
    except OSError as exc:
        raise CliError(f"cannot read {name}: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CliError(f"{name}: not a kreader bookmarks export (not UTF-8 text)") from None


def _clear(ctx: Context) -> Action:
    args = ctx.args

    def act(store: Store) -> int:
        count = store.count()
        if count == 0:
            print("No bookmarks to delete.")
            return 0
        noun = "bookmark" if count == 1 else "bookmarks"
        if not args.yes:
            if not sys.stdin.isatty():
                raise CliError(
                    f"refusing to delete {count} {noun} without confirmation: pass --yes"
                )
            try:
                answer = input(f"Delete all {count} {noun}? [y/N] ")
            except EOFError:
                answer = ""
            if answer.strip().lower() not in ("y", "yes"):
                print("Nothing deleted.")
                return 1
        deleted = store.clear()
        print(f"Deleted {deleted} {'bookmark' if deleted == 1 else 'bookmarks'}.")
        return 0

    return act


ACTIONS: dict[str, Callable[[Context], Action]] = {
    "list": _list,
    "add": _add,
    "remove": _remove,
    "export": _export,
    "import": _import,
    "clear": _clear,
}


# --- Presentation ---------------------------------------------------------------------------


def _some(ids: list[str]) -> str:
    shown = ", ".join(ids[:MAX_IDS_SHOWN])
    return shown + (f", … ({len(ids) - MAX_IDS_SHOWN} more)" if len(ids) > MAX_IDS_SHOWN else "")


def _one_line(text: str) -> str:
    """``text`` safe for one table cell: no control characters, no line breaks."""
    return " ".join(clean_text(text).split())


def _where(bookmark: Bookmark) -> str:
    """Article › section, and the subsection and position inside it when there are any."""
    place = f"{_one_line(bookmark.article_title)} › {_one_line(bookmark.section_title)}"
    if bookmark.anchor:
        place += f" #{_one_line(bookmark.anchor)}"
    if bookmark.fraction > 0:
        place += f" ({bookmark.fraction:.0%})"
    return place


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def format_table(bookmarks: list[Bookmark], now: float, width: int) -> str:
    """Bookmarks as aligned columns (id, age, article, section, note) fitted to ``width``."""
    rows = [
        (
            str(b.id),
            ago(b.created, now),
            _one_line(b.article_title),
            _where_in_article(b),
            _one_line(b.note),
        )
        for b in bookmarks
    ]
    header = ("ID", "AGE", "ARTICLE", "SECTION", "NOTE")
    caps = (8, 16, 30, 34)
    widths = [min(cap, max(len(row[i]) for row in [header, *rows])) for i, cap in enumerate(caps)]
    note_width = max(width - sum(widths) - 2 * len(widths), 20)
    lines = []
    for row in [header, *rows]:
        cells = [_fit(cell, w).ljust(w) for cell, w in zip(row, widths, strict=False)]
        lines.append("  ".join([*cells, _fit(row[4], note_width)]).rstrip())
    return "\n".join(lines)


def _where_in_article(bookmark: Bookmark) -> str:
    place = _one_line(bookmark.section_title)
    if bookmark.anchor:
        place += f" #{_one_line(bookmark.anchor)}"
    if bookmark.fraction > 0:
        place += f" ({bookmark.fraction:.0%})"
    return place
