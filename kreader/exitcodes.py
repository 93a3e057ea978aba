"""Exit statuses of the kiosk that mean something to its service manager.

The kiosk unit restarts the kiosk whatever its status (``Restart=always``), except for the statuses it lists in
``RestartPreventExitStatus=``: `STAFF_EXIT` is one of them, so a member of staff who leaves through the staff
menu finds the kiosk stopped, not back two seconds later.
"""

from __future__ import annotations

from typing import Final

STAFF_EXIT: Final = 10
"""Staff left the kiosk through the staff menu (F12, the PIN, "Leave the kiosk"): do not restart it."""
