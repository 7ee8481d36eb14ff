"""Helpers shared by the flash-sale tests: tables, SQS events, Lambda context, call counting, metrics."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

from dbpatterns.handlers.flash_sale.orders import OrderTables

REGION = "us-east-1"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:123456789012:flash-sale-orders"
WRITE_OPERATIONS = frozenset(
    {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems", "ExecuteStatement"}
)


def create_tables(dynamodb: Any, tables: OrderTables) -> None:
    """Create the orders and products tables with the key schema the construct deploys."""
    for name, key in ((tables.orders, "order_id"), (tables.products, "product_id")):
        dynamodb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )


def put_product(
    dynamodb: Any, table: str, product_id: str, *, stock: int, name: str = "Gadget", price_cents: int = 1999
) -> None:
    dynamodb.put_item(
        TableName=table,
        Item={
            "product_id": {"S": product_id},
            "name": {"S": name},
            "price_cents": {"N": str(price_cents)},
            "stock": {"N": str(stock)},
        },
    )


def stock_of(dynamodb: Any, table: str, product_id: str) -> int:
    item = dynamodb.get_item(TableName=table, Key={"product_id": {"S": product_id}}, ConsistentRead=True)
    return int(item["Item"]["stock"]["N"])


def all_orders(dynamodb: Any, table: str) -> dict[str, dict[str, Any]]:
    """Every order item, keyed by order id, with plain Python values."""
    orders: dict[str, dict[str, Any]] = {}
    for page in dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        for item in page["Items"]:
            plain = {name: int(value["N"]) if "N" in value else value["S"] for name, value in item.items()}
            orders[str(plain["order_id"])] = plain
    return orders


def order_body(
    *,
    order_id: str | None = None,
    customer_id: str = "customer-1",
    product_id: str = "gadget",
    quantity: int = 1,
) -> str:
    """A valid ``POST /orders`` body, as the client sends it (and as API Gateway enqueues it)."""
    return json.dumps(
        {
            "order_id": order_id or str(uuid.uuid4()),
            "customer_id": customer_id,
            "product_id": product_id,
            "quantity": quantity,
        }
    )


def sqs_record(body: str, *, message_id: str | None = None, receive_count: int = 1) -> dict[str, Any]:
    """One record of an SQS event as Lambda delivers it."""
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": f"handle-{uuid.uuid4()}",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": "1767225600000",
            "SenderId": "AROAEXAMPLE",
            "ApproximateFirstReceiveTimestamp": "1767225600001",
        },
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE_ARN,
        "awsRegion": REGION,
    }


def sqs_event(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


def event_from_received(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The Lambda event for messages received from a (moto) queue, as the event source mapping builds it."""
    records = []
    for message in messages:
        record = sqs_record(
            message["Body"],
            message_id=message["MessageId"],
            receive_count=int(message["Attributes"]["ApproximateReceiveCount"]),
        )
        record["receiptHandle"] = message["ReceiptHandle"]
        records.append(record)
    return {"Records": records}


def failed_message_ids(response: dict[str, Any]) -> set[str]:
    return {failure["itemIdentifier"] for failure in response["batchItemFailures"]}


@dataclass
class FakeLambdaContext:
    function_name: str = "flash-sale-processor"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:flash-sale-processor"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


class CallCounter:
    """Counts DynamoDB API calls of one client, by operation, with botocore's ``before-call`` event.

    ``before-call`` fires once per API call, before botocore's own retries, so a retried request
    counts once: what is counted is the calls the code makes.
    """

    def __init__(self, client: Any) -> None:
        self.calls: Counter[str] = Counter()
        client.meta.events.register("before-call.dynamodb", self._count)

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    @property
    def writes(self) -> int:
        return sum(count for operation, count in self.calls.items() if operation in WRITE_OPERATIONS)

    def reset(self) -> None:
        self.calls.clear()


def emitted_metrics(stdout: str) -> Counter[str]:
    """Sum of every metric value in the CloudWatch EMF lines Powertools printed to stdout."""
    totals: Counter[str] = Counter()
    for line in stdout.splitlines():
        if not line.startswith("{"):
            continue
        document = json.loads(line)
        if "_aws" not in document:
            continue
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                value = document[metric["Name"]]
                totals[metric["Name"]] += int(sum(value) if isinstance(value, list) else value)
    return totals
