"""The circuit breaker's state machine, driven by a fake clock (no server needed)."""

from __future__ import annotations

import pytest

from dbpatterns.runtime.caching import BreakerState, CircuitBreaker
from tests.runtime.caching.conftest import FakeClock


def test_opens_after_the_threshold_of_consecutive_failures(clock: FakeClock) -> None:
    breaker = CircuitBreaker(failure_threshold=3, reset_after_seconds=5, clock=clock)

    opened = [breaker.record_failure() for _ in range(3)]

    assert opened == [False, False, True]
    assert breaker.state is BreakerState.OPEN
    assert breaker.allow_request() is False


def test_a_success_resets_the_failure_count(clock: FakeClock) -> None:
    breaker = CircuitBreaker(failure_threshold=2, clock=clock)

    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()

    assert breaker.state is BreakerState.CLOSED


def test_lets_one_trial_request_through_after_the_reset_period(clock: FakeClock) -> None:
    breaker = CircuitBreaker(failure_threshold=1, reset_after_seconds=5, clock=clock)
    breaker.record_failure()

    clock.advance(4.9)
    assert breaker.allow_request() is False
    clock.advance(0.1)
    assert breaker.allow_request() is True
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.allow_request() is False  # only one trial at a time


def test_successful_trial_closes_and_failed_trial_reopens(clock: FakeClock) -> None:
    breaker = CircuitBreaker(failure_threshold=3, reset_after_seconds=5, clock=clock)
    for _ in range(3):
        breaker.record_failure()
    clock.advance(5)
    breaker.allow_request()

    assert breaker.record_failure() is True  # a single failed trial reopens it
    assert breaker.allow_request() is False
    clock.advance(5)
    assert breaker.allow_request() is True
    assert breaker.record_success() is True
    assert breaker.state is BreakerState.CLOSED


def test_disabled_breaker_never_opens() -> None:
    breaker = CircuitBreaker.disabled()

    assert not any(breaker.record_failure() for _ in range(100))
    assert breaker.allow_request() is True


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"failure_threshold": -1}, "failure_threshold is -1; allowed: 1 or more, or 0"),
        ({"reset_after_seconds": 0}, "reset_after_seconds is 0; allowed: more than 0"),
    ],
)
def test_rejects_invalid_settings(options: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CircuitBreaker(**options)  # type: ignore[arg-type]
