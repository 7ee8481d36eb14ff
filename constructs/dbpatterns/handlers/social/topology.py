"""Where the session cache's primary is: how a handler in any region finds the writable endpoint.

A global datastore has one writable (primary) replication group; the groups in the other regions are
read-only copies and answer writes with ``READONLY``. ElastiCache offers no global writer endpoint,
and the API that knows the primary (``DescribeGlobalReplicationGroups``) names the group, not its
endpoint, whose own ``DescribeReplicationGroups`` must be asked in the primary's region - a
cross-region control-plane call at every cold start, from functions that have no route to it.

So the stack passes the primary's endpoint (``CACHE_PRIMARY_HOST``/``PORT``/``REGION``, a
cross-region reference resolved at deploy time) and the global table may override it: after
``FailoverGlobalReplicationGroup`` promotes another region, the operator writes the new primary's
endpoint into the item ``CONFIG#CACHE / #PRIMARY`` (``python -m dbpatterns.handlers.social.topology
set-primary ...``, in any region; it replicates everywhere in about a second). Handlers re-read the
item every :data:`REFRESH_SECONDS` and at once (at most once a second) when a write to the primary
fails, so they follow a failover without a redeployment.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from dbpatterns.handlers.social import keys
from dbpatterns.handlers.social.store import n, number, s, text

REFRESH_SECONDS: Final = 30.0
MIN_RELOAD_INTERVAL_SECONDS: Final = 1.0


@dataclass(frozen=True, slots=True)
class CacheEndpoint:
    region: str
    host: str
    port: int


class PrimaryLocator:
    """The current cache primary: the deployed default unless the table holds an override."""

    def __init__(
        self,
        client: Any,
        table: str,
        default: CacheEndpoint,
        *,
        refresh_seconds: float = REFRESH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.table = table
        self.default = default
        self._refresh_seconds = refresh_seconds
        self._clock = clock
        self._current = default
        self._loaded_at: float | None = None

    def current(self) -> CacheEndpoint:
        now = self._clock()
        if self._loaded_at is None or now - self._loaded_at >= self._refresh_seconds:
            self._reload(now)
        return self._current

    def invalidate(self) -> None:
        """Re-read the override on the next :meth:`current` (at most once a second)."""
        if self._loaded_at is not None and self._clock() - self._loaded_at >= MIN_RELOAD_INTERVAL_SECONDS:
            self._loaded_at = None

    def _reload(self, now: float) -> None:
        self._loaded_at = now
        try:
            override = read_override(self.client, self.table)
        except Exception:  # the table is unreachable: keep what we know, the region is unhealthy anyway
            return
        self._current = override or self.default


def read_override(client: Any, table: str) -> CacheEndpoint | None:
    response = client.get_item(
        TableName=table, Key={"pk": s(keys.CACHE_CONFIG_PK), "sk": s(keys.CACHE_PRIMARY_SK)}
    )
    item = response.get("Item")
    if not item:
        return None
    return CacheEndpoint(region=text(item, "region"), host=text(item, "host"), port=number(item, "port"))


def set_primary(client: Any, table: str, endpoint: CacheEndpoint, *, written_by: str, now_ms: int) -> None:
    """Record ``endpoint`` as the cache primary (the failover runbook's second step)."""
    client.put_item(
        TableName=table,
        Item={
            "pk": s(keys.CACHE_CONFIG_PK),
            "sk": s(keys.CACHE_PRIMARY_SK),
            "region": s(endpoint.region),
            "host": s(endpoint.host),
            "port": n(endpoint.port),
            "updated_at": n(now_ms),
            "origin_region": s(written_by),
        },
    )


def clear_primary(client: Any, table: str) -> None:
    """Drop the override: handlers use the endpoint their stack was deployed with again."""
    client.delete_item(TableName=table, Key={"pk": s(keys.CACHE_CONFIG_PK), "sk": s(keys.CACHE_PRIMARY_SK)})


def main(argv: Sequence[str] | None = None, client: Any = None) -> int:
    """``python -m dbpatterns.handlers.social.topology {show,set-primary,clear} --table T ...``"""
    parser = argparse.ArgumentParser(
        prog="python -m dbpatterns.handlers.social.topology", description=__doc__
    )
    parser.add_argument("command", choices=("show", "set-primary", "clear"))
    parser.add_argument("--table", required=True, help="the global table's name (the same in every region)")
    parser.add_argument("--region", help="set-primary: region of the new primary replication group")
    parser.add_argument("--host", help="set-primary: its primary endpoint address")
    parser.add_argument("--port", type=int, default=6380, help="set-primary: its port (default 6380)")
    args = parser.parse_args(argv)
    if client is None:
        import boto3  # type: ignore[import-untyped, unused-ignore]

        client = boto3.client("dynamodb")
    if args.command == "set-primary":
        if not args.region or not args.host:
            parser.error("set-primary needs --region and --host")
        endpoint = CacheEndpoint(region=args.region, host=args.host, port=args.port)
        set_primary(client, args.table, endpoint, written_by="operator", now_ms=int(time.time() * 1000))
        print(f"cache primary is now {endpoint.host}:{endpoint.port} ({endpoint.region})")
    elif args.command == "clear":
        clear_primary(client, args.table)
        print("override removed: handlers use their deployed CACHE_PRIMARY_* settings")
    else:
        override = read_override(client, args.table)
        print(
            "no override: handlers use their deployed CACHE_PRIMARY_* settings"
            if override is None
            else override
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
