"""The search index: folding, matching, Markdown stripping, ranking, bad input and match order."""

from __future__ import annotations

import itertools
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from kreader import search as search_module
from kreader.content import load_library
from kreader.search import ELLIPSIS, Hit, Query, SearchIndex, fold, parse_query, words_of

CLINIC = """\
+++
title = "Ketamine clinic guide"
order = 1
+++

# Ketamine clinic guide

Welcome to the café. Ketamine is an **NMDA** receptor antagonist, given at the
clinic. Read [the dosing guide](https://example.org/secretword/page) first, or
<https://example.org/autolinked>.

## Nasal spray

Esketamine is given as a nasal spray. The spray is nasal, too.

Alpha words first, then a long gap of other words before we reach the beta one.

### Dosing schedule

Doses are set by the clinic. Alpha beta sit side by side here.

```python infoword
dose = ketamine_dose(weight)
```

| Drug | Route |
|------|-------|
| ketamine | intravenous |

## Dosing

How dosing works, in short.

## Résumé

A DIFFERENT CASE. Cafe\u0301 written with a combining accent. Straße.
"""

SECOND = """\
+++
title = "Second article"
order = 2
+++

## Later

Ketamine again, in the second article. Ketamine twice.
"""


def make_index(folder: Path, files: dict[str, str]) -> SearchIndex:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return SearchIndex.build(load_library(folder))


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> SearchIndex:
    folder = tmp_path_factory.mktemp("library")
    return make_index(folder, {"clinic.md": CLINIC, "second.md": SECOND})


def sections(hits: list[Hit]) -> list[str]:
    return [hit.section_id for hit in hits]


def nth_in_folded(text: str, term: str, occurrence: int) -> int:
    """Where a viewer finds the match: the n-th non-overlapping ``fold(term)`` in ``fold(text)``."""
    folded, needle = fold(text), fold(term)
    at, start = -1, 0
    for _ in range(occurrence + 1):
        at = folded.find(needle, start)
        assert at >= 0
        start = at + len(needle)
    return at


# --- folding and query parsing -------------------------------------------------------------------


def test_fold_ignores_case_and_accents() -> None:
    assert fold("Café") == fold("CAFE") == fold("Cafe\u0301") == "cafe"
    assert fold("Straße") == "strasse"
    assert fold("ﬁne") == "fine"
    assert fold("İstanbul") == "istanbul"
    for a, b in [("Zürich—", "naïve…"), ("ÉCOLE", " élève"), ("x", "\u0301y")]:
        assert fold(a + b) == fold(a) + fold(b)


def test_words_of_splits_on_punctuation_and_keeps_accented_words() -> None:
    assert [w for _, _, w in words_of("NMDA-receptor, café_au Cafe\u0301!")] == [
        "nmda",
        "receptor",
        "cafe",
        "au",
        "cafe",
    ]


def test_parse_query_terms_phrases_and_caps() -> None:
    assert parse_query('keta "nasal spray" NMDA-rec') == Query(
        ("keta",), (("nasal", "spray"), ("nmda", "rec"))
    )
    assert parse_query('unclosed "quote runs on') == Query(
        ("unclosed",), (("quote", "runs", "on"),)
    )
    assert parse_query("dup DUP dúp").terms == ("dup",)
    assert not parse_query("")
    assert not parse_query("   \t\n ")
    assert not parse_query(".*+?[](){}|^$\\")
    many = parse_query(" ".join(f"w{n}" for n in range(100)))
    assert len(many.terms) == search_module.MAX_TERMS
    long_word = parse_query("x" * 5000)
    assert long_word.terms == ("x" * search_module.MAX_WORD_CHARS,)


# --- matching ------------------------------------------------------------------------------------


def test_accents_and_case_are_ignored_both_ways(index: SearchIndex) -> None:
    assert "overview" in sections(index.search("cafe"))
    assert "résumé" in sections(index.search("cafe")), "decomposed é in the text"
    assert "résumé" in sections(index.search("RÉSUMÉ"))
    assert "résumé" in sections(index.search("different case"))
    assert index.search("STRASSE") == [], "FTS5 does not fold ß to ss"
    assert "résumé" in sections(index.search("straße"))


