"""Repairing counter drift: make the summed counter shards equal the number of edges again.

Counters never lose increments (each region ADDs to its own shards), but one race can count twice:
the same user liking the same post in two regions within the replication window (two devices on
two continents, or a failover between the two requests). Both regions' conditional puts succeed on
their own replica, both add 1 to their shard, and last-writer-wins then keeps one like item. The
drift is +1 per such race and only ever comes from that window.

``reconcile`` counts the edges (``LIKE#`` items of a post, ``FOLLOWER#``/``FOLLOWS#`` items of a
user), compares them with the sum of every region's shards, and adds the difference to **this
region's** shard 0, in one transaction whose conditions require every shard to be unchanged since
it was read. It refuses to act while the entity is busy (a shard or an edge changed less than
``quiet`` ago, by default a minute, far above the replication latency), because a like whose item
has replicated but whose counter shard has not would look like drift. Run it in **one region
only** (two reconcilers would both correct the same drift), e.g. an operator or a scheduled job in
the primary region over the posts with recent likes::

    python -m dbpatterns.handlers.social.reconcile --table <table> --post 01J... [--post ...] \\
        [--user 01J...]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from dbpatterns.handlers.social import aws, keys
from dbpatterns.handlers.social.store import Item, n, number, s, text

DEFAULT_QUIET_MS: Final = 60_000
#: Which edges each counter counts.
EDGE_PREFIXES: Final = {
    "likes": keys.LIKE_PREFIX,
    "followers": keys.FOLLOWER_PREFIX,
    "following": keys.FOLLOWS_PREFIX,
}


@dataclass(frozen=True, slots=True)
class Reconciliation:
    entity_pk: str
    counter: str
    edges: int
    counted: int
    #: ``consistent``, ``corrected``, ``busy`` (changed recently) or ``changed`` (raced a write).
    outcome: str

    @property
    def drift(self) -> int:
        return self.counted - self.edges


def reconcile(
    client: Any,
    table: str,
    *,
    region: str,
    entity_pk: str,
    counter: str,
    now_ms: int,
    quiet_ms: int = DEFAULT_QUIET_MS,
) -> Reconciliation:
    """Bring ``counter`` of ``entity_pk`` back to its edge count (see the module doc)."""
    prefix = EDGE_PREFIXES[counter]
    shards = _query(client, table, entity_pk, keys.COUNT_PREFIX, f"#{counter}, sk, updated_at", counter)
    edges = _query(client, table, entity_pk, prefix, "sk, #at", "at")
    counted = sum(number(item, counter) for item in shards)
    latest = max(
        [number(item, "updated_at") for item in shards] + [number(item, "at") for item in edges] + [0]
    )
    if now_ms - latest < quiet_ms:
        return Reconciliation(entity_pk, counter, len(edges), counted, "busy")
    if counted == len(edges):
        return Reconciliation(entity_pk, counter, len(edges), counted, "consistent")

    own_sk = keys.counter_sk(region, 0)
    items: list[Item] = []
    for shard in shards:
        if text(shard, "sk") != own_sk:
            items.append(
                {
                    "ConditionCheck": {
                        "TableName": table,
                        "Key": _key(entity_pk, text(shard, "sk")),
                        **_unchanged(shard),
                    }
                }
            )
    own = next((shard for shard in shards if text(shard, "sk") == own_sk), None)
    unchanged: Item = (
        _unchanged(own)
        if own is not None
        else {"ConditionExpression": "attribute_not_exists(pk)", "ExpressionAttributeValues": {}}
    )
    update: Item = {
        "TableName": table,
        "Key": _key(entity_pk, own_sk),
        "UpdateExpression": "ADD #counter :delta SET updated_at = :now, origin_region = :region",
        "ConditionExpression": unchanged["ConditionExpression"],
        "ExpressionAttributeNames": {"#counter": counter},
        "ExpressionAttributeValues": {
            **unchanged["ExpressionAttributeValues"],
            ":delta": n(len(edges) - counted),
            ":now": n(now_ms),
            ":region": s(region),
        },
    }
    items.append({"Update": update})
    try:
        client.transact_write_items(TransactItems=items)
    except aws.ClientError as error:
        if aws.cancellation_codes(error):
            return Reconciliation(entity_pk, counter, len(edges), counted, "changed")
        raise
    return Reconciliation(entity_pk, counter, len(edges), counted, "corrected")


def _key(pk: str, sk: str) -> Item:
    return {"pk": s(pk), "sk": s(sk)}


def _unchanged(shard: Item) -> Item:
    return {
        "ConditionExpression": "updated_at = :seen",
        "ExpressionAttributeValues": {":seen": n(number(shard, "updated_at"))},
    }


def _query(client: Any, table: str, pk: str, prefix: str, projection: str, attribute: str) -> list[Item]:
    items: list[Item] = []
    kwargs: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
        "ExpressionAttributeValues": {":pk": s(pk), ":prefix": s(prefix)},
        "ProjectionExpression": projection,
        "ExpressionAttributeNames": {f"#{attribute}": attribute},
        "ConsistentRead": True,
    }
    while True:
        response = client.query(**kwargs)
        items.extend(response.get("Items", []))
        if not response.get("LastEvaluatedKey"):
            return items
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def main(argv: Sequence[str] | None = None, client: Any = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dbpatterns.handlers.social.reconcile", description=__doc__
    )
    parser.add_argument("--table", required=True)
    parser.add_argument("--region", help="this region (default: the client's region)")
    parser.add_argument("--post", action="append", default=[], help="post id whose likes to reconcile")
    parser.add_argument(
        "--user", action="append", default=[], help="user id whose follow counts to reconcile"
    )
    parser.add_argument("--quiet-seconds", type=int, default=DEFAULT_QUIET_MS // 1000)
    args = parser.parse_args(argv)
    if client is None:
        client = aws.dynamodb()
    region = args.region or client.meta.region_name
    targets = [(keys.post_pk(post), "likes") for post in args.post]
    targets += [(keys.user_pk(user), counter) for user in args.user for counter in ("followers", "following")]
    for entity_pk, counter in targets:
        result = reconcile(
            client,
            args.table,
            region=region,
            entity_pk=entity_pk,
            counter=counter,
            now_ms=int(time.time() * 1000),
            quiet_ms=args.quiet_seconds * 1000,
        )
        print(f"{entity_pk} {counter}: edges={result.edges} counted={result.counted} -> {result.outcome}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
