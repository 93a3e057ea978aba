"""``kreader search``, run as a real process against a library written here and the bundled one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kreader.search import Hit

ROOT = Path(__file__).resolve().parent.parent
CONTENT = ROOT / "content"

LIBRARY = {
    "dosing.md": """\
+++
title = "Dosing notes"
order = 1
+++

## How it is given

Ketamine is given by **infusion** at the clinic, see [the guide](https://example.org/hidden).

## Esketamine

A nasal spray called esketamine.
""",
    "other.md": """\
# Other article

Nothing about the drug here, only café talk.
""",
}


def kreader(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kreader", "search", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


@pytest.fixture
def library(tmp_path: Path) -> Path:
    for name, text in LIBRARY.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def test_prints_article_section_and_marked_snippet(library: Path) -> None:
    result = kreader("--content", str(library), "infus")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Dosing notes › How it is given  (dosing#how-it-is-given)"
    assert lines[1].strip() == ("Ketamine is given by **infusion** at the clinic, see the guide.")
    assert "example.org" not in result.stdout
    assert "\x1b" not in result.stdout, "no colour when not on a terminal"


def test_words_in_any_order_and_accents(library: Path) -> None:
    result = kreader("--content", str(library), "spray", "NASAL")
    assert result.returncode == 0, result.stderr
    assert "(dosing#esketamine)" in result.stdout
    assert "**nasal** **spray**" in result.stdout
    cafe = kreader("--content", str(library), "cafe")
    assert cafe.returncode == 0 and "**café**" in cafe.stdout


def test_title_match_is_marked_in_the_title(library: Path) -> None:
    result = kreader("--content", str(library), "esketamine")
    assert result.stdout.splitlines()[0] == "Dosing notes › **Esketamine**  (dosing#esketamine)"


def test_json_lists_every_hit_field(library: Path) -> None:
    result = kreader("--content", str(library), "--json", "ketamine")
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)
    assert isinstance(hits, list) and hits
    assert set(hits[0]) == set(Hit._fields)
    first = hits[0]
    assert first["article_id"] == "dosing"
    assert first["term"] == "Ketamine"
    start, end = first["highlights"][0]
    assert first["snippet"][start:end] == "Ketamine"
    assert first["where"] in {"title", "heading", "body"}


def test_limit(library: Path) -> None:
    one = kreader("--content", str(library), "--json", "--limit", "1", "the")
    assert len(json.loads(one.stdout)) == 1, "'the' is in three sections"
    bad = kreader("--content", str(library), "--limit", "0", "the")
    assert bad.returncode == 2 and "--limit" in bad.stderr


def test_no_match_exits_1(library: Path) -> None:
    result = kreader("--content", str(library), "zzzzqx")
    assert result.returncode == 1
    assert result.stdout == ""
    assert "no matches for 'zzzzqx'" in result.stderr
    # "hidden" is only in a link's URL, which is not text.
    as_json = kreader("--content", str(library), "--json", "hidden")
    assert as_json.returncode == 1 and json.loads(as_json.stdout) == []


@pytest.mark.parametrize("query", [[], ["  "], ["***"]])
def test_empty_query_exits_2(library: Path, query: list[str]) -> None:
    result = kreader("--content", str(library), *query)
    assert result.returncode == 2
    assert result.stderr.startswith("kreader: ")
    assert len(result.stderr.strip().splitlines()) == 1, "one line, no traceback"


def test_missing_folder_exits_2(tmp_path: Path) -> None:
    result = kreader("--content", str(tmp_path / "nowhere"), "ketamine")
    assert result.returncode == 2
    assert "does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_huge_query_is_just_text(library: Path) -> None:
    result = kreader("--content", str(library), "(a+)+$" * 1000)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr


IMPORTTIME = [sys.executable, "-X", "importtime", "-m", "kreader", "search"]


def test_does_not_import_textual(library: Path) -> None:
    result = subprocess.run(
        [*IMPORTTIME, "--content", str(library), "ketamine"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 0
    imported = [line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()]
    assert not [name for name in imported if name.split(".")[0] == "textual"]


needs_bundled = pytest.mark.skipif(
    not any(CONTENT.glob("*.md")), reason="no bundled content/ library"
)


@needs_bundled
def test_bundled_library() -> None:
    result = kreader("ketamine")
    assert result.returncode == 0, result.stderr
    assert " › " in result.stdout
    assert "**ketamine**" in result.stdout.lower()


@needs_bundled
@pytest.mark.parametrize(("query", "word"), [("NMDA", "nmda"), ("esket", "esketamine")])
def test_bundled_library_json(query: str, word: str) -> None:
    result = kreader("--json", query)
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)
    assert hits and all(word in hit["term"].lower() for hit in hits)