def test_all_words_must_match_in_any_order(index: SearchIndex) -> None:
    hits = index.search("spray esketamine")
    assert sections(hits) == ["nasal-spray"]
    assert sections(index.search("esketamine spray")) == ["nasal-spray"]
    assert index.search("esketamine zebra") == []


def test_phrase_needs_consecutive_words(index: SearchIndex) -> None:
    assert sections(index.search('"nasal spray"')) == ["nasal-spray"]
    hit = index.search('"nasal spray"')[0]
    assert (hit.term, hit.where, hit.occurrence) == ("Nasal spray", "title", 0), "the title first"
    assert index.search('"spray nasal"') == []
    assert index.search('"words alpha"') == [], "not in this order"
    # A phrase does not run from one block into the next (paragraph, then heading).
    assert index.search('"beta one dosing"') == []


def test_words_are_prefixes(index: SearchIndex) -> None:
    hits = index.search("keta")
    assert "overview" in sections(hits)
    assert {fold(hit.term) for hit in hits} <= {"ketamine"}
    assert "nasal-spray" in sections(index.search("esket"))
    # In a phrase the last word is a prefix; the others are whole words.
    assert sections(index.search('"nasal spr"')) == ["nasal-spray"]
    assert index.search('"nas spray"') == []


def test_hyphenated_query_is_a_phrase(index: SearchIndex) -> None:
    hit = index.search("ketamine-dose")[0]
    assert hit.term == "ketamine_dose"


def test_markdown_syntax_is_not_text(index: SearchIndex) -> None:
    hit = next(h for h in index.search("NMDA") if h.section_id == "overview")
    assert hit.term == "NMDA"
    assert "**" not in hit.snippet
    (start, end), *_ = hit.highlights
    assert hit.snippet[start:end] == "NMDA"
    text = index.section_text("clinic", "overview")
    assert "NMDA receptor antagonist" in text
    assert "**" not in text and "](" not in text


def test_link_targets_are_not_hits_but_link_text_is(index: SearchIndex) -> None:
    assert index.search("secretword") == []
    assert index.search("page") == []
    assert sections(index.search('"dosing guide"')) == ["overview"]
    assert "https://example.org/secretword" not in index.section_text("clinic", "overview")


def test_code_fence_markers_and_info_strings_are_not_hits(index: SearchIndex) -> None:
    assert index.search("python") == []
    assert index.search("infoword") == []
    text = index.section_text("clinic", "nasal-spray")
    assert "```" not in text
    assert "dose = ketamine_dose(weight)" in text, "the code itself is searchable"
    assert "nasal-spray" in sections(index.search("weight"))


def test_tables_and_headings_are_searchable(index: SearchIndex) -> None:
    assert sections(index.search("intravenous")) == ["nasal-spray"]
    assert "nasal-spray" in sections(index.search("schedule"))


def test_article_title_words_count_toward_a_match(index: SearchIndex) -> None:
    # "clinic" is in the article title; "esketamine" only in one section's text.
    assert sections(index.search("clinic esketamine")) == ["nasal-spray"]
    # A word found only in an article's title finds the article's first section.
    hits = index.search("guide")
    assert hits[0].section_id == "overview"


def test_no_match(index: SearchIndex) -> None:
    assert index.search("zzzzqx") == []
    assert index.occurrences("zzzzqx") == []


# --- ranking -------------------------------------------------------------------------------------


def test_title_above_heading_above_body(index: SearchIndex) -> None:
    hits = index.search("dosing")
    assert [(hit.section_id, hit.where) for hit in hits[:2]] == [
        ("dosing", "title"),
        ("nasal-spray", "heading"),
    ]
    assert hits[1].anchor == "dosing-schedule"
    assert hits[1].term == "Dosing"
    assert hits == sorted(hits, key=lambda hit: -hit.score)


def test_closer_words_rank_higher(tmp_path: Path) -> None:
    far = "## Far\n\nAlpha " + "filler " * 30 + "beta.\n"
    near = "## Near\n\nSome words, then alpha beta together.\n"
    index = make_index(tmp_path, {"a.md": far + "\n" + near})
    hits = index.search("beta alpha")
    assert sections(hits) == ["near", "far"]
    assert hits[0].score > hits[1].score
    assert hits[0].term == "alpha"


