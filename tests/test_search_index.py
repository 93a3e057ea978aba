"""The search index on SQLite FTS5: ranking, accents, hostile queries, and its cache file (kept up to
date per file, shared by processes, replaced by memory when it cannot be used)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kreader.content import Section, load_library
from kreader.search import (
    END,
    SCHEMA_VERSION,
    START,
    SearchIndex,
    cache_path,
    default_cache_dir,
    section_chunks,
)

ROOT = Path(__file__).resolve().parent.parent

NODE = """\
# Child processes

Node can run other programs.

## Spawning .bat and .cmd files

On Windows, spawning a batch file needs a shell.

## child_process.spawn()

Starts a command. Spawning it takes options.

### Options

The cwd option sets where spawn runs it.

## Events

Nothing about it here but a spawned process exits.
"""

SPANISH = """\
## Médico de guardia

El MÉDICO atiende por la noche. Un medico sin tilde, y la médica también.

## Corazón

Niño, corazón, acción.
"""


def write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def memory_index(folder: Path, files: dict[str, str]) -> SearchIndex:
    return SearchIndex.build(load_library(write(folder, files)))


# --- ranking and landing -------------------------------------------------------------------------


def test_exact_heading_first_then_prefix_heading_then_body(tmp_path: Path) -> None:
    index = memory_index(tmp_path, {"node.md": NODE})
    hits = index.search("spawn")
    assert [(h.section_id, h.anchor) for h in hits[:2]] == [
        ("child_processspawn", ""),
        ("spawning-bat-and-cmd-files", ""),
    ]
    best = hits[0]
    assert (best.where, best.term, best.occurrence) == ("title", "spawn", 0)
    assert hits[0].score > hits[1].score > hits[-1].score
    # Body-only matches come last; the subsection is named.
    options = next(h for h in hits if h.anchor == "options")
    assert (options.subsection_title, options.path) == (
        "Options",
        "child_process.spawn() › Options",
    )
    assert options.where == "body" and options.term == "spawn"


def test_exact_word_before_prefix(tmp_path: Path) -> None:
    index = memory_index(
        tmp_path,
        {
            "a.md": "## Long\n\nSpawning spawning spawning, spawned and spawning.\n\n"
            "## Short\n\nOne spawn here, among many other words of a longer text.\n"
        },
    )
    assert [h.section_id for h in index.search("spawn")] == ["short", "long"]


def test_a_hit_lands_on_the_best_match_of_its_part(tmp_path: Path) -> None:
    index = memory_index(
        tmp_path,
        {
            "a.md": "## Part\n\nSpawning first, then spawn as a word.\n\n"
            "#### The spawn call\n\nMore spawn text.\n\n"
            "## Other\n\nSpawning, then a spawn.\n"
        },
    )
    hits = {(hit.section_id, hit.anchor): hit for hit in index.search("spawn")}
    # A "####" heading is a part of its own (an anchor, in the contents); its heading's whole word first.
    part, other = hits[("part", "the-spawn-call")], hits[("other", "")]
    assert (part.where, part.term, part.occurrence) == ("heading", "spawn", 2)
    text = index.section_text("a", "part")
    start = round(part.fraction * len(text))
    assert text[start : start + 5] == "spawn"
    # Then a whole word before a prefix, even a later one.
    assert (other.where, other.term, other.occurrence) == ("body", "spawn", 1)


def test_the_snippet_does_not_repeat_the_heading(tmp_path: Path) -> None:
    index = memory_index(tmp_path, {"node.md": NODE})
    hit = index.search("option")[0]
    assert hit.anchor == "options"
    assert (hit.where, hit.term) == ("body", "option"), "a whole word before a heading's prefix"
    assert hit.snippet == "The cwd option sets where spawn runs it."
    assert [hit.subsection_title[a:b] for a, b in hit.subsection_highlights] == ["Options"]
    assert [hit.snippet[a:b] for a, b in hit.highlights] == ["option"]


def test_accents_and_case_fold_both_ways(tmp_path: Path) -> None:
    index = memory_index(tmp_path, {"es.md": SPANISH})
    for query in ("medico", "MÉDICO", "médico", "Medico", "médi"):
        hits = index.search(query)
        assert [h.section_id for h in hits] == ["médico-de-guardia"], query
    terms = {h.term for h in index.occurrences("medico")}
    assert terms == {"Médico", "MÉDICO", "medico"}
    assert [h.section_id for h in index.search("nino corazon accion")] == ["corazón"]
    assert [h.section_id for h in index.search('"nino, CORAZÓN"')] == ["corazón"]


def test_phrases_need_their_words_in_a_row(tmp_path: Path) -> None:
    index = memory_index(tmp_path, {"es.md": SPANISH})
    assert [h.term for h in index.search('"la noche"')] == ["la noche"]
    assert index.search('"noche la"') == []
    assert [h.term for h in index.search('"por la no"')] == ["por la noche"], "last word a prefix"


# --- hostile queries -----------------------------------------------------------------------------

HOSTILE = [
    '"',
    '""',
    '"""',
    "'",
    "*",
    "spawn*",
    "*spawn",
    "NEAR",
    "NEAR(spawn options)",
    "spawn NEAR options",
    "AND",
    "spawn AND",
    "OR",
    "spawn OR shell",
    "NOT",
    "spawn NOT shell",
    "title:x",
    "heading:spawn",
    "{heading}: spawn",
    "- spawn",
    "^spawn",
    "'; drop table fts; --",
    "'); DELETE FROM chunks; --",
    "(",
    ")",
    "((spawn",
    "",
    "   ",
    "\t\n",
    "😀",
    "spawn 😀",
    "\x00\x02\x03",
    "a" * 5000,
    " ".join(f"w{n}" for n in range(500)),
]


