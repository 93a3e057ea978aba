"""The settings file: defaults, both kiosk forms, one-line errors, line-based saving."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from kreader.settings import (
    Settings,
    SettingsError,
    default_config_path,
    load_settings,
    save_kiosk_pin,
    save_preferences,
)

# A real hash, made once (hashing is deliberately slow). PIN: 1234.
PIN_HASH = "scrypt$16384$8$1$EiL0vJP1ZDQvkHRVqhpc4Q==$DjPsvJ05gKCLFN5yzuzWEOmGuHN4mqinY+TpI4n3wLA="


def write(tmp_path: Path, text: str, name: str = "kreader.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def error_of(path: Path) -> SettingsError:
    with pytest.raises(SettingsError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    return caught.value


# -- where the file is -----------------------------------------------------------------------------


def test_config_path_explicit_then_env_then_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    explicit = tmp_path / "mine.toml"
    assert default_config_path(explicit) == explicit
    monkeypatch.setenv("KREADER_CONFIG", str(tmp_path / "env.toml"))
    assert default_config_path() == tmp_path / "env.toml"
    monkeypatch.delenv("KREADER_CONFIG")
    default = default_config_path()
    assert default.name == "kreader.toml"
    assert default.parent.name == "kreader"


# -- reading ---------------------------------------------------------------------------------------


def test_missing_file_gives_defaults(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "nowhere" / "kreader.toml")
    assert settings == Settings()
    assert settings.theme is None
    assert settings.width is None
    assert settings.kiosk is False
    assert settings.idle_seconds == 90
    assert settings.rotate_seconds == 25
    assert settings.featured is None
    assert settings.kiosk_theme == "kreader-contrast"
    assert settings.admin_pin_hash is None
    assert settings.content is None


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    assert load_settings(write(tmp_path, "# nothing yet\n")) == Settings()


def test_table_form(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"""# Waiting room
theme = "nord"
width = 80
content = "/srv/library"

