"""The kiosk policy on a fake clock: idle, attract loop, keys, environment and the staff PIN."""

from __future__ import annotations

import hashlib
import hmac
import subprocess
import sys
from collections.abc import Iterator

import pytest

from kreader import kiosk, pin
from kreader.kiosk import (
    ALLOWED_KEYS,
    BLOCKED_ENV,
    BLOCKED_KEYS,
    WEB_DRIVER,
    KioskPolicy,
    PinGate,
    is_key_allowed,
    is_staff_chord,
    next_attract_step,
    sanitize_environment,
)
from kreader.pin import hash_pin, pin_problem, verify_pin


class FakeClock:
    """A clock that moves only when told."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="module")
def pin_hash() -> Iterator[str]:
    """One real hash of PIN 2468 for the module (hashing is deliberately slow)."""
    yield hash_pin("2468")


def make_policy(
    clock: FakeClock,
    *,
    idle_seconds: float = 90.0,
    rotate_seconds: float = 25.0,
    pin_hash: str | None = None,
) -> KioskPolicy:
    return KioskPolicy(
        idle_seconds=idle_seconds, rotate_seconds=rotate_seconds, pin_hash=pin_hash, clock=clock
    )


# -- idle and the attract loop ------------------------------------------------------------------


def test_idle_after_idle_seconds(clock: FakeClock) -> None:
    policy = make_policy(clock)
    assert not policy.is_idle()
    clock.advance(89.9)
    assert not policy.is_idle()
    clock.advance(0.1)
    assert policy.is_idle()
    policy.touch()
    assert not policy.is_idle()
    assert policy.seconds_since_activity() == 0


def test_idle_attract_rotation_wake(clock: FakeClock) -> None:
    policy = make_policy(clock)
    clock.advance(90)
    assert policy.is_idle()
    assert not policy.in_attract
    assert not policy.rotation_due()  # no rotation outside the attract loop
    policy.enter_attract()
    assert policy.in_attract

    clock.advance(24.9)
    assert not policy.rotation_due()
    clock.advance(0.1)
    assert policy.rotation_due()
    policy.rotated()
    assert not policy.rotation_due()
    clock.advance(25)
    assert policy.rotation_due()
    policy.rotated()

    clock.advance(3)
    assert policy.wake() is True  # this key only woke the kiosk
    assert not policy.in_attract
    assert not policy.is_idle()
    assert not policy.rotation_due()
    assert policy.wake() is False  # the next one is acted on
    clock.advance(90)
    assert policy.is_idle()


def test_enter_attract_twice_keeps_the_countdown(clock: FakeClock) -> None:
    policy = make_policy(clock)
    policy.enter_attract()
    clock.advance(20)
    policy.enter_attract()
    clock.advance(5)
    assert policy.rotation_due()


def test_countdown_fraction(clock: FakeClock) -> None:
    policy = make_policy(clock, rotate_seconds=20.0)
    assert policy.countdown_fraction() == 0.0  # no countdown outside the attract loop
    policy.enter_attract()
    assert policy.countdown_fraction() == 1.0
    clock.advance(5)
    assert policy.countdown_fraction() == pytest.approx(0.75)
    clock.advance(10)
    assert policy.countdown_fraction() == pytest.approx(0.25)
    clock.advance(10)
    assert policy.countdown_fraction() == 0.0  # overdue: clamped
    policy.rotated()
    assert policy.countdown_fraction() == 1.0


@pytest.mark.parametrize(
    ("scroll_y", "max_scroll_y", "page", "step"),
    [
        (0, 100, 20, "page"),
        (80, 100, 20, "page"),
        (99, 100, 20, "page"),
        (99.5, 100, 20, "next-section"),  # less than a line left
        (100, 100, 20, "next-section"),
        (0, 0, 20, "next-section"),  # the section fits
        (0, 100, 0, "next-section"),  # no room to page through
        (0, float("nan"), 20, "next-section"),
    ],
)
def test_next_attract_step(scroll_y: float, max_scroll_y: float, page: float, step: str) -> None:
    assert next_attract_step(scroll_y, max_scroll_y, page) == step
    assert KioskPolicy.next_attract_step(scroll_y, max_scroll_y, page) == step


# -- keys ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "up",
        "down",
        "left",
        "right",
        "pageup",
        "pagedown",
        "space",
        "home",
        "end",
        "g",
        "G",
        "n",
        "p",
        "right_square_bracket",
        "left_square_bracket",
        "]",
        "[",
        "tab",
        "shift+tab",
        "enter",
        "slash",
        "b",
        "B",
        "s",
        "c",
        "question_mark",
        "f1",
    ],
)
def test_reading_keys_are_allowed(key: str) -> None:
    assert is_key_allowed(key)
    assert is_key_allowed(key, in_dialog=True)


@pytest.mark.parametrize(
    "key", sorted(BLOCKED_KEYS | {"ctrl+d", "ctrl+l", "f2", "x", "escape", "f12", "ctrl+alt+a"})
)
def test_other_keys_are_blocked_when_reading(key: str) -> None:
    assert not is_key_allowed(key)


def test_escape_only_inside_dialogs() -> None:
    assert not is_key_allowed("escape")
    assert is_key_allowed("escape", in_dialog=True)


def test_dialogs_accept_typing_but_not_chords() -> None:
    assert is_key_allowed("q", in_dialog=True, character="q")  # typing a search word
    assert is_key_allowed("7", in_dialog=True, character="7")  # typing the PIN
    assert is_key_allowed("backspace", in_dialog=True)
    assert not is_key_allowed("q", character="q")
    for key in BLOCKED_KEYS - {"q"}:
        assert not is_key_allowed(key, in_dialog=True, character="\x03")
        assert not is_key_allowed(key, in_dialog=True, character="x")
    assert not is_key_allowed("f12", in_dialog=True)


def test_staff_chord() -> None:
    assert is_staff_chord("f12")
    assert is_staff_chord("ctrl+alt+a")
    assert not is_staff_chord("ctrl+a")
    assert not is_staff_chord("q")
    assert not (ALLOWED_KEYS & BLOCKED_KEYS)
    assert "escape" not in ALLOWED_KEYS


def test_key_names_match_textual() -> None:
    """The key sets use the names Textual's key events carry (tests may import Textual)."""
    from textual.keys import _character_to_key

    for character in "gGnpbBsc":
        assert _character_to_key(character) in ALLOWED_KEYS
    for character in " []/?":
        assert _character_to_key(character) in ALLOWED_KEYS
        assert is_key_allowed(character)


