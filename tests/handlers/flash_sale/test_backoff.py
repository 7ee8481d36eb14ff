"""The visibility backoff of transient failures: short, growing with the receive count, jittered."""

from __future__ import annotations

import random

import pytest

from dbpatterns.handlers.flash_sale.backoff import CAP_SECONDS, visibility_backoff_seconds


@pytest.mark.parametrize(
    ("receive_count", "low", "high"),
    [(1, 1, 2), (2, 2, 4), (3, 4, 8), (4, 8, 16), (5, 16, 32), (6, 32, 64), (7, 60, 120), (40, 60, 120)],
)
def test_backoff_doubles_per_receive_within_equal_jitter_bounds(
    receive_count: int, low: int, high: int
) -> None:
    rng = random.Random(receive_count)

    draws = {visibility_backoff_seconds(receive_count, rng) for _ in range(300)}

    assert min(draws) >= low
    assert max(draws) <= high
    assert len(draws) > 1, "jittered, so retries of one batch do not come back together"


def test_backoff_is_at_least_a_second_and_at_most_the_cap_for_any_receive_count() -> None:
    assert all(1 <= visibility_backoff_seconds(n) <= CAP_SECONDS for n in range(-1, 100))
