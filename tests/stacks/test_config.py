"""AppConfig's costly-showcase switches and the other settings app.py reads from context."""

from __future__ import annotations

import pytest

from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.validation import PropValidationError
from stacks.config import AppConfig, Showcase


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("all", frozenset(Showcase)),
        ("none", frozenset()),
        ("", frozenset()),
        ("global-cache, tenancy", frozenset({Showcase.GLOBAL_CACHE, Showcase.TENANCY})),
    ],
)
def test_showcases_parse_from_context_text(text: str, expected: frozenset[Showcase]) -> None:
    assert Showcase.parse(text) == expected


def test_rejects_an_unknown_showcase_naming_the_allowed_ones() -> None:
    with pytest.raises(PropValidationError, match=r"showcases='dax'; allowed: all, none, 'global-cache'"):
        Showcase.parse("dax")


def test_costly_showcases_are_on_in_production_and_opt_in_in_a_sandbox() -> None:
    assert all(AppConfig(profile=DeploymentProfile.PRODUCTION).shows(s) for s in Showcase)
    assert not any(AppConfig(profile=DeploymentProfile.SANDBOX).shows(s) for s in Showcase)
    chosen = AppConfig(profile=DeploymentProfile.SANDBOX, showcases=frozenset({Showcase.TENANCY}))
    assert chosen.shows(Showcase.TENANCY)
    assert not chosen.shows(Showcase.GLOBAL_CACHE)


def test_rejects_an_alarm_email_that_is_not_an_address() -> None:
    with pytest.raises(PropValidationError, match=r"alarm_email='ops'; allowed: an email address"):
        AppConfig(alarm_email="ops")