# -- environment --------------------------------------------------------------------------------


def test_sanitize_environment_removes_blocked_names() -> None:
    environ = {name: "1" for name in BLOCKED_ENV} | {"HOME": "/home/x", "TEXTUAL_THEME": "nord"}
    removed = sanitize_environment(environ)
    assert sorted(removed) == sorted(BLOCKED_ENV)
    assert environ == {"HOME": "/home/x", "TEXTUAL_THEME": "nord"}
    assert sanitize_environment(environ) == []
    for name in ("TEXTUAL_ALLOW_SIGNALS", "TEXTUAL_PRESS", "TEXTUAL_DRIVER", "TEXTUAL"):
        assert name in BLOCKED_ENV


def test_sanitize_environment_keeps_only_the_web_driver() -> None:
    environ = {"TEXTUAL_DRIVER": WEB_DRIVER, "TEXTUAL_PRESS": "ctrl+q"}
    assert sanitize_environment(environ, allow_web_driver=True) == ["TEXTUAL_PRESS"]
    assert environ == {"TEXTUAL_DRIVER": WEB_DRIVER}
    assert sanitize_environment(environ) == ["TEXTUAL_DRIVER"]

    other = {"TEXTUAL_DRIVER": "evil.module:Driver"}
    assert sanitize_environment(other, allow_web_driver=True) == ["TEXTUAL_DRIVER"]
    assert other == {}


