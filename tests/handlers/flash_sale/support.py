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
ACCOUNT = "123456789012"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:flash-sale-orders"
CUSTOMER_ROLE = "storefront-customer"
"""Role a storefront assumes per shopper, with the shopper's customer id as the role session name."""
CALLER_ARN_ATTRIBUTE = "caller_user_arn"
"""Message attribute the API's SQS integration stamps with ``$context.identity.userArn``."""
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


def all_items(dynamodb: Any, table: str) -> dict[str, dict[str, Any]]:
    """Every item of the orders table (orders, conflicts, purchase counters) by key, as plain values."""
    items: dict[str, dict[str, Any]] = {}
    for page in dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        for item in page["Items"]:
            plain = {name: int(value["N"]) if "N" in value else value["S"] for name, value in item.items()}
            items[str(plain["order_id"])] = plain
    return items


def all_orders(dynamodb: Any, table: str) -> dict[str, dict[str, Any]]:
    """Every order item, keyed by order id, with plain Python values.

    Orders are the items whose key is a client's order id; the table's other items (conflict
    records, per-customer purchase counters) have a ``#`` in their key, which order ids cannot hold.
    """
    return {key: item for key, item in all_items(dynamodb, table).items() if "#" not in key}


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


def caller_arn(customer_id: str, *, role: str = CUSTOMER_ROLE) -> str:
    """The ``userArn`` API Gateway sees for a shopper's session of the storefront's customer role."""
    return f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{customer_id}"


def customer_in(body: str) -> str | None:
    """The ``customer_id`` of an order body, or None when the body has none (malformed input)."""
    try:
        payload = json.loads(body)
    except json.JSONDecodeError:
        return None
    customer = payload.get("customer_id") if isinstance(payload, dict) else None
    return customer if isinstance(customer, str) else None


def string_attribute(value: str) -> dict[str, Any]:
    """A message attribute as Lambda's SQS event shows it."""
    return {"stringValue": value, "stringListValues": [], "binaryListValues": [], "dataType": "String"}


def sqs_record(
    body: str,
    *,
    message_id: str | None = None,
    receive_count: int = 1,
    caller: str | None = "",
) -> dict[str, Any]:
    """One record of an SQS event as Lambda delivers it.

    ``caller`` is the caller's ``userArn`` that the API stamps on the message: by default the
    session of the customer the body names (what an honest storefront sends); None for a message
    without it (sent to the queue directly, not through the API).
    """
    if caller == "":
        customer = customer_in(body)
        caller = caller_arn(customer) if customer else None
    attributes = {} if caller is None else {CALLER_ARN_ATTRIBUTE: string_attribute(caller)}
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
        "messageAttributes": attributes,
        "md5OfBody": hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE_ARN,
        "awsRegion": REGION,
    }


def send_order(sqs: Any, queue_url: str, body: str, *, caller: str | None = "") -> dict[str, Any]:
    """Send ``body`` as the API's SQS integration does: the body, and the caller's ARN as an attribute.

    ``caller`` defaults to the session of the customer the body names; None sends no attribute.
    """
    if caller == "":
        customer = customer_in(body)
        caller = caller_arn(customer) if customer else None
    attributes = (
        {} if caller is None else {CALLER_ARN_ATTRIBUTE: {"DataType": "String", "StringValue": caller}}
    )
    sent: dict[str, Any] = sqs.send_message(
        QueueUrl=queue_url, MessageBody=body, MessageAttributes=attributes
    )
    return sent


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
            caller=None,
        )
        record["receiptHandle"] = message["ReceiptHandle"]
        record["messageAttributes"] = {
            name: string_attribute(value["StringValue"])
            for name, value in message.get("MessageAttributes", {}).items()
        }
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


class FakeDaxCluster:
    """Stands in for a DAX cluster and ``amazondax.AmazonDaxClient``, in front of a moto table.

    Like DAX's item cache it keeps what it read, including "no such item" (DAX caches negative
    answers), until the test changes it: ``cache`` maps product ids to the cached item or None.
    ``failure`` makes every read raise it (a hung or broken node); ``creation_failure`` makes creating
    a client raise it (no reachable node). Clients have no write methods: a write through DAX fails.
    """

    def __init__(self, backing: Any) -> None:
        self.backing = backing
        self.cache: dict[str, dict[str, Any] | None] = {}
        self.failure: Exception | None = None
        self.creation_failure: Exception | None = None
        self.clients_created: list[dict[str, Any]] = []
        self.reads: list[dict[str, Any]] = []

    def client(self, **kwargs: Any) -> FakeDaxClient:
        """What ``AmazonDaxClient(**kwargs)`` returns."""
        self.clients_created.append(kwargs)
        if self.creation_failure is not None:
            raise self.creation_failure
        return FakeDaxClient(self)


class FakeDaxClient:
    def __init__(self, cluster: FakeDaxCluster) -> None:
        self._cluster = cluster

    def get_item(self, **kwargs: Any) -> Any:
        cluster = self._cluster
        cluster.reads.append(kwargs)
        if cluster.failure is not None:
            raise cluster.failure
        key = kwargs["Key"]["product_id"]["S"]
        if key not in cluster.cache:
            uncached = {name: value for name, value in kwargs.items() if name != "ConsistentRead"}
            cluster.cache[key] = cluster.backing.get_item(**uncached).get("Item")
        item = cluster.cache[key]
        return {} if item is None else {"Item": item}
