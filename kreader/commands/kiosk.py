"""``kreader kiosk``: kiosk administration.

``kreader kiosk set-pin`` asks for the staff PIN twice (hidden, from the terminal; or the first two
lines of standard input when it is not a terminal, for scripts) and stores its hash in the
``[kiosk]`` table of the settings file, keeping the rest of the file. ``kreader kiosk
check-config`` checks the settings file and prints the settings in effect.
"""

from __future__ import annotations

import argparse
import json
import os
import stat
import sys
from pathlib import Path

from kreader.commands.context import Context
from kreader.errors import CliError
from kreader.safetext import clean
from kreader.settings import Settings, SettingsError, load_settings


def _location_options() -> argparse.ArgumentParser:
    """The common options again, for the actions.

    With no defaults: a default here would override ``kreader kiosk --config FILE set-pin``.
    """
    parent = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    parent.add_argument(
        "--content", metavar="DIR", type=Path, help="library folder (default: bundled)"
    )
    parent.add_argument("--data-dir", metavar="DIR", type=Path, help="bookmark database folder")
    parent.add_argument(
        "--config", metavar="FILE", type=Path, help="settings file (or KREADER_CONFIG)"
    )
    return parent


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="kiosk_command", metavar="ACTION", required=True)
    actions.add_parser(
        "set-pin",
        help="set the staff PIN that unlocks the kiosk (F12)",
        description=(
            "Ask for a new staff PIN (4 to 12 digits) twice and save its hash in the settings "
            "file. When standard input is not a terminal, read the PIN from its first two lines."
        ),
        parents=[_location_options()],
    )
    actions.add_parser(
        "check-config",
        help="check the settings file and print the settings in effect",
        description="Check the settings file and print the settings in effect (not the PIN hash).",
        parents=[_location_options()],
    )


def run(ctx: Context) -> int:
    path = ctx.config_path
    if ctx.args.kiosk_command == "set-pin":
        return set_pin(path)
    return check_config(path, ctx.content_dir)


def _read_pins() -> tuple[str, str]:
    """The new PIN and its confirmation, without echoing them."""
    stdin = sys.stdin
    if stdin is not None and stdin.isatty():
        import getpass

        try:
            first = getpass.getpass("New staff PIN (4 to 12 digits): ")
            second = getpass.getpass("The same PIN again: ")
        except EOFError:
            raise CliError("no PIN given; nothing was saved") from None
        return first.strip(), second.strip()
    if stdin is None:
        raise CliError("no PIN given: standard input is closed; nothing was saved")
    first, second = stdin.readline(), stdin.readline()
    if not first:
        raise CliError("no PIN on standard input (give it twice, one per line); nothing was saved")
    if not second:
        raise CliError("the PIN must be given twice, one per line; nothing was saved")
    return first.strip(), second.strip()


def set_pin(path: Path) -> int:
    from kreader.pin import hash_pin, pin_problem

    try:
        load_settings(path)  # refuse early, before asking, if the file is broken
    except SettingsError as exc:
        raise CliError(f"{exc} (fix it before setting a PIN)") from None
    first, second = _read_pins()
    if first != second:
        raise CliError("the two PINs do not match; nothing was saved")
    problem = pin_problem(first)
    if problem:
        raise CliError(f"{problem}; nothing was saved")

    from kreader.settings import save_kiosk_pin

    try:
        save_kiosk_pin(path, hash_pin(first))
    except SettingsError as exc:
        raise CliError(str(exc)) from None
    print(f"Staff PIN saved to {path} ([kiosk] admin_pin_hash).")
    print("In the kiosk, press F12 and type it to leave.")
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        mode = 0
    if os.name == "posix" and mode & 0o077:
        print(
            f"kreader: note: {path} can be read by other users, and a short PIN can be guessed "
            f"from its hash; consider: chmod 600 {path}",
            file=sys.stderr,
        )
    return 0


def _show(value: object) -> str:
    """``value`` as TOML would write it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return f"{value:g}" if isinstance(value, float) else str(value)


def check_config(path: Path, content: Path) -> int:
    """Print the settings in effect; exit status 2 if the file is invalid, 1 if it cannot work here.

    Beyond what loading checks, this looks at what only this machine and library can tell: whether the
    featured article exists, and whether a PIN can be checked with the stored hash's costs.
    """
    try:
        settings = load_settings(path)
    except SettingsError as exc:
        raise CliError(str(exc)) from None
    found = path.exists()
    print(clean(f"# {path}" + ("" if found else " (no such file: all defaults)")))
    defaults = {
        "theme": "app default, textual-dark",
        "width": "fill the screen",
        "content": "bundled library",
        "kiosk.featured": "first article",
    }
    rows: list[tuple[str, object]] = [
        ("theme", settings.theme),
        ("width", settings.width),
        ("content", settings.content),
        ("kiosk.enabled", settings.kiosk),
        ("kiosk.idle_seconds", settings.idle_seconds),
        ("kiosk.rotate_seconds", settings.rotate_seconds),
        ("kiosk.featured", settings.featured),
        ("kiosk.theme", settings.kiosk_theme),
    ]
    for name, value in rows:
        print(f"{name} = {_show(value)}" if value is not None else f"# {name}: {defaults[name]}")
    print(f"# kiosk.admin_pin_hash: {'set' if settings.admin_pin_hash else 'not set'}")
    for warning in _warnings(settings):
        print(f"kreader: warning: {clean(warning)}", file=sys.stderr)
    errors = _errors(settings, path, content)
    for error in errors:
        print(f"kreader: {clean(error)}", file=sys.stderr)
    return 1 if errors else 0


def _errors(settings: Settings, path: Path, content: Path) -> list[str]:
    """Settings that load but cannot work: each as ``FILE:LINE: key '...' ...``."""
    from kreader.settings import key_line

    def where(key: tuple[str, ...]) -> str:
        line = key_line(path, key)
        return f"{path}:{line}" if line is not None else str(path)

    errors: list[str] = []
    if settings.featured is not None:
        from kreader.content import LibraryError, load_library

        try:
            library = load_library(content)
        except LibraryError:
            library = None  # reported as a warning about the folder, or by `kreader check`
        if library is not None and library.article(settings.featured) is None:
            ids = ", ".join(article.id for article in library.articles)
            errors.append(
                f"{where(('kiosk', 'featured'))}: key 'kiosk.featured': no article "
                f"{settings.featured!r} in {content}; articles: {ids}"
            )
    if settings.admin_pin_hash is not None:
        from kreader.pin import pin_hash_cost_problem

        problem = pin_hash_cost_problem(settings.admin_pin_hash)
        if problem:
            errors.append(
                f"{where(('kiosk', 'admin_pin_hash'))}: key 'kiosk.admin_pin_hash' {problem}"
            )
    return errors


def _warnings(settings: Settings) -> list[str]:
    warnings: list[str] = []
    if settings.kiosk and settings.admin_pin_hash is None:
        warnings.append("kiosk mode is on but no staff PIN is set: run 'kreader kiosk set-pin'")
    if settings.content is not None and not Path(settings.content).is_dir():
        warnings.append(f"content folder {settings.content} does not exist")
    return warnings
