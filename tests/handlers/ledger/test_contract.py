"""The event model and the request schema: round trips, strict parsing, schema/handler agreement."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft4Validator  # type: ignore[import-untyped, unused-ignore]

from dbpatterns.handlers.ledger.events import EventType, InvalidEventError, LedgerEvent, parse_timestamp
from dbpatterns.handlers.ledger.schema import (
    TRANSACTION_REQUEST_SCHEMA,
    TRANSFER_REQUEST_SCHEMA,
    RequestValidationError,
    parse_transaction_request,
    parse_transfer_request,
)

EVENT = LedgerEvent(
    account_id="acc-1",
    version=3,
    event_id="5f0c6f0e-9a51-4c0b-8a3e-3c1f1c2f9d11",
    type=EventType.WITHDRAWAL,
    amount=1_250,
    currency="EUR",
    balance_after=8_750,
    occurred_at="2025-03-01T12:00:00.123Z",
    correlation_id="order-42",
    prev_hash="ab" * 32,
)
VALIDATOR = Draft4Validator(TRANSACTION_REQUEST_SCHEMA)
TRANSFER_VALIDATOR = Draft4Validator(TRANSFER_REQUEST_SCHEMA)
TRANSFER_LEG = LedgerEvent(
    account_id="acc-1",
    version=4,
    event_id="leg-out-1",
    type=EventType.TRANSFER_OUT,
    amount=500,
    currency="EUR",
    balance_after=100,
    occurred_at="2025-03-01T12:00:00.123Z",
    correlation_id="rent",
    prev_hash="cd" * 32,
    transfer_id="transfer-1",
    counterparty_account_id="acc-2",
    counterparty_version=9,
)


def test_event_round_trips_through_a_dynamodb_item() -> None:
    item = EVENT.to_item()

    assert item["amount"] == {"N": "1250"}
    assert item["type"] == {"S": "WITHDRAWAL"}
    assert LedgerEvent.from_item(item) == EVENT


def test_event_round_trips_through_a_json_document() -> None:
    assert LedgerEvent.from_document(json.loads(json.dumps(EVENT.to_document()))) == EVENT


def test_signed_amount_and_balance_before_follow_the_type() -> None:
    assert EVENT.signed_amount == -1_250
    assert EVENT.balance_before == 10_000
    assert TRANSFER_LEG.signed_amount == -500
    assert replace(TRANSFER_LEG, type=EventType.TRANSFER_IN, balance_after=600).signed_amount == 500


def test_transfer_leg_round_trips_through_an_item_and_a_document() -> None:
    item = TRANSFER_LEG.to_item()

    assert item["counterparty_version"] == {"N": "9"}
    assert LedgerEvent.from_item(item) == TRANSFER_LEG
    assert LedgerEvent.from_document(json.loads(json.dumps(TRANSFER_LEG.to_document()))) == TRANSFER_LEG
    assert "transfer_id" not in EVENT.to_document()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param({"transfer_id": None}, "transfer_id None", id="leg-without-transfer-id"),
        pytest.param({"counterparty_account_id": "acc-1"}, "own account", id="leg-to-itself"),
        pytest.param({"counterparty_version": 0}, "counterparty_version 0", id="leg-without-version"),
        pytest.param(
            {"type": EventType.WITHDRAWAL}, "have no transfer_id", id="withdrawal-with-transfer-fields"
        ),
    ],
)
def test_rejects_an_inconsistent_transfer_leg(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidEventError, match=message):
        replace(TRANSFER_LEG, **changes)


@pytest.mark.parametrize(
    ("attribute", "value", "message"),
    [
        pytest.param("amount", {"N": "12.5"}, "expected an integer", id="fractional-amount"),
        pytest.param("amount", {"N": "1E+3"}, "expected an integer", id="exponent-amount"),
        pytest.param("amount", {"S": "100"}, "expected type N", id="string-amount"),
        pytest.param("amount", {"N": "0"}, "outside 1..", id="zero-amount"),
        pytest.param("balance_after", {"N": "-1"}, "negative", id="negative-balance"),
        pytest.param("currency", {"S": "XYZ"}, "currency 'XYZ'", id="unknown-currency"),
        pytest.param("type", {"S": "TRANSFER"}, "type 'TRANSFER'", id="unknown-type"),
        pytest.param("occurred_at", {"S": "2025-03-01T12:00:00"}, "no time zone", id="naive-time"),
        pytest.param("schema_version", {"N": "3"}, "not supported", id="future-schema"),
        pytest.param("schema_version", {"N": "1"}, "not part of schema version 1", id="hash-in-schema-1"),
        pytest.param("prev_hash", {"S": "AB" * 32}, "lowercase hex SHA-256", id="uppercase-hash"),
        pytest.param("prev_hash", {"S": "ab" * 31}, "lowercase hex SHA-256", id="short-hash"),
        pytest.param("event_id", {"S": "a/b"}, "event_id", id="unsafe-event-id"),
    ],
)
def test_rejects_an_invalid_event_item(attribute: str, value: dict[str, str], message: str) -> None:
    item = {**EVENT.to_item(), attribute: value}

    with pytest.raises(InvalidEventError, match=message):
        LedgerEvent.from_item(item)


def test_rejects_a_schema_2_event_without_prev_hash() -> None:
    item = EVENT.to_item()
    del item["prev_hash"]

    with pytest.raises(InvalidEventError, match="prev_hash None"):
        LedgerEvent.from_item(item)


def test_reads_a_schema_1_event_without_prev_hash() -> None:
    item = EVENT.to_item()
    del item["prev_hash"]
    item["schema_version"] = {"N": "1"}

    event = LedgerEvent.from_item(item)

    assert (event.prev_hash, event.schema_version) == (None, 1)
    assert "prev_hash" not in event.to_document()


def test_rejects_an_event_item_with_a_missing_attribute() -> None:
    item = EVENT.to_item()
    del item["currency"]

    with pytest.raises(InvalidEventError, match="no attribute 'currency'"):
        LedgerEvent.from_item(item)


def test_rejects_a_float_amount_in_a_stored_document() -> None:
    with pytest.raises(InvalidEventError, match=r"'amount' is 1250\.0"):
        LedgerEvent.from_document({**EVENT.to_document(), "amount": 1250.0})


def test_timestamps_are_parsed_into_utc() -> None:
    assert parse_timestamp("2025-03-01T13:00:00+01:00") == parse_timestamp("2025-03-01T12:00:00Z")


def test_request_schema_is_valid_draft_04() -> None:
    Draft4Validator.check_schema(TRANSACTION_REQUEST_SCHEMA)
    assert TRANSACTION_REQUEST_SCHEMA["$schema"] == "http://json-schema.org/draft-04/schema#"


def test_request_schema_refuses_floats_and_unknown_currencies() -> None:
    good = {"type": "DEPOSIT", "amount": 100, "currency": "EUR"}

    assert VALIDATOR.is_valid(good)
    assert not VALIDATOR.is_valid({**good, "amount": 100.5})
    assert not VALIDATOR.is_valid({**good, "amount": 100.0})
    assert not VALIDATOR.is_valid({**good, "currency": "XYZ"})
    assert not VALIDATOR.is_valid({**good, "amount": 0})


def test_parsed_request_keeps_integer_minor_units() -> None:
    request = parse_transaction_request({"type": "WITHDRAWAL", "amount": 99, "currency": "JPY"})

    assert request.type is EventType.WITHDRAWAL
    assert request.amount == 99
    assert request.correlation_id is None


# Bodies near the contract's edges: right and wrong types for every field, plus stray fields.
_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=10**13),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["DEPOSIT", "WITHDRAWAL", "deposit", "EUR", "USD", "XYZ", "", "order-1", "a b"]),
    st.lists(st.integers(), max_size=2),
)
_bodies = st.one_of(
    st.dictionaries(
        st.sampled_from(["type", "amount", "currency", "correlation_id", "extra"]), _values, max_size=5
    ),
    st.fixed_dictionaries(
        {
            "type": st.sampled_from(["DEPOSIT", "WITHDRAWAL", "REFUND"]),
            "amount": st.one_of(st.integers(min_value=-2, max_value=10**12 + 2), st.floats(0, 1e6)),
            "currency": st.sampled_from(["EUR", "GBP", "JPY", "ABC"]),
        },
        optional={"correlation_id": st.from_regex(r"[A-Za-z0-9._: -]{0,130}", fullmatch=True)},
    ),
    _values,
)


@settings(max_examples=300, deadline=None)
@given(_bodies)
def test_handler_validation_agrees_with_the_api_gateway_schema(body: Any) -> None:
    try:
        parse_transaction_request(body)
        accepted = True
    except RequestValidationError:
        accepted = False

    assert accepted == VALIDATOR.is_valid(body)


_account_ids = st.sampled_from(["acc-a", "acc-b", "", "acc:x", "x" * 65, "x" * 64])
_transfer_bodies = st.one_of(
    st.dictionaries(
        st.sampled_from(["from_account_id", "to_account_id", "amount", "currency", "correlation_id", "type"]),
        st.one_of(_values, _account_ids),
        max_size=6,
    ),
    st.fixed_dictionaries(
        {
            "from_account_id": _account_ids,
            "to_account_id": _account_ids,
            "amount": st.one_of(st.integers(min_value=-2, max_value=10**12 + 2), st.floats(0, 1e6)),
            "currency": st.sampled_from(["EUR", "JPY", "BHD", "ABC"]),
        },
        optional={"correlation_id": st.from_regex(r"[A-Za-z0-9._: -]{0,130}", fullmatch=True)},
    ),
    _values,
)


def test_transfer_schema_is_valid_draft_04() -> None:
    Draft4Validator.check_schema(TRANSFER_REQUEST_SCHEMA)


@settings(max_examples=300, deadline=None)
@given(_transfer_bodies)
def test_transfer_validation_agrees_with_the_api_gateway_schema_except_for_same_account(body: Any) -> None:
    try:
        parse_transfer_request(body)
        accepted = True
    except RequestValidationError:
        accepted = False

    same_account = isinstance(body, dict) and body.get("from_account_id") == body.get("to_account_id")
    assert accepted == (TRANSFER_VALIDATOR.is_valid(body) and not same_account)


def test_transaction_schema_offers_only_deposits_and_withdrawals() -> None:
    assert TRANSACTION_REQUEST_SCHEMA["properties"]["type"]["enum"] == ["DEPOSIT", "WITHDRAWAL"]


_IMPORT_CHECK = """
import sys
from dbpatterns.handlers.ledger import currencies, events, filters, schema, tables
heavy = {'boto3', 'botocore', 'aws_lambda_powertools', 'aws_cdk', 'constructs'}
contract = sorted({name.split('.')[0] for name in sys.modules} & heavy)
from dbpatterns.handlers.ledger import alerts, api, fraud, queries, redrive, replay, sink
print(contract, 'aws_cdk' in sys.modules, 'constructs' in sys.modules)
"""


def test_contract_modules_import_only_the_standard_library_and_handlers_never_import_cdk() -> None:
    completed = subprocess.run(  # noqa: S603 - fixed argv: this interpreter and the script above
        [sys.executable, "-c", _IMPORT_CHECK], capture_output=True, text=True, check=True, timeout=60
    )

    assert completed.stdout.strip() == "[] False False"
