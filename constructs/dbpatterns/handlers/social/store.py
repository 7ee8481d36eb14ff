"""Profiles, posts, likes and follows in the global table, written so last-writer-wins loses nothing.

**How a global table resolves conflicts.** Every replica accepts writes (active-active) and
replicates each item *as a whole* to the others, asynchronously (typically under a second). When
two regions write the same item before either write has replicated, the write with the later
timestamp wins in every region and the other is discarded, silently: item-level
last-writer-wins (LWW). Two consequences shape every write below:

- An ``UpdateItem`` replicates its *result*, not its operation. ``ADD likes 1`` applied to the same
  item at the same moment in us-east-1 (5 -> 6) and eu-west-1 (5 -> 6) replicates "6" twice; LWW keeps
  one "6" and one increment is **lost**. So no counter item is ever written by two regions: each
  region ADDs to its own counter shards (``#COUNT#<region>#<n>``) and readers sum them. Concurrent
  increments in two regions then touch different items and cannot overwrite each other; within a
  region, ``ADD`` is atomic, so concurrent requests there lose nothing either.
- A transaction is atomic only in the region that ran it; its items replicate one by one.

**Per item type** (see :mod:`dbpatterns.handlers.social.keys` for the keys):

- *Profile* (``#PROFILE``): the user edits it from wherever they are; two edits within the
  replication window resolve to the later one as a whole (the earlier edit disappears). Acceptable:
  both come from the same user, and nothing else is stored in it (handle and counters live apart).
- *Handle claim and the user's handle* (``HANDLE#`` / ``#HANDLE``): written **only in the home
  region** (:mod:`dbpatterns.handlers.social.handles`), so they never conflict; uniqueness is a
  conditional put there.
- *Counter shards*: written only by their own region (``ADD``), never conflict; see above.
- *Like* (``LIKE#<user>``) and *follow edges*: put or deleted with a condition, in one transaction
  with the counter shard of the region doing it, so a user's repeated like in one region is refused
  and counts once. The same user liking the same post in **two** regions within the replication
  window (two devices on two continents, or a failover in between) passes both conditions: the like
  item converges to one copy, but two regions counted it. That drift is bounded (one per such race),
  and :mod:`dbpatterns.handlers.social.reconcile`, run in one region, repairs it.
- *Post* (``#POST`` and the author's copy): written once, never updated, so never in conflict.
- *Session records*: see :mod:`dbpatterns.handlers.social.sessions` (logout is a separate tombstone
  item, so a concurrent sliding refresh in another region cannot resurrect a logged-out session).

Every item records ``origin_region``: a stream consumer added later keeps only its own region's
writes with a filter on it (a global table's stream in each region also carries replicated writes).
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from dbpatterns.handlers.social import aws, ids, keys
from dbpatterns.handlers.social.errors import ConflictError, NotFoundError, SocialError
from dbpatterns.handlers.social.timeline import TimelineLayout
from dbpatterns.handlers.social.times import iso_from_ms

Item = dict[str, Any]

_BATCH_GET_LIMIT: Final = 100
_RETRYABLE: Final = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})


class CannotFollowSelfError(SocialError):
    code = "CANNOT_FOLLOW_SELF"


def s(value: str) -> dict[str, str]:
    return {"S": value}


def n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def text(item: Mapping[str, Any], name: str, default: str = "") -> str:
    attribute = item.get(name)
    return str(attribute["S"]) if attribute else default


def number(item: Mapping[str, Any], name: str) -> int:
    attribute = item.get(name)
    return int(attribute["N"]) if attribute else 0


class TransactionCancelledError(Exception):
    """A ``TransactWriteItems`` refused on a condition; ``codes`` holds one reason per item."""

    def __init__(self, codes: Sequence[str]) -> None:
        super().__init__(", ".join(codes))
        self.codes = list(codes)

    def failed(self, index: int) -> bool:
        return index < len(self.codes) and self.codes[index] == "ConditionalCheckFailed"


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreConfig:
    #: Name of the global table (the same in every region).
    table: str
    #: This handler's region: the counter shards it writes carry it.
    region: str
    #: Every replica region: readers sum the counter shards of all of them.
    regions: tuple[str, ...]
    #: Counter shards per region and entity (1 unless one item must take > 500 increments/s).
    counter_shards: int = 1
    timeline: TimelineLayout = field(default_factory=TimelineLayout)
    #: Attempts of a transaction that met a conflicting one (or throttling).
    max_attempts: int = 3

    def __post_init__(self) -> None:
        if self.region not in self.regions:
            raise ValueError(f"region {self.region!r} is not among the replica regions {self.regions}")
        if not 1 <= self.counter_shards <= 32:
            raise ValueError(f"counter_shards={self.counter_shards}; allowed: 1 to 32")


def shard_for(actor_id: str, shards: int) -> int:
    """The counter shard an actor's changes go to: stable, so an unlike hits the shard of the like."""
    return int(hashlib.sha256(actor_id.encode()).hexdigest()[:8], 16) % shards


