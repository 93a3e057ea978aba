"""The one helper that finds where a TOML key is set (settings, front matter and ``kreader check`` use it)."""

from __future__ import annotations

import pytest

from kreader.tomlkey import key_line, key_parts

TEXT = """\
# a comment = not a key
theme = "nord"
"quoted.key" = 1
site . 'name' = "x"
notes = '''
fake = 1
[fake]
'''
list = [
  "[not]",
  { inner = 2 },
]
contact = { name = "Sam", phone = "1" }

[kiosk]
  enabled = true  # indented
[kiosk.deep]
x = 1
"""


@pytest.mark.parametrize(
    ("key", "line"),
    [
        (("theme",), 2),
        (("quoted.key",), 3),
        (("site", "name"), 4),
        (("site",), 4),  # a dotted key opens its table
        (("notes",), 5),
        (("fake",), None),  # inside a multi-line string
        (("list",), 9),
        (("inner",), None),  # inside an array
        (("contact", "phone"), 13),  # inside an inline table: the table's line
        (("kiosk",), 15),
        (("kiosk", "enabled"), 16),
        (("kiosk", "missing"), 15),  # not set: its table's line
        (("kiosk", "deep", "x"), 18),
        (("nowhere",), None),
        ((), None),
    ],
)
def test_key_line(key: tuple[str, ...], line: int | None) -> None:
    assert key_line(TEXT, key) == line


def test_a_table_set_only_through_its_children_is_found_there() -> None:
    assert key_line("a = 1\n[reader.colours]\nx = 1\n", ("reader",)) == 2


def test_first_line_counts_from_the_file() -> None:
    """Front matter starts on the file's second line, after its ``+++``."""
    assert key_line('title = "x"\nextra = 1\n', ("extra",), first_line=2) == 3


def test_crlf_and_no_final_newline() -> None:
    assert key_line('a = 1\r\n[t]\r\nb = """\r\nc = 1\r\n"""', ("t", "b")) == 3
    assert key_line('a = 1\r\n[t]\r\nb = """\r\nc = 1\r\n"""', ("t", "c")) == 2


def test_key_parts() -> None:
    assert key_parts('a."b.c" . d') == ("a", "b.c", "d")
    assert key_parts("'lit'") == ("lit",)