@pytest.mark.parametrize("query", HOSTILE)
def test_any_text_is_a_query_never_an_error(tmp_path: Path, query: str) -> None:
    index = memory_index(tmp_path, {"node.md": NODE})
    before = len(index)
    index.search(query)
    index.occurrences(query)
    assert index.messages == [], "no query failed"
    assert len(index) == before, "nothing was changed"
    assert index.search("spawn"), "the index still answers"


def test_operators_are_plain_words(tmp_path: Path) -> None:
    index = memory_index(
        tmp_path, {"a.md": "## Words\n\nNear and or not are words here, title x too.\n"}
    )
    for query in ("NEAR", "near AND", "OR not", "NOT", "title:x", '"and or"'):
        assert [h.section_id for h in index.search(query)] == ["words"], query
    assert index.search("spawn OR words") == [], "OR is a word to find, not an operator"


def test_markers_never_come_from_content() -> None:
    section = Section("s", f"Ti{START}tle", f"Body {START}marked{END} text.\n", 1)
    (chunk,) = section_chunks(section)
    assert START not in chunk.heading + chunk.body and END not in chunk.body


# --- the cache file ------------------------------------------------------------------------------


def test_cache_lives_in_the_user_cache_folder_one_file_per_library(tmp_path: Path) -> None:
    one = load_library(write(tmp_path / "one", {"node.md": NODE}))
    two = load_library(write(tmp_path / "two", {"es.md": SPANISH}))
    first = SearchIndex.open(one)
    second = SearchIndex.open(two)
    assert first.path == cache_path(one.root) and first.path is not None
    assert first.path.parent == default_cache_dir()
    assert str(default_cache_dir()).startswith(os.environ["XDG_CACHE_HOME"])
    assert first.path != second.path and first.path.exists() and second.path is not None
    assert first.messages == [] and second.messages == []
    assert first.search("spawn") and not first.search("medico")


def test_nothing_changed_nothing_reindexed(tmp_path: Path) -> None:
    folder = write(tmp_path / "lib", {"node.md": NODE, "es.md": SPANISH})
    first = SearchIndex.open(load_library(folder))
    assert (first.stats["reindexed"], first.stats["kept"]) == (2, 0)
    expected = first.search("spawn")
    first.close()
    again = SearchIndex.open(load_library(folder))
    assert (again.stats["reindexed"], again.stats["removed"], again.stats["kept"]) == (0, 0, 2)
    assert again.search("spawn") == expected
    # A touched file whose content is the same is not indexed again.
    os.utime(folder / "node.md", ns=(1, 1))
    touched = SearchIndex.open(load_library(folder))
    assert touched.stats["reindexed"] == 0


def test_edit_rename_and_delete_are_picked_up(tmp_path: Path) -> None:
    folder = write(tmp_path / "lib", {"node.md": NODE, "es.md": SPANISH})
    SearchIndex.open(load_library(folder)).close()

    (folder / "es.md").write_text(SPANISH.replace("noche", "madrugada"), encoding="utf-8")
    edited = SearchIndex.open(load_library(folder))
    assert (edited.stats["reindexed"], edited.stats["kept"]) == (1, 1)
    assert edited.search("madrugada") and not edited.search("noche")
    edited.close()

    (folder / "es.md").rename(folder / "spanish.md")
    renamed = SearchIndex.open(load_library(folder))
    assert (renamed.stats["reindexed"], renamed.stats["removed"]) == (1, 1)
    assert [h.article_id for h in renamed.search("madrugada")] == ["spanish"]
    renamed.close()

    (folder / "spanish.md").unlink()
    deleted = SearchIndex.open(load_library(folder))
    assert (deleted.stats["reindexed"], deleted.stats["removed"]) == (0, 1)
    assert deleted.search("madrugada") == []
    assert deleted.search("spawn")
    assert len(deleted) == 4