[kiosk]
enabled = true
idle_seconds = 60
rotate_seconds = 12.5
featured = "flu-season"
theme = "textual-light"
admin_pin_hash = "{PIN_HASH}"
""",
    )
    assert load_settings(path) == Settings(
        theme="nord",
        width=80,
        kiosk=True,
        idle_seconds=60,
        rotate_seconds=12.5,
        featured="flu-season",
        kiosk_theme="textual-light",
        admin_pin_hash=PIN_HASH,
        content="/srv/library",
    )


@pytest.mark.parametrize("value", [True, False])
def test_flat_kiosk_form(tmp_path: Path, value: bool) -> None:
    path = write(tmp_path, f"kiosk = {str(value).lower()}\ntheme = 'gruvbox'\n")
    assert load_settings(path) == Settings(kiosk=value, theme="gruvbox")


def test_dotted_keys_are_the_table(tmp_path: Path) -> None:
    path = write(tmp_path, "kiosk.enabled = true\nkiosk.idle_seconds = 30\n")
    assert load_settings(path) == Settings(kiosk=True, idle_seconds=30)


def test_content_is_relative_to_the_settings_file(tmp_path: Path) -> None:
    path = write(tmp_path, 'content = "library"\n')
    assert load_settings(path).content == str(tmp_path / "library")
    path = write(tmp_path, 'content = "~/library"\n')
    assert load_settings(path).content == str(Path.home() / "library")


def test_byte_order_mark_and_crlf_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "kreader.toml"
    path.write_bytes(b'\xef\xbb\xbftheme = "nord"\r\n[kiosk]\r\nenabled = true\r\n')
    assert load_settings(path) == Settings(theme="nord", kiosk=True)


# -- errors: one line, naming the file, the line and the key --------------------------------------


def test_invalid_toml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, '# settings\ntheme = "nord"\nwidth = \n')
    error = error_of(path)
    assert str(error) == f"{path}:3: invalid TOML: Invalid value"
    assert error.line == 3


def test_invalid_toml_at_end_of_document(tmp_path: Path) -> None:
    path = write(tmp_path, 'theme = "nord"\n[kiosk]\nfeatured = [\n  "a",\n')
    error = error_of(path)
    assert str(error).startswith(f"{path}:4: invalid TOML: ")


def test_duplicate_key_is_invalid_toml(tmp_path: Path) -> None:
    path = write(tmp_path, "width = 80\nwidth = 90\n")
    assert str(error_of(path)).startswith(f"{path}:2: invalid TOML: ")


def test_wrong_type_names_line_and_key(tmp_path: Path) -> None:
    path = write(tmp_path, 'theme = "nord"\n\n[kiosk]\nenabled = true\nidle_seconds = "soon"\n')
    error = error_of(path)
    assert str(error) == f"{path}:5: key 'kiosk.idle_seconds' must be a number of seconds >= 5"
    assert error.key == "kiosk.idle_seconds"
    assert error.line == 5


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            "[kiosk]\nidle_seconds = 2\n",
            2,
            "key 'kiosk.idle_seconds' must be a number of seconds >= 5",
        ),
        ("[kiosk]\nidle_seconds = nan\n", 2, "key 'kiosk.idle_seconds' must be a number"),
        ("[kiosk]\n\n\nrotate_seconds = 0\n", 4, "key 'kiosk.rotate_seconds' must be a number"),
        ("[kiosk]\nrotate_seconds = true\n", 2, "key 'kiosk.rotate_seconds' must be a number"),
        ("# a\nwidth = 20\n", 2, "key 'width' must be a whole number of cells from 30 to 200"),
        ("width = 201\n", 1, "key 'width' must be a whole number of cells from 30 to 200"),
        ("width = 80.5\n", 1, "key 'width' must be a whole number"),
        ("width = true\n", 1, "key 'width' must be a whole number"),
        ("theme = 3\n", 1, "key 'theme' must be a theme name"),
        ('theme = "no spaces please"\n', 1, "key 'theme' must be a theme name"),
        ('theme = ""\n', 1, "key 'theme' must be a theme name"),
        ("content = 1\n", 1, "key 'content' must be the path of a library folder"),
        ('kiosk = "yes"\n', 1, "key 'kiosk' must be true, false or a [kiosk] table"),
        ("kiosk = 1\n", 1, "key 'kiosk' must be true, false or a [kiosk] table"),
        ("[kiosk]\nenabled = 1\n", 2, "key 'kiosk.enabled' must be true or false"),
        ('[kiosk]\nfeatured = ""\n', 2, "key 'kiosk.featured' must be an article id"),
        ('[kiosk]\ntheme = "a b"\n', 2, "key 'kiosk.theme' must be a theme name"),
        (
            '[kiosk]\nenabled = true\nadmin_pin_hash = "1234"\n',
            3,
            "key 'kiosk.admin_pin_hash' is not a PIN hash made by 'kreader kiosk set-pin'",
        ),
        (
            "kiosk = { enabled = true, idle_seconds = 1 }\n",
            1,
            "key 'kiosk.idle_seconds' must be a number",
        ),
    ],
)
def test_bad_values(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = write(tmp_path, text)
    assert str(error_of(path)).startswith(f"{path}:{line}: {message}")


def test_unknown_top_level_key_lists_known_keys(tmp_path: Path) -> None:
    path = write(tmp_path, '# settings\ncolour = "red"\n')
    error = error_of(path)
    assert (
        str(error)
        == f"{path}:2: unknown key 'colour' (known: content, glyphs, kiosk, language, theme, width)"
    )
    assert error.key == "colour"


def test_unknown_kiosk_key(tmp_path: Path) -> None:
    path = write(tmp_path, "[kiosk]\nenabled = true\nidle = 30\n")
    assert str(error_of(path)) == (
        f"{path}:3: unknown key 'kiosk.idle' (known: admin_pin_hash, attract_languages, enabled, "
        "featured, idle_seconds, rotate_seconds, theme)"
    )


def test_kiosk_key_at_top_level_says_where_it_belongs(tmp_path: Path) -> None:
    path = write(tmp_path, "kiosk = true\nidle_seconds = 30\n")
    assert str(error_of(path)) == (
        f"{path}:2: unknown key 'idle_seconds' (it belongs in the [kiosk] table)"
    )


def test_unknown_table(tmp_path: Path) -> None:
    path = write(tmp_path, 'theme = "nord"\n\n[reader]\nwidth = 80\n')
    assert str(error_of(path)).startswith(f"{path}:3: unknown key 'reader'")


def test_lines_inside_multiline_strings_are_not_keys(tmp_path: Path) -> None:
    # Line-ending backslashes join the lines: content is "/srv/[kiosk]width = 1".
    path = write(tmp_path, 'content = """\\\n/srv/\\\n[kiosk]\\\nwidth = 1\\\n"""\nwidth = 10\n')
    assert str(error_of(path)).startswith(f"{path}:6: key 'width'")


def test_key_with_a_newline_stays_on_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, '"the\\nme" = 1\n')
    assert str(error_of(path)) == (
        f"{path}:1: unknown key 'the\\nme' (known: content, glyphs, kiosk, language, theme, width)"
    )


def test_invalid_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "kreader.toml"
    path.write_bytes(b'theme = "nord"\n# caf\xe9\n')
    assert str(error_of(path)) == f"{path}:2: not valid UTF-8 (byte 0xe9)"


def test_unreadable_file(tmp_path: Path) -> None:
    assert str(error_of(tmp_path)).startswith(f"{tmp_path}: cannot read settings: ")


@pytest.mark.skipif(
    sys.platform == "win32" or os.geteuid() == 0, reason="needs POSIX permissions, not root"
)
def test_unreadable_permissions(tmp_path: Path) -> None:
    path = write(tmp_path, 'theme = "nord"\n')
    path.chmod(0)
    assert str(error_of(path)) == f"{path}: cannot read settings: Permission denied"


# -- saving preferences ---------------------------------------------------------------------------

COMMENTED = """\
# kreader settings for the waiting room
theme = "nord"  # the clinic's favourite

