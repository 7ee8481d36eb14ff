"""Fraud detection: the filter keeps deposits out; the rules fire and publish the right alert."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from dbpatterns.handlers.ledger import alerts, fraud
from dbpatterns.handlers.ledger._aws import ConfigurationError, dynamodb_client, sns_client
from dbpatterns.handlers.ledger.currencies import MINOR_UNIT_EXPONENTS
from dbpatterns.handlers.ledger.events import SUPPORTED_CURRENCIES, EventType, LedgerEvent
from dbpatterns.handlers.ledger.filters import FRAUD_FILTER_PATTERN
from dbpatterns.handlers.ledger.schema import TransactionRequest
from dbpatterns.handlers.ledger.store import AppendCommand, append
from tests.handlers.ledger.conftest import (
    FRAUD_SINGLE_LIMIT_MAJOR,
    FRAUD_SINGLE_LIMIT_MINOR,
    FRAUD_VELOCITY_COUNT,
    FRAUD_VELOCITY_WINDOW_MINUTES,
    Ledger,
)
from tests.handlers.ledger.support import (
    FakeClock,
    FakeLambdaContext,
    batch,
    deliver_like_lambda,
    emitted_metrics,
    failing_calls,
    matches_filter,
    records_for,
    sink_mapping_bounds,
)

START = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


_keys = itertools.count(1)


def post(
    ledger: Ledger,
    kind: EventType,
    amount: int,
    at: datetime,
    account_id: str = "acc-1",
    currency: str = "EUR",
) -> LedgerEvent:
    return append(
        dynamodb_client(),
        ledger.tables,
        AppendCommand(
            account_id=account_id,
            idempotency_key=f"fraud-test-{next(_keys):06d}",
            request=TransactionRequest(type=kind, amount=amount, currency=currency),
            default_correlation_id="corr-fraud",
        ),
        now=lambda: at,
    ).event


def delivered_to_fraud(ledger: Ledger, account_id: str = "acc-1") -> list[dict[str, Any]]:
    """The account's stream records that pass the mapping's filter, as Lambda would deliver them."""
    records = records_for(ledger.dynamodb, ledger.events_table, [account_id])
    return [record for record in records if matches_filter(FRAUD_FILTER_PATTERN, record)]


def test_filter_pattern_admits_only_inserted_debits() -> None:
    assert FRAUD_FILTER_PATTERN == {
        "eventName": ["INSERT"],
        "dynamodb": {"NewImage": {"type": {"S": ["WITHDRAWAL", "TRANSFER_OUT"]}}},
    }
    assert fraud.FRAUD_FILTER_PATTERN is FRAUD_FILTER_PATTERN
    assert json.dumps(FRAUD_FILTER_PATTERN) == (
        '{"eventName": ["INSERT"], "dynamodb": {"NewImage": {"type": {"S": ["WITHDRAWAL", "TRANSFER_OUT"]}}}}'
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
        "type": "WITHDRAWAL",
        "event_id": withdrawal.event_id,
        "account_id": "acc-1",
        "version": 2,
        "amount": FRAUD_SINGLE_LIMIT_MINOR + 1,
        "currency": "EUR",
        "occurred_at": withdrawal.occurred_at,
        "correlation_id": "corr-fraud",
        "detail": {"limit_minor": FRAUD_SINGLE_LIMIT_MINOR, "currency_exponent": 2},
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


def test_redelivered_withdrawal_publishes_its_alert_once(
    ledger: Ledger, lambda_context: FakeLambdaContext, capsys: pytest.CaptureFixture[str]
) -> None:
    post(ledger, EventType.DEPOSIT, 500_000, START)
    withdrawal = post(ledger, EventType.WITHDRAWAL, FRAUD_SINGLE_LIMIT_MINOR + 1, START)
    records = delivered_to_fraud(ledger)

    fraud.handler(batch(records), lambda_context)
    fraud.handler(batch(records), lambda_context)

    [notification] = ledger.alerts()
    alert_id = json.loads(notification["Message"])["alert_id"]
    record = ledger.alert_record(alert_id)
    assert record is not None
    assert (record["status"]["S"], record["message_id"]["S"]) == ("SENT", notification["MessageId"])
    assert alert_id == f"{withdrawal.event_id}:LARGE_WITHDRAWAL"
    assert emitted_metrics(capsys.readouterr().out)["FraudAlertDuplicates"] == 1


def velocity_publish(params: dict[str, Any]) -> bool:
    return bool(params["MessageAttributes"]["rule"]["StringValue"] == "VELOCITY")


def burst_with_a_large_last_withdrawal(ledger: Ledger) -> LedgerEvent:
    """The last withdrawal raises both alerts: LARGE_WITHDRAWAL first, then VELOCITY."""
    post(ledger, EventType.DEPOSIT, 500_000, START)
    for minute in range(FRAUD_VELOCITY_COUNT):
        post(ledger, EventType.WITHDRAWAL, 10, START + timedelta(minutes=minute))
    return post(ledger, EventType.WITHDRAWAL, FRAUD_SINGLE_LIMIT_MINOR + 1, START + timedelta(minutes=5))


def test_failing_second_alert_does_not_repeat_the_first_on_every_retry(
    ledger: Ledger, lambda_context: FakeLambdaContext
) -> None:
    """The review's finding: SNS refuses the VELOCITY alert of a withdrawal for longer than the
    mapping retries; its LARGE_WITHDRAWAL alert went out on each of the six attempts."""
    last = burst_with_a_large_last_withdrawal(ledger)
    [record] = [
        r for r in delivered_to_fraud(ledger) if r["dynamodb"]["Keys"]["version"]["N"] == str(last.version)
    ]

    with failing_calls(sns_client(), "Publish", velocity_publish, code="Throttled"):
        delivery = deliver_like_lambda(fraud.handler, [record], lambda_context)

    assert delivery.invocations == 1 + sink_mapping_bounds().retry_attempts
    assert [json.loads(n["Message"])["rule"] for n in ledger.alerts()] == ["LARGE_WITHDRAWAL"]
    pending = ledger.alert_record(f"{last.event_id}:VELOCITY")
    assert pending is not None
    assert pending["status"]["S"] == "PENDING"
    assert int(pending["attempts"]["N"]) == delivery.invocations

    # The outage is over: the record comes back (the failure queue's redrive) and only VELOCITY goes out.
    fraud.handler(batch([record]), lambda_context)

    assert [json.loads(n["Message"])["rule"] for n in ledger.alerts()] == ["VELOCITY"]


def fails(handler: Any, records: list[dict[str, Any]], context: FakeLambdaContext) -> bool:
    """Whether Lambda would see the batch's records fail (reported, or all of them raised)."""
    try:
        return bool(handler(batch(records), context)["batchItemFailures"])
    except BatchProcessingError:
        return True


