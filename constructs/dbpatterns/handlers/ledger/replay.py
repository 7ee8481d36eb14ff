"""Replay: rebuild balances from the event store, for audit and to repair the projection.

A DynamoDB stream keeps records for 24 hours, so history is replayed from the event store itself,
which keeps every event forever. Replaying one account:

1. The starting version is 1, ``from_version``, or the first version that occurred at or after
   ``from_time``, found by binary search over versions with GetItem (the writer keeps
   ``occurred_at`` non-decreasing within an account, so the search is exact).
2. The opening balance is 0 at version 1, else the ``balance_after`` of version start-1.
3. Events from the start are read in version order (consistent Query, paginated) and folded. The
   fold is checked as it goes: versions are contiguous, the currency never changes, the running
   balance equals each event's ``balance_after`` and is never negative, and each event's
   ``prev_hash`` is the hash of the event before it (the genesis hash at version 1), so an event
   rewritten after the next one was written shows as a broken link. Each transfer leg is checked
   against its counterpart in the other account (one GetItem): same transfer id, amount and
   currency, opposite type, pointing back at this leg. The first break raises
   ReplayError naming the account and version. Events of schema version 1 (before the chain) are
   folded and counted as ``unchained_events``.
4. With ``rebuild_projection`` the closing state overwrites the account's projection item, unless
   the projection has meanwhile applied a later version (then it is left alone and reported).
5. With ``backfill_archive`` every replayed event is also written to the audit archive if it is not
   there yet (the same conditional write the sink uses): the repair for events whose stream record
   ran out of retries before it was archived.

All accounts: a Scan for version-1 items lists the accounts (one per account), each is replayed in
turn; ``segment``/``total_segments`` split the Scan across parallel runs of a large table.

Use it as a Lambda handler (``dbpatterns.handlers.ledger.replay.handler``; env
``EVENTS_TABLE_NAME``; ``PROJECTION_TABLE_NAME`` to rebuild; ``AUDIT_BUCKET_NAME`` to backfill) with an
event such as
``{"account_id": "acc-1", "from_version": 40, "rebuild_projection": true}``, or from a shell:
``python -m dbpatterns.handlers.ledger.replay --help``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, TypeVar

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from dbpatterns.handlers.ledger._aws import dynamodb_client, require_env, s3_client
from dbpatterns.handlers.ledger.audit import ArchiveOutcome, archive_event
from dbpatterns.handlers.ledger.events import (
    GENESIS_HASH,
    EventType,
    LedgerEvent,
    event_hash,
    is_valid_account_id,
    parse_timestamp,
)
from dbpatterns.handlers.ledger.projection import AccountBalance, write_rebuilt_balance
from dbpatterns.handlers.ledger.store import latest_event
from dbpatterns.handlers.ledger.tables import EVENTS_PARTITION_KEY, EVENTS_SORT_KEY

logger = Logger()
_T = TypeVar("_T")

PROJECTION_WRITTEN = "written"
PROJECTION_SKIPPED = "skipped: the projection has applied a later version; replay again"


class ReplayError(Exception):
    """The stored history does not fold cleanly (a gap, a wrong balance_after...)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplayResult:
    account_id: str
    currency: str | None
    first_version: int
    """First version replayed (latest + 1 when there was nothing to replay)."""
    last_version: int
    """Latest version seen: the version the closing balance is at (0 for an account without events)."""
    opening_balance: int
    closing_balance: int
    events_replayed: int
    projection: str | None = None
    """What happened to the projection item when rebuilding; None when not asked to."""
    archived: int | None = None
    """Events newly written to the audit archive when backfilling; None when not asked to."""
    unchained_events: int = 0
    """Replayed events without ``prev_hash`` (schema version 1, written before the hash chain)."""


def get_event(client: Any, table: str, account_id: str, version: int) -> LedgerEvent | None:
    response = client.get_item(
        TableName=table,
        Key={EVENTS_PARTITION_KEY: {"S": account_id}, EVENTS_SORT_KEY: {"N": str(version)}},
        ConsistentRead=True,
    )
    item = response.get("Item")
    return LedgerEvent.from_item(item) if item else None


