"""Daily backup/snapshot windows and weekly maintenance windows: format, minimum length, no overlap.

RDS, Aurora and ElastiCache take a daily window ``hh24:mi-hh24:mi`` and a weekly maintenance window
``ddd:hh24:mi-ddd:hh24:mi``, both in UTC, and refuse windows that overlap. The minimum length differs:
30 minutes for RDS and Aurora (``PreferredBackupWindow``/``PreferredMaintenanceWindow`` in the RDS API
reference), 60 minutes for ElastiCache (``SnapshotWindow``/``PreferredMaintenanceWindow`` in the
ElastiCache API reference). ElastiCache documents its days in lower case (``sun:05:00-sun:06:00``).
CDK passes all of them through unchecked, so a mistake would only show up at deploy time; these
functions find it at synth time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dbpatterns.common.validation import PropValidationError, is_unresolved

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 24 * 60
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY
#: Shortest window RDS and Aurora accept, in minutes.
RDS_MIN_WINDOW_MINUTES = 30
#: Shortest snapshot or maintenance window ElastiCache accepts, in minutes.
ELASTICACHE_MIN_WINDOW_MINUTES = 60

_DAILY = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
_WEEKLY = re.compile(r"^([A-Za-z]{3}):(\d{2}):(\d{2})-([A-Za-z]{3}):(\d{2}):(\d{2})$")

#: Defaults of the RDS and Aurora constructs: backups at 03:00-04:00 UTC daily, maintenance on
#: Sunday 04:30-05:30 UTC.
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


def _check_text(construct: str, prop: str, value: object) -> str:
    if not isinstance(value, str):
        raise PropValidationError(construct, prop, value, "allowed: a window string in UTC")
    return value


def parse_backup_window(
    construct: str, prop: str, value: str, *, min_minutes: int = RDS_MIN_WINDOW_MINUTES
) -> _Span:
    """A daily window as a span on Monday (repeated every day by :func:`windows_overlap`)."""
    match = _DAILY.match(_check_text(construct, prop, value))
    if not match:
        raise PropValidationError(
            construct, prop, value, "allowed: 'hh24:mi-hh24:mi' in UTC, e.g. '03:00-04:00'"
        )
    start = _minutes(construct, prop, value, match[1], match[2])
    end = _minutes(construct, prop, value, match[3], match[4])
    length = _length(start, end, MINUTES_PER_DAY)
    if length < min_minutes:
        raise PropValidationError(
            construct, prop, value, f"allowed: a window of at least {min_minutes} minutes"
        )
    return _Span(start, start + length)


def parse_maintenance_window(
    construct: str,
    prop: str,
    value: str,
    *,
    min_minutes: int = RDS_MIN_WINDOW_MINUTES,
    lowercase_days: bool = False,
) -> _Span:
    """A weekly window as a span from Monday 00:00 UTC; ``lowercase_days`` refuses ``Sun`` (ElastiCache)."""
    match = _WEEKLY.match(_check_text(construct, prop, value))
    example = "'sun:05:00-sun:06:00'" if lowercase_days else "'Sun:04:30-Sun:05:30'"
    days = "mon-sun in lower case" if lowercase_days else "Mon-Sun"
    allowed_format = f"allowed: 'ddd:hh24:mi-ddd:hh24:mi' in UTC, e.g. {example} (days {days})"
    if not match:
        raise PropValidationError(construct, prop, value, allowed_format)
    start_day, end_day = match[1], match[4]
    if lowercase_days and (start_day != start_day.lower() or end_day != end_day.lower()):
        raise PropValidationError(construct, prop, value, allowed_format)
    start_day, end_day = start_day.lower(), end_day.lower()
    if start_day not in DAYS or end_day not in DAYS:
        raise PropValidationError(construct, prop, value, allowed_format)
    start = DAYS.index(start_day) * MINUTES_PER_DAY + _minutes(construct, prop, value, match[2], match[3])
    end = DAYS.index(end_day) * MINUTES_PER_DAY + _minutes(construct, prop, value, match[5], match[6])
    length = _length(start, end, MINUTES_PER_WEEK)
    if length < min_minutes:
        raise PropValidationError(
            construct, prop, value, f"allowed: a window of at least {min_minutes} minutes"
        )
    return _Span(start, start + length)


def _overlaps(a: _Span, b: _Span, period: int) -> bool:
    """Whether two spans on a circle of ``period`` minutes intersect."""
    return any(a.start < b.end + shift and b.start + shift < a.end for shift in (-period, 0, period))


def windows_overlap(backup: _Span, maintenance: _Span) -> bool:
    """Whether the daily window meets the weekly maintenance window on any day."""
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
    min_minutes: int = RDS_MIN_WINDOW_MINUTES,
    lowercase_days: bool = False,
) -> None:
    """Validate both windows and refuse an overlap; ``None`` or token windows are skipped."""
    backup = (
        parse_backup_window(construct, backup_prop, backup_window, min_minutes=min_minutes)
        if backup_window is not None and not is_unresolved(backup_window)
        else None
    )
    maintenance = (
        parse_maintenance_window(
            construct,
            maintenance_prop,
            maintenance_window,
            min_minutes=min_minutes,
            lowercase_days=lowercase_days,
        )
        if maintenance_window is not None and not is_unresolved(maintenance_window)
        else None
    )
    if backup is not None and maintenance is not None and windows_overlap(backup, maintenance):
        raise PropValidationError(
            construct,
            f"{backup_prop}/{maintenance_prop}",
            f"{backup_window} / {maintenance_window}",
            "allowed: windows that do not overlap (the daily window repeats every day, in UTC)",
        )
