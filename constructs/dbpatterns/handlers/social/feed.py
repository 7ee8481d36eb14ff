"""The global feed: posts of a time range, newest first, from the sharded Timeline GSI.

A page is a k-way merge. For the newest bucket of the range it queries every shard in parallel
(``ScanIndexForward=False``, ``tl_sk BETWEEN lowest(from) AND highest(to)``, ``Limit = ceil(page /
shards) + 2``), repeatedly takes the newest head among the shards, refills a shard only when its
buffer runs dry, and moves to the next older bucket when every shard of this one is exhausted. The
page is exact: every post of the range appears once, in order, across pages, whatever the shards hold.

The cursor's state records, per shard of the current bucket, the last post id it contributed on
any page so far (``BETWEEN lowest AND predecessor(last)`` resumes strictly after it) or that it is
exhausted; shards that have contributed nothing yet start from the top of the range (every post
they hold is older than everything already listed, or the merge would have taken it). A page stops after
:data:`timeline.MAX_BUCKETS_PER_PAGE` buckets, so a sparse range cannot turn one request into
hundreds of queries; the cursor then points at the next bucket.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, Final

from dbpatterns.handlers.social import ids, keys
from dbpatterns.handlers.social.store import Item, post_view, text
from dbpatterns.handlers.social.timeline import MAX_BUCKETS_PER_PAGE, TimelineLayout

#: A shard's position meaning "nothing left in this bucket".
EXHAUSTED: Final = "-"
_EXTRA_PER_SHARD: Final = 2


@dataclass
class FeedPosition:
    """Where a feed page continues: the bucket, and per shard the last post id taken or ``EXHAUSTED``."""

    bucket: int
    shards: dict[int, str] = field(default_factory=dict)

    def to_state(self) -> dict[str, Any]:
        return {"b": self.bucket, "p": {str(shard): last for shard, last in self.shards.items()}}

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> FeedPosition:
        positions = {int(shard): str(last) for shard, last in dict(state.get("p", {})).items()}
        return cls(bucket=int(state["b"]), shards=positions)


@dataclass
class _ShardStream:
    shard: int
    upper: str
    buffer: list[Item] = field(default_factory=list)
    more: bool = True

    @property
    def head(self) -> str | None:
        return text(self.buffer[0], keys.TIMELINE_SORT_KEY) if self.buffer else None


@dataclass(frozen=True)
class FeedPage:
    posts: list[dict[str, Any]]
    #: Where the next page starts; None when the range is exhausted.
    next_position: FeedPosition | None
    #: Query calls made (for the latency budget and tests).
    queries: int


class TimelineReader:
    """Reads feed pages from the Timeline GSI of the local replica."""

    def __init__(
        self,
        client: Any,
        table: str,
        layout: TimelineLayout,
        *,
        executor: Executor | None = None,
    ) -> None:
        self.client = client
        self.table = table
        self.layout = layout
        self._executor = executor
        self._map: Callable[..., Any] = executor.map if executor is not None else map

    def page(self, from_ms: int, to_ms: int, limit: int, position: FeedPosition | None) -> FeedPage:
        """Up to ``limit`` posts of ``[from_ms, to_ms)``, newest first, continuing at ``position``."""
        low = ids.lowest_ulid(from_ms)
        high = ids.highest_ulid(to_ms - 1)
        per_query = math.ceil(limit / self.layout.shards) + _EXTRA_PER_SHARD
        buckets = list(self.layout.buckets_newest_first(from_ms, to_ms))
        if position is not None:
            buckets = [bucket for bucket in buckets if bucket <= position.bucket]
        posts: list[dict[str, Any]] = []
        queries = 0
        for scanned, bucket in enumerate(buckets, start=1):
            resumed = position.shards if position is not None and bucket == position.bucket else {}
            streams = [
                _ShardStream(shard, high if last is None else ids.predecessor(last))
                for shard in range(self.layout.shards)
                if (last := resumed.get(shard)) != EXHAUSTED
            ]
            # Positions carry over from earlier pages: a shard that gives nothing to this page still
            # resumes after what it gave before.
            taken: dict[int, str] = dict(resumed)
            fill = functools.partial(self._fill, bucket=bucket, low=low, per_query=per_query)
            list(self._map(fill, streams))
            queries += len(streams)
            while len(posts) < limit:
                live = [stream for stream in streams if stream.buffer]
                if not live:
                    break
                newest = max(live, key=lambda stream: stream.head or "")
                item = newest.buffer.pop(0)
                posts.append(post_view(item))
                taken[newest.shard] = text(item, keys.TIMELINE_SORT_KEY)
                if not newest.buffer and newest.more:
                    self._fill(newest, bucket, low, per_query)
                    queries += 1
            for stream in streams:
                if not stream.buffer and not stream.more:
                    taken[stream.shard] = EXHAUSTED
            bucket_done = all(taken.get(shard) == EXHAUSTED for shard in range(self.layout.shards))
            older = [older for older in buckets if older < bucket]
            if len(posts) >= limit:
                if not bucket_done:
                    return FeedPage(posts, FeedPosition(bucket, taken), queries)
                return FeedPage(posts, FeedPosition(older[0]) if older else None, queries)
            if scanned >= MAX_BUCKETS_PER_PAGE and older:
                return FeedPage(posts, FeedPosition(older[0]), queries)
            position = None
        return FeedPage(posts, None, queries)

    def _fill(self, stream: _ShardStream, bucket: int, low: str, per_query: int) -> None:
        """Fetch the next batch of a shard (items strictly below ``stream.upper``)."""
        if stream.upper < low:
            stream.more = False
            return
        response = self.client.query(
            TableName=self.table,
            IndexName=keys.TIMELINE_INDEX,
            KeyConditionExpression="tl_pk = :pk AND tl_sk BETWEEN :low AND :high",
            ExpressionAttributeValues={
                ":pk": {"S": self.layout.partition_key(bucket, stream.shard)},
                ":low": {"S": low},
                ":high": {"S": stream.upper},
            },
            ScanIndexForward=False,
            Limit=per_query,
        )
        batch: list[Item] = response.get("Items", [])
        stream.buffer.extend(batch)
        stream.more = bool(response.get("LastEvaluatedKey")) and len(batch) == per_query
        if batch:
            stream.upper = ids.predecessor(text(batch[-1], keys.TIMELINE_SORT_KEY))
