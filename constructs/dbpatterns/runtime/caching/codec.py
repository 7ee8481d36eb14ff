"""How cached values are stored: compact JSON, so any service (or a person with redis-cli) can read them.

``Decimal`` values with no fractional part (what DynamoDB returns for numbers such as amounts in
minor units) are stored as JSON integers. Anything else JSON cannot represent exactly is refused
with a ``TypeError`` instead of being silently rounded or stringified.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

NEGATIVE_ENTRY = b""
"""What a cached "this record does not exist" looks like. JSON never encodes to an empty string."""


def encode(value: Any) -> bytes:
    """Serialize ``value`` to compact JSON bytes; raise ``TypeError`` for values JSON cannot hold."""
    try:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_default)
    except ValueError as error:  # NaN or infinity
        raise TypeError(f"cannot cache {value!r} as JSON: {error}") from error
    return text.encode("utf-8")


def decode(data: bytes | str) -> Any:
    """Parse bytes written by :func:`encode`; raise ``ValueError`` when they are not JSON."""
    return json.loads(data)


def _default(value: object) -> object:
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value)
    raise TypeError(
        f"cannot cache a {type(value).__name__} ({value!r}) as JSON; convert it to str, int, float, "
        "bool, None, list or dict first (Decimal is accepted only when it is a whole number)"
    )
