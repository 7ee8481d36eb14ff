"""A small circuit breaker, so a dead cache does not add a timeout to every request.

Shared by the Redis caching library (``dbpatterns.runtime.caching``) and the flash-sale processor's
DAX reads. It lives outside ``caching`` because importing that package imports ``redis``, which a
function without Redis (the flash-sale processor) does not ship.

After ``failure_threshold`` consecutive failures the breaker opens and the cache is skipped for
``reset_after_seconds``. Then one trial request goes through (half-open): success closes the
breaker, failure opens it for another period. Each Lambda execution environment has its own
breaker, so the number of probes a sick cache sees grows with the number of warm environments.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable

DEFAULT_FAILURE_THRESHOLD = 3
DEFAULT_RESET_AFTER_SECONDS = 5.0


class BreakerState(enum.Enum):
    CLOSED = "closed"
    """Requests go to the cache."""
    OPEN = "open"
    """Requests skip the cache until the reset period has passed."""
    HALF_OPEN = "half_open"
    """One trial request is on its way to the cache; the others skip it."""


class CircuitBreaker:
    """Counts consecutive cache failures and decides whether the next request may try the cache."""

    def __init__(
        self,
        *,
        failure_threshold: int = DEFAULT_FAILURE_THRESHOLD,
        reset_after_seconds: float = DEFAULT_RESET_AFTER_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Create a closed breaker.

        :param failure_threshold: consecutive failures that open the breaker. Default: 3.
            0 disables the breaker (see :meth:`disabled`).
        :param reset_after_seconds: how long an open breaker skips the cache before one trial
            request. Default: 5 s.
        :param clock: monotonic clock in seconds; tests pass a fake one. Default: ``time.monotonic``.
        """
        if failure_threshold < 0:
            raise ValueError(
                f"CircuitBreaker failure_threshold is {failure_threshold}; "
                "allowed: 1 or more, or 0 to disable the breaker"
            )
        if reset_after_seconds <= 0:
            raise ValueError(
                f"CircuitBreaker reset_after_seconds is {reset_after_seconds}; allowed: more than 0"
            )
        self.failure_threshold = failure_threshold
        self.reset_after_seconds = reset_after_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._state = BreakerState.CLOSED
        self._consecutive_failures = 0
        self._opened_at = 0.0

    @classmethod
    def disabled(cls) -> CircuitBreaker:
        """A breaker that never opens: every request tries the cache and may wait for its timeout."""
        return cls(failure_threshold=0)

    @property
    def state(self) -> BreakerState:
        return self._state

    def allow_request(self) -> bool:
        """Whether the caller may try the cache now (an open breaker turns half-open when due)."""
        with self._lock:
            if self._state is BreakerState.CLOSED:
                return True
            if self._state is BreakerState.HALF_OPEN:
                return False  # a trial request is already in flight
            if self._clock() - self._opened_at >= self.reset_after_seconds:
                self._state = BreakerState.HALF_OPEN
                return True
            return False

    def record_success(self) -> bool:
        """Note that the cache answered; return True when this closed an open or half-open breaker."""
        with self._lock:
            recovered = self._state is not BreakerState.CLOSED
            self._state = BreakerState.CLOSED
            self._consecutive_failures = 0
            return recovered

    def record_failure(self) -> bool:
        """Note that the cache failed; return True when this failure opened the breaker."""
        with self._lock:
            if self.failure_threshold == 0:
                return False
            self._consecutive_failures += 1
            if self._state is BreakerState.HALF_OPEN or (
                self._state is BreakerState.CLOSED and self._consecutive_failures >= self.failure_threshold
            ):
                self._state = BreakerState.OPEN
                self._opened_at = self._clock()
                return True
            return False