def test_one_hit_per_section_and_limit(index: SearchIndex) -> None:
    hits = index.search("ketamine")
    assert len(sections(hits)) == len(set(sections(hits)))
    assert len(index.search("ketamine", limit=1)) == 1
    assert index.search("ketamine", limit=0) == []


# --- hits ----------------------------------------------------------------------------------------


def test_hit_locates_its_match(index: SearchIndex) -> None:
    for query in ("ketamine", "cafe", '"nasal spray"', "dose", "esketamine spray"):
        for hit in index.search(query) + index.occurrences(query):
            if hit.occurrence < 0:
                continue
            text = index.section_text(hit.article_id, hit.section_id)
            start = round(hit.fraction * len(text))
            assert text[start : start + len(hit.term)] == hit.term, (query, hit)
            assert nth_in_folded(text, hit.term, hit.occurrence) == len(fold(text[:start]))


def test_snippet_is_short_one_line_and_highlights_the_match(tmp_path: Path) -> None:
    body = " ".join(f"word{n}" for n in range(200))
    index = make_index(tmp_path, {"a.md": f"## Long\n\n{body} needle {body}\n"})
    (hit,) = index.search("needle")
    assert hit.snippet.startswith(ELLIPSIS) and hit.snippet.endswith(ELLIPSIS)
    assert "\n" not in hit.snippet
    assert len(hit.snippet) <= search_module.SNIPPET_WIDTH + 2
    assert [hit.snippet[a:b] for a, b in hit.highlights] == ["needle"]


def test_snippet_collapses_block_breaks(index: SearchIndex) -> None:
    hit = index.search("intravenous")[0]
    assert "\n" not in hit.snippet
    assert "  " not in hit.snippet
    assert [hit.snippet[a:b] for a, b in hit.highlights] == ["intravenous"]


def test_title_hit_highlights_the_section_title(index: SearchIndex) -> None:
    hit = index.search("resume")[0]
    assert hit.where == "title"
    assert [hit.section_title[a:b] for a, b in hit.title_highlights] == ["Résumé"]
    assert (hit.term, hit.occurrence, hit.fraction) == ("Résumé", 0, 0.0), "the title line"
    assert "Résumé" not in hit.snippet, "the snippet is the text under the title"


def test_the_title_line_counts_as_the_reader_shows_it(index: SearchIndex) -> None:
    text = index.section_text("clinic", "dosing")
    assert text.startswith("Dosing\n")
    (hit,) = [h for h in index.search("dosing") if h.section_id == "dosing"]
    assert (hit.where, hit.term, hit.occurrence) == ("title", "Dosing", 0), "the title first"
    assert hit.snippet == "How dosing works, in short."
    assert [hit.snippet[a:b] for a, b in hit.highlights] == ["dosing"]
    steps = [(h.where, h.term, h.occurrence) for h in index.occurrences("dosing")]
    dosing = [h for h in index.occurrences("dosing") if h.section_id == "dosing"]
    assert [(h.where, h.term, h.occurrence) for h in dosing] == [
        ("title", "Dosing", 0),
        ("body", "dosing", 1),
    ]
    assert ("heading", "Dosing", 0) in steps


def test_anchor_is_the_subsection_above(index: SearchIndex) -> None:
    before = next(h for h in index.occurrences("esketamine") if h.section_id == "nasal-spray")
    assert before.anchor == ""
    inside = [h for h in index.occurrences("clinic") if h.section_id == "nasal-spray"]
    assert [h.anchor for h in inside] == ["dosing-schedule"]


def test_section_text_unknown_section(index: SearchIndex) -> None:
    with pytest.raises(KeyError):
        index.section_text("clinic", "no-such-section")


# --- occurrences ---------------------------------------------------------------------------------


