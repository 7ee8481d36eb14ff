"""An ``order_id`` reused for a different order is a conflict, recorded and counted; never dropped.

The client chose the order id and got 202 for each request. The first request to reach DynamoDB owns
the id. A later request with the same content is a retry (a true duplicate: nothing is written); a
later request with other content (customer, product or quantity) is a conflict: it is recorded so its
customer can see it through ``GET /orders/{order_id}``, and counted with ``OrderIdConflicts``.
"""

from __future__ import annotations

from typing import Any

import pytest

from dbpatterns.handlers.flash_sale import processor
from dbpatterns.handlers.flash_sale.orders import OrderTables
from tests.handlers.flash_sale.support import (
    CallCounter,
    FakeLambdaContext,
    all_items,
    emitted_metrics,
    order_body,
    put_product,
    sqs_event,
    sqs_record,
    stock_of,
)


@pytest.mark.parametrize(
    "second",
    [
        pytest.param({"customer_id": "bob"}, id="other-customer"),
        pytest.param({"product_id": "widget"}, id="other-product"),
        pytest.param({"quantity": 2}, id="other-quantity"),
    ],
)
def test_order_id_reused_with_other_content_is_recorded_as_a_conflict(
    dynamodb: Any,
    processor_env: OrderTables,
    lambda_context: FakeLambdaContext,
    capsys: pytest.CaptureFixture[str],
    second: dict[str, Any],
) -> None:
    for product_id in ("gadget", "widget"):
        put_product(dynamodb, processor_env.products, product_id, stock=10)
    first: dict[str, Any] = {
        "order_id": "order-0001",
        "customer_id": "alice",
        "product_id": "gadget",
        "quantity": 1,
    }
    reused = {**first, **second}

    response = processor.handler(
        sqs_event(sqs_record(order_body(**first)), sqs_record(order_body(**reused))), lambda_context
    )

    assert response == {"batchItemFailures": []}
    items = all_items(dynamodb, processor_env.orders)
    assert items["order-0001"]["status"] == "ACCEPTED"
    assert items["order-0001"]["customer_id"] == "alice"
    conflict = items[f"order-0001#conflict#{reused['customer_id']}"]
    assert conflict["status"] == "CONFLICT"
    assert (conflict["customer_id"], conflict["product_id"], conflict["quantity"]) == (
        reused["customer_id"],
        reused["product_id"],
        reused["quantity"],
    )
    assert stock_of(dynamodb, processor_env.products, "gadget") == 9
    assert stock_of(dynamodb, processor_env.products, "widget") == 10
    metrics = emitted_metrics(capsys.readouterr().out)
    assert metrics["OrderIdConflicts"] == 1
    assert metrics["DuplicateOrderMessages"] == 0


def test_conflicting_message_delivered_again_writes_nothing_more(
    dynamodb: Any,
    processor_env: OrderTables,
    lambda_context: FakeLambdaContext,
    capsys: pytest.CaptureFixture[str],
) -> None:
    put_product(dynamodb, processor_env.products, "gadget", stock=10)
    processor.handler(
        sqs_event(sqs_record(order_body(order_id="order-0001", customer_id="alice"))), lambda_context
    )
    conflicting = sqs_record(order_body(order_id="order-0001", customer_id="bob"))
    processor.handler(sqs_event(conflicting), lambda_context)
    before = all_items(dynamodb, processor_env.orders)
    counter = CallCounter(processor.dependencies().dynamodb)

    assert processor.handler(sqs_event(conflicting), lambda_context) == {"batchItemFailures": []}

    # The cancelled transaction, then the conflict record's conditional put, which finds the same
    # request recorded and writes nothing.
    assert counter.calls == {"GetItem": 1, "TransactWriteItems": 1, "PutItem": 1}
    assert all_items(dynamodb, processor_env.orders) == before
    metrics = emitted_metrics(capsys.readouterr().out)
    assert metrics["OrderIdConflicts"] == 1
    assert metrics["DuplicateOrderMessages"] == 1


def test_same_content_again_is_a_duplicate_and_writes_nothing(
    dynamodb: Any, processor_env: OrderTables, lambda_context: FakeLambdaContext
) -> None:
    put_product(dynamodb, processor_env.products, "gadget", stock=10)
    body = order_body(order_id="order-0001", customer_id="alice", quantity=2)
    processor.handler(sqs_event(sqs_record(body)), lambda_context)
    counter = CallCounter(processor.dependencies().dynamodb)

    processor.handler(sqs_event(sqs_record(body)), lambda_context)

    assert counter.writes == 1, "only the cancelled transaction"
    assert sorted(all_items(dynamodb, processor_env.orders)) == ["order-0001", "purchases#alice#gadget"]
    assert stock_of(dynamodb, processor_env.products, "gadget") == 8


def test_reuse_of_a_rejected_order_id_with_other_content_is_a_conflict(
    dynamodb: Any, processor_env: OrderTables, lambda_context: FakeLambdaContext
) -> None:
    put_product(dynamodb, processor_env.products, "gadget", stock=0)
    processor.handler(sqs_event(sqs_record(order_body(order_id="order-0001", quantity=1))), lambda_context)
    put_product(dynamodb, processor_env.products, "gadget", stock=10)

    processor.handler(sqs_event(sqs_record(order_body(order_id="order-0001", quantity=3))), lambda_context)

    items = all_items(dynamodb, processor_env.orders)
    assert items["order-0001"]["status"] == "REJECTED"
    assert items["order-0001#conflict#customer-1"]["quantity"] == 3
    assert stock_of(dynamodb, processor_env.products, "gadget") == 10
