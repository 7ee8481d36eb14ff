"""Reading products through DAX without letting the cache decide anything permanent.

A cache may only save reads: unknown product and sold out are decided by DynamoDB, the price charged
is the price DynamoDB holds when the stock is taken, and a sick DAX costs at most a few seconds
before reads go straight to DynamoDB.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from dbpatterns.handlers.flash_sale import processor
from dbpatterns.handlers.flash_sale.orders import OrderTables
from dbpatterns.handlers.flash_sale.settings import DAX_ENDPOINT_ENV
from tests.handlers.flash_sale.support import (
    CallCounter,
    FakeDaxCluster,
    FakeLambdaContext,
    all_orders,
    emitted_metrics,
    order_body,
    put_product,
    sqs_event,
    sqs_record,
    stock_of,
)


def invoke(context: FakeLambdaContext, *records: dict[str, Any]) -> Any:
    return processor.handler(sqs_event(*records), context)


class ReadRecorder:
    """Records the parameters of the GetItem calls a client makes."""

    def __init__(self, client: Any) -> None:
        self.requests: list[dict[str, Any]] = []
        client.meta.events.register("provide-client-params.dynamodb.GetItem", self._record)

    def _record(self, params: dict[str, Any], **_: Any) -> None:
        self.requests.append(params)


def test_product_the_cache_says_is_missing_is_read_from_dynamodb_and_sold(
    dynamodb: Any, processor_env: OrderTables, dax: FakeDaxCluster, lambda_context: FakeLambdaContext
) -> None:
    # DAX read the product before it was loaded for the sale and caches the negative answer.
    dax.cache["gadget"] = None
    put_product(dynamodb, processor_env.products, "gadget", stock=5, price_cents=1999)
    reads = ReadRecorder(processor.dependencies().dynamodb)

    response = invoke(lambda_context, sqs_record(order_body(order_id="order-0001")))

    assert response == {"batchItemFailures": []}
    assert all_orders(dynamodb, processor_env.orders)["order-0001"]["status"] == "ACCEPTED"
    assert stock_of(dynamodb, processor_env.products, "gadget") == 4
    assert [request["ConsistentRead"] for request in reads.requests] == [True]


def test_unknown_product_is_decided_by_a_consistent_read_not_by_the_cache(
    dynamodb: Any,
    processor_env: OrderTables,
    dax: FakeDaxCluster,
    lambda_context: FakeLambdaContext,
    capsys: pytest.CaptureFixture[str],
) -> None:
    reads = ReadRecorder(processor.dependencies().dynamodb)

    response = invoke(lambda_context, sqs_record(order_body(order_id="order-0001", product_id="nothing")))

    assert response == {"batchItemFailures": []}
    order = all_orders(dynamodb, processor_env.orders)["order-0001"]
    assert (order["status"], order["rejection_reason"]) == ("REJECTED", "UNKNOWN_PRODUCT")
    assert [(r["Key"], r["ConsistentRead"]) for r in reads.requests] == [
        ({"product_id": {"S": "nothing"}}, True)
    ]
    assert emitted_metrics(capsys.readouterr().out)["ProductCacheMisses"] == 1


def test_stale_cached_price_is_not_charged(
    dynamodb: Any,
    processor_env: OrderTables,
    dax: FakeDaxCluster,
    lambda_context: FakeLambdaContext,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tables = processor_env
    put_product(dynamodb, tables.products, "gadget", stock=5, name="Gadget", price_cents=1999)
    invoke(lambda_context, sqs_record(order_body(order_id="order-0001")))  # DAX now caches 1999
    put_product(dynamodb, tables.products, "gadget", stock=4, name="Gadget", price_cents=999)  # price cut

    response = invoke(lambda_context, sqs_record(order_body(order_id="order-0002", quantity=2)))

    assert response == {"batchItemFailures": []}
    order = all_orders(dynamodb, tables.orders)["order-0002"]
    assert (order["status"], order["unit_price_cents"], order["total_cents"]) == ("ACCEPTED", 999, 1998)
    assert stock_of(dynamodb, tables.products, "gadget") == 2
    assert emitted_metrics(capsys.readouterr().out)["StalePriceRetries"] == 1


def test_erroring_dax_falls_back_to_dynamodb_and_opens_the_breaker(
    dynamodb: Any,
    processor_env: OrderTables,
    dax: FakeDaxCluster,
    lambda_context: FakeLambdaContext,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tables = processor_env
    put_product(dynamodb, tables.products, "gadget", stock=50)
    dax.failure = TimeoutError("timed out reading from the DAX node")
    counter = CallCounter(processor.dependencies().dynamodb)

    records = [sqs_record(order_body(order_id=f"order-{n:04d}")) for n in range(6)]
    response = invoke(lambda_context, *records)

    assert response == {"batchItemFailures": []}
    assert {order["status"] for order in all_orders(dynamodb, tables.orders).values()} == {"ACCEPTED"}
    assert stock_of(dynamodb, tables.products, "gadget") == 44
    assert len(dax.reads) == 3, "the breaker opens after 3 failures: later reads skip DAX"
    assert counter.calls["GetItem"] == 6, "every product read went to DynamoDB"
    metrics = emitted_metrics(capsys.readouterr().out)
    assert metrics["ProductCacheFailures"] == 3
    assert metrics["ProductCacheBypassed"] == 3


def test_unreachable_dax_at_start_falls_back_to_dynamodb(
    dynamodb: Any, processor_env: OrderTables, dax: FakeDaxCluster, lambda_context: FakeLambdaContext
) -> None:
    tables = processor_env
    put_product(dynamodb, tables.products, "gadget", stock=5)
    dax.creation_failure = ConnectionError("Failed to configure cluster endpoints")

    response = invoke(lambda_context, sqs_record(order_body(order_id="order-0001")))

    assert response == {"batchItemFailures": []}
    assert all_orders(dynamodb, tables.orders)["order-0001"]["status"] == "ACCEPTED"


def test_dax_client_waits_seconds_not_minutes(dax: FakeDaxCluster, lambda_context: FakeLambdaContext) -> None:
    invoke(lambda_context, sqs_record(order_body(order_id="order-0001", product_id="nothing")))

    [kwargs] = dax.clients_created
    config = kwargs["config"]
    assert config.connect_timeout <= 1
    assert config.read_timeout <= 1
    assert config.retries["max_attempts"] == 0, "DynamoDB is the retry, not another DAX node"


@pytest.fixture
def hung_dax_node() -> Iterator[str]:
    """A TCP server on 127.0.0.1 that accepts connections and never answers: a hung DAX node."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"daxs://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    server.close()


def test_real_dax_client_against_a_hung_node_gives_up_within_seconds(
    dynamodb: Any,
    processor_env: OrderTables,
    hung_dax_node: str,
    lambda_context: FakeLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # amazon-dax-client itself, with botocore's default 60 s timeouts, waits a minute for this node.
    put_product(dynamodb, processor_env.products, "gadget", stock=5)
    monkeypatch.setenv(DAX_ENDPOINT_ENV, hung_dax_node)
    processor.dependencies.cache_clear()

    started = time.monotonic()
    response = invoke(lambda_context, sqs_record(order_body(order_id="order-0001")))
    elapsed = time.monotonic() - started

    assert response == {"batchItemFailures": []}
    assert all_orders(dynamodb, processor_env.orders)["order-0001"]["status"] == "ACCEPTED"
    assert elapsed < 5, f"a hung DAX node held the order for {elapsed:.1f} s"