def test_modules_do_not_import_textual() -> None:
    code = (
        "import sys, kreader.settings, kreader.kiosk, kreader.pin, kreader.commands.kiosk\n"
        "bad = [m for m in sys.modules if m == 'textual' or m.startswith('textual.')]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# -- the PIN ------------------------------------------------------------------------------------


def test_pin_rules() -> None:
    assert pin_problem("1234") is None
    assert pin_problem("123456789012") is None
    for bad in ("", "123", "1234567890123", "12a4", "12 34", "١٢٣٤", "²²²²"):
        assert pin_problem(bad) == "a staff PIN must be 4 to 12 digits (0-9)"
        with pytest.raises(ValueError):
            hash_pin(bad)


def test_hash_and_verify(pin_hash: str) -> None:
    assert pin_hash.startswith("scrypt$16384$8$1$")
    assert len(pin_hash.split("$")) == 6
    assert "2468" not in pin_hash
    assert verify_pin("2468", pin_hash)
    assert not verify_pin("2469", pin_hash)
    assert not verify_pin("", pin_hash)


def test_hash_is_salted() -> None:
    salt = b"0123456789abcdef"
    assert hash_pin("1234", salt=salt) == hash_pin("1234", salt=salt)
    assert hash_pin("1234", salt=salt) != hash_pin("1234", salt=b"fedcba9876543210")


def test_verify_uses_constant_time_compare(pin_hash: str, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert verify_pin("2468", pin_hash)
    assert not verify_pin("1357", pin_hash)
    assert len(calls) == 2


@pytest.mark.parametrize(
    "stored",
    [
        None,
        "",
        "1234",
        "scrypt$16384$8$1$notbase64!$AAAA",
        "scrypt$16384$8$1$AAAAAA==$AAAAAAAAAAAAAAAAAAAAAA==",  # salt too short
        "scrypt$1000$8$1$MDEyMzQ1Njc4OWFiY2RlZg==$" + "A" * 43 + "=",  # n not a power of 2
        "scrypt$1073741824$8$1$MDEyMzQ1Njc4OWFiY2RlZg==$" + "A" * 43 + "=",  # absurd cost
        "md5$abc",
    ],
)
def test_malformed_hash_never_matches(stored: str | None) -> None:
    assert not verify_pin("1234", stored)


def test_pbkdf2_fallback_without_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    assert pin.PBKDF2_ITERATIONS == 600_000
    monkeypatch.delattr(hashlib, "scrypt")
    monkeypatch.setattr(pin, "PBKDF2_ITERATIONS", 100_000)  # the floor, to keep the test fast
    stored = hash_pin("4321")
    assert stored.startswith("pbkdf2-sha256$100000$")
    assert verify_pin("4321", stored)
    assert not verify_pin("4322", stored)
    assert pin.pin_hash_problem(stored) is None
    scrypt_hash = "scrypt$16384$8$1$MDEyMzQ1Njc4OWFiY2RlZg==$" + "A" * 43 + "="
    assert "scrypt" in (pin.pin_hash_problem(scrypt_hash) or "")
    assert not verify_pin("4321", scrypt_hash)


# -- the PIN gate -------------------------------------------------------------------------------


def test_gate_with_a_real_hash(clock: FakeClock, pin_hash: str) -> None:
    gate = make_policy(clock, pin_hash=pin_hash).pin_gate()
    assert gate.attempt("1111") == "wrong"
    assert gate.attempts_left == 4
    assert gate.attempt("2468") == "ok"
    assert gate.attempts_left == 5


def test_gate_without_a_pin(clock: FakeClock) -> None:
    gate = make_policy(clock).pin_gate()
    assert gate.attempt("1234") == "no-pin"
    assert gate.locked_for() == 0.0


@pytest.fixture
def cheap_verify(monkeypatch: pytest.MonkeyPatch) -> None:
    """The gate's counting, without paying for scrypt on every try: the PIN is 2468."""
    monkeypatch.setattr(kiosk, "verify_pin", lambda pin, stored: pin == "2468")


@pytest.mark.usefixtures("cheap_verify")
def test_gate_locks_after_five_wrong_tries(clock: FakeClock) -> None:
    gate = PinGate("stored", clock)
    for _ in range(4):
        assert gate.attempt("0000") == "wrong"
    assert gate.locked_for() == 0.0
    assert gate.attempt("0000") == "locked"  # the fifth wrong try locks
    assert gate.locked_for() == 60.0
    assert gate.attempt("2468") == "locked"  # even the right PIN is not checked now
    clock.advance(59.5)
    assert gate.locked_for() == pytest.approx(0.5)
    assert gate.attempt("2468") == "locked"
    clock.advance(0.5)
    assert gate.locked_for() == 0.0
    assert gate.attempt("2468") == "ok"


@pytest.mark.usefixtures("cheap_verify")
def test_gate_success_resets_the_count(clock: FakeClock) -> None:
    gate = PinGate("stored", clock)
    for _ in range(4):
        assert gate.attempt("0000") == "wrong"
    assert gate.attempt("2468") == "ok"
    for _ in range(4):
        assert gate.attempt("0000") == "wrong"
    assert gate.locked_for() == 0.0


@pytest.mark.usefixtures("cheap_verify")
def test_gate_after_a_lock_gives_five_more_tries(clock: FakeClock) -> None:
    gate = PinGate("stored", clock)
    for _ in range(5):
        gate.attempt("0000")
    clock.advance(60)
    for _ in range(4):
        assert gate.attempt("0000") == "wrong"
    assert gate.attempt("0000") == "locked"
