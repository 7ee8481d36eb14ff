"""Password hashes with scrypt (standard library), verified in constant time.

Stored as ``scrypt$<log2 n>$<r>$<p>$<salt b64>$<hash b64>`` so the cost can rise later while old
hashes still verify. n = 2**14, r = 8, p = 1 takes ~16 MB and tens of milliseconds: cheap enough for a
login, expensive for an attacker holding a stolen table export. Sign-in with an unknown handle
still computes one hash (:func:`burn`), so response times do not reveal which handles exist.

This module imports only the standard library.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Final

LOG2_N: Final = 14
R: Final = 8
P: Final = 1
_SALT_BYTES: Final = 16
_HASH_BYTES: Final = 32
_MAX_MEMORY: Final = 64 * 1024 * 1024


def _derive(password: str, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=1 << log2_n, r=r, p=p, maxmem=_MAX_MEMORY, dklen=_HASH_BYTES
    )


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(_SALT_BYTES)
    digest = _derive(password, salt, LOG2_N, R, P)
    encoded = [base64.b64encode(part).decode("ascii") for part in (salt, digest)]
    return f"scrypt${LOG2_N}${R}${P}${encoded[0]}${encoded[1]}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, log2_n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = _derive(password, base64.b64decode(salt), int(log2_n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


_DUMMY: Final = f"scrypt${LOG2_N}${R}${P}${'A' * 24}${'A' * 44}"


def burn(password: str) -> None:
    """Spend the time of one verification (for unknown handles)."""
    verify_password(password, _DUMMY)
