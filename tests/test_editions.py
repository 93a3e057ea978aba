"""Editions: the Spanish article beside the English one, sharing its ids; ``kreader check`` keeps them in step;
the language chosen from ``--lang``, the settings and the environment."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kreader.check import check_library
from kreader.check_editions import roman_value
from kreader.content import load_library
from kreader.editions import Edition, editions_signature, load_editions
from kreader.i18n import choose_language, language_from_environment, next_language, parse_language
from kreader.settings import LANGUAGES as SETTINGS_LANGUAGES
from kreader.settings import SettingsError, load_settings

ROOT = Path(__file__).resolve().parent.parent
CONTENT = ROOT / "content"
ARTICLE = "ketamine-ptsd.md"


def copy_content(tmp_path: Path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(CONTENT, target)
    return target


def found(root: Path) -> list[str]:
    return [
        f"{p.file.relative_to(root)}:{p.line}: {p.level}: {p.message}" for p in check_library(root)
    ]


def test_the_spanish_edition_shares_every_id_with_the_english() -> None:
    library = load_library(CONTENT)
    editions = load_editions(library)
    assert editions.languages == ("en", "es")
    english = library.articles[0]
    spanish = editions.library("es").articles[0]
    assert isinstance(spanish, Edition)
    assert spanish.id == english.id
    assert spanish.title.startswith("Cómo la ketamina")
    assert [s.id for s in spanish.sections] == [s.id for s in english.sections]
    assert [[sub.id for sub in s.subsections] for s in spanish.sections] == [
        [sub.id for sub in s.subsections] for s in english.sections
    ]
    history = spanish.section("history")
    assert history is not None and history.title == "Historia"
    # Links written with either language's slugs land on the shared ids.
    for slug, expected in [
        ("lo-que-viene", "what-comes-next"),
        ("cómo-podría-actuar", "how-it-may-work"),
        ("history", "history"),
    ]:
        target = spanish.anchor(slug)
        assert target is not None and target[0].id == expected
    found_sub = spanish.anchor("extinción-del-miedo")
    assert found_sub is not None and found_sub[1] is not None
    assert found_sub[1].id == "fear-extinction"


def test_an_article_without_an_edition_shows_in_its_own_language(tmp_path: Path) -> None:
    root = copy_content(tmp_path)
    (root / "other.md").write_text("# Other\n\nJust English.\n", encoding="utf-8")
    editions = load_editions(load_library(root))
    spanish = editions.library("es")
    assert spanish.root == root / "es"  # its own search cache
    other = spanish.article("other")
    assert other is not None and not isinstance(other, Edition)
    assert editions.library("en") is editions.source


def test_the_edition_signature_follows_edits(tmp_path: Path) -> None:
    root = copy_content(tmp_path)
    before = editions_signature(root)
    assert [name for name, *_ in before] == ["es/" + ARTICLE]
    (root / "es" / ARTICLE).write_text("# Cambio\n", encoding="utf-8")
    assert editions_signature(root) != before


def test_the_bundled_editions_are_in_step() -> None:
    """The legitimate differences of the Spanish text are not errors: "siglo XX" for "20th century", the
    988 line's "marque 2" and second 988, the front matter without ``reviewed``."""
    assert found(CONTENT) == []


def break_edition(root: Path, old: str, new: str) -> None:
    path = root / "es" / ARTICLE
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def line_of(root: Path, needle: str) -> int:
    lines = (root / "es" / ARTICLE).read_text(encoding="utf-8").split("\n")
    return next(n for n, line in enumerate(lines, start=1) if needle in line)


def test_check_catches_a_lost_year(tmp_path: Path) -> None:
    root = copy_content(tmp_path)
    break_edition(
        root, "recibió la aprobación de la FDA en 2019", "recibió la aprobación de la FDA"
    )
    heading = line_of(root, "## Lo que viene")
    assert found(root) == [
        f"es/{ARTICLE}:{heading}: error: section 'Lo que viene' lacks the number '2019' of its "
        f"source ({ARTICLE}:136)"
    ]


def test_check_catches_a_changed_phone_number(tmp_path: Path) -> None:
    root = copy_content(tmp_path)
    break_edition(root, "- **Teléfono:** (432) 218-8135", "- **Teléfono:** (432) 218-8153")
    line = line_of(root, "**Teléfono:**")
    assert found(root) == [
        f"es/{ARTICLE}:{line}: error: phone number '(432) 218-8153' differs from its source: "
        f"{ARTICLE}:164 has '(432) 218-8135' here"
    ]


