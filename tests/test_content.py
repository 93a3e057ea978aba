"""The content model: splitting, slugs, front matter, cleaning, and every kind of bad input."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from kreader.content import (
    Article,
    ContentError,
    LibraryError,
    default_content_dir,
    load_library,
    parse_article,
    read_article,
    slugify,
    split_sections,
)
from kreader.safetext import clean as clean_text


def article(text: str, name: str = "a.md") -> Article:
    result = parse_article(text, Path(name))
    assert isinstance(result, Article), result
    return result


def test_bundled_article_has_the_issue_sections(content_dir: Path) -> None:
    library = load_library(content_dir)
    assert library.errors == ()
    (only,) = library.articles
    assert [s.id for s in only.sections] == [
        "overview",
        "history",
        "how-it-may-work",
        "the-treatment-process",
        "what-comes-next",
        "final-thoughts",
        "contact",
    ]
    mechanisms = only.section("how-it-may-work")
    assert mechanisms is not None and len(mechanisms.subsections) == 5
    assert only.contact.phone == "(432) 218-8135"
    assert "Midland, TX 79707" in only.contact.address
    assert "988" in only.disclaimer and "not medical advice" in only.disclaimer
    assert only.meta.reviewed == dt.date(2026, 11, 26)
    assert only.meta.unknown_keys == ()


def test_bundled_article_carries_the_source_figures(content_dir: Path) -> None:
    text = (content_dir / "ketamine-ptsd.md").read_text(encoding="utf-8")
    for fact in ("1960s", "1970", "8 million", "2019", "esketamine", "off-label", "rodent", "988"):
        assert fact.lower() in text.lower(), fact


def test_split_on_h2_with_opening_section_and_title() -> None:
    a = article(
        "# Title\n\nIntro text.\n\n## First\n\nOne.\n\n### Sub A\n\nx\n\n## Second\n\nTwo.\n"
    )
    assert a.title == "Title"
    assert [(s.id, s.title) for s in a.sections] == [
        ("overview", "Overview"),
        ("first", "First"),
        ("second", "Second"),
    ]
    assert "Title" not in a.sections[0].source
    assert a.sections[0].source.strip() == "Intro text."
    first = a.sections[1]
    assert [(sub.id, sub.title) for sub in first.subsections] == [("sub-a", "Sub A")]
    assert first.source.splitlines()[first.subsections[0].line] == "### Sub A"


def test_hash_inside_code_block_never_splits() -> None:
    a = article("## Real\n\n```\n## not a heading\n# nor this\n```\n\n    ## indented code\n")
    assert [s.id for s in a.sections] == ["real"]
    assert "## not a heading" in a.sections[0].source


def test_headings_inside_lists_and_quotes_do_not_split() -> None:
    a = article("## A\n\n> ## quoted\n\n- ## listed\n")
    assert [s.id for s in a.sections] == ["a"]


def test_file_without_headings_is_one_section_titled_from_file_name() -> None:
    a = article("Just some text.\n", "my-notes.md")
    assert a.title == "my notes"
    assert len(a.sections) == 1 and a.sections[0].title == "Overview"


def test_empty_file_still_loads_one_section() -> None:
    a = article("", "empty.md")
    assert len(a.sections) == 1


def test_duplicate_headings_get_unique_ids() -> None:
    a = article("## Same\n\nx\n\n## Same\n\ny\n\n### Same\n")
    assert [s.id for s in a.sections] == ["same", "same-1"]
    assert a.sections[1].subsections[0].id == "same-2"


def test_skipped_levels_tables_html_and_unicode_load() -> None:
    text = "# Tïtle ✓\n\n#### deep\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n<div>html</div>\n\n## Ünïcødé 東京\n\nbody\n"
    a = article(text)
    assert a.title == "Tïtle ✓"
    assert a.sections[-1].id == "ünïcødé-東京"


def test_slugify_is_github_style() -> None:
    assert slugify("How it *may* work?") == "how-it-may-work"
    assert slugify("NMDA receptor antagonism") == "nmda-receptor-antagonism"
    assert slugify("!!!") == "section"


def test_heading_markup_is_unwrapped_in_titles() -> None:
    a = article("## The **bold** `code` [link](http://x)\n")
    assert a.sections[0].title == "The bold code link"


def test_front_matter_is_read_and_typed() -> None:
    a = article(
        '+++\ntitle = "FM title"\nsummary = "S"\norder = 2\nreviewed = 2024-05-01\n'
        'disclaimer = "D"\nextra = 1\n[contact]\nname = "N"\naddress = "A"\nphone = "P"\n+++\n# Ignored\n\nx\n'
    )
    assert a.title == "FM title"
    assert a.meta.order == 2.0 and a.meta.reviewed == dt.date(2024, 5, 1)
    assert (a.contact.name, a.contact.address, a.contact.phone) == ("N", "A", "P")
    assert a.meta.unknown_keys == ("extra",)
    assert a.body_line == 13


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ('+++\ntitle = "x"\nbroken = \n+++\n', 3, "malformed front matter"),
        ("+++\ntitle = 'x'\n", 1, "never closed"),
        ("+++\norder = 'first'\n+++\n", 2, "'order' must be a number"),
        ("+++\n\nreviewed = 'soon'\n+++\n", 3, "'reviewed' must be a date"),
        ("+++\ntitle = 3\n+++\n", 2, "'title' must be a string"),
        ("+++\ncontact = 'me'\n+++\n", 2, "'contact' must be a table"),
        # The line of contact.name, not the first line that sets some 'name'.
        ('+++\n[extra]\nname = "x"\n[contact]\nname = 3\n+++\n', 5, "'contact.name' must be"),
        ("+++\ncontact = { phone = 1 }\n+++\n", 2, "'contact.phone' must be a string"),
    ],
)
def test_malformed_front_matter_is_an_error_with_its_line(text: str, line: int, words: str) -> None:
    result = parse_article(text, Path("bad.md"))
    assert isinstance(result, ContentError)
    assert result.line == line and words in result.reason
    assert str(result).startswith(f"bad.md:{line}: error:")


def test_escape_sequences_are_stripped() -> None:
    evil = "Title \x1b]0;pwned\x07ok \x1b[31mred\x1b[0m \x9b2J bell\x07 nul\x00 c1\x85 tab\tkept\r\nnext"
    clean = clean_text(evil)
    assert (
        "\x1b" not in clean and "\x9b" not in clean and "\x85" not in clean and "\x00" not in clean
    )
    assert "pwned" not in clean
    assert clean == "Title ok red  bell nul c1 tab\tkept\nnext"
    a = article("## Head\x1b[2J\n\ntext\x1b]52;c;ZXZpbA==\x07\n")
    assert "\x1b" not in a.sections[0].source and a.sections[0].title == "Head"


def test_invalid_utf8_and_unreadable_files_are_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.md"
    bad.write_bytes(b"# ok\n\nline two\n\xff\xfe broken\n")
    result = read_article(bad)
    assert isinstance(result, ContentError) and result.line == 4 and "UTF-8" in result.reason
    folder = tmp_path / "folder.md"
    folder.mkdir()
    result = read_article(folder)
    assert isinstance(result, ContentError) and "cannot read" in result.reason


def test_library_skips_bad_files_and_keeps_the_rest(tmp_path: Path) -> None:
    (tmp_path / "good.md").write_text("# Good\n\n## One\n\nx\n")
    (tmp_path / "bad.md").write_bytes(b"\xff\n")
    (tmp_path / "broken.md").write_text("+++\ntitle = \n+++\n")
    (tmp_path / "notes.txt").write_text("ignored")
    library = load_library(tmp_path)
    assert [a.id for a in library.articles] == ["good"]
    assert sorted(e.path.name for e in library.errors) == ["bad.md", "broken.md"]


def test_library_orders_by_order_then_title(tmp_path: Path) -> None:
    (tmp_path / "z.md").write_text("+++\norder = 1\n+++\n# Zed\n")
    (tmp_path / "a.md").write_text("# Beta\n")
    (tmp_path / "b.md").write_text("# alpha\n")
    assert [a.title for a in load_library(tmp_path).articles] == ["Zed", "alpha", "Beta"]


def test_missing_or_empty_library_raises_one_line(tmp_path: Path) -> None:
    with pytest.raises(LibraryError, match="does not exist"):
        load_library(tmp_path / "nope")
    with pytest.raises(LibraryError, match="no readable article"):
        load_library(tmp_path)


def test_huge_article_loads_and_splits(tmp_path: Path) -> None:
    part = "## Section {n}\n\n" + ("Some words in a paragraph. " * 40 + "\n\n") * 10
    text = "# Big\n\n" + "".join(part.format(n=n) for n in range(200))
    assert len(text) > 1_000_000
    a = article(text)
    assert len(a.sections) == 200 and a.sections[199].id == "section-199"


def test_anchor_lookup_finds_sections_and_subsections() -> None:
    a = article("## One\n\n### Deep dive\n\n## Two\n")
    found = a.anchor("deep-dive")
    assert found is not None and found[0].id == "one" and found[1] is not None
    assert a.anchor("two") == (a.sections[1], None)
    assert a.anchor("nowhere") is None


def test_default_content_dir_is_the_bundled_folder() -> None:
    assert (default_content_dir() / "ketamine-ptsd.md").is_file()


def test_textual_free_modules_do_not_import_textual() -> None:
    code = (
        "import sys, kreader.content, kreader.store, kreader.settings, kreader.search, kreader.kiosk, "
        "kreader.check, kreader.printing, kreader.cli\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_sections_share_their_articles_text_instead_of_copying_it(content_dir: Path) -> None:
    """A megabyte article is held once: each section cuts its source out of the article's text when it
    is read (the opening section, which holds the blanked title line, keeps a copy of its own)."""
    article = load_library(content_dir).articles[0]
    shared = [section for section in article.sections if section.span is not None]
    assert len(shared) == len(article.sections) - 1
    for section in shared:
        assert section.raw is article.body
        start, end = section.span or (0, 0)
        assert section.source == article.body[start:end]
        assert section.source.endswith("\n") and not section.source.startswith("\n")
    assert "raw=" not in repr(article.sections[1])  # a repr never prints the whole article


@pytest.mark.parametrize(
    "text",
    [
        "# Title\n\nOpening.\n\n## One\n\nText of one.\n\n\n## Two\n\nLast line without a newline",
        "Intro\n# Title in the middle\nmore\n## A\r\nwindows line\r\n## B\n\u2028odd break\n",
        "## A\n\n\n\n## B\n\n[ref]\n\n[ref]: https://example.org\n",
    ],
)
def test_a_shared_source_reads_as_the_lines_between_its_headings(text: str) -> None:
    for section in split_sections(text):
        source = section.source  # "\n" for a section with nothing under its heading
        assert source.endswith("\n") and (source == "\n" or not source.startswith("\n"))
        assert not source.endswith("\n\n")
        assert source.rstrip("\n") in text or section.span is None
