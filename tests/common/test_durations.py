"""check_duration: Duration props in whole units and within range, before CDK converts them."""

from __future__ import annotations

import pytest
from aws_cdk import Duration

from dbpatterns.common.durations import check_duration, whole
from dbpatterns.common.validation import PropValidationError


def test_accepts_whole_units_in_range_and_optional_none() -> None:
    check_duration(
        "X", "p", Duration.days(7), unit="days", minimum=Duration.days(1), maximum=Duration.days(35)
    )
    check_duration("X", "p", Duration.hours(48), unit="days", maximum=Duration.days(35))
    check_duration("X", "p", None, unit="days", optional=True)
    assert whole(Duration.hours(48), "days") == 2


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (Duration.hours(36), r"invalid p='Duration.hours\(36\)'; allowed: a whole number of days"),
        (Duration.days(36), r"allowed: Duration.days\(1\) to Duration.days\(35\), in whole days"),
        (7, r"invalid p=7; allowed: a Duration, e.g. Duration.days\(1\)"),
        (None, r"invalid p=None; allowed: a Duration"),
    ],
)
def test_rejects_fractions_out_of_range_values_and_non_durations(value: object, message: str) -> None:
    with pytest.raises(PropValidationError, match=message):
        check_duration("X", "p", value, unit="days", minimum=Duration.days(1), maximum=Duration.days(35))
