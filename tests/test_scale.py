"""Inputs of a hostile size open quickly: 50,000 headings, a 5 MB line (issue 11, item 9).

Times are measured as CPU seconds of real subprocesses (steadier than wall time on a shared machine); the limits
are loose enough for a slow machine and far below what the quadratic code took (35-54 s).
"""

from __future__ import annotations

import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import build_app, shown, tree

from kreader.content import MAX_PART_CHARS, load_library, split_sections
from kreader.widgets.contents import SECTION_WINDOW, Place

ROOT = Path(__file__).resolve().parent.parent


def many_headings(folder: Path, level: int = 2, count: int = 50_000) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    head = "# Many\n\n" + ("" if level == 2 else "## One\n\n")
    body = "".join(f"{'#' * level} Heading {i}\n\nText {i}.\n\n" for i in range(count))
    (folder / "many.md").write_text(head + body)
    return folder


def one_long_line(folder: Path, size: int = 5_000_000) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    words = ["alpha", "beta", "gamma", "delta", "word", "text", "reading", "kiosk"]
    rng = random.Random(1)
    line = " ".join(rng.choice(words) for _ in range(size // 6))[:size]
    (folder / "line.md").write_text("# Line\n\n" + line + " zanzibarend\n")
    return folder


def cpu_seconds(*args: str | Path) -> float:
    """CPU seconds ``python -m kreader ARGS`` used (it must succeed within a minute)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run(
        [sys.executable, "-m", "kreader", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=dict(os.environ),
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


@pytest.mark.parametrize("level", [2, 3])
def test_check_of_50000_headings_is_quick(tmp_path: Path, level: int) -> None:
    assert cpu_seconds("check", many_headings(tmp_path / "lib", level)) < 6


def test_check_of_a_5mb_line_is_quick(tmp_path: Path) -> None:
    assert cpu_seconds("check", one_long_line(tmp_path / "lib")) < 4


def test_splitting_is_linear() -> None:
    body = "".join(f"## H{i}\n\n### S{i}\n\ntext\n\n" for i in range(20_000))
    started = time.process_time()
    sections = split_sections(body)
    assert time.process_time() - started < 5
    assert len(sections) == 20_000 and sections[-1].subsections[0].id == "s19999"


def test_a_huge_section_is_cut_into_parts_that_keep_every_word(tmp_path: Path) -> None:
    article = load_library(one_long_line(tmp_path / "lib", 1_000_000)).articles[0]
    parts = article.sections
    assert len(parts) > 10 and all(len(part.source) <= MAX_PART_CHARS + 1 for part in parts)
    assert parts[0].id == "overview" and parts[1].title == f"Overview (part 2 of {len(parts)})"
    assert "".join(p.source.replace("\n", "") for p in parts).endswith("zanzibarend")
    text = (tmp_path / "lib" / "line.md").read_text().split("\n")[2]
    assert "".join(part.source.rstrip("\n") for part in parts) == text

    heads = load_library(many_headings(tmp_path / "h3", level=3, count=1000)).articles[0]
    assert [len(s.subsections) for s in heads.sections] == [200] * 5
    assert heads.anchor("heading-999") == (heads.sections[4], heads.sections[4].subsections[-1])
    source_line = heads.sections[4].source.splitlines()[heads.sections[4].subsections[-1].line]
    assert source_line == "### Heading 999"


async def test_the_contents_lists_a_window_of_50000_sections(tmp_path: Path) -> None:
    app = build_app(tmp_path, many_headings(tmp_path / "lib", count=50_000))
    started = time.process_time()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert time.process_time() - started < 15
        contents = tree(app)
        article_node = contents.root.children[0]
        assert len(article_node.children) == SECTION_WINDOW + 1  # and "… 49,900 more sections"
        assert "49,900 more sections" in str(article_node.children[-1].label)
        app.reader().open_place(Place("many", "heading-30000"))
        await pilot.pause()
        assert shown(app) == ("many", "heading-30000")
        assert Place("many", "heading-30000") in contents._entries
        assert contents.cursor_node is contents._entries[Place("many", "heading-30000")]


async def test_the_reader_opens_a_5mb_line_quickly(tmp_path: Path) -> None:
    started = time.process_time()
    app = build_app(tmp_path, one_long_line(tmp_path / "lib"))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert shown(app) == ("line", "overview")
        assert (
            time.process_time() - started < 10
        )  # was 6.4 s wall (and 274 MB) for the first frame alone
        await pilot.press("n")
        assert shown(app)[1].startswith("overview-part-2-of-")


async def test_choosing_more_sections_lists_the_next_window(tmp_path: Path) -> None:
    app = build_app(tmp_path, many_headings(tmp_path / "lib", count=1_000))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        contents = tree(app)
        more = contents.root.children[0].children[-1]
        assert str(more.label) == "… 900 more sections"
        contents.focus()
        contents.move_cursor(more, animate=False)
        await pilot.press("enter")
        await pilot.pause()
        assert shown(app) == ("many", "heading-100")
        labels = [str(node.label) for node in contents.root.children[0].children]
        assert labels[0] == "… 50 earlier sections" and "Heading 100" in labels
        assert contents.cursor_node is contents._entries[Place("many", "heading-100")]


def test_long_lists_and_tables_are_cut_between_items_and_rows(tmp_path: Path) -> None:
    from kreader.content import MAX_PART_PIECES, parse_article

    items = "".join(f"{n}. item {n}\n" for n in range(1, 10001))
    rows = "".join(f"| r{n} | {'x' * 20} |\n" for n in range(5000))
    text = f"# Big\n\n## List\n\n{items}\n## Table\n\n| name | value |\n|---|---|\n{rows}"
    article = parse_article(text, tmp_path / "big.md")
    assert not isinstance(article, Exception)
    lists = [s for s in article.sections if s.title.startswith("List")]
    tables = [s for s in article.sections if s.title.startswith("Table")]
    assert len(lists) == 10 and len(tables) >= 3
    assert lists[1].source.startswith(f"{MAX_PART_PIECES + 1}. item {MAX_PART_PIECES + 1}\n")
    assert lists[1].line == 5 + MAX_PART_PIECES
    assert all(t.source.startswith("| name | value |\n|---|---|\n| r") for t in tables)
    assert sum(t.source.count("| r") for t in tables) == 5000
