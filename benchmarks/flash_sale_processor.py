"""Messages per second of the flash-sale processor's handler against moto, on this machine.

Run from the repository root::

    .venv/bin/python benchmarks/flash_sale_processor.py [--orders 2000] [--batch-size 10]

These are MOTO figures, not AWS figures. DynamoDB is emulated in-process: no network, no storage,
but moto's Python emulation of every call, which costs more CPU than the handler's own work
(parsing, schema validation, Powertools batch handling, logging, metrics). So the figures are
neither AWS throughput nor the handler's cost alone: read them to compare the paths (an accepted
order, a rejection, a duplicate) and to catch regressions in the processing path. They say nothing
about the hot-product ceiling of DynamoDB (about 500 transactional updates a second on one product
item; see the README).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# Settings the handler reads at import time: fake credentials (moto), quiet logs, no X-Ray.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "POWERTOOLS_SERVICE_NAME": "flash-sale-benchmark",
        "POWERTOOLS_METRICS_NAMESPACE": "Benchmark",
        "ORDERS_TABLE_NAME": "benchmark-orders",
        "PRODUCTS_TABLE_NAME": "benchmark-products",
        # Only transient failures touch the queue (none here); the processor needs its URL anyway.
        "ORDER_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/flash-sale-orders",
    }
)
os.environ.pop("AWS_PROFILE", None)
os.environ.pop("DAX_ENDPOINT", None)

import boto3  # type: ignore[import-untyped, unused-ignore]
from moto import mock_aws

from dbpatterns.handlers.flash_sale import processor

ORDERS_TABLE, PRODUCTS_TABLE = os.environ["ORDERS_TABLE_NAME"], os.environ["PRODUCTS_TABLE_NAME"]
ROUND = 100
"""Messages per round on fresh tables (a multiple of 2 keeps a message and its redelivery together)."""


@dataclass
class Context:
    """The attributes of a Lambda context that Powertools reads."""

    function_name: str = "flash-sale-benchmark"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:flash-sale-benchmark"
    aws_request_id: str = "benchmark"


def create_tables(dynamodb: Any, *, stock: int) -> None:
    for name, key in ((ORDERS_TABLE, "order_id"), (PRODUCTS_TABLE, "product_id")):
        dynamodb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    product = {"product_id": "gadget", "name": "Gadget", "price_cents": 1999, "stock": stock}
    dynamodb.put_item(
        TableName=PRODUCTS_TABLE,
        Item={
            name: {"N": str(value)} if isinstance(value, int) else {"S": value}
            for name, value in product.items()
        },
    )


def order_record() -> dict[str, Any]:
    """An SQS record carrying one valid order, as Lambda delivers it.

    Each order has its own customer (so the per-customer limit never applies) and carries the
    caller's identity the order API stamps on messages: that customer's session of the shop's role.
    """
    customer_id = f"c-{uuid.uuid4().hex[:12]}"
    body = json.dumps(
        {"order_id": str(uuid.uuid4()), "customer_id": customer_id, "product_id": "gadget", "quantity": 1}
    )
    caller = f"arn:aws:sts::123456789012:assumed-role/storefront-customer/{customer_id}"
    return {
        "messageId": str(uuid.uuid4()),
        "receiptHandle": "handle",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0", "SenderId": "benchmark"},
        "messageAttributes": {"caller_user_arn": {"stringValue": caller, "dataType": "String"}},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:flash-sale-orders",
        "awsRegion": "us-east-1",
    }


def run(
    name: str, orders: int, batch_size: int, *, stock: int, deliveries: Callable[[list[Any]], list[Any]]
) -> None:
    """Process ``orders`` order messages in batches and print the handler's messages per second.

    moto copies both tables on every transaction, so a transaction's cost grows with the table; to
    measure the handler rather than that copy, the orders run in rounds of ``ROUND`` messages,
    each on fresh tables (set up outside the timed part).
    """
    records = deliveries([order_record() for _ in range(orders)])
    context = Context()
    failures, elapsed = 0, 0.0
    sink = io.StringIO()  # Powertools prints EMF metrics to stdout
    for round_start in range(0, len(records), ROUND):
        round_records = records[round_start : round_start + ROUND]
        events = [
            {"Records": round_records[n : n + batch_size]} for n in range(0, len(round_records), batch_size)
        ]
        with mock_aws():
            create_tables(boto3.client("dynamodb", region_name="us-east-1"), stock=stock)
            processor.dependencies.cache_clear()
            started = time.perf_counter()
            with contextlib.redirect_stdout(sink):
                for event in events:
                    failures += len(processor.handler(event, context)["batchItemFailures"])
            elapsed += time.perf_counter() - started
    if failures:
        raise SystemExit(f"{name}: {failures} messages failed; the figure would be meaningless")
    print(f"{name:<46} {len(records):>7} {elapsed:>9.2f} {len(records) / elapsed:>12.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=2000, help="order messages per scenario (default 2000)")
    parser.add_argument("--batch-size", type=int, default=10, help="messages per Lambda event (default 10)")
    args = parser.parse_args()

    print("Flash-sale processor against moto (in-process emulation): NOT an AWS throughput figure.")
    print(f"{'scenario':<46} {'messages':>7} {'seconds':>9} {'messages/s':>12}")
    run("accepted (1 transaction each)", args.orders, args.batch_size, stock=10**9, deliveries=lambda rs: rs)
    run(
        "sold out (transaction + rejection each)",
        args.orders,
        args.batch_size,
        stock=0,
        deliveries=lambda rs: rs,
    )
    run(
        "each message delivered twice (half duplicates)",
        args.orders // 2,
        args.batch_size,
        stock=10**9,
        deliveries=lambda rs: [record for record in rs for _ in range(2)],
    )


if __name__ == "__main__":
    main()
