"""The command API handler: status codes, validation, idempotency and the one-write-call claim."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from dbpatterns.handlers.ledger import api
from dbpatterns.handlers.ledger._aws import dynamodb_client
from tests.handlers.ledger.conftest import Ledger
from tests.handlers.ledger.support import CompetingWriter, FakeLambdaContext, api_event

DEPOSIT = {"type": "DEPOSIT", "amount": 10_000, "currency": "EUR"}
WRITE_OPERATIONS = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


def call(event: dict[str, Any], context: FakeLambdaContext) -> tuple[int, dict[str, Any], dict[str, str]]:
    response = api.handler(event, context)
    headers = {name: values[-1] for name, values in (response.get("multiValueHeaders") or {}).items()}
    headers.update(response.get("headers") or {})
    return response["statusCode"], json.loads(response["body"]), headers


@contextmanager
def recorded_dynamodb_calls() -> Iterator[list[str]]:
    """Names of the DynamoDB operations the handler's client sends while the block runs."""
    calls: list[str] = []

    def record(model: Any, **_: Any) -> None:
        calls.append(model.name)

    client = dynamodb_client()
    client.meta.events.register("before-call.dynamodb.*", record)
    try:
        yield calls
    finally:
        client.meta.events.unregister("before-call.dynamodb.*", record)


def test_deposit_returns_201_with_the_event_and_version_1(
    ledger: Ledger, lambda_context: FakeLambdaContext
) -> None:
    status, body, headers = call(api_event("acc-1", {**DEPOSIT, "correlation_id": "order-7"}), lambda_context)

    assert status == 201
    assert body["version"] == 1
    event = body["event"]
    assert {key: event[key] for key in ("account_id", "version", "type", "amount", "currency")} == {
        "account_id": "acc-1",
        "version": 1,
        "type": "DEPOSIT",
        "amount": 10_000,
        "currency": "EUR",
    }
    assert event["balance_after"] == 10_000
    assert event["correlation_id"] == "order-7"
    assert event["schema_version"] == 2
    assert event["prev_hash"] == "0" * 64
    assert event["occurred_at"].endswith("Z")
    assert headers["Idempotent-Replayed"] == "false"
    stored = ledger.event_items("acc-1")
    assert len(stored) == 1
    assert stored[0]["event_id"]["S"] == event["event_id"]
    assert stored[0]["amount"] == {"N": "10000"}


def test_correlation_id_defaults_to_the_api_request_id(
    ledger: Ledger, lambda_context: FakeLambdaContext
) -> None:
    event = api_event("acc-1", DEPOSIT)

    _, body, _ = call(event, lambda_context)

    assert body["event"]["correlation_id"] == event["requestContext"]["requestId"]


def test_same_request_twice_with_one_key_creates_one_event_and_the_same_response(
    ledger: Ledger, lambda_context: FakeLambdaContext
) -> None:
    first = call(api_event("acc-1", DEPOSIT, idempotency_key="retry-key-1"), lambda_context)
    second = call(api_event("acc-1", DEPOSIT, idempotency_key="retry-key-1"), lambda_context)

    assert first[0] == second[0] == 201
    assert first[1] == second[1]
    assert second[2]["Idempotent-Replayed"] == "true"
    assert len(ledger.event_items("acc-1")) == 1


def test_same_key_on_another_account_is_a_different_command(
    ledger: Ledger, lambda_context: FakeLambdaContext
) -> None:
    call(api_event("acc-1", DEPOSIT, idempotency_key="shared-key-1"), lambda_context)
    status, body, _ = call(api_event("acc-2", DEPOSIT, idempotency_key="shared-key-1"), lambda_context)

    assert status == 201
    assert body["event"]["account_id"] == "acc-2"


