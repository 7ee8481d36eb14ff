"""The command API's request contracts, checked twice.

``TRANSACTION_REQUEST_SCHEMA`` (``POST /accounts/{account_id}/transactions``) and
``TRANSFER_REQUEST_SCHEMA`` (``POST /transfers``) are JSON Schema draft-04, the dialect of API
Gateway REST API models: the construct turns each into its method's request model so API Gateway
rejects a malformed body before Lambda runs. ``parse_transaction_request`` and
``parse_transfer_request`` apply the same rules in the handler (defence in depth: a request with
another content type, or an API without the validator, still cannot get through), and the tests
check that each pair agrees. One rule draft-04 cannot express is checked by the handler alone: a
transfer's two accounts must differ.

This module imports only the standard library: CDK code may import it too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from dbpatterns.handlers.ledger.events import (
    ACCOUNT_ID_PATTERN,
    CORRELATION_ID_PATTERN,
    MAX_AMOUNT_MINOR,
    SUPPORTED_CURRENCIES,
    EventType,
)

DEFAULT_PAGE_SIZE: Final = 25
MAX_PAGE_SIZE: Final = 100
HISTORY_QUERY_PARAMETERS: Final = ("limit", "cursor", "from_version", "to_version", "from_time", "to_time")
"""Query string parameters of ``GET /accounts/{account_id}/transactions``, all optional. API Gateway
can only check that required parameters are present, so declare these as optional on the method
(they document the API) and let the handler (``queries``) check their values."""

IDEMPOTENCY_KEY_HEADER: Final = "Idempotency-Key"
IDEMPOTENCY_KEY_PATTERN: Final = r"^[A-Za-z0-9._:-]{8,128}$"
"""8 to 128 characters without '#' (the idempotency table's key joins account and key with '#').
A UUID is a good key."""

COMMAND_TYPES: Final = (EventType.DEPOSIT, EventType.WITHDRAWAL)
"""Event types a client may post as a transaction; transfer legs come only from ``POST /transfers``."""

_AMOUNT: Final[dict[str, Any]] = {"type": "integer", "minimum": 1, "maximum": MAX_AMOUNT_MINOR}
_CURRENCY: Final[dict[str, Any]] = {"type": "string", "enum": sorted(SUPPORTED_CURRENCIES)}
_CORRELATION_ID: Final[dict[str, Any]] = {"type": "string", "pattern": CORRELATION_ID_PATTERN}
_ACCOUNT_ID: Final[dict[str, Any]] = {"type": "string", "pattern": ACCOUNT_ID_PATTERN}

TRANSACTION_REQUEST_SCHEMA: Final[dict[str, Any]] = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "title": "TransactionRequest",
    "description": "A deposit to or a withdrawal from one account, amount in minor units of the currency.",
    "type": "object",
    "properties": {
        "type": {"type": "string", "enum": [event_type.value for event_type in COMMAND_TYPES]},
        "amount": _AMOUNT,
        "currency": _CURRENCY,
        "correlation_id": _CORRELATION_ID,
    },
    "required": ["type", "amount", "currency"],
    "additionalProperties": False,
}

TRANSFER_REQUEST_SCHEMA: Final[dict[str, Any]] = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "title": "TransferRequest",
    "description": (
        "Moves an amount (minor units) from one account to another of the same currency; "
        "the two accounts must differ."
    ),
    "type": "object",
    "properties": {
        "from_account_id": _ACCOUNT_ID,
        "to_account_id": _ACCOUNT_ID,
        "amount": _AMOUNT,
        "currency": _CURRENCY,
        "correlation_id": _CORRELATION_ID,
    },
    "required": ["from_account_id", "to_account_id", "amount", "currency"],
    "additionalProperties": False,
}

_IDEMPOTENCY_KEY_RE: Final = re.compile(IDEMPOTENCY_KEY_PATTERN)
_CORRELATION_ID_RE: Final = re.compile(CORRELATION_ID_PATTERN)
_ACCOUNT_ID_RE: Final = re.compile(ACCOUNT_ID_PATTERN)
_FIELDS: Final = frozenset(TRANSACTION_REQUEST_SCHEMA["properties"])
_TRANSFER_FIELDS: Final = frozenset(TRANSFER_REQUEST_SCHEMA["properties"])


class RequestValidationError(ValueError):
    """The request is malformed; ``errors`` lists every problem found."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = tuple(errors)


@dataclass(frozen=True, slots=True, kw_only=True)
class TransactionRequest:
    """A validated request body. ``correlation_id`` is None when the client did not send one."""

    type: EventType
    amount: int
    currency: str
    correlation_id: str | None = None


def is_valid_idempotency_key(value: str) -> bool:
    return bool(_IDEMPOTENCY_KEY_RE.fullmatch(value))


def parse_transaction_request(payload: object) -> TransactionRequest:
    """Validate a decoded JSON body against the request contract.

    Raises RequestValidationError listing every problem. Numbers must be JSON integers: ``100.0``
    and ``1e2`` are floats once decoded and are refused, as are booleans.
    """
    if not isinstance(payload, Mapping):
        raise RequestValidationError([f"body must be a JSON object, got {type(payload).__name__}"])
    errors: list[str] = []
    errors.extend(f"unknown field {name!r}" for name in sorted(set(payload) - _FIELDS, key=str))

    type_value = payload.get("type")
    if "type" not in payload:
        errors.append("'type' is required")
    elif not isinstance(type_value, str) or type_value not in {
        event_type.value for event_type in COMMAND_TYPES
    }:
        errors.append(f"'type' must be one of {[t.value for t in COMMAND_TYPES]}, got {type_value!r}")

    amount = _check_amount(payload, errors)
    currency = _check_currency(payload, errors)
    correlation_id = _check_correlation_id(payload, errors)
    if errors or amount is None or currency is None:
        raise RequestValidationError(errors)
    return TransactionRequest(
        type=EventType(str(type_value)), amount=amount, currency=currency, correlation_id=correlation_id
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferRequest:
    """A validated transfer body."""

    from_account_id: str
    to_account_id: str
    amount: int
    currency: str
    correlation_id: str | None = None


def parse_transfer_request(payload: object) -> TransferRequest:
    """Validate a decoded JSON body against ``TRANSFER_REQUEST_SCHEMA`` plus the one rule it cannot
    state (the accounts differ). Raises RequestValidationError listing every problem, each naming
    its field."""
    if not isinstance(payload, Mapping):
        raise RequestValidationError([f"body must be a JSON object, got {type(payload).__name__}"])
    errors: list[str] = []
    errors.extend(f"unknown field {name!r}" for name in sorted(set(payload) - _TRANSFER_FIELDS, key=str))
    accounts: list[str | None] = []
    for name in ("from_account_id", "to_account_id"):
        value = payload.get(name)
        if name not in payload:
            errors.append(f"'{name}' is required")
        elif not isinstance(value, str) or not _ACCOUNT_ID_RE.fullmatch(value):
            errors.append(f"'{name}' must match {ACCOUNT_ID_PATTERN}, got {value!r}")
        else:
            accounts.append(value)
            continue
        accounts.append(None)
    source, destination = accounts
    if source is not None and source == destination:
        errors.append("'to_account_id' must differ from 'from_account_id'")
    amount = _check_amount(payload, errors)
    currency = _check_currency(payload, errors)
    correlation_id = _check_correlation_id(payload, errors)
    if errors or source is None or destination is None or amount is None or currency is None:
        raise RequestValidationError(errors)
    return TransferRequest(
        from_account_id=source,
        to_account_id=destination,
        amount=amount,
        currency=currency,
        correlation_id=correlation_id,
    )


def _check_amount(payload: Mapping[str, Any], errors: list[str]) -> int | None:
    raw_amount = payload.get("amount")
    amount = raw_amount if isinstance(raw_amount, int) and not isinstance(raw_amount, bool) else None
    if "amount" not in payload:
        errors.append("'amount' is required")
    elif amount is None:
        errors.append(f"'amount' must be an integer number of minor units, got {raw_amount!r}")
    elif not 1 <= amount <= MAX_AMOUNT_MINOR:
        errors.append(f"'amount' must be between 1 and {MAX_AMOUNT_MINOR} minor units, got {amount}")
        amount = None
    return amount


def _check_currency(payload: Mapping[str, Any], errors: list[str]) -> str | None:
    currency = payload.get("currency")
    if "currency" not in payload:
        errors.append("'currency' is required")
    elif not isinstance(currency, str) or currency not in SUPPORTED_CURRENCIES:
        errors.append(f"'currency' must be one of {sorted(SUPPORTED_CURRENCIES)}, got {currency!r}")
    else:
        return currency
    return None


def _check_correlation_id(payload: Mapping[str, Any], errors: list[str]) -> str | None:
    correlation_id = payload.get("correlation_id")
    if "correlation_id" not in payload:
        return None
    if isinstance(correlation_id, str) and _CORRELATION_ID_RE.fullmatch(correlation_id):
        return correlation_id
    errors.append(f"'correlation_id' must match {CORRELATION_ID_PATTERN}, got {correlation_id!r}")
    return None
