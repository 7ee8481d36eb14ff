"""Likes, follows and counters: idempotent per user, atomic with their counter, no lost or double count."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dbpatterns.handlers.social import keys
from dbpatterns.handlers.social.errors import NotFoundError
from dbpatterns.handlers.social.store import CannotFollowSelfError, SocialStore
from tests.handlers.social.conftest import SocialTable
from tests.handlers.social.support import REGIONS, atomic_requests

USERS = [f"01J0000000000000000000{index:04d}" for index in range(12)]
AUTHOR = "01J000000000000000000AUTHR"


@contextmanager
def recorded_calls(store: SocialStore) -> Iterator[list[str]]:
    calls: list[str] = []

    def record(model: Any, **_: Any) -> None:
        calls.append(model.name)

    store.client.meta.events.register("before-call.dynamodb.*", record)
    try:
        yield calls
    finally:
        store.client.meta.events.unregister("before-call.dynamodb.*", record)


def like_items(social: SocialTable, post_id: str) -> set[str]:
    response = social.client.query(
        TableName=social.name,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :like)",
        ExpressionAttributeValues={":pk": {"S": keys.post_pk(post_id)}, ":like": {"S": keys.LIKE_PREFIX}},
        ConsistentRead=True,
    )
    return {item["user_id"]["S"] for item in response["Items"]}


def register(social: SocialTable, user_id: str, handle: str) -> None:
    social.handles().register(user_id=user_id, handle=handle, display_name=handle, password_hash="x")


def test_a_like_is_one_transaction_and_counts_once(social: SocialTable) -> None:
    store = social.store()
    post_id = store.create_post(AUTHOR, "hello")["post_id"]

    with recorded_calls(store) as calls:
        assert store.like(post_id, USERS[0]) is True
    assert calls == ["TransactWriteItems"]
    assert store.like(post_id, USERS[0]) is False  # repeated: refused by the condition, nothing written

    post = store.post(post_id)
    assert post is not None
    assert post["likes"] == 1


def test_likes_from_several_regions_are_summed(social: SocialTable) -> None:
    post_id = social.store().create_post(AUTHOR, "hello")["post_id"]
    for user, region in zip(USERS, REGIONS * 2, strict=False):
        social.store(region).like(post_id, user)

    post = social.store("ap-southeast-1").post(post_id)
    assert post is not None
    assert post["likes"] == len(REGIONS * 2)
    # Each region wrote only its own shard.
    for region in REGIONS:
        shard = social.item(keys.post_pk(post_id), keys.counter_sk(region, 0))
        assert shard is not None
        assert shard["likes"]["N"] == "2"
        assert shard["origin_region"]["S"] == region


def test_unlike_is_symmetric_and_idempotent(social: SocialTable) -> None:
    store = social.store()
    post_id = store.create_post(AUTHOR, "hello")["post_id"]
    store.like(post_id, USERS[0])

    assert store.unlike(post_id, USERS[0]) is True
    assert store.unlike(post_id, USERS[0]) is False
    assert store.like_counts([post_id]) == {post_id: 0}
    assert like_items(social, post_id) == set()


def test_liking_a_missing_post_is_404_and_writes_nothing(social: SocialTable) -> None:
    store = social.store()
    missing = "01J0000000000000000000MISS"
    with pytest.raises(NotFoundError):
        store.like(missing, USERS[0])
    assert social.item(keys.post_pk(missing), keys.counter_sk("us-east-1", 0)) is None


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    operations=st.lists(
        st.tuples(st.sampled_from(USERS), st.sampled_from(["like", "unlike"]), st.sampled_from(REGIONS)),
        min_size=1,
        max_size=40,
    )
)
def test_concurrent_likes_and_unlikes_never_lose_or_double_count(
    social: SocialTable, operations: list[tuple[str, str, str]]
) -> None:
    post_id = social.store().create_post(AUTHOR, "a popular post")["post_id"]
    stores = {region: social.store(region, counter_shards=2) for region in REGIONS}

    def run(operation: tuple[str, str, str]) -> bool:
        user, action, region = operation
        store = stores[region]
        return store.like(post_id, user) if action == "like" else store.unlike(post_id, user)

    with atomic_requests(), ThreadPoolExecutor(max_workers=8) as pool:
        changed = list(pool.map(run, operations))

    liked = like_items(social, post_id)
    counted = stores["us-east-1"].like_counts([post_id])[post_id]
    assert counted == len(liked)  # no lost and no double count
    net = sum(
        1 if action == "like" else -1 for (_, action, _), did in zip(operations, changed, strict=True) if did
    )
    assert net == len(liked)  # every change that reported success moved the count by exactly one
    for user in USERS:
        actions = {action for who, action, _ in operations if who == user}
        if actions == {"like"}:
            assert user in liked
        if "like" not in actions:
            assert user not in liked


def test_follow_moves_both_users_counters_once(social: SocialTable) -> None:
    register(social, USERS[0], "alice")
    register(social, USERS[1], "bob")
    store = social.store("eu-west-1")

    assert store.follow(USERS[0], USERS[1]) is True
    assert store.follow(USERS[0], USERS[1]) is False

    alice, bob = store.profile(USERS[0]), store.profile(USERS[1])
    assert alice is not None
    assert bob is not None
    assert (alice["following"], alice["followers"]) == (1, 0)
    assert (bob["following"], bob["followers"]) == (0, 1)

    assert store.unfollow(USERS[0], USERS[1]) is True
    assert store.unfollow(USERS[0], USERS[1]) is False
    bob = store.profile(USERS[1])
    assert bob is not None
    assert bob["followers"] == 0


def test_rejects_following_a_missing_user_or_oneself(social: SocialTable) -> None:
    register(social, USERS[0], "alice")
    store = social.store()
    with pytest.raises(NotFoundError):
        store.follow(USERS[0], USERS[5])
    with pytest.raises(CannotFollowSelfError):
        store.follow(USERS[0], USERS[0])


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(st.tuples(st.sampled_from(USERS[1:]), st.booleans()), min_size=1, max_size=30))
def test_concurrent_follows_keep_counters_equal_to_edges(
    social: SocialTable, operations: list[tuple[str, bool]]
) -> None:
    target = USERS[0]
    if social.item(keys.user_pk(target), keys.PROFILE_SK) is None:
        register(social, target, "target")
    store = social.store()
    before = store.profile(target)
    assert before is not None

    with atomic_requests(), ThreadPoolExecutor(max_workers=6) as pool:
        list(
            pool.map(
                lambda op: store.follow(op[0], target) if op[1] else store.unfollow(op[0], target), operations
            )
        )

    followers = social.client.query(
        TableName=social.name,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :f)",
        ExpressionAttributeValues={":pk": {"S": keys.user_pk(target)}, ":f": {"S": keys.FOLLOWER_PREFIX}},
        ConsistentRead=True,
    )["Count"]
    after = store.profile(target)
    assert after is not None
    assert after["followers"] == followers


def test_a_post_appears_on_the_authors_timeline_and_counts(social: SocialTable) -> None:
    register(social, AUTHOR, "author")
    store = social.store()
    first = store.create_post(AUTHOR, "one")
    social.clock.advance(1)
    second = store.create_post(AUTHOR, "two")

    listed, more = store.user_posts(AUTHOR, 10, None)
    assert [post["post_id"] for post in listed] == [second["post_id"], first["post_id"]]
    assert more is None
    _, more = store.user_posts(AUTHOR, 1, None)
    assert more == second["post_id"]
    assert [post["post_id"] for post in store.user_posts(AUTHOR, 1, more)[0]] == [first["post_id"]]
    profile = store.profile(AUTHOR)
    assert profile is not None
    assert profile["posts"] == 2
