"""The ledger sink (audit archive + balance projection) under redelivery and reordering."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dbpatterns.handlers.ledger import audit, projection, sink
from dbpatterns.handlers.ledger._aws import dynamodb_client
from dbpatterns.handlers.ledger.events import EventType, LedgerEvent
from dbpatterns.handlers.ledger.projection import ApplyOutcome, ProjectionGapError, apply_event
from dbpatterns.handlers.ledger.schema import TransactionRequest
from dbpatterns.handlers.ledger.store import AppendCommand, append
from tests.handlers.ledger.conftest import Ledger
from tests.handlers.ledger.support import (
    RECORDS_CREATED_AT,
    FakeLambdaContext,
    batch,
    deliver_like_lambda,
    emitted_metrics,
    failing_calls,
    records_for,
    sink_mapping_bounds,
)

AMOUNTS = [
    (EventType.DEPOSIT, 1_000),
    (EventType.WITHDRAWAL, 300),
    (EventType.DEPOSIT, 50),
    (EventType.WITHDRAWAL, 700),
]


def seed(ledger: Ledger, account_id: str = "acc-1", amounts: list[tuple[EventType, int]] = AMOUNTS) -> None:
    for index, (kind, amount) in enumerate(amounts):
        append(
            dynamodb_client(),
            ledger.tables,
            AppendCommand(
                account_id=account_id,
                idempotency_key=f"seed-key-{index:04d}",
                request=TransactionRequest(type=kind, amount=amount, currency="EUR"),
                default_correlation_id="seed",
            ),
        )


def projected(ledger: Ledger, account_id: str = "acc-1") -> tuple[int, int]:
    item = ledger.projection_item(account_id)
    assert item is not None
    return int(item["balance"]["N"]), int(item["last_version"]["N"])


def archived_keys(ledger: Ledger) -> list[str]:
    versions = ledger.s3.list_object_versions(Bucket=ledger.bucket).get("Versions", [])
    return sorted(version["Key"] for version in versions)


def test_in_order_delivery_projects_the_balance_and_archives_every_event(
    ledger: Ledger, lambda_context: FakeLambdaContext
) -> None:
    seed(ledger)
    records = records_for(ledger.dynamodb, ledger.events_table, ["acc-1"])

    response = sink.handler(batch(records), lambda_context)

    assert response == {"batchItemFailures": []}
    assert projected(ledger) == (50, 4)
    event_ids = [item["event_id"]["S"] for item in ledger.event_items("acc-1")]
    assert archived_keys(ledger) == sorted(f"events/acc-1/{event_id}.json" for event_id in event_ids)


def test_archived_object_is_the_events_canonical_json(
    ledger: Ledger, lambda_context: FakeLambdaContext
) -> None:
    seed(ledger, amounts=[(EventType.DEPOSIT, 1_000)])
    sink.handler(batch(records_for(ledger.dynamodb, ledger.events_table, ["acc-1"])), lambda_context)
    event = LedgerEvent.from_item(ledger.event_items("acc-1")[0])

    stored = ledger.s3.get_object(Bucket=ledger.bucket, Key=f"events/acc-1/{event.event_id}.json")

    assert stored["ContentType"] == "application/json"
    assert LedgerEvent.from_document(json.loads(stored["Body"].read())) == event


def test_redelivered_batch_changes_nothing(ledger: Ledger, lambda_context: FakeLambdaContext) -> None:
    seed(ledger)
    records = records_for(ledger.dynamodb, ledger.events_table, ["acc-1"])
    sink.handler(batch(records), lambda_context)

    response = sink.handler(batch(records + records[1:3]), lambda_context)

    assert response == {"batchItemFailures": []}
    assert projected(ledger) == (50, 4)
    assert len(archived_keys(ledger)) == 4  # no second object version for any event


def test_early_event_fills_the_gap_and_the_late_record_is_a_duplicate(
    ledger: Ledger, lambda_context: FakeLambdaContext
) -> None:
    seed(ledger)
    records = records_for(ledger.dynamodb, ledger.events_table, ["acc-1"])

    response = sink.handler(batch([records[0], records[2], records[1]]), lambda_context)

    assert response == {"batchItemFailures": []}
    assert projected(ledger) == (750, 3)
    assert len(archived_keys(ledger)) == 3


def test_hole_in_the_event_store_fails_the_record_instead_of_skipping_it(
    ledger: Ledger, lambda_context: FakeLambdaContext
) -> None:
    seed(ledger)
    records = records_for(ledger.dynamodb, ledger.events_table, ["acc-1"])
    ledger.dynamodb.delete_item(
        TableName=ledger.events_table, Key={"account_id": {"S": "acc-1"}, "version": {"N": "2"}}
    )

    response = sink.handler(batch([records[0], records[3]]), lambda_context)

    assert response == {"batchItemFailures": [{"itemIdentifier": records[3]["dynamodb"]["SequenceNumber"]}]}
    assert projected(ledger) == (1_000, 1)


def test_long_gap_is_filled_a_bounded_number_of_versions_per_attempt(
    ledger: Ledger, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(ledger)
    records = records_for(ledger.dynamodb, ledger.events_table, ["acc-1"])
    monkeypatch.setattr(projection, "MAX_GAP_FILL", 2)

    delivery = deliver_like_lambda(sink.handler, [records[3]], lambda_context)

    assert (delivery.invocations, delivery.failures) == (2, [])  # versions 1-2, then 3 and 4
    assert projected(ledger) == (50, 4)


def test_out_of_order_delivery_with_lambda_retries_ends_with_the_right_balance(
    ledger: Ledger, lambda_context: FakeLambdaContext
) -> None:
    seed(ledger)
    records = records_for(ledger.dynamodb, ledger.events_table, ["acc-1"])

    delivery = deliver_like_lambda(sink.handler, list(reversed(records)), lambda_context)

    assert (delivery.invocations, delivery.failures) == (1, [])  # the first record fills the gap
    assert projected(ledger) == (50, 4)
    assert len(archived_keys(ledger)) == 4


def test_gap_raises_until_the_missing_version_is_applied(ledger: Ledger) -> None:
    seed(ledger)
    events = [LedgerEvent.from_item(item) for item in ledger.event_items("acc-1")]
    client = dynamodb_client()

    with pytest.raises(ProjectionGapError, match="projection is at version 0, received version 2"):
        apply_event(client, ledger.projection_table, events[1])

    assert apply_event(client, ledger.projection_table, events[0]).outcome is ApplyOutcome.APPLIED
    assert apply_event(client, ledger.projection_table, events[1]).outcome is ApplyOutcome.APPLIED
    assert apply_event(client, ledger.projection_table, events[0]).outcome is ApplyOutcome.DUPLICATE
    assert projected(ledger) == (700, 2)


def test_modify_and_remove_records_are_ignored(ledger: Ledger, lambda_context: FakeLambdaContext) -> None:
    seed(ledger, amounts=[(EventType.DEPOSIT, 1_000)])
    [record] = records_for(ledger.dynamodb, ledger.events_table, ["acc-1"])
    modify = {**record, "eventName": "MODIFY"}
    remove = {**record, "eventName": "REMOVE", "dynamodb": {**record["dynamodb"], "SequenceNumber": "9" * 21}}
    del remove["dynamodb"]["NewImage"]

    response = sink.handler(batch([modify, remove]), lambda_context)

    assert response == {"batchItemFailures": []}
    assert ledger.projection_item("acc-1") is None
    assert archived_keys(ledger) == []


def test_malformed_record_fails_alone(ledger: Ledger, lambda_context: FakeLambdaContext) -> None:
    seed(ledger, amounts=[(EventType.DEPOSIT, 1_000)])
    [good] = records_for(ledger.dynamodb, ledger.events_table, ["acc-1"])
    poison: dict[str, Any] = json.loads(json.dumps(good))
    poison["dynamodb"]["NewImage"]["amount"] = {"N": "10.5"}
    poison["dynamodb"]["SequenceNumber"] = "0" * 20 + "9"

    response = sink.handler(batch([good, poison]), lambda_context)

    assert response == {"batchItemFailures": [{"itemIdentifier": poison["dynamodb"]["SequenceNumber"]}]}
    assert projected(ledger) == (1_000, 1)


def test_second_archive_of_an_event_writes_nothing(ledger: Ledger) -> None:
    seed(ledger, amounts=[(EventType.DEPOSIT, 1_000)])
    event = LedgerEvent.from_item(ledger.event_items("acc-1")[0])

    first = audit.archive_event(ledger.s3, ledger.bucket, event)
    second = audit.archive_event(ledger.s3, ledger.bucket, event)

    assert (first, second) == (audit.ArchiveOutcome.WRITTEN, audit.ArchiveOutcome.ALREADY_ARCHIVED)
    assert archived_keys(ledger) == [f"events/acc-1/{event.event_id}.json"]


def test_projection_and_audit_handlers_also_run_alone(
    ledger: Ledger, lambda_context: FakeLambdaContext
) -> None:
    seed(ledger)
    records = records_for(ledger.dynamodb, ledger.events_table, ["acc-1"])

    assert projection.handler(batch(records), lambda_context) == {"batchItemFailures": []}
    assert audit.handler(batch(records), lambda_context) == {"batchItemFailures": []}

    assert projected(ledger) == (50, 4)
    assert len(archived_keys(ledger)) == 4


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_fails_clearly_when_the_projection_table_is_not_configured(
    ledger: Ledger, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(ledger, amounts=[(EventType.DEPOSIT, 1_000)])
    records = records_for(ledger.dynamodb, ledger.events_table, ["acc-1"])
    monkeypatch.delenv("PROJECTION_TABLE_NAME")

    with pytest.raises(Exception, match="PROJECTION_TABLE_NAME is not set"):
        projection.handler(batch(records), lambda_context)


EIGHT = [(EventType.DEPOSIT, 1_000)] + [(EventType.WITHDRAWAL, 10)] * 7  # balances 1000, 990, ... 930


def projection_update_of(version: int) -> Any:
    """Matches the sink's UpdateItem of one version of acc-1 on the projection."""

    def matches(params: dict[str, Any]) -> bool:
        values = params.get("ExpressionAttributeValues", {})
        return bool(values.get(":version") == {"N": str(version)})

    return matches


