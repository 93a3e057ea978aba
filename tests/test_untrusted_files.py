"""Content and settings files a hostile author could write: FIFOs, devices, links out of the library, deep
nesting, settings that load but cannot work. Each must give one clear line, never a hang or a traceback.

The command line is run as real subprocesses with a timeout, so a hang fails the test instead of the suite.
"""

from __future__ import annotations

import base64
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import build_app, notices, write_library

from kreader.check import check_report
from kreader.content import ContentError, load_library, read_article
from kreader.settings import THEMES, SettingsError, load_settings
from kreader.sources import SourceError, read_regular, toml_too_deep

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 60

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")


def kreader(
    *args: str | Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m kreader ARGS`` with the test's isolated environment, stdin closed, and a timeout."""
    return subprocess.run(
        [sys.executable, "-m", "kreader", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
        timeout=TIMEOUT,
    )


def no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stdout + result.stderr, result.stderr


def deep_front_matter(depth: int = 5000) -> str:
    return f'+++\ntitle = "Deep"\nx = {"[" * depth}{"]" * depth}\n+++\n\n# Deep\n\nText.\n'


# --- only regular files -----------------------------------------------------------------------------------


@needs_fifo
def test_read_regular_refuses_a_fifo_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "f.md"
    os.mkfifo(fifo)
    with pytest.raises(SourceError, match=r"not a regular file \(a FIFO"):
        read_regular(fifo, 100)


def test_read_regular_enforces_the_limit_while_reading(tmp_path: Path) -> None:
    (tmp_path / "z.md").symlink_to("/dev/zero")
    with pytest.raises(SourceError, match=r"not a regular file \(a character device"):
        read_regular(tmp_path / "z.md", 100)
    big = tmp_path / "big.md"
    big.write_bytes(b"x" * 101)
    with pytest.raises(SourceError, match="too large"):
        read_regular(big, 100)
    assert read_regular(big, 101) == b"x" * 101


@needs_fifo
def test_a_fifo_in_the_library_is_skipped_by_every_command(tmp_path: Path) -> None:
    lib = write_library(tmp_path / "lib")
    os.mkfifo(lib / "f.md")
    (lib / "z.md").symlink_to("/dev/zero")
    library = load_library(lib)
    assert [a.id for a in library.articles] == ["alpha", "beta"]
    reasons = {error.path.name: error.reason for error in library.errors}
    assert "not a regular file (a FIFO" in reasons["f.md"]
    assert "outside the library folder" in reasons["z.md"]
    assert "not a regular file (a character device" in read_article(lib / "z.md").reason  # type: ignore[union-attr]

    result = kreader("check", lib)
    no_traceback(result)
    assert result.returncode == 1
    assert f"{lib / 'f.md'}:1: error: cannot read file: not a regular file (a FIFO" in result.stdout
    assert f"{lib / 'z.md'}:1: error: symbolic link to a file outside" in result.stdout

    result = kreader("print", "--content", lib, "alpha")
    no_traceback(result)
    assert result.returncode == 0 and "Alpha guide" in result.stdout

    result = kreader("search", "--content", lib, "zanzibar")
    no_traceback(result)
    assert result.returncode == 0 and "Alpha guide" in result.stdout


@needs_fifo
async def test_the_reader_names_a_skipped_fifo_in_one_notice(tmp_path: Path) -> None:
    lib = write_library(tmp_path / "lib")
    os.mkfifo(lib / "f.md")
    app = build_app(tmp_path, lib)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        shown = [str(notice) for notice in notices(app)]
        assert any("f.md" in notice and "not a regular file" in notice for notice in shown)


@needs_fifo
def test_a_fifo_as_the_settings_file_exits_2_with_one_line(tmp_path: Path) -> None:
    config = tmp_path / "kreader.toml"
    os.mkfifo(config)
    with pytest.raises(SettingsError, match="not a regular file"):
        load_settings(config)
    for args in (("--config", config), ("kiosk", "check-config", "--config", config)):
        result = kreader(*args)
        no_traceback(result)
        assert result.returncode == 2
        assert result.stderr.count("\n") == 1
        assert f"{config}: cannot read settings: not a regular file (a FIFO" in result.stderr


def test_a_link_out_of_the_library_is_skipped_and_not_searchable(tmp_path: Path) -> None:
    lib = write_library(tmp_path / "lib")
    secret = tmp_path / "private" / "secret.md"
    secret.parent.mkdir()
    secret.write_text("# Secret\n\nThe password is swordfish.\n")
    (lib / "secret.md").symlink_to(secret)
    (lib / "same.md").symlink_to(lib / "beta.md")  # inside the folder: still read
    library = load_library(lib)
    assert sorted(a.id for a in library.articles) == ["alpha", "beta", "same"]
    (error,) = library.errors
    assert error.path.name == "secret.md" and "outside the library folder" in error.reason
    assert read_article(lib / "secret.md", root=lib) == ContentError(
        lib / "secret.md", 1, error.reason
    )

    result = kreader("search", "--content", lib, "swordfish")
    no_traceback(result)
    assert result.returncode == 1 and "swordfish" not in result.stdout
    result = kreader("check", lib)
    assert (
        f"{lib / 'secret.md'}:1: error: symbolic link to a file outside the library"
        in result.stdout
    )
    assert "same.md" not in result.stdout


# --- deep nesting -------------------------------------------------------------------------------------


def test_toml_depth_ignores_brackets_in_strings_and_comments() -> None:
    assert toml_too_deep('a = "' + "[" * 100 + '"\n# ' + "{" * 100 + "\nb = '[[[['\n", 3) is None
    assert toml_too_deep('s = """\n[[[[\n"""\nx = [[[[1]]]]\n', 3) == 4


def test_deep_front_matter_is_a_content_error_with_its_line(tmp_path: Path) -> None:
    lib = write_library(tmp_path / "lib")
    (lib / "deep.md").write_text(deep_front_matter())
    library = load_library(lib)
    (error,) = library.errors
    assert (error.path.name, error.line) == ("deep.md", 3)
    assert "nests arrays or tables more than" in error.reason

    result = kreader("check", lib)
    no_traceback(result)
    assert result.returncode == 1
    assert f"{lib / 'deep.md'}:3: error: front matter nests arrays" in result.stdout
    for args in (("print", "--content", lib, "alpha"), ("search", "--content", lib, "zanzibar")):
        result = kreader(*args)
        no_traceback(result)
        assert result.returncode == 0
    result = kreader("print", "--content", lib, "deep")
    no_traceback(result)
    assert result.returncode == 2 and "deep.md:3" in result.stderr


def test_deep_settings_file_is_a_settings_error_with_its_line(tmp_path: Path) -> None:
    config = tmp_path / "kreader.toml"
    config.write_text(f'theme = "nord"\nx = {"[" * 5000}{"]" * 5000}\n')
    with pytest.raises(SettingsError) as caught:
        load_settings(config)
    assert caught.value.line == 2
    for args in (("--config", config), ("kiosk", "check-config", "--config", config)):
        result = kreader(*args)
        no_traceback(result)
        assert result.returncode == 2
        assert result.stderr.startswith(
            f"kreader: {config}:2: invalid TOML: arrays or tables nested"
        )


# --- settings that load but cannot work ------------------------------------------------------------------


def test_the_theme_list_is_the_apps() -> None:
    from kreader.themes import theme_names

    assert sorted(THEMES) == theme_names()


def test_an_unknown_theme_in_the_settings_exits_2_naming_file_line_and_key(tmp_path: Path) -> None:
    config = tmp_path / "kreader.toml"
    config.write_text('width = 80\ntheme = "no-such-theme"\n')
    result = kreader("--config", config)
    assert result.returncode == 2
    assert result.stderr.startswith(
        f"kreader: {config}:2: key 'theme': unknown theme 'no-such-theme'"
    )
    assert result.stderr.count("\n") == 1
    config.write_text('[kiosk]\ntheme = "no-such-theme"\n')
    result = kreader("kiosk", "check-config", "--config", config)
    assert result.returncode == 2
    assert f"{config}:2: key 'kiosk.theme': unknown theme" in result.stderr


def test_check_config_reports_a_missing_featured_article(tmp_path: Path) -> None:
    lib = write_library(tmp_path / "lib")
    config = tmp_path / "kreader.toml"
    config.write_text(f'content = "{lib}"\n\n[kiosk]\nfeatured = "gamma"\n')
    result = kreader("kiosk", "check-config", "--config", config)
    no_traceback(result)
    assert result.returncode == 1
    assert (
        f"{config}:4: key 'kiosk.featured': no article 'gamma' in {lib}; articles: alpha, beta"
        in (result.stderr)
    )
    config.write_text(f'content = "{lib}"\n\n[kiosk]\nfeatured = "beta"\n')
    assert kreader("kiosk", "check-config", "--config", config).returncode == 0


def _scrypt_hash(n: int, r: int, p: int) -> str:
    salt, digest = base64.b64encode(b"s" * 16).decode(), base64.b64encode(b"d" * 32).decode()
    return f"scrypt${n}${r}${p}${salt}${digest}"


def test_a_pin_hash_no_machine_can_check_is_refused_when_loading(tmp_path: Path) -> None:
    config = tmp_path / "kreader.toml"
    config.write_text(f'[kiosk]\nadmin_pin_hash = "{_scrypt_hash(2**20, 32, 16)}"\n')
    result = kreader("kiosk", "check-config", "--config", config)
    assert result.returncode == 2
    assert f"{config}:2: key 'kiosk.admin_pin_hash' has scrypt costs no PIN" in result.stderr


def test_check_config_tries_the_pin_hash_costs_on_this_machine(tmp_path: Path) -> None:
    config = tmp_path / "kreader.toml"
    config.write_text(f'[kiosk]\nadmin_pin_hash = "{_scrypt_hash(2**20, 8, 1)}"\n')

    def small_machine() -> None:  # 1 GiB of scrypt memory cannot be had within 700 MiB
        resource.setrlimit(resource.RLIMIT_AS, (700 * 2**20, 700 * 2**20))

    result = subprocess.run(
        [sys.executable, "-m", "kreader", "kiosk", "check-config", "--config", str(config)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        timeout=TIMEOUT,
        preexec_fn=small_machine,
    )
    no_traceback(result)
    assert result.returncode == 1
    assert (
        f"{config}:2: key 'kiosk.admin_pin_hash' cannot be checked on this machine" in result.stderr
    )


def test_check_report_handles_every_hostile_file_at_once(tmp_path: Path) -> None:
    lib = write_library(tmp_path / "lib")
    (lib / "deep.md").write_text(deep_front_matter())
    (lib / "z.md").symlink_to("/dev/zero")
    report = check_report(lib)
    assert {(p.file.name, p.level) for p in report.problems} == {
        ("deep.md", "error"),
        ("z.md", "error"),
    }


# --- a running kiosk ------------------------------------------------------------------------------------


@needs_fifo
async def test_a_kiosk_reload_keeps_the_last_good_article(tmp_path: Path) -> None:
    import time

    from kreader.factory import make_app
    from kreader.kiosk_app import KioskApp
    from kreader.settings import Settings
    from kreader.store import Store

    lib = write_library(tmp_path / "lib")
    app = make_app(load_library(lib), Store.in_memory(), Settings(kiosk=True), kiosk=True)
    assert isinstance(app, KioskApp)
    app.tick_seconds = 3600
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        (lib / "beta.md").write_text(deep_front_matter())
        os.mkfifo(lib / "f.md")
        later = time.time_ns() + 10**9
        os.utime(lib / "beta.md", ns=(later, later))
        app.check_content()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.is_running
        assert [a.id for a in app.library.articles] == ["alpha", "beta"]
        assert app.library.article("beta").title == "Beta notes"  # type: ignore[union-attr]
        assert app.errors_logged >= 2


DEEP_LISTS = "# Lists\n\n" + "\n".join("  " * i + f"- level {i}" for i in range(500)) + "\n"
DEEP_QUOTES = (
    "# Quotes\n\n"
    + "> " * 500
    + "deep quoted text\n\n"
    + "\n".join(">" * i + f" q{i}" for i in range(1, 500))
    + "\n"
)
SAME_LINE = "# Same line\n\n" + "- " * 500 + "listed words\n\n" + "> - " * 300 + "mixed words\n"


def test_deep_lists_and_quotes_keep_all_their_text(tmp_path: Path) -> None:
    from kreader.layout import Layouts, Palette
    from kreader.printing import plain_text

    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "lists.md").write_text(DEEP_LISTS)
    (lib / "quotes.md").write_text(DEEP_QUOTES)
    (lib / "same.md").write_text(SAME_LINE)
    library = load_library(lib)
    palette = Palette("p", True, "#ffffff", "#ffff00", "#00ffff", "#ff00ff", "#000000", "#888888")
    needles = {
        "lists": ["level 0", "level 250", "level 499"],
        "quotes": ["deep quoted text", "q1", "q250", "q499"],
        "same": ["listed words", "mixed words"],
    }
    for article in library.articles:
        printed = plain_text(article, width=40)
        (section,) = article.sections
        laid_out = " ".join(
            " ".join(line.split()) for line in Layouts().get(section, 30, palette).plain
        )
        for needle in needles[article.id]:
            assert needle in printed, (article.id, needle)
            assert needle.split()[-1] in laid_out, (article.id, needle)
        indent = max(len(line) - len(line.lstrip("-> ")) for line in printed.splitlines())
        assert indent <= 20  # capped, not one more step per level

    result = kreader("check", lib)
    no_traceback(result)
    assert result.returncode == 0
    assert f"{lib / 'lists.md'}:9: warning: lists or quotes nest too deeply" in result.stdout
    assert f"{lib / 'quotes.md'}:3: warning: lists or quotes nest too deeply" in result.stdout


@needs_fifo
async def test_a_kiosk_starts_beside_a_fifo(tmp_path: Path) -> None:
    from kreader.factory import make_app
    from kreader.kiosk_app import KioskApp
    from kreader.settings import Settings
    from kreader.store import Store

    lib = write_library(tmp_path / "lib")
    os.mkfifo(lib / "f.md")
    app = make_app(load_library(lib), Store.in_memory(), Settings(kiosk=True), kiosk=True)
    assert isinstance(app, KioskApp)
    app.tick_seconds = 3600
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert app.is_running and [a.id for a in app.library.articles] == ["alpha", "beta"]


def test_a_fifo_given_to_bookmarks_import_is_refused_not_a_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "export.json"
    os.mkfifo(fifo)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "kreader",
            "bookmarks",
            "import",
            str(fifo),
            "--data-dir",
            str(tmp_path / "d"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "not a regular file" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_fifo_where_the_kiosk_log_should_be_does_not_hang(isolated_home: Path) -> None:
    from kreader.kiosk_app import _write_log, kiosk_log_path

    log = kiosk_log_path()
    log.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(log)
    _write_log("an error worth logging")  # returns at once: nothing reads the FIFO, nothing blocks
    assert log.is_fifo()
