"""What every command works on, resolved once: the settings, the library folder and the data folder.

The order is the same for every command: ``--config`` > ``KREADER_CONFIG`` > the platform's config folder for
the settings; ``--content`` > the settings' ``content =`` > the bundled library for the content; ``--data-dir``
> ``KREADER_DATA_DIR`` > the platform's data folder for bookmarks. Nothing is read until a command asks, so
``kreader --version`` and a mistyped option stay instant; what was read is kept.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kreader.settings import Settings, default_config_path, load_settings

if TYPE_CHECKING:
    from kreader.content import Library


def add_language_option(parser: argparse.ArgumentParser, default: object = None) -> None:
    """``--lang``: the language of the articles and the interface (the reader, the kiosk, print, serve)."""
    from kreader.i18n import LANGUAGES

    parser.add_argument(
        "--lang",
        choices=LANGUAGES,
        default=default,
        help="language of the articles and the interface (default: the settings' language, "
        "else LANGUAGE, LC_ALL or LANG, else en)",
    )


@dataclass
class Context:
    """The command line plus what it resolves to; errors are `UserError`s (one line, exit status 2)."""

    args: argparse.Namespace
    config_path: Path = field(init=False)
    _settings: Settings | None = field(default=None, init=False)
    _library: Library | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.config_path = default_config_path(getattr(self.args, "config", None))

    @property
    def settings(self) -> Settings:
        """The settings file, read and checked (defaults when it does not exist)."""
        if self._settings is None:
            self._settings = load_settings(self.config_path)
        return self._settings

    @property
    def language(self) -> str:
        """The language of the articles and the interface: ``--lang``, else the settings' ``language``, else
        the environment (``LANGUAGE``, ``LC_ALL``, ``LANG``), else English."""
        import os

        from kreader.i18n import choose_language

        return choose_language(getattr(self.args, "lang", None), self.settings.language, os.environ)

    @property
    def path(self) -> str | None:
        """What the reader was asked to open: a Markdown file, a folder, or ``-`` for standard input."""
        return getattr(self.args, "path", None)

    @property
    def content_dir(self) -> Path:
        """The library folder: the folder given (or the one holding the file given), ``--content``, else
        the settings' ``content``, else the bundled one."""
        if self.path is not None and self.path != "-":
            given = Path(self.path).expanduser()
            return given.parent if given.is_file() else given
        explicit = getattr(self.args, "content", None)
        if explicit is not None:
            return Path(explicit).expanduser()
        if self.settings.content:
            return Path(self.settings.content).expanduser()
        from kreader.content import default_content_dir

        return default_content_dir()

    @property
    def data_dir(self) -> Path:
        """Where bookmarks and reading positions are kept."""
        from kreader.store import default_data_dir

        return default_data_dir(getattr(self.args, "data_dir", None))

    def library(self) -> Library:
        """The library, loaded once; `LibraryError` when it cannot be used at all.

        A file given on the command line (or standard input) is a library of that one article, whose id is
        the file's resolved path (or a hash of the text read), so its bookmarks and reading position are its
        own wherever it is opened from.
        """
        if self._library is None:
            from kreader.content import load_library

            if self.path == "-":
                self._library = read_standard_input()
            elif self.path is not None and Path(self.path).expanduser().is_file():
                self._library = load_file(Path(self.path).expanduser())
            else:
                self._library = load_library(self.content_dir)
        return self._library


MAX_INPUT_BYTES = 64 * 1024 * 1024
"""Standard input read at most: as much as a content file may hold."""


def load_file(path: Path) -> Library:
    """A library of one Markdown file, keyed by its resolved path."""
    from kreader.content import ContentError, Library, LibraryError, read_article

    resolved = path.resolve()
    article = read_article(resolved, str(resolved), resolved.parent)
    if isinstance(article, ContentError):
        raise LibraryError(str(article))
    return Library(resolved.parent, (article,), ())


def read_standard_input() -> Library:
    """A library of the Markdown piped in (``curl … | kreader`` or ``kreader -``).

    Textual reads its keys from standard input, so once the text is read, standard input becomes the
    terminal again (as ``less`` does); with no terminal to read keys from, that is an error.
    """
    import hashlib
    import os
    import sys

    from kreader.content import ContentError, Library, LibraryError, parse_article

    stream = sys.stdin.buffer if sys.stdin is not None else None
    if stream is None:
        raise LibraryError("-: standard input is closed")
    if stream.isatty():
        raise LibraryError("-: nothing piped in (give a file, or pipe Markdown into kreader)")
    data = stream.read(MAX_INPUT_BYTES + 1)
    if len(data) > MAX_INPUT_BYTES:
        raise LibraryError(f"-: more than {MAX_INPUT_BYTES // (1024 * 1024)} MiB on standard input")
    text = data.decode("utf-8", errors="replace")
    if not text.strip():
        raise LibraryError("-: standard input was empty")
    digest = hashlib.sha256(data).hexdigest()[:16]
    article = parse_article(text, Path("standard-input.md"), f"stdin-{digest}")
    if isinstance(article, ContentError):
        raise LibraryError(f"standard input:{article.line}: {article.reason}")
    try:
        terminal = os.open("/dev/tty", os.O_RDONLY)
    except OSError:
        raise LibraryError("-: no terminal to read keys from (run kreader in a terminal)") from None
    os.dup2(terminal, 0)
    os.close(terminal)
    return Library(Path.cwd(), (article,), ())
