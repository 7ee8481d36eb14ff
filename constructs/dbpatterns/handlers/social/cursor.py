"""Opaque pagination cursors that a client cannot forge or move to another query.

A cursor is ``base64url(JSON state) + "." + base64url(HMAC-SHA256(key, scope + state)[:16])``. The
scope names the query it belongs to (``feed|<from>|<to>`` or ``posts|<user_id>``), so a cursor of one
query is refused by another, and ``issued_at`` lets old cursors expire. The key comes from a Secrets
Manager secret replicated to every region, so a cursor issued in one region keeps working when
latency routing (or a failover) sends the next page's request to another.

Clients must treat the cursor as an opaque string: its content may change with any release.

This module imports only the standard library.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

VERSION: Final = 1
MAX_CURSOR_LENGTH: Final = 2_048
DEFAULT_MAX_AGE_SECONDS: Final = 86_400
_MAC_BYTES: Final = 16
MIN_KEY_BYTES: Final = 32


class InvalidCursorError(ValueError):
    """The cursor was not issued by us for this query, was altered, or has expired."""


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CursorCodec:
    """Signs and verifies cursors with one secret key."""

    def __init__(
        self,
        key: bytes,
        *,
        max_age_seconds: int = DEFAULT_MAX_AGE_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise ValueError(f"cursor key has {len(key)} bytes; allowed: at least {MIN_KEY_BYTES}")
        self._key = key
        self._max_age_seconds = max_age_seconds
        self._clock = clock

    def _mac(self, scope: str, body: bytes) -> bytes:
        message = scope.encode("utf-8") + b"\n" + body
        return hmac.new(self._key, message, hashlib.sha256).digest()[:_MAC_BYTES]

    def encode(self, scope: str, state: Mapping[str, Any]) -> str:
        """A cursor holding ``state`` for the query ``scope``."""
        document = {"v": VERSION, "iat": int(self._clock()), "s": dict(state)}
        body = json.dumps(document, separators=(",", ":"), sort_keys=True).encode("utf-8")
        return f"{_b64encode(body)}.{_b64encode(self._mac(scope, body))}"

    def decode(self, scope: str, cursor: str) -> dict[str, Any]:
        """The state of a cursor issued for ``scope``; raises :class:`InvalidCursorError` otherwise."""
        if len(cursor) > MAX_CURSOR_LENGTH or cursor.count(".") != 1:
            raise InvalidCursorError("the cursor is not one of ours")
        body_text, mac_text = cursor.split(".")
        try:
            body = _b64decode(body_text)
            mac = _b64decode(mac_text)
        except (binascii.Error, ValueError):
            raise InvalidCursorError("the cursor is not one of ours") from None
        if not hmac.compare_digest(mac, self._mac(scope, body)):
            raise InvalidCursorError("the cursor was altered or belongs to another query")
        document = json.loads(body)
        if document.get("v") != VERSION:
            raise InvalidCursorError("the cursor comes from another version; start from the first page")
        if self._clock() - int(document["iat"]) > self._max_age_seconds:
            raise InvalidCursorError("the cursor has expired; start from the first page")
        state: dict[str, Any] = document["s"]
        return state
