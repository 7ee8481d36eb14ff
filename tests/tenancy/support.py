"""Small helpers shared by the tenancy tests."""

from __future__ import annotations


class FakeClock:
    """A monotonic clock the test moves by hand (token and cache lifetimes without sleeping)."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
