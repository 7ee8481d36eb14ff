"""Helpers for the ledger tests: API Gateway events, stream records, Lambda's retry loop."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

import boto3  # type: ignore[import-untyped, unused-ignore]
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer  # type: ignore[import-untyped, unused-ignore]

_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()
RECORDS_CREATED_AT = 1_735_689_600.0
"""ApproximateCreationDateTime of the records ``stream_record`` builds unless told otherwise."""
SHARD_ID = "shardId-00000001735689600000-0a1b2c3d"
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


@dataclass
class FakeClock:
    """Seconds since the epoch that a test moves forward by hand."""

    now: float

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def rest_event(
    method: str,
    resource: str,
    path_parameters: Mapping[str, str] | None = None,
    *,
    body: Any = None,
    raw_body: str | None = None,
    headers: Mapping[str, str] | None = None,
    query: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway REST proxy event for ``method resource`` (``resource`` with ``{name}``
    placeholders, filled from ``path_parameters``)."""
    path = resource
    for name, value in (path_parameters or {}).items():
        path = path.replace("{" + name + "}", value)
    all_headers = dict(headers or {})
    if body is not None or raw_body is not None:
        all_headers.setdefault("Content-Type", "application/json")
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {name: [value] for name, value in all_headers.items()},
        "queryStringParameters": dict(query) if query else None,
        "multiValueQueryStringParameters": {name: [value] for name, value in query.items()}
        if query
        else None,
        "pathParameters": dict(path_parameters) if path_parameters else None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/prod{path}",
            "stage": "prod",
            "requestId": str(uuid.uuid4()),
            "accountId": "123456789012",
            "apiId": "abcdef1234",
            "identity": {"sourceIp": "192.0.2.1"},
        },
        "body": raw_body if raw_body is not None else (json.dumps(body) if body is not None else None),
        "isBase64Encoded": False,
    }


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
    return rest_event(
        "POST",
        "/accounts/{account_id}/transactions",
        {"account_id": account_id},
        body=body if raw_body is None else None,
        raw_body=raw_body,
        headers=all_headers,
    )


def transfer_event(body: Any, *, idempotency_key: str | None = "transfer-0001") -> dict[str, Any]:
    """An API Gateway REST proxy event for POST /transfers."""
    headers = {"Content-Type": "application/json"}
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    return rest_event("POST", "/transfers", body=body, headers=headers)


def stream_record(
    image: Mapping[str, Any],
    *,
    sequence_number: int,
    event_name: str = "INSERT",
    created: float = RECORDS_CREATED_AT,
) -> dict[str, Any]:
    """A DynamoDB stream record as Lambda delivers it, from an item of Python values.

    ``image`` is an item as the boto3 resource API returns it (numbers as Decimal); it becomes the
    record's NewImage in DynamoDB JSON through boto3's TypeSerializer.
    """
    new_image = {name: _SERIALIZER.serialize(value) for name, value in image.items()}
    keys = {name: new_image[name] for name in ("account_id", "version")}
    dynamodb: dict[str, Any] = {
        "ApproximateCreationDateTime": created,
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


def stream_records_from(streams: Any, stream_arn: str) -> tuple[str, list[dict[str, Any]]]:
    """The stream's shard id and every record in it, as Lambda delivers them (real sequence numbers,
    so the on-failure messages a simulated mapping writes point at records the stream holds)."""
    [shard] = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records: list[dict[str, Any]] = []
    while True:
        page = streams.get_records(ShardIterator=iterator)
        if not page["Records"]:
            return shard["ShardId"], records
        for record in page["Records"]:
            dynamodb = dict(record["dynamodb"])
            dynamodb["ApproximateCreationDateTime"] = dynamodb["ApproximateCreationDateTime"].timestamp()
            records.append({**record, "dynamodb": dynamodb, "eventSourceARN": stream_arn})
        iterator = page["NextShardIterator"]


def send_failures(sqs: Any, queue_url: str, failures: Iterable[Mapping[str, Any]]) -> int:
    """Put on-failure messages on the queue, as Lambda's on-failure destination does."""
    count = 0
    for failure in failures:
        sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(failure))
        count += 1
    return count


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


@dataclass(frozen=True, slots=True, kw_only=True)
class MappingBounds:
    """How a Lambda event source mapping retries a stream batch before discarding it."""

    retry_attempts: int
    """Retries after the first invocation (-1: until the record expires)."""
    max_record_age_seconds: float
    """Records older than this are discarded without another invocation (-1: never)."""
    batch_size: int
    bisect_on_error: bool


