"""`make_app` builds the reader or the kiosk without running it; the command line and every test use it."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

from kreader.app import KReaderApp
from kreader.content import Library
from kreader.i18n import SOURCE_LANGUAGE
from kreader.kiosk_app import KioskApp
from kreader.screens.reader import StartAt
from kreader.settings import Settings
from kreader.store import Store


def make_app(
    library: Library,
    store: Store,
    settings: Settings | None = None,
    *,
    start: StartAt | None = None,
    notices: Sequence[str] = (),
    theme: str | None = None,
    config_path: Path | None = None,
    kiosk: bool = False,
    clock: Callable[[], float] = time.monotonic,
    language: str = SOURCE_LANGUAGE,
) -> KReaderApp:
    """Build the reader (or the kiosk) without running it, in ``language`` (English unless asked: the
    command line resolves ``--lang``, the settings and the environment)."""
    settings = settings or Settings()
    if kiosk:
        return KioskApp(
            library, store, settings, notices=notices, theme=theme, clock=clock, language=language
        )
    return KReaderApp(
        library,
        store,
        settings,
        start=start,
        notices=notices,
        theme=theme,
        config_path=config_path,
        clock=clock,
        language=language,
    )
