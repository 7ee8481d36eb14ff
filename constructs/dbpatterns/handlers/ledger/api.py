"""Command API: ``POST /accounts/{account_id}/transactions`` and ``POST /transfers`` (API Gateway
REST, proxy integration).

Request: header ``Idempotency-Key`` (required; 8-128 characters of ``A-Z a-z 0-9 . _ : -``) and a
JSON body ``{"type": "DEPOSIT"|"WITHDRAWAL", "amount": <integer minor units>, "currency": "EUR",
"correlation_id": "optional"}`` (see ``schema.TRANSACTION_REQUEST_SCHEMA``).

Responses (JSON):

- 201 ``{"event": {...}, "version": n}``. Repeating a request with the same key returns the same
  status and body (header ``Idempotent-Replayed: true``) and appends nothing.
- 400 malformed: missing/invalid key, invalid JSON, schema violations (``errors`` lists them all).
- 409 ``CONCURRENT_MODIFICATION``: the account changed under each of the bounded attempts.
- 422 ``INSUFFICIENT_FUNDS`` (overdraft), ``CURRENCY_MISMATCH`` (the account holds another
  currency) or ``IDEMPOTENCY_KEY_REUSED`` (the key was used for a different request).

``POST /transfers`` takes the same header and ``{"from_account_id": "...", "to_account_id": "...",
"amount": <integer minor units>, "currency": "EUR", "correlation_id": "optional"}`` (see
``schema.TRANSFER_REQUEST_SCHEMA``) and answers 201 ``{"transfer_id": ..., "debit": {...},
"credit": {...}}`` (the TRANSFER_OUT and TRANSFER_IN events), with the same 400/409/422 codes;
``CURRENCY_MISMATCH`` names whichever account holds another currency.

Env: ``EVENTS_TABLE_NAME``, ``IDEMPOTENCY_TABLE_NAME``, optional ``IDEMPOTENCY_TTL_SECONDS``
(default 86400). Idempotency is recorded in the same DynamoDB transaction as the event (see
``store``), not with Powertools idempotency, so an accepted command is one write call.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Final

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from dbpatterns.handlers.ledger._aws import dynamodb_client, int_env, require_env
from dbpatterns.handlers.ledger.events import ACCOUNT_ID_PATTERN, is_valid_account_id
from dbpatterns.handlers.ledger.responses import json_response, malformed
from dbpatterns.handlers.ledger.schema import (
    IDEMPOTENCY_KEY_HEADER,
    IDEMPOTENCY_KEY_PATTERN,
    RequestValidationError,
    is_valid_idempotency_key,
    parse_transaction_request,
    parse_transfer_request,
)
from dbpatterns.handlers.ledger.store import (
    DEFAULT_IDEMPOTENCY_TTL,
    AppendCommand,
    AppendResult,
    CurrencyMismatchError,
    IdempotencyKeyReusedError,
    LedgerError,
    LedgerTables,
    OverdraftError,
    TransferCommand,
    TransferResult,
    VersionConflictError,
    append,
    transfer,
)

logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = APIGatewayRestResolver()

REPLAYED_HEADER: Final = "Idempotent-Replayed"

_REFUSALS: Final[dict[type[LedgerError], tuple[int, str]]] = {
    OverdraftError: (422, "INSUFFICIENT_FUNDS"),
    CurrencyMismatchError: (422, "CURRENCY_MISMATCH"),
    IdempotencyKeyReusedError: (422, "IDEMPOTENCY_KEY_REUSED"),
    VersionConflictError: (409, "CONCURRENT_MODIFICATION"),
}


@app.post("/accounts/<account_id>/transactions")
def record_transaction(account_id: str) -> Response[str]:
    current = app.current_event
    logger.append_keys(account_id=account_id)
    if not is_valid_account_id(account_id):
        return malformed([f"account id must match {ACCOUNT_ID_PATTERN}"])
    try:
        idempotency_key = _idempotency_key(current.headers)
        request = parse_transaction_request(_decode_json(current.decoded_body))
    except RequestValidationError as invalid:
        return malformed(list(invalid.errors))

    command = AppendCommand(
        account_id=account_id,
        idempotency_key=idempotency_key,
        request=request,
        default_correlation_id=current.request_context.request_id,
    )
    try:
        result = _append(command)
    except LedgerError as refused:
        return _refused(refused)

    if result.replayed:
        metrics.add_metric(name="IdempotentReplays", unit=MetricUnit.Count, value=1)
    else:
        metrics.add_metric(name="TransactionsAccepted", unit=MetricUnit.Count, value=1)
    if result.attempts > 1:
        metrics.add_metric(name="ConcurrencyRetries", unit=MetricUnit.Count, value=result.attempts - 1)
    logger.info(
        "Command accepted",
        extra={
            "version": result.event.version,
            "event_id": result.event.event_id,
            "replayed": result.replayed,
        },
    )
    return json_response(
        201,
        {"event": result.event.to_document(), "version": result.event.version},
        headers={REPLAYED_HEADER: "true" if result.replayed else "false"},
    )


@app.post("/transfers")
def record_transfer() -> Response[str]:
    current = app.current_event
    try:
        idempotency_key = _idempotency_key(current.headers)
        request = parse_transfer_request(_decode_json(current.decoded_body))
    except RequestValidationError as invalid:
        return malformed(list(invalid.errors))
    logger.append_keys(account_id=request.from_account_id, to_account_id=request.to_account_id)
    command = TransferCommand(
        idempotency_key=idempotency_key,
        request=request,
        default_correlation_id=current.request_context.request_id,
    )
    try:
        result = _transfer(command)
    except LedgerError as refused:
        return _refused(refused)
    metrics.add_metric(
        name="IdempotentReplays" if result.replayed else "TransfersAccepted", unit=MetricUnit.Count, value=1
    )
    if result.attempts > 1:
        metrics.add_metric(name="ConcurrencyRetries", unit=MetricUnit.Count, value=result.attempts - 1)
    logger.info(
        "Transfer accepted",
        extra={
            "transfer_id": result.transfer_id,
            "debit_version": result.debit.version,
            "credit_version": result.credit.version,
            "replayed": result.replayed,
        },
    )
    return json_response(
        201, result.to_document(), headers={REPLAYED_HEADER: "true" if result.replayed else "false"}
    )


def _idempotency_key(headers: Mapping[str, str]) -> str:
    """The request's Idempotency-Key (header names are case-insensitive here)."""
    value = headers.get(IDEMPOTENCY_KEY_HEADER)
    if value is None:
        raise RequestValidationError(
            [f"the {IDEMPOTENCY_KEY_HEADER} header is required (a UUID is a good key)"]
        )
    if not is_valid_idempotency_key(value):
        raise RequestValidationError(
            [f"the {IDEMPOTENCY_KEY_HEADER} header must match {IDEMPOTENCY_KEY_PATTERN}"]
        )
    return value


