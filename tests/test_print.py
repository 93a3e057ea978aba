"""``kreader print``: plain text for pipes and paper, Rich styling for terminals, section selection.

When stdout is not a terminal (every subprocess here), plain text is automatic; ``--rich`` forces
the styled layout, and `print_rich` is also tested in-process with a Console writing to a StringIO.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.cells import cell_len
from rich.console import Console

from kreader.cli import main
from kreader.content import load_library
from kreader.printing import find_target, plain_text, print_rich

SAMPLE = """\
+++
title = "Sample article"
summary = "A short summary of the sample."
order = 1
reviewed = 2024-05-01
disclaimer = "General information, not medical advice."

[contact]
name = "Example Clinic"
address = "1 Main Street\\nSpringfield"
phone = "555-0100"
email = "desk@example.org"
+++

# Sample article

Opening words that go on long enough to need wrapping at a narrow width, with **bold**,
*emphasis* and `code` in them.

## Lists and links

- first item
- second item with a [web link](https://example.org/page) and an [inside link](#tables)
  - nested item

1. one
2. two

### A subsection

Text under it, and a long address:
https://example.org/a-very-long-path-that-cannot-be-broken-anywhere-at-all

## Tables

| Name | Value |
|------|-------|
| alpha | 1 |
| beta | 2 |

| Long header one | Long header two |
|---|---|
| a very long cell that cannot possibly fit | another long cell that is also too wide |

## Code and quotes

```
    indented
code line
```

> A quote that is long enough to need wrapping when the width is narrow enough, surely.
"""

SECOND = """\
+++
title = "Second"
order = 2
+++

## Only part

Words.
"""

BOX_DRAWING = re.compile("[\u2500-\u257f]")
ANSI = re.compile("\x1b")


@pytest.fixture
def library(tmp_path: Path) -> Path:
    root = tmp_path / "lib"
    root.mkdir()
    (root / "sample.md").write_text(SAMPLE, encoding="utf-8")
    (root / "second.md").write_text(SECOND, encoding="utf-8")
    return root


def kreader_print(library: Path, *args: str, columns: int = 80) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kreader", "print", "--content", str(library), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": str(columns), "LINES": "24"},
    )


def run_main(capsys: pytest.CaptureFixture[str], library: Path, *args: str) -> tuple[int, str, str]:
    """``kreader print`` in-process; stdout is captured, so not a terminal: (status, out, err)."""
    try:
        status = main(["print", "--content", str(library), *args])
    except SystemExit as exc:  # argparse errors
        status = int(exc.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


def assert_fits(text: str, width: int) -> None:
    """No line wider than ``width`` cells: a hard limit, for code, URLs and wide characters too."""
    for line in text.splitlines():
        assert cell_len(line) <= width, f"too wide: {line!r}"


def test_piped_output_is_plain_text(library: Path) -> None:
    result = kreader_print(library)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert not ANSI.search(out)
    assert not BOX_DRAWING.search(out)
    assert out == kreader_print(library, "--plain").stdout
    assert out.startswith("Sample article\n==============\n\nA short summary of the sample.\n")
    assert "Reviewed: 2024-05-01" in out
    assert "\nOverview\n--------\n" in out
    assert "\nLists and links\n---------------\n" in out
    assert "\nA subsection\n~~~~~~~~~~~~\n" in out
    assert "\nbold, emphasis and code in them.\n" in out  # no ** or ` markers
    assert "\n- first item\n- second item" in out
    assert "\n  - nested item\n" in out
    assert "\n1. one\n2. two\n" in out
    assert "web link (https://example.org/page)" in out
    assert "inside link" in out and "(#tables)" not in out
    assert "\nName  | Value\n------+------\nalpha | 1\nbeta  | 2\n" in out
    assert "\n        indented\n    code line\n" in out
    assert "\n> A quote that is long enough" in out
    assert out.endswith(
        "Disclaimer\n----------\n\nGeneral information, not medical advice.\n\n"
        "Contact\n-------\n\nExample Clinic\n1 Main Street\nSpringfield\n"
        "Phone: 555-0100\nEmail: desk@example.org\n"
    )


@pytest.mark.parametrize("width", [20, 33, 60])
def test_width_is_respected(library: Path, width: int, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run_main(capsys, library, "--width", str(width))
    assert status == 0, err
    assert_fits(out, width)
    long_word = "https://example.org/a-very-long-path-that-cannot-be-broken-anywhere-at-all"
    assert long_word in "".join(out.split("\n"))  # folded, nothing lost


def test_wide_table_becomes_column_value_lines(
    library: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = run_main(capsys, library, "--width", "40")
    assert "Long header one: a very long cell that\n  cannot possibly fit\n" in out
    assert "Long header two: another long cell" in out


def test_default_width_is_the_terminal_width(library: Path) -> None:
    result = kreader_print(library, columns=30)
    assert_fits(result.stdout, 30)
    assert max(len(line) for line in result.stdout.splitlines() if " " in line.strip()) > 20


def test_one_section(library: Path) -> None:
    result = kreader_print(library, "sample#tables")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("Sample article\n====")
    assert "\nTables\n------\n" in out
    assert "Lists and links" not in out and "Overview" not in out
    assert "General information, not medical advice." in out  # the disclaimer goes with it


def test_section_alone_is_found_in_any_article(
    library: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run_main(capsys, library, "#only-part")
    assert status == 0, err
    assert out.startswith("Second\n======\n")
    assert "\nOnly part\n---------\n\nWords.\n" in out


def test_article_by_file_name(library: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_main(capsys, library, "second.md")[1].startswith("Second\n")


def test_unknown_article_lists_the_articles(library: Path) -> None:
    result = kreader_print(library, "nope")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == "kreader: no article 'nope'; articles: sample, second\n"


def test_unknown_section_lists_the_sections(
    library: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run_main(capsys, library, "sample#nope")
    assert (status, out) == (2, "")
    assert err == (
        "kreader: article 'sample' has no section 'nope'; "
        "sections: overview, lists-and-links, tables, code-and-quotes\n"
    )


@pytest.mark.parametrize("width", ["19", "501", "wide"])
def test_width_out_of_range(library: Path, width: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run_main(capsys, library, "--width", width)
    assert status == 2
    assert "must be a number from 20 to 500" in err


def test_missing_library_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run_main(capsys, tmp_path / "missing")
    assert (status, out) == (2, "")
    assert err == f"kreader: {tmp_path / 'missing'}: content folder does not exist\n"


def test_rich_flag_styles_even_in_a_pipe(library: Path) -> None:
    result = kreader_print(library, "--rich", "--width", "60", "sample#tables")
    assert result.returncode == 0, result.stderr
    assert ANSI.search(result.stdout)
    assert "alpha" in result.stdout
    assert "Disclaimer" in result.stdout


def test_rich_in_process(library: Path) -> None:
    article, section = find_target(load_library(library), "sample")
    buffer = io.StringIO()
    console = Console(file=buffer, width=60, force_terminal=True, color_system="standard")
    print_rich(article, section, console)
    out = buffer.getvalue()
    assert ANSI.search(out)
    plain = re.sub(r"\x1b\[[0-9;]*m|\x1b\]8;[^\x1b]*\x1b\\", "", out)
    assert "Sample article" in plain
    assert "Lists and links" in plain and "A subsection" in plain
    assert "Example Clinic" in plain and "Phone: 555-0100" in plain
    assert all(len(line) <= 60 for line in plain.splitlines())


def test_rich_titles_are_shown_as_written(tmp_path: Path) -> None:
    (tmp_path / "odd.md").write_text('+++\ntitle = "A *star* and #hash"\n+++\n\nText.\n')
    article, _ = find_target(load_library(tmp_path), None)
    buffer = io.StringIO()
    print_rich(article, None, Console(file=buffer, width=60, color_system=None))
    assert "A *star* and #hash" in buffer.getvalue()


@pytest.mark.parametrize("width", range(20, 90, 7))
def test_plain_text_fits_every_width(library: Path, width: int) -> None:
    for article in load_library(library).articles:
        text = plain_text(article, None, width)
        assert_fits(text, width)
        assert not BOX_DRAWING.search(text) and not ANSI.search(text)


def test_bundled_content_prints_plainly(content_dir: Path) -> None:
    if not any(content_dir.glob("*.md")):
        pytest.skip("content/ has no articles yet")
    result = subprocess.run(
        [sys.executable, "-m", "kreader", "print", "--width", "70"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert not ANSI.search(result.stdout) and not BOX_DRAWING.search(result.stdout)
    assert_fits(result.stdout, 70)


def test_print_does_not_import_textual() -> None:
    code = (
        "import sys, kreader.printing, kreader.commands.printing; print('textual' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr
