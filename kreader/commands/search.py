"""``kreader search QUERY``: search the library from a shell and print the best matches.

Only the content model and the search index are imported (never Textual), so the command starts fast;
the index is the reader's cache file, so only files changed since it was last used are indexed again.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TextIO

from kreader.commands.context import Context
from kreader.errors import CliError
from kreader.safetext import clean, clean_line
from kreader.search import Hit, SearchIndex, parse_query

DEFAULT_LIMIT = 20
BOLD, PLAIN = "\x1b[1m", "\x1b[0m"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "query",
        nargs="*",
        metavar="QUERY",
        help='words to find (all of them, in any order; prefixes match); "quoted words" are a phrase',
    )
    parser.add_argument("--json", action="store_true", help="print the results as a JSON list")
    parser.add_argument(
        "--limit",
        metavar="N",
        type=int,
        default=DEFAULT_LIMIT,
        help=f"print at most N results (default {DEFAULT_LIMIT})",
    )


def run(ctx: Context) -> int:
    """Print the results; exit status 0 if there are some, 1 if nothing matched."""
    args = ctx.args
    query = " ".join(args.query).strip()
    if not query:
        raise CliError("search: give some words to search for")
    if not parse_query(query):
        raise CliError(f"search: nothing to search for in {query!r} (no letters or digits)")
    if args.limit < 1:
        raise CliError(f"search: --limit must be 1 or more, not {args.limit}")
    # With nothing changed since the cache was last brought up to date, the answer comes from the
    # cache alone: no file is read, and the Markdown parser is not even imported.
    index = SearchIndex.open_unchanged(ctx.content_dir)
    if index is None:
        index = SearchIndex.open(ctx.library())
    for message in index.messages:
        print(f"kreader: {clean_line(message)}", file=sys.stderr)
    hits = index.search(query, limit=args.limit)
    index.close()
    if args.json:
        import json

        json.dump([_as_json(hit) for hit in hits], sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        _print_hits(hits, sys.stdout)
    if not hits:
        print(f"no matches for {clean_line(query)!r}", file=sys.stderr)
        return 1
    return 0


def _as_json(hit: Hit) -> dict[str, object]:
    return {
        key: [list(span) for span in value] if key.endswith("highlights") else value
        for key, value in hit._asdict().items()
    }


def _print_hits(hits: Sequence[Hit], out: TextIO) -> None:
    """``Article › Section  (article-id#section-id)`` and the indented snippet, for each hit.

    Matches are marked with ``**`` (or bold, on a terminal that allows colour).
    """
    color = out.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
    start, end = (BOLD, PLAIN) if color else ("**", "**")
    for number, hit in enumerate(hits):
        if number:
            out.write("\n")
        title = mark(hit.section_title, hit.title_highlights, start, end)
        if hit.subsection_title:
            sub = mark(hit.subsection_title, hit.subsection_highlights, start, end)
            title = f"{title} › {sub}"
        place = clean_line(f"{hit.article_id}#{hit.section_id}")
        out.write(f"{clean_line(hit.article_title)} › {title}  ({place})\n")
        if hit.snippet:
            out.write(f"    {mark(hit.snippet, hit.highlights, start, end)}\n")


def mark(text: str, spans: Sequence[tuple[int, int]], start: str, end: str) -> str:
    """``text`` with each (start, end) span wrapped in ``start`` ... ``end``.

    The pieces of ``text`` are cleaned of control characters one by one (a title can come from a file name),
    so the spans still fall where they should and only the markers given here reach the terminal.
    """
    parts: list[str] = []
    at = 0
    for a, b in sorted(spans):
        if a < at or b <= a:
            continue
        parts += [clean(text[at:a]), start, clean(text[a:b]), end]
        at = b
    parts.append(clean(text[at:]))
    return "".join(parts)
