"""Caching patterns on Redis OSS / Valkey (ElastiCache) for Lambda handlers.

- :class:`EntityCache` - lazy loading (cache-aside with a jittered TTL, optional negative caching)
  and write-through (database first, then the cache) for one kind of record.
- :class:`SessionStore` - sessions with sliding expiry and logout.
- :class:`CacheClient` - what both go through: a circuit breaker, short timeouts, logging and
  counting of every failure, and invalidation of keys updated while the cache was unavailable.

When the cache is unreachable or slow, reads are answered by the database loader and writes still
reach the database; the application keeps serving, only slower. Usage::

    client = CacheClient.from_config(CacheConfig(host=os.environ["CACHE_HOST"], password=token))
    products = EntityCache(client, namespace="product", ttl_seconds=300)
    product = products.get("42", load_product)             # load_product(key) -> dict | None
    products.put("42", {"price": 1999}, save_product)      # save_product(key, value) -> dict
    client.stats.fallbacks                                 # reads the database answered alone
"""

from dbpatterns.runtime.breaker import BreakerState, CircuitBreaker
from dbpatterns.runtime.caching.client import (
    CacheClient,
    CacheFailure,
    CacheStats,
    CacheUnavailableError,
    FailureKind,
)
from dbpatterns.runtime.caching.config import CacheConfig, connect
from dbpatterns.runtime.caching.entity import Deleter, EntityCache, Loader, Writer
from dbpatterns.runtime.caching.sessions import Session, SessionStore

__all__ = [
    "BreakerState",
    "CacheClient",
    "CacheConfig",
    "CacheFailure",
    "CacheStats",
    "CacheUnavailableError",
    "CircuitBreaker",
    "Deleter",
    "EntityCache",
    "FailureKind",
    "Loader",
    "Session",
    "SessionStore",
    "Writer",
    "connect",
]
