"""``kreader check``: one deliberately broken file per kind of problem, then the command itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kreader.check import Problem, check_library, check_report
from kreader.content import LibraryError, load_library


def make_library(root: Path, files: dict[str, str | bytes]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        data = text if isinstance(text, bytes) else text.encode("utf-8")
        (root / name).write_bytes(data)
    return root


def found(root: Path) -> list[str]:
    """Every problem as ``name:line: level: message`` (file names relative to the library)."""
    return [
        f"{p.file.relative_to(root)}:{p.line}: {p.level}: {p.message}" for p in check_library(root)
    ]


def where(root: Path) -> list[str]:
    """Every problem as ``name:line: level:`` only."""
    return [f"{p.file.relative_to(root)}:{p.line}: {p.level}:" for p in check_library(root)]


def kreader(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kreader", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
        env={**os.environ, "COLUMNS": "100"},
    )


GOOD = """\
+++
title = "Good"
+++

Intro text.

## First

Text with a [link](#second) and a [subsection link](#detail).

### Detail

More.

## Second

See [the other article](other.md#far) and [the web](https://example.org).
"""

OTHER = "# Other\n\n## Far\n\nAway.\n\n### Café\n\nUnicode anchor.\n"


# --- one problem per file -------------------------------------------------------------------------


def test_clean_library_has_no_problems(tmp_path: Path) -> None:
    lib = make_library(tmp_path / "lib", {"good.md": GOOD, "other.md": OTHER})
    assert found(lib) == []
    report = check_report(lib)
    assert report.summary() == "ok: 2 articles, no problems"
    assert report.exit_status(strict=True) == 0


def test_unreadable_files(tmp_path: Path) -> None:
    lib = make_library(tmp_path / "lib", {"good.md": GOOD, "other.md": OTHER})
    (lib / "folder.md").mkdir()
    (lib / "dangling.md").symlink_to(lib / "nowhere")
    assert where(lib) == ["dangling.md:1: error:", "folder.md:1: error:"]
    assert all("cannot read file" in line for line in found(lib))


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads any file")
def test_file_without_read_permission(tmp_path: Path) -> None:
    lib = make_library(tmp_path / "lib", {"locked.md": "# Locked\n"})
    (lib / "locked.md").chmod(0)
    try:
        assert found(lib) == ["locked.md:1: error: cannot read file: Permission denied"]
    finally:
        (lib / "locked.md").chmod(0o644)


def test_invalid_utf8_reports_the_line_of_the_bad_byte(tmp_path: Path) -> None:
    lib = make_library(tmp_path / "lib", {"latin1.md": "# Title\n\ncaf\xe9\n".encode("latin-1")})
    assert found(lib) == [
        "latin1.md:3: error: not valid UTF-8 (byte 0xe9 at offset 12); save the file as UTF-8"
    ]


def test_malformed_front_matter_maps_the_toml_line_to_the_file(tmp_path: Path) -> None:
    text = '+++\ntitle = "Fine"\nsummary = "Fine too"\norder = = 3\n+++\n\n# Title\n'
    lib = make_library(tmp_path / "lib", {"toml.md": text})
    # The rest of the file is still checked (here: it has a title and nothing else).
    assert where(lib) == ["toml.md:4: error:", "toml.md:6: warning:"]
    assert "malformed front matter" in found(lib)[0]


def test_front_matter_never_closed(tmp_path: Path) -> None:
    lib = make_library(tmp_path / "lib", {"open.md": '+++\ntitle = "x"\n\n# Title\n'})
    assert where(lib) == ["open.md:1: error:"]


def test_unknown_front_matter_keys_are_warnings_on_their_lines(tmp_path: Path) -> None:
    text = '+++\ntitle = "T"\ncolour = "blue"\n\n[contact]\nname = "C"\nfax = "1"\n+++\n\nText.\n'
    lib = make_library(tmp_path / "lib", {"keys.md": text})
    assert where(lib) == ["keys.md:3: warning:", "keys.md:7: warning:"]
    lines = found(lib)
    assert "'colour'" in lines[0]
    assert "'contact.fax'" in lines[1]


def test_missing_title(tmp_path: Path) -> None:
    lib = make_library(tmp_path / "lib", {"untitled.md": "Just text.\n\n## Part\n\nMore.\n"})
    assert found(lib) == [
        "untitled.md:1: warning: no title: add title = \"...\" to the front matter or a '# ' "
        "heading; readers see 'untitled'"
    ]


def test_front_matter_title_is_enough(tmp_path: Path) -> None:
    lib = make_library(tmp_path / "lib", {"t.md": '+++\ntitle = "T"\n+++\nText.\n'})
    assert found(lib) == []


def test_empty_section_is_reported_on_its_heading(tmp_path: Path) -> None:
    text = "# Title\n\nIntro.\n\n## Empty\n\n\n## Full\n\nText.\n"
    lib = make_library(tmp_path / "lib", {"empty.md": text})
    assert found(lib) == ["empty.md:5: warning: section 'Empty' is empty"]


def test_article_without_text(tmp_path: Path) -> None:
    lib = make_library(tmp_path / "lib", {"bare.md": '+++\ntitle = "Bare"\n+++\n\n'})
    assert found(lib) == ["bare.md:4: warning: the article has no text"]


def test_duplicate_section_ids(tmp_path: Path) -> None:
    text = "# Title\n\n## Side effects\n\nA.\n\n## Side Effects!\n\nB.\n"
    lib = make_library(tmp_path / "lib", {"dup.md": text})
    assert where(lib) == ["dup.md:7: warning:"]
    message = found(lib)[0]
    assert "'side-effects'" in message and "line 3" in message and "'side-effects-1'" in message


def test_repeated_subsection_titles_are_not_duplicate_sections(tmp_path: Path) -> None:
    text = "# T\n\n## A\n\n### Risks\n\nx\n\n## B\n\n### Risks\n\ny\n"
    lib = make_library(tmp_path / "lib", {"subs.md": text})
    assert found(lib) == []


def test_heading_levels_that_skip(tmp_path: Path) -> None:
    text = "# Title\n\n### Too deep\n\nx\n\n## Fine\n\n#### Too deep again\n\ny\n\n### Fine\n\nz\n"
    lib = make_library(tmp_path / "lib", {"skip.md": text})
    assert found(lib) == [
        "skip.md:3: warning: heading level skips from # to ### (use ## here)",
        "skip.md:9: warning: heading level skips from ## to #### (use ### here)",
    ]


def test_headings_inside_code_blocks_do_not_count(tmp_path: Path) -> None:
    text = "# Title\n\n```\n#### not a heading\n[not a link](#nowhere)\n```\n"
    lib = make_library(tmp_path / "lib", {"code.md": text})
    assert found(lib) == []


def test_anchor_links_that_lead_nowhere(tmp_path: Path) -> None:
    text = (
        '+++\ntitle = "Anchors"\n+++\n\n'  # the body starts on line 5
        "A paragraph over\nseveral lines with a [bad link](#nowhere)\nand a [good one](#part).\n\n"
        "## Part\n\n"
        "- item\n- [close](#prt)\n\n"
        "| a | b |\n|---|---|\n| x | [cell](#missing) |\n"
    )
    lib = make_library(tmp_path / "lib", {"anchors.md": text})
    assert found(lib) == [
        "anchors.md:6: error: link to '#nowhere' leads nowhere: "
        "no section or subsection 'nowhere' in this article",
        "anchors.md:12: error: link to '#prt' leads nowhere: "
        "no section or subsection 'prt' in this article (did you mean '#part'?)",
        "anchors.md:16: error: link to '#missing' leads nowhere: "
        "no section or subsection 'missing' in this article",
    ]


def test_links_to_other_articles(tmp_path: Path) -> None:
    text = (
        "# Links\n\n"
        "[ok](other.md) [ok](other.md#far) [ok](./other.md#café) [self](links.md#overview)\n"
        "[ok](other#Far) [ok](#Overview)\n"
        "[bad anchor](other.md#near)\n"
        "[no file](missing.md#far)\n"
        "[outside](../elsewhere/other.md)\n"
        "[web](https://example.org/x.md) [mail](mailto:a@example.org) <https://example.org>\n"
    )
    lib = make_library(tmp_path / "lib", {"links.md": text, "other.md": OTHER})
    assert found(lib) == [
        "links.md:5: error: link to 'other.md#near' leads nowhere: "
        "no section or subsection 'near' in 'other.md'",
        "links.md:6: error: link to 'missing.md#far' leads nowhere: "
        "no article 'missing' (file missing.md) in the library",
        "links.md:7: warning: link to '../elsewhere/other.md' names a folder; kreader opens "
        "'other.md' from this library, but other programs will not: write 'other.md' instead",
    ]


def test_links_to_a_broken_article_are_not_reported_twice(tmp_path: Path) -> None:
    lib = make_library(tmp_path / "lib", {"a.md": "# A\n\n[b](b.md#x)\n", "b.md": b"# B\n\n\xff\n"})
    assert where(lib) == ["b.md:3: error:"]


def test_relative_link_to_a_file_that_is_not_an_article(tmp_path: Path) -> None:
    lib = make_library(tmp_path / "lib", {"pdf.md": "# Pdf\n\nSee [the leaflet](leaflet.pdf).\n"})
    assert where(lib) == ["pdf.md:3: error:"]


def test_empty_link(tmp_path: Path) -> None:
    lib = make_library(tmp_path / "lib", {"empty.md": "# Empty\n\nSee [this]() later.\n"})
    assert where(lib) == ["empty.md:3: warning:"]


def test_control_characters_are_reported_on_each_line(tmp_path: Path) -> None:
    text = "# Title\n\nplain\nred \x1b[31mtext\x1b[0m\nbell\x07 here\n"
    lib = make_library(tmp_path / "lib", {"esc.md": text})
    assert found(lib) == [
        r"esc.md:4: warning: control characters '\x1b[31m', '\x1b[0m' will be removed",
        r"esc.md:5: warning: control character or escape sequence '\x07' will be removed",
    ]


def test_unterminated_escape_sequence_says_how_much_it_swallows(tmp_path: Path) -> None:
    text = "# Title\n\nstart \x1b]0;title\nmore\nlast\n"
    lib = make_library(tmp_path / "lib", {"osc.md": text})
    assert where(lib) == ["osc.md:3: warning:"]
    assert "the rest of its line is removed too" in found(lib)[0]


def test_windows_line_endings_are_not_control_characters(tmp_path: Path) -> None:
    text = GOOD.replace("\n", "\r\n")
    lib = make_library(tmp_path / "lib", {"good.md": text, "other.md": OTHER})
    assert found(lib) == []


def test_problems_are_sorted_by_file_then_line(tmp_path: Path) -> None:
    lib = make_library(
        tmp_path / "lib",
        {
            "b.md": "# B\n\n[x](#nope)\n\n## S\n",
            "a.md": "no title\n\n#### deep\n\nx \x1b[1m\n",
        },
    )
    problems = check_library(lib)
    keys = [(p.file.name, p.line) for p in problems]
    assert keys == sorted(keys)
    assert [p.file.name for p in problems] == ["a.md", "a.md", "a.md", "b.md", "b.md"]


def test_problem_formats() -> None:
    problem = Problem(Path("lib/a.md"), 3, "error", "broken")
    assert str(problem) == "lib/a.md:3: error: broken"
    assert problem.to_dict() == {
        "file": "lib/a.md",
        "line": 3,
        "level": "error",
        "message": "broken",
    }


def test_folder_that_cannot_be_checked(tmp_path: Path) -> None:
    with pytest.raises(LibraryError, match="does not exist"):
        check_library(tmp_path / "missing")
    (tmp_path / "file.md").write_text("# x\n")
    with pytest.raises(LibraryError, match="not a folder"):
        check_library(tmp_path / "file.md")
    (tmp_path / "empty").mkdir()
    with pytest.raises(LibraryError, match="no articles"):
        check_library(tmp_path / "empty")


# --- the command ----------------------------------------------------------------------------------


BROKEN: dict[str, str | bytes] = {
    "anchors.md": "# A\n\n[x](#nowhere)\n",
    "keys.md": '+++\ntitle = "K"\nshade = 1\n+++\n\nText.\n',
    "latin1.md": "# L\n\ncaf\xe9\n".encode("latin-1"),
    "skip.md": "# S\n\n### deep\n\nx\n",
}


def test_command_lists_problems_sorted_and_exits_1_on_errors(tmp_path: Path) -> None:
    make_library(tmp_path / "lib", BROKEN)
    result = kreader("check", "lib", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split(" ", 2)[:2] for line in lines] == [
        ["lib/anchors.md:3:", "error:"],
        ["lib/keys.md:3:", "warning:"],
        ["lib/latin1.md:3:", "error:"],
        ["lib/skip.md:3:", "warning:"],
    ]
    assert result.stderr.strip() == "2 errors, 2 warnings in 4 files (4 checked)"


def test_command_warnings_pass_unless_strict(tmp_path: Path) -> None:
    make_library(tmp_path / "lib", {"skip.md": BROKEN["skip.md"], "good.md": "# Good\n\nText.\n"})
    result = kreader("check", tmp_path / "lib")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("warning:") == 1
    assert result.stderr.strip() == "0 errors, 1 warning in 1 file (2 checked)"
    strict = kreader("check", "--strict", tmp_path / "lib")
    assert strict.returncode == 1
    assert strict.stdout == result.stdout


def test_command_clean_folder(tmp_path: Path) -> None:
    make_library(tmp_path / "lib", {"good.md": GOOD, "other.md": OTHER})
    result = kreader("check", "--strict", tmp_path / "lib")
    assert (result.returncode, result.stdout) == (0, "")
    assert result.stderr.strip() == "ok: 2 articles, no problems"


def test_command_uses_content_option_without_dir(tmp_path: Path) -> None:
    make_library(tmp_path / "lib", BROKEN)
    result = kreader("check", "--content", tmp_path / "lib")
    assert result.returncode == 1
    assert result.stdout.count("\n") == len(BROKEN)


def test_command_json(tmp_path: Path) -> None:
    make_library(tmp_path / "lib", BROKEN)
    result = kreader("check", "--json", "lib", cwd=tmp_path)
    assert result.returncode == 1
    problems = json.loads(result.stdout)
    assert problems[0] == {
        "file": "lib/anchors.md",
        "line": 3,
        "level": "error",
        "message": "link to '#nowhere' leads nowhere: "
        "no section or subsection 'nowhere' in this article",
    }
    assert [(p["file"], p["line"], p["level"]) for p in problems] == [
        ("lib/anchors.md", 3, "error"),
        ("lib/keys.md", 3, "warning"),
        ("lib/latin1.md", 3, "error"),
        ("lib/skip.md", 3, "warning"),
    ]


@pytest.mark.parametrize(
    ("name", "reason"),
    [("missing", "content folder does not exist"), ("file.md", "not a folder")],
)
def test_command_exits_2_when_the_folder_cannot_be_read(
    tmp_path: Path, name: str, reason: str
) -> None:
    (tmp_path / "file.md").write_text("# x\n")
    result = kreader("check", tmp_path / name)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == f"kreader: {tmp_path / name}: {reason}\n"


def test_bundled_content_passes_strict(content_dir: Path) -> None:
    if not any(content_dir.glob("*.md")):
        pytest.skip("content/ has no articles yet")
    result = kreader("check", "--strict", content_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr.startswith("ok: ")


def test_check_does_not_import_textual() -> None:
    code = "import sys, kreader.check, kreader.commands.check; print('textual' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


def test_example_in_the_authoring_guide_is_clean(tmp_path: Path) -> None:
    guide = Path(__file__).resolve().parent.parent / "docs" / "authoring.md"
    example = guide.read_text(encoding="utf-8").split("```markdown\n")[-1].split("\n```")[0]
    lib = make_library(tmp_path / "lib", {"hand-washing.md": example + "\n"})
    assert found(lib) == []
    assert [s.id for s in load_library(lib).articles[0].sections] == [
        "overview",
        "when-to-wash",
        "how-to-wash",
    ]