def test_a_corrupt_cache_is_made_again_with_one_line(tmp_path: Path) -> None:
    library = load_library(write(tmp_path / "lib", {"node.md": NODE}))
    path = cache_path(library.root)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not a database\n" * 200)
    Path(f"{path}-wal").write_bytes(b"a stale write-ahead log\n" * 10)
    index = SearchIndex.open(library)
    assert index.path == path, "the cache file is made again, not left for memory"
    assert len(index.messages) == 1 and "\n" not in index.messages[0]
    assert str(path) in index.messages[0] and "damaged" in index.messages[0]
    assert index.search("spawn")
    index.close()
    assert b"this is not a database" not in path.read_bytes()
    # The next start finds a good cache: no notice, nothing re-indexed.
    again = SearchIndex.open(library)
    assert again.path == path and again.messages == []
    assert again.stats["reindexed"] == 0 and again.search("spawn")
    again.close()


def test_a_cache_of_the_wrong_shape_is_made_again_but_a_newer_kreaders_is_not_used(
    tmp_path: Path,
) -> None:
    library = load_library(write(tmp_path / "lib", {"node.md": NODE}))
    path = cache_path(library.root)
    path.parent.mkdir(parents=True)
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE files (x)")
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    db.commit()
    db.close()
    wrong = SearchIndex.open(library)
    assert wrong.path == path and len(wrong.messages) == 1 and wrong.search("spawn")
    assert "wrong shape" in wrong.messages[0]
    wrong.close()
    assert SearchIndex.open(library).messages == []

    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    newer = SearchIndex.open(library)
    assert newer.path is None and "newer kreader" in newer.messages[0]
    assert newer.search("spawn")
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1, "left alone"
    db.close()


def test_a_damaged_cache_that_cannot_be_removed_gives_an_index_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    library = load_library(write(tmp_path / "lib", {"node.md": NODE}))
    path = cache_path(library.root)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not a database\n" * 200)

    def refuse(name: object) -> None:
        raise PermissionError(13, "Permission denied", str(name))

    monkeypatch.setattr(os, "unlink", refuse)  # a folder this user may read but not change
    index = SearchIndex.open(library)
    assert index.path is None and len(index.messages) == 1 and index.search("spawn")
    assert "from memory" in index.messages[0]


def test_pages_found_damaged_at_a_query_are_made_again_at_the_next_start(tmp_path: Path) -> None:
    library = load_library(write(tmp_path / "lib", {"node.md": NODE}))
    first = SearchIndex.open(library)
    path = first.path
    assert path is not None
    first.close()
    # Spoil the stored text, not the full-text index: `open` (schema, file list, index) still succeeds.
    db = sqlite3.connect(path)
    page = db.execute("PRAGMA page_size").fetchone()[0]
    roots = dict(db.execute("SELECT name, rootpage FROM sqlite_master").fetchall())
    db.close()
    data = bytearray(path.read_bytes())
    for table in ("fts_content", "fts_docsize"):
        start = (roots[table] - 1) * page
        data[start : start + page] = b"\xa5" * page
    path.write_bytes(bytes(data))
    damaged = SearchIndex.open(library)
    assert damaged.path == path and damaged.messages == []
    assert damaged.search("spawn") == [] and len(damaged.messages) == 1
    assert "restart kreader" in damaged.messages[0]
    damaged.close()
    again = SearchIndex.open(library)
    assert again.path == path and again.messages == [] and again.search("spawn")


def test_an_older_cache_is_rebuilt_in_place(tmp_path: Path) -> None:
    library = load_library(write(tmp_path / "lib", {"node.md": NODE}))
    path = cache_path(library.root)
    path.parent.mkdir(parents=True)
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE files (x)")
    db.commit()
    db.close()
    index = SearchIndex.open(library)
    assert index.path == path and index.messages == []
    assert index.search("spawn")


def test_an_unwritable_cache_folder_gives_an_index_in_memory(tmp_path: Path) -> None:
    library = load_library(write(tmp_path / "lib", {"node.md": NODE}))
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    index = SearchIndex.open(library, cache_dir=blocker / "kreader")
    assert index.path is None and len(index.messages) == 1
    assert index.search("spawn")


