"""The backup/maintenance window rules, as pure functions."""

from __future__ import annotations

import pytest

from dbpatterns.common.validation import PropValidationError
from dbpatterns.rds.windows import check_windows


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