def sink_mapping_bounds() -> MappingBounds:
    """The bounds ``LedgerStreamConsumers`` configures on both mappings, read from its props' defaults
    (the stack uses the defaults). Bisect-on-error is always on there (``_mapping`` sets it, and the
    stack test asserts ``BisectBatchOnFunctionError``)."""
    from dbpatterns.ledger.stream_consumers import LedgerStreamConsumersProps

    return MappingBounds(
        retry_attempts=_default(LedgerStreamConsumersProps, "retry_attempts"),
        max_record_age_seconds=_default(LedgerStreamConsumersProps, "max_record_age").to_seconds(),
        batch_size=_default(LedgerStreamConsumersProps, "batch_size"),
        bisect_on_error=True,
    )


def _default(cls: type, name: str) -> Any:
    [spec] = [candidate for candidate in dataclasses.fields(cls) if candidate.name == name]
    if spec.default is not dataclasses.MISSING:
        return spec.default
    if spec.default_factory is not dataclasses.MISSING:
        return spec.default_factory()
    raise AssertionError(f"{cls.__name__}.{name} has no default")


@dataclass(slots=True)
class Delivery:
    """What a simulated event source mapping did with the records it was given."""

    invocations: int
    failures: list[dict[str, Any]]
    """The on-failure destination's messages, as Lambda writes them: batch info, not records."""

    @property
    def discarded(self) -> int:
        return sum(int(message["DDBStreamBatchInfo"]["batchSize"]) for message in self.failures)


def deliver_like_lambda(
    handler: Callable[[dict[str, Any], Any], Any],
    records: Sequence[dict[str, Any]],
    context: Any,
    *,
    bounds: MappingBounds | None = None,
    now: float | None = None,
    seconds_per_invocation: float = 1.0,
    shard_id: str = SHARD_ID,
    max_invocations: int = 10_000,
) -> Delivery:
    """Invoke a stream handler the way a Lambda event source mapping with ReportBatchItemFailures
    does, within the mapping's real bounds (``sink_mapping_bounds()`` unless given).

    ``records`` is the shard from the checkpoint on. A batch is up to ``batch_size`` records. After a
    partial failure Lambda checkpoints before the first failed record and retries from there (with
    bisect on, the batch is split at that record); after a function error (every record failed, so
    Powertools raised) a batch of two or more records is bisected and the first half retried. Each
    failed invocation counts against ``retry_attempts``; once they are used up, or once the oldest
    record of the batch is older than ``max_record_age_seconds``, the batch is discarded and a
    failure message with its shard and sequence numbers goes to the on-failure destination.
    The clock starts at ``now`` (default: the newest record's ApproximateCreationDateTime) and moves
    ``seconds_per_invocation`` per invocation."""
    bounds = bounds or sink_mapping_bounds()
    shard = list(records)
    clock = now if now is not None else max((_created(record) for record in shard), default=0.0)
    delivery = Delivery(invocations=0, failures=[])
    checkpoint = 0
    while checkpoint < len(shard):
        current = shard[checkpoint : checkpoint + bounds.batch_size]
        failed_invocations = 0
        function_error = False
        while current:
            aged = 0
            while (
                aged < len(current)
                and bounds.max_record_age_seconds >= 0
                and clock - _created(current[aged]) > bounds.max_record_age_seconds
            ):
                aged += 1
            if aged:
                delivery.failures.append(
                    _failure_message(
                        current[:aged],
                        "RecordAgeExceeded",
                        invocations=failed_invocations,
                        function_error=function_error if failed_invocations else None,
                        at=clock,
                        context=context,
                        shard_id=shard_id,
                    )
                )
                checkpoint += aged
                current = current[aged:]
                continue
            if delivery.invocations >= max_invocations:
                raise AssertionError(f"records still failing after {max_invocations} invocations")
            delivery.invocations += 1
            clock += seconds_per_invocation
            try:
                response = handler(batch(current), context)
            except BatchProcessingError:
                first_failed, function_error = 0, True
            else:
                failed = {failure["itemIdentifier"] for failure in response["batchItemFailures"]}
                positions = [
                    index
                    for index, record in enumerate(current)
                    if record["dynamodb"]["SequenceNumber"] in failed
                ]
                if not positions:
                    checkpoint += len(current)
                    break
                first_failed, function_error = positions[0], False
            failed_invocations += 1
            checkpoint += first_failed
            current = current[first_failed:]
            if 0 <= bounds.retry_attempts < failed_invocations:
                delivery.failures.append(
                    _failure_message(
                        current,
                        "RetryAttemptsExhausted",
                        invocations=failed_invocations,
                        function_error=function_error,
                        at=clock,
                        context=context,
                        shard_id=shard_id,
                    )
                )
                checkpoint += len(current)
                break
            if function_error and bounds.bisect_on_error and len(current) > 1:
                current = current[: (len(current) + 1) // 2]
    return delivery


def _created(record: Mapping[str, Any]) -> float:
    return float(record["dynamodb"]["ApproximateCreationDateTime"])


def _iso(epoch: float, *, milliseconds: bool = True) -> str:
    moment = datetime.fromtimestamp(epoch, UTC)
    if not milliseconds:
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _failure_message(
    records: Sequence[Mapping[str, Any]],
    condition: str,
    *,
    invocations: int,
    function_error: bool | None,
    at: float,
    context: Any,
    shard_id: str,
) -> dict[str, Any]:
    """The document Lambda sends to a stream mapping's on-failure destination (SQS message body)."""
    message: dict[str, Any] = {
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": context.invoked_function_arn,
            "condition": condition,
            "approximateInvokeCount": invocations,
        },
        "version": "1.0",
        "timestamp": _iso(at),
        "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
            "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
            "approximateArrivalOfFirstRecord": _iso(_created(records[0]), milliseconds=False),
            "approximateArrivalOfLastRecord": _iso(_created(records[-1]), milliseconds=False),
            "batchSize": len(records),
            "streamArn": records[0]["eventSourceARN"],
        },
    }
    if function_error is not None:
        message["responseContext"] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if function_error:
            message["responseContext"]["functionError"] = "Unhandled"
    return message


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

    def __init__(self, events_table: str, *, limit: int | None = None, item: int = 0) -> None:
        self.events_table = events_table
        self.limit = limit
        self.item = item
        """Which put of the transaction to race (a transfer has one per account)."""
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
        item = dict(params["TransactItems"][self.item]["Put"]["Item"])
        account_id, version = item["account_id"]["S"], int(item["version"]["N"])
        balance = 0
        if version > 1:
            prior = client.get_item(
                TableName=self.events_table,
                Key={"account_id": {"S": account_id}, "version": {"N": str(version - 1)}},
                ConsistentRead=True,
            )["Item"]
            balance = int(prior["balance_after"]["N"])
        for transfer_field in ("transfer_id", "counterparty_account_id", "counterparty_version"):
            item.pop(transfer_field, None)
        item.update(
            event_id={"S": f"competitor-{uuid.uuid4().hex}"},
            type={"S": "DEPOSIT"},
            amount={"N": "1"},
            balance_after={"N": str(balance + 1)},
        )
        # A competing writer appends as the ledger does: only where the version is still free.
        client.put_item(
            TableName=self.events_table, Item=item, ConditionExpression="attribute_not_exists(account_id)"
        )
        self.writes += 1


