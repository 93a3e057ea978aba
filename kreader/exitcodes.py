"""Exit statuses of ``kreader`` that a service manager acts on. Imports nothing: any layer may use it.

What every status means (docs/kiosk.md has the same table for staff):

- 0: the reader was closed, or the kiosk was stopped by SIGTERM or SIGHUP (``systemctl stop``, a hang-up);
- 1: an internal error (the kiosk exits with 1 only after `kreader.kiosk_app.run_kiosk` saw five errors
  within a minute; a single error restarts it in place);
- 2: a mistake a person can fix: an option, the settings file, the content folder, a port already in use;
- `STAFF_EXIT`: staff left the kiosk from the staff menu (the PIN, then "leave the kiosk");
- 128 + N: stopped by signal N (the reader; the kiosk handles SIGTERM and SIGHUP itself).
"""

from __future__ import annotations

from typing import Final

STAFF_EXIT: Final = 10
"""Staff left the kiosk on purpose: the systemd units list it in ``RestartPreventExitStatus=``, so the kiosk
stays stopped instead of coming back two seconds later (``Restart=always`` restarts after any other status).

Why 10: not 0 (SIGTERM and SIGHUP end the kiosk with 0, and a hang-up should bring it back), not 1 or 2
(errors, which should be retried), outside sysexits' 64-78 (75 is the kiosk's internal "start me afresh"), below
126-255 (shells' "cannot run", 128 + a signal, systemd's own 200-243, foot's 230), so it cannot be mistaken
for anything else a kiosk process might end with."""
