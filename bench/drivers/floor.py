"""The floor: the smallest Textual app, headless; it paints one (empty) frame and exits."""

from __future__ import annotations

import _hook  # type: ignore[import-not-found]  # beside this script, not a package
from textual.app import App


class Floor(App[None]):
    pass


_hook.install(lambda screen: True)
Floor().run(headless=True)
_hook.report()
