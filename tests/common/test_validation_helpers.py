"""The shared validation helpers and the profile default helper."""

from __future__ import annotations

import enum

import pytest
from aws_cdk import App, Stack

from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.validation import (
    PropValidationError,
    check_instance,
    check_int,
    check_required,
    construct_label,
)


class _Colour(enum.Enum):
    RED = "red"


def test_construct_label_names_the_class_and_the_future_path() -> None:
    stack = Stack(App(), "DbPatterns-Test")
    assert construct_label("RdsInstance", stack, "Orders") == "RdsInstance 'DbPatterns-Test/Orders'"
    assert construct_label(Stack, stack.node.scope, "Other") == "Stack 'Other'"  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [True, 1.0, "1", None])
def test_rejects_a_non_int_where_an_int_is_needed(value: object) -> None:
    with pytest.raises(PropValidationError, match=r"invalid size=.*whole number"):
        check_int("X 'S/Y'", "size", value)


def test_check_int_accepts_ints_and_optional_none() -> None:
    check_int("X", "size", 3)
    check_int("X", "size", None, optional=True)


def test_rejects_a_string_where_an_enum_is_needed() -> None:
    with pytest.raises(PropValidationError, match=r"invalid colour='red'; allowed: a _Colour"):
        check_instance("X", "colour", "red", _Colour)
    check_instance("X", "colour", _Colour.RED, _Colour)


def test_rejects_none_for_a_required_prop() -> None:
    with pytest.raises(PropValidationError, match="required"):
        check_required("X", "vpc", None)


@pytest.mark.parametrize(
    ("profile", "given", "expected"),
    [
        (DeploymentProfile.SANDBOX, None, 1),
        (DeploymentProfile.PRODUCTION, None, 2),
        (DeploymentProfile.SANDBOX, 0, 0),  # a falsy value the caller gave wins
        (DeploymentProfile.PRODUCTION, 5, 5),
    ],
)
def test_profile_pick_prefers_the_given_value(
    profile: DeploymentProfile, given: int | None, expected: int
) -> None:
    assert profile.pick(given, production=2, sandbox=1) == expected
