"""Sessions on the ElastiCache global datastore: local reads, writes to the primary, a table fallback.

Composed from :mod:`dbpatterns.runtime.caching` (``CacheClient`` with its circuit breaker,
``SessionStore`` with its sliding expiry), not rewritten:

- **Reads are local.** Every request reads the session from this region's replication group (its
  reader endpoint) with one pipelined ``GET`` + ``PTTL``: ~1 ms in the VPC. In a secondary region
  that group is read-only, so the read itself must not slide the expiry (``GETEX`` is a write).
- **Writes go to the primary** (a ``SessionStore`` on the primary's endpoint, found by
  :class:`~dbpatterns.handlers.social.topology.PrimaryLocator`): login, refresh, logout and the
  sliding of the expiry. From a secondary region each is one cross-region round trip over VPC
  peering: ~70-80 ms from eu-west-1 to us-east-1, ~210-230 ms from ap-southeast-1 (plus a TLS
  handshake of 2-3 round trips when the connection is new). To keep that off ordinary requests, a
  read slides the expiry only when less than half the idle timeout remains: an active session costs
  one cross-region write per ``idle / 2`` (15 minutes with the 30-minute default), not one per request.
  Expiry is therefore sliding with ``idle / 2`` granularity: a session expires between ``idle / 2``
  and ``idle`` after its last use, and never outlives ``absolute`` since login.
- **Replication lag.** A session created a moment ago may not have reached this region's copy
  (asynchronous, typically < 1 s): a local miss asks the primary before answering 401.
- **The fallback: a session record in the global table** (``SESSION#<sha256(token)>``), written at
  login and moved forward at every slide, with a separate ``#REVOKED`` tombstone at logout (a
  tombstone cannot be overwritten by a concurrent slide in another region: different items). When
  the local cache is unreachable, sessions are checked against the record (one local ``Query``,
  ~5 ms) and the app keeps working, only slower. When the primary is unreachable (its region is
  down, or a failover is under way), login still works - the session lives in the table only -
  and slides update the record alone. While the primary cache is in trouble (its breaker is not
  closed) a cache hit is also checked against the tombstone, so a logout recorded in the table holds.
- **Logout** writes the tombstone and deletes the cache entry on the primary. If the primary cannot
  be reached it answers 503 so the client retries (the entry would otherwise stay readable until its
  idle timeout once the cache is healthy again); the key is also queued for deletion when the
  primary answers again (``CacheClient.mark_stale``, per execution environment).

Tokens are 256-bit random strings; the cache key and the table key hold their SHA-256, never the token.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from dbpatterns.handlers.social import keys
from dbpatterns.handlers.social.errors import SessionStoreUnavailableError
from dbpatterns.handlers.social.store import n, number, s, text
from dbpatterns.runtime.caching import BreakerState, CacheClient, CacheUnavailableError, SessionStore, codec

DEFAULT_IDLE_SECONDS: Final = 1_800
DEFAULT_ABSOLUTE_SECONDS: Final = 7 * 86_400
#: Slide the expiry when less than this fraction of the idle timeout remains.
SLIDE_FRACTION: Final = 0.5
SESSION_NAMESPACE: Final = "session"
_TOKEN_BYTES: Final = 32


def digest(token: str) -> str:
    """SHA-256 of a token, as both the cache key (``SessionStore.redis_key``) and the table key use it."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a valid session belongs to."""

    user_id: str
    #: Epoch seconds when the session expires unless used again.
    expires_at: float
    #: Where it was found: ``cache`` (local copy), ``cache-primary`` or ``table`` (the fallback).
    source: str


@dataclass(frozen=True, slots=True)
class SessionRecord:
    user_id: str
    created_at: float
    expires_at: float
    absolute_expires_at: float
    revoked: bool