def test_simulated_mapping_has_the_bounds_the_stack_deploys() -> None:
    from dbpatterns.ledger.ledger import EventSourcedLedgerProps
    from tests.handlers.ledger.support import _default

    bounds = sink_mapping_bounds()

    assert (bounds.retry_attempts, bounds.max_record_age_seconds) == (
        _default(EventSourcedLedgerProps, "stream_retry_attempts"),
        _default(EventSourcedLedgerProps, "stream_max_record_age").to_seconds(),
    )
    assert bounds.bisect_on_error


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_record_failing_every_retry_is_invoked_one_plus_retries_times_then_discarded(
    ledger: Ledger, lambda_context: FakeLambdaContext
) -> None:
    seed(ledger, amounts=[(EventType.DEPOSIT, 1_000)])
    [good] = records_for(ledger.dynamodb, ledger.events_table, ["acc-1"])
    poison: dict[str, Any] = json.loads(json.dumps(good))
    poison["dynamodb"]["NewImage"]["amount"] = {"N": "10.5"}

    delivery = deliver_like_lambda(sink.handler, [poison], lambda_context)

    assert delivery.invocations == 1 + sink_mapping_bounds().retry_attempts
    [message] = delivery.failures
    assert message["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert message["DDBStreamBatchInfo"]["startSequenceNumber"] == poison["dynamodb"]["SequenceNumber"]
    assert message["DDBStreamBatchInfo"]["batchSize"] == 1


def test_records_older_than_the_max_record_age_are_discarded_without_an_invocation(
    ledger: Ledger, lambda_context: FakeLambdaContext
) -> None:
    seed(ledger, amounts=[(EventType.DEPOSIT, 1_000)])
    records = records_for(ledger.dynamodb, ledger.events_table, ["acc-1"])
    too_late = RECORDS_CREATED_AT + sink_mapping_bounds().max_record_age_seconds + 1

    delivery = deliver_like_lambda(sink.handler, records, lambda_context, now=too_late)

    assert delivery.invocations == 0
    assert [message["requestContext"]["condition"] for message in delivery.failures] == ["RecordAgeExceeded"]
    assert ledger.projection_item("acc-1") is None


def test_record_the_mapping_discarded_never_blocks_later_versions(
    ledger: Ledger, lambda_context: FakeLambdaContext, capsys: pytest.CaptureFixture[str]
) -> None:
    """The review's finding: v2's record outlives its retries (an outage of the projection table for
    v2's update), the mapping discards it, and v3..v8 arrive afterwards."""
    seed(ledger, amounts=EIGHT)
    records = records_for(ledger.dynamodb, ledger.events_table, ["acc-1"])
    with failing_calls(dynamodb_client(), "UpdateItem", projection_update_of(2)):
        first = deliver_like_lambda(sink.handler, records[:2], lambda_context)
    assert first.discarded == 1  # v2, after 1 + 5 invocations
    capsys.readouterr()

    later = deliver_like_lambda(sink.handler, records[2:], lambda_context)

    assert (later.invocations, later.failures) == (1, [])
    assert projected(ledger) == (930, 8)
    assert len(archived_keys(ledger)) == 8
    assert emitted_metrics(capsys.readouterr().out)["ProjectionGapRepaired"] == 1


def test_gap_is_filled_from_the_event_store_in_order_and_archived(
    ledger: Ledger, lambda_context: FakeLambdaContext, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(ledger)
    records = records_for(ledger.dynamodb, ledger.events_table, ["acc-1"])
    capsys.readouterr()

    response = sink.handler(batch([records[3]]), lambda_context)

    assert response == {"batchItemFailures": []}
    assert projected(ledger) == (50, 4)
    assert len(archived_keys(ledger)) == 4
    metrics = emitted_metrics(capsys.readouterr().out)
    assert metrics["ProjectionGapRepaired"] == 1
    assert metrics["ProjectionVersionsFilled"] == 3
