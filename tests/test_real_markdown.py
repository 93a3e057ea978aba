"""Markdown as people really write it (issue 14): a fixture library of small files, one per case, read through
``kreader print --plain`` and ``kreader check --json`` as real processes, the contents tree in the reader, and
snapshots of a file of several ``#`` headings and of a footnoted file.

The files in ``tests/fixtures/markdown`` were written for these tests; ``tests/fixtures/check-all`` holds a file
with several problems at once.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import build_app, cursor_place, shown, tree, view
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len

from kreader.app import StartAt
from kreader.content import load_library, parse_article
from kreader.mdtext import _quick_text, inline_text, markdown_parser, tokens_text
from kreader.store import Store
from kreader.widgets.contents import Place

FIXTURES = Path(__file__).resolve().parent / "fixtures"
LIBRARY = FIXTURES / "markdown"


def kreader(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kreader", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "NO_COLOR": "1"},
    )


def printed(name: str, width: int = 60) -> str:
    result = kreader("print", "--plain", "--width", width, "--content", LIBRARY, name)
    assert result.returncode == 0, result.stderr
    return result.stdout


# --- print --plain ----------------------------------------------------------------------------------------------


def test_reference_links_resolve_in_every_section() -> None:
    out = " ".join(printed("references", 200).split())
    assert "See the docs (https://example.com/docs) and the guide" in out
    assert "or the API (https://example.com/api)." in out
    assert "[image: The logo]" in out
    assert "Nothing here but the docs (https://example.com/docs) again." in out
    assert "[docs]" not in out and "[guide]" not in out


def test_several_h1_headings_are_sections_and_deeper_headings_stay() -> None:
    article = load_library(LIBRARY).article("multi-h1")
    assert article is not None
    assert [s.id for s in article.sections] == ["getting-started", "api-reference"]
    api = article.sections[1]
    assert [(sub.id, sub.depth) for sub in api.subsections] == [
        ("spawn", 1),
        ("options", 2),
        ("optionsstdio", 3),
        ("optionscwd", 3),
        ("deep-detail", 4),
        ("exec", 1),
    ]
    out = printed("multi-h1")
    for heading in ("Getting started\n---------------", "API reference\n-------------"):
        assert heading in out
    assert "spawn()\n~~~~~~~" in out and "options.stdio\n......" in out


def test_the_plain_case_of_the_issue() -> None:
    article = parse_article("# One\n\nIntro.\n\n# Two\n\nMore.\n", Path("x.md"))
    assert not isinstance(article, Exception)
    assert [(s.id, s.title) for s in article.sections] == [("one", "One"), ("two", "Two")]  # type: ignore[union-attr]


def test_setext_release_notes_list_every_version() -> None:
    article = load_library(LIBRARY).article("releases")
    assert article is not None
    assert [s.title for s in article.sections] == [
        "Version 2.1.0 (2024-07-25)",
        "Version 2.0.0 (2024-06-13)",
        "Version 1.9.0",
    ]
    assert article.title == "releases"  # no single title heading: the file's name
    # The HTML anchor stands for the heading under it; repeated headings get -1 as on GitHub.
    section, sub = article.anchor("2.1-language") or (None, None)
    assert section is article.sections[0] and sub is not None and sub.id == "language"
    assert [sub.id for sub in article.sections[1].subsections] == ["language-1"]
    out = printed("releases")
    assert "Version 2.1.0 (2024-07-25)\n--------------------------\n\nLanguage\n~~~~~~~~" in out


def test_html_blocks_show_their_text() -> None:
    out = printed("html")
    assert "Name  | Size\n------+-----\nalpha | 10\nbeta  | 200" in out
    assert "First line\nsecond line\nthird line." in out
    assert "Click to read more\n\nThe hidden body text." in out
    assert "Centred words stay." in out
    assert "<" not in out and "a comment" not in out
    assert "Centred words stay.\n\nAfter the comments." in out  # no blank lines left by comments


def test_yaml_front_matter_is_read_like_toml() -> None:
    article = load_library(LIBRARY).article("yaml-front")
    assert article is not None
    assert (article.title, article.summary) == ("A YAML article", "Front matter written in YAML.")
    assert [s.id for s in article.sections] == ["body"]
    out = printed("yaml-front")
    assert out.startswith("A YAML article\n==============\n\nFront matter written in YAML.\n")
    assert "layout" not in out


def test_the_opening_section_leaves_overview_to_the_heading() -> None:
    article = load_library(LIBRARY).article("overview")
    assert article is not None
    assert [s.id for s in article.sections] == ["overview-1", "overview", "next"]
    found = article.anchor("overview")
    assert found is not None and found[0].source.startswith("The real overview")


def test_lists_tasks_and_footnotes() -> None:
    out = printed("lists")
    assert "7. seventh\n8. eighth" in out
    assert "- ☐ write the tests\n- ☑ read the issue" in out
    assert (
        "A claim[1] and another one[2].\n\n* * *\n\n[1] The first note.\n\n[2] A longer note, over two lines."
        in out
    )
    assert "section[1].\n\n* * *\n\n[1] A note from far away." in out  # defined in another section
    assert "[^" not in out


@pytest.mark.parametrize("width", [20, 40])
def test_width_is_a_hard_limit_in_cells(width: int) -> None:
    out = printed("wide", width)
    assert all(cell_len(line) <= width for line in out.splitlines()), out
    flat = "".join(out.split("\n"))
    assert "https://example.com/a/very/long/path/that/is/much/longer/than/forty/cells/wide" in flat
    assert "日本語の文章はスペースなしで続きます。" in flat


def test_table_columns_keep_their_alignment() -> None:
    out = printed("wide", 60)
    assert "Item   | Qty | Note\n-------+-----+-----\n茶     |   2 |  ok\ncoffee |  10 |  🎉" in out


def test_bundled_article_prints_contact_and_disclaimer_once() -> None:
    result = kreader("print", "--plain", "--width", "200")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("(432) 218-8135") == 1
    assert result.stdout.count("call or text 988") == 1


# --- check ------------------------------------------------------------------------------------------------------


def check_json(folder: Path) -> list[dict[str, Any]]:
    result = kreader("check", "--json", folder)
    problems: list[dict[str, Any]] = json.loads(result.stdout)
    return problems


def test_check_accepts_the_fixture_library_and_warns_about_html() -> None:
    problems = check_json(LIBRARY)
    assert all(problem["level"] == "warning" for problem in problems), problems
    html = [p for p in problems if p["file"].endswith("html.md")]
    assert [p["line"] for p in html] == [
        5,
        17,
        26,
    ]  # the table, the <details>, the <div>; not comments
    assert all("HTML is shown as its text" in p["message"] for p in html)
    others = {Path(p["file"]).name for p in problems} - {"html.md"}
    assert others == {"yaml-front.md"}  # its unknown key 'layout'; no "no title" warning


def test_check_reports_every_problem_of_a_file_in_one_pass() -> None:
    problems = check_json(FIXTURES / "check-all")
    found = [(p["line"], p["level"], p["message"].split(":")[0]) for p in problems]
    assert (2, "error", "front matter key 'title' must be a string, not int") in found
    assert any(line == 7 and "#nowhere" in message for line, _, message in found)
    assert any(
        line == 9 and message.startswith("duplicate section id") for line, _, message in found
    )
    assert any(line == 13 and "is empty" in message for line, _, message in found)


def test_check_accepts_anchors_of_every_depth_and_suggests_the_closest(tmp_path: Path) -> None:
    folder = tmp_path / "lib"
    folder.mkdir()
    (folder / "a.md").write_text(
        "# A\n\n## Part\n\n[ok](#optionsstdio) [html](#anchor-1) [bad](#optionstdio)\n\n"
        '### Options\n\n<a name="Anchor-1"></a>\n\n#### `options.stdio`\n\nText.\n',
        encoding="utf-8",
    )
    problems = check_json(folder)
    assert [p["message"] for p in problems] == [
        "link to '#optionstdio' leads nowhere: no section or subsection 'optionstdio' in this "
        "article (did you mean '#optionsstdio'?)"
    ]


# --- the reader -------------------------------------------------------------------------------------------------


async def test_contents_nests_deeper_headings_folded(tmp_path: Path) -> None:
    app = build_app(
        tmp_path, LIBRARY, store=Store.in_memory(), start=StartAt("multi-h1", "api-reference")
    )
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        contents = tree(app)
        spawn = contents._entries[Place("multi-h1", "api-reference", "spawn")]
        options = contents._entries[Place("multi-h1", "api-reference", "options")]
        stdio = contents._entries[Place("multi-h1", "api-reference", "optionsstdio")]
        assert stdio.parent is options and options.parent is spawn
        assert not options.is_expanded and stdio.line < 0  # folded away until needed
        # A link to a "####" heading jumps there, and the contents opens to follow.
        app.reader().follow_link("#optionsstdio")
        await pilot.pause()
        assert shown(app) == ("multi-h1", "api-reference")
        assert cursor_place(app) == Place("multi-h1", "api-reference", "optionsstdio")
        assert options.is_expanded
        layout = view(app).layout_
        assert (
            layout is not None and "options.stdio" in layout.plain[layout.anchors["optionsstdio"]]
        )


async def test_html_anchor_link_jumps_to_its_heading(tmp_path: Path) -> None:
    app = build_app(tmp_path, LIBRARY, store=Store.in_memory(), start=StartAt("releases"))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        app.reader().follow_link("#2.1-Language")
        await pilot.pause()
        assert shown(app) == ("releases", "version-210-2024-07-25")
        assert cursor_place(app) == Place("releases", "version-210-2024-07-25", "language")


def test_snapshot_several_h1_headings(snap_compare: Any, tmp_path: Path) -> None:
    app = build_app(
        tmp_path, LIBRARY, store=Store.in_memory(), start=StartAt("multi-h1", "api-reference")
    )
    assert snap_compare(app, terminal_size=(100, 30))


def test_snapshot_footnotes(snap_compare: Any, tmp_path: Path) -> None:
    app = build_app(tmp_path, LIBRARY, store=Store.in_memory(), start=StartAt("lists", "notes"))
    assert snap_compare(app, terminal_size=(100, 30))


# --- the one inline converter -----------------------------------------------------------------------------------


def slow_text(text: str) -> str:
    return "".join(tokens_text(t.children or ()) for t in markdown_parser().parseInline(text, {}))


@settings(max_examples=3000, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "a",
                "b",
                " ",
                "*",
                "**",
                "_",
                "__",
                "`",
                "``",
                "[",
                "]",
                "(",
                ")",
                "](http://x)",
                ".",
                "-",
                "é",
                "—",
                "“",
                "\u00a0",
                "!",
                ":",
                "x/y",
                "\\",
                "\\*",
                "\\_",
                "\\`",
                "\\[",
                "\\\\",
                "\\a",
                "<",
                ">",
                "< b",
                "<a>",
                "</a>",
                "<x@y.z>",
                "<http://x>",
                "<!-- c -->",
                "&",
                "&amp;",
                "&#35;",
                "&nope;",
                "~",
                "~~",
                "\ue000",
            ]
        ),
        max_size=16,
    ).map("".join)
)
def test_quick_inline_text_equals_markdown_it(text: str) -> None:
    """Wherever the quick path answers, markdown-it gives the same text (escapes, code spans, links, emphasis,
    lone <, >, & and ~, HTML and autolinks, entities)."""
    quick = _quick_text(text)
    if quick is not None:
        assert quick == slow_text(text)


def test_inline_text_unwraps_markup() -> None:
    assert inline_text("**bold** and `code` and [link](http://x)") == "bold and code and link"
    assert inline_text("2 * 3 * 4 = 24") == "2 * 3 * 4 = 24"  # a literal star stays
    assert inline_text("snake_case_name") == "snake_case_name"
    refs = {"D": {"href": "https://example.com", "title": ""}}
    assert inline_text("see [the docs][d]", refs) == "see the docs"


def test_ids_count_the_title_heading_as_github_does() -> None:
    article = parse_article("# Building\n\n## Building\n\nA.\n\n## Building\n\nB.\n", Path("b.md"))
    assert not isinstance(article, Exception)
    assert [s.id for s in article.sections] == ["building-1", "building-2"]  # type: ignore[union-attr]


def test_yaml_front_matter_contact_and_typed_keys() -> None:
    text = (
        "---\ntitle: 1984\norder: 2\nreviewed: 2024-05-01\ncontact:\n  phone: 555-0100\n"
        "  email: 'desk@example.org'\n---\n\nBody.\n"
    )
    article = parse_article(text, Path("y.md"))
    assert not isinstance(article, Exception)
    meta = article.meta  # type: ignore[union-attr]
    assert (meta.title, meta.order, str(meta.reviewed)) == ("1984", 2.0, "2024-05-01")
    assert (meta.contact.phone, meta.contact.email) == ("555-0100", "desk@example.org")
    assert article.sections[0].source == "Body.\n"  # type: ignore[union-attr]


def test_a_thematic_break_at_the_top_is_not_front_matter() -> None:
    article = parse_article("---\n\nSome text.\n\n---\n\nMore.\n", Path("t.md"))
    assert not isinstance(article, Exception)
    assert "Some text." in article.sections[0].source  # type: ignore[union-attr]
