"""Words people use for numbers: how long ago something happened."""

from __future__ import annotations

import datetime as dt


def ago(created: float, now: float) -> str:
    """How long ago, as people say it ("just now", "5 minutes ago", "yesterday"); a date after two months."""
    seconds = now - created
    if seconds < -60 or seconds >= 60 * 86400:
        return dt.datetime.fromtimestamp(created).strftime("%Y-%m-%d")
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = int(seconds // size)
            if unit == "day" and count == 1:
                return "yesterday"
            return f"{count} {unit}{'' if count == 1 else 's'} ago"
    return "just now"
