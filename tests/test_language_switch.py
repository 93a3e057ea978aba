"""One key switches text and interface together and keeps the place; the kiosk comes back to its language
after a visit; its attract loop can alternate languages; search searches the edition on screen."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from helpers import CONTENT, ready_index, view
from textual.widgets import Static
from textual.widgets._footer import FooterKey

from kreader.app import KReaderApp, StartAt
from kreader.content import load_library
from kreader.editions import Edition
from kreader.factory import make_app
from kreader.i18n import current_language
from kreader.kiosk_app import KioskApp
from kreader.screens.reader import ReaderScreen
from kreader.settings import Settings
from kreader.store import Store


class FakeClock:
    def __init__(self) -> None:
        self.now = 10_000.0

    def __call__(self) -> float:
        return self.now


def reader(language: str = "en", start: StartAt | None = None) -> KReaderApp:
    app = make_app(load_library(CONTENT), Store.in_memory(), start=start, language=language)
    app.animation_level = "none"
    return app


def kiosk(clock: FakeClock, language: str = "en", **settings: object) -> KioskApp:
    app = make_app(
        load_library(CONTENT),
        Store.in_memory(),
        Settings(kiosk=True, **settings),  # type: ignore[arg-type]
        kiosk=True,
        clock=clock,
        language=language,
    )
    assert isinstance(app, KioskApp)
    app.tick_seconds = 3600
    app.animation_level = "none"
    return app


def place(app: KReaderApp) -> tuple[str, str, str, float]:
    screen = app.reader()
    assert screen.article is not None and screen.section is not None
    anchor, fraction = view(app).position()
    return screen.article.id, screen.section.id, anchor, fraction


def footer_words(app: KReaderApp) -> list[str]:
    return [key.description for key in app.screen.query(FooterKey)]


async def test_l_switches_language_in_the_middle_of_a_subsection_and_keeps_the_place() -> None:
    app = reader(start=StartAt("ketamine-ptsd", "how-it-may-work", "fear-extinction", 0.5))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        english = place(app)
        assert english[:3] == ("ketamine-ptsd", "how-it-may-work", "fear-extinction")
        assert 0.3 < english[3] < 0.7, english
        assert "Next" in footer_words(app)

        await pilot.press("l")
        await pilot.pause()
        screen = app.reader()
        assert app.language == "es" and current_language() == "es"
        assert isinstance(screen.article, Edition)
        assert screen.section is not None and screen.section.title == "Cómo podría actuar"
        spanish = place(app)
        assert spanish[:3] == english[:3]  # the same section and subsection
        assert abs(spanish[3] - english[3]) < 0.15  # the same fraction, to a line of the new text
        top = view(app).layout_
        assert top is not None
        shown = "\n".join(top.plain[round(view(app).scroll_y) :][:10])
        assert "miedo" in shown, shown  # Spanish text of "Fear extinction" is on screen
        assert screen.sub_title == "Sección 3 de 7 · Cómo podría actuar"
        assert "Sig." in footer_words(app) and "Next" not in footer_words(app)

        await pilot.press("l")
        await pilot.pause()
        assert app.language == "en"
        back = place(app)
        assert back[:3] == english[:3] and abs(back[3] - english[3]) < 0.15
        assert app.reader().sub_title == "Section 3 of 7 · How it may work"


async def test_a_link_written_in_spanish_lands_on_the_shared_id() -> None:
    app = reader("es", start=StartAt("ketamine-ptsd", "history"))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        app.reader().follow_link("#lo-que-viene")
        await pilot.pause()
        section = app.reader().section
        assert section is not None and section.id == "what-comes-next"
        assert section.title == "Lo que viene"


async def test_search_searches_the_spanish_edition_with_and_without_accents() -> None:
    app = reader("es")
    async with app.run_test(size=(100, 30)) as pilot:
        await ready_index(app)
        index = app.search_index
        assert index is not None
        for query in ("médico", "medico", "MÉDICOS"):
            hits = index.search(query)
            assert hits, query
            assert {hit.section_id for hit in hits} >= {"the-treatment-process"}, query
        assert index.search("ketamine") == [] or all(
            "ketamin" in hit.snippet.lower() for hit in index.search("ketamine")
        )
        assert index.search("physician") == []  # not an English word of the text
        assert index.search("anestésico") and index.search("anestesico")
        # Switching language searches the other edition.
        await pilot.press("l")
        await ready_index(app)
        await pilot.pause()
        assert app.language == "en"
        assert app.search_index is not None and app.search_index is not index
        assert app.search_index.search("anesthetic")
        assert not app.search_index.search("anestésico")


async def test_the_kiosk_returns_to_english_after_idle() -> None:
    clock = FakeClock()
    app = kiosk(clock)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert "Español" in footer_words(app)
        await pilot.press("n", "l")
        await pilot.pause()
        assert app.language == "es"
        assert "English" in footer_words(app)
        hint = app.reader().query_one("#attract-hint", Static)
        assert "toque la pantalla" in str(hint.render())
        clock.now += app.settings.idle_seconds + 1
        app.tick()
        await pilot.pause()
        assert app.policy.in_attract
        assert app.language == "en" and current_language() == "en"
        screen = app.reader()
        assert screen.section is not None and screen.section.id == "overview"
        assert screen.article is not None and not isinstance(screen.article, Edition)
        assert "Español" in footer_words(app)


async def test_the_kiosk_footer_target_switches_with_a_tap() -> None:
    app = kiosk(FakeClock())
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        target = next(key for key in app.screen.query(FooterKey) if key.description == "Español")
        await pilot.click(target)
        await pilot.pause()
        assert app.language == "es"
        assert isinstance(app.screen, ReaderScreen)
        assert "Contacto" in footer_words(app)


async def test_a_spanish_kiosk_comes_back_to_spanish() -> None:
    clock = FakeClock()
    app = kiosk(clock, language="es")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("l")
        assert app.language == "en"
        clock.now += app.settings.idle_seconds + 1
        app.tick()
        await pilot.pause()
        assert app.language == "es"


async def test_the_attract_loop_alternates_languages() -> None:
    clock = FakeClock()
    app = kiosk(clock, attract_languages=("en", "es"), rotate_seconds=25)
    async with app.run_test(size=(100, 60)) as pilot:
        await pilot.pause()
        clock.now += app.settings.idle_seconds + 1
        app.tick()
        await pilot.pause()
        seen = []
        for _ in range(4):
            app.attract_step()
            await pilot.pause()
            screen = app.reader()
            assert screen.section is not None
            seen.append((app.language, screen.section.id, screen.section.title))
        # Each section in English, then in Spanish, then the next one.
        assert [(language, section) for language, section, _ in seen] == [
            ("es", "overview"),
            ("en", "history"),
            ("es", "history"),
            ("en", "how-it-may-work"),
        ], seen
        assert seen[2][2] == "Historia"


def test_print_in_spanish_prints_the_spanish_article(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kreader", "print", "--lang", "es", "--plain", "--width", "80",
         "ketamine-ptsd#contact"],
        capture_output=True, text=True, check=True, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )  # fmt: skip
    assert result.stdout.startswith("Cómo la ketamina podría ayudar a tratar el TEPT\n===")
    assert "Contacto\n--------" in result.stdout
    assert "Teléfono: (432) 218-8135" in result.stdout
    # The section already gives the disclaimer with the 988 line in Spanish: printed once, not twice.
    assert result.stdout.count("marque 2") == 1
    english = subprocess.run(
        [sys.executable, "-m", "kreader", "print", "--plain", "ketamine-ptsd#contact"],
        capture_output=True, text=True, check=True, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8"},
    )  # fmt: skip
    assert english.stdout.startswith("How ketamine may help treat PTSD\n")


def test_the_environment_chooses_spanish(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kreader", "print", "--plain", "ketamine-ptsd#history"],
        capture_output=True, text=True, check=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "es_US.UTF-8"},
    )  # fmt: skip
    assert "Historia\n--------" in result.stdout