@contextmanager
def failing_calls(
    client: Any,
    operation: str,
    should_fail: Callable[[dict[str, Any]], bool],
    *,
    code: str = "InternalServerError",
) -> Iterator[list[dict[str, Any]]]:
    """Make ``client``'s ``operation`` raise a ClientError ``code`` whenever ``should_fail(params)`` is
    true (an outage or throttling the SDK's own retries did not absorb). Yields the failed calls."""
    from botocore.exceptions import ClientError  # type: ignore[import-untyped, unused-ignore]

    failed: list[dict[str, Any]] = []
    service = client.meta.service_model.service_name

    def maybe_fail(params: dict[str, Any], **_: Any) -> None:
        if should_fail(params):
            failed.append(params)
            raise ClientError({"Error": {"Code": code, "Message": "injected by the test"}}, operation)

    event_name = f"before-parameter-build.{service}.{operation}"
    client.meta.events.register(event_name, maybe_fail)
    try:
        yield failed
    finally:
        client.meta.events.unregister(event_name, maybe_fail)


def emitted_metrics(output: str) -> dict[str, float]:
    """Sum of each metric in the CloudWatch embedded-metric-format blobs Powertools printed."""
    totals: dict[str, float] = {}
    for line in output.splitlines():
        try:
            blob = json.loads(line)
        except ValueError:
            continue
        if not isinstance(blob, dict) or "_aws" not in blob:
            continue
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                value = blob[metric["Name"]]
                values = value if isinstance(value, list) else [value]
                totals[metric["Name"]] = totals.get(metric["Name"], 0.0) + sum(float(v) for v in values)
    return totals
