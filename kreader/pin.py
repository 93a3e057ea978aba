"""The staff PIN: its rules, a salted scrypt hash of it, and checking a PIN against that hash.

This module uses the standard library only. The settings file stores what `hash_pin` makes (``kreader kiosk
set-pin`` writes it); the settings check it with `pin_hash_problem`; the kiosk's `kreader.kiosk.PinGate`
checks attempts with `verify_pin` and owns the lockout.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from typing import Final, Literal

PIN_DIGITS: Final = (4, 12)
"""Fewest and most digits in a staff PIN."""
SCRYPT_N: Final = 2**14
SCRYPT_R: Final = 8
SCRYPT_P: Final = 1
PBKDF2_ITERATIONS: Final = 600_000
"""Used only where `hashlib.scrypt` is missing (Python built without OpenSSL 1.1+)."""

_PIN_RE = re.compile(rf"[0-9]{{{PIN_DIGITS[0]},{PIN_DIGITS[1]}}}")
_B64 = r"[A-Za-z0-9+/]+={0,2}"
_SCRYPT_RE = re.compile(rf"scrypt\$(\d{{1,8}})\$(\d{{1,3}})\$(\d{{1,3}})\$({_B64})\$({_B64})")
_PBKDF2_RE = re.compile(rf"pbkdf2-sha256\$(\d{{1,9}})\$({_B64})\$({_B64})")


@dataclass(frozen=True)
class _PinHash:
    scheme: Literal["scrypt", "pbkdf2-sha256"]
    cost: tuple[int, ...]
    """(n, r, p) for scrypt, (iterations,) for PBKDF2."""
    salt: bytes
    digest: bytes


def pin_problem(pin: str) -> str | None:
    """Why ``pin`` cannot be a staff PIN, or None if it can."""
    if _PIN_RE.fullmatch(pin):
        return None
    low, high = PIN_DIGITS
    return f"a staff PIN must be {low} to {high} digits (0-9)"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def _parse_pin_hash(stored: str) -> _PinHash | str:
    """The parts of a stored hash, or why it is not one."""
    if match := _SCRYPT_RE.fullmatch(stored):
        n, r, p = (int(group) for group in match.group(1, 2, 3))
        if n < 2**10 or n > 2**20 or n & (n - 1) or not 1 <= r <= 32 or not 1 <= p <= 16:
            return "has scrypt costs out of range"
        scheme: Literal["scrypt", "pbkdf2-sha256"] = "scrypt"
        cost: tuple[int, ...] = (n, r, p)
        salt, digest = _unb64(match.group(4)), _unb64(match.group(5))
    elif match := _PBKDF2_RE.fullmatch(stored):
        iterations = int(match.group(1))
        if not 100_000 <= iterations <= 10_000_000:
            return "has a PBKDF2 iteration count out of range"
        scheme, cost = "pbkdf2-sha256", (iterations,)
        salt, digest = _unb64(match.group(2)), _unb64(match.group(3))
    else:
        return "is not a PIN hash made by 'kreader kiosk set-pin'"
    if salt is None or digest is None or not 8 <= len(salt) <= 64 or not 16 <= len(digest) <= 64:
        return "is not a PIN hash made by 'kreader kiosk set-pin' (bad salt or digest)"
    return _PinHash(scheme, cost, salt, digest)


def pin_hash_problem(stored: object) -> str | None:
    """Why ``stored`` is not a usable PIN hash (for messages: "key '...' <problem>"), or None."""
    if not isinstance(stored, str):
        return "must be a string made by 'kreader kiosk set-pin'"
    parsed = _parse_pin_hash(stored)
    if isinstance(parsed, str):
        return parsed
    if parsed.scheme == "scrypt" and getattr(hashlib, "scrypt", None) is None:
        return "uses scrypt, which this Python lacks: run 'kreader kiosk set-pin' again"
    if parsed.scheme == "scrypt" and _scrypt_memory(parsed.cost) > _SCRYPT_MAXMEM_LIMIT:
        return (
            "has scrypt costs no PIN could ever be checked with (they need more than 2 GiB): "
            "run 'kreader kiosk set-pin' again"
        )
    return None


def pin_hash_cost_problem(stored: str) -> str | None:
    """Why this machine cannot check a PIN against ``stored`` (a hash `pin_hash_problem` accepts), or None.

    It derives a hash with the stored costs, as a PIN attempt would: costs beyond the machine's memory fail, and
    then every PIN would fail and staff could never leave the kiosk. Slow for high costs; meant for
    ``kreader kiosk check-config``.
    """
    parsed = _parse_pin_hash(stored)
    if isinstance(parsed, str):
        return parsed
    try:
        _derive("0000", parsed)
    except (ValueError, MemoryError, AttributeError) as exc:
        detail = str(exc) or type(exc).__name__
        return (
            f"cannot be checked on this machine ({detail}), so no PIN would unlock the kiosk: "
            "run 'kreader kiosk set-pin' again"
        )
    return None


_SCRYPT_MAXMEM_LIMIT: Final = 2**31 - 1
"""`hashlib.scrypt` refuses a ``maxmem`` this large or larger."""


def _scrypt_memory(cost: tuple[int, ...]) -> int:
    """The ``maxmem`` scrypt needs for (n, r, p), with a little room."""
    n, r, p = cost
    return 128 * r * (n + p + 2) + 2**20


def _derive(pin: str, parsed: _PinHash) -> bytes:
    secret = pin.encode("utf-8", "surrogatepass")
    if parsed.scheme == "scrypt":
        n, r, p = parsed.cost
        maxmem = _scrypt_memory(parsed.cost)
        return hashlib.scrypt(
            secret, salt=parsed.salt, n=n, r=r, p=p, maxmem=maxmem, dklen=len(parsed.digest)
        )
    (iterations,) = parsed.cost
    return hashlib.pbkdf2_hmac("sha256", secret, parsed.salt, iterations, dklen=len(parsed.digest))


def hash_pin(pin: str, *, salt: bytes | None = None) -> str:
    """A salted, self-describing hash of ``pin``: ``scrypt$16384$8$1$<salt>$<hash>`` (base64 parts).

    Falls back to ``pbkdf2-sha256$600000$<salt>$<hash>`` where scrypt is missing. Raises
    `ValueError` if the PIN breaks the rules (see `pin_problem`) or the salt is not 8 to 64 bytes.
    """
    problem = pin_problem(pin)
    if problem:
        raise ValueError(problem)
    salt = os.urandom(16) if salt is None else salt
    if not 8 <= len(salt) <= 64:
        raise ValueError("salt must be 8 to 64 bytes")
    if getattr(hashlib, "scrypt", None) is not None:
        parsed = _PinHash("scrypt", (SCRYPT_N, SCRYPT_R, SCRYPT_P), salt, b"\0" * 32)
        digest = _derive(pin, parsed)
        return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"
    parsed = _PinHash("pbkdf2-sha256", (PBKDF2_ITERATIONS,), salt, b"\0" * 32)
    digest = _derive(pin, parsed)
    return f"pbkdf2-sha256${PBKDF2_ITERATIONS}${_b64(salt)}${_b64(digest)}"


def verify_pin(pin: str, stored: str | None) -> bool:
    """Does ``pin`` match ``stored``? Compared in constant time; a malformed hash never matches."""
    if not isinstance(stored, str):
        return False
    parsed = _parse_pin_hash(stored)
    if isinstance(parsed, str):
        return False
    try:
        candidate = _derive(pin, parsed)
    except (ValueError, MemoryError, AttributeError):
        return False  # scrypt missing, or costs beyond what this machine allows
    return hmac.compare_digest(candidate, parsed.digest)
