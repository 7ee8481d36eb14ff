"""The flash-sale Lambda handler against moto: outcomes, batch item failures, write calls, DAX reads."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError  # type: ignore[import-untyped, unused-ignore]

from dbpatterns.handlers.flash_sale import processor
from dbpatterns.handlers.flash_sale.orders import OrderTables
from dbpatterns.handlers.flash_sale.settings import ORDERS_TABLE_ENV, ConfigurationError
from tests.handlers.flash_sale.conftest import DAX_ENDPOINT
from tests.handlers.flash_sale.support import (
    CallCounter,
    FakeDaxCluster,
    FakeLambdaContext,
    all_orders,
    emitted_metrics,
    failed_message_ids,
    order_body,
    put_product,
    sqs_event,
    sqs_record,
    stock_of,
)


def invoke(event: dict[str, Any], context: FakeLambdaContext) -> Any:
    return processor.handler(event, context)


def test_places_an_order_and_decrements_the_stock(
    dynamodb: Any,
    processor_env: OrderTables,
    lambda_context: FakeLambdaContext,
    capsys: pytest.CaptureFixture[str],
) -> None:
    put_product(dynamodb, processor_env.products, "gadget", stock=5, name="Gadget", price_cents=1999)
    record = sqs_record(order_body(order_id="order-0001", customer_id="alice", quantity=2))

    response = invoke(sqs_event(record), lambda_context)

    assert response == {"batchItemFailures": []}
    order = all_orders(dynamodb, processor_env.orders)["order-0001"]
    assert order["status"] == "ACCEPTED"
    assert order["customer_id"] == "alice"
    assert order["quantity"] == 2
    assert order["product_name"] == "Gadget"
    assert order["unit_price_cents"] == 1999
    assert order["total_cents"] == 3998
    assert order["message_id"] == record["messageId"]
    assert stock_of(dynamodb, processor_env.products, "gadget") == 3
    metrics = emitted_metrics(capsys.readouterr().out)
    assert metrics["OrdersAccepted"] == 1
    assert metrics["UnitsSold"] == 2


def test_same_message_delivered_twice_creates_one_order_and_one_decrement(
    dynamodb: Any,
    processor_env: OrderTables,
    lambda_context: FakeLambdaContext,
    capsys: pytest.CaptureFixture[str],
) -> None:
    put_product(dynamodb, processor_env.products, "gadget", stock=5)
    record = sqs_record(order_body(order_id="order-0001", quantity=2))

    first = invoke(sqs_event(record), lambda_context)
    second = invoke(sqs_event(record), lambda_context)

    assert first == second == {"batchItemFailures": []}
    assert list(all_orders(dynamodb, processor_env.orders)) == ["order-0001"]
    assert stock_of(dynamodb, processor_env.products, "gadget") == 3
    metrics = emitted_metrics(capsys.readouterr().out)
    assert metrics["OrdersAccepted"] == 1
    assert metrics["DuplicateOrderMessages"] == 1


def test_retried_request_with_the_same_order_id_in_one_batch_creates_one_order(
    dynamodb: Any, processor_env: OrderTables, lambda_context: FakeLambdaContext
) -> None:
    put_product(dynamodb, processor_env.products, "gadget", stock=5)
    body = order_body(order_id="order-0001", quantity=1)

    # A client that retried its POST produced two messages (two message ids) with the same order id.
    response = invoke(sqs_event(sqs_record(body), sqs_record(body)), lambda_context)

    assert response == {"batchItemFailures": []}
    assert list(all_orders(dynamodb, processor_env.orders)) == ["order-0001"]
    assert stock_of(dynamodb, processor_env.products, "gadget") == 4


@pytest.mark.parametrize(
    "bad_body",
    [
        pytest.param("this is not JSON", id="not-json"),
        pytest.param(json.dumps({"order_id": "order-0009", "product_id": "gadget"}), id="missing-fields"),
        pytest.param(order_body(quantity=0), id="quantity-zero"),
        pytest.param(json.dumps([1, 2, 3]), id="not-an-object"),
    ],
)
def test_malformed_message_is_reported_as_failure_without_failing_the_others(
    dynamodb: Any,
    processor_env: OrderTables,
    lambda_context: FakeLambdaContext,
    capsys: pytest.CaptureFixture[str],
    bad_body: str,
) -> None:
    put_product(dynamodb, processor_env.products, "gadget", stock=5)
    good_before = sqs_record(order_body(order_id="order-0001"))
    malformed = sqs_record(bad_body)
    good_after = sqs_record(order_body(order_id="order-0002"))

    response = invoke(sqs_event(good_before, malformed, good_after), lambda_context)

    assert failed_message_ids(response) == {malformed["messageId"]}
    assert sorted(all_orders(dynamodb, processor_env.orders)) == ["order-0001", "order-0002"]
    assert stock_of(dynamodb, processor_env.products, "gadget") == 3
    assert emitted_metrics(capsys.readouterr().out)["MalformedOrderMessages"] == 1


def test_sold_out_order_is_recorded_as_rejected_and_not_retried(
    dynamodb: Any,
    processor_env: OrderTables,
    lambda_context: FakeLambdaContext,
    capsys: pytest.CaptureFixture[str],
) -> None:
    put_product(dynamodb, processor_env.products, "gadget", stock=1)
    last_unit = sqs_record(order_body(order_id="order-0001", quantity=1))
    too_late = sqs_record(order_body(order_id="order-0002", quantity=1))

    response = invoke(sqs_event(last_unit, too_late), lambda_context)

    assert response == {"batchItemFailures": []}
    orders = all_orders(dynamodb, processor_env.orders)
    assert orders["order-0001"]["status"] == "ACCEPTED"
    assert orders["order-0002"]["status"] == "REJECTED"
    assert orders["order-0002"]["rejection_reason"] == "OUT_OF_STOCK"
    assert "total_cents" not in orders["order-0002"]
    assert stock_of(dynamodb, processor_env.products, "gadget") == 0
    assert emitted_metrics(capsys.readouterr().out)["OrdersRejected"] == 1


def test_order_bigger_than_the_remaining_stock_is_rejected_and_leaves_the_stock(
    dynamodb: Any, processor_env: OrderTables, lambda_context: FakeLambdaContext
) -> None:
    put_product(dynamodb, processor_env.products, "gadget", stock=2)

    response = invoke(sqs_event(sqs_record(order_body(order_id="order-0001", quantity=3))), lambda_context)

    assert response == {"batchItemFailures": []}
    assert all_orders(dynamodb, processor_env.orders)["order-0001"]["rejection_reason"] == "OUT_OF_STOCK"
    assert stock_of(dynamodb, processor_env.products, "gadget") == 2


def test_order_for_an_unknown_product_is_rejected(
    dynamodb: Any, processor_env: OrderTables, lambda_context: FakeLambdaContext
) -> None:
    response = invoke(
        sqs_event(sqs_record(order_body(order_id="order-0001", product_id="nothing"))), lambda_context
    )

    assert response == {"batchItemFailures": []}
    order = all_orders(dynamodb, processor_env.orders)["order-0001"]
    assert order["status"] == "REJECTED"
    assert order["rejection_reason"] == "UNKNOWN_PRODUCT"


def test_transient_error_is_reported_as_failure_for_sqs_to_retry(
    dynamodb: Any,
    processor_env: OrderTables,
    lambda_context: FakeLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    put_product(dynamodb, processor_env.products, "gadget", stock=5)
    client = processor.dependencies().dynamodb
    real_transact = client.transact_write_items

    def throttled_for_order_2(**kwargs: Any) -> Any:
        if kwargs["TransactItems"][0]["Put"]["Item"]["order_id"]["S"] == "order-0002":
            raise ClientError(
                {
                    "Error": {
                        "Code": "ThrottlingException",
                        "Message": "Rate of requests exceeds the allowed throughput.",
                    }
                },
                "TransactWriteItems",
            )
        return real_transact(**kwargs)

    monkeypatch.setattr(client, "transact_write_items", throttled_for_order_2)
    throttled = sqs_record(order_body(order_id="order-0002"))
    event = sqs_event(
        sqs_record(order_body(order_id="order-0001")),
        throttled,
        sqs_record(order_body(order_id="order-0003")),
    )

    response = invoke(event, lambda_context)

    assert failed_message_ids(response) == {throttled["messageId"]}
    assert sorted(all_orders(dynamodb, processor_env.orders)) == ["order-0001", "order-0003"]
    assert stock_of(dynamodb, processor_env.products, "gadget") == 3
    assert emitted_metrics(capsys.readouterr().out)["FailedOrderMessages"] == 1

    # SQS redelivers it after the visibility timeout; by then DynamoDB accepts the write.
    monkeypatch.setattr(client, "transact_write_items", real_transact)
    assert invoke(sqs_event(throttled), lambda_context) == {"batchItemFailures": []}
    assert all_orders(dynamodb, processor_env.orders)["order-0002"]["status"] == "ACCEPTED"


def test_order_cancelled_by_conflicts_on_every_attempt_is_reported_as_failure(
    dynamodb: Any,
    processor_env: OrderTables,
    lambda_context: FakeLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    put_product(dynamodb, processor_env.products, "gadget", stock=5)
    client = processor.dependencies().dynamodb
    attempts = []

    def always_conflicting(**kwargs: Any) -> Any:
        attempts.append(kwargs)
        raise client.exceptions.TransactionCanceledException(
            {
                "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
                "CancellationReasons": [{"Code": "None"}, {"Code": "TransactionConflict"}, {"Code": "None"}],
            },
            "TransactWriteItems",
        )

    monkeypatch.setattr(client, "transact_write_items", always_conflicting)
    record = sqs_record(order_body(order_id="order-0001"))

    response = invoke(sqs_event(record), lambda_context)

    assert failed_message_ids(response) == {record["messageId"]}
    assert len(attempts) == 3, "retried in the invocation before leaving it to SQS"
    assert all_orders(dynamodb, processor_env.orders) == {}
    assert emitted_metrics(capsys.readouterr().out)["TransientOrderFailures"] == 1


def test_product_with_a_fractional_price_is_reported_as_failure(
    dynamodb: Any, processor_env: OrderTables, lambda_context: FakeLambdaContext
) -> None:
    dynamodb.put_item(
        TableName=processor_env.products,
        Item={
            "product_id": {"S": "gadget"},
            "name": {"S": "Gadget"},
            "price_cents": {"N": "19.99"},
            "stock": {"N": "5"},
        },
    )
    record = sqs_record(order_body(order_id="order-0001"))

    response = invoke(
        sqs_event(record, sqs_record(order_body(order_id="order-0002", product_id="nothing"))), lambda_context
    )

    assert failed_message_ids(response) == {record["messageId"]}
    assert "order-0001" not in all_orders(dynamodb, processor_env.orders)
    assert stock_of(dynamodb, processor_env.products, "gadget") == 5


def test_one_write_call_per_accepted_order_and_at_most_two_per_rejected_one(
    dynamodb: Any, processor_env: OrderTables, lambda_context: FakeLambdaContext
) -> None:
    put_product(dynamodb, processor_env.products, "gadget", stock=3)
    counter = CallCounter(processor.dependencies().dynamodb)
    accepted = [sqs_record(order_body(order_id=f"accepted-{n:03d}")) for n in range(3)]
    sold_out = [sqs_record(order_body(order_id=f"sold-out-{n:03d}")) for n in range(2)]
    unknown_product = sqs_record(order_body(order_id="unknown-001", product_id="nothing"))

    calls = []
    for record in [*accepted, *sold_out, unknown_product, accepted[0]]:
        counter.reset()
        assert invoke(sqs_event(record), lambda_context) == {"batchItemFailures": []}
        calls.append(dict(counter.calls))

    # Reads are not writes: with no DAX configured, the product is read from DynamoDB by GetItem.
    assert calls[0:3] == [{"GetItem": 1, "TransactWriteItems": 1}] * 3
    assert calls[3:5] == [{"GetItem": 1, "TransactWriteItems": 1, "PutItem": 1}] * 2
    assert calls[5] == {"GetItem": 1, "PutItem": 1}
    # The redelivered first message: one cancelled transaction, nothing else written.
    assert calls[6] == {"GetItem": 1, "TransactWriteItems": 1}
    statuses = {
        order_id: order["status"] for order_id, order in all_orders(dynamodb, processor_env.orders).items()
    }
    assert statuses == {
        "accepted-000": "ACCEPTED",
        "accepted-001": "ACCEPTED",
        "accepted-002": "ACCEPTED",
        "sold-out-000": "REJECTED",
        "sold-out-001": "REJECTED",
        "unknown-001": "REJECTED",
    }


def test_reads_products_through_dax_and_writes_to_dynamodb_when_an_endpoint_is_set(
    dynamodb: Any,
    processor_env: OrderTables,
    dax: FakeDaxCluster,
    lambda_context: FakeLambdaContext,
) -> None:
    put_product(dynamodb, processor_env.products, "gadget", stock=5, name="Gadget", price_cents=1999)
    counter = CallCounter(processor.dependencies().dynamodb)

    for n in range(2):
        response = invoke(sqs_event(sqs_record(order_body(order_id=f"order-000{n}"))), lambda_context)
        assert response == {"batchItemFailures": []}

    assert len(dax.clients_created) == 1, "one DAX client per execution environment, not per invocation"
    assert dax.clients_created[0]["endpoint_url"] == DAX_ENDPOINT
    assert [read["Key"] for read in dax.reads] == [{"product_id": {"S": "gadget"}}] * 2
    assert counter.calls == {"TransactWriteItems": 2}, "no product reads from DynamoDB, all writes to it"
    assert all_orders(dynamodb, processor_env.orders)["order-0001"]["product_name"] == "Gadget"


@pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")
def test_fails_with_a_clear_error_when_the_orders_table_is_not_configured(
    processor_env: OrderTables, lambda_context: FakeLambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ORDERS_TABLE_ENV)

    with pytest.raises(ConfigurationError, match="ORDERS_TABLE_NAME is not set"):
        invoke(sqs_event(sqs_record(order_body())), lambda_context)
