"""Timeline keys: buckets, shards, and the documented arithmetic."""

from __future__ import annotations

from collections import Counter

import pytest

from dbpatterns.handlers.social import ids, timeline
from dbpatterns.handlers.social.timeline import TimelineLayout

HOUR_MS = 3_600_000


def test_a_post_lands_in_the_bucket_and_shard_its_id_determines() -> None:
    layout = TimelineLayout(shards=8)
    post_id = ids.new_ulid(1_750_000_123_456)
    tl_pk, tl_sk = layout.keys_for(post_id)
    assert tl_pk == f"TL#{1_750_000_123_456 // 1000 // 86_400 * 86_400}#{layout.shard_of(post_id)}"
    assert tl_sk == post_id


def test_shards_receive_posts_evenly() -> None:
    layout = TimelineLayout(shards=8)
    counts = Counter(layout.shard_of(ids.new_ulid(1_750_000_000_000)) for _ in range(16_000))
    assert set(counts) == set(range(8))
    assert max(counts.values()) < 1.1 * 2_000  # within 10 % of an even split


def test_buckets_of_a_range_come_newest_first_and_cover_it() -> None:
    layout = TimelineLayout(bucket_seconds=3600)
    start = 1_750_000_000_000
    buckets = list(layout.buckets_newest_first(start, start + 3 * HOUR_MS))
    assert buckets == sorted(buckets, reverse=True)
    assert buckets[0] == layout.bucket_of(start + 3 * HOUR_MS - 1)
    assert buckets[-1] == layout.bucket_of(start)
    assert len(buckets) in (3, 4)


def test_an_empty_range_has_no_bucket() -> None:
    assert list(TimelineLayout().buckets_newest_first(10, 10)) == []


def test_the_arithmetic_the_docstring_states() -> None:
    # 8 shards x 1,000 WCU/s, 1 WCU per entry, 50 % headroom.
    assert TimelineLayout(shards=8).max_posts_per_second() == 4_000
    # Without sharding, one partition: 1,000 posts/s flat out.
    assert TimelineLayout(shards=1).max_posts_per_second(headroom=0) == 1_000
    # 3,000 RCU per partition / 0.5 RCU per eventually consistent 4 KB query.
    assert timeline.first_pages_per_second() == 6_000


@pytest.mark.parametrize(("shards", "bucket_seconds"), [(0, 3600), (65, 3600), (8, 59), (8, 7000)])
def test_rejects_a_layout_outside_the_limits(shards: int, bucket_seconds: int) -> None:
    with pytest.raises(ValueError, match="allowed"):
        TimelineLayout(shards=shards, bucket_seconds=bucket_seconds)
