"""POST /transfers: one transaction appends a debit to one account and a credit to the other."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from dbpatterns.handlers.ledger import api, fraud, replay, sink
from dbpatterns.handlers.ledger._aws import dynamodb_client
from dbpatterns.handlers.ledger.events import EventType, LedgerEvent, event_hash
from dbpatterns.handlers.ledger.filters import FRAUD_FILTER_PATTERN
from tests.handlers.ledger.conftest import FRAUD_SINGLE_LIMIT_MINOR, Ledger
from tests.handlers.ledger.support import (
    CompetingWriter,
    FakeLambdaContext,
    api_event,
    batch,
    deliver_like_lambda,
    matches_filter,
    records_for,
    transfer_event,
)

WRITE_OPERATIONS = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
TRANSFER = {"from_account_id": "acc-a", "to_account_id": "acc-b", "amount": 300, "currency": "EUR"}


def call(event: dict[str, Any], context: FakeLambdaContext) -> tuple[int, dict[str, Any], dict[str, str]]:
    response = api.handler(event, context)
    headers = {name: values[-1] for name, values in (response.get("multiValueHeaders") or {}).items()}
    headers.update(response.get("headers") or {})
    return response["statusCode"], json.loads(response["body"]), headers


def deposit(context: FakeLambdaContext, account_id: str, amount: int, currency: str = "EUR") -> None:
    body = {"type": "DEPOSIT", "amount": amount, "currency": currency}
    status, _, _ = call(api_event(account_id, body, idempotency_key=f"deposit-{account_id}"), context)
    assert status == 201


def events(ledger: Ledger, account_id: str) -> list[LedgerEvent]:
    return [LedgerEvent.from_item(item) for item in ledger.event_items(account_id)]


@contextmanager
def recorded_dynamodb_calls() -> Iterator[list[str]]:
    calls: list[str] = []

    def record(model: Any, **_: Any) -> None:
        calls.append(model.name)

    client = dynamodb_client()
    client.meta.events.register("before-call.dynamodb.*", record)
    try:
        yield calls
    finally:
        client.meta.events.unregister("before-call.dynamodb.*", record)


def test_transfer_appends_a_debit_and_a_credit_in_one_write_call(
    ledger: Ledger, lambda_context: FakeLambdaContext
) -> None:
    deposit(lambda_context, "acc-a", 1_000)
    deposit(lambda_context, "acc-b", 50)

    with recorded_dynamodb_calls() as calls:
        status, body, headers = call(transfer_event({**TRANSFER, "correlation_id": "rent-7"}), lambda_context)

    assert status == 201
    assert calls == ["GetItem", "Query", "Query", "TransactWriteItems"]
    _, debit = events(ledger, "acc-a")
    _, credit = events(ledger, "acc-b")
    assert (debit.type, debit.amount, debit.balance_after, debit.version) == (
        EventType.TRANSFER_OUT,
        300,
        700,
        2,
    )
    assert (credit.type, credit.amount, credit.balance_after, credit.version) == (
        EventType.TRANSFER_IN,
        300,
        350,
        2,
    )
    assert debit.transfer_id == credit.transfer_id == body["transfer_id"]
    assert (debit.counterparty_account_id, debit.counterparty_version) == ("acc-b", 2)
    assert (credit.counterparty_account_id, credit.counterparty_version) == ("acc-a", 2)
    assert debit.occurred_at == credit.occurred_at
    assert debit.correlation_id == credit.correlation_id == "rent-7"
    assert debit.prev_hash == event_hash(events(ledger, "acc-a")[0])
    assert credit.prev_hash == event_hash(events(ledger, "acc-b")[0])
    assert body["debit"] == debit.to_document()
    assert body["credit"] == credit.to_document()
    assert headers["Idempotent-Replayed"] == "false"


def test_same_transfer_key_again_returns_the_same_response_and_moves_nothing(
    ledger: Ledger, lambda_context: FakeLambdaContext
) -> None:
    deposit(lambda_context, "acc-a", 1_000)
    first = call(transfer_event(TRANSFER), lambda_context)

    with recorded_dynamodb_calls() as calls:
        second = call(transfer_event(TRANSFER), lambda_context)

    assert first[0] == second[0] == 201
    assert first[1] == second[1]
    assert second[2]["Idempotent-Replayed"] == "true"
    assert calls == ["GetItem"]
    assert (len(events(ledger, "acc-a")), len(events(ledger, "acc-b"))) == (2, 1)


def test_transfer_key_is_separate_from_a_transaction_key_of_the_same_account(
    ledger: Ledger, lambda_context: FakeLambdaContext
) -> None:
    deposit(lambda_context, "acc-a", 1_000)

    status, _, _ = call(transfer_event(TRANSFER, idempotency_key="deposit-acc-a"), lambda_context)

    assert status == 201


def test_rejects_a_reused_transfer_key_with_another_body_with_422(
    ledger: Ledger, lambda_context: FakeLambdaContext
) -> None:
    deposit(lambda_context, "acc-a", 1_000)
    call(transfer_event(TRANSFER), lambda_context)

    status, body, _ = call(transfer_event({**TRANSFER, "amount": 301}), lambda_context)

    assert (status, body["code"]) == (422, "IDEMPOTENCY_KEY_REUSED")
    assert len(events(ledger, "acc-a")) == 2


def test_rejects_an_overdraft_with_422_and_writes_nothing(
    ledger: Ledger, lambda_context: FakeLambdaContext
) -> None:
    deposit(lambda_context, "acc-a", 299)

    with recorded_dynamodb_calls() as calls:
        status, body, _ = call(transfer_event(TRANSFER), lambda_context)

    assert (status, body["code"]) == (422, "INSUFFICIENT_FUNDS")
    assert not [name for name in calls if name in WRITE_OPERATIONS]
    assert events(ledger, "acc-b") == []


def test_transfer_of_the_whole_balance_is_accepted(ledger: Ledger, lambda_context: FakeLambdaContext) -> None:
    deposit(lambda_context, "acc-a", 300)

    status, body, _ = call(transfer_event(TRANSFER), lambda_context)

    assert status == 201
    assert body["debit"]["balance_after"] == 0


@pytest.mark.parametrize(
    ("currency_a", "currency_b", "message"),
    [
        pytest.param("USD", "EUR", "account acc-a holds USD", id="source-in-another-currency"),
        pytest.param("EUR", "USD", "account acc-b holds USD", id="destination-in-another-currency"),
    ],
)
def test_rejects_a_transfer_across_currencies_with_422(
    ledger: Ledger, lambda_context: FakeLambdaContext, currency_a: str, currency_b: str, message: str
) -> None:
    deposit(lambda_context, "acc-a", 1_000, currency_a)
    deposit(lambda_context, "acc-b", 1_000, currency_b)

    status, body, _ = call(transfer_event(TRANSFER), lambda_context)

    assert (status, body["code"]) == (422, "CURRENCY_MISMATCH")
    assert message in body["message"]
    assert (len(events(ledger, "acc-a")), len(events(ledger, "acc-b"))) == (1, 1)


def test_transfer_to_a_new_account_opens_it_in_the_transfer_currency(
    ledger: Ledger, lambda_context: FakeLambdaContext
) -> None:
    deposit(lambda_context, "acc-a", 1_000)

    status, body, _ = call(transfer_event(TRANSFER), lambda_context)

    assert status == 201
    [credit] = events(ledger, "acc-b")
    assert (credit.version, credit.currency, credit.balance_after) == (1, "EUR", 300)
    assert body["credit"]["prev_hash"] == "0" * 64


@pytest.mark.parametrize("leg", [0, 1], ids=["source-changed", "destination-changed"])
def test_concurrent_append_to_either_account_is_retried_and_nothing_is_lost(
    ledger: Ledger, lambda_context: FakeLambdaContext, leg: int
) -> None:
    deposit(lambda_context, "acc-a", 1_000)
    deposit(lambda_context, "acc-b", 50)
    competitor = CompetingWriter(ledger.events_table, limit=1, item=leg)

    with competitor.racing(dynamodb_client()):
        status, body, _ = call(transfer_event(TRANSFER), lambda_context)

    assert status == 201
    assert competitor.writes == 1
    raced = ("acc-a", "acc-b")[leg]
    for account_id in ("acc-a", "acc-b"):
        result, _ = replay.replay_account(dynamodb_client(), ledger.events_table, account_id)
        assert result.events_replayed == (3 if account_id == raced else 2)  # deposit, [competitor,] leg
    assert body["debit"]["version"] == (3 if leg == 0 else 2)
    assert body["credit"]["version"] == (2 if leg == 0 else 3)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            {**TRANSFER, "to_account_id": "acc-a"}, "'to_account_id' must differ", id="same-account"
        ),
        pytest.param({**TRANSFER, "from_account_id": "acc:a"}, "'from_account_id' must match", id="bad-from"),
        pytest.param({**TRANSFER, "to_account_id": ""}, "'to_account_id' must match", id="empty-to"),
        pytest.param({**TRANSFER, "amount": 1.5}, "'amount' must be an integer", id="float-amount"),
        pytest.param({**TRANSFER, "amount": 0}, "'amount' must be between", id="zero-amount"),
        pytest.param({**TRANSFER, "currency": "XYZ"}, "'currency' must be one of", id="unknown-currency"),
        pytest.param({**TRANSFER, "type": "DEPOSIT"}, "unknown field 'type'", id="unknown-field"),
        pytest.param(
            {"to_account_id": "acc-b", "amount": 1, "currency": "EUR"}, "'from_account_id' is required"
        ),
        pytest.param([TRANSFER], "body must be a JSON object", id="array-body"),
    ],
)
def test_rejects_a_malformed_transfer_with_400_naming_the_field(
    ledger: Ledger, lambda_context: FakeLambdaContext, body: Any, expected: str
) -> None:
    status, response, _ = call(transfer_event(body), lambda_context)

    assert (status, response["code"]) == (400, "MALFORMED_REQUEST")
    assert any(expected in error for error in response["errors"]), response["errors"]


def test_rejects_a_transfer_without_idempotency_key_with_400(
    ledger: Ledger, lambda_context: FakeLambdaContext
) -> None:
    status, response, _ = call(transfer_event(TRANSFER, idempotency_key=None), lambda_context)

    assert status == 400
    assert "Idempotency-Key" in response["errors"][0]


def test_transfer_types_cannot_be_posted_as_transactions(
    ledger: Ledger, lambda_context: FakeLambdaContext
) -> None:
    status, response, _ = call(
        api_event("acc-a", {"type": "TRANSFER_IN", "amount": 5, "currency": "EUR"}), lambda_context
    )

    assert status == 400
    assert "'type' must be one of ['DEPOSIT', 'WITHDRAWAL']" in response["errors"][0]


def test_projection_and_replay_fold_transfers(ledger: Ledger, lambda_context: FakeLambdaContext) -> None:
    deposit(lambda_context, "acc-a", 1_000)
    call(transfer_event(TRANSFER), lambda_context)
    call(
        transfer_event(
            {**TRANSFER, "from_account_id": "acc-b", "to_account_id": "acc-a", "amount": 100},
            idempotency_key="transfer-back",
        ),
        lambda_context,
    )
    records = records_for(ledger.dynamodb, ledger.events_table, ["acc-a", "acc-b"])

    delivery = deliver_like_lambda(sink.handler, list(reversed(records)), lambda_context)

    assert delivery.failures == []
    balances = {}
    for account_id in ("acc-a", "acc-b"):
        item = ledger.projection_item(account_id)
        assert item is not None
        result, _ = replay.replay_account(dynamodb_client(), ledger.events_table, account_id)
        balances[account_id] = (int(item["balance"]["N"]), result.closing_balance)
    assert balances == {"acc-a": (800, 800), "acc-b": (200, 200)}


def test_replay_reports_a_transfer_leg_whose_counterpart_does_not_match(
    ledger: Ledger, lambda_context: FakeLambdaContext
) -> None:
    deposit(lambda_context, "acc-a", 1_000)
    call(transfer_event(TRANSFER), lambda_context)
    [credit] = events(ledger, "acc-b")
    # The newest event of acc-b has no successor whose hash would catch this rewrite.
    ledger.dynamodb.put_item(
        TableName=ledger.events_table, Item={**credit.to_item(), "transfer_id": {"S": "another-transfer"}}
    )

    with pytest.raises(replay.ReplayError, match=r"acc-a version 2: transfer .* counterpart acc-b version 1"):
        replay.replay_account(dynamodb_client(), ledger.events_table, "acc-a")


def test_large_transfer_out_is_checked_for_fraud_and_a_transfer_in_is_not(
    ledger: Ledger, lambda_context: FakeLambdaContext
) -> None:
    deposit(lambda_context, "acc-a", 10 * FRAUD_SINGLE_LIMIT_MINOR)
    call(transfer_event({**TRANSFER, "amount": FRAUD_SINGLE_LIMIT_MINOR + 1}), lambda_context)
    records = records_for(ledger.dynamodb, ledger.events_table, ["acc-a", "acc-b"])
    delivered = [record for record in records if matches_filter(FRAUD_FILTER_PATTERN, record)]

    assert [record["dynamodb"]["NewImage"]["type"]["S"] for record in delivered] == ["TRANSFER_OUT"]
    fraud.handler(batch(delivered), lambda_context)
    [notification] = ledger.alerts()
    message = json.loads(notification["Message"])
    assert (message["rule"], message["account_id"]) == ("LARGE_WITHDRAWAL", "acc-a")
