"""Property: concurrent orders for more than the stock never oversell, whatever the interleaving.

Several threads play concurrent Lambda invocations and process shuffled deliveries, redeliveries
included, through the production per-message path (``processor.process_record``). They share one
moto client behind a lock, so that each DynamoDB API call is atomic, as it is in DynamoDB, while the
threads interleave freely between calls: between reading the product, the transaction and the
rejection of one delivery, other deliveries run.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3  # type: ignore[import-untyped, unused-ignore]
import pytest
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from hypothesis import given, settings
from hypothesis import strategies as st
from moto import mock_aws

from dbpatterns.handlers.flash_sale import processor
from dbpatterns.handlers.flash_sale.orders import OrderResult, OrderTables, Outcome
from dbpatterns.handlers.flash_sale.schema import MAX_QUANTITY
from dbpatterns.handlers.flash_sale.settings import Settings
from tests.flash_sale.support import (
    REGION,
    all_orders,
    create_tables,
    order_body,
    put_product,
    sqs_record,
    stock_of,
)


@pytest.fixture(scope="module")
def moto_dynamodb() -> Iterator[Any]:
    """One moto account for all examples (starting one per example costs more than the example)."""
    with mock_aws():
        yield boto3.client("dynamodb", region_name=REGION)


class AtomicCalls:
    """One client shared by threads, each API call atomic (as DynamoDB serializes writes to an item)."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._lock = threading.Lock()

    @property
    def exceptions(self) -> Any:
        return self._client.exceptions

    def _call(self, operation: str, kwargs: dict[str, Any]) -> Any:
        with self._lock:
            response = getattr(self._client, operation)(**kwargs)
        time.sleep(0)  # let another thread run between two calls of this one
        return response

    def get_item(self, **kwargs: Any) -> Any:
        return self._call("get_item", kwargs)

    def put_item(self, **kwargs: Any) -> Any:
        return self._call("put_item", kwargs)

    def transact_write_items(self, **kwargs: Any) -> Any:
        try:
            return self._call("transact_write_items", kwargs)
        finally:
            time.sleep(0)


@settings(max_examples=30, deadline=None)
@given(
    initial_stock=st.integers(min_value=0, max_value=30),
    quantities=st.lists(st.integers(min_value=1, max_value=MAX_QUANTITY), min_size=1, max_size=15),
    redelivered=st.lists(st.integers(min_value=0, max_value=14), max_size=8),
    workers=st.integers(min_value=2, max_value=4),
    shuffler=st.randoms(use_true_random=False),
)
def test_concurrent_orders_never_oversell(
    moto_dynamodb: Any,
    initial_stock: int,
    quantities: list[int],
    redelivered: list[int],
    workers: int,
    shuffler: random.Random,
) -> None:
    records = [
        sqs_record(order_body(order_id=f"order-{n:04d}", quantity=quantity), message_id=f"message-{n}")
        for n, quantity in enumerate(quantities)
    ]
    deliveries = records + [records[n % len(records)] for n in redelivered]
    shuffler.shuffle(deliveries)

    example = uuid.uuid4().hex
    tables = OrderTables(orders=f"orders-{example}", products=f"products-{example}")
    create_tables(moto_dynamodb, tables)
    put_product(moto_dynamodb, tables.products, "gadget", stock=initial_stock)
    shared = AtomicCalls(moto_dynamodb)
    deps = processor.Dependencies(
        settings=Settings(
            orders_table_name=tables.orders, products_table_name=tables.products, dax_endpoint=None
        ),
        dynamodb=shared,
        products=shared,
    )
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results: list[OrderResult] = list(
                pool.map(lambda record: processor.process_record(SQSRecord(record), deps), deliveries)
            )
        final_stock = stock_of(moto_dynamodb, tables.products, "gadget")
        stored = all_orders(moto_dynamodb, tables.orders)
    finally:
        processor.metrics.clear_metrics()
        for table in (tables.orders, tables.products):
            moto_dynamodb.delete_table(TableName=table)

    quantity_of = {f"order-{n:04d}": quantity for n, quantity in enumerate(quantities)}
    decisions: dict[str, list[Outcome]] = defaultdict(list)
    for result in results:
        if result.outcome is not Outcome.DUPLICATE:
            decisions[result.order_id].append(result.outcome)
    accepted_units = sum(
        quantity_of[order_id] for order_id, [outcome] in decisions.items() if outcome is Outcome.ACCEPTED
    )

    # Every order ends accepted or rejected exactly once, whatever the redeliveries.
    assert {order_id: len(outcomes) for order_id, outcomes in decisions.items()} == dict.fromkeys(
        quantity_of, 1
    )
    assert Counter(result.outcome for result in results)[Outcome.DUPLICATE] == len(deliveries) - len(records)
    assert {order_id: order["status"] for order_id, order in stored.items()} == {
        order_id: outcome.value for order_id, [outcome] in decisions.items()
    }
    # No overselling, and the stock tells exactly what was sold.
    assert accepted_units <= initial_stock
    assert final_stock == initial_stock - accepted_units >= 0
    # No needless rejection: stock only goes down, so a rejected order wanted more than what is left.
    for order_id, [outcome] in decisions.items():
        if outcome is Outcome.REJECTED:
            assert quantity_of[order_id] > final_stock
            assert stored[order_id]["rejection_reason"] == "OUT_OF_STOCK"
