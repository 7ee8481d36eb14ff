"""Backup and maintenance windows: parsing, the 30-minute minimum, and the no-overlap rule.

RDS and Aurora take a daily backup window ``hh24:mi-hh24:mi`` and a weekly maintenance window
``ddd:hh24:mi-ddd:hh24:mi``, both in UTC, each at least 30 minutes long, and refuse windows that
overlap. CDK passes both through unchecked, so a mistake only shows up at deploy time; these
functions find it at synth time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dbpatterns.common.validation import PropValidationError, is_unresolved

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 24 * 60
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY
MIN_WINDOW_MINUTES = 30
MAX_BACKUP_WINDOW_MINUTES = 24 * 60

_BACKUP = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
_MAINTENANCE = re.compile(r"^([A-Za-z]{3}):(\d{2}):(\d{2})-([A-Za-z]{3}):(\d{2}):(\d{2})$")

#: Defaults: backups at 03:00-04:00 UTC every day, maintenance on Sunday 04:30-05:30 UTC.
DEFAULT_BACKUP_WINDOW = "03:00-04:00"
DEFAULT_MAINTENANCE_WINDOW = "Sun:04:30-Sun:05:30"


@dataclass(frozen=True)
class _Span:
    """A half-open span [start, end) in minutes from Monday 00:00 UTC; ``end`` may pass a week."""

    start: int
    end: int


def _minutes(construct: str, prop: str, value: str, hour: str, minute: str) -> int:
    h, m = int(hour), int(minute)
    if h > 23 or m > 59:
        raise PropValidationError(construct, prop, value, "allowed: times between 00:00 and 23:59 UTC")
    return h * 60 + m


def _length(start: int, end: int, period: int) -> int:
    return (end - start) % period


def parse_backup_window(construct: str, prop: str, value: str) -> _Span:
    """A daily window as a span on Monday (repeated every day by :func:`windows_overlap`)."""
    match = _BACKUP.match(value)
    if not match:
        raise PropValidationError(
            construct, prop, value, "allowed: 'hh24:mi-hh24:mi' in UTC, e.g. '03:00-04:00'"
        )
    start = _minutes(construct, prop, value, match[1], match[2])
    end = _minutes(construct, prop, value, match[3], match[4])
    length = _length(start, end, MINUTES_PER_DAY)
    if length < MIN_WINDOW_MINUTES:
        raise PropValidationError(
            construct, prop, value, f"allowed: a window of at least {MIN_WINDOW_MINUTES} minutes"
        )
    return _Span(start, start + length)


def parse_maintenance_window(construct: str, prop: str, value: str) -> _Span:
    """A weekly window as a span from Monday 00:00 UTC."""
    match = _MAINTENANCE.match(value)
    allowed_format = "allowed: 'ddd:hh24:mi-ddd:hh24:mi' in UTC, e.g. 'Sun:04:30-Sun:05:30'"
    if not match:
        raise PropValidationError(construct, prop, value, allowed_format)
    start_day, end_day = match[1].lower(), match[4].lower()
    if start_day not in DAYS or end_day not in DAYS:
        raise PropValidationError(construct, prop, value, allowed_format + " (days Mon-Sun)")
    start = DAYS.index(start_day) * MINUTES_PER_DAY + _minutes(construct, prop, value, match[2], match[3])
    end = DAYS.index(end_day) * MINUTES_PER_DAY + _minutes(construct, prop, value, match[5], match[6])
    length = _length(start, end, MINUTES_PER_WEEK)
    if length < MIN_WINDOW_MINUTES:
        raise PropValidationError(
            construct, prop, value, f"allowed: a window of at least {MIN_WINDOW_MINUTES} minutes"
        )
    return _Span(start, start + length)


def _overlaps(a: _Span, b: _Span, period: int) -> bool:
    """Whether two spans on a circle of ``period`` minutes intersect."""
    return any(a.start < b.end + shift and b.start + shift < a.end for shift in (-period, 0, period))


def windows_overlap(backup: _Span, maintenance: _Span) -> bool:
    """Whether the daily backup window meets the weekly maintenance window on any day."""
    return any(
        _overlaps(
            _Span(backup.start + day * MINUTES_PER_DAY, backup.end + day * MINUTES_PER_DAY),
            maintenance,
            MINUTES_PER_WEEK,
        )
        for day in range(len(DAYS))
    )


def check_windows(
    construct: str,
    *,
    backup_window: str | None,
    maintenance_window: str | None,
    backup_prop: str = "preferred_backup_window",
    maintenance_prop: str = "preferred_maintenance_window",
) -> None:
    """Validate both windows and refuse an overlap; ``None`` or token windows are skipped."""
    backup = (
        parse_backup_window(construct, backup_prop, backup_window)
        if backup_window is not None and not is_unresolved(backup_window)
        else None
    )
    maintenance = (
        parse_maintenance_window(construct, maintenance_prop, maintenance_window)
        if maintenance_window is not None and not is_unresolved(maintenance_window)
        else None
    )
    if backup is not None and maintenance is not None and windows_overlap(backup, maintenance):
        raise PropValidationError(
            construct,
            f"{backup_prop}/{maintenance_prop}",
            f"{backup_window} / {maintenance_window}",
            "allowed: windows that do not overlap (the backup window repeats every day, in UTC)",
        )
