"""``kreader print [ARTICLE[#SECTION]]``: an article or one section as text on stdout.

Styled with Rich on a terminal; plain text (no colour, no box drawing) with ``--plain`` or whenever
stdout is not a terminal, so ``kreader print > file.txt`` and ``| lpr`` get clean text. ``--rich``
forces the styled layout into a pipe (for ``less -R``).
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import sys

from kreader.commands.context import Context, add_language_option
from kreader.errors import CliError
from kreader.printing import (
    MAX_WIDTH,
    MIN_WIDTH,
    UnknownTarget,
    clamp_width,
    find_target,
    plain_text,
    print_rich,
)
from kreader.safetext import clean


def _width(value: str) -> int:
    try:
        width = int(value)
    except ValueError:
        width = 0
    if not MIN_WIDTH <= width <= MAX_WIDTH:
        raise argparse.ArgumentTypeError(f"must be a number from {MIN_WIDTH} to {MAX_WIDTH}")
    return width


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "target",
        nargs="?",
        metavar="ARTICLE[#SECTION]",
        help="article id (its file name without .md), optionally with #section-id "
        "(default: the first article; '#section-id' alone searches every article)",
    )
    parser.add_argument(
        "--width",
        type=_width,
        metavar="N",
        help=f"line width, {MIN_WIDTH} to {MAX_WIDTH} (default: the terminal's width)",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--plain",
        action="store_true",
        help="plain text: no colour, no box drawing (the default when stdout is not a terminal)",
    )
    mode.add_argument(
        "--rich", action="store_true", help="styled text even when stdout is not a terminal"
    )
    add_language_option(parser, argparse.SUPPRESS)  # given before or after the command
    parser.add_argument(
        "--no-pager",
        action="store_true",
        help="write straight to the terminal instead of through $PAGER (default: less -R)",
    )


def run(ctx: Context) -> int:
    args = ctx.args
    library = ctx.library()
    language = ctx.language
    if language != "en":
        # A Spanish article prints in Spanish: its edition, with the headings kreader adds in Spanish.
        from kreader.editions import load_editions
        from kreader.i18n import set_language

        set_language(language)
        library = load_editions(library).library(language)
    try:
        article, section = find_target(library, args.target)
    except UnknownTarget as exc:
        raise CliError(str(exc)) from None

    width = args.width or clamp_width(shutil.get_terminal_size().columns)
    if isinstance(sys.stdout, io.TextIOWrapper):
        # A printer's or a pipe's encoding may lack a character: show '?' rather than fail.
        sys.stdout.reconfigure(errors="replace")
    terminal = sys.stdout.isatty()
    if args.plain or (not args.rich and not terminal):
        text = clean(plain_text(article, section, width))
    else:
        from rich.console import Console  # only when styling: it is the slow part of Rich to import

        buffer = io.StringIO()
        console = Console(
            file=buffer,
            width=width,
            force_terminal=True,
            highlight=False,
        )
        print_rich(article, section, console)
        text = buffer.getvalue()
    if terminal and not args.no_pager and page(text):
        return 0
    sys.stdout.write(text)
    sys.stdout.flush()
    return 0


def page(text: str) -> bool:
    """Show ``text`` through the reader's pager, as git and man do; False if there is none to run.

    ``$PAGER`` (default ``less -R``, which keeps the colours; ``LESS=FRX`` when unset, so a short text is
    printed as it is and the colours stay); an empty ``$PAGER`` or ``cat`` means no pager.
    """
    import shlex
    import subprocess

    command = os.environ.get("PAGER", "less -R")
    try:
        argv = shlex.split(command)
    except ValueError:
        return False
    if not argv or argv[0] == "cat":
        return False
    env = dict(os.environ)
    env.setdefault("LESS", "FRX")
    try:
        pager = subprocess.Popen(argv, stdin=subprocess.PIPE, env=env)
    except OSError:
        return False
    assert pager.stdin is not None
    try:
        pager.stdin.write(text.encode("utf-8", errors="replace"))
        pager.stdin.close()
    except BrokenPipeError:  # the reader quit the pager before the end: nothing wrong
        pass
    while True:
        try:
            pager.wait()
            return True
        except KeyboardInterrupt:  # ctrl+c belongs to the pager (less stays open), as in git
            continue
