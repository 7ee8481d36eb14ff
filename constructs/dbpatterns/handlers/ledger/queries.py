"""Query API: an account's balance and its history (API Gateway REST, proxy integration).

``GET /accounts/{account_id}/balance`` reads the balance projection (a consistent GetItem) and
answers 200 ``{"account_id", "balance", "currency", "version", "last_event_id",
"last_occurred_at", "source": "projection"}``: the balance as of ``version``, which may trail the
event store by the stream's lag. An account whose first events are not projected yet is answered
from its latest event (``"source": "event_store"``); an account without events is 404
``ACCOUNT_NOT_FOUND``.

``GET /accounts/{account_id}/transactions`` reads the event store newest first (a consistent Query,
``ScanIndexForward=false``). Query parameters, all optional:

- ``limit``: events per page, 1-100 (default 25);
- ``from_version`` / ``to_version``: an inclusive version range;
- ``from_time`` / ``to_time``: an inclusive ``occurred_at`` range, ISO-8601 with a time zone. The
  writer keeps ``occurred_at`` non-decreasing per account, so a time is turned into a version by a
  binary search (about log2(versions) GetItem calls) and the page is still one key-range Query;
- ``cursor``: ``next_cursor`` of the previous page, with the same other parameters.

It answers 200 ``{"account_id", "items": [events, newest first], "next_cursor": "..." | null}``;
``next_cursor`` is null on the last page (the Query asks for one event more than ``limit`` to know).
An account without any event is 404 ``ACCOUNT_NOT_FOUND``; a range without events is an empty page.

The cursor is opaque to clients: base64url (no padding) of ``{"key": <the page's last key, as a
DynamoDB LastEvaluatedKey>, "check": <SHA-256 of the account, the filters and the key>}``. A cursor
whose key names another account, or whose check does not match this request's account and filters,
is refused (400), so a cursor cannot be replayed against another account or another query, nor
edited by hand by accident. It is not a secret-keyed signature: a caller allowed to read an account
can page through it any way they like, and who may read which account is decided by IAM.

Every malformed parameter is 400 ``MALFORMED_REQUEST`` with an error naming it; unknown or repeated
parameters too. API Gateway can only check that declared parameters are present, so the handler
checks all values.

Env: ``EVENTS_TABLE_NAME``, ``PROJECTION_TABLE_NAME``. Needs ``GetItem`` on the projection and
``GetItem`` and ``Query`` on the event store.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Final

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from dbpatterns.handlers.ledger._aws import dynamodb_client, require_env
from dbpatterns.handlers.ledger.events import (
    ACCOUNT_ID_PATTERN,
    LedgerEvent,
    canonical_json,
    format_timestamp,
    is_valid_account_id,
    parse_timestamp,
)
from dbpatterns.handlers.ledger.replay import first_version_where
from dbpatterns.handlers.ledger.responses import json_response, malformed
from dbpatterns.handlers.ledger.schema import DEFAULT_PAGE_SIZE, HISTORY_QUERY_PARAMETERS, MAX_PAGE_SIZE
from dbpatterns.handlers.ledger.store import latest_event
from dbpatterns.handlers.ledger.tables import EVENTS_PARTITION_KEY, EVENTS_SORT_KEY, PROJECTION_PARTITION_KEY

logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = APIGatewayRestResolver()


_VERSION_RE: Final = re.compile(r"^[0-9]{1,15}$")
_CURSOR_RE: Final = re.compile(r"^[A-Za-z0-9_-]{1,2048}$")
_BAD_CURSOR: Final = "'cursor' is not a cursor this API issued; start again without it"
_FOREIGN_CURSOR: Final = "'cursor' was issued for another account or query; start again without it"


class InvalidQueryError(ValueError):
    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryQuery:
    """A validated history request."""

    account_id: str
    limit: int = DEFAULT_PAGE_SIZE
    from_version: int | None = None
    to_version: int | None = None
    from_time: datetime | None = None
    to_time: datetime | None = None
    after_version: int | None = None
    """From the cursor: the page continues below this version."""

    def filters(self) -> dict[str, Any]:
        """The filters in canonical form (what a cursor is bound to)."""
        return {
            "from_version": self.from_version,
            "to_version": self.to_version,
            "from_time": format_timestamp(self.from_time) if self.from_time else None,
            "to_time": format_timestamp(self.to_time) if self.to_time else None,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryPage:
    events: list[LedgerEvent]
    next_cursor: str | None


# --- Cursors ---


def _check(account_id: str, filters: Mapping[str, Any], key: Mapping[str, Any]) -> str:
    bound = {"account_id": account_id, "filters": filters, "key": key}
    return hashlib.sha256(canonical_json(bound)).hexdigest()[:32]


def encode_cursor(query: HistoryQuery, last: LedgerEvent) -> str:
    key = {EVENTS_PARTITION_KEY: {"S": last.account_id}, EVENTS_SORT_KEY: {"N": str(last.version)}}
    document = {"key": key, "check": _check(query.account_id, query.filters(), key)}
    return base64.urlsafe_b64encode(canonical_json(document)).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, account_id: str, filters: Mapping[str, Any]) -> int:
    """The version a cursor continues below; InvalidQueryError naming ``cursor`` if it is not one we
    issued for this account and these filters."""
    if not _CURSOR_RE.fullmatch(cursor):
        raise InvalidQueryError([_BAD_CURSOR])
    try:
        document = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        key, check = document["key"], document["check"]
        key_account = key[EVENTS_PARTITION_KEY]["S"]
        version_text = key[EVENTS_SORT_KEY]["N"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise InvalidQueryError([_BAD_CURSOR]) from None
    if (
        not isinstance(version_text, str)
        or not _VERSION_RE.fullmatch(version_text)
        or set(document)
        != {
            "key",
            "check",
        }
    ):
        raise InvalidQueryError([_BAD_CURSOR])
    if key_account != account_id or check != _check(account_id, filters, key):
        raise InvalidQueryError([_FOREIGN_CURSOR])
    return int(version_text)


# --- Parameters ---


def _single_values(event: Mapping[str, Any]) -> dict[str, str]:
    multi: Mapping[str, list[str]] = event.get("multiValueQueryStringParameters") or {}
    single: Mapping[str, str] = event.get("queryStringParameters") or {}
    errors = [f"'{name}' appears more than once" for name, values in sorted(multi.items()) if len(values) > 1]
    if errors:
        raise InvalidQueryError(errors)
    return dict(single)


def parse_history_query(account_id: str, parameters: Mapping[str, str]) -> HistoryQuery:
    """Validate the history parameters; InvalidQueryError lists every problem, each naming its field."""
    errors = [
        f"unknown query parameter '{name}'"
        for name in sorted(set(parameters) - set(HISTORY_QUERY_PARAMETERS))
    ]
    limit = DEFAULT_PAGE_SIZE
    raw_limit = parameters.get("limit")
    if raw_limit is not None:
        if _VERSION_RE.fullmatch(raw_limit) and 1 <= int(raw_limit) <= MAX_PAGE_SIZE:
            limit = int(raw_limit)
        else:
            errors.append(f"'limit' must be an integer from 1 to {MAX_PAGE_SIZE}, got {raw_limit!r}")
    versions: dict[str, int | None] = {}
    for name in ("from_version", "to_version"):
        raw_version = parameters.get(name)
        versions[name] = None
        if raw_version is not None:
            if _VERSION_RE.fullmatch(raw_version) and int(raw_version) >= 1:
                versions[name] = int(raw_version)
            else:
                errors.append(f"'{name}' must be an integer >= 1, got {raw_version!r}")
    lowest, highest = versions["from_version"], versions["to_version"]
    if lowest is not None and highest is not None and highest < lowest:
        errors.append("'to_version' must not be below 'from_version'")
    times: dict[str, datetime | None] = {}
    for name in ("from_time", "to_time"):
        raw_time = parameters.get(name)
        times[name] = None
        if raw_time is not None:
            try:
                times[name] = parse_timestamp(raw_time)
            except ValueError as error:
                errors.append(f"'{name}' must be an ISO-8601 time with a time zone: {error}")
    start, end = times["from_time"], times["to_time"]
    if start is not None and end is not None and end < start:
        errors.append("'to_time' must not be before 'from_time'")
    if errors:
        raise InvalidQueryError(errors)
    query = HistoryQuery(
        account_id=account_id,
        limit=limit,
        from_version=lowest,
        to_version=highest,
        from_time=start,
        to_time=end,
    )
    cursor = parameters.get("cursor")
    if cursor is None:
        return query
    return replace(query, after_version=decode_cursor(cursor, account_id, query.filters()))


# --- Reads ---


def read_balance(client: Any, tables: Mapping[str, str], account_id: str) -> dict[str, Any] | None:
    """The account's balance document, or None for an account without events."""
    item = client.get_item(
        TableName=tables["projection"], Key={PROJECTION_PARTITION_KEY: {"S": account_id}}, ConsistentRead=True
    ).get("Item")
    if item is not None:
        return {
            "account_id": account_id,
            "balance": int(item["balance"]["N"]),
            "currency": item["currency"]["S"],
            "version": int(item["last_version"]["N"]),
            "last_event_id": item["last_event_id"]["S"],
            "last_occurred_at": item["last_occurred_at"]["S"],
            "source": "projection",
        }
    latest = latest_event(client, tables["events"], account_id)
    if latest is None:
        return None
    return {
        "account_id": account_id,
        "balance": latest.balance_after,
        "currency": latest.currency,
        "version": latest.version,
        "last_event_id": latest.event_id,
        "last_occurred_at": latest.occurred_at,
        "source": "event_store",
    }


