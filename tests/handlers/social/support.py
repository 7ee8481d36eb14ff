"""Helpers for the social handler tests: the table in moto, API Gateway events, a fake clock, and
serialized request handling for the concurrency tests."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from moto.core.botocore_stubber import BotocoreStubber

from dbpatterns.handlers.social import keys

TABLE = "social-test"
REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-1")


class FakeClock:
    """Seconds since the epoch that tests move by hand."""

    def __init__(self, start: float = 1_750_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def create_table(client: Any, name: str = TABLE) -> str:
    """The social table as the construct defines it: pk/sk, the Timeline GSI (projection ALL), TTL."""
    client.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": keys.PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": keys.SORT_KEY, "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": attribute, "AttributeType": "S"}
            for attribute in (
                keys.PARTITION_KEY,
                keys.SORT_KEY,
                keys.TIMELINE_PARTITION_KEY,
                keys.TIMELINE_SORT_KEY,
            )
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": keys.TIMELINE_INDEX,
                "KeySchema": [
                    {"AttributeName": keys.TIMELINE_PARTITION_KEY, "KeyType": "HASH"},
                    {"AttributeName": keys.TIMELINE_SORT_KEY, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    client.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": keys.TTL_ATTRIBUTE}
    )
    return name


@contextmanager
def atomic_requests() -> Iterator[None]:
    """Make moto apply each request atomically, as DynamoDB does.

    DynamoDB evaluates a conditional write or a transaction and applies it as one step; moto runs
    requests from several threads without a lock, so two threads could both pass a condition inside
    moto. Serializing moto's handling of each request restores the service's guarantee while the
    code under test still interleaves freely *between* requests.
    """
    lock = threading.Lock()
    original = BotocoreStubber.__call__

    def locked(self: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> Any:
        with lock:
            return original(self, event_name, request, **kwargs)

    BotocoreStubber.__call__ = locked  # type: ignore[method-assign]
    try:
        yield
    finally:
        BotocoreStubber.__call__ = original  # type: ignore[method-assign]


def api_event(
    method: str,
    path: str,
    *,
    body: Any = None,
    raw_body: str | None = None,
    token: str | None = None,
    query: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway REST proxy event (Powertools routes on ``path``)."""
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    if token is not None:
        all_headers["Authorization"] = f"Bearer {token}"
    if raw_body is None and body is not None:
        raw_body = json.dumps(body)
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {name: [value] for name, value in all_headers.items()},
        "queryStringParameters": dict(query) if query else None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": method,
            "path": f"/v1{path}",
            "stage": "v1",
            "requestId": str(uuid.uuid4()),
            "accountId": "123456789012",
            "apiId": "abcdef1234",
            "identity": {"sourceIp": "192.0.2.1"},
        },
        "body": raw_body,
        "isBase64Encoded": False,
    }
