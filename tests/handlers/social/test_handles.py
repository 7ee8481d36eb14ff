"""Handles are unique worldwide: concurrent claims through the home region, exactly one wins."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import boto3  # type: ignore[import-untyped, unused-ignore]
import pytest
from botocore.config import Config  # type: ignore[import-untyped, unused-ignore]

from dbpatterns.handlers.social import keys
from dbpatterns.handlers.social.errors import HandleTakenError, HomeRegionUnavailableError
from dbpatterns.handlers.social.handles import HandleService
from tests.handlers.social.conftest import SocialTable
from tests.handlers.social.support import REGIONS, atomic_requests

CLAIMANTS = [f"01J0000000000000000000{index:04d}" for index in range(9)]


def claim(service: HandleService, user_id: str, handle: str) -> bool:
    try:
        service.register(user_id=user_id, handle=handle, display_name=user_id, password_hash="x")
    except HandleTakenError:
        return False
    return True


@pytest.mark.parametrize("attempt", range(5))
def test_concurrent_claims_from_three_regions_have_exactly_one_winner(
    social: SocialTable, attempt: int
) -> None:
    # Nine users in three regions want the same handle (in different letter cases) at the same moment.
    services = [social.handles(REGIONS[index % 3]) for index in range(len(CLAIMANTS))]
    handles = ["Star", "star", "STAR"] * 3

    with atomic_requests(), ThreadPoolExecutor(max_workers=9) as pool:
        results = list(pool.map(claim, services, CLAIMANTS, handles))

    assert results.count(True) == 1, attempt
    winner = CLAIMANTS[results.index(True)]
    claim_item = social.item(keys.handle_pk("star"), keys.CLAIM_SK)
    assert claim_item is not None
    assert claim_item["user_id"]["S"] == winner
    assert claim_item["origin_region"]["S"] == "us-east-1"  # written in the home region only
    losers = [user for user, won in zip(CLAIMANTS, results, strict=True) if not won]
    assert all(social.item(keys.user_pk(user), keys.PROFILE_SK) is None for user in losers)


def test_changing_a_handle_releases_the_old_one(social: SocialTable) -> None:
    handles = social.handles("eu-west-1")
    claim(handles, CLAIMANTS[0], "alice")

    assert handles.change(CLAIMANTS[0], "alicia") == "alice"

    assert handles.resolve("ALICIA") == CLAIMANTS[0]
    assert handles.resolve("alice") is None
    assert claim(handles, CLAIMANTS[1], "alice") is True


def test_cannot_take_a_handle_someone_holds(social: SocialTable) -> None:
    handles = social.handles()
    claim(handles, CLAIMANTS[0], "alice")
    claim(handles, CLAIMANTS[1], "bob")

    with pytest.raises(HandleTakenError):
        handles.change(CLAIMANTS[1], "Alice")
    assert handles.resolve("bob") == CLAIMANTS[1]


def test_changing_only_the_letter_case_keeps_the_claim(social: SocialTable) -> None:
    handles = social.handles()
    claim(handles, CLAIMANTS[0], "alice")
    handles.change(CLAIMANTS[0], "Alice")

    item = social.item(keys.handle_pk("alice"), keys.CLAIM_SK)
    assert item is not None
    assert (item["user_id"]["S"], item["handle"]["S"]) == (CLAIMANTS[0], "Alice")


def test_a_claim_fails_with_a_retryable_error_when_the_home_region_is_unreachable(
    social: SocialTable,
) -> None:
    # Nothing listens on port 9: the connection is refused, as when the home region is down.
    unreachable = boto3.client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        config=Config(connect_timeout=0.5, read_timeout=0.5, retries={"max_attempts": 1}),
    )
    handles = social.handles("ap-southeast-1", home_client=unreachable)

    with pytest.raises(HomeRegionUnavailableError) as raised:
        handles.register(user_id=CLAIMANTS[0], handle="alice", display_name="A", password_hash="x")

    assert raised.value.status == 503
    assert raised.value.retry_after is not None
    assert social.item(keys.handle_pk("alice"), keys.CLAIM_SK) is None
