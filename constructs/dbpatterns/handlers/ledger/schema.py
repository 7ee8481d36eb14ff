"""The command API's request contract, checked twice.

``TRANSACTION_REQUEST_SCHEMA`` is JSON Schema draft-04, the dialect of API Gateway REST API models:
the construct turns it into the method's request model so API Gateway rejects a malformed body
before Lambda runs. ``parse_transaction_request`` applies the same rules in the handler (defence in
depth: a request with another content type, or an API without the validator, still cannot get
through), and the tests check that both agree.

This module imports only the standard library: CDK code may import it too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from dbpatterns.handlers.ledger.events import (
    CORRELATION_ID_PATTERN,
    MAX_AMOUNT_MINOR,
    SUPPORTED_CURRENCIES,
    EventType,
)

IDEMPOTENCY_KEY_HEADER: Final = "Idempotency-Key"
IDEMPOTENCY_KEY_PATTERN: Final = r"^[A-Za-z0-9._:-]{8,128}$"
"""8 to 128 characters without '#' (the idempotency table's key joins account and key with '#').
A UUID is a good key."""

TRANSACTION_REQUEST_SCHEMA: Final[dict[str, Any]] = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "title": "TransactionRequest",
    "description": "A deposit to or a withdrawal from one account, amount in minor units of the currency.",
    "type": "object",
    "properties": {
        "type": {"type": "string", "enum": [event_type.value for event_type in EventType]},
        "amount": {"type": "integer", "minimum": 1, "maximum": MAX_AMOUNT_MINOR},
        "currency": {"type": "string", "enum": sorted(SUPPORTED_CURRENCIES)},
        "correlation_id": {"type": "string", "pattern": CORRELATION_ID_PATTERN},
    },
    "required": ["type", "amount", "currency"],
    "additionalProperties": False,
}

_IDEMPOTENCY_KEY_RE: Final = re.compile(IDEMPOTENCY_KEY_PATTERN)
_CORRELATION_ID_RE: Final = re.compile(CORRELATION_ID_PATTERN)
_FIELDS: Final = frozenset(TRANSACTION_REQUEST_SCHEMA["properties"])


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
    elif not isinstance(type_value, str) or type_value not in {event_type.value for event_type in EventType}:
        errors.append(f"'type' must be one of {[t.value for t in EventType]}, got {type_value!r}")

    raw_amount = payload.get("amount")
    amount = raw_amount if isinstance(raw_amount, int) and not isinstance(raw_amount, bool) else None
    if "amount" not in payload:
        errors.append("'amount' is required")
    elif amount is None:
        errors.append(f"'amount' must be an integer number of minor units, got {raw_amount!r}")
    elif not 1 <= amount <= MAX_AMOUNT_MINOR:
        errors.append(f"'amount' must be between 1 and {MAX_AMOUNT_MINOR} minor units, got {amount}")

    currency = payload.get("currency")
    if "currency" not in payload:
        errors.append("'currency' is required")
    elif not isinstance(currency, str) or currency not in SUPPORTED_CURRENCIES:
        errors.append(f"'currency' must be one of {sorted(SUPPORTED_CURRENCIES)}, got {currency!r}")

    correlation_id = payload.get("correlation_id")
    if "correlation_id" in payload and not (
        isinstance(correlation_id, str) and _CORRELATION_ID_RE.fullmatch(correlation_id)
    ):
        errors.append(f"'correlation_id' must match {CORRELATION_ID_PATTERN}, got {correlation_id!r}")

    if errors or amount is None:
        raise RequestValidationError(errors)
    return TransactionRequest(
        type=EventType(str(type_value)),
        amount=amount,
        currency=str(currency),
        correlation_id=correlation_id if isinstance(correlation_id, str) else None,
    )
