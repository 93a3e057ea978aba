"""The kiosk policy: what a waiting-room kiosk allows, when it goes idle, and the staff PIN's lockout.

This module never imports Textual and never acts: the app asks it and applies the answer. Time
comes from an injectable clock (``time.monotonic`` by default), so idle and rotation logic can be
tested without sleeping. It takes plain values (seconds, the PIN's hash), not the settings: hashing
and checking a PIN is `kreader.pin`'s job, reading the settings file `kreader.settings`'s.

How the app is expected to use it:

- on every input event: ``if policy.wake():`` drop the event (it only ended the attract loop);
  else ``is_staff_chord(key)`` opens the PIN dialog, and only keys for which
  ``is_key_allowed(key, in_dialog=..., character=...)`` is True are acted on;
- on a timer (about once a second): ``if not policy.in_attract and policy.is_idle():``
  ``policy.enter_attract()`` (featured article, kiosk theme); ``elif policy.rotation_due():``
  act on ``next_attract_step(...)`` (page down, or the next section), then ``policy.rotated()``;
  draw ``policy.countdown_fraction()``;
- in the PIN dialog: ``gate = policy.pin_gate()`` once, then ``gate.attempt(text)``. Treat
  ``"no-pin"`` as *not* unlocked: with no PIN set, nobody can leave the kiosk from the keyboard.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, MutableMapping
from typing import Final, Literal

from kreader.pin import verify_pin

Clock = Callable[[], float]
"""A source of seconds that only moves forward, like `time.monotonic`."""

AttractStep = Literal["page", "next-section"]
PinResult = Literal["ok", "wrong", "locked", "no-pin"]

# --- keys -----------------------------------------------------------------------------------------
# Names are Textual's `events.Key.key` values ("right_square_bracket" for "]"; "]" is accepted
# too). The rules, in order:
#   1. the staff chord (STAFF_KEYS) is never a reading key: check `is_staff_chord` first and open
#      the PIN dialog;
#   2. outside a dialog only READING_KEYS are allowed: everything else (BLOCKED_KEYS, any other
#      ctrl/alt chord, function keys, letters without a reading action) is ignored;
#   3. inside a dialog (search box, PIN entry, help) DIALOG_KEYS and READING_KEYS are allowed,
#      and so is a key that types a printable character (even "q"), but no ctrl/alt chord, so
#      BLOCKED_KEYS never act as commands; escape (close the dialog) is allowed only there.

READING_KEYS: Final = frozenset(
    {
        "up",
        "down",
        "left",
        "right",
        "pageup",
        "pagedown",
        "shift+pageup",  # the footer's ▲ Up and ▼ Down send these when tapped
        "shift+pagedown",
        "space",
        "home",
        "end",
        "g",  # top
        "G",  # bottom
        "shift+g",
        "n",  # next section
        "p",  # previous section
        "l",  # the other language (English / Español)
        "right_square_bracket",  # ] next article
        "left_square_bracket",  # [ previous article
        "tab",
        "shift+tab",
        "enter",
        "slash",  # / search
        "b",  # bookmark this section
        "B",  # bookmarks list
        "shift+b",
        "s",  # sections (contents)
        "c",  # contact
        "question_mark",  # ? help
        "f1",  # help
    }
)
"""Reading keys, allowed everywhere in kiosk mode."""

ALLOWED_KEYS: Final = READING_KEYS

DIALOG_KEYS: Final = frozenset(
    {"escape", "backspace", "delete", "left", "right", "home", "end", "enter"}
)
"""Keys allowed inside a dialog, on top of reading keys and printable characters."""

BLOCKED_KEYS: Final = frozenset(
    {"ctrl+c", "ctrl+q", "ctrl+z", "ctrl+backslash", "q", "ctrl+p", "ctrl+s"}
)
"""Quit, suspend, signal, command palette and save keys: never acted on in kiosk mode."""

STAFF_KEYS: Final = frozenset({"f12", "ctrl+alt+a"})
"""The staff chord, which asks for the PIN. Many terminals cannot send ctrl+alt+a; F12 works."""

_KEY_ALIASES = {
    "]": "right_square_bracket",
    "[": "left_square_bracket",
    "/": "slash",
    "?": "question_mark",
    " ": "space",
    "\\": "backslash",
    "ctrl+\\": "ctrl+backslash",
}


def _key_name(key: str) -> str:
    return _KEY_ALIASES.get(key, key)


def is_staff_chord(key: str) -> bool:
    """Is ``key`` the staff chord (F12 or ctrl+alt+a), which opens the PIN dialog?"""
    return _key_name(key) in STAFF_KEYS


def is_key_allowed(key: str, *, in_dialog: bool = False, character: str | None = None) -> bool:
    """May the kiosk act on ``key``? ``character``: the character it types, if any (for dialogs)."""
    key = _key_name(key)
    if key in STAFF_KEYS:
        return False
    if in_dialog:
        if key in DIALOG_KEYS or key in READING_KEYS:
            return True
        if any(modifier in key for modifier in ("ctrl+", "alt+", "super+", "meta+", "hyper+")):
            return False
        return character is not None and len(character) == 1 and character.isprintable()
    return key in READING_KEYS


# --- environment ----------------------------------------------------------------------------------

WEB_DRIVER: Final = "textual.drivers.web_driver:WebDriver"
"""The one ``TEXTUAL_DRIVER`` value kept (for ``kreader serve``)."""

BLOCKED_ENV: Final = (
    "TEXTUAL_ALLOW_SIGNALS",  # ctrl+c / ctrl+z / ctrl+\ would be signals again
    "TEXTUAL_PRESS",  # keys pressed automatically at start
    "TEXTUAL_DRIVER",  # another driver (kept only for the web driver, see sanitize_environment)
    "TEXTUAL",  # devtools and other feature flags
    "TEXTUAL_SCREENSHOT",  # saves a screenshot and EXITS the app after a delay
    "TEXTUAL_SCREENSHOT_LOCATION",
    "TEXTUAL_SCREENSHOT_FILENAME",
)
"""Environment variables that let a kiosk be left or driven; removed before Textual is imported."""


def sanitize_environment(
    environ: MutableMapping[str, str], *, allow_web_driver: bool = False
) -> list[str]:
    """Remove `BLOCKED_ENV` variables from ``environ`` (usually ``os.environ``); return their names.

    With ``allow_web_driver``, ``TEXTUAL_DRIVER`` is kept if it is exactly `WEB_DRIVER`. Call it
    before Textual is imported: Textual reads most of these at import time.
    """
    removed: list[str] = []
    for name in BLOCKED_ENV:
        if name not in environ:
            continue
        if name == "TEXTUAL_DRIVER" and allow_web_driver and environ[name] == WEB_DRIVER:
            continue
        del environ[name]
        removed.append(name)
    return removed


# --- idle, attract loop ---------------------------------------------------------------------------


def next_attract_step(scroll_y: float, max_scroll_y: float, page: float) -> AttractStep:
    """Page down while the section has at least one more line to show, else go to the next one.

    ``page`` is the height of the view: with no room to show anything, paging would never finish.
    """
    values = (scroll_y, max_scroll_y, page)
    if not all(math.isfinite(value) for value in values) or page < 1:
        return "next-section"
    return "page" if max_scroll_y - scroll_y >= 1 else "next-section"


class KioskPolicy:
    """Idle detection and the attract loop's timing, by an injectable clock.

    Starts active (not idle, not in the attract loop) at the clock's current time.
    """

    next_attract_step = staticmethod(next_attract_step)

    def __init__(
        self,
        *,
        idle_seconds: float,
        rotate_seconds: float,
        pin_hash: str | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        self.idle_seconds = float(idle_seconds)
        """No input for this long starts the attract loop (the settings' ``kiosk.idle_seconds``)."""
        self.rotate_seconds = float(rotate_seconds)
        """The attract loop moves on this often (the settings' ``kiosk.rotate_seconds``)."""
        self.pin_hash = pin_hash
        """The staff PIN's hash (see `kreader.pin.hash_pin`); None: no PIN is set."""
        self.clock = clock
        self._last_activity = clock()
        self._attract = False
        self._rotation_mark = self._last_activity

    def touch(self) -> None:
        """Record activity (any input) now."""
        self._last_activity = self.clock()

    def seconds_since_activity(self) -> float:
        return max(0.0, self.clock() - self._last_activity)

    def is_idle(self) -> bool:
        """Has there been no activity for ``idle_seconds``?"""
        return self.seconds_since_activity() >= self.idle_seconds

    @property
    def in_attract(self) -> bool:
        """Is the attract loop running?"""
        return self._attract

    def enter_attract(self) -> None:
        """Start the attract loop (if not running); the first rotation is rotate_seconds away."""
        if not self._attract:
            self._attract = True
            self._rotation_mark = self.clock()

    def wake(self) -> bool:
        """Input arrived: record it, leave the attract loop. True if the input only woke the kiosk.

        When True the app must not act on the input: the first key or click only ends the loop.
        """
        woke = self._attract
        self._attract = False
        self.touch()
        return woke

    def rotation_due(self) -> bool:
        """In the attract loop, has ``rotate_seconds`` passed since it started or last `rotated`?"""
        return self._attract and self.clock() - self._rotation_mark >= self.rotate_seconds

    def rotated(self) -> None:
        """The app moved the attract loop on: the next rotation is ``rotate_seconds`` from now."""
        self._rotation_mark = self.clock()

    def countdown_fraction(self) -> float:
        """Share of the wait until the next rotation still to go: 1.0 just after one, 0.0 when due.

        0.0 outside the attract loop (no countdown to draw).
        """
        if not self._attract:
            return 0.0
        elapsed = self.clock() - self._rotation_mark
        return min(1.0, max(0.0, 1.0 - elapsed / self.rotate_seconds))

    def pin_gate(self) -> PinGate:
        """A `PinGate` for the staff PIN, on this policy's clock."""
        return PinGate(self.pin_hash, self.clock)


# --- the staff PIN gate --------------------------------------------------------------------------

MAX_ATTEMPTS: Final = 5
LOCKOUT_SECONDS: Final = 60.0


class PinGate:
    """Checks staff PIN attempts; `MAX_ATTEMPTS` wrong ones in a row lock it for `LOCKOUT_SECONDS`.

    ``attempt`` answers ``"ok"``, ``"wrong"``, ``"locked"`` (the attempt was not checked, or it
    was the wrong one that caused the lock) or ``"no-pin"`` (no PIN is set: nothing unlocks).
    """

    def __init__(
        self,
        pin_hash: str | None,
        clock: Clock = time.monotonic,
        *,
        max_attempts: int = MAX_ATTEMPTS,
        lockout_seconds: float = LOCKOUT_SECONDS,
    ) -> None:
        self.pin_hash = pin_hash
        self.clock = clock
        self.max_attempts = max_attempts
        self.lockout_seconds = lockout_seconds
        self.failures = 0
        """Wrong attempts in a row since the last success or lock."""
        self._locked_until: float | None = None

    def locked_for(self) -> float:
        """Seconds until attempts are accepted again (0.0 when not locked)."""
        if self._locked_until is None:
            return 0.0
        left = self._locked_until - self.clock()
        if left <= 0:
            self._locked_until = None
            return 0.0
        return left

    @property
    def attempts_left(self) -> int:
        """Wrong attempts still allowed before the lock."""
        return self.max_attempts - self.failures

    def attempt(self, pin: str) -> PinResult:
        """Check one PIN attempt."""
        if self.pin_hash is None:
            return "no-pin"
        if self.locked_for() > 0:
            return "locked"
        if verify_pin(pin, self.pin_hash):
            self.failures = 0
            return "ok"
        self.failures += 1
        if self.failures >= self.max_attempts:
            self.failures = 0
            self._locked_until = self.clock() + self.lockout_seconds
            return "locked"
        return "wrong"
