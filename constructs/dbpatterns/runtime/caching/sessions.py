"""A session store in the cache with sliding expiry.

Every read extends the session's idle timeout (one atomic ``GETEX``, Redis 6.2 or later / Valkey),
an optional absolute lifetime caps how long a session lives however active it is, and logout
deletes it. Sessions live only in the cache, so there is no database to fall back to: when the
cache is unavailable the store raises :class:`CacheUnavailableError` and the caller decides
(typically answer 503, or ask the user to sign in again). Losing the cache loses sessions, which
is why the ElastiCache construct runs a replica with automatic failover.

Session ids are 256-bit random tokens; the cache key is their SHA-256, so the tokens that grant
access never appear in the cache (``KEYS``, ``MONITOR``, snapshots).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from dbpatterns.runtime.caching import codec
from dbpatterns.runtime.caching.client import CacheClient

_TOKEN_BYTES = 32


@dataclass(frozen=True)
class Session:
    session_id: str
    """The token to hand to the client (cookie or header). Keep it secret."""
    data: dict[str, Any]
    """What the application stored in the session (JSON)."""
    created_at: float
    """Creation time, seconds since the epoch."""


class SessionStore:
    """Creates, reads (sliding the expiry), updates and deletes sessions in the cache."""

    def __init__(
        self,
        client: CacheClient,
        *,
        idle_timeout_seconds: float,
        absolute_timeout_seconds: float | None = None,
        namespace: str = "session",
        clock: Callable[[], float] = time.time,
    ) -> None:
        """
        :param client: the shared :class:`CacheClient`.
        :param idle_timeout_seconds: a session unused for this long expires; each read restarts it.
        :param absolute_timeout_seconds: a session older than this is refused and deleted even if
            it is in use. Default: ``None`` (no absolute limit).
        :param namespace: key namespace. Default: ``"session"``.
        :param clock: wall clock in seconds since the epoch; tests pass a fake one.
        """
        if idle_timeout_seconds < 0.001:
            raise ValueError(
                f"SessionStore idle_timeout_seconds is {idle_timeout_seconds}; allowed: at least 0.001"
            )
        if absolute_timeout_seconds is not None and absolute_timeout_seconds < idle_timeout_seconds:
            raise ValueError(
                f"SessionStore absolute_timeout_seconds is {absolute_timeout_seconds}; allowed: None or at "
                f"least idle_timeout_seconds ({idle_timeout_seconds})"
            )
        self.client = client
        self.idle_timeout_seconds = idle_timeout_seconds
        self.absolute_timeout_seconds = absolute_timeout_seconds
        self.namespace = namespace
        self._clock = clock
        self._idle_ms = max(1, round(idle_timeout_seconds * 1000))

    def redis_key(self, session_id: str) -> str:
        """The Redis key of a session: a hash of its id, never the id itself."""
        digest = hashlib.sha256(session_id.encode("utf-8")).hexdigest()
        return self.client.key(self.namespace, digest)

    def create(self, data: Mapping[str, Any]) -> Session:
        """Start a session holding ``data``; raises :class:`CacheUnavailableError` if it cannot be stored."""
        session = Session(secrets.token_urlsafe(_TOKEN_BYTES), dict(data), self._clock())
        payload = codec.encode({"data": session.data, "created_at": session.created_at})
        key = self.redis_key(session.session_id)
        self.client.execute("session_create", key, lambda r: r.set(key, payload, px=self._idle_ms, nx=True))
        return Session(session.session_id, codec.decode(payload)["data"], session.created_at)

    def get(self, session_id: str) -> Session | None:
        """Return the session and restart its idle timeout, or ``None`` if it expired or never existed."""
        key = self.redis_key(session_id)
        raw = self.client.execute("session_get", key, lambda r: r.getex(key, px=self._idle_ms))
        if raw is None:
            return None
        stored = codec.decode(raw)
        created_at = float(stored["created_at"])
        if (
            self.absolute_timeout_seconds is not None
            and self._clock() - created_at >= self.absolute_timeout_seconds
        ):
            self.delete(session_id)
            return None
        return Session(session_id, stored["data"], created_at)

    def update(self, session_id: str, data: Mapping[str, Any]) -> bool:
        """Replace the session's data and restart its idle timeout.

        Returns ``False`` (and stores nothing) when the session no longer exists, so a request
        racing a logout cannot bring the session back.
        """
        session = self.get(session_id)
        if session is None:
            return False
        payload = codec.encode({"data": dict(data), "created_at": session.created_at})
        key = self.redis_key(session_id)
        replaced = self.client.execute(
            "session_update", key, lambda r: r.set(key, payload, px=self._idle_ms, xx=True)
        )
        return bool(replaced)

    def delete(self, session_id: str) -> bool:
        """Log out: delete the session. Returns whether it existed.

        Raises :class:`CacheUnavailableError` when the cache cannot be reached, because a logout
        that silently did nothing would leave the session usable.
        """
        key = self.redis_key(session_id)
        return bool(self.client.execute("session_delete", key, lambda r: r.delete(key)))
