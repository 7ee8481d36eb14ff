"""Lazy loading (cache-aside) and write-through for one kind of record, with the database behind it.

Reads (:meth:`EntityCache.get`) try the cache, and on a miss call your loader and store what it
returns with a TTL. Writes (:meth:`EntityCache.put`) call your writer first and only when the
database accepted the write store its result in the cache. If the cache is down or slow, reads are
answered by the loader and writes still reach the database; the keys whose cache update failed are
deleted once the cache answers again, and the TTL bounds staleness in every other case.
"""

from __future__ import annotations

import logging
import random
from typing import Any, Protocol, TypeVar

from dbpatterns.runtime.caching import codec
from dbpatterns.runtime.caching.client import CacheClient, CacheUnavailableError

logger = logging.getLogger(__name__)

_T_co = TypeVar("_T_co", covariant=True)
_V_contra = TypeVar("_V_contra", contravariant=True)
_T = TypeVar("_T")
_V = TypeVar("_V")


class Loader(Protocol[_T_co]):
    """Reads one record from the database; returns ``None`` when it does not exist."""

    def __call__(self, key: str, /) -> _T_co | None: ...


class Writer(Protocol[_V_contra, _T_co]):
    """Writes one record to the database and returns what should be cached (often the stored row),
    or ``None`` to delete the cache entry instead.

    It raises when the write fails; the cache is then left alone.
    """

    def __call__(self, key: str, value: _V_contra, /) -> _T_co: ...


class Deleter(Protocol):
    """Deletes one record from the database; raises when the delete fails."""

    def __call__(self, key: str, /) -> None: ...


class EntityCache:
    """Caches one kind of record (one key namespace, one TTL) in front of a database.

    Values are stored as JSON. Whatever path answers a read (hit, miss, or cache outage), the
    caller gets the JSON form of the value, so a hit and a miss never return different types.
    """

    def __init__(
        self,
        client: CacheClient,
        *,
        namespace: str,
        ttl_seconds: float,
        ttl_jitter: float = 0.1,
        negative_ttl_seconds: float | None = None,
    ) -> None:
        """
        :param client: the shared :class:`CacheClient`.
        :param namespace: key namespace, e.g. ``"product"``; keys are ``<prefix>product:<key>``.
        :param ttl_seconds: the longest a cached value is served; an upper bound on staleness.
        :param ttl_jitter: fraction of the TTL taken off at random per entry, so entries cached
            together do not all expire together and stampede the database. Default: 0.1
            (TTLs between 90 % and 100 % of ``ttl_seconds``). 0 turns jitter off.
        :param negative_ttl_seconds: cache "not found" for this long, so repeated lookups of a
            missing record do not reach the database. Default: ``None`` (not cached).
        """
        if not namespace:
            raise ValueError("EntityCache namespace is empty; give a name such as 'product'")
        if ttl_seconds < 0.001:
            raise ValueError(f"EntityCache ttl_seconds is {ttl_seconds}; allowed: at least 0.001")
        if not 0 <= ttl_jitter < 1:
            raise ValueError(f"EntityCache ttl_jitter is {ttl_jitter}; allowed: 0 or more and less than 1")
        if negative_ttl_seconds is not None and negative_ttl_seconds < 0.001:
            raise ValueError(
                f"EntityCache negative_ttl_seconds is {negative_ttl_seconds}; allowed: at least 0.001 or None"
            )
        self.client = client
        self.namespace = namespace
        self.ttl_seconds = ttl_seconds
        self.ttl_jitter = ttl_jitter
        self.negative_ttl_seconds = negative_ttl_seconds

    def redis_key(self, key: str) -> str:
        """The Redis key that holds ``key``."""
        return self.client.key(self.namespace, key)

    def get(self, key: str, loader: Loader[Any]) -> Any | None:
        """Return the record for ``key`` from the cache, or load it with ``loader`` and cache it.

        Exceptions from ``loader`` propagate: a failing database is the caller's to report.
        """
        redis_key = self.redis_key(key)
        try:
            cached = self.client.execute("get", redis_key, lambda r: r.get(redis_key))
        except CacheUnavailableError:
            self.client.stats.increment("fallbacks")
            return _normalise(loader(key))
        if cached is not None:
            if cached in (codec.NEGATIVE_ENTRY, ""):
                self.client.stats.increment("hits")
                return None
            try:
                value = codec.decode(cached)
            except ValueError:
                logger.warning("cache entry %s is not JSON; reloading it from the database", redis_key)
            else:
                self.client.stats.increment("hits")
                return value
        self.client.stats.increment("misses")
        loaded = loader(key)
        if loaded is None:
            if self.negative_ttl_seconds is not None:
                self._store(
                    "set_negative", redis_key, codec.NEGATIVE_ENTRY, self.negative_ttl_seconds, only_new=True
                )
            return None
        payload = codec.encode(loaded)
        # SET NX: if a writer stored a newer value while we were loading, keep theirs.
        self._store("populate", redis_key, payload, self.ttl_seconds, only_new=cached is None)
        return codec.decode(payload)

    def put(self, key: str, value: _V, writer: Writer[_V, _T]) -> Any:
        """Write-through: ``writer`` stores ``value`` in the database, then its result is cached.

        When ``writer`` raises, the exception propagates and the cache is not touched. When the
        cache update fails after the database write, the key is remembered and deleted as soon
        as the cache answers again. A writer that returns ``None`` makes this write-and-invalidate:
        the cache entry is deleted and the next read loads the record. Returns the JSON form of
        what ``writer`` returned.
        """
        stored = writer(key, value)
        if stored is None:
            self.invalidate(key)
            return None
        payload = codec.encode(stored)
        self._store("write_through", self.redis_key(key), payload, self.ttl_seconds, only_new=False)
        return codec.decode(payload)

    def delete(self, key: str, deleter: Deleter) -> None:
        """Delete the record in the database with ``deleter``, then remove it from the cache."""
        deleter(key)
        self.invalidate(key)

    def invalidate(self, key: str) -> None:
        """Remove ``key`` from the cache (now, or as soon as the cache answers again)."""
        redis_key = self.redis_key(key)
        try:
            self.client.execute("invalidate", redis_key, lambda r: r.delete(redis_key))
        except CacheUnavailableError:
            self.client.mark_stale(redis_key)

    def _store(
        self, operation: str, redis_key: str, payload: bytes, ttl_seconds: float, *, only_new: bool
    ) -> None:
        ttl_ms = self._jittered_milliseconds(ttl_seconds)
        try:
            self.client.execute(
                operation, redis_key, lambda r: r.set(redis_key, payload, px=ttl_ms, nx=only_new)
            )
        except CacheUnavailableError:
            if not only_new:
                # A write reached the database but not the cache: the cache may still hold the old value.
                self.client.mark_stale(redis_key)

    def _jittered_milliseconds(self, ttl_seconds: float) -> int:
        ttl_ms = max(1, round(ttl_seconds * 1000))
        spread = int(ttl_ms * self.ttl_jitter)
        # Spreading expiry times is not a security decision, so the non-cryptographic PRNG is right.
        return ttl_ms - random.randint(0, spread) if spread else ttl_ms  # noqa: S311


def _normalise(value: Any) -> Any:
    """Give the caller the same JSON form a cache hit would, even when the cache was skipped."""
    return None if value is None else codec.decode(codec.encode(value))