class SessionRecords:
    """The session records in the global table (written in whichever region handles the request)."""

    def __init__(self, client: Any, table: str, region: str) -> None:
        self.client = client
        self.table = table
        self.region = region

    def put(
        self, token_digest: str, user_id: str, created_at: float, expires_at: float, absolute: float
    ) -> None:
        self.client.put_item(
            TableName=self.table,
            Item={
                "pk": s(keys.session_pk(token_digest)),
                "sk": s(keys.SESSION_SK),
                "user_id": s(user_id),
                "created_at": n(int(created_at)),
                "session_expires_at": n(int(expires_at)),
                "absolute_expires_at": n(int(absolute)),
                # DynamoDB's TTL deletes the record some time after the absolute limit.
                keys.TTL_ATTRIBUTE: n(int(absolute)),
                "origin_region": s(self.region),
            },
        )

    def touch(self, token_digest: str, expires_at: float) -> None:
        """Move the idle expiry forward; never creates a record (a logout or expiry stays final)."""
        try:
            self.client.update_item(
                TableName=self.table,
                Key={"pk": s(keys.session_pk(token_digest)), "sk": s(keys.SESSION_SK)},
                UpdateExpression="SET session_expires_at = :expires, origin_region = :region",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":expires": n(int(expires_at)), ":region": s(self.region)},
            )
        except Exception as error:
            code = getattr(error, "response", {}).get("Error", {}).get("Code")
            if code != "ConditionalCheckFailedException":
                raise

    def revoke(self, token_digest: str, now: float, absolute: float) -> None:
        self.client.put_item(
            TableName=self.table,
            Item={
                "pk": s(keys.session_pk(token_digest)),
                "sk": s(keys.REVOKED_SK),
                "revoked_at": n(int(now)),
                keys.TTL_ATTRIBUTE: n(int(absolute)),
                "origin_region": s(self.region),
            },
        )

    def get(self, token_digest: str) -> SessionRecord | None:
        response = self.client.query(
            TableName=self.table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": s(keys.session_pk(token_digest))},
        )
        items = {text(item, "sk"): item for item in response.get("Items", [])}
        record = items.get(keys.SESSION_SK)
        if record is None:
            return None
        return SessionRecord(
            user_id=text(record, "user_id"),
            created_at=number(record, "created_at"),
            expires_at=number(record, "session_expires_at"),
            absolute_expires_at=number(record, "absolute_expires_at"),
            revoked=keys.REVOKED_SK in items,
        )

    def is_revoked(self, token_digest: str) -> bool:
        response = self.client.get_item(
            TableName=self.table, Key={"pk": s(keys.session_pk(token_digest)), "sk": s(keys.REVOKED_SK)}
        )
        return "Item" in response


