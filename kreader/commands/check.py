"""``kreader check [DIR]``: list a library's problems as ``file:line: level: message``.

Exit status: 0 clean (warnings allowed), 1 errors (or warnings with ``--strict``), 2 the folder
cannot be used at all.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from kreader.check import check_report
from kreader.commands.context import Context
from kreader.content import LibraryError
from kreader.errors import CliError
from kreader.safetext import clean


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "dir",
        nargs="?",
        type=Path,
        metavar="DIR",
        help="library folder to check (default: --content, else the bundled library)",
    )
    parser.add_argument(
        "--strict", action="store_true", help="fail (exit status 1) on warnings too"
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the problems as a JSON list of {file, line, level, message}",
    )
    parser.epilog = (
        "Exit status: 0 no errors, 1 errors (or warnings with --strict), "
        "2 the folder cannot be read."
    )


def run(ctx: Context) -> int:
    args = ctx.args
    root: Path = args.dir or ctx.content_dir
    try:
        report = check_report(root)
    except LibraryError as exc:
        raise CliError(str(exc)) from None
    if args.json:
        json.dump([problem.to_dict() for problem in report.problems], sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for problem in report.problems:
            print(clean(str(problem)))  # file names and titles may hold escape sequences
    sys.stdout.flush()
    print(report.summary(), file=sys.stderr)
    return report.exit_status(strict=args.strict)
