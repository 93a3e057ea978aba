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
    def content_dir(self) -> Path:
        """The library folder: ``--content``, else the settings' ``content``, else the bundled one."""
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
        """The library, loaded once; `LibraryError` when the folder cannot be used at all."""
        if self._library is None:
            from kreader.content import load_library

            self._library = load_library(self.content_dir)
        return self._library
