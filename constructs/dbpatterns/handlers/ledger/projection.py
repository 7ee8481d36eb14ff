"""Balance read model, maintained from the event store's stream and gated on version.

The projection table holds one item per account: ``balance`` (the fold of the account's events),
``currency``, ``last_version``, ``last_event_id`` and ``last_occurred_at``. Event v is applied with
one conditional UpdateItem that requires ``last_version = v-1`` (or no item at all for v=1), so:

- a redelivered event (v <= last_version) fails the condition and is a no-op;
- an early event (v > last_version + 1, a gap) fails the condition with the projection's current
  version (``ReturnValuesOnConditionCheckFailure``). ``project_record`` then fills the gap from the
  event store, the source of truth: one consistent Query for the missing versions, applied in
  order (each with the same conditional update, so a concurrent delivery of a missing record is a
  harmless duplicate), then the event itself. The repair is counted (``ProjectionGapRepaired``,
  ``ProjectionVersionsFilled``).

So a record the mapping discards after its retries (an outage, a poison image) never blocks later
versions: the next event of the account fills it in. Only the last events of an account wait, until
a later event arrives or the failure queue is redriven (``redrive``). A gap of more than
``MAX_GAP_FILL`` versions is filled that many at a time: the record fails after the partial fill
and its retry continues where the fill stopped.

``handler`` runs the projection alone on a stream; the recommended wiring is ``sink.handler``,
which archives each event and then projects it, leaving the second stream reader for fraud.
Env: ``PROJECTION_TABLE_NAME`` and ``EVENTS_TABLE_NAME`` (the gap fill reads the event store).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from dbpatterns.handlers.ledger._aws import ClientError, dynamodb_client, error_code, require_env
from dbpatterns.handlers.ledger.events import LedgerEvent
from dbpatterns.handlers.ledger.streams import event_from_record
from dbpatterns.handlers.ledger.tables import PROJECTION_PARTITION_KEY

logger = Logger()
tracer = Tracer()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)

MAX_GAP_FILL: Final = 200
"""Most versions one record fills in: 200 archive puts and conditional updates take seconds, well
within the sink's 60 s timeout."""


class ProjectionGapError(Exception):
    """Event v arrived before event v-1 was applied: retry later, never skip."""

    def __init__(self, *, account_id: str, last_applied: int, received: int) -> None:
        super().__init__(
            f"account {account_id}: projection is at version {last_applied}, received version {received}; "
            f"waiting for version {last_applied + 1}"
        )
        self.account_id = account_id
        self.last_applied = last_applied
        self.received = received


class EventStoreGapError(Exception):
    """The event store itself lacks a version the projection needs: the history is broken."""