def test_occurrences_are_in_reading_order(index: SearchIndex) -> None:
    hits = index.occurrences("ketamine")
    order = [(h.article_id, h.section_id) for h in hits]
    assert order[0] == ("clinic", "overview")
    assert order[-2:] == [("second", "later"), ("second", "later")]
    articles = [h.article_id for h in hits]
    assert articles == sorted(articles, key=["clinic", "second"].index)
    clinic_sections = ["overview", "nasal-spray", "dosing", "résumé"]
    in_clinic = [clinic_sections.index(h.section_id) for h in hits if h.article_id == "clinic"]
    assert in_clinic == sorted(in_clinic)
    for a, b in itertools.pairwise(hits):
        if (a.article_id, a.section_id) == (b.article_id, b.section_id):
            assert a.fraction < b.fraction
    # "Esketamine" comes first and holds "ketamine" too, so a viewer's count includes it.
    spray = [h for h in hits if h.section_id == "nasal-spray"]
    assert [(h.term, h.occurrence) for h in spray] == [("ketamine", 1), ("ketamine", 2)]
    assert all(h.score == 0.0 for h in hits)


def test_occurrences_of_every_word_and_phrase(index: SearchIndex) -> None:
    # Only the subsection holds every word and the phrase: its matches are listed.
    hits = index.occurrences('alpha beta "side by"')
    assert [(h.section_id, h.anchor, h.term) for h in hits] == [
        ("nasal-spray", "dosing-schedule", "Alpha"),
        ("nasal-spray", "dosing-schedule", "beta"),
        ("nasal-spray", "dosing-schedule", "side by"),
    ]
    both = index.occurrences("alpha beta")
    assert [(h.anchor, h.term) for h in both] == [
        ("", "Alpha"),
        ("", "beta"),
        ("dosing-schedule", "Alpha"),
        ("dosing-schedule", "beta"),
    ]


def test_occurrences_limit_and_copies(index: SearchIndex) -> None:
    assert len(index.occurrences("ketamine", limit=2)) == 2
    first = index.occurrences("ketamine")
    first.clear()
    assert index.occurrences("ketamine"), "the remembered answer is not the caller's list"


# --- bad input and speed -------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["", "   ", "\n\t", '""', '"'])
def test_empty_query_returns_nothing(index: SearchIndex, query: str) -> None:
    assert index.search(query) == []
    assert index.occurrences(query) == []


@pytest.mark.parametrize(
    "query",
    [
        "a" * 5000,
        "ketamine " * 1000,
        "(a+)+$" * 800,
        ".*" * 2500,
        "[" * 5000,
        '"' * 5000,
        "\\" * 5000,
        " ".join(f"k{n}" for n in range(2000)),
        "\x00\x1b[31m ketamine \u202e",
    ],
)
def test_huge_and_odd_queries_are_text_and_quick(index: SearchIndex, query: str) -> None:
    start = time.perf_counter()
    index.search(query)
    index.occurrences(query)
    assert time.perf_counter() - start < 1.0


def test_one_letter_prefix_finds_every_word_it_starts(tmp_path: Path) -> None:
    words = " ".join(f"z{n:03d}" for n in range(50))
    index = make_index(tmp_path, {"a.md": f"## One\n\n{words} z\n\n## Two\n\nz000 z000 z000\n"})
    hits = index.occurrences("z")
    assert len({h.term for h in hits}) == 51
    assert "z" in {h.term for h in hits}, "the typed word itself counts"
    one, _ = index.search("z")
    assert one.section_id == "one" and one.term == "z", "a whole word before a prefix"


def test_empty_library_parts(tmp_path: Path) -> None:
    index = make_index(tmp_path, {"a.md": "Just a line.\n", "b.md": "## Empty\n\n"})
    assert len(index) == 2
    assert sections(index.search("line")) == ["overview"]
    assert index.section_text("b", "empty") == "Empty"


# --- threads and imports -------------------------------------------------------------------------


def test_build_off_thread_and_query_from_many(tmp_path: Path) -> None:
    library = load_library(_write(tmp_path, {"clinic.md": CLINIC, "second.md": SECOND}))
    built: list[SearchIndex] = []
    worker = threading.Thread(target=lambda: built.append(SearchIndex.build(library)))
    worker.start()
    worker.join()
    (index,) = built
    expected = index.search("ketamine")
    results: list[list[Hit]] = []
    threads = [
        threading.Thread(target=lambda: results.append(index.search("ketamine"))) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [expected] * 4


def _write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_search_never_imports_textual() -> None:
    code = (
        "import sys, kreader.search, kreader.commands.search;"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'textual'], 'textual imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
