"""The reader (and, with ``--kiosk`` or ``kiosk = true``, the kiosk): the command run when none is named.

Everything is checked before anything is drawn: a bad theme, article or section is one line and exit status 2.
"""

from __future__ import annotations

import contextlib
import os
import sys

from kreader.commands.context import Context
from kreader.content import Library, LibraryError, load_library
from kreader.errors import CliError


def run(ctx: Context) -> int:
    """Open the reader (or the kiosk); returns the exit status."""
    args = ctx.args
    settings = ctx.settings
    kiosk = bool(args.kiosk or settings.kiosk)
    if kiosk:
        from kreader.kiosk import sanitize_environment

        sanitize_environment(os.environ, allow_web_driver=True)
    try:
        library = ctx.library()
    except LibraryError as exc:
        if not kiosk:
            raise
        # A kiosk never exits over content: it shows a calm notice and keeps checking the folder.
        library = Library(ctx.content_dir, ())
        load_error = str(exc)
    else:
        load_error = ""
    if args.theme:
        from kreader.themes import known_theme, theme_names

        if not known_theme(args.theme):
            raise CliError(
                f"unknown theme {args.theme!r}; choose one of: {', '.join(theme_names())}"
            )

    from kreader.factory import make_app
    from kreader.screens.reader import StartAt

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
        from kreader.store import open_store

        store = open_store(ctx.data_dir)
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
            config_path=ctx.config_path,
        )
    try:
        app.run()
    finally:
        if not kiosk:
            app.store.close()
    if app.return_code:
        print("kreader: stopped by an internal error (see above)", file=sys.stderr)
    return app.return_code or 0
