"""Build hook: compile the interface's gettext catalogues (``.po``, in the repository) to ``.mo`` files.

Compiled when the wheel (or the editable install) is built, with Babel, which is only a build requirement:
at run time the standard library's `gettext` reads the ``.mo`` files, so kreader itself does not need Babel.
The ``.mo`` files are written beside their ``.po`` (an editable install reads them there) and are not
committed (``.gitignore``); they are added to the wheel as build artifacts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


def compile_catalogues(root: Path) -> list[Path]:
    """Compile every ``kreader/locale/*/LC_MESSAGES/*.po`` under ``root``; the ``.mo`` files written."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written = []
    for po in sorted((root / "kreader" / "locale").glob("*/LC_MESSAGES/*.po")):
        with po.open("rb") as source:
            catalog = read_po(source, locale=po.parent.parent.name)
        mo = po.with_suffix(".mo")
        with mo.open("wb") as target:
            write_mo(target, catalog)  # fuzzy entries are left out: they are not translations yet
        written.append(mo)
    return written


class CatalogueHook(BuildHookInterface):
    """Compiles the catalogues before the wheel's files are collected."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        root = Path(self.root)
        for mo in compile_catalogues(root):
            build_data["artifacts"].append("/" + mo.relative_to(root).as_posix())
