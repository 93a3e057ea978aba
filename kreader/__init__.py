"""kreader: a fast terminal reader for articles, with a waiting-room kiosk mode."""

import sys as _sys

__version__ = "0.1.0"

# markdown-it imports linkify-it whenever it is installed (Textual depends on it) and gives every parser
# a LinkifyIt: 1.5 MB of memory and 6 ms of start-up for a feature kreader never turns on (no parser of
# ours, nor Rich's, enables linkify). A None in sys.modules makes that import fail as if it were absent,
# which markdown-it handles; a process that imported it before kreader keeps it.
_sys.modules.setdefault("linkify_it", None)  # type: ignore[arg-type]