def iter_events(client: Any, table: str, account_id: str, *, from_version: int = 1) -> Iterator[LedgerEvent]:
    """The account's events from ``from_version`` on, in version order (consistent reads)."""
    query: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "account_id = :account AND version >= :from",
        "ExpressionAttributeValues": {":account": {"S": account_id}, ":from": {"N": str(from_version)}},
        "ScanIndexForward": True,
        "ConsistentRead": True,
    }
    while True:
        response = client.query(**query)
        for item in response.get("Items", []):
            yield LedgerEvent.from_item(item)
        if "LastEvaluatedKey" not in response:
            return
        query["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def first_version_at_or_after(client: Any, table: str, latest: LedgerEvent, moment: datetime) -> int:
    """The first version of ``latest``'s account that occurred at or after ``moment``
    (``latest.version + 1`` if none did). Binary search: about log2(versions) GetItem calls."""
    return first_version_where(client, table, latest, lambda occurred: occurred >= moment)


def first_version_where(
    client: Any, table: str, latest: LedgerEvent, reached: Callable[[datetime], bool]
) -> int:
    """The first version whose ``occurred_at`` satisfies ``reached`` (``latest.version + 1`` if
    none does). ``reached`` must be monotonic in time (false, then true), which it is for any
    threshold because the writer keeps ``occurred_at`` non-decreasing within an account."""
    if not reached(latest.occurred_at_datetime):
        return latest.version + 1
    low, high = 1, latest.version
    while low < high:
        middle = (low + high) // 2
        event = get_event(client, table, latest.account_id, middle)
        if event is None:
            raise ReplayError(
                f"account {latest.account_id}: version {middle} is missing from the event store"
            )
        if reached(event.occurred_at_datetime):
            high = middle
        else:
            low = middle + 1
    return low


def replay_account(
    client: Any,
    table: str,
    account_id: str,
    *,
    from_version: int | None = None,
    from_time: datetime | None = None,
    visit: Callable[[LedgerEvent], None] | None = None,
) -> tuple[ReplayResult, AccountBalance | None]:
    """Fold one account's events from a version or a time; returns the result and the closing
    state for the projection (None for an account without events). ``visit`` is called with each
    replayed event once it has been checked."""
    if from_version is not None and from_time is not None:
        raise ValueError("give from_version or from_time, not both")
    if from_version is not None and from_version < 1:
        raise ValueError(f"from_version must be >= 1, got {from_version}")
    latest = latest_event(client, table, account_id)
    if latest is None:
        empty = ReplayResult(
            account_id=account_id,
            currency=None,
            first_version=1,
            last_version=0,
            opening_balance=0,
            closing_balance=0,
            events_replayed=0,
        )
        return empty, None

    if from_time is not None:
        start = first_version_at_or_after(client, table, latest, from_time)
    else:
        start = min(from_version or 1, latest.version + 1)
    previous = None if start == 1 else get_event(client, table, account_id, start - 1)
    if start > 1 and previous is None:
        raise ReplayError(f"account {account_id}: version {start - 1} is missing from the event store")

    balance = previous.balance_after if previous else 0
    opening, currency, last, replayed, unchained = balance, latest.currency, previous, 0, 0
    for event in iter_events(client, table, account_id, from_version=start):
        expected = start + replayed
        if event.version != expected:
            raise ReplayError(f"account {account_id}: expected version {expected}, found {event.version}")
        if event.prev_hash is None:
            unchained += 1
        else:
            _check_link(account_id, last, event)
        if event.is_transfer:
            _check_counterpart(client, table, event)
        if event.currency != currency:
            raise ReplayError(
                f"account {account_id} version {event.version}: "
                f"currency {event.currency}, the account holds {currency}"
            )
        balance += event.signed_amount
        if balance < 0 or balance != event.balance_after:
            raise ReplayError(
                f"account {account_id} version {event.version}: replayed balance {balance}, "
                f"stored balance_after {event.balance_after}"
            )
        if visit is not None:
            visit(event)
        last, replayed = event, replayed + 1

    if last is None:
        raise ReplayError(f"account {account_id}: no events found from version {start}, yet it has events")
    result = ReplayResult(
        account_id=account_id,
        currency=currency,
        first_version=start,
        last_version=last.version,
        opening_balance=opening,
        closing_balance=balance,
        events_replayed=replayed,
        unchained_events=unchained,
    )
    closing = AccountBalance(
        account_id=account_id,
        balance=balance,
        currency=currency,
        last_version=last.version,
        last_event_id=last.event_id,
        last_occurred_at=last.occurred_at,
    )
    return result, closing


def _check_link(account_id: str, previous: LedgerEvent | None, event: LedgerEvent) -> None:
    """``event.prev_hash`` must be the hash of ``previous`` (the genesis hash for version 1)."""
    expected = GENESIS_HASH if previous is None else event_hash(previous)
    if event.prev_hash == expected:
        return
    before = "the genesis hash" if previous is None else f"the hash of version {previous.version}"
    raise ReplayError(
        f"account {account_id} version {event.version}: prev_hash {event.prev_hash} does not match "
        f"{before} ({expected}): the chain breaks here, so "
        + ("this event" if previous is None else f"version {previous.version} or this event")
        + " was changed after it was written"
    )


def _check_counterpart(client: Any, table: str, event: LedgerEvent) -> None:
    """A transfer leg's other leg must exist and describe the same transfer from the other side."""
    counterparty, version = str(event.counterparty_account_id), int(event.counterparty_version or 0)
    where = (
        f"account {event.account_id} version {event.version}: transfer {event.transfer_id}'s "
        f"counterpart {counterparty} version {version}"
    )
    other = get_event(client, table, counterparty, version)
    if other is None:
        raise ReplayError(f"{where} is missing from the event store")
    opposite = EventType.TRANSFER_IN if event.type is EventType.TRANSFER_OUT else EventType.TRANSFER_OUT
    expected = {
        "type": opposite.value,
        "transfer_id": event.transfer_id,
        "amount": event.amount,
        "currency": event.currency,
        "counterparty_account_id": event.account_id,
        "counterparty_version": event.version,
    }
    actual = {name: other.to_document().get(name) for name in expected}
    different = sorted(name for name in expected if actual[name] != expected[name])
    if different:
        raise ReplayError(
            f"{where} does not match it: "
            + ", ".join(f"{name} is {actual[name]!r}, expected {expected[name]!r}" for name in different)
        )


def list_accounts(
    client: Any, table: str, *, segment: int | None = None, total_segments: int | None = None
) -> Iterator[str]:
    """Every account in the event store: a Scan for version 1, which each account has exactly once."""
    scan: dict[str, Any] = {
        "TableName": table,
        "FilterExpression": "version = :first",
        "ExpressionAttributeValues": {":first": {"N": "1"}},
        "ProjectionExpression": EVENTS_PARTITION_KEY,
    }
    if segment is not None or total_segments is not None:
        scan["Segment"], scan["TotalSegments"] = segment, total_segments
    while True:
        response = client.scan(**scan)
        for item in response.get("Items", []):
            yield item[EVENTS_PARTITION_KEY]["S"]
        if "LastEvaluatedKey" not in response:
            return
        scan["ExclusiveStartKey"] = response["LastEvaluatedKey"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplayRequest:
    events_table: str
    account_id: str | None = None
    """One account, or every account when None."""
    from_version: int | None = None
    from_time: datetime | None = None
    projection_table: str | None = None
    """Rebuild the projection in this table; None to leave the projection alone."""
    archive_bucket: str | None = None
    """Write replayed events missing from this audit bucket; None to leave the archive alone."""
    segment: int | None = None
    total_segments: int | None = None

    def __post_init__(self) -> None:
        if self.from_version is not None and self.from_time is not None:
            raise ValueError("give from_version or from_time, not both")
        if self.from_version is not None and self.from_version < 1:
            raise ValueError(f"from_version must be >= 1, got {self.from_version}")
        if self.account_id is not None and not is_valid_account_id(self.account_id):
            raise ValueError(f"account_id {self.account_id!r} is not a valid account id")
        if (self.segment is None) != (self.total_segments is None):
            raise ValueError("give segment and total_segments together")
        if self.segment is not None and self.total_segments is not None:
            if self.account_id is not None:
                raise ValueError("segment/total_segments split the all-accounts Scan; not with account_id")
            if not 0 <= self.segment < self.total_segments:
                raise ValueError(
                    f"segment must be in 0..total_segments-1, got {self.segment} of {self.total_segments}"
                )


@dataclass(slots=True)
class ReplaySummary:
    results: list[ReplayResult]
    failures: list[dict[str, str]]

    def to_document(self) -> dict[str, Any]:
        return {
            "accounts": len(self.results),
            "events_replayed": sum(result.events_replayed for result in self.results),
            "projections_written": sum(result.projection == PROJECTION_WRITTEN for result in self.results),
            "projections_skipped": sum(result.projection == PROJECTION_SKIPPED for result in self.results),
            "events_archived": sum(result.archived or 0 for result in self.results),
            "failures": self.failures,
            "results": [asdict(result) for result in self.results],
        }


@dataclass(slots=True)
class _ArchiveBackfill:
    """Writes each replayed event the audit archive lacks, counting the new objects."""

    s3: Any
    bucket: str
    written: int = 0

    def __call__(self, event: LedgerEvent) -> None:
        if archive_event(self.s3, self.bucket, event) is ArchiveOutcome.WRITTEN:
            self.written += 1


def run(client: Any, request: ReplayRequest, *, s3: Any = None) -> ReplaySummary:
    """Replay one or all accounts; a ReplayError on one account is recorded and the rest go on.
    ``s3`` is the S3 client for ``request.archive_bucket``."""
    if request.archive_bucket is not None and s3 is None:
        raise ValueError("backfilling the archive needs an S3 client")
    accounts: Iterator[str] | list[str] = (
        [request.account_id]
        if request.account_id is not None
        else list_accounts(
            client, request.events_table, segment=request.segment, total_segments=request.total_segments
        )
    )
    summary = ReplaySummary(results=[], failures=[])
    for account_id in accounts:
        backfill = _ArchiveBackfill(s3, request.archive_bucket) if request.archive_bucket else None
        try:
            result, closing = replay_account(
                client,
                request.events_table,
                account_id,
                from_version=request.from_version,
                from_time=request.from_time,
                visit=backfill,
            )
        except ReplayError as error:
            summary.failures.append({"account_id": account_id, "error": str(error)})
            continue
        changes: dict[str, Any] = {}
        if backfill is not None:
            changes["archived"] = backfill.written
        if request.projection_table is not None and closing is not None:
            written = write_rebuilt_balance(client, request.projection_table, closing)
            changes["projection"] = PROJECTION_WRITTEN if written else PROJECTION_SKIPPED
        summary.results.append(ReplayResult(**{**asdict(result), **changes}))
    return summary


@logger.inject_lambda_context
def handler(event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Event: ``account_id`` (omit for all), ``from_version`` or ``from_time``, ``rebuild_projection``,
    ``backfill_archive``, ``segment``/``total_segments``. Env: EVENTS_TABLE_NAME;
    PROJECTION_TABLE_NAME to rebuild; AUDIT_BUCKET_NAME to backfill."""
    from_time = _field(event, "from_time", str)
    rebuild = _field(event, "rebuild_projection", bool)
    backfill = _field(event, "backfill_archive", bool)
    request = ReplayRequest(
        events_table=require_env("EVENTS_TABLE_NAME"),
        account_id=_field(event, "account_id", str),
        from_version=_field(event, "from_version", int),
        from_time=parse_timestamp(from_time) if from_time is not None else None,
        projection_table=require_env("PROJECTION_TABLE_NAME") if rebuild else None,
        archive_bucket=require_env("AUDIT_BUCKET_NAME") if backfill else None,
        segment=_field(event, "segment", int),
        total_segments=_field(event, "total_segments", int),
    )
    summary = run(dynamodb_client(), request, s3=s3_client() if backfill else None)
    document = summary.to_document()
    for failure in summary.failures:
        logger.error("Replay found a broken history", extra=failure)
    logger.info("Replay finished", extra={key: value for key, value in document.items() if key != "results"})
    return document


def _field(event: Mapping[str, Any], name: str, kind: type[_T]) -> _T | None:
    value = event.get(name)
    if value is None:
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValueError(f"replay event field {name!r} is {value!r}; expected {kind.__name__}")
    return value


def _cli_time(text: str) -> datetime:
    try:
        return parse_timestamp(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dbpatterns.handlers.ledger.replay",
        description=(
            "Rebuild account balances from the ledger's event store (not the stream, which keeps only "
            "24 hours), verify every event's balance_after, and optionally rewrite the balance projection. "
            "Optionally writes replayed events missing from the audit archive. "
            "Prints one JSON line per account; exits 1 if any account's history does not fold cleanly. "
            "Uses the standard AWS credential chain (AWS_PROFILE, AWS_REGION...)."
        ),
    )
    parser.add_argument(
        "--table",
        default=os.environ.get("EVENTS_TABLE_NAME"),
        help="event store table name (default: $EVENTS_TABLE_NAME)",
    )
    parser.add_argument("--account", help="replay this account only (default: every account)")
    start = parser.add_mutually_exclusive_group()
    start.add_argument("--from-version", type=int, metavar="N", help="first version to replay (default: 1)")
    start.add_argument(
        "--from-time",
        type=_cli_time,
        metavar="TIME",
        help="replay events that occurred at or after this ISO-8601 time, e.g. 2025-01-31T00:00:00Z",
    )
    parser.add_argument(
        "--rebuild-projection",
        action="store_true",
        help="write each closing balance to the projection table (skipped where the projection is ahead)",
    )
    parser.add_argument(
        "--projection-table",
        default=os.environ.get("PROJECTION_TABLE_NAME"),
        help="projection table name, with --rebuild-projection (default: $PROJECTION_TABLE_NAME)",
    )
    parser.add_argument(
        "--backfill-archive",
        action="store_true",
        help="write replayed events that are missing from the audit archive (existing ones are left alone)",
    )
    parser.add_argument(
        "--audit-bucket",
        default=os.environ.get("AUDIT_BUCKET_NAME"),
        help="audit archive bucket, with --backfill-archive (default: $AUDIT_BUCKET_NAME)",
    )
    parser.add_argument(
        "--segment", type=int, metavar="I", help="with --total-segments: this run's share of the Scan"
    )
    parser.add_argument(
        "--total-segments", type=int, metavar="N", help="split the all-accounts Scan into this many parts"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.table:
        parser.error("--table is required (or set EVENTS_TABLE_NAME)")
    if args.rebuild_projection and not args.projection_table:
        parser.error("--rebuild-projection needs --projection-table (or PROJECTION_TABLE_NAME)")
    if args.backfill_archive and not args.audit_bucket:
        parser.error("--backfill-archive needs --audit-bucket (or AUDIT_BUCKET_NAME)")
    try:
        request = ReplayRequest(
            events_table=args.table,
            account_id=args.account,
            from_version=args.from_version,
            from_time=args.from_time,
            projection_table=args.projection_table if args.rebuild_projection else None,
            archive_bucket=args.audit_bucket if args.backfill_archive else None,
            segment=args.segment,
            total_segments=args.total_segments,
        )
    except ValueError as error:
        parser.error(str(error))
    summary = run(dynamodb_client(), request, s3=s3_client() if args.backfill_archive else None)
    for result in summary.results:
        print(json.dumps(asdict(result), sort_keys=True))
    for failure in summary.failures:
        print(json.dumps({"failure": failure}, sort_keys=True))
    totals = {
        key: value for key, value in summary.to_document().items() if key not in {"results", "failures"}
    }
    print(json.dumps({"summary": totals, "failures": len(summary.failures)}, sort_keys=True), file=sys.stderr)
    return 1 if summary.failures else 0


if __name__ == "__main__":
    sys.exit(main())
