"""ULIDs: 26-character, time-sortable identifiers for users and posts.

A ULID is 48 bits of milliseconds since the epoch followed by 80 random bits, written in Crockford's
base32. Lexicographic order is time order, so a post id is also the Timeline GSI sort key, and the
first and last ULIDs of a millisecond bound a time range in a key condition.

This module imports only the standard library.
"""

from __future__ import annotations

import re
import secrets
from typing import Final

_ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_INDEX: Final = {character: value for value, character in enumerate(_ALPHABET)}
LENGTH: Final = 26
MAX_TIME_MS: Final = (1 << 48) - 1
_RANDOM_BITS: Final = 80
ULID_PATTERN: Final = "^[0-7][0-9A-HJKMNP-TV-Z]{25}$"
_ULID_RE: Final = re.compile(ULID_PATTERN)


def _encode(value: int) -> str:
    characters = []
    for _ in range(LENGTH):
        characters.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(characters))


def _decode(text: str) -> int:
    value = 0
    for character in text:
        value = (value << 5) | _INDEX[character]
    return value


def new_ulid(time_ms: int) -> str:
    """A fresh ULID for ``time_ms`` (milliseconds since the epoch) with 80 random bits."""
    return make_ulid(time_ms, secrets.randbits(_RANDOM_BITS))


def make_ulid(time_ms: int, random: int) -> str:
    """The ULID of ``time_ms`` with the given 80 random bits."""
    if not 0 <= time_ms <= MAX_TIME_MS:
        raise ValueError(f"time_ms={time_ms} is outside 0..{MAX_TIME_MS}")
    if not 0 <= random < 1 << _RANDOM_BITS:
        raise ValueError("random must fit in 80 bits")
    return _encode((time_ms << _RANDOM_BITS) | random)


def is_ulid(text: str) -> bool:
    return bool(_ULID_RE.fullmatch(text))


def ulid_time_ms(ulid: str) -> int:
    """The millisecond timestamp a ULID was made for."""
    return _decode(ulid) >> _RANDOM_BITS


def random_bits(ulid: str) -> int:
    """The 80 random bits of a ULID (uniform: what shard choices hash on)."""
    return _decode(ulid) & ((1 << _RANDOM_BITS) - 1)


def lowest_ulid(time_ms: int) -> str:
    """The smallest ULID of millisecond ``time_ms``: a lower bound for a range query."""
    return _encode(max(0, min(time_ms, MAX_TIME_MS)) << _RANDOM_BITS)


def highest_ulid(time_ms: int) -> str:
    """The largest ULID of millisecond ``time_ms``: an upper bound for a range query."""
    clamped = max(0, min(time_ms, MAX_TIME_MS))
    return _encode((clamped << _RANDOM_BITS) | ((1 << _RANDOM_BITS) - 1))


def predecessor(ulid: str) -> str:
    """The ULID just below ``ulid``: with ``BETWEEN lo AND predecessor(last)`` a query resumes strictly
    after the last item it returned (a key condition has one sort-key comparison, so ``> lo AND < last``
    cannot be written)."""
    value = _decode(ulid)
    if value == 0:
        raise ValueError("the zero ULID has no predecessor")
    return _encode(value - 1)