def read_history(client: Any, table: str, query: HistoryQuery) -> HistoryPage | None:
    """One page of the account's events, newest first; None for an account without events."""
    lowest = query.from_version or 1
    highest = query.to_version
    if query.after_version is not None:
        highest = query.after_version - 1 if highest is None else min(highest, query.after_version - 1)
    if query.from_time is not None or query.to_time is not None:
        latest = latest_event(client, table, query.account_id)
        if latest is None:
            return None
        if query.from_time is not None:
            start = query.from_time
            lowest = max(lowest, first_version_where(client, table, latest, lambda moment: moment >= start))
        if query.to_time is not None:
            end = query.to_time
            last = first_version_where(client, table, latest, lambda moment: moment > end) - 1
            highest = last if highest is None else min(highest, last)
    events: list[LedgerEvent] = []
    if highest is None or lowest <= highest:
        events = _query_descending(client, table, query.account_id, lowest, highest, query.limit + 1)
    if not events and query.after_version is None and not _has_events(client, table, query.account_id):
        return None
    page = events[: query.limit]
    more = len(events) > query.limit
    return HistoryPage(events=page, next_cursor=encode_cursor(query, page[-1]) if more else None)


def _query_descending(
    client: Any, table: str, account_id: str, lowest: int, highest: int | None, count: int
) -> list[LedgerEvent]:
    values: dict[str, Any] = {":account": {"S": account_id}, ":lowest": {"N": str(lowest)}}
    condition = "account_id = :account AND version >= :lowest"
    if highest is not None:
        condition = "account_id = :account AND version BETWEEN :lowest AND :highest"
        values[":highest"] = {"N": str(highest)}
    request: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": condition,
        "ExpressionAttributeValues": values,
        "ScanIndexForward": False,
        "ConsistentRead": True,
        "Limit": count,
    }
    events: list[LedgerEvent] = []
    while len(events) < count:
        response = client.query(**request)
        events.extend(LedgerEvent.from_item(item) for item in response.get("Items", []))
        if "LastEvaluatedKey" not in response:
            break
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        request["Limit"] = count - len(events)
    return events[:count]