def test_check_catches_a_changed_number_a_changed_address_and_a_link(tmp_path: Path) -> None:
    root = copy_content(tmp_path)
    break_edition(root, "| 1970 | La FDA", "| 1971 | La FDA")
    break_edition(
        root, '5105 Sunmore Cir, Suite B, Midland, TX 79707"', '5105 Sunmore Circle, Midland"'
    )
    break_edition(root, "(#lo-que-viene)", "(#historia)")
    problems = found(root)
    assert any(
        f":{line_of(root, '| 1971 |')}: error: number '1971' differs from its source" in p
        for p in problems
    ), problems
    assert any(
        ":8: error: contact address '5105 Sunmore Circle, Midland' differs" in p for p in problems
    ), problems
    assert any("error: link '#historia' differs from its source" in p for p in problems), problems


def test_check_catches_a_missing_subsection_and_section(tmp_path: Path) -> None:
    root = copy_content(tmp_path)
    break_edition(root, "### Extinción del miedo\n", "")
    heading = line_of(root, "## Cómo podría actuar")
    problems = found(root)
    assert problems[0].startswith(
        f"es/{ARTICLE}:{heading}: error: section 'Cómo podría actuar' has 4 subsections where its "
        f"source 'How it may work' ({ARTICLE}:62) has 5"
    ), problems

    root = copy_content(tmp_path / "again")
    break_edition(root, "## Reflexiones finales\n", "")
    problems = found(root)
    assert any(
        "error: the edition has 6 sections where its source ketamine-ptsd.md has 7" in p
        for p in problems
    ), problems


def test_an_added_number_is_an_error_but_the_988_note_is_not(tmp_path: Path) -> None:
    root = copy_content(tmp_path)
    break_edition(root, "al llamar, marque **2**", "al llamar, marque **3**")
    line = line_of(root, "marque **3**")
    assert found(root) == [
        f"es/{ARTICLE}:{line}: error: number '3' is not in its source ({ARTICLE}): an edition "
        f"states the same facts"
    ]


def test_an_edition_of_no_article_is_a_warning(tmp_path: Path) -> None:
    root = copy_content(tmp_path)
    (root / "es" / "stray.md").write_text("# Suelto\n\nTexto.\n", encoding="utf-8")
    assert found(root) == [
        "es/stray.md:1: warning: edition of no article: there is no stray.md in the library "
        "folder, so readers never see this file"
    ]


def test_roman_centuries() -> None:
    assert [roman_value(r) for r in ("XX", "XIX", "XXI", "IV")] == [20, 19, 21, 4]


# -- choosing a language -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, None),
        ({"LANG": "es_US.UTF-8"}, "es"),
        ({"LANG": "C.UTF-8"}, None),
        ({"LC_ALL": "en_US.UTF-8", "LANG": "es_MX.UTF-8"}, "en"),
        ({"LANGUAGE": "pt_BR:es:en", "LANG": "en_US.UTF-8"}, "es"),
        ({"LANGUAGE": "", "LC_ALL": "es_ES@euro"}, "es"),
        ({"LANG": "fr_FR.UTF-8"}, None),
    ],
)
def test_language_from_the_environment(environ: dict[str, str], expected: str | None) -> None:
    assert language_from_environment(environ) == expected


def test_choose_language_order() -> None:
    env = {"LANG": "es_US.UTF-8"}
    assert choose_language("en", "es", env) == "en"
    assert choose_language(None, "en", env) == "en"
    assert choose_language(None, None, env) == "es"
    assert choose_language(None, None, {}) == "en"
    assert parse_language("ES-mx") == "es"
    assert next_language("en") == "es" and next_language("es") == "en"


def test_settings_language_and_attract_languages(tmp_path: Path) -> None:
    path = tmp_path / "kreader.toml"
    path.write_text('language = "es"\n[kiosk]\nattract_languages = ["en", "es"]\n')
    settings = load_settings(path)
    assert settings.language == "es"
    assert settings.attract_languages == ("en", "es")
    path.write_text('language = "fr"\n')
    with pytest.raises(SettingsError, match=r"kreader.toml:1: key 'language' must be one of"):
        load_settings(path)
    path.write_text('[kiosk]\nattract_languages = ["en", "de"]\n')
    with pytest.raises(SettingsError, match=r":2: key 'kiosk.attract_languages' must be one of"):
        load_settings(path)


def test_settings_and_i18n_agree_on_the_languages() -> None:
    from kreader.i18n import LANGUAGES

    assert SETTINGS_LANGUAGES == LANGUAGES
