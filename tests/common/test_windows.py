"""The backup/snapshot and maintenance window rules (RDS, Aurora, ElastiCache), as pure functions."""

from __future__ import annotations

import pytest

from dbpatterns.common.validation import PropValidationError
from dbpatterns.common.windows import ELASTICACHE_MIN_WINDOW_MINUTES, check_windows


@pytest.mark.parametrize(
    ("backup", "maintenance"),
    [
        ("03:00-04:00", "Sun:04:30-Sun:05:30"),  # the defaults
        ("03:00-04:00", "Sun:04:00-Sun:04:30"),  # touching is not overlapping
        ("22:00-23:00", "Sat:23:30-Sun:00:30"),  # maintenance across midnight
        ("23:30-00:30", "Wed:01:00-Wed:02:00"),  # backup across midnight
    ],
)
def test_accepts_windows_that_do_not_overlap(backup: str, maintenance: str) -> None:
    check_windows("Db", backup_window=backup, maintenance_window=maintenance)


@pytest.mark.parametrize(
    ("backup", "maintenance"),
    [
        ("03:00-04:00", "Sun:03:59-Sun:05:00"),
        ("23:30-00:30", "Thu:00:00-Thu:00:30"),  # backup's tail after midnight
        ("00:00-01:00", "Sun:23:30-Mon:00:30"),  # maintenance wrapping the end of the week
        ("10:00-11:00", "Mon:00:00-Tue:00:00"),  # a day-long maintenance window
    ],
)
def test_rejects_overlapping_windows(backup: str, maintenance: str) -> None:
    with pytest.raises(PropValidationError, match="windows that do not overlap"):
        check_windows("Db", backup_window=backup, maintenance_window=maintenance)


def test_rejects_an_unknown_weekday() -> None:
    with pytest.raises(
        PropValidationError, match=r"invalid preferred_maintenance_window='Sun:04:30-Fun:05:30'"
    ):
        check_windows("Db", backup_window=None, maintenance_window="Sun:04:30-Fun:05:30")


def test_rejects_an_hour_past_23() -> None:
    with pytest.raises(PropValidationError, match="between 00:00 and 23:59"):
        check_windows("Db", backup_window="24:00-01:00", maintenance_window=None)


def test_rejects_an_elasticache_window_shorter_than_60_minutes() -> None:
    with pytest.raises(
        PropValidationError, match=r"invalid snapshot_window='03:00-03:45'; .*at least 60 minutes"
    ):
        check_windows(
            "Cache",
            backup_window="03:00-03:45",
            maintenance_window=None,
            backup_prop="snapshot_window",
            min_minutes=ELASTICACHE_MIN_WINDOW_MINUTES,
        )


def test_rejects_capitalised_days_where_elasticache_documents_lower_case() -> None:
    with pytest.raises(
        PropValidationError, match=r"invalid maintenance_window='Sun:05:00-Sun:06:00'.*lower case"
    ):
        check_windows(
            "Cache",
            backup_window=None,
            maintenance_window="Sun:05:00-Sun:06:00",
            maintenance_prop="maintenance_window",
            lowercase_days=True,
        )


def test_rejects_a_window_that_is_not_a_string() -> None:
    with pytest.raises(PropValidationError, match=r"invalid preferred_backup_window=300; allowed: a window"):
        check_windows("Db", backup_window=300, maintenance_window=None)  # type: ignore[arg-type]
