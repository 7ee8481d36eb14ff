"""Finding the cache primary: the deployed default, the table's override after a failover."""

from __future__ import annotations

import pytest

from dbpatterns.handlers.social.topology import CacheEndpoint, PrimaryLocator, main, set_primary
from tests.handlers.social.conftest import SocialTable
from tests.runtime.caching.conftest import FakeClock

DEPLOYED = CacheEndpoint(region="us-east-1", host="master.sessions.use1.cache.amazonaws.com", port=6380)
PROMOTED = CacheEndpoint(region="eu-west-1", host="master.sessions.euw1.cache.amazonaws.com", port=6380)


def test_the_deployed_primary_is_used_until_an_override_exists(social: SocialTable) -> None:
    clock = FakeClock()
    locator = PrimaryLocator(social.client, social.name, DEPLOYED, refresh_seconds=30, clock=clock)
    assert locator.current() == DEPLOYED

    set_primary(social.client, social.name, PROMOTED, written_by="operator", now_ms=0)
    assert locator.current() == DEPLOYED  # cached until the refresh interval
    clock.advance(30)
    assert locator.current() == PROMOTED


def test_a_failed_write_makes_the_locator_look_again_soon(social: SocialTable) -> None:
    clock = FakeClock()
    locator = PrimaryLocator(social.client, social.name, DEPLOYED, refresh_seconds=30, clock=clock)
    locator.current()
    set_primary(social.client, social.name, PROMOTED, written_by="operator", now_ms=0)

    clock.advance(1)
    locator.invalidate()

    assert locator.current() == PROMOTED


def test_the_runbook_cli_sets_shows_and_clears_the_override(
    social: SocialTable, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--table", social.name]
    main(["set-primary", *args, "--region", PROMOTED.region, "--host", PROMOTED.host], client=social.client)
    main(["show", *args], client=social.client)
    assert PROMOTED.host in capsys.readouterr().out

    main(["clear", *args], client=social.client)
    assert PrimaryLocator(social.client, social.name, DEPLOYED).current() == DEPLOYED
