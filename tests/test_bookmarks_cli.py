"""``kreader bookmarks``: output, messages and exit statuses.

Every action runs at least once as a real ``python -m kreader`` process. Variations of the same
action run through `kreader.cli.main` in this process (the same code, without a second of
interpreter start-up each), and bookmarks a test only needs as a starting point are made with
the store directly.
"""

from __future__ import annotations

import io
import json
import os
import pty
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from kreader.cli import main
from kreader.store import DAMAGED_NOTE, DB_NAME, open_store

ROOT = Path(__file__).resolve().parent.parent

ALPHA = """\
# Alpha guide

Opening words.

## Getting started

Some text.

### First steps

More text.

## Going further

The end.
"""

BETA = """\
# Beta notes

## Only section

Text.
"""


@pytest.fixture(scope="session")
def bytecode_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pycache")


@pytest.fixture(autouse=True)
def compile_once(bytecode_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Let the ``kreader`` processes share compiled bytecode, kept outside the source tree, so
    that each one does not compile every command module again (most of their start-up time)."""
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
    monkeypatch.setenv("PYTHONPYCACHEPREFIX", str(bytecode_cache))


@pytest.fixture
def library(tmp_path: Path) -> Path:
    folder = tmp_path / "library"
    folder.mkdir()
    (folder / "alpha.md").write_text(ALPHA)
    (folder / "beta.md").write_text(BETA)
    return folder


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tmp_path / "data"


def kreader(
    *args: str | Path, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``kreader bookmarks ARGS`` as a separate process."""
    return subprocess.run(
        [sys.executable, "-m", "kreader", "bookmarks", *map(str, args)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "120", **(env or {})},
    )


def bookmarks(data: Path, library: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    """``kreader bookmarks`` with the test's folders, given after the action as people type them."""
    return kreader(*args, "--data-dir", data, "--content", library)


def in_process(
    capsys: pytest.CaptureFixture[str], data: Path, library: Path, *args: str | Path
) -> tuple[int, str, str]:
    """The same command through `kreader.cli.main`: (status, stdout, stderr)."""
    argv = ["bookmarks", *map(str, args), "--data-dir", str(data), "--content", str(library)]
    try:
        status = main(argv)
    except SystemExit as exc:  # argparse's own errors
        status = int(exc.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


def seed(data: Path, *places: tuple[str, str, str]) -> None:
    """Bookmarks to start from: (article id, section id, note) each, made with the store."""
    store = open_store(data)
    for article, section, note in places:
        store.add(article, section, "", 0.0, article.title(), section.title(), note)
    store.close()


def count(data: Path) -> int:
    db = sqlite3.connect(data / DB_NAME)
    try:
        return int(db.execute("SELECT count(*) FROM bookmarks").fetchone()[0])
    finally:
        db.close()


def test_list_when_there_is_nothing_creates_nothing(
    data: Path, library: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = bookmarks(data, library, "list")
    assert (result.returncode, result.stdout, result.stderr) == (0, "No bookmarks.\n", "")
    assert in_process(capsys, data, library, "list", "--json") == (0, "[]\n", "")
    assert not data.exists()


def test_add_then_list(data: Path, library: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = bookmarks(data, library, "add", "alpha", "--note", "start here")
    assert (first.returncode, first.stderr) == (0, "")
    assert first.stdout == "Added bookmark 1: Alpha guide › Overview\n"
    again = bookmarks(data, library, "add", "alpha")
    assert (again.returncode, again.stdout) == (
        0,
        "Already bookmarked as 1: Alpha guide › Overview\n",
    )
    assert in_process(capsys, data, library, "add", "beta#only-section") == (
        0,
        "Added bookmark 2: Beta notes › Only section\n",
        "",
    )
    assert in_process(capsys, data, library, "add", "alpha#first-steps") == (
        0,
        "Added bookmark 3: Alpha guide › Getting started #first-steps\n",
        "",
    )

    table = bookmarks(data, library, "list")
    assert table.returncode == 0 and table.stderr == ""
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["ID", "AGE", "ARTICLE", "SECTION", "NOTE"]
    assert [line.split()[0] for line in lines[1:]] == ["3", "2", "1"]  # newest first
    assert "just now" in lines[1] and "Getting started #first-steps" in lines[1]
    assert lines[3].endswith("start here") and "Alpha guide" in lines[3]

    status, out, err = in_process(capsys, data, library, "list", "--json")
    assert (status, err) == (0, "")
    entries = json.loads(out)
    assert [b["id"] for b in entries] == [3, 2, 1]
    assert entries[2] == {
        "id": 1,
        "article_id": "alpha",
        "section_id": "overview",
        "anchor": "",
        "fraction": 0.0,
        "article_title": "Alpha guide",
        "section_title": "Overview",
        "note": "start here",
        "created": entries[2]["created"],
    }


def test_add_unknown_article_or_section_lists_the_valid_ids(
    data: Path, library: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    article = bookmarks(data, library, "add", "gamma")
    assert (article.returncode, article.stdout) == (2, "")
    assert article.stderr == f"kreader: no article 'gamma' in {library}; articles: alpha, beta\n"
    status, out, err = in_process(capsys, data, library, "add", "alpha#nowhere")
    assert (status, out) == (2, "")
    assert err == (
        "kreader: no section 'nowhere' in article 'alpha'; "
        "sections: overview, getting-started, going-further\n"
    )
    status, _, err = in_process(capsys, data, library / "missing", "add", "alpha")
    assert status == 2 and "content folder does not exist" in err
    status, _, err = in_process(capsys, data, library, "add", "alpha", "--note", "x" * 10_001)
    assert status == 2 and "--note is too long" in err
    assert not data.exists()  # a mistyped command creates no folder and no database


def test_remove(data: Path, library: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seed(data, ("alpha", "overview", ""), ("beta", "only-section", ""))
    removed = bookmarks(data, library, "remove", "1")
    assert (removed.returncode, removed.stdout) == (0, "Removed bookmark 1: Alpha › Overview\n")
    again = bookmarks(data, library, "remove", "1")
    assert (again.returncode, again.stdout) == (1, "")
    assert again.stderr == "kreader: no bookmark with id 1 (see: kreader bookmarks list)\n"
    status, _, err = in_process(capsys, data, library, "remove", "first")
    assert status == 2 and "invalid int value" in err
    assert count(data) == 1


def test_export_import_round_trip(
    tmp_path: Path,
    data: Path,
    library: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seed(data, ("alpha", "overview", "one"), ("alpha", "going-further", "two"), ("beta", "x", "3"))
    exported = tmp_path / "out" / "bookmarks.json"
    exported.parent.mkdir()
    result = bookmarks(data, library, "export", exported)
    assert (result.returncode, result.stdout) == (0, f"Exported 3 bookmarks to {exported}.\n")
    document = json.loads(exported.read_text())
    assert document["kreader_bookmarks"] == 1 and len(document["bookmarks"]) == 3
    assert [p.name for p in exported.parent.iterdir()] == ["bookmarks.json"]  # no temporary left

    to_stdout = bookmarks(data, library, "export", "-")
    assert to_stdout.returncode == 0 and json.loads(to_stdout.stdout) == document
    assert to_stdout.stderr == "Exported 3 bookmarks.\n"

    elsewhere = tmp_path / "elsewhere"
    seed(elsewhere, ("beta", "x", "already here"))
    first = bookmarks(elsewhere, library, "import", exported)
    assert (first.returncode, first.stdout, first.stderr) == (
        0,
        "added 2, skipped 1 duplicate\n",
        "",
    )
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(exported.read_bytes())))
    second = in_process(capsys, elsewhere, library, "import", "-")
    assert second == (0, "added 0, skipped 3 duplicates\n", "")
    store = open_store(elsewhere)
    assert {b.note for b in store.list()} == {"one", "two", "already here"}
    store.close()


def test_import_refuses_bad_files_and_changes_nothing(
    tmp_path: Path, data: Path, library: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(data, ("alpha", "overview", ""))
    broken = tmp_path / "broken.json"
    broken.write_text('{"kreader_bookmarks": 1, "bookmarks": [')
    result = bookmarks(data, library, "import", broken)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        f"kreader: {broken}: not valid JSON: Expecting value (line 1, column 40); "
        "nothing was imported\n"
    )

    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"kreader_bookmarks": 1, "bookmarks": [{"fraction": 7}]}))
    latin1 = tmp_path / "latin1.json"
    latin1.write_bytes('{"note": "café"}'.encode("latin-1"))
    expected = {
        wrong: "missing field 'article_id'; nothing was imported",
        latin1: "not UTF-8 text",
        tmp_path / "nope.json": "cannot read",
    }
    for path, reason in expected.items():
        status, out, err = in_process(capsys, data, library, "import", path)
        assert (status, out) == (2, ""), path
        assert err.startswith("kreader: ") and reason in err and err.count("\n") == 1, path
    assert count(data) == 1


def test_clear_needs_yes_without_a_terminal(
    data: Path, library: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(data, ("alpha", "overview", ""), ("beta", "only-section", ""))
    refused = bookmarks(data, library, "clear")
    assert (refused.returncode, refused.stdout) == (2, "")
    assert refused.stderr == (
        "kreader: refusing to delete 2 bookmarks without confirmation: pass --yes\n"
    )
    assert count(data) == 2
    cleared = bookmarks(data, library, "clear", "--yes")
    assert (cleared.returncode, cleared.stdout) == (0, "Deleted 2 bookmarks.\n")
    assert count(data) == 0
    assert in_process(capsys, data, library, "clear") == (0, "No bookmarks to delete.\n", "")


@pytest.mark.parametrize("answer, status, left", [("y\n", 0, 0), ("\n", 1, 1)])
def test_clear_asks_at_a_terminal(data: Path, answer: str, status: int, left: int) -> None:
    seed(data, ("alpha", "overview", ""))
    leader, follower = pty.openpty()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "kreader", "bookmarks", "clear", "--data-dir", str(data)],
            stdin=follower,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        os.write(leader, answer.encode())
        out, err = process.communicate(timeout=60)
    finally:
        os.close(leader)
        os.close(follower)
    assert process.returncode == status, err
    assert out.startswith("Delete all 1 bookmark? [y/N] ")
    assert count(data) == left


def test_folders_before_the_action_and_from_the_environment(
    data: Path, library: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    status = main(["bookmarks", "--data-dir", str(data), "--content", str(library), "add", "alpha"])
    assert status == 0, capsys.readouterr().err
    capsys.readouterr()
    monkeypatch.setenv("KREADER_DATA_DIR", str(data))
    assert main(["bookmarks", "list", "--json"]) == 0
    assert [b["article_id"] for b in json.loads(capsys.readouterr().out)] == ["alpha"]
    assert main(["bookmarks"]) == 0  # no action: list
    assert "Alpha guide" in capsys.readouterr().out


def test_store_warnings_go_to_stderr(tmp_path: Path, library: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    unwritable = bookmarks(blocker / "data", library, "add", "alpha")
    assert (unwritable.returncode, unwritable.stdout) == (1, "")
    assert unwritable.stderr.startswith(
        f"kreader: warning: Cannot create the bookmarks folder {blocker / 'data'}"
    )
    assert unwritable.stderr.endswith(
        "kreader: bookmarks cannot be saved, so nothing was changed\n"
    )

    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / DB_NAME).write_bytes(b"this is not a database" * 100)
    listed = bookmarks(damaged, library, "list")
    assert (listed.returncode, listed.stdout) == (0, "No bookmarks.\n")
    assert listed.stderr == f"kreader: warning: {DAMAGED_NOTE}\n"
    assert [p.name for p in damaged.glob(f"{DB_NAME}.corrupt-*")]  # kept beside it


def test_newer_database_is_not_written(
    data: Path, library: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(data, ("alpha", "overview", ""))
    db = sqlite3.connect(data / DB_NAME)
    db.execute("PRAGMA user_version = 42")
    db.close()
    before = (data / DB_NAME).read_bytes()
    added = bookmarks(data, library, "add", "beta")
    assert (added.returncode, added.stdout) == (1, "")
    assert "was written by a newer kreader; opened read-only" in added.stderr
    status, out, err = in_process(capsys, data, library, "list", "--json")
    assert status == 0 and [b["article_id"] for b in json.loads(out)] == ["alpha"]
    assert "newer kreader" in err
    assert (data / DB_NAME).read_bytes() == before


def test_list_shows_titles_and_notes_safely(
    data: Path, library: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = open_store(data)
    store.add(
        "alpha", "overview", "", 0.5, "Alpha\x1b[2J guide", "Overview", "two\nlines \x1b]0;x\x07"
    )
    store.close()
    status, out, _ = in_process(capsys, data, library, "list")
    assert status == 0 and "\x1b" not in out and "\x07" not in out
    assert "two lines" in out and "]0;x" not in out and "Overview (50%)" in out


def test_import_with_a_lone_surrogate_is_not_a_traceback(data: Path, library: Path) -> None:
    """``"\\ud800"`` in an import file (valid JSON, not valid text) gave a UnicodeEncodeError traceback."""
    source = data.parent / "odd.json"
    entry = {
        "article_id": "alpha",
        "section_id": "overview",
        "anchor": "",
        "fraction": 0.0,
        "article_title": "Alpha",
        "section_title": "Over\ud800view",
        "note": "bad \ud800 note",
        "created": 1_700_000_000.0,
    }
    source.write_text(json.dumps({"kreader_bookmarks": 1, "bookmarks": [entry]}), encoding="ascii")
    assert "\\ud800" in source.read_text()
    imported = bookmarks(data, library, "import", source)
    assert (imported.returncode, imported.stderr) == (0, ""), imported.stderr
    assert imported.stdout == "added 1, skipped 0 duplicates\n"
    listed = bookmarks(data, library, "list", "--json")
    assert listed.returncode == 0 and "Traceback" not in listed.stderr
    [shown] = json.loads(listed.stdout)
    assert (shown["section_title"], shown["note"]) == ("Over\ufffdview", "bad \ufffd note")


def test_an_export_of_100_004_bookmarks_imports_again(data: Path, library: Path) -> None:
    """The export (22.7 MB) was refused by the import's 20 MB limit: an export must always import."""
    store = open_store(data)
    entries = [
        {
            "article_id": "alpha",
            "section_id": f"section-{n}",
            "anchor": "",
            "fraction": 0.0,
            "article_title": "Alpha guide",
            "section_title": f"Section {n}",
            "note": "a note to remember this place by " * 4,
            "created": 1_700_000_000.0 + n,
        }
        for n in range(100_004)
    ]
    store.import_json(json.dumps({"kreader_bookmarks": 1, "bookmarks": entries}))
    store.close()
    exported = data.parent / "all.json"
    result = bookmarks(data, library, "export", exported)
    assert result.returncode == 0, result.stderr
    assert exported.stat().st_size > 20 * 1024 * 1024
    other = data.parent / "other"
    imported = bookmarks(other, library, "import", exported)
    assert (imported.returncode, imported.stderr) == (0, ""), imported.stderr
    assert imported.stdout == "added 100004, skipped 0 duplicates\n"
    assert count(other) == 100_004