class GlobalSessions:
    """Login, authenticate, refresh and logout over the local copy, the primary and the table."""

    def __init__(
        self,
        *,
        records: SessionRecords,
        local: CacheClient | None,
        primary: Callable[[], SessionStore | None],
        idle_seconds: int = DEFAULT_IDLE_SECONDS,
        absolute_seconds: int = DEFAULT_ABSOLUTE_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """
        :param local: client of this region's replication group (reader endpoint); None without a cache.
        :param primary: returns the ``SessionStore`` on the current primary (it may change after a
            failover), or None without a cache. Build it with the same idle/absolute timeouts and clock.
        """
        if absolute_seconds < idle_seconds:
            raise ValueError(
                f"absolute_seconds={absolute_seconds} is shorter than idle_seconds={idle_seconds}"
            )
        self.records = records
        self.local = local
        self._primary = primary
        self.idle_seconds = idle_seconds
        self.absolute_seconds = absolute_seconds
        self._clock = clock

    # ---------------------------------------------------------------- public API
    def login(self, user_id: str) -> tuple[str, float]:
        """Start a session; returns ``(token, expires_at)``. Works without the cache (table only)."""
        now = self._clock()
        token: str | None = None
        primary = self._primary()
        if primary is not None:
            try:
                token = primary.create({"user_id": user_id}).session_id
            except CacheUnavailableError:
                token = None
        cached = token is not None
        token = token or secrets.token_urlsafe(_TOKEN_BYTES)
        try:
            self.records.put(
                digest(token), user_id, now, now + self.idle_seconds, now + self.absolute_seconds
            )
        except Exception as error:
            if not cached:
                raise SessionStoreUnavailableError(
                    "neither the session cache nor the table is reachable"
                ) from error
        return token, now + self.idle_seconds

    def authenticate(self, token: str) -> Principal | None:
        """The session's owner, sliding its expiry when due; None when it is unknown, expired or revoked."""
        now = self._clock()
        token_digest = digest(token)
        if self.local is not None:
            key = self.local.key(SESSION_NAMESPACE, token_digest)
            try:
                raw, pttl = self.local.execute("session_peek", key, lambda r: _peek(r, key))
            except CacheUnavailableError:
                return self._from_table(token_digest, now)
            if raw is not None:
                return self._from_local(token, token_digest, raw, pttl, now)
        primary = self._primary()
        if primary is not None:
            try:
                session = primary.get(token)  # GETEX on the primary: slides as it reads
            except CacheUnavailableError:
                session = None
            else:
                if session is not None:
                    self._touch_record(token_digest, now)
                    return Principal(str(session.data["user_id"]), now + self.idle_seconds, "cache-primary")
        return self._from_table(token_digest, now)

    def refresh(self, token: str) -> float | None:
        """Slide the expiry now; returns the new expiry, or None when the session is not valid."""
        principal = self.authenticate(token)
        if principal is None:
            return None
        now = self._clock()
        if principal.source == "cache":
            self._slide(token, digest(token), now)
        return now + self.idle_seconds

    def logout(self, token: str) -> None:
        """End the session everywhere; 503 (retry) when the cache entry could not be deleted."""
        now = self._clock()
        token_digest = digest(token)
        revoked = True
        try:
            self.records.revoke(token_digest, now, now + self.absolute_seconds)
        except Exception:
            revoked = False
        primary = self._primary()
        if primary is not None:
            try:
                primary.delete(token)
            except CacheUnavailableError as error:
                primary.client.mark_stale(primary.redis_key(token))
                raise SessionStoreUnavailableError(
                    "the logout is recorded, but the session cache could not be reached; retry"
                    if revoked
                    else "the session stores are unreachable; retry"
                ) from error
        if not revoked:
            raise SessionStoreUnavailableError("the session table is unreachable; retry")

    # ---------------------------------------------------------------- internals
    def _from_local(
        self, token: str, token_digest: str, raw: bytes, pttl: int, now: float
    ) -> Principal | None:
        stored = codec.decode(raw)
        if now - float(stored["created_at"]) >= self.absolute_seconds:
            return None
        if self._primary_degraded() and self.records.is_revoked(token_digest):
            return None
        remaining = max(0.0, pttl / 1000)
        expires_at = now + remaining
        if remaining < self.idle_seconds * SLIDE_FRACTION:
            expires_at = self._slide(token, token_digest, now) or expires_at
        return Principal(str(stored["data"]["user_id"]), expires_at, "cache")

    def _slide(self, token: str, token_digest: str, now: float) -> float | None:
        """Restart the idle timeout on the primary (GETEX) and in the record; None if neither worked."""
        slid = False
        primary = self._primary()
        if primary is not None:
            try:
                slid = primary.get(token) is not None
            except CacheUnavailableError:
                slid = False
        touched = self._touch_record(token_digest, now)
        return now + self.idle_seconds if slid or touched else None

    def _touch_record(self, token_digest: str, now: float) -> bool:
        try:
            self.records.touch(token_digest, now + self.idle_seconds)
        except Exception:
            return False
        return True

    def _from_table(self, token_digest: str, now: float) -> Principal | None:
        try:
            record = self.records.get(token_digest)
        except Exception as error:
            raise SessionStoreUnavailableError(
                "the session cache and the session table are unreachable"
            ) from error
        if record is None or record.revoked or now >= record.expires_at or now >= record.absolute_expires_at:
            return None
        expires_at = record.expires_at
        if expires_at - now < self.idle_seconds * SLIDE_FRACTION and self._touch_record(token_digest, now):
            expires_at = now + self.idle_seconds
        return Principal(record.user_id, expires_at, "table")

    def _primary_degraded(self) -> bool:
        primary = self._primary()
        return primary is not None and primary.client.breaker.state is not BreakerState.CLOSED


def _peek(redis_client: Any, key: str) -> list[Any]:
    """``GET`` and ``PTTL`` in one round trip, without sliding (``GETEX`` is a write: replicas refuse it)."""
    pipeline = redis_client.pipeline(transaction=False)
    pipeline.get(key)
    pipeline.pttl(key)
    result: list[Any] = pipeline.execute()
    return result
