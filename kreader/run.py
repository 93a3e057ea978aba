"""Turn command-line arguments into a running reader (or kiosk), checking everything before drawing."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path

from kreader.cli import CliError
from kreader.content import Library, LibraryError, default_content_dir, load_library
from kreader.settings import Settings, SettingsError, default_config_path, load_settings


def resolve_settings(args: argparse.Namespace) -> tuple[Settings, Path]:
    """Load the settings file named by ``--config``, ``KREADER_CONFIG`` or the default place."""
    path = default_config_path(getattr(args, "config", None))
    try:
        return load_settings(path), path
    except SettingsError as exc:
        raise CliError(str(exc)) from None


def resolve_library(args: argparse.Namespace, settings: Settings | None = None) -> Library:
    """Load the library from ``--content``, the settings, or the bundled folder."""
    folder = getattr(args, "content", None)
    if folder is None and settings is not None and settings.content:
        folder = Path(settings.content).expanduser()
    try:
        return load_library(Path(folder) if folder else default_content_dir())
    except LibraryError as exc:
        raise CliError(str(exc)) from None


def run_reader(args: argparse.Namespace) -> int:
    """Open the reader (or, with ``--kiosk`` or ``kiosk = true``, the kiosk); returns the exit status."""
    settings, config_path = resolve_settings(args)
    kiosk = bool(args.kiosk or settings.kiosk)
    if kiosk:
        from kreader.kiosk import sanitize_environment

        sanitize_environment(os.environ, allow_web_driver=True)
    try:
        library = resolve_library(args, settings)
    except CliError as exc:
        if not kiosk:
            raise
        # A kiosk never exits over content: it shows a calm notice and keeps checking the folder.
        from kreader.content import Library

        folder = args.content or (Path(settings.content).expanduser() if settings.content else None)
        library = Library(Path(folder) if folder else default_content_dir(), ())
        load_error = str(exc)
    else:
        load_error = ""
    if args.theme:
        from kreader.themes import known_theme, theme_names

        if not known_theme(args.theme):
            raise CliError(
                f"unknown theme {args.theme!r}; choose one of: {', '.join(theme_names())}"
            )

    from kreader.app import StartAt, make_app

    notices = [f"Skipped {error}" for error in library.errors]
    start = StartAt()
    if args.article:
        if library.article(args.article) is None:
            ids = ", ".join(a.id for a in library.articles)
            raise CliError(f"no article {args.article!r} in {library.root}; articles: {ids}")
        start = StartAt(args.article)
    if args.section:
        candidates = [library.article(args.article)] if args.article else list(library.articles)
        found = next(
            ((a, a.section(args.section)) for a in candidates if a and a.section(args.section)),
            None,
        )
        if found is None:
            valid = ", ".join(s.id for a in candidates if a for s in a.sections)
            raise CliError(f"no section {args.section!r}; valid section ids: {valid}")
        start = StartAt(found[0].id, args.section)

    if kiosk:
        from kreader.kiosk_app import KioskApp, _write_log, run_kiosk
        from kreader.store import MemoryStore

        if load_error:
            _write_log(load_error)

        def build() -> KioskApp:
            nonlocal library
            if (
                library.articles
            ):  # each fresh start reads the content again: it may have been mended
                with contextlib.suppress(LibraryError):
                    library = load_library(library.root)
            kiosk_app = make_app(
                library, MemoryStore(), settings, theme=args.theme, kiosk=True, notices=notices
            )
            assert isinstance(kiosk_app, KioskApp)
            return kiosk_app

        return run_kiosk(build)
    else:
        from kreader.store import default_data_dir, open_store

        store = open_store(default_data_dir(getattr(args, "data_dir", None)))
        if not args.section and not args.article and not args.fresh:
            saved = store.last_position()
            article = library.article(saved.article_id) if saved else None
            if saved and article and article.section(saved.section_id):
                section = article.section(saved.section_id)
                note = f"Resumed where you left off: {section.title if section else ''} (--fresh starts over)"
                start = StartAt(
                    saved.article_id, saved.section_id, saved.anchor, saved.fraction, note
                )
        app = make_app(
            library,
            store,
            settings,
            start=start,
            notices=notices,
            theme=args.theme,
            config_path=config_path,
        )
    try:
        app.run()
    finally:
        if not kiosk:
            app.store.close()
    if app.return_code:
        print("kreader: stopped by an internal error (see above)", file=sys.stderr)
    return app.return_code or 0