class ApplyOutcome(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountBalance:
    """One account's item in the projection table (what a rebuild writes)."""

    account_id: str
    balance: int
    currency: str
    last_version: int
    last_event_id: str
    last_occurred_at: str

    def to_item(self) -> dict[str, dict[str, str]]:
        return {
            PROJECTION_PARTITION_KEY: {"S": self.account_id},
            "balance": {"N": str(self.balance)},
            "currency": {"S": self.currency},
            "last_version": {"N": str(self.last_version)},
            "last_event_id": {"S": self.last_event_id},
            "last_occurred_at": {"S": self.last_occurred_at},
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplyResult:
    outcome: ApplyOutcome
    balance: int | None
    """The projected balance after applying (None for a duplicate)."""


def apply_event(client: Any, table: str, event: LedgerEvent) -> ApplyResult:
    """Apply ``event`` to the projection if and only if it is the next version of its account."""
    values: dict[str, dict[str, str]] = {
        ":change": {"N": str(event.signed_amount)},
        ":currency": {"S": event.currency},
        ":version": {"N": str(event.version)},
        ":event_id": {"S": event.event_id},
        ":occurred_at": {"S": event.occurred_at},
    }
    assignments = (
        "currency = :currency, last_version = :version, "
        "last_event_id = :event_id, last_occurred_at = :occurred_at"
    )
    if event.version == 1:
        update = f"SET balance = :change, {assignments}"
        condition = f"attribute_not_exists({PROJECTION_PARTITION_KEY})"
    else:
        update = f"SET balance = balance + :change, {assignments}"
        condition = "last_version = :previous"
        values[":previous"] = {"N": str(event.version - 1)}
    try:
        response = client.update_item(
            TableName=table,
            Key={PROJECTION_PARTITION_KEY: {"S": event.account_id}},
            UpdateExpression=update,
            ConditionExpression=condition,
            ExpressionAttributeValues=values,
            ReturnValues="UPDATED_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as error:
        if error_code(error) != "ConditionalCheckFailedException":
            raise
        # ALL_OLD returns the item as it was; no item means nothing was applied yet.
        current = error.response.get("Item")
        last_applied = int(current["last_version"]["N"]) if current else 0
        if event.version <= last_applied:
            return ApplyResult(outcome=ApplyOutcome.DUPLICATE, balance=None)
        raise ProjectionGapError(
            account_id=event.account_id, last_applied=last_applied, received=event.version
        ) from None
    return ApplyResult(outcome=ApplyOutcome.APPLIED, balance=int(response["Attributes"]["balance"]["N"]))


def write_rebuilt_balance(client: Any, table: str, balance: AccountBalance) -> bool:
    """Overwrite an account's projection with a balance rebuilt from the event store.

    Refuses (returns False) when the projection has already applied a later version than the
    rebuild saw: the stream consumer moved on meanwhile, so run the rebuild again.
    """
    try:
        client.put_item(
            TableName=table,
            Item=balance.to_item(),
            ConditionExpression=(
                f"attribute_not_exists({PROJECTION_PARTITION_KEY}) OR last_version <= :version"
            ),
            ExpressionAttributeValues={":version": {"N": str(balance.last_version)}},
        )
    except ClientError as error:
        if error_code(error) != "ConditionalCheckFailedException":
            raise
        return False
    return True


@dataclass(frozen=True, slots=True, kw_only=True)
class ProjectionTables:
    projection: str
    events: str
    """The event store, read to fill gaps."""


def read_versions(
    client: Any, events_table: str, account_id: str, first: int, last: int
) -> list[LedgerEvent]:
    """Versions ``first..last`` of the account, in order (one consistent Query, paginated)."""
    query: dict[str, Any] = {
        "TableName": events_table,
        "KeyConditionExpression": "account_id = :account AND version BETWEEN :first AND :last",
        "ExpressionAttributeValues": {
            ":account": {"S": account_id},
            ":first": {"N": str(first)},
            ":last": {"N": str(last)},
        },
        "ScanIndexForward": True,
        "ConsistentRead": True,
    }
    events: list[LedgerEvent] = []
    while True:
        response = client.query(**query)
        events.extend(LedgerEvent.from_item(item) for item in response.get("Items", []))
        if "LastEvaluatedKey" not in response:
            return events
        query["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def fill_gap(
    client: Any,
    tables: ProjectionTables,
    gap: ProjectionGapError,
    *,
    before_apply: Callable[[LedgerEvent], object] | None = None,
    limit: int | None = None,
) -> int:
    """Apply the versions after ``gap.last_applied`` and before ``gap.received`` from the event
    store, in order, at most ``limit`` (default ``MAX_GAP_FILL``) of them; returns how many were
    read. ``before_apply`` sees each one first (the sink archives it)."""
    first = gap.last_applied + 1
    last = min(gap.received - 1, gap.last_applied + (MAX_GAP_FILL if limit is None else limit))
    missing = read_versions(client, tables.events, gap.account_id, first, last)
    expected = list(range(first, last + 1))
    if [event.version for event in missing] != expected:
        found = [event.version for event in missing]
        raise EventStoreGapError(
            f"account {gap.account_id}: the event store holds versions {found} of {first}..{last}; "
            "a version is missing from the history (run replay to see the first break)"
        )
    for event in missing:
        if before_apply is not None:
            before_apply(event)
        apply_event(client, tables.projection, event)
    return len(missing)


def project_record(
    client: Any,
    tables: ProjectionTables,
    event: LedgerEvent,
    *,
    before_apply: Callable[[LedgerEvent], object] | None = None,
) -> ApplyOutcome:
    """Apply one event, filling any gap before it from the event store, and report it in logs and
    metrics. Raises ProjectionGapError only when the gap was longer than ``MAX_GAP_FILL`` (the
    retry continues the fill), EventStoreGapError when the history itself has a hole."""
    try:
        result = apply_event(client, tables.projection, event)
    except ProjectionGapError as gap:
        try:
            filled = fill_gap(client, tables, gap, before_apply=before_apply)
        except EventStoreGapError:
            logger.error("The event store has a hole; the record fails", extra=_log_fields(event))
            metrics.add_metric(name="EventStoreGaps", unit=MetricUnit.Count, value=1)
            raise
        logger.warning(
            "Projection gap filled from the event store",
            extra={**_log_fields(event), "last_applied": gap.last_applied, "versions_filled": filled},
        )
        metrics.add_metric(name="ProjectionGapRepaired", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="ProjectionVersionsFilled", unit=MetricUnit.Count, value=filled)
        result = apply_event(client, tables.projection, event)  # a longer gap raises again: retried
    if result.outcome is ApplyOutcome.DUPLICATE:
        logger.info("Event already projected", extra=_log_fields(event))
        metrics.add_metric(name="ProjectionDuplicates", unit=MetricUnit.Count, value=1)
    else:
        metrics.add_metric(name="ProjectionApplied", unit=MetricUnit.Count, value=1)
        if result.balance != event.balance_after:
            # The fold disagrees with the event's own balance: the projection was changed outside
            # this function. Alarm on the metric and rebuild the account with replay.
            logger.error(
                "Projected balance differs from the event's balance_after",
                extra={**_log_fields(event), "projected_balance": result.balance},
            )
            metrics.add_metric(name="ProjectionDrift", unit=MetricUnit.Count, value=1)
    return result.outcome


def projection_tables_from_env() -> ProjectionTables:
    return ProjectionTables(
        projection=require_env("PROJECTION_TABLE_NAME"), events=require_env("EVENTS_TABLE_NAME")
    )


def _record_handler(record: DynamoDBRecord) -> None:
    event = event_from_record(record)
    if event is not None:
        project_record(dynamodb_client(), projection_tables_from_env(), event)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """Projection alone on a stream (env PROJECTION_TABLE_NAME, EVENTS_TABLE_NAME). Prefer
    ``sink.handler``."""
    return process_partial_response(
        event=event, record_handler=_record_handler, processor=processor, context=context
    )


def _log_fields(event: LedgerEvent) -> dict[str, Any]:
    return {"account_id": event.account_id, "version": event.version, "event_id": event.event_id}