def _has_events(client: Any, table: str, account_id: str) -> bool:
    return latest_event(client, table, account_id) is not None


# --- Routes ---


def _tables() -> dict[str, str]:
    return {"events": require_env("EVENTS_TABLE_NAME"), "projection": require_env("PROJECTION_TABLE_NAME")}


def _account_problem(account_id: str) -> list[str]:
    return [] if is_valid_account_id(account_id) else [f"'account_id' must match {ACCOUNT_ID_PATTERN}"]


def _not_found(account_id: str) -> Response[str]:
    metrics.add_metric(name="UnknownAccountReads", unit=MetricUnit.Count, value=1)
    return json_response(404, {"code": "ACCOUNT_NOT_FOUND", "message": f"account {account_id} has no events"})


@app.get("/accounts/<account_id>/balance")
def get_balance(account_id: str) -> Response[str]:
    logger.append_keys(account_id=account_id)
    try:
        parameters = _single_values(app.current_event.raw_event)
    except InvalidQueryError as invalid:
        return malformed(invalid.errors)
    errors = _account_problem(account_id) + [
        f"unknown query parameter '{name}'" for name in sorted(parameters)
    ]
    if errors:
        return malformed(errors)
    balance = read_balance(dynamodb_client(), _tables(), account_id)
    if balance is None:
        return _not_found(account_id)
    metrics.add_metric(name="BalanceReads", unit=MetricUnit.Count, value=1)
    return json_response(200, balance)


@app.get("/accounts/<account_id>/transactions")
def get_history(account_id: str) -> Response[str]:
    logger.append_keys(account_id=account_id)
    if _account_problem(account_id):
        return malformed(_account_problem(account_id))
    try:
        query = parse_history_query(account_id, _single_values(app.current_event.raw_event))
    except InvalidQueryError as invalid:
        return malformed(invalid.errors)
    page = read_history(dynamodb_client(), _tables()["events"], query)
    if page is None:
        return _not_found(account_id)
    metrics.add_metric(name="HistoryReads", unit=MetricUnit.Count, value=1)
    return json_response(
        200,
        {
            "account_id": account_id,
            "items": [event.to_document() for event in page.events],
            "next_cursor": page.next_cursor,
        },
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