def test_a_locked_cache_gives_an_index_in_memory(tmp_path: Path) -> None:
    library = load_library(write(tmp_path / "lib", {"node.md": NODE}))
    path = SearchIndex.open(library).path
    assert path is not None
    (folder := tmp_path / "lib" / "new.md").write_text("## New\n\nFresh words.\n")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        index = SearchIndex.open(load_library(folder.parent), busy_timeout_ms=100)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert index.path is None and len(index.messages) == 1
    assert index.search("fresh")


def test_the_memory_index_writes_nothing(tmp_path: Path) -> None:
    library = load_library(write(tmp_path / "lib", {"node.md": NODE}))
    index = SearchIndex.build(library)
    assert index.path is None and index.search("spawn")
    cache = Path(os.environ["XDG_CACHE_HOME"])
    assert not cache.exists() or not any(cache.rglob("*"))
    assert sorted(p.name for p in (tmp_path / "lib").iterdir()) == ["node.md"]


TWO_PROCESSES = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from kreader.content import load_library
    from kreader.search import SearchIndex

    folder = Path(sys.argv[1])
    found = []
    for n in range(8):
        index = SearchIndex.open(load_library(folder))
        assert index.path is not None, index.messages
        assert not index.messages, index.messages
        found.append(len(index.search("spawn")))
        index.close()
    print(min(found))
    """
)


def test_two_processes_share_one_cache(tmp_path: Path) -> None:
    folder = write(tmp_path / "lib", {"node.md": NODE, "es.md": SPANISH})
    for n in range(20):  # enough text that the first builds overlap
        (folder / f"extra{n}.md").write_text(NODE.replace("spawn", f"launch{n}") * 20)
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", TWO_PROCESSES, str(folder)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        assert int(out) > 0
    index = SearchIndex.open(load_library(folder))
    assert index.messages == [] and index.stats["reindexed"] == 0
    assert index.search("spawn") and index.search("launch7")


def test_the_cli_uses_the_cache(tmp_path: Path) -> None:
    folder = write(tmp_path / "lib", {"node.md": NODE})
    command = [sys.executable, "-m", "kreader", "search", "--content", str(folder), "spawn"]
    first = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert first.returncode == 0, first.stderr
    path = cache_path(folder)
    assert path.exists()
    stamp = path.stat().st_mtime_ns
    db = sqlite3.connect(path)
    rows = db.execute("SELECT id, file FROM chunks ORDER BY id").fetchall()
    db.close()
    second = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert second.stdout == first.stdout and second.stderr == ""
    assert path.stat().st_mtime_ns == stamp, "nothing written the second time"
    db = sqlite3.connect(path)
    assert db.execute("SELECT id, file FROM chunks ORDER BY id").fetchall() == rows
    db.close()


def test_an_unchanged_folder_is_answered_from_the_cache_alone(tmp_path: Path) -> None:
    folder = write(tmp_path / "lib", {"node.md": NODE, "es.md": SPANISH})
    assert SearchIndex.open_unchanged(folder) is None, "no cache yet"
    SearchIndex.open(load_library(folder)).close()
    assert SearchIndex.open_unchanged(folder) is None, "files this recent are not trusted by time"
    for path in folder.iterdir():
        os.utime(path, ns=(10**18, 10**18))
    SearchIndex.open(load_library(folder)).close()
    index = SearchIndex.open_unchanged(folder)
    assert index is not None and index.search("spawn") == SearchIndex.build(
        load_library(folder)
    ).search("spawn")
    index.close()
    (folder / "es.md").write_text(SPANISH + "\nMore.\n", encoding="utf-8")
    assert SearchIndex.open_unchanged(folder) is None, "a file changed"
    (folder / "es.md").unlink()
    assert SearchIndex.open_unchanged(folder) is None, "a file is gone"


def test_find_in_lines_counts_as_the_index_does() -> None:
    from kreader.search import find_in_lines

    lines = ["Résumé", "a Café and CAFE, 咖啡 cafe", "nothing"]
    assert find_in_lines(lines, "cafe") == (1, 2, 6)
    assert find_in_lines(lines, "Café", 1) == (1, 11, 15)
    assert find_in_lines(lines, "cafe", 2) == (1, 22, 26), "wide characters count two cells"
    assert find_in_lines(lines, "cafe", 99) == (1, 22, 26), "past the last: the last"
    assert find_in_lines(lines, "resume") == (0, 0, 6)
    assert find_in_lines(lines, "zzz") is None and find_in_lines(lines, "  ") is None
    assert find_in_lines(lines, "nothing here", near=0.9) == (2, 0, 7), "a phrase by its first word"
