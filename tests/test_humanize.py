"""One "how long ago" for the bookmarks dialog and the CLI's list."""

from __future__ import annotations

import datetime as dt

import pytest

from kreader.humanize import ago

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (0, "just now"),
        (59, "just now"),
        (60, "1 minute ago"),
        (5 * 60 + 30, "5 minutes ago"),
        (3600, "1 hour ago"),
        (86400, "yesterday"),
        (3 * 86400, "3 days ago"),
    ],
)
def test_recent_times_in_words(seconds: float, said: str) -> None:
    assert ago(NOW - seconds, NOW) == said


def test_old_and_future_times_are_dates() -> None:
    long_ago = NOW - 90 * 86400
    assert ago(long_ago, NOW) == dt.datetime.fromtimestamp(long_ago).strftime("%Y-%m-%d")
    in_future = NOW + 3600  # a clock that went back: a date, never "-1 hours ago"
    assert ago(in_future, NOW) == dt.datetime.fromtimestamp(in_future).strftime("%Y-%m-%d")
