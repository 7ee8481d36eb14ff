"""End to end, locally: API request validation -> SQS queue -> processor -> tables, then the totals.

The API is played by ``post_order``, which does what the REST API does: validate the body with the
request model (``ORDER_REQUEST_SCHEMA``, draft-04), answer 400 without enqueueing when it is invalid,
else send the raw body as the message body (API Gateway's SQS integration) and answer 202 with the
message id. The event source mapping is played by a loop that receives batches of up to 10
messages, builds the Lambda event, calls ``processor.handler`` and deletes the messages that did not
fail, as Lambda does with ``ReportBatchItemFailures``.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest
from jsonschema import Draft4Validator  # type: ignore[import-untyped, unused-ignore]

from dbpatterns.handlers.flash_sale import processor
from dbpatterns.handlers.flash_sale.orders import OrderTables
from dbpatterns.handlers.flash_sale.schema import ORDER_REQUEST_SCHEMA
from dbpatterns.handlers.flash_sale.settings import DEFAULT_MAX_UNITS_PER_CUSTOMER
from tests.handlers.flash_sale.support import (
    FakeLambdaContext,
    all_orders,
    emitted_metrics,
    event_from_received,
    failed_message_ids,
    order_body,
    put_product,
    send_order,
    stock_of,
)

REQUEST_VALIDATOR = Draft4Validator(ORDER_REQUEST_SCHEMA)
PRICES = {"gadget": 1999, "widget": 450}
INITIAL_STOCK = {"gadget": 40, "widget": 200}


@dataclass
class Pipeline:
    sqs: Any
    queue_url: str
    dead_letter_queue_url: str
    enqueued_bodies: list[str]

    def post_order(self, body: str) -> tuple[int, dict[str, str]]:
        """What ``POST /orders`` answers: 400 for an invalid body (never enqueued), else 202."""
        try:
            payload = json.loads(body)
        except json.JSONDecodeError:
            return 400, {"message": "Invalid request body"}
        if not REQUEST_VALIDATOR.is_valid(payload):
            return 400, {"message": "Invalid request body"}
        # The SQS integration sends the body and stamps the caller's identity as a message attribute;
        # here every caller is the session of the customer the body names (an honest storefront).
        sent = send_order(self.sqs, self.queue_url, body)
        self.enqueued_bodies.append(body)
        return 202, {"message_id": sent["MessageId"]}

    def drain(self, context: FakeLambdaContext, *, max_batches: int = 100) -> list[str]:
        """Run the processor over the queue until it is empty; return the ids of failed messages."""
        failures: list[str] = []
        for _ in range(max_batches):
            received = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=10,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
                WaitTimeSeconds=0,
            ).get("Messages", [])
            if not received:
                return failures
            response = processor.handler(event_from_received(received), context)
            failed = failed_message_ids(response)
            failures.extend(sorted(failed))
            done = [message for message in received if message["MessageId"] not in failed]
            if done:
                self.sqs.delete_message_batch(
                    QueueUrl=self.queue_url,
                    Entries=[
                        {"Id": str(n), "ReceiptHandle": message["ReceiptHandle"]}
                        for n, message in enumerate(done)
                    ],
                )
        raise AssertionError(f"the queue was not empty after {max_batches} batches")

    def messages_in(self, queue_url: str) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )


def make_pipeline(sqs: Any, queue_url: str, *, visibility_timeout: int, max_receive_count: int) -> Pipeline:
    """The processor's order queue (``queue_url``), given a dead-letter queue and ``visibility_timeout``."""
    dead_letter_queue_url = sqs.create_queue(QueueName="flash-sale-orders-dlq")["QueueUrl"]
    dead_letter_queue_arn = sqs.get_queue_attributes(
        QueueUrl=dead_letter_queue_url, AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(
        QueueUrl=queue_url,
        Attributes={
            "VisibilityTimeout": str(visibility_timeout),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dead_letter_queue_arn, "maxReceiveCount": str(max_receive_count)}
            ),
        },
    )
    return Pipeline(
        sqs=sqs, queue_url=queue_url, dead_letter_queue_url=dead_letter_queue_url, enqueued_bodies=[]
    )


@pytest.fixture
def stocked(dynamodb: Any, processor_env: OrderTables) -> OrderTables:
    for product_id, price in PRICES.items():
        put_product(
            dynamodb, processor_env.products, product_id, stock=INITIAL_STOCK[product_id], price_cents=price
        )
    return processor_env


def flash_sale_requests(seed: int) -> tuple[list[str], list[str], list[str]]:
    """(valid bodies, client retries of some of them, invalid bodies) of a busy minute of a flash sale."""
    rng = random.Random(seed)
    valid = [
        order_body(
            order_id=f"{seed:02d}-order-{n:04d}",
            customer_id=f"customer-{rng.randrange(30)}",
            product_id=rng.choice(["gadget", "gadget", "gadget", "widget"]),
            quantity=rng.randint(1, 4),
        )
        for n in range(60)
    ]
    valid.append(order_body(order_id=f"{seed:02d}-order-unknown", product_id="discontinued"))
    retries = rng.sample(valid, 8)
    invalid = [
        order_body(quantity=0),
        order_body(quantity=11),
        order_body(order_id="short"),
        json.dumps({"order_id": "missing-customer-0001", "product_id": "gadget", "quantity": 1}),
        json.dumps({**json.loads(order_body()), "discount_cents": 500}),
        json.dumps({**json.loads(order_body()), "quantity": "2"}),
        '{"order_id": "truncated-json-0001", ',
        "",
    ]
    return valid, retries, invalid


