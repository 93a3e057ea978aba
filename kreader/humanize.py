"""Words people use for numbers: how long ago something happened."""

from __future__ import annotations

import datetime as dt

from kreader.i18n import _, ngettext


def ago(created: float, now: float) -> str:
    """How long ago, as people say it ("just now", "5 minutes ago", "yesterday"); a date after two months."""
    seconds = now - created
    if seconds < -60 or seconds >= 60 * 86400:
        return dt.datetime.fromtimestamp(created).strftime("%Y-%m-%d")
    if seconds >= 86400:
        count = int(seconds // 86400)
        if count == 1:
            return _("yesterday")
        return ngettext("{count} day ago", "{count} days ago", count).format(count=count)
    if seconds >= 3600:
        count = int(seconds // 3600)
        return ngettext("{count} hour ago", "{count} hours ago", count).format(count=count)
    if seconds >= 60:
        count = int(seconds // 60)
        return ngettext("{count} minute ago", "{count} minutes ago", count).format(count=count)
    return _("just now")
