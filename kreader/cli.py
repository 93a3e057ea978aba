"""The ``kreader`` command line: the reader by default, and subcommands for scripts and staff.

Heavy modules (Textual, the app) are imported only by the commands that need them, so ``kreader search`` or
``kreader check`` start quickly and a bad argument is reported before anything is drawn.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from kreader import __version__
from kreader.errors import CliError, UserError
from kreader.safetext import clean

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

__all__ = ["CliError", "build_parser", "main"]

READER = "kreader.commands.read"
"""The command run when none is named."""

SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "bookmarks": (
        "kreader.commands.bookmarks",
        "list, add, remove, export, import or clear bookmarks",
    ),
    "search": ("kreader.commands.search", "search the library and print the results"),
    "check": ("kreader.commands.check", "check a library for problems before readers see them"),
    "print": ("kreader.commands.printing", "print an article or a section as text"),
    "kiosk": ("kreader.commands.kiosk", "kiosk administration (set-pin, check-config)"),
    "serve": ("kreader.commands.serve", "serve the reader to web browsers"),
}


class Parser(argparse.ArgumentParser):
    """argparse's parser, whose messages are cleaned: an error echoes the arguments it did not understand,
    and an argument can hold an escape sequence that would otherwise reach the terminal."""

    def _print_message(self, message: str, file: SupportsWrite[str] | None = None) -> None:
        super()._print_message(clean(message), file)


def common_options(default: object = None) -> Parser:
    """Options every command understands: where the content, the data and the settings are.

    Subcommands get ``default=SUPPRESS`` so an option given before the subcommand is not reset by it.
    """
    parent = Parser(add_help=False)
    parent.add_argument(
        "--content",
        metavar="DIR",
        type=Path,
        default=default,
        help="library folder (default: bundled)",
    )
    parent.add_argument(
        "--data-dir",
        metavar="DIR",
        type=Path,
        default=default,
        help="bookmark database folder (or KREADER_DATA_DIR)",
    )
    parent.add_argument(
        "--config",
        metavar="FILE",
        type=Path,
        default=default,
        help="settings file (or KREADER_CONFIG)",
    )
    return parent


VALUE_OPTIONS = frozenset(
    {"--content", "--data-dir", "--config", "--section", "--article", "--theme", "--lang"}
)
"""The reader's options that take a value (the value is not the PATH)."""

USAGE = """kreader [options] [FILE.md | DIR | -]
       kreader COMMAND [options] ..."""


def split_path(argv: Sequence[str]) -> tuple[list[str], str | None]:
    """Take the reader's PATH (a Markdown file, a folder, or ``-`` for standard input) out of ``argv``.

    argparse cannot hold an optional positional beside subcommands (``kreader search x`` would read
    ``search`` as the path), so the first word that is neither an option, an option's value nor a command
    is the path. Everything after a command is that command's.
    """
    rest = list(argv)
    index = 0
    while index < len(rest):
        arg = rest[index]
        if arg == "--":
            if index + 1 < len(rest):
                return rest[:index] + rest[index + 2 :], rest[index + 1]
            return rest[:index], None
        if arg in SUBCOMMANDS:
            return rest, None
        if arg.startswith("-") and arg != "-":
            index += 2 if arg in VALUE_OPTIONS else 1
            continue
        return rest[:index] + rest[index + 1 :], arg
    return rest, None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The top-level parser: reader options, plus one subparser per subcommand.

    Only the subcommand named in ``argv`` (all of them when ``argv`` is None) has its module imported and its
    options added: opening the reader should not pay for importing every subcommand.
    """
    wanted = set(SUBCOMMANDS) if argv is None else {arg for arg in argv if arg in SUBCOMMANDS}
    parent = common_options()
    parser = Parser(
        prog="kreader",
        usage=USAGE,
        description=(
            "Read articles in the terminal. With no command, opens the reader: on FILE.md, on the "
            "Markdown files of DIR, on standard input with - (or a pipe), else on the library "
            "folder (--content, the settings' content, or the bundled article)."
        ),
        epilog="Run 'kreader COMMAND --help' for a command's options; 'man kreader' for the keys.",
        parents=[parent],
    )
    parser.add_argument("--version", action="version", version=f"kreader {__version__}")
    parser.add_argument(
        "--section", metavar="ID", help="open this section (see the contents for ids)"
    )
    parser.add_argument(
        "--article", metavar="ID", help="open this article (its file name without .md)"
    )
    parser.add_argument(
        "--theme", metavar="NAME", help="colour theme (a Textual theme or kreader-contrast)"
    )
    parser.add_argument(
        "--fresh", action="store_true", help="start at the beginning, not where you left off"
    )
    parser.add_argument("--kiosk", action="store_true", help="run as a locked waiting-room kiosk")
    # Set by `kreader serve` on each browser's session (see kreader.commands.serve.session_command): its
    # bookmarks, reading position and preferences live in memory and nothing is written to the host's files.
    parser.add_argument("--web-session", action="store_true", help=argparse.SUPPRESS)
    from kreader.commands.context import add_language_option

    add_language_option(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub_parent = common_options(argparse.SUPPRESS)
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        sub = commands.add_parser(
            name,
            prog=f"kreader {name}",
            help=help_text,
            description=help_text,
            parents=[sub_parent],
        )
        if name in wanted:
            importlib.import_module(module_name).add_arguments(sub)
        sub.set_defaults(module=module_name)
    return parser


def _piped(stream: object) -> bool:
    """Whether standard input is a pipe or a file (not a terminal, not closed, not /dev/null)."""
    import stat

    try:
        mode = os.fstat(stream.fileno()).st_mode  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISREG(mode)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``kreader`` script; returns the exit status."""
    if argv is None:
        argv = sys.argv[1:]
    argv, path = split_path(argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    args.path = path
    if path is None and not args.command and sys.stdout.isatty() and _piped(sys.stdin):
        args.path = "-"  # `curl … | kreader` on a terminal reads what is piped in, as less does
    if args.path is not None and args.content is not None:
        parser.error("give a file or folder to read, or --content, not both")
    del parser  # every subcommand's options and help: not worth keeping while the reader runs
    try:
        from kreader.commands.context import Context

        module = importlib.import_module(args.module if args.command else READER)
        return int(module.run(Context(args)))
    except UserError as exc:  # a settings file, a library folder or an option the user can fix
        # The message may name files, paths, ids or words given by the user: print it as plain text.
        print(f"kreader: {clean(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # Output piped into `head` and the like: not an error worth a traceback.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
