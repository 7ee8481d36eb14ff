"""A per-customer limit per product, enforced in the order's own transaction."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from dbpatterns.handlers.flash_sale import processor
from dbpatterns.handlers.flash_sale.orders import OrderTables
from tests.handlers.flash_sale.support import (
    FakeLambdaContext,
    all_orders,
    emitted_metrics,
    order_body,
    put_product,
    sqs_event,
    sqs_record,
    stock_of,
)


def test_one_customer_cannot_buy_the_whole_stock(
    dynamodb: Any,
    processor_env: OrderTables,
    lambda_context: FakeLambdaContext,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The review's case: ten orders of ten units by one customer for a stock of 100.
    put_product(dynamodb, processor_env.products, "gadget", stock=100)
    records = [
        sqs_record(order_body(order_id=f"order-{n:04d}", customer_id="alice", quantity=10)) for n in range(10)
    ]

    response = processor.handler(sqs_event(*records), lambda_context)

    assert response == {"batchItemFailures": []}
    orders = all_orders(dynamodb, processor_env.orders)
    outcomes = Counter((order["status"], order.get("rejection_reason")) for order in orders.values())
    assert outcomes == {("ACCEPTED", None): 1, ("REJECTED", "CUSTOMER_LIMIT"): 9}
    assert stock_of(dynamodb, processor_env.products, "gadget") == 90
    assert emitted_metrics(capsys.readouterr().out)["OrdersRejected"] == 9


def test_limit_counts_units_across_orders_and_is_per_customer_and_product(
    dynamodb: Any,
    processor_env: OrderTables,
    lambda_context: FakeLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MAX_UNITS_PER_CUSTOMER", "3")
    processor.dependencies.cache_clear()
    for product_id in ("gadget", "widget"):
        put_product(dynamodb, processor_env.products, product_id, stock=100)

    def order(order_id: str, customer: str, product: str, quantity: int) -> dict[str, Any]:
        return sqs_record(
            order_body(order_id=order_id, customer_id=customer, product_id=product, quantity=quantity)
        )

    processor.handler(
        sqs_event(
            order("alice-0001", "alice", "gadget", 2),
            order("alice-0002", "alice", "gadget", 2),  # 2 + 2 > 3
            order("alice-0003", "alice", "gadget", 1),  # 2 + 1 = 3: still allowed
            order("alice-0004", "alice", "widget", 3),  # another product has its own limit
            order("bob-00000001", "bob", "gadget", 3),  # another customer has their own limit
            order("bob-00000002", "bob", "gadget", 4),  # more than the limit in one order
        ),
        lambda_context,
    )

    orders = all_orders(dynamodb, processor_env.orders)
    statuses = {order_id: (o["status"], o.get("rejection_reason")) for order_id, o in orders.items()}
    assert statuses == {
        "alice-0001": ("ACCEPTED", None),
        "alice-0002": ("REJECTED", "CUSTOMER_LIMIT"),
        "alice-0003": ("ACCEPTED", None),
        "alice-0004": ("ACCEPTED", None),
        "bob-00000001": ("ACCEPTED", None),
        "bob-00000002": ("REJECTED", "CUSTOMER_LIMIT"),
    }
    assert stock_of(dynamodb, processor_env.products, "gadget") == 94


def test_redelivered_accepted_order_does_not_count_twice(
    dynamodb: Any,
    processor_env: OrderTables,
    lambda_context: FakeLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MAX_UNITS_PER_CUSTOMER", "2")
    processor.dependencies.cache_clear()
    put_product(dynamodb, processor_env.products, "gadget", stock=10)
    first = sqs_record(order_body(order_id="order-0001", customer_id="alice", quantity=1))

    processor.handler(sqs_event(first, first, first), lambda_context)
    processor.handler(
        sqs_event(sqs_record(order_body(order_id="order-0002", customer_id="alice", quantity=1))),
        lambda_context,
    )

    statuses = {order_id: o["status"] for order_id, o in all_orders(dynamodb, processor_env.orders).items()}
    assert statuses == {"order-0001": "ACCEPTED", "order-0002": "ACCEPTED"}