def _refused(refused: LedgerError) -> Response[str]:
    status, code = _REFUSALS.get(type(refused), (422, "REFUSED"))
    logger.info("Command refused", extra={"code": code, "reason": str(refused)})
    metrics.add_metric(name=_metric_name(code), unit=MetricUnit.Count, value=1)
    return json_response(status, {"code": code, "message": str(refused)})


def _tables() -> LedgerTables:
    return LedgerTables(
        events=require_env("EVENTS_TABLE_NAME"), idempotency=require_env("IDEMPOTENCY_TABLE_NAME")
    )


def _idempotency_ttl() -> timedelta:
    default = int(DEFAULT_IDEMPOTENCY_TTL.total_seconds())
    return timedelta(seconds=int_env("IDEMPOTENCY_TTL_SECONDS", default=default, minimum=60))


@tracer.capture_method
def _append(command: AppendCommand) -> AppendResult:
    return append(dynamodb_client(), _tables(), command, idempotency_ttl=_idempotency_ttl())


@tracer.capture_method
def _transfer(command: TransferCommand) -> TransferResult:
    return transfer(dynamodb_client(), _tables(), command, idempotency_ttl=_idempotency_ttl())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


def _decode_json(body: str | None) -> object:
    if body is None or not body.strip():
        raise RequestValidationError(["a JSON body is required"])
    try:
        return json.loads(body, parse_constant=_reject_constant, object_pairs_hook=_reject_duplicate_keys)
    except RequestValidationError:
        raise
    except ValueError as error:
        raise RequestValidationError([f"body is not valid JSON: {error}"]) from None


def _reject_constant(name: str) -> object:
    raise RequestValidationError([f"body contains {name}, which is not a JSON number"])


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            raise RequestValidationError([f"field {key!r} appears more than once"])
        document[key] = value
    return document


def _metric_name(code: str) -> str:
    return "Refused" + "".join(part.capitalize() for part in code.split("_"))