# Kiosk: do not change without asking Sam
[kiosk]
enabled = false  # on from Monday
idle_seconds = 120
"""


def test_save_preferences_preserves_comments(tmp_path: Path) -> None:
    path = write(tmp_path, COMMENTED)
    save_preferences(path, theme="dracula", width=88)
    assert (
        path.read_text()
        == """\
# kreader settings for the waiting room
theme = "dracula"  # the clinic's favourite
width = 88

# Kiosk: do not change without asking Sam
[kiosk]
enabled = false  # on from Monday
idle_seconds = 120
"""
    )
    assert load_settings(path) == Settings(theme="dracula", width=88, idle_seconds=120)


def test_save_preferences_none_removes_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, COMMENTED)
    save_preferences(path, theme=None)
    assert path.read_text() == COMMENTED.replace('theme = "nord"  # the clinic\'s favourite\n', "")
    save_preferences(path, width=None)  # not there: nothing changes
    assert load_settings(path).theme is None


def test_save_preferences_inserts_before_the_first_table(tmp_path: Path) -> None:
    path = write(tmp_path, "[kiosk]\nenabled = true\n")
    save_preferences(path, width=60)
    assert path.read_text() == "width = 60\n\n[kiosk]\nenabled = true\n"
    assert load_settings(path) == Settings(width=60, kiosk=True)


def test_save_preferences_creates_file_and_folders(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "kreader.toml"
    save_preferences(path, theme="textual-light")
    assert load_settings(path) == Settings(theme="textual-light")
    assert [p.name for p in path.parent.iterdir()] == ["kreader.toml"]  # no temporary left


def test_save_preferences_keeps_crlf_and_mode(tmp_path: Path) -> None:
    path = tmp_path / "kreader.toml"
    path.write_bytes(b'theme = "nord"\r\n')
    path.chmod(0o640)
    save_preferences(path, width=50)
    assert path.read_bytes() == b'theme = "nord"\r\nwidth = 50\r\n'
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_save_preferences_refuses_an_invalid_file(tmp_path: Path) -> None:
    text = '# mine\ntheme = "nord"\nwidth = \n'
    path = write(tmp_path, text)
    with pytest.raises(SettingsError) as caught:
        save_preferences(path, theme="dracula")
    assert str(caught.value).startswith(f"{path}:3: invalid TOML")
    assert "not saved" in str(caught.value)
    assert path.read_text() == text


def test_save_preferences_rejects_bad_values(tmp_path: Path) -> None:
    path = tmp_path / "kreader.toml"
    with pytest.raises(SettingsError, match="width must be a whole number from 30 to 200"):
        save_preferences(path, width=10)
    with pytest.raises(SettingsError, match="theme must be a theme name"):
        save_preferences(path, theme="bad\nname")
    with pytest.raises(TypeError):
        save_preferences(path, kiosk=1)
    assert not path.exists()


@pytest.mark.skipif(
    sys.platform == "win32" or os.geteuid() == 0, reason="needs POSIX permissions, not root"
)
def test_save_preferences_unwritable_folder(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    path = write(folder, 'theme = "nord"\n')
    folder.chmod(0o500)
    try:
        with pytest.raises(SettingsError) as caught:
            save_preferences(path, width=50)
    finally:
        folder.chmod(0o700)
    assert str(caught.value) == f"{path}: cannot write settings: Permission denied"
    assert path.read_text() == 'theme = "nord"\n'


def test_save_preferences_follows_a_symlink(tmp_path: Path) -> None:
    real = write(tmp_path, 'theme = "nord"\n', "real.toml")
    link = tmp_path / "kreader.toml"
    link.symlink_to(real)
    save_preferences(link, width=40)
    assert link.is_symlink()
    assert real.read_text() == 'theme = "nord"\nwidth = 40\n'


# -- saving the PIN hash --------------------------------------------------------------------------


def test_save_kiosk_pin_into_existing_table(tmp_path: Path) -> None:
    path = write(tmp_path, COMMENTED + "\n# end\n")
    save_kiosk_pin(path, PIN_HASH)
    assert path.read_text() == COMMENTED + f'admin_pin_hash = "{PIN_HASH}"\n\n# end\n'
    save_kiosk_pin(path, PIN_HASH.replace("EiL0", "AAAA"))  # replaced, not added
    assert path.read_text().count("admin_pin_hash") == 1


def test_save_kiosk_pin_new_file(tmp_path: Path) -> None:
    path = tmp_path / "new" / "kreader.toml"
    save_kiosk_pin(path, PIN_HASH)
    assert load_settings(path) == Settings(admin_pin_hash=PIN_HASH)
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_save_kiosk_pin_turns_flat_kiosk_into_a_table(tmp_path: Path) -> None:
    path = write(tmp_path, "# top\nkiosk = true  # waiting room\ntheme = 'nord'\n")
    save_kiosk_pin(path, PIN_HASH)
    assert path.read_text() == (
        "# top\ntheme = 'nord'\n\n[kiosk]\nenabled = true  # waiting room\n"
        f'admin_pin_hash = "{PIN_HASH}"\n'
    )
    assert load_settings(path) == Settings(kiosk=True, theme="nord", admin_pin_hash=PIN_HASH)


def test_save_kiosk_pin_with_dotted_keys(tmp_path: Path) -> None:
    path = write(tmp_path, "kiosk.enabled = true\n")
    save_kiosk_pin(path, PIN_HASH)
    assert load_settings(path) == Settings(kiosk=True, admin_pin_hash=PIN_HASH)


def test_save_kiosk_pin_refuses_inline_table(tmp_path: Path) -> None:
    text = "kiosk = { enabled = true }\n"
    path = write(tmp_path, text)
    with pytest.raises(SettingsError, match=r":1: cannot save the staff PIN: 'kiosk' is an inline"):
        save_kiosk_pin(path, PIN_HASH)
    assert path.read_text() == text


def test_save_kiosk_pin_rejects_a_malformed_hash(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        save_kiosk_pin(tmp_path / "kreader.toml", "1234")


def test_save_preferences_write_failure_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, 'theme = "nord"\n')

    def refuse(*args: object, **kwargs: object) -> tuple[int, str]:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("kreader.settings.tempfile.mkstemp", refuse)
    with pytest.raises(SettingsError) as caught:
        save_preferences(path, width=50)
    assert str(caught.value) == f"{path}: cannot write settings: Permission denied"
    assert path.read_text() == 'theme = "nord"\n'
