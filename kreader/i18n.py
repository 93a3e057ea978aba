"""The interface's language: which one, and its words, from gettext catalogues.

English is the source language: the strings in the code are English, and every other language has a catalogue
``kreader/locale/<lang>/LC_MESSAGES/kreader.po`` in the repository, compiled to ``kreader.mo`` when the package
is built (see ``hatch_build.py``). Only the standard library's `gettext` reads it at run time.

The reader and the kiosk show one language at a time, and every screen reads its words through `_` when it
draws, so switching the language (`set_language`) and redrawing is all a switch takes. One process shows one
interface (``kreader serve`` runs one process per browser), so the current language is the module's.
This module never imports Textual.
"""

from __future__ import annotations

import gettext
from collections.abc import Mapping
from pathlib import Path

SOURCE_LANGUAGE = "en"
"""The language the code's strings and the library's articles are written in."""

LANGUAGES = ("en", "es")
"""Languages with an interface; the order is the order ``l`` steps through them."""

LANGUAGE_NAMES = {"en": "English", "es": "Español"}
"""Each language's name in that language (what a visitor looks for to switch to it)."""

DOMAIN = "kreader"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"

ENVIRONMENT_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")
"""Where the environment says the language, in the order `gettext` itself reads them."""

_translations: dict[str, gettext.NullTranslations] = {}
_current: gettext.NullTranslations = gettext.NullTranslations()
_language = SOURCE_LANGUAGE


def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalogue of ``language`` (English, or a missing catalogue: the strings as written)."""
    found = _translations.get(language)
    if found is None:
        if language == SOURCE_LANGUAGE:
            found = gettext.NullTranslations()
        else:
            found = gettext.translation(
                DOMAIN, localedir=LOCALE_DIR, languages=[language], fallback=True
            )
        _translations[language] = found
    return found


def set_language(language: str) -> None:
    """Make ``language`` the interface's language from now on."""
    global _current, _language
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r} (known: {', '.join(LANGUAGES)})")
    _current = translations(language)
    _language = language


def current_language() -> str:
    """The interface's language now."""
    return _language


def _(message: str) -> str:
    """``message`` in the interface's language."""
    return _current.gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    """The singular or plural form for ``count``, in the interface's language."""
    return _current.ngettext(singular, plural, count)


def N_(message: str) -> str:
    """Mark ``message`` for the catalogue without translating it yet (a constant translated where shown)."""
    return message


def next_language(language: str, languages: tuple[str, ...] = LANGUAGES) -> str:
    """The language after ``language`` in ``languages`` (round the end), which ``l`` switches to."""
    if language not in languages:
        return languages[0]
    return languages[(languages.index(language) + 1) % len(languages)]


def parse_language(value: str) -> str | None:
    """The supported language a code such as ``es``, ``es_US.UTF-8``, ``es-MX`` or ``ES`` names, if any."""
    code = value.strip().split(".")[0].split("@")[0].replace("-", "_").split("_")[0].lower()
    return code if code in LANGUAGES else None


def language_from_environment(environ: Mapping[str, str]) -> str | None:
    """The language the environment asks for (``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES``, ``LANG``), if kreader
    has it.

    As `gettext` does, the first of those variables that is set decides; ``LANGUAGE`` may list several
    (``pt_BR:es:en``), and the first one kreader has is taken. ``C`` and ``POSIX`` mean English.
    """
    for name in ENVIRONMENT_VARIABLES:
        value = environ.get(name, "")
        if not value:
            continue
        for entry in value.split(":"):
            language = parse_language(entry)
            if language is not None:
                return language
        return None
    return None


def choose_language(asked: str | None, configured: str | None, environ: Mapping[str, str]) -> str:
    """``--lang``, else the settings' ``language``, else the environment, else English."""
    return asked or configured or language_from_environment(environ) or SOURCE_LANGUAGE