class SocialStore:
    """DynamoDB access for profiles, posts, likes and follows (one instance per execution environment)."""

    def __init__(
        self,
        client: Any,
        config: StoreConfig,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.config = config
        self._clock = clock
        self._sleep = sleep

    # ------------------------------------------------------------------ helpers
    def now_ms(self) -> int:
        return int(self._clock() * 1000)

    def _stamp(self) -> Item:
        return {"origin_region": s(self.config.region), "updated_at": n(self.now_ms())}

    def counter_add(self, entity_pk: str, counter: str, delta: int, actor_id: str) -> Item:
        """An ``Update`` adding ``delta`` to this region's counter shard of ``entity_pk``."""
        shard = shard_for(actor_id, self.config.counter_shards)
        return {
            "Update": {
                "TableName": self.config.table,
                "Key": {"pk": s(entity_pk), "sk": s(keys.counter_sk(self.config.region, shard))},
                "UpdateExpression": "ADD #counter :delta SET updated_at = :now, origin_region = :region",
                "ExpressionAttributeNames": {"#counter": counter},
                "ExpressionAttributeValues": {
                    ":delta": n(delta),
                    ":now": n(self.now_ms()),
                    ":region": s(self.config.region),
                },
            }
        }

    def transact(self, items: list[Item]) -> None:
        """Run one ``TransactWriteItems``; retry conflicts with jittered backoff; raise
        :class:`TransactionCancelledError` when a condition fails."""
        for attempt in range(1, self.config.max_attempts + 1):
            try:
                self.client.transact_write_items(TransactItems=items)
                return
            except aws.ClientError as error:
                codes = aws.cancellation_codes(error)
                if any(code == "ConditionalCheckFailed" for code in codes):
                    raise TransactionCancelledError(codes) from None
                retryable = aws.error_code(error) in _RETRYABLE or any(code in _RETRYABLE for code in codes)
                if not retryable:
                    raise
                if attempt == self.config.max_attempts:
                    raise ConflictError("the items changed under every attempt; retry shortly") from None
                self._sleep(random.uniform(0, 0.025 * 2**attempt))  # noqa: S311 - jitter, not security

    def _query_all(self, **kwargs: Any) -> list[Item]:
        items: list[Item] = []
        while True:
            response = self.client.query(TableName=self.config.table, **kwargs)
            items.extend(response.get("Items", []))
            last = response.get("LastEvaluatedKey")
            if not last:
                return items
            kwargs["ExclusiveStartKey"] = last

    def _head(self, entity_pk: str) -> list[Item]:
        """The entity's head items (sort keys starting with ``#``): one query."""
        return self._query_all(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :head)",
            ExpressionAttributeValues={":pk": s(entity_pk), ":head": s(keys.HEAD_PREFIX)},
        )

    @staticmethod
    def sum_counters(items: Iterable[Item], counter: str) -> int:
        return sum(number(item, counter) for item in items if text(item, "sk").startswith(keys.COUNT_PREFIX))

    # ------------------------------------------------------------------ profiles
    def profile(self, user_id: str) -> dict[str, Any] | None:
        """Profile with handle and counters (summed over every region's shards), or None."""
        head = {text(item, "sk"): item for item in self._head(keys.user_pk(user_id))}
        profile = head.get(keys.PROFILE_SK)
        if profile is None:
            return None
        counters = head.values()
        return {
            "user_id": user_id,
            "handle": text(head.get(keys.HANDLE_SK, {}), "handle") or None,
            "display_name": text(profile, "display_name"),
            "bio": text(profile, "bio"),
            "created_at": text(profile, "created_at"),
            "followers": self.sum_counters(counters, "followers"),
            "following": self.sum_counters(counters, "following"),
            "posts": self.sum_counters(counters, "posts"),
        }

    def update_profile(self, user_id: str, changes: Mapping[str, str]) -> None:
        """Set display name and/or bio (LWW on the profile item as a whole, see the module doc)."""
        names = {f"#{name}": name for name in changes}
        values: Item = {f":{name}": s(value) for name, value in changes.items()}
        values.update({":now": n(self.now_ms()), ":region": s(self.config.region)})
        assignments = ", ".join(f"#{name} = :{name}" for name in changes)
        try:
            self.client.update_item(
                TableName=self.config.table,
                Key={"pk": s(keys.user_pk(user_id)), "sk": s(keys.PROFILE_SK)},
                UpdateExpression=f"SET {assignments}, updated_at = :now, origin_region = :region",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except aws.ClientError as error:
            if aws.error_code(error) == "ConditionalCheckFailedException":
                raise NotFoundError(f"no profile {user_id}") from None
            raise

    # ------------------------------------------------------------------ posts
    def create_post(self, author_id: str, body: str) -> dict[str, Any]:
        """The post, its copy on the author's timeline and the author's post counter: one transaction."""
        view, items = self.post_transaction(author_id, body)
        self.transact(items)
        return view

    def post_transaction(self, author_id: str, body: str) -> tuple[dict[str, Any], list[Item]]:
        """The new post's view and the ``TransactItems`` that create it (see :meth:`create_post`)."""
        now = self.now_ms()
        post_id = ids.new_ulid(now)
        tl_pk, tl_sk = self.config.timeline.keys_for(post_id)
        fields: Item = {
            "post_id": s(post_id),
            "author_id": s(author_id),
            "text": s(body),
            "created_at": s(iso_from_ms(now)),
            **self._stamp(),
        }
        post = {"pk": s(keys.post_pk(post_id)), "sk": s(keys.POST_SK), "tl_pk": s(tl_pk), "tl_sk": s(tl_sk)}
        copy = {"pk": s(keys.user_pk(author_id)), "sk": s(keys.post_copy_sk(post_id))}
        table = self.config.table
        items = [
            {
                "Put": {
                    "TableName": table,
                    "Item": {**post, **fields},
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {"Put": {"TableName": table, "Item": {**copy, **fields}}},
            self.counter_add(keys.user_pk(author_id), "posts", 1, author_id),
        ]
        return {
            "post_id": post_id,
            "author_id": author_id,
            "text": body,
            "created_at": iso_from_ms(now),
            "likes": 0,
        }, items

    def post(self, post_id: str) -> dict[str, Any] | None:
        head = self._head(keys.post_pk(post_id))
        post = next((item for item in head if text(item, "sk") == keys.POST_SK), None)
        if post is None:
            return None
        return {**post_view(post), "likes": self.sum_counters(head, "likes")}

    def user_posts(
        self, user_id: str, limit: int, before: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """The author's posts newest first, strictly older than the post id ``before``."""
        prefix = keys.POST_COPY_PREFIX
        if before is None:
            condition = "pk = :pk AND begins_with(sk, :prefix)"
            values: Item = {":pk": s(keys.user_pk(user_id)), ":prefix": s(prefix)}
        else:
            condition = "pk = :pk AND sk BETWEEN :low AND :high"
            values = {
                ":pk": s(keys.user_pk(user_id)),
                ":low": s(prefix),
                ":high": s(prefix + ids.predecessor(before)),
            }
        response = self.client.query(
            TableName=self.config.table,
            KeyConditionExpression=condition,
            ExpressionAttributeValues=values,
            ScanIndexForward=False,
            Limit=limit,
        )
        posts = [post_view(item) for item in response.get("Items", [])]
        self.attach_like_counts(posts)
        more = len(posts) == limit and bool(response.get("LastEvaluatedKey"))
        return posts, (posts[-1]["post_id"] if more else None)

    def attach_like_counts(self, posts: list[dict[str, Any]]) -> None:
        """Set ``likes`` on each post view from every region's counter shards (``BatchGetItem``)."""
        counts = self.like_counts([post["post_id"] for post in posts])
        for post in posts:
            post["likes"] = counts.get(post["post_id"], 0)

    def like_counts(self, post_ids: Sequence[str]) -> dict[str, int]:
        wanted = [
            {"pk": s(keys.post_pk(post_id)), "sk": s(keys.counter_sk(region, shard))}
            for post_id in dict.fromkeys(post_ids)
            for region in self.config.regions
            for shard in range(self.config.counter_shards)
        ]
        counts: dict[str, int] = dict.fromkeys(post_ids, 0)
        for start in range(0, len(wanted), _BATCH_GET_LIMIT):
            for item in self._batch_get(wanted[start : start + _BATCH_GET_LIMIT]):
                post_id = text(item, "pk").removeprefix("POST#")
                counts[post_id] = counts.get(post_id, 0) + number(item, "likes")
        return counts

    def _batch_get(self, request_keys: list[Item]) -> list[Item]:
        request: Item = {
            self.config.table: {
                "Keys": request_keys,
                "ProjectionExpression": "#pk, #likes",
                "ExpressionAttributeNames": {"#pk": "pk", "#likes": "likes"},
            },
        }
        found: list[Item] = []
        for attempt in range(1, self.config.max_attempts + 2):
            response = self.client.batch_get_item(RequestItems=request)
            found.extend(response.get("Responses", {}).get(self.config.table, []))
            request = response.get("UnprocessedKeys") or {}
            if not request:
                return found
            self._sleep(random.uniform(0, 0.01 * 2**attempt))  # noqa: S311 - jitter
        raise ConflictError("the table kept throttling the counter reads; retry shortly")

    # ------------------------------------------------------------------ likes
    def like(self, post_id: str, user_id: str) -> bool:
        """Like a post once: the like item (if new) and this region's counter shard, atomically.

        Returns False (and writes nothing) when this user already likes the post.
        """
        table = self.config.table
        try:
            self.transact(
                [
                    {
                        "ConditionCheck": {
                            "TableName": table,
                            "Key": {"pk": s(keys.post_pk(post_id)), "sk": s(keys.POST_SK)},
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": table,
                            "Item": {
                                "pk": s(keys.post_pk(post_id)),
                                "sk": s(keys.like_sk(user_id)),
                                "user_id": s(user_id),
                                "at": n(self.now_ms()),
                                **self._stamp(),
                            },
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    self.counter_add(keys.post_pk(post_id), "likes", 1, user_id),
                ]
            )
        except TransactionCancelledError as cancelled:
            if cancelled.failed(0):
                raise NotFoundError(f"no post {post_id}") from None
            if cancelled.failed(1):
                return False
            raise
        return True

    def unlike(self, post_id: str, user_id: str) -> bool:
        """Remove a like and decrement this region's shard; False when there was no like."""
        try:
            self.transact(
                [
                    {
                        "Delete": {
                            "TableName": self.config.table,
                            "Key": {"pk": s(keys.post_pk(post_id)), "sk": s(keys.like_sk(user_id))},
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    },
                    self.counter_add(keys.post_pk(post_id), "likes", -1, user_id),
                ]
            )
        except TransactionCancelledError as cancelled:
            if cancelled.failed(0):
                return False
            raise
        return True

    # ------------------------------------------------------------------ follows
    def follow(self, follower_id: str, followee_id: str) -> bool:
        """Follow once: both edges and both users' counter shards in one transaction."""
        if follower_id == followee_id:
            raise CannotFollowSelfError("a user cannot follow themselves")
        table = self.config.table
        at = {"at": n(self.now_ms()), **self._stamp()}
        try:
            self.transact(
                [
                    {
                        "ConditionCheck": {
                            "TableName": table,
                            "Key": {"pk": s(keys.user_pk(followee_id)), "sk": s(keys.PROFILE_SK)},
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": table,
                            "Item": {
                                "pk": s(keys.user_pk(follower_id)),
                                "sk": s(keys.follows_sk(followee_id)),
                                **at,
                            },
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": table,
                            "Item": {
                                "pk": s(keys.user_pk(followee_id)),
                                "sk": s(keys.follower_sk(follower_id)),
                                **at,
                            },
                        }
                    },
                    self.counter_add(keys.user_pk(followee_id), "followers", 1, follower_id),
                    self.counter_add(keys.user_pk(follower_id), "following", 1, followee_id),
                ]
            )
        except TransactionCancelledError as cancelled:
            if cancelled.failed(0):
                raise NotFoundError(f"no user {followee_id}") from None
            if cancelled.failed(1):
                return False
            raise
        return True

    def unfollow(self, follower_id: str, followee_id: str) -> bool:
        table = self.config.table
        try:
            self.transact(
                [
                    {
                        "Delete": {
                            "TableName": table,
                            "Key": {
                                "pk": s(keys.user_pk(follower_id)),
                                "sk": s(keys.follows_sk(followee_id)),
                            },
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    },
                    {
                        "Delete": {
                            "TableName": table,
                            "Key": {
                                "pk": s(keys.user_pk(followee_id)),
                                "sk": s(keys.follower_sk(follower_id)),
                            },
                        }
                    },
                    self.counter_add(keys.user_pk(followee_id), "followers", -1, follower_id),
                    self.counter_add(keys.user_pk(follower_id), "following", -1, followee_id),
                ]
            )
        except TransactionCancelledError as cancelled:
            if cancelled.failed(0):
                return False
            raise
        return True


def post_view(item: Mapping[str, Any]) -> dict[str, Any]:
    """The API's view of a ``#POST`` item, an author's copy or a timeline entry."""
    return {
        "post_id": text(item, "post_id"),
        "author_id": text(item, "author_id"),
        "text": text(item, "text"),
        "created_at": text(item, "created_at"),
    }
