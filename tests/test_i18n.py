"""The interface's catalogue: every message the code shows has its Spanish translation, none is stale, the
compiled catalogue is current, and the help pages exist in Spanish."""

from __future__ import annotations

import gettext
import string
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from kreader.i18n import LANGUAGES, LOCALE_DIR, SOURCE_LANGUAGE
from kreader.screens.help import help_text

PACKAGE = Path(__file__).resolve().parent.parent / "kreader"
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}


def code_messages() -> dict[str, tuple[str, ...]]:
    """msgid -> every form (singular and plural) of each message the code marks, from Babel's extractor."""
    found: dict[str, tuple[str, ...]] = {}
    for _filename, _line, message, _comments, _context in extract_from_dir(
        str(PACKAGE), method_map=[("**.py", "python")], keywords=KEYWORDS
    ):
        forms = message if isinstance(message, tuple) else (message,)
        found[forms[0]] = forms
    return found


def catalogue(language: str):  # type: ignore[no-untyped-def]
    with (LOCALE_DIR / language / "LC_MESSAGES" / "kreader.po").open("rb") as handle:
        return read_po(handle, locale=language)


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_the_code_marks_its_messages() -> None:
    messages = code_messages()
    for expected in ("Next", "Español", "Press any key or touch the screen to read", "Overview"):
        assert expected in messages


def test_every_message_has_a_translation_and_none_is_stale() -> None:
    messages = code_messages()
    for language in LANGUAGES:
        if language == SOURCE_LANGUAGE:
            continue
        po = catalogue(language)
        entries = {m.id if isinstance(m.id, str) else m.id[0]: m for m in po if m.id}
        missing = sorted(set(messages) - set(entries))
        stale = sorted(set(entries) - set(messages))
        assert not missing, f"{language}: messages without a translation: {missing}"
        assert not stale, f"{language}: translations of messages the code no longer has: {stale}"
        for msgid, message in entries.items():
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            assert all(strings), f"{language}: empty translation of {msgid!r}"
            assert not message.fuzzy, f"{language}: fuzzy translation of {msgid!r}"
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            assert tuple(ids) == messages[msgid], f"{language}: plural forms of {msgid!r} changed"
            for translated in strings:
                # A translation names the same {fields}: a missing one would be lost, an extra one crash.
                assert fields(translated) == fields(msgid), (msgid, translated)


def test_the_compiled_catalogue_is_current() -> None:
    """The .mo the reader reads says what the .po says (the install's build hook compiles it)."""
    for language in LANGUAGES:
        if language == SOURCE_LANGUAGE:
            continue
        mo = LOCALE_DIR / language / "LC_MESSAGES" / "kreader.mo"
        assert mo.is_file(), f"{mo} is missing: run python3 tasks.py setup (or pip install -e .)"
        with mo.open("rb") as handle:
            compiled = gettext.GNUTranslations(handle)
        for message in catalogue(language):
            if not message.id:
                continue
            if isinstance(message.id, tuple):
                for n, form in ((1, 0), (2, 1)):
                    assert (
                        compiled.ngettext(message.id[0], message.id[1], n) == message.string[form]
                    ), f"{mo} is out of date: run python3 tasks.py setup"
            else:
                assert compiled.gettext(message.id) == message.string, (
                    f"{mo} is out of date ({message.id!r}): run python3 tasks.py setup"
                )


def test_the_help_pages_are_translated() -> None:
    for kiosk in (False, True):
        english = help_text(kiosk, "en")
        spanish = help_text(kiosk, "es")
        assert spanish != english
        assert "| l" in english and "| l" in spanish
        # The same tables: one row per key in both languages.
        assert english.count("\n|") == spanish.count("\n|")
