"""The global feed: newest first, exact time-range pagination across shards and buckets."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dbpatterns.handlers.social import ids, keys, posts
from dbpatterns.handlers.social.feed import FeedPosition, TimelineReader
from dbpatterns.handlers.social.timeline import MAX_BUCKETS_PER_PAGE, TimelineLayout
from dbpatterns.handlers.social.times import iso_from_ms
from tests.handlers.ledger.support import FakeLambdaContext
from tests.handlers.social.conftest import SocialTable
from tests.handlers.social.support import TABLE, api_event

HOUR_MS = 3_600_000
T0 = 1_750_000_000_000 - 1_750_000_000_000 % HOUR_MS  # an hour boundary


class TimelineIndex:
    """An in-memory Timeline GSI answering exactly the query the reader sends (for fast properties)."""

    def __init__(self, layout: TimelineLayout, post_ids: list[str]) -> None:
        self.partitions: dict[str, list[str]] = {}
        for post_id in post_ids:
            tl_pk, tl_sk = layout.keys_for(post_id)
            self.partitions.setdefault(tl_pk, []).append(tl_sk)
        self.queries = 0

    def query(self, **kwargs: Any) -> dict[str, Any]:
        self.queries += 1
        assert kwargs["IndexName"] == keys.TIMELINE_INDEX
        assert kwargs["ScanIndexForward"] is False
        values = kwargs["ExpressionAttributeValues"]
        low, high = values[":low"]["S"], values[":high"]["S"]
        matching = sorted(
            (sk for sk in self.partitions.get(values[":pk"]["S"], []) if low <= sk <= high), reverse=True
        )
        page = matching[: kwargs["Limit"]]
        response: dict[str, Any] = {
            "Items": [{"tl_sk": {"S": sk}, "post_id": {"S": sk}, "text": {"S": "x"}} for sk in page]
        }
        if len(page) == kwargs["Limit"]:
            response["LastEvaluatedKey"] = {"tl_sk": {"S": page[-1]}}
        return response


def read_all(reader: TimelineReader, from_ms: int, to_ms: int, limit: int) -> list[list[str]]:
    pages: list[list[str]] = []
    position: FeedPosition | None = None
    for _ in range(10_000):
        page = reader.page(from_ms, to_ms, limit, position)
        assert len(page.posts) <= limit
        pages.append([post["post_id"] for post in page.posts])
        if page.next_position is None:
            return pages
        # What a cursor carries survives the JSON round trip.
        position = FeedPosition.from_state(json.loads(json.dumps(page.next_position.to_state())))
    raise AssertionError("pagination did not end")


@settings(max_examples=150, deadline=None)
@given(
    posts=st.lists(
        st.tuples(st.integers(min_value=0, max_value=30 * HOUR_MS), st.integers(0, 2**80 - 1)),
        max_size=120,
        unique_by=lambda post: post[1],
    ),
    shards=st.integers(min_value=1, max_value=8),
    limit=st.integers(min_value=1, max_value=50),
    window=st.tuples(st.integers(0, 31 * HOUR_MS), st.integers(0, 31 * HOUR_MS)).filter(
        lambda w: w[0] != w[1]
    ),
)
def test_pages_list_every_post_of_the_range_once_newest_first(
    posts: list[tuple[int, int]], shards: int, limit: int, window: tuple[int, int]
) -> None:
    layout = TimelineLayout(shards=shards, bucket_seconds=3_600)  # hourly: many bucket crossings
    post_ids = [ids.make_ulid(T0 + offset, random) for offset, random in posts]
    from_ms, to_ms = T0 + min(window), T0 + max(window)
    reader = TimelineReader(TimelineIndex(layout, post_ids), TABLE, layout)

    listed = [post_id for page in read_all(reader, from_ms, to_ms, limit) for post_id in page]

    expected = sorted((p for p in post_ids if from_ms <= ids.ulid_time_ms(p) < to_ms), reverse=True)
    assert listed == expected


def test_a_sparse_range_stops_after_the_bucket_cap_with_a_cursor() -> None:
    layout = TimelineLayout(shards=2, bucket_seconds=3_600)
    old_post = ids.new_ulid(T0)
    index = TimelineIndex(layout, [old_post])
    reader = TimelineReader(index, TABLE, layout)

    page = reader.page(T0, T0 + 30 * HOUR_MS, 20, None)

    assert page.posts == []
    assert page.next_position is not None
    assert index.queries == MAX_BUCKETS_PER_PAGE * 2
    assert [p["post_id"] for p in reader.page(T0, T0 + 30 * HOUR_MS, 20, page.next_position).posts] == [
        old_post
    ]


def test_a_full_page_from_the_newest_bucket_costs_one_parallel_query_per_shard() -> None:
    layout = TimelineLayout(shards=8)  # daily buckets: the page fits in one
    rng = random.Random(7)
    index = TimelineIndex(layout, [ids.new_ulid(T0 + rng.randrange(HOUR_MS)) for _ in range(400)])

    page = TimelineReader(index, TABLE, layout).page(T0, T0 + HOUR_MS, 20, None)

    assert len(page.posts) == 20
    assert 8 <= index.queries <= 10  # 8 first batches, rarely a refill


# ---------------------------------------------------------------------------- against moto


def seed_posts(social: SocialTable, count: int, hours: int, seed: int, start: int = T0) -> list[str]:
    store = social.store(shards=8)
    rng = random.Random(seed)
    post_ids: list[str] = []
    for _ in range(count):
        social.clock.now = (start + rng.randrange(hours * HOUR_MS)) / 1000
        post_ids.append(store.create_post("01J00000000000000000000000", f"post {len(post_ids)}")["post_id"])
    return post_ids


def get_feed(context: FakeLambdaContext, **query: str) -> tuple[int, dict[str, Any]]:
    response = posts.handler(api_event("GET", "/feed", query=query), context)
    return response["statusCode"], json.loads(response["body"])


def test_the_feed_api_pages_through_a_range_newest_first(
    social: SocialTable, lambda_context: FakeLambdaContext
) -> None:
    before_midnight = T0 - T0 % (24 * HOUR_MS) - 2 * HOUR_MS  # the posts span two daily buckets
    post_ids = seed_posts(social, count=45, hours=5, seed=1, start=before_midnight)
    from_ms, to_ms = before_midnight + HOUR_MS // 2, before_midnight + 4 * HOUR_MS + 17
    query = {"from": iso_from_ms(from_ms), "to": iso_from_ms(to_ms), "limit": "7"}

    listed: list[str] = []
    status, body = get_feed(lambda_context, **query)
    while True:
        assert status == 200, body
        assert len(body["posts"]) <= 7
        listed += [post["post_id"] for post in body["posts"]]
        if body["next_cursor"] is None:
            break
        status, body = get_feed(lambda_context, cursor=body["next_cursor"], limit="7")

    expected = sorted((p for p in post_ids if from_ms <= ids.ulid_time_ms(p) < to_ms), reverse=True)
    assert listed == expected
    assert len(expected) > 14  # the range spans several pages


def test_feed_posts_carry_their_like_counts(social: SocialTable, lambda_context: FakeLambdaContext) -> None:
    (post_id,) = seed_posts(social, count=1, hours=1, seed=2)
    social.store("us-east-1").like(post_id, "01J00000000000000000000001")
    social.store("eu-west-1").like(post_id, "01J00000000000000000000002")

    _, body = get_feed(lambda_context, **{"from": iso_from_ms(T0), "to": iso_from_ms(T0 + HOUR_MS)})

    assert [(post["post_id"], post["likes"]) for post in body["posts"]] == [(post_id, 2)]


def test_rejects_a_cursor_of_another_range_naming_the_cursor(
    social: SocialTable, lambda_context: FakeLambdaContext
) -> None:
    seed_posts(social, count=10, hours=1, seed=3)
    query = {"from": iso_from_ms(T0), "to": iso_from_ms(T0 + HOUR_MS), "limit": "2"}
    _, body = get_feed(lambda_context, **query)

    status, error = get_feed(
        lambda_context, **{**query, "to": iso_from_ms(T0 + 2 * HOUR_MS)}, cursor=body["next_cursor"]
    )

    assert status == 400
    assert error["field"] == "cursor"


def test_rejects_a_tampered_cursor(social: SocialTable, lambda_context: FakeLambdaContext) -> None:
    seed_posts(social, count=10, hours=1, seed=4)
    _, body = get_feed(
        lambda_context, **{"from": iso_from_ms(T0), "to": iso_from_ms(T0 + HOUR_MS), "limit": "2"}
    )
    state, mac = body["next_cursor"].split(".")
    tampered = state[:-2] + ("AA" if not state.endswith("AA") else "BB") + "." + mac

    status, error = get_feed(lambda_context, cursor=tampered)

    assert (status, error["field"]) == (400, "cursor")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": "51"}, "limit"),
        ({"limit": "0"}, "limit"),
        ({"from": "yesterday"}, "from"),
        ({"from": "2025-06-02T00:00:00Z", "to": "2025-06-01T00:00:00Z"}, "from"),
        ({"from": "2025-01-01T00:00:00Z", "to": "2025-03-01T00:00:00Z"}, "from"),
        ({"page": "2"}, "page"),
    ],
)
def test_rejects_a_malformed_query_naming_the_field(
    social: SocialTable, lambda_context: FakeLambdaContext, query: dict[str, str], field: str
) -> None:
    status, error = get_feed(lambda_context, **query)
    assert status == 400
    assert error["field"] == field
