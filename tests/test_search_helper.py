"""A first-time build of a large library shares the work with a helper process (`kreader.indexer`) on
another core; whatever the helper does or fails to do, the index comes out the same."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

from kreader.content import load_library
from kreader.search import HELPER_MIN_CHARS, SearchIndex

HELPER = [sys.executable, "-m", "kreader.indexer"]
QUERIES = ("the", "zanzibar", "alpha be", '"gamma delta"', "héllo", "k", "file 7")


def write_big_library(folder: Path) -> Path:
    """About 2.2 MB of Markdown over 24 files: enough text for a helper to be started."""
    rng = random.Random(7)
    words = [
        f"{a}{b}" for a in ("al", "be", "ga", "de", "ep", "ze") for b in ("ta", "ma", "pha", "ro")
    ]
    words += ["the", "alpha", "beta", "gamma", "delta", "héllo", "*bold*", "`code`", "[link](x.md)"]
    folder.mkdir()
    for n in range(24):
        parts = [f"# File {n}\n"]
        for section in range(12):
            parts.append(f"\n## Section {section} of file {n}\n")
            for _ in range(11):
                parts.append(" ".join(rng.choice(words) for _ in range(120)) + "\n\n")
            parts.append(f"### Part zanzibar {section}\n\nThe gamma delta words.\n")
        (folder / f"file{n:02}.md").write_text("".join(parts), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = write_big_library(tmp_path_factory.mktemp("big") / "library")
    library = load_library(folder)
    assert sum(len(a.body) for a in library.articles) > HELPER_MIN_CHARS
    return folder


def answers(index: SearchIndex) -> list[list[tuple[str, str, str, str]]]:
    return [
        [(hit.article_id, hit.section_id, hit.anchor, hit.snippet) for hit in index.search(query)]
        for query in QUERIES
    ]


def test_a_helper_indexes_part_of_a_large_build_and_the_answers_are_the_same(
    big: Path, tmp_path: Path
) -> None:
    library = load_library(big)
    alone = SearchIndex.build(library)
    helped = SearchIndex.open(library, tmp_path / "cache", helper_command=HELPER)
    assert 0 < helped.stats["helped"] < len(library.articles)
    assert helped.stats["reindexed"] == len(library.articles)
    assert len(helped) == len(alone)
    assert answers(helped) == answers(alone)
    # The next start finds every file current, whoever indexed it.
    again = SearchIndex.open(load_library(big), tmp_path / "cache", helper_command=HELPER)
    assert again.stats["kept"] == len(library.articles) and again.stats["reindexed"] == 0


@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, "-c", "import sys; sys.stdin.read(); sys.exit(3)"],  # fails at once
        [sys.executable, "-c", "import sys; sys.stdin.read()"],  # says it is done, did nothing
        ["/nonexistent/python3"],  # cannot be started
    ],
    ids=["fails", "does-nothing", "missing"],
)
def test_whatever_the_helper_does_not_do_the_reader_does(
    big: Path, tmp_path: Path, command: list[str]
) -> None:
    library = load_library(big)
    index = SearchIndex.open(library, tmp_path / "cache", helper_command=command)
    assert index.stats["helped"] == 0
    assert index.stats["reindexed"] == len(library.articles)
    assert answers(index) == answers(SearchIndex.build(library))


def test_a_file_edited_after_the_reader_read_it_is_indexed_as_the_reader_saw_it(
    big: Path, tmp_path: Path
) -> None:
    """The helper reads the files again: one that changed since is left to the reader, whose rows
    match what it shows."""
    folder = tmp_path / "library"
    folder.mkdir()
    for path in big.iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    library = load_library(folder)
    last = max(library.articles, key=lambda a: a.path.name)  # the helper takes the last files
    last.path.write_text("# Changed\n\nquokka only now\n", encoding="utf-8")
    index = SearchIndex.open(library, tmp_path / "cache", helper_command=HELPER)
    assert index.stats["helped"] > 0
    assert index.search("quokka") == []
    assert answers(index) == answers(SearchIndex.build(library))


def test_a_small_change_starts_no_helper(tmp_path: Path) -> None:
    folder = tmp_path / "library"
    folder.mkdir()
    (folder / "a.md").write_text("# A\n\nSome words.\n", encoding="utf-8")
    marker = tmp_path / "helper-ran"
    index = SearchIndex.open(
        load_library(folder),
        tmp_path / "cache",
        helper_command=[sys.executable, "-c", f"open({str(marker)!r}, 'w')"],
    )
    assert index.stats["helped"] == 0 and index.stats["reindexed"] == 1
    assert not marker.exists()


def test_the_reader_hands_its_first_build_to_helpers_and_search_answers(
    big: Path, tmp_path: Path
) -> None:
    """In the reader, helpers index every file of a large first build; a search then answers."""
    import asyncio

    from kreader.factory import make_app
    from kreader.screens.reader import ReaderScreen
    from kreader.store import Store

    async def scenario() -> None:
        library = load_library(big)
        app = make_app(library, Store(tmp_path / "bookmarks.sqlite3"))
        async with app.run_test(size=(100, 30)) as pilot:
            for _ in range(600):
                if app.search_index is not None:
                    break
                await pilot.pause(0.05)
            index = app.search_index
            assert index is not None and index.path is not None
            assert index.stats["helped"] == index.stats["reindexed"] == len(library.articles)
            reader = app.screen
            assert isinstance(reader, ReaderScreen)
            await pilot.press("slash")
            await pilot.press(*"zanzibar")
            await pilot.pause(0.3)
            await pilot.press("enter")
            await pilot.pause(0.3)
            assert reader.search_query == "zanzibar"

    asyncio.run(scenario())
