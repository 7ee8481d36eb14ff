"""UTC timestamps as the API writes them (``2025-06-01T12:00:00.250Z``) and epoch milliseconds.

This module imports only the standard library.
"""

from __future__ import annotations

from datetime import UTC, datetime


def iso_from_ms(time_ms: int) -> str:
    moment = datetime.fromtimestamp(time_ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{time_ms % 1000:03d}Z"


def ms_from_iso(text: str) -> int:
    """Parse a UTC timestamp matching ``schema.TIMESTAMP_PATTERN`` (the ``Z`` suffix is required)."""
    if not text.endswith("Z"):
        raise ValueError(f"timestamp {text!r} is not UTC (no trailing Z)")
    moment = datetime.fromisoformat(text[:-1] + "+00:00")
    return int(moment.timestamp() * 1000)