def test_rejects_a_reused_key_with_a_different_body_with_422(
    ledger: Ledger, lambda_context: FakeLambdaContext
) -> None:
    call(api_event("acc-1", DEPOSIT, idempotency_key="reused-key-1"), lambda_context)

    status, body, _ = call(
        api_event("acc-1", {**DEPOSIT, "amount": 99}, idempotency_key="reused-key-1"), lambda_context
    )

    assert status == 422
    assert body["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert len(ledger.event_items("acc-1")) == 1


def test_rejects_an_overdraft_with_422_and_appends_nothing(
    ledger: Ledger, lambda_context: FakeLambdaContext
) -> None:
    call(api_event("acc-1", {**DEPOSIT, "amount": 500}, idempotency_key="deposit-0001"), lambda_context)

    status, body, _ = call(
        api_event(
            "acc-1", {"type": "WITHDRAWAL", "amount": 501, "currency": "EUR"}, idempotency_key="withdraw-01"
        ),
        lambda_context,
    )

    assert status == 422
    assert body["code"] == "INSUFFICIENT_FUNDS"
    assert "500" in body["message"]
    assert len(ledger.event_items("acc-1")) == 1


def test_withdrawal_of_the_whole_balance_is_accepted(
    ledger: Ledger, lambda_context: FakeLambdaContext
) -> None:
    call(api_event("acc-1", {**DEPOSIT, "amount": 500}, idempotency_key="deposit-0001"), lambda_context)

    status, body, _ = call(
        api_event(
            "acc-1", {"type": "WITHDRAWAL", "amount": 500, "currency": "EUR"}, idempotency_key="withdraw-01"
        ),
        lambda_context,
    )

    assert status == 201
    assert body["event"]["balance_after"] == 0
    assert body["version"] == 2


def test_rejects_a_withdrawal_from_a_new_account_with_422(
    ledger: Ledger, lambda_context: FakeLambdaContext
) -> None:
    status, body, _ = call(
        api_event("acc-new", {"type": "WITHDRAWAL", "amount": 1, "currency": "EUR"}), lambda_context
    )

    assert status == 422
    assert body["code"] == "INSUFFICIENT_FUNDS"
    assert ledger.event_items("acc-new") == []


def test_rejects_a_transaction_in_another_currency_than_the_account_with_422(
    ledger: Ledger, lambda_context: FakeLambdaContext
) -> None:
    call(api_event("acc-1", DEPOSIT, idempotency_key="deposit-0001"), lambda_context)

    status, body, _ = call(
        api_event("acc-1", {**DEPOSIT, "currency": "USD"}, idempotency_key="deposit-0002"), lambda_context
    )

    assert status == 422
    assert body["code"] == "CURRENCY_MISMATCH"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param({**DEPOSIT, "amount": 10.5}, "'amount' must be an integer", id="fractional-float"),
        pytest.param({**DEPOSIT, "amount": 100.0}, "'amount' must be an integer", id="integral-float"),
        pytest.param({**DEPOSIT, "amount": "100"}, "'amount' must be an integer", id="string"),
        pytest.param({**DEPOSIT, "amount": True}, "'amount' must be an integer", id="boolean"),
        pytest.param({**DEPOSIT, "amount": 0}, "between 1 and", id="zero"),
        pytest.param({**DEPOSIT, "amount": -5}, "between 1 and", id="negative"),
        pytest.param({**DEPOSIT, "amount": 10**13}, "between 1 and", id="too-large"),
        pytest.param({**DEPOSIT, "currency": "XYZ"}, "'currency' must be one of", id="unknown-currency"),
        pytest.param({**DEPOSIT, "currency": "eur"}, "'currency' must be one of", id="lowercase-currency"),
        pytest.param({**DEPOSIT, "type": "TRANSFER"}, "'type' must be one of", id="unknown-type"),
        pytest.param({"type": "DEPOSIT", "currency": "EUR"}, "'amount' is required", id="missing-amount"),
        pytest.param({**DEPOSIT, "note": "hi"}, "unknown field 'note'", id="unknown-field"),
        pytest.param(
            {**DEPOSIT, "correlation_id": "has space"}, "'correlation_id' must match", id="bad-correlation"
        ),
        pytest.param([DEPOSIT], "body must be a JSON object", id="array-body"),
    ],
)
def test_rejects_a_malformed_body_with_400(
    ledger: Ledger, lambda_context: FakeLambdaContext, body: Any, expected: str
) -> None:
    status, response, _ = call(api_event("acc-1", body), lambda_context)

    assert status == 400
    assert response["code"] == "MALFORMED_REQUEST"
    assert any(expected in error for error in response["errors"]), response["errors"]
    assert ledger.event_items("acc-1") == []


