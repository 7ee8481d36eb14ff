"""The resilient cache client every caching pattern goes through.

:class:`CacheClient` runs each Redis command behind a circuit breaker, turns every Redis failure
into one exception type (:class:`CacheUnavailableError`) that the patterns catch to fall back to
the database, logs and counts each failure, calls an optional hook (for example to emit a
Powertools metric), and remembers keys whose cache update failed so they are deleted as soon as
the cache answers again instead of being served stale after the outage.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import redis

from dbpatterns.runtime.breaker import CircuitBreaker
from dbpatterns.runtime.caching.config import CacheConfig, connect

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

DEFAULT_MAX_STALE_KEYS = 10_000
_DELETE_BATCH = 500

# Errors that mean "the cache is not there": they count towards opening the circuit breaker.
# redis-py wraps socket errors in these; OSError covers anything that slips through (e.g. TLS).
_UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (redis.ConnectionError, redis.TimeoutError, OSError)


class FailureKind(enum.Enum):
    UNAVAILABLE = "unavailable"
    """The cache did not answer in time or refused the connection."""
    ERROR = "error"
    """The cache answered with an error (for example READONLY during a failover, or OOM), or the
    client failed in an unexpected way."""
    SHORT_CIRCUIT = "short_circuit"
    """The command was not sent because the circuit breaker is open."""


@dataclass(frozen=True)
class CacheFailure:
    """One cache command that did not succeed; passed to the ``on_failure`` hook."""

    operation: str
    key: str
    kind: FailureKind
    error: Exception | None = None


def describe_error(error: Exception | None) -> str:
    """``TimeoutError: Timeout reading from socket`` (redis-py's own repr drops the message)."""
    return "" if error is None else f"{type(error).__name__}: {error}"


class CacheUnavailableError(Exception):
    """The cache could not serve a command. Patterns with a database behind them catch it."""

    def __init__(self, failure: CacheFailure) -> None:
        reason = "circuit breaker open" if failure.error is None else describe_error(failure.error)
        super().__init__(
            f"cache {failure.operation} of {failure.key!r} failed ({failure.kind.value}): {reason}"
        )
        self.failure = failure


@dataclass
class CacheStats:
    """In-process counters since the client was created. Read them in tests, logs or metrics."""

    hits: int = 0
    """Reads answered by the cache."""
    misses: int = 0
    """Reads the cache could not answer (key absent) and the database did."""
    fallbacks: int = 0
    """Reads answered by the database because the cache failed or was skipped."""
    errors: int = 0
    """Cache commands that failed (timeout, refused connection, error reply)."""
    short_circuits: int = 0
    """Cache commands skipped because the circuit breaker was open."""
    breaker_opened: int = 0
    """How often the circuit breaker opened."""
    stale_keys_invalidated: int = 0
    """Keys deleted after an outage because their cache update had failed."""
    stale_keys_dropped: int = 0
    """Keys forgotten because too many were waiting for invalidation; their TTL bounds staleness."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def increment(self, counter: str, amount: int = 1) -> None:
        with self._lock:
            setattr(self, counter, getattr(self, counter) + amount)

    def as_dict(self) -> dict[str, int]:
        with self._lock:
            return {name: value for name, value in vars(self).items() if not name.startswith("_")}


class CacheClient:
    """Wraps a redis-py client with a circuit breaker, failure accounting and stale-key tracking.

    Create one per Lambda execution environment and share it between the patterns
    (:class:`~dbpatterns.runtime.caching.EntityCache`, :class:`~dbpatterns.runtime.caching.SessionStore`).
    """

    def __init__(
        self,
        redis_client: redis.Redis,
        *,
        key_prefix: str = "",
        breaker: CircuitBreaker | None = None,
        on_failure: Callable[[CacheFailure], None] | None = None,
        max_stale_keys: int = DEFAULT_MAX_STALE_KEYS,
    ) -> None:
        """
        :param redis_client: a client from :func:`~dbpatterns.runtime.caching.connect` (short timeouts).
        :param key_prefix: put in front of every key, e.g. ``"orders-api:"``. Default: none.
        :param breaker: circuit breaker. Default: ``CircuitBreaker()`` (opens after 3 consecutive
            failures for 5 s); pass ``CircuitBreaker.disabled()`` to try the cache on every request.
        :param on_failure: called with every :class:`CacheFailure` after it is logged and counted;
            exceptions it raises are logged and ignored. Default: none.
        :param max_stale_keys: most keys remembered for invalidation after an outage. Default: 10,000.
        """
        if max_stale_keys < 1:
            raise ValueError(f"CacheClient max_stale_keys is {max_stale_keys}; allowed: 1 or more")
        self.redis = redis_client
        self.key_prefix = key_prefix
        self.breaker = breaker if breaker is not None else CircuitBreaker()
        self.stats = CacheStats()
        self._on_failure = on_failure
        self._max_stale_keys = max_stale_keys
        self._stale_keys: dict[str, None] = {}  # insertion-ordered set
        self._stale_lock = threading.Lock()

    @classmethod
    def from_config(
        cls,
        config: CacheConfig,
        *,
        key_prefix: str = "",
        breaker: CircuitBreaker | None = None,
        on_failure: Callable[[CacheFailure], None] | None = None,
        max_stale_keys: int = DEFAULT_MAX_STALE_KEYS,
    ) -> CacheClient:
        """Connect with :func:`~dbpatterns.runtime.caching.connect` and wrap the client."""
        return cls(
            connect(config),
            key_prefix=key_prefix,
            breaker=breaker,
            on_failure=on_failure,
            max_stale_keys=max_stale_keys,
        )

    def key(self, namespace: str, key: str) -> str:
        """The Redis key for ``key`` in ``namespace``: ``<key_prefix><namespace>:<key>``."""
        return f"{self.key_prefix}{namespace}:{key}"

    @property
    def stale_keys(self) -> frozenset[str]:
        """Keys whose cache update failed and that will be deleted when the cache answers again."""
        with self._stale_lock:
            return frozenset(self._stale_keys)

    def execute(self, operation: str, key: str, command: Callable[[redis.Redis], _T]) -> _T:
        """Run ``command`` against Redis, or raise :class:`CacheUnavailableError`.

        Before the command, keys remembered by :meth:`mark_stale` are deleted, so nothing written
        to the database during an outage is later answered from an old cache entry.
        """
        if not self.breaker.allow_request():
            skipped = CacheFailure(operation, key, FailureKind.SHORT_CIRCUIT)
            self._report(skipped)
            raise CacheUnavailableError(skipped)
        try:
            self._delete_stale_keys()
            result = command(self.redis)
        except _UNAVAILABLE_ERRORS as error:
            failure = CacheFailure(operation, key, FailureKind.UNAVAILABLE, error)
            self._record_failure(failure)
            raise CacheUnavailableError(failure) from error
        except redis.RedisError as error:
            # The server answered, so it is reachable: this does not count towards the breaker.
            self._record_success()
            failure = CacheFailure(operation, key, FailureKind.ERROR, error)
            self._report(failure)
            raise CacheUnavailableError(failure) from error
        except Exception as error:
            # Not a Redis error: a bug, or a client set up differently (decode_responses=True meeting
            # binary data). The cache must not take the application down, so it counts as a failure,
            # and the breaker never stays half-open waiting for a trial that ended this way.
            failure = CacheFailure(operation, key, FailureKind.ERROR, error)
            self._record_failure(failure)
            raise CacheUnavailableError(failure) from error
        self._record_success()
        return result

    def mark_stale(self, key: str) -> None:
        """Remember that ``key`` may hold an outdated value because updating it failed."""
        with self._stale_lock:
            self._stale_keys.pop(key, None)
            self._stale_keys[key] = None
            dropped = 0
            while len(self._stale_keys) > self._max_stale_keys:
                del self._stale_keys[next(iter(self._stale_keys))]
                dropped += 1
        if dropped:
            self.stats.increment("stale_keys_dropped", dropped)
            logger.error(
                "too many keys waiting for invalidation; forgot %d, their TTL bounds their staleness",
                dropped,
            )

    def _delete_stale_keys(self) -> None:
        keys = list(self.stale_keys)
        if not keys:
            return
        for start in range(0, len(keys), _DELETE_BATCH):
            batch = keys[start : start + _DELETE_BATCH]
            self.redis.delete(*batch)
            with self._stale_lock:
                for key in batch:
                    self._stale_keys.pop(key, None)
        self.stats.increment("stale_keys_invalidated", len(keys))
        logger.info("cache is back: invalidated %d keys updated while it was unavailable", len(keys))

    def _record_failure(self, failure: CacheFailure) -> None:
        if self.breaker.record_failure():
            self.stats.increment("breaker_opened")
            logger.error(
                "cache circuit breaker opened: skipping the cache for %.1f s",
                self.breaker.reset_after_seconds,
                extra={"cache_operation": failure.operation, "cache_key": failure.key},
            )
        self._report(failure)

    def _record_success(self) -> None:
        if self.breaker.record_success():
            logger.info("cache circuit breaker closed: the cache answers again")

    def _report(self, failure: CacheFailure) -> None:
        if failure.kind is FailureKind.SHORT_CIRCUIT:
            self.stats.increment("short_circuits")
            logger.debug("cache %s of %s skipped: circuit breaker open", failure.operation, failure.key)
        else:
            self.stats.increment("errors")
            logger.warning(
                "cache %s of %s failed (%s): %s",
                failure.operation,
                failure.key,
                failure.kind.value,
                describe_error(failure.error),
                extra={"cache_operation": failure.operation, "cache_key": failure.key},
            )
        if self._on_failure is not None:
            try:
                self._on_failure(failure)
            except Exception:
                logger.exception("cache on_failure hook raised; ignoring it")
