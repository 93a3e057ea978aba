"""The second process of a first-time index build: ``python -m kreader.indexer`` indexes some of a
library's files into its search cache while the reader's own thread indexes the rest.

Turning Markdown into the text to index is Python, held by the GIL: in one process a 12 MB library
takes well over a second on one core while the others idle. `kreader.search.SearchIndex.open` starts
this helper when enough text changed and the machine has a second core; it reads on standard input a
JSON object ``{"cache": path, "root": folder, "files": [[path, article id, position, hash], ...]}``
and writes those files' rows under the cache's write lock, exactly as the reader would.

It writes nothing anywhere else, prints nothing (the reader's terminal is not its to touch), skips a
file that reads differently from what the reader saw (the reader then indexes it itself), and stops
between files once the reader that started it has gone. Any failure leaves the work to the reader.

This module never imports Textual.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from kreader.content import Article, read_article
from kreader.search import SearchIndex, file_entry


def main(stdin: bytes) -> int:
    """Index the files named in ``stdin``; the exit status says only whether it got to the end."""
    request = json.loads(stdin)
    cache = Path(request["cache"])
    root = Path(request["root"])
    parent = os.getppid()
    files = []
    for path, article_id, position, hash_ in request["files"]:
        if os.getppid() != parent:
            return 3  # the reader has gone: its next start finds the files it did not index
        article = read_article(Path(path), article_id, root)
        if not isinstance(article, Article):
            continue
        entry = file_entry(article, position)
        if entry.hash == hash_:  # the file the reader read, not a later edit
            files.append(entry)
    SearchIndex.write_files(cache, files, lambda: os.getppid() == parent)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.stdin.buffer.read()))