@pytest.mark.parametrize(
    ("raw_body", "expected"),
    [
        pytest.param("", "a JSON body is required", id="empty"),
        pytest.param("{not json", "body is not valid JSON", id="invalid-json"),
        pytest.param('{"type": "DEPOSIT", "amount": NaN, "currency": "EUR"}', "NaN", id="nan"),
        pytest.param(
            '{"type": "DEPOSIT", "amount": 1e2, "currency": "EUR"}', "must be an integer", id="exponent"
        ),
        pytest.param(
            '{"type": "DEPOSIT", "amount": 1, "amount": 100000, "currency": "EUR"}',
            "appears more than once",
            id="duplicate-field",
        ),
    ],
)
def test_rejects_an_unparseable_body_with_400(
    ledger: Ledger, lambda_context: FakeLambdaContext, raw_body: str, expected: str
) -> None:
    status, response, _ = call(api_event("acc-1", None, raw_body=raw_body), lambda_context)

    assert status == 400
    assert any(expected in error for error in response["errors"]), response["errors"]


def test_rejects_a_request_without_idempotency_key_with_400(
    ledger: Ledger, lambda_context: FakeLambdaContext
) -> None:
    status, body, _ = call(api_event("acc-1", DEPOSIT, idempotency_key=None), lambda_context)

    assert status == 400
    assert "Idempotency-Key header is required" in body["errors"][0]
    assert ledger.event_items("acc-1") == []


@pytest.mark.parametrize("key", ["short", "has#hash-1", "x" * 129, "spaces in key"])
def test_rejects_a_malformed_idempotency_key_with_400(
    ledger: Ledger, lambda_context: FakeLambdaContext, key: str
) -> None:
    status, body, _ = call(api_event("acc-1", DEPOSIT, idempotency_key=key), lambda_context)

    assert status == 400
    assert "Idempotency-Key header must match" in body["errors"][0]


def test_idempotency_key_header_name_is_case_insensitive(
    ledger: Ledger, lambda_context: FakeLambdaContext
) -> None:
    event = api_event("acc-1", DEPOSIT, idempotency_key=None, headers={"idempotency-key": "lower-case-key"})

    status, _, _ = call(event, lambda_context)

    assert status == 201


def test_rejects_a_malformed_account_id_with_400(ledger: Ledger, lambda_context: FakeLambdaContext) -> None:
    status, body, _ = call(api_event("acc:1", DEPOSIT), lambda_context)

    assert status == 400
    assert "account id must match" in body["errors"][0]


def test_accepted_command_costs_exactly_one_dynamodb_write_call(
    ledger: Ledger, lambda_context: FakeLambdaContext
) -> None:
    call(api_event("acc-1", DEPOSIT, idempotency_key="first-deposit"), lambda_context)

    with recorded_dynamodb_calls() as calls:
        status, _, _ = call(api_event("acc-1", DEPOSIT, idempotency_key="second-deposit"), lambda_context)

    assert status == 201
    assert [name for name in calls if name in WRITE_OPERATIONS] == ["TransactWriteItems"]
    assert calls == ["GetItem", "Query", "TransactWriteItems"]


def test_replayed_command_costs_one_read_and_no_write(
    ledger: Ledger, lambda_context: FakeLambdaContext
) -> None:
    call(api_event("acc-1", DEPOSIT, idempotency_key="only-deposit"), lambda_context)

    with recorded_dynamodb_calls() as calls:
        status, _, _ = call(api_event("acc-1", DEPOSIT, idempotency_key="only-deposit"), lambda_context)

    assert status == 201
    assert calls == ["GetItem"]


def test_refused_command_costs_no_write(ledger: Ledger, lambda_context: FakeLambdaContext) -> None:
    with recorded_dynamodb_calls() as calls:
        status, _, _ = call(
            api_event("acc-1", {"type": "WITHDRAWAL", "amount": 1, "currency": "EUR"}), lambda_context
        )

    assert status == 422
    assert not [name for name in calls if name in WRITE_OPERATIONS]


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_conflict_that_survives_the_retries_returns_409_and_records_no_key(
    ledger: Ledger, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    call(api_event("acc-1", DEPOSIT, idempotency_key="seed-deposit"), lambda_context)
    competitor = CompetingWriter(ledger.events_table)

    with competitor.racing(dynamodb_client()):
        status, body, _ = call(
            api_event("acc-1", DEPOSIT, idempotency_key="loses-every-race"), lambda_context
        )

    assert status == 409
    assert body["code"] == "CONCURRENT_MODIFICATION"
    assert competitor.writes == 3
    assert len(ledger.event_items("acc-1")) == 1 + 3
    stored_key = ledger.dynamodb.get_item(
        TableName=ledger.idempotency_table, Key={"pk": {"S": "acc-1#loses-every-race"}}
    )
    assert "Item" not in stored_key