def test_orders_flow_from_request_validation_through_the_queue_to_the_tables(
    dynamodb: Any,
    sqs: Any,
    order_queue_url: str,
    stocked: OrderTables,
    lambda_context: FakeLambdaContext,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pipeline = make_pipeline(sqs, order_queue_url, visibility_timeout=30, max_receive_count=3)
    valid, retries, invalid = flash_sale_requests(seed=7)
    requests = valid + retries + invalid
    random.Random(11).shuffle(requests)

    answers = [(body, *pipeline.post_order(body)) for body in requests]
    failures = pipeline.drain(lambda_context)

    # The front door: invalid bodies get 400 and never reach the queue; valid ones get 202 and a message id.
    assert Counter(status for _, status, _ in answers) == {202: len(valid) + len(retries), 400: len(invalid)}
    assert all("message_id" in payload for _, status, payload in answers if status == 202)
    assert sorted(pipeline.enqueued_bodies) == sorted(valid + retries)
    # The processor: nothing failed, nothing left in the queue or the dead-letter queue.
    assert failures == []
    assert pipeline.messages_in(pipeline.queue_url) == 0
    assert pipeline.messages_in(pipeline.dead_letter_queue_url) == 0

    orders = all_orders(dynamodb, stocked.orders)
    requested = {payload["order_id"]: payload for payload in map(json.loads, valid)}
    # One order per order id, accepted or rejected; the retried requests created nothing more.
    assert sorted(orders) == sorted(requested)
    statuses = Counter(order["status"] for order in orders.values())
    assert statuses["ACCEPTED"] + statuses["REJECTED"] == len(requested)
    metrics = emitted_metrics(capsys.readouterr().out)
    assert metrics["OrdersAccepted"] == statuses["ACCEPTED"]
    assert metrics["OrdersRejected"] == statuses["REJECTED"]
    assert metrics["DuplicateOrderMessages"] == len(retries)
    # Stock: what is left is what there was minus what was sold; never negative.
    for product_id, initial in INITIAL_STOCK.items():
        sold = [
            order
            for order in orders.values()
            if order["product_id"] == product_id and order["status"] == "ACCEPTED"
        ]
        left = stock_of(dynamodb, stocked.products, product_id)
        assert left == initial - sum(order["quantity"] for order in sold) >= 0
        assert all(order["total_cents"] == order["quantity"] * PRICES[product_id] for order in sold)
        bought = Counter[str]()
        for order in sold:
            bought[order["customer_id"]] += order["quantity"]
        assert max(bought.values()) <= DEFAULT_MAX_UNITS_PER_CUSTOMER
        rejected = [
            order
            for order in orders.values()
            if order["product_id"] == product_id and order["status"] == "REJECTED"
        ]
        # A rejection is never needless: it wanted more than what was left, or more than its
        # customer may still buy.
        assert all(
            (order["rejection_reason"] == "OUT_OF_STOCK" and order["quantity"] > left)
            or (
                order["rejection_reason"] == "CUSTOMER_LIMIT"
                and bought[order["customer_id"]] + order["quantity"] > DEFAULT_MAX_UNITS_PER_CUSTOMER
            )
            for order in rejected
        )
    # The gadget was oversubscribed (about 45 orders of 1-4 units for 40 units): the sale sold out.
    assert any(
        order["rejection_reason"] == "OUT_OF_STOCK"
        for order in orders.values()
        if order["status"] == "REJECTED"
    )
    assert orders["07-order-unknown"]["rejection_reason"] == "UNKNOWN_PRODUCT"
    assert metrics["UnitsSold"] == sum(
        order["quantity"] for order in orders.values() if order["status"] == "ACCEPTED"
    )


def test_poison_message_sent_straight_to_the_queue_ends_in_the_dead_letter_queue(
    dynamodb: Any, sqs: Any, order_queue_url: str, stocked: OrderTables, lambda_context: FakeLambdaContext
) -> None:
    # Visibility timeout 0: a failed message is visible again at once, so SQS's retries happen now.
    pipeline = make_pipeline(sqs, order_queue_url, visibility_timeout=0, max_receive_count=3)
    poison = pipeline.sqs.send_message(QueueUrl=pipeline.queue_url, MessageBody="<order>not json</order>")
    status, _ = pipeline.post_order(order_body(order_id="good-order-0001"))

    failures = pipeline.drain(lambda_context)

    assert status == 202
    assert failures == [poison["MessageId"]] * 3, (
        "retried until maxReceiveCount, never blocking the good order"
    )
    assert all_orders(dynamodb, stocked.orders)["good-order-0001"]["status"] == "ACCEPTED"
    dead = pipeline.sqs.receive_message(QueueUrl=pipeline.dead_letter_queue_url, MaxNumberOfMessages=10)[
        "Messages"
    ]
    assert [message["Body"] for message in dead] == ["<order>not json</order>"]
