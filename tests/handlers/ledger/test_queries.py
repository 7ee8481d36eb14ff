"""The read side: an account's balance from the projection, its history from the event store."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dbpatterns.handlers.ledger import queries, sink
from dbpatterns.handlers.ledger._aws import dynamodb_client
from dbpatterns.handlers.ledger.events import EventType
from dbpatterns.handlers.ledger.schema import TransactionRequest
from dbpatterns.handlers.ledger.store import AppendCommand, append
from tests.handlers.ledger.conftest import Ledger
from tests.handlers.ledger.support import FakeLambdaContext, batch, records_for, rest_event

START = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
BALANCE = "/accounts/{account_id}/balance"
HISTORY = "/accounts/{account_id}/transactions"


def seed(ledger: Ledger, count: int, account_id: str = "acc-1") -> None:
    """A deposit of 100 * version, one minute apart from START."""
    for version in range(1, count + 1):
        append(
            dynamodb_client(),
            ledger.tables,
            AppendCommand(
                account_id=account_id,
                idempotency_key=f"query-seed-{version:04d}",
                request=TransactionRequest(type=EventType.DEPOSIT, amount=100 * version, currency="EUR"),
                default_correlation_id="seed",
            ),
            now=at(START + timedelta(minutes=version - 1)),
        )


def at(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment


def get(
    context: FakeLambdaContext, resource: str, account_id: str = "acc-1", **query: str
) -> tuple[int, dict[str, Any]]:
    event = rest_event("GET", resource, {"account_id": account_id}, query=query or None)
    response = queries.handler(event, context)
    return response["statusCode"], json.loads(response["body"])


def versions(body: dict[str, Any]) -> list[int]:
    return [item["version"] for item in body["items"]]


def test_balance_comes_from_the_projection_with_its_version(
    ledger: Ledger, lambda_context: FakeLambdaContext
) -> None:
    seed(ledger, 3)
    sink.handler(batch(records_for(ledger.dynamodb, ledger.events_table, ["acc-1"])[:2]), lambda_context)

    status, body = get(lambda_context, BALANCE)

    assert status == 200
    assert body == {
        "account_id": "acc-1",
        "balance": 300,
        "currency": "EUR",
        "version": 2,
        "last_event_id": ledger.event_items("acc-1")[1]["event_id"]["S"],
        "last_occurred_at": "2025-03-01T09:01:00.000Z",
        "source": "projection",
    }


def test_balance_of_an_account_not_projected_yet_comes_from_its_latest_event(
    ledger: Ledger, lambda_context: FakeLambdaContext
) -> None:
    seed(ledger, 2)

    status, body = get(lambda_context, BALANCE)

    assert status == 200
    assert (body["balance"], body["version"], body["source"]) == (300, 2, "event_store")


def test_balance_of_an_unknown_account_is_404(ledger: Ledger, lambda_context: FakeLambdaContext) -> None:
    status, body = get(lambda_context, BALANCE, "acc-nobody")

    assert status == 404
    assert body["code"] == "ACCOUNT_NOT_FOUND"


@pytest.mark.parametrize("resource", [BALANCE, HISTORY])
def test_rejects_a_malformed_account_id_with_400(
    ledger: Ledger, lambda_context: FakeLambdaContext, resource: str
) -> None:
    status, body = get(lambda_context, resource, "acc:1")

    assert (status, body["code"]) == (400, "MALFORMED_REQUEST")
    assert body["errors"][0].startswith("'account_id' must match")


def test_history_is_newest_first_and_paginated_with_an_opaque_cursor(
    ledger: Ledger, lambda_context: FakeLambdaContext
) -> None:
    seed(ledger, 5)

    status, first = get(lambda_context, HISTORY, limit="2")
    _, second = get(lambda_context, HISTORY, limit="2", cursor=first["next_cursor"])
    _, third = get(lambda_context, HISTORY, limit="2", cursor=second["next_cursor"])

    assert status == 200
    assert (versions(first), versions(second), versions(third)) == ([5, 4], [3, 2], [1])
    assert third["next_cursor"] is None
    assert first["items"][0]["balance_after"] == 1_500
    assert set(first["next_cursor"]) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    )


def test_history_reads_newest_first_from_the_event_store(
    ledger: Ledger, lambda_context: FakeLambdaContext
) -> None:
    seed(ledger, 3)
    queries_sent: list[dict[str, Any]] = []
    client = dynamodb_client()

    def record(params: dict[str, Any], **_: Any) -> None:
        queries_sent.append(params)

    client.meta.events.register("before-parameter-build.dynamodb.Query", record)
    try:
        get(lambda_context, HISTORY, limit="2")
    finally:
        client.meta.events.unregister("before-parameter-build.dynamodb.Query", record)

    [query] = queries_sent
    assert (query["ScanIndexForward"], query["ConsistentRead"], query["Limit"]) == (False, True, 3)


def test_page_that_ends_exactly_at_the_oldest_event_has_no_cursor(
    ledger: Ledger, lambda_context: FakeLambdaContext
) -> None:
    seed(ledger, 2)

    _, body = get(lambda_context, HISTORY, limit="2")

    assert (versions(body), body["next_cursor"]) == ([2, 1], None)


def test_history_filters_by_version_range(ledger: Ledger, lambda_context: FakeLambdaContext) -> None:
    seed(ledger, 6)

    _, first = get(lambda_context, HISTORY, from_version="2", to_version="5", limit="3")
    _, second = get(
        lambda_context, HISTORY, from_version="2", to_version="5", limit="3", cursor=first["next_cursor"]
    )

    assert (versions(first), versions(second), second["next_cursor"]) == ([5, 4, 3], [2], None)


def test_history_filters_by_time_range(ledger: Ledger, lambda_context: FakeLambdaContext) -> None:
    seed(ledger, 6)  # versions 1..6 at 09:00 .. 09:05

    _, body = get(
        lambda_context, HISTORY, from_time="2025-03-01T09:01:30Z", to_time="2025-03-01T10:04:00+01:00"
    )

    assert versions(body) == [5, 4, 3]


def test_history_combines_version_and_time_ranges(ledger: Ledger, lambda_context: FakeLambdaContext) -> None:
    seed(ledger, 6)

    _, body = get(lambda_context, HISTORY, from_time="2025-03-01T09:02:00Z", to_version="4")

    assert versions(body) == [4, 3]


def test_history_of_an_unknown_account_is_404(ledger: Ledger, lambda_context: FakeLambdaContext) -> None:
    status, body = get(lambda_context, HISTORY, "acc-nobody")

    assert (status, body["code"]) == (404, "ACCOUNT_NOT_FOUND")


def test_empty_range_of_a_known_account_is_an_empty_page(
    ledger: Ledger, lambda_context: FakeLambdaContext
) -> None:
    seed(ledger, 2)

    status, body = get(lambda_context, HISTORY, from_version="7")

    assert (status, body["items"], body["next_cursor"]) == (200, [], None)


def _cursor(document: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode().rstrip("=")


def _decoded(cursor: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    return document


def test_rejects_a_cursor_issued_for_another_account(
    ledger: Ledger, lambda_context: FakeLambdaContext
) -> None:
    seed(ledger, 3, "acc-1")
    seed(ledger, 3, "acc-2")
    _, page = get(lambda_context, HISTORY, "acc-1", limit="1")

    status, body = get(lambda_context, HISTORY, "acc-2", limit="1", cursor=page["next_cursor"])

    assert status == 400
    assert body["errors"] == ["'cursor' was issued for another account or query; start again without it"]


def test_rejects_a_cursor_edited_to_point_at_another_account(
    ledger: Ledger, lambda_context: FakeLambdaContext
) -> None:
    seed(ledger, 3, "acc-1")
    seed(ledger, 3, "acc-2")
    _, page = get(lambda_context, HISTORY, "acc-1", limit="1")
    forged = _decoded(page["next_cursor"])
    forged["key"]["account_id"]["S"] = "acc-2"

    status, body = get(lambda_context, HISTORY, "acc-2", limit="1", cursor=_cursor(forged))

    assert status == 400
    assert body["errors"][0].startswith("'cursor'")


def test_rejects_a_cursor_reused_with_other_filters(
    ledger: Ledger, lambda_context: FakeLambdaContext
) -> None:
    seed(ledger, 4)
    _, page = get(lambda_context, HISTORY, limit="1", from_version="2")

    status, body = get(lambda_context, HISTORY, limit="1", from_version="3", cursor=page["next_cursor"])

    assert status == 400
    assert "'cursor' was issued for another account or query" in body["errors"][0]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param({"limit": "0"}, "'limit' must be an integer from 1 to 100", id="limit-zero"),
        pytest.param({"limit": "101"}, "'limit' must be an integer from 1 to 100", id="limit-too-big"),
        pytest.param({"limit": "ten"}, "'limit' must be an integer from 1 to 100", id="limit-not-a-number"),
        pytest.param({"limit": "1.5"}, "'limit' must be an integer from 1 to 100", id="limit-fraction"),
        pytest.param({"from_version": "0"}, "'from_version' must be an integer >= 1", id="version-zero"),
        pytest.param({"to_version": "-3"}, "'to_version' must be an integer >= 1", id="negative-version"),
        pytest.param(
            {"from_version": "5", "to_version": "4"},
            "'to_version' must not be below 'from_version'",
            id="versions",
        ),
        pytest.param({"from_time": "yesterday"}, "'from_time' must be an ISO-8601 time", id="bad-time"),
        pytest.param(
            {"to_time": "2025-03-01T09:00:00"}, "'to_time' must be an ISO-8601 time", id="naive-time"
        ),
        pytest.param(
            {"from_time": "2025-03-02T00:00:00Z", "to_time": "2025-03-01T00:00:00Z"},
            "'to_time' must not be before 'from_time'",
            id="times",
        ),
        pytest.param({"cursor": "!!!"}, "'cursor' is not a cursor this API issued", id="garbage-cursor"),
        pytest.param(
            {"cursor": _cursor([1, 2])}, "'cursor' is not a cursor this API issued", id="json-cursor"
        ),
        pytest.param({"sort": "asc"}, "unknown query parameter 'sort'", id="unknown-parameter"),
    ],
)
def test_rejects_malformed_history_parameters_with_400_naming_the_field(
    ledger: Ledger, lambda_context: FakeLambdaContext, query: dict[str, str], expected: str
) -> None:
    seed(ledger, 1)

    status, body = get(lambda_context, HISTORY, **query)

    assert (status, body["code"]) == (400, "MALFORMED_REQUEST")
    assert any(error.startswith(expected) for error in body["errors"]), body["errors"]


def test_rejects_a_repeated_parameter_with_400(ledger: Ledger, lambda_context: FakeLambdaContext) -> None:
    event = rest_event("GET", HISTORY, {"account_id": "acc-1"}, query={"limit": "2"})
    event["multiValueQueryStringParameters"] = {"limit": ["2", "3"]}

    response = queries.handler(event, lambda_context)

    assert response["statusCode"] == 400
    assert json.loads(response["body"])["errors"] == ["'limit' appears more than once"]


def test_rejects_query_parameters_on_the_balance(ledger: Ledger, lambda_context: FakeLambdaContext) -> None:
    status, body = get(lambda_context, BALANCE, limit="2")

    assert status == 400
    assert body["errors"] == ["unknown query parameter 'limit'"]


def test_every_page_of_a_long_history_is_distinct_and_complete(
    ledger: Ledger, lambda_context: FakeLambdaContext
) -> None:
    seed(ledger, 23)
    seen: list[int] = []
    cursor: str | None = None
    for _ in range(10):
        query = {"limit": "5", **({"cursor": cursor} if cursor else {})}
        _, page = get(lambda_context, HISTORY, **query)
        seen += versions(page)
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == list(range(23, 0, -1))
