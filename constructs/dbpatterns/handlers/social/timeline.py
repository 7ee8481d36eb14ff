"""The global timeline's GSI keys: time buckets split into shards, so no partition runs hot.

Every post carries ``tl_pk = "TL#<day bucket start, epoch seconds>#<shard>"`` and ``tl_sk = <post id>``
(a ULID, so newest-first is ``ScanIndexForward=False``). A feed page for a time range reads the
newest bucket's shards in parallel, merges them newest-first, and moves to older buckets until the
page is full (:mod:`dbpatterns.handlers.social.feed`).

**Why shards: the write arithmetic.** One partition takes at most 1,000 WCU/s; a timeline entry
(the projected post, under 1 KB) costs 1 WCU. With a plain time bucket (``TL#<hour>``) every post of
the hour lands in one GSI partition: 1,000 posts/s for the whole platform, and a throttled GSI
throttles the table writes behind it. In a global table every replica applies every region's posts
(replicated writes), so the partition in *each* region sees the **global** post rate, not its
region's share. With ``S`` shards the ceiling is ``S x 1,000`` posts/s; the default ``S = 8`` gives
8,000 posts/s, and 4,000 posts/s leaves 50 % headroom. Raise ``S`` with the peak:
``S = ceil(peak posts/s x WCU per entry / 1,000 / 0.5)``.

**The read arithmetic.** A page of 20 posts from 8 shards asks each shard for ``ceil(20/8) + 2 = 5``
entries; 5 x ~0.6 KB is one 4 KB read unit, 0.5 RCU eventually consistent. Every page touches every
shard of the newest bucket, so each shard partition serves 0.5 RCU per page and 3,000 RCU/s allows
**6,000 first pages/s per region**, whatever ``S`` is (more shards spread writes, not reads; reads
are capped per query by the 4 KB rounding). Above that, cache the anonymous first page for a second
(API Gateway's stage cache on ``GET /feed`` without a cursor, or a regional cache).

**Why day buckets.** The bucket bounds the item collection one query walks and where a range starts;
the shards, not the bucket, spread the write heat (whatever the bucket size, new posts all go to the
newest bucket). Every bucket a page touches costs ``S`` queries, and each query costs the handler
~1.5-2 ms of SDK CPU besides its round trip (measured: ``benchmarks/social_latency.py``), so the
bucket should be long enough that a first page rarely spans two: with hourly buckets a page at
10 past the hour needs the previous hour too (16 queries instead of 8); with daily buckets only
just after midnight UTC does. A page scans at most :data:`MAX_BUCKETS_PER_PAGE` buckets and then
returns a cursor, so a sparse range cannot turn one request into hundreds of queries.

**Changing the layout.** Shard count and bucket size are part of the keys already written. Raise the
shard count for readers first (querying shards that are still empty costs one cheap query each),
then for writers; change the bucket size only for buckets that start after the change.

This module imports only the standard library: CDK code may import it too.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from dbpatterns.handlers.social import ids

DEFAULT_SHARDS: Final = 8
DEFAULT_BUCKET_SECONDS: Final = 86_400
MAX_SHARDS: Final = 64
MAX_BUCKETS_PER_PAGE: Final = 24
#: A partition's throughput ceiling (DynamoDB service limits).
PARTITION_WCU: Final = 1_000
PARTITION_RCU: Final = 3_000


@dataclass(frozen=True, slots=True)
class TimelineLayout:
    """How timeline keys are built: ``shards`` per bucket of ``bucket_seconds``."""

    shards: int = DEFAULT_SHARDS
    bucket_seconds: int = DEFAULT_BUCKET_SECONDS

    def __post_init__(self) -> None:
        if not 1 <= self.shards <= MAX_SHARDS:
            raise ValueError(f"timeline shards={self.shards}; allowed: 1 to {MAX_SHARDS}")
        if self.bucket_seconds < 60 or 86_400 % self.bucket_seconds:
            raise ValueError(
                f"timeline bucket_seconds={self.bucket_seconds}; allowed: at least 60 and a divisor of 86400"
            )

    def bucket_of(self, time_ms: int) -> int:
        """Start (epoch seconds) of the bucket holding ``time_ms``."""
        seconds = time_ms // 1000
        return seconds - seconds % self.bucket_seconds

    def shard_of(self, post_id: str) -> int:
        """The shard of a post: its id's random bits modulo the shard count (uniform, and recomputable)."""
        return ids.random_bits(post_id) % self.shards

    def partition_key(self, bucket: int, shard: int) -> str:
        return f"TL#{bucket}#{shard}"

    def keys_for(self, post_id: str) -> tuple[str, str]:
        """``(tl_pk, tl_sk)`` of a post."""
        bucket = self.bucket_of(ids.ulid_time_ms(post_id))
        return self.partition_key(bucket, self.shard_of(post_id)), post_id

    def buckets_newest_first(self, from_ms: int, to_ms: int) -> Iterator[int]:
        """Bucket starts overlapping ``[from_ms, to_ms)``, newest first."""
        if to_ms <= from_ms:
            return
        bucket = self.bucket_of(to_ms - 1)
        oldest = self.bucket_of(from_ms)
        while bucket >= oldest:
            yield bucket
            bucket -= self.bucket_seconds

    def max_posts_per_second(self, wcu_per_entry: int = 1, headroom: float = 0.5) -> int:
        """Sustained global post rate the shards take with ``headroom`` left (see the module doc)."""
        return int(self.shards * PARTITION_WCU / wcu_per_entry * (1 - headroom))


def first_pages_per_second(rcu_per_shard_query: float = 0.5) -> int:
    """Ceiling of first-page feed reads per region: each page reads every shard of the newest bucket."""
    return int(PARTITION_RCU / rcu_per_shard_query)
