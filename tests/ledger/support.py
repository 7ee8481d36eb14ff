"""Helpers for the ledger tests: API Gateway events, stream records, Lambda's retry loop."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any

import boto3  # type: ignore[import-untyped, unused-ignore]
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer  # type: ignore[import-untyped, unused-ignore]

_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()
STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/ledger-events/stream/2025-01-01T00:00:00.000"


@dataclass
class FakeLambdaContext:
    function_name: str = "ledger-test"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:ledger-test"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    log_group_name: str = "/aws/lambda/ledger-test"
    log_stream_name: str = "stream"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def api_event(
    account_id: str,
    body: Any,
    *,
    idempotency_key: str | None = "key-00000001",
    raw_body: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway REST proxy event for POST /accounts/{account_id}/transactions."""
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    if idempotency_key is not None:
        all_headers["Idempotency-Key"] = idempotency_key
    path = f"/accounts/{account_id}/transactions"
    return {
        "resource": "/accounts/{account_id}/transactions",
        "path": path,
        "httpMethod": "POST",
        "headers": all_headers,
        "multiValueHeaders": {name: [value] for name, value in all_headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"account_id": account_id},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/accounts/{account_id}/transactions",
            "httpMethod": "POST",
            "path": f"/prod{path}",
            "stage": "prod",
            "requestId": str(uuid.uuid4()),
            "accountId": "123456789012",
            "apiId": "abcdef1234",
            "identity": {"sourceIp": "192.0.2.1"},
        },
        "body": raw_body if raw_body is not None else json.dumps(body),
        "isBase64Encoded": False,
    }


def stream_record(
    image: Mapping[str, Any], *, sequence_number: int, event_name: str = "INSERT"
) -> dict[str, Any]:
    """A DynamoDB stream record as Lambda delivers it, from an item of Python values.

    ``image`` is an item as the boto3 resource API returns it (numbers as Decimal); it becomes the
    record's NewImage in DynamoDB JSON through boto3's TypeSerializer.
    """
    new_image = {name: _SERIALIZER.serialize(value) for name, value in image.items()}
    keys = {name: new_image[name] for name in ("account_id", "version")}
    dynamodb: dict[str, Any] = {
        "ApproximateCreationDateTime": 1_735_689_600,
        "Keys": keys,
        "SequenceNumber": f"{sequence_number:021d}",
        "SizeBytes": 256,
        "StreamViewType": "NEW_IMAGE",
    }
    if event_name != "REMOVE":
        dynamodb["NewImage"] = new_image
    return {
        "eventID": uuid.uuid4().hex,
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": dynamodb,
        "eventSourceARN": STREAM_ARN,
    }


def python_items(client: Any, table: str, account_id: str) -> list[dict[str, Any]]:
    """The account's event items in version order, as Python values (Decimal numbers)."""
    response = client.query(
        TableName=table,
        KeyConditionExpression="account_id = :a",
        ExpressionAttributeValues={":a": {"S": account_id}},
        ConsistentRead=True,
    )
    return [
        {name: _DESERIALIZER.deserialize(value) for name, value in item.items()} for item in response["Items"]
    ]


def records_for(client: Any, table: str, account_ids: Iterable[str]) -> list[dict[str, Any]]:
    """Stream records for the accounts' events, in write order per account."""
    records: list[dict[str, Any]] = []
    for account_id in account_ids:
        for item in python_items(client, table, account_id):
            records.append(stream_record(item, sequence_number=len(records) + 1))
    return records


def batch(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {"Records": list(records)}


def deliver_like_lambda(
    handler: Callable[[dict[str, Any], Any], Any],
    records: Sequence[dict[str, Any]],
    context: Any,
    *,
    max_rounds: int = 50,
) -> int:
    """Invoke a stream handler as a Lambda event source mapping with ReportBatchItemFailures does:
    after a partial failure the next batch starts at the first failed record; after an error (the
    whole batch failed) the same batch comes again. Returns the number of invocations."""
    pending = list(records)
    for round_number in range(1, max_rounds + 1):
        if not pending:
            return round_number - 1
        try:
            response = handler(batch(pending), context)
        except BatchProcessingError:
            continue  # every record failed: Lambda retries the same batch
        failed = {failure["itemIdentifier"] for failure in response["batchItemFailures"]}
        positions = [
            index for index, record in enumerate(pending) if record["dynamodb"]["SequenceNumber"] in failed
        ]
        pending = pending[positions[0] :] if positions else []
    raise AssertionError(f"records still failing after {max_rounds} deliveries")


def matches_filter(pattern: Mapping[str, Any], record: Mapping[str, Any]) -> bool:
    """Lambda event filtering for the subset of the syntax the ledger uses: nested objects whose
    leaves are lists of exact string values."""
    for name, expected in pattern.items():
        if name not in record:
            return False
        actual = record[name]
        if isinstance(expected, Mapping):
            if not isinstance(actual, Mapping) or not matches_filter(expected, actual):
                return False
        elif isinstance(expected, list):
            if not all(isinstance(value, str) for value in expected):
                raise NotImplementedError(f"only exact string matches are supported, got {expected!r}")
            if actual not in expected:
                return False
        else:
            raise NotImplementedError(f"unsupported filter syntax {expected!r}")
    return True


@cache
def _competitor_client() -> Any:
    return boto3.client("dynamodb")


class CompetingWriter:
    """Another writer that takes the version a transaction is about to write, just before it is sent.

    Registered as a botocore hook on the client under test; it writes through a separate client,
    so its own writes do not trigger it. ``limit`` bounds how many transactions it races.
    """

    def __init__(self, events_table: str, *, limit: int | None = None) -> None:
        self.events_table = events_table
        self.limit = limit
        self.writes = 0

    @contextmanager
    def racing(self, client: Any) -> Iterator[CompetingWriter]:
        event_name = "before-parameter-build.dynamodb.TransactWriteItems"
        client.meta.events.register(event_name, self)
        try:
            yield self
        finally:
            client.meta.events.unregister(event_name, self)

    def __call__(self, params: dict[str, Any], **_: Any) -> None:
        if self.limit is not None and self.writes >= self.limit:
            return
        client = _competitor_client()
        item = dict(params["TransactItems"][0]["Put"]["Item"])
        account_id, version = item["account_id"]["S"], int(item["version"]["N"])
        balance = 0
        if version > 1:
            prior = client.get_item(
                TableName=self.events_table,
                Key={"account_id": {"S": account_id}, "version": {"N": str(version - 1)}},
                ConsistentRead=True,
            )["Item"]
            balance = int(prior["balance_after"]["N"])
        item.update(
            event_id={"S": f"competitor-{uuid.uuid4().hex}"},
            type={"S": "DEPOSIT"},
            amount={"N": "1"},
            balance_after={"N": str(balance + 1)},
        )
        client.put_item(TableName=self.events_table, Item=item)
        self.writes += 1
