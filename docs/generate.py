"""Write kreader's man page and shell completions from its argument parser, so they never disagree with it.

    python docs/generate.py          write docs/man/kreader.1 and docs/completions/{kreader.bash,_kreader}
    python docs/generate.py --check  exit 1 if a written file is out of date (the test suite runs this)

The man page comes from argparse-manpage, the completions from shtab (both in the ``test`` extra); the wheel
installs them under share/ (see pyproject.toml), where ``man kreader`` and bash/zsh find them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
MAN = HERE / "man" / "kreader.1"
BASH = HERE / "completions" / "kreader.bash"
ZSH = HERE / "completions" / "_kreader"
DATE = "2026-11-30"
"""The man page's date: fixed, so that generating it again changes nothing until the parser does."""

KEYS = r"""
.TP
.B n, ]
next section (into the next article at the end); during a search, the next match
.TP
.B p, [
previous section
.TP
.B N
during a search, the previous match
.TP
.B escape
end the search
.TP
.B space, ctrl+f, PgDn
a page forward
.TP
.B b, shift+space, ctrl+b, PgUp
a page back
.TP
.B d, u
half a page down or up
.TP
.B j, k, arrows
scroll a line
.TP
.B g, G, Home, End
top or end of the section
.TP
.B c
show or hide the contents
.TP
.B /
search the library as you type
.TP
.B m
bookmark (mark) this place, again to remove it
.TP
.B B, '
the bookmarks: enter opens, d removes, u undoes, e edits the note
.TP
.B backspace
back to where you were before the last jump (link, contents, search result, bookmark)
.TP
.B t
next theme: dark, light, high contrast
.TP
.B +, -, =
wider or narrower text, or full width
.TP
.B ?, h, F1
help
.TP
.B q, ctrl+q
quit
"""

FILES = r"""
.TP
.I ~/.config/kreader/kreader.toml
settings (or \fB--config\fR, or \fBKREADER_CONFIG\fR): theme, width, content, [kiosk]
.TP
.I ~/.local/share/kreader/
bookmarks and reading positions (or \fB--data-dir\fR, or \fBKREADER_DATA_DIR\fR)
.TP
.I ~/.cache/kreader/
the search index, one file per library (or \fBKREADER_CACHE_DIR\fR)
"""

EXIT = r"""
0: done. 1: \fBsearch\fR found nothing, or \fBcheck\fR found errors. 2: a bad option, settings file or
library folder (one line on standard error names it).
"""


def parser() -> argparse.ArgumentParser:
    """The full parser, every subcommand with its options."""
    sys.path.insert(0, str(HERE.parent))
    from kreader.cli import build_parser

    built = build_parser(None)
    built._manpage = [  # type: ignore[attr-defined]
        {"heading": "keys", "content": KEYS.strip()},
        {"heading": "files", "content": FILES.strip()},
        {"heading": "exit status", "content": EXIT.strip()},
    ]
    return built


def outputs() -> dict[Path, str]:
    """Each generated file and what it should hold."""
    import shtab
    from build_manpages.manpage import Manpage

    page = Manpage(
        parser(),
        _data={
            "date": DATE,
            "project_name": "kreader",
            "description": "read articles in the terminal",
        },
    )
    page.manual = "kreader manual"
    man = str(page)
    return {
        MAN: man,
        BASH: shtab.complete(parser(), shell="bash"),
        ZSH: shtab.complete(parser(), shell="zsh"),
    }


def main(argv: list[str]) -> int:
    stale = []
    for path, text in outputs().items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        if "--check" in argv:
            stale.append(path.relative_to(HERE.parent))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(HERE.parent)}")
    if stale:
        print(f"out of date: {', '.join(map(str, stale))} (run: python docs/generate.py)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
