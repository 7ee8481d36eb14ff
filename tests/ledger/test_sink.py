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
from tests.ledger.conftest import Ledger
from tests.ledger.support import FakeLambdaContext, batch, deliver_like_lambda, records_for

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


def test_early_event_is_reported_as_a_batch_item_failure_not_skipped(
    ledger: Ledger, lambda_context: FakeLambdaContext
) -> None:
    seed(ledger)
    records = records_for(ledger.dynamodb, ledger.events_table, ["acc-1"])

    response = sink.handler(batch([records[0], records[2], records[1]]), lambda_context)

    assert response == {"batchItemFailures": [{"itemIdentifier": records[2]["dynamodb"]["SequenceNumber"]}]}
    assert projected(ledger) == (700, 2)
    assert len(archived_keys(ledger)) == 3  # the early event is archived even while its projection waits


def test_out_of_order_delivery_with_lambda_retries_ends_with_the_right_balance(
    ledger: Ledger, lambda_context: FakeLambdaContext
) -> None:
    seed(ledger)
    records = records_for(ledger.dynamodb, ledger.events_table, ["acc-1"])

    invocations = deliver_like_lambda(sink.handler, list(reversed(records)), lambda_context)

    assert invocations == 4
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
