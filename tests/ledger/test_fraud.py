"""Fraud detection: the filter keeps deposits out; the rules fire and publish the right alert."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dbpatterns.handlers.ledger import fraud
from dbpatterns.handlers.ledger._aws import ConfigurationError, dynamodb_client
from dbpatterns.handlers.ledger.events import EventType, LedgerEvent
from dbpatterns.handlers.ledger.filters import FRAUD_FILTER_PATTERN
from dbpatterns.handlers.ledger.schema import TransactionRequest
from dbpatterns.handlers.ledger.store import AppendCommand, append
from tests.ledger.conftest import (
    FRAUD_SINGLE_LIMIT_MINOR,
    FRAUD_VELOCITY_COUNT,
    FRAUD_VELOCITY_WINDOW_MINUTES,
    Ledger,
)
from tests.ledger.support import FakeLambdaContext, batch, matches_filter, records_for

START = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


_keys = itertools.count(1)


def post(
    ledger: Ledger, kind: EventType, amount: int, at: datetime, account_id: str = "acc-1"
) -> LedgerEvent:
    return append(
        dynamodb_client(),
        ledger.tables,
        AppendCommand(
            account_id=account_id,
            idempotency_key=f"fraud-test-{next(_keys):06d}",
            request=TransactionRequest(type=kind, amount=amount, currency="EUR"),
            default_correlation_id="corr-fraud",
        ),
        now=lambda: at,
    ).event


def delivered_to_fraud(ledger: Ledger, account_id: str = "acc-1") -> list[dict[str, Any]]:
    """The account's stream records that pass the mapping's filter, as Lambda would deliver them."""
    records = records_for(ledger.dynamodb, ledger.events_table, [account_id])
    return [record for record in records if matches_filter(FRAUD_FILTER_PATTERN, record)]


def test_filter_pattern_admits_only_inserted_withdrawals() -> None:
    assert FRAUD_FILTER_PATTERN == {
        "eventName": ["INSERT"],
        "dynamodb": {"NewImage": {"type": {"S": ["WITHDRAWAL"]}}},
    }
    assert fraud.FRAUD_FILTER_PATTERN is FRAUD_FILTER_PATTERN
    assert json.dumps(FRAUD_FILTER_PATTERN) == (
        '{"eventName": ["INSERT"], "dynamodb": {"NewImage": {"type": {"S": ["WITHDRAWAL"]}}}}'
    )


def test_deposit_record_does_not_match_the_filter(ledger: Ledger) -> None:
    post(ledger, EventType.DEPOSIT, 500_000, START)
    post(ledger, EventType.WITHDRAWAL, 10, START)
    deposit, withdrawal = records_for(ledger.dynamodb, ledger.events_table, ["acc-1"])

    assert not matches_filter(FRAUD_FILTER_PATTERN, deposit)
    assert matches_filter(FRAUD_FILTER_PATTERN, withdrawal)
    assert not matches_filter(FRAUD_FILTER_PATTERN, {**withdrawal, "eventName": "MODIFY"})


def test_large_withdrawal_publishes_an_alert_with_the_event_details(
    ledger: Ledger, lambda_context: FakeLambdaContext
) -> None:
    post(ledger, EventType.DEPOSIT, 500_000, START)
    withdrawal = post(
        ledger, EventType.WITHDRAWAL, FRAUD_SINGLE_LIMIT_MINOR + 1, START + timedelta(minutes=1)
    )

    response = fraud.handler(batch(delivered_to_fraud(ledger)), lambda_context)

    assert response == {"batchItemFailures": []}
    [notification] = ledger.alerts()
    assert notification["Subject"] == "Ledger fraud alert: LARGE_WITHDRAWAL"
    message = json.loads(notification["Message"])
    assert message == {
        "alert_id": f"{withdrawal.event_id}:LARGE_WITHDRAWAL",
        "rule": "LARGE_WITHDRAWAL",
        "event_id": withdrawal.event_id,
        "account_id": "acc-1",
        "version": 2,
        "amount": FRAUD_SINGLE_LIMIT_MINOR + 1,
        "currency": "EUR",
        "occurred_at": withdrawal.occurred_at,
        "correlation_id": "corr-fraud",
        "detail": {"limit_minor": FRAUD_SINGLE_LIMIT_MINOR},
    }
    attributes = {name: value["Value"] for name, value in notification["MessageAttributes"].items()}
    assert attributes == {"alert_id": message["alert_id"], "rule": "LARGE_WITHDRAWAL", "account_id": "acc-1"}


def test_withdrawal_at_the_limit_raises_no_alert(ledger: Ledger, lambda_context: FakeLambdaContext) -> None:
    post(ledger, EventType.DEPOSIT, 500_000, START)
    post(ledger, EventType.WITHDRAWAL, FRAUD_SINGLE_LIMIT_MINOR, START)

    fraud.handler(batch(delivered_to_fraud(ledger)), lambda_context)

    assert ledger.alerts() == []


def test_more_withdrawals_than_allowed_within_the_window_raise_a_velocity_alert(
    ledger: Ledger, lambda_context: FakeLambdaContext
) -> None:
    post(ledger, EventType.DEPOSIT, 10_000, START)
    withdrawals = [
        post(ledger, EventType.WITHDRAWAL, 10, START + timedelta(minutes=minute))
        for minute in range(FRAUD_VELOCITY_COUNT + 1)
    ]

    fraud.handler(batch(delivered_to_fraud(ledger)), lambda_context)

    [notification] = ledger.alerts()
    message = json.loads(notification["Message"])
    assert message["rule"] == "VELOCITY"
    assert message["event_id"] == withdrawals[-1].event_id
    assert message["detail"] == {
        "limit_count": FRAUD_VELOCITY_COUNT,
        "window_minutes": FRAUD_VELOCITY_WINDOW_MINUTES,
    }


def test_withdrawals_spread_beyond_the_window_raise_no_velocity_alert(
    ledger: Ledger, lambda_context: FakeLambdaContext
) -> None:
    post(ledger, EventType.DEPOSIT, 10_000, START)
    spacing = timedelta(minutes=FRAUD_VELOCITY_WINDOW_MINUTES / FRAUD_VELOCITY_COUNT + 1)
    for index in range(FRAUD_VELOCITY_COUNT + 3):
        post(ledger, EventType.WITHDRAWAL, 10, START + index * spacing)

    fraud.handler(batch(delivered_to_fraud(ledger)), lambda_context)

    assert ledger.alerts() == []


def test_velocity_counts_only_the_same_account(ledger: Ledger, lambda_context: FakeLambdaContext) -> None:
    for account_id in ("acc-1", "acc-2"):
        post(ledger, EventType.DEPOSIT, 10_000, START, account_id=account_id)
    for minute in range(FRAUD_VELOCITY_COUNT):
        post(ledger, EventType.WITHDRAWAL, 10, START + timedelta(minutes=minute), account_id="acc-1")
        post(ledger, EventType.WITHDRAWAL, 10, START + timedelta(minutes=minute), account_id="acc-2")

    fraud.handler(
        batch(delivered_to_fraud(ledger, "acc-1") + delivered_to_fraud(ledger, "acc-2")), lambda_context
    )

    assert ledger.alerts() == []


def test_redelivered_withdrawal_repeats_the_alert_with_the_same_alert_id(
    ledger: Ledger, lambda_context: FakeLambdaContext
) -> None:
    post(ledger, EventType.DEPOSIT, 500_000, START)
    post(ledger, EventType.WITHDRAWAL, FRAUD_SINGLE_LIMIT_MINOR + 1, START)
    records = delivered_to_fraud(ledger)

    fraud.handler(batch(records), lambda_context)
    fraud.handler(batch(records), lambda_context)

    alert_ids = [json.loads(notification["Message"])["alert_id"] for notification in ledger.alerts()]
    assert len(alert_ids) == 2
    assert len(set(alert_ids)) == 1


def test_deposit_that_slips_past_the_filter_publishes_nothing(
    ledger: Ledger, lambda_context: FakeLambdaContext
) -> None:
    post(ledger, EventType.DEPOSIT, 900_000, START)

    response = fraud.handler(
        batch(records_for(ledger.dynamodb, ledger.events_table, ["acc-1"])), lambda_context
    )

    assert response == {"batchItemFailures": []}
    assert ledger.alerts() == []


def test_alert_on_a_fifo_topic_carries_group_and_deduplication_ids() -> None:
    class RecordingSns:
        def __init__(self) -> None:
            self.requests: list[dict[str, Any]] = []

        def publish(self, **request: Any) -> dict[str, str]:
            self.requests.append(request)
            return {"MessageId": "m-1"}

    event = LedgerEvent(
        account_id="acc-1",
        version=2,
        event_id="e-1",
        type=EventType.WITHDRAWAL,
        amount=5,
        currency="EUR",
        balance_after=0,
        occurred_at="2025-03-01T09:00:00.000Z",
        correlation_id="c",
        prev_hash="ab" * 32,
    )
    alert = fraud.FraudAlert(rule=fraud.FraudRule.VELOCITY, event=event, detail={})
    sns = RecordingSns()

    fraud.publish_alert(sns, "arn:aws:sns:us-east-1:123456789012:alerts.fifo", alert)

    assert sns.requests[0]["MessageGroupId"] == "acc-1"
    assert sns.requests[0]["MessageDeduplicationId"] == "e-1:VELOCITY"


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_fails_clearly_when_a_fraud_setting_is_missing(
    ledger: Ledger, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRAUD_VELOCITY_COUNT", "many")

    with pytest.raises(ConfigurationError, match="FRAUD_VELOCITY_COUNT='many' is not an integer"):
        fraud.handler(batch([]), lambda_context)