def test_crash_between_publish_and_the_sent_mark_republishes_once_the_claim_expires(
    ledger: Ledger, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The documented at-least-once window: SNS accepted the alert, then the function died before
    the record said SENT. The next delivery cannot tell, so it publishes again - after the claim."""
    post(ledger, EventType.DEPOSIT, 500_000, START)
    withdrawal = post(ledger, EventType.WITHDRAWAL, FRAUD_SINGLE_LIMIT_MINOR + 1, START)
    records = delivered_to_fraud(ledger)
    clock = FakeClock(1_000_000_000.0)
    monkeypatch.setattr(alerts, "now_seconds", clock)

    def sent_mark(params: dict[str, Any]) -> bool:
        return ":sent" in params.get("ExpressionAttributeValues", {})

    with failing_calls(dynamodb_client(), "UpdateItem", sent_mark):
        assert fails(fraud.handler, records, lambda_context)
    assert len(ledger.alerts()) == 1

    # A retry inside the claim sees the alert in flight and fails the record again; nothing is sent.
    clock.advance(alerts.CLAIM_SECONDS - 1)
    assert fails(fraud.handler, records, lambda_context)
    assert ledger.alerts() == []

    clock.advance(2)
    assert fraud.handler(batch(records), lambda_context) == {"batchItemFailures": []}
    [again] = ledger.alerts()
    assert json.loads(again["Message"])["alert_id"] == f"{withdrawal.event_id}:LARGE_WITHDRAWAL"
    record = ledger.alert_record(f"{withdrawal.event_id}:LARGE_WITHDRAWAL")
    assert record is not None
    assert (record["status"]["S"], int(record["attempts"]["N"])) == ("SENT", 2)


def test_failed_publish_releases_its_claim_so_the_retry_publishes_at_once(
    ledger: Ledger, lambda_context: FakeLambdaContext
) -> None:
    post(ledger, EventType.DEPOSIT, 500_000, START)
    post(ledger, EventType.WITHDRAWAL, FRAUD_SINGLE_LIMIT_MINOR + 1, START)
    records = delivered_to_fraud(ledger)
    outage = iter([True])

    with failing_calls(sns_client(), "Publish", lambda _: next(outage, False), code="InternalError"):
        delivery = deliver_like_lambda(fraud.handler, records, lambda_context)

    assert (delivery.invocations, delivery.failures) == (2, [])
    assert len(ledger.alerts()) == 1


def test_pending_alerts_are_republished_by_the_sweep(
    ledger: Ledger, lambda_context: FakeLambdaContext
) -> None:
    last = burst_with_a_large_last_withdrawal(ledger)
    [record] = [
        r for r in delivered_to_fraud(ledger) if r["dynamodb"]["Keys"]["version"]["N"] == str(last.version)
    ]
    with failing_calls(sns_client(), "Publish", velocity_publish, code="Throttled"):
        assert fails(fraud.handler, [record], lambda_context)
    ledger.alerts()

    published = alerts.republish_pending(
        dynamodb_client(), ledger.alerts_table, sns_client(), ledger.topic_arn
    )

    assert published == [f"{last.event_id}:VELOCITY"]
    assert [json.loads(n["Message"])["rule"] for n in ledger.alerts()] == ["VELOCITY"]
    assert (
        alerts.republish_pending(dynamodb_client(), ledger.alerts_table, sns_client(), ledger.topic_arn) == []
    )


@pytest.mark.parametrize(
    ("currency", "amount", "alerted"),
    [
        pytest.param("JPY", 1_001, True, id="yen-have-no-minor-unit"),
        pytest.param("JPY", 1_000, False, id="yen-at-the-limit"),
        pytest.param("EUR", 100_001, True, id="euro-cents"),
        pytest.param("BHD", 1_000_000, False, id="bahraini-fils-at-the-limit"),
        pytest.param("BHD", 1_000_001, True, id="bahraini-fils"),
        pytest.param("KWD", 150_000, False, id="kuwaiti-fils"),
    ],
)
def test_single_limit_follows_the_currency_exponent(
    ledger: Ledger, lambda_context: FakeLambdaContext, currency: str, amount: int, alerted: bool
) -> None:
    """The limit is FRAUD_SINGLE_LIMIT_MAJOR (1,000) units of the currency, whatever its exponent."""
    post(ledger, EventType.DEPOSIT, 10**9, START, currency=currency)
    post(ledger, EventType.WITHDRAWAL, amount, START, currency=currency)

    fraud.handler(batch(delivered_to_fraud(ledger)), lambda_context)

    assert len(ledger.alerts()) == (1 if alerted else 0)


def test_minor_unit_exponents_are_the_iso_4217_ones() -> None:
    assert MINOR_UNIT_EXPONENTS["JPY"] == 0
    assert MINOR_UNIT_EXPONENTS["EUR"] == MINOR_UNIT_EXPONENTS["USD"] == 2
    assert MINOR_UNIT_EXPONENTS["BHD"] == MINOR_UNIT_EXPONENTS["KWD"] == 3
    assert set(MINOR_UNIT_EXPONENTS) == SUPPORTED_CURRENCIES


def test_limit_per_currency_overrides_the_common_limit(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRAUD_SINGLE_LIMITS_MAJOR", '{"JPY": 1500000}')

    settings = fraud.FraudSettings.from_env()

    assert settings.single_limit_minor("JPY") == 1_500_000
    assert settings.single_limit_minor("EUR") == FRAUD_SINGLE_LIMIT_MINOR
    assert settings.single_limit_minor("KWD") == FRAUD_SINGLE_LIMIT_MAJOR * 1_000


def test_legacy_minor_unit_limit_is_read_as_cents_of_a_two_decimal_currency(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FRAUD_SINGLE_LIMIT_MAJOR")
    monkeypatch.setenv("FRAUD_SINGLE_LIMIT_MINOR", "1000000")

    settings = fraud.FraudSettings.from_env()

    assert (settings.single_limit_minor("EUR"), settings.single_limit_minor("JPY")) == (1_000_000, 10_000)
    assert settings.single_limit_minor("BHD") == 10_000_000


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param('{"XYZ": 5}', "XYZ", id="unknown-currency"),
        pytest.param('{"JPY": 0}', "JPY", id="zero"),
        pytest.param('{"JPY": 1.5}', "JPY", id="fraction"),
        pytest.param("[1]", "JSON object", id="not-an-object"),
    ],
)
def test_fails_clearly_on_a_bad_per_currency_limit(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch, raw: str, message: str
) -> None:
    monkeypatch.setenv("FRAUD_SINGLE_LIMITS_MAJOR", raw)

    with pytest.raises(ConfigurationError, match=message):
        fraud.FraudSettings.from_env()


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
    monkeypatch.setenv("FRAUD_VELOCITY_COUNT", "many")  # read before any record

    with pytest.raises(ConfigurationError, match="FRAUD_VELOCITY_COUNT='many' is not an integer"):
        fraud.handler(batch([]), lambda_context)
