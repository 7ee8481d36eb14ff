"""Redriving the failure queue: what the stream consumers gave up on is repaired from the event store."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from dbpatterns.handlers.ledger import fraud, redrive, sink
from dbpatterns.handlers.ledger._aws import dynamodb_client, s3_client, sns_client, streams_client
from dbpatterns.handlers.ledger.events import EventType, LedgerEvent
from dbpatterns.handlers.ledger.filters import FRAUD_FILTER_PATTERN
from dbpatterns.handlers.ledger.schema import TransactionRequest
from dbpatterns.handlers.ledger.store import AppendCommand, append
from tests.handlers.ledger.conftest import FRAUD_SINGLE_LIMIT_MINOR, Ledger
from tests.handlers.ledger.support import (
    Delivery,
    FakeLambdaContext,
    deliver_like_lambda,
    failing_calls,
    matches_filter,
    send_failures,
    stream_records_from,
)

# The sink's deliveries during an outage fail every record, so they emit no application metric.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")

HISTORY = {
    "acc-1": [(EventType.DEPOSIT, 1_000), (EventType.WITHDRAWAL, 300), (EventType.DEPOSIT, 50)],
    "acc-2": [
        (EventType.DEPOSIT, 10 * FRAUD_SINGLE_LIMIT_MINOR),
        (EventType.WITHDRAWAL, FRAUD_SINGLE_LIMIT_MINOR + 1),
    ],
}


def seed(ledger: Ledger) -> None:
    for account_id, history in HISTORY.items():
        for index, (kind, amount) in enumerate(history):
            append(
                dynamodb_client(),
                ledger.tables,
                AppendCommand(
                    account_id=account_id,
                    idempotency_key=f"redrive-{account_id}-{index:04d}",
                    request=TransactionRequest(type=kind, amount=amount, currency="EUR"),
                    default_correlation_id="seed",
                ),
            )


def clients(ledger: Ledger) -> redrive.Clients:
    return redrive.Clients(
        dynamodb=dynamodb_client(), s3=s3_client(), streams=ledger.streams, sqs=ledger.sqs, sns=sns_client()
    )


def settings(ledger: Ledger, *, with_fraud: bool = True) -> redrive.RedriveSettings:
    return redrive.RedriveSettings(
        events_table=ledger.events_table,
        projection_table=ledger.projection_table,
        archive_bucket=ledger.bucket,
        alerts_table=ledger.alerts_table if with_fraud else None,
        alert_topic_arn=ledger.topic_arn if with_fraud else None,
        fraud_settings=fraud.FraudSettings.from_env() if with_fraud else None,
    )


def sink_gives_up(ledger: Ledger, context: FakeLambdaContext) -> Delivery:
    """Every record of the stream reaches the sink during an S3 outage longer than its retries."""
    shard_id, records = stream_records_from(ledger.streams, ledger.stream_arn)
    with failing_calls(s3_client(), "PutObject", lambda _: True, code="ServiceUnavailable"):
        delivery = deliver_like_lambda(sink.handler, records, context, shard_id=shard_id)
    assert delivery.discarded == len(records)
    send_failures(ledger.sqs, ledger.failure_queue_url, delivery.failures)
    return delivery


def archived(ledger: Ledger) -> int:
    return len(ledger.s3.list_object_versions(Bucket=ledger.bucket).get("Versions", []))


def projected(ledger: Ledger) -> dict[str, tuple[int, int]]:
    found = {}
    for account_id in HISTORY:
        item = ledger.projection_item(account_id)
        if item is not None:
            found[account_id] = (int(item["balance"]["N"]), int(item["last_version"]["N"]))
    return found


def queued(ledger: Ledger) -> int:
    attributes = ledger.sqs.get_queue_attributes(
        QueueUrl=ledger.failure_queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def test_redrive_repairs_what_the_sink_gave_up_on(ledger: Ledger, lambda_context: FakeLambdaContext) -> None:
    seed(ledger)
    delivery = sink_gives_up(ledger, lambda_context)
    assert (projected(ledger), archived(ledger)) == ({}, 0)

    summary = redrive.redrive(clients(ledger), settings(ledger), ledger.failure_queue_url)

    assert summary.kept == []
    assert len(summary.outcomes) == len(delivery.failures)
    assert {outcome.source for outcome in summary.outcomes} == {"stream"}
    assert projected(ledger) == {
        "acc-1": (750, 3),
        "acc-2": (10 * FRAUD_SINGLE_LIMIT_MINOR - FRAUD_SINGLE_LIMIT_MINOR - 1, 2),
    }
    assert archived(ledger) == 5
    assert queued(ledger) == 0
    # The redrive re-checks the affected debits too: the large withdrawal alerts, once.
    assert [json.loads(n["Message"])["rule"] for n in ledger.alerts()] == ["LARGE_WITHDRAWAL"]


def test_redrive_raises_the_alerts_the_fraud_function_gave_up_on_once(
    ledger: Ledger, lambda_context: FakeLambdaContext
) -> None:
    seed(ledger)
    shard_id, records = stream_records_from(ledger.streams, ledger.stream_arn)
    debits = [record for record in records if matches_filter(FRAUD_FILTER_PATTERN, record)]
    with failing_calls(sns_client(), "Publish", lambda _: True, code="Throttled"):
        delivery = deliver_like_lambda(fraud.handler, debits, lambda_context, shard_id=shard_id)
    send_failures(ledger.sqs, ledger.failure_queue_url, delivery.failures)
    assert ledger.alerts() == []

    first = redrive.redrive(clients(ledger), settings(ledger), ledger.failure_queue_url)
    again = redrive.redrive(clients(ledger), settings(ledger), ledger.failure_queue_url)

    assert (
        sum(outcome.alerts_published for outcome in first.outcomes) + len(first.pending_alerts_published) == 1
    )
    assert (again.outcomes, again.pending_alerts_published) == ([], [])
    [notification] = ledger.alerts()
    assert json.loads(notification["Message"])["account_id"] == "acc-2"


def test_redrive_falls_back_to_the_arrival_time_once_the_stream_dropped_the_records(
    ledger: Ledger, lambda_context: FakeLambdaContext
) -> None:
    seed(ledger)
    sink_gives_up(ledger, lambda_context)

    with failing_calls(ledger.streams, "GetShardIterator", lambda _: True, code="TrimmedDataAccessException"):
        summary = redrive.redrive(clients(ledger), settings(ledger), ledger.failure_queue_url)

    assert summary.kept == []
    assert {outcome.source for outcome in summary.outcomes} == {"time_window"}
    assert projected(ledger)["acc-1"] == (750, 3)
    assert archived(ledger) == 5


def test_message_whose_history_does_not_replay_is_kept_and_reported(
    ledger: Ledger, lambda_context: FakeLambdaContext
) -> None:
    seed(ledger)
    sink_gives_up(ledger, lambda_context)
    second = LedgerEvent.from_item(ledger.event_items("acc-1")[1])
    ledger.dynamodb.put_item(
        TableName=ledger.events_table, Item={**second.to_item(), "correlation_id": {"S": "rewritten"}}
    )

    summary = redrive.redrive(clients(ledger), settings(ledger), ledger.failure_queue_url)

    assert summary.kept
    assert all("chain breaks" in str(outcome.problem) for outcome in summary.kept)
    assert all("acc-1" in outcome.accounts for outcome in summary.kept)
    assert queued(ledger) == len(summary.kept)  # still there, hidden until the visibility timeout


def test_unreadable_message_is_kept_and_the_command_fails(
    ledger: Ledger, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger.sqs.send_message(QueueUrl=ledger.failure_queue_url, MessageBody='{"not": "a stream failure"}')

    code = redrive.main(
        [
            "--queue-url",
            ledger.failure_queue_url,
            "--table",
            ledger.events_table,
            "--projection-table",
            ledger.projection_table,
            "--audit-bucket",
            ledger.bucket,
        ],
        clients=clients(ledger),
    )

    assert code == 1
    summary = json.loads(capsys.readouterr().out)
    assert summary["redriven"] == 0
    assert "not a DynamoDB stream on-failure record" in summary["kept"][0]["problem"]


def test_dry_run_lists_the_affected_accounts_and_changes_nothing(
    ledger: Ledger, lambda_context: FakeLambdaContext
) -> None:
    seed(ledger)
    delivery = sink_gives_up(ledger, lambda_context)

    summary = redrive.redrive(clients(ledger), settings(ledger), ledger.failure_queue_url, dry_run=True)

    assert len(summary.outcomes) == len(delivery.failures)
    assert set().union(*(outcome.accounts for outcome in summary.outcomes)) == {"acc-1", "acc-2"}
    assert (projected(ledger), archived(ledger), queued(ledger)) == ({}, 0, len(delivery.failures))


def test_parses_the_on_failure_record_lambda_writes() -> None:
    body = json.dumps(
        {
            "requestContext": {
                "requestId": "316aa6d0-8154-4e0f-9af7-85d5f4a6bc81",
                "functionArn": "arn:aws:lambda:eu-west-1:123456789012:function:sink",
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": 6,
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "version": "1.0",
            "timestamp": "2025-03-01T09:13:49.717Z",
            "DDBStreamBatchInfo": {
                "shardId": "shardId-00000001573689847184-864758bb",
                "startSequenceNumber": "800000000003126276362",
                "endSequenceNumber": "800000000003126276364",
                "approximateArrivalOfFirstRecord": "2025-03-01T09:13:19Z",
                "approximateArrivalOfLastRecord": "2025-03-01T09:13:21Z",
                "batchSize": 3,
                "streamArn": "arn:aws:dynamodb:eu-west-1:123456789012:table/events/stream/2025-01-01",
            },
        }
    )

    info = redrive.parse_failure_message(body)

    assert (info.start_sequence_number, info.end_sequence_number, info.batch_size) == (
        "800000000003126276362",
        "800000000003126276364",
        3,
    )
    assert info.first_arrival == datetime(2025, 3, 1, 9, 13, 19, tzinfo=UTC)
    assert info.condition == "RetryAttemptsExhausted"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("not json", id="not-json"),
        pytest.param("{}", id="no-batch-info"),
        pytest.param(json.dumps({"DDBStreamBatchInfo": {"shardId": "s"}}), id="incomplete"),
    ],
)
def test_rejects_a_message_that_is_not_a_stream_failure_record(body: str) -> None:
    with pytest.raises(redrive.UnreadableMessageError):
        redrive.parse_failure_message(body)


def test_lambda_handler_redrives_with_its_environment(
    ledger: Ledger, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(ledger)
    sink_gives_up(ledger, lambda_context)
    monkeypatch.setenv("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")  # see conftest._client
    streams_client.cache_clear()
    try:
        document: dict[str, Any] = redrive.handler({"max_messages": 50}, lambda_context)
    finally:
        streams_client.cache_clear()

    assert document["kept"] == []
    assert document["redriven"] == document["messages"] > 0
    assert projected(ledger)["acc-1"] == (750, 3)


def test_lambda_handler_refuses_a_bad_event(ledger: Ledger, lambda_context: Any) -> None:
    with pytest.raises(ValueError, match="max_messages"):
        redrive.handler({"max_messages": "all"}, lambda_context)
