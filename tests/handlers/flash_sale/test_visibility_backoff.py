"""Transient conflicts on the hot item come back in seconds, not after the full visibility timeout.

A message whose transaction DynamoDB kept cancelling with ``TransactionConflict`` is reported as a
batch item failure, and before that the processor shortens its visibility timeout with
``ChangeMessageVisibility`` to a jittered backoff that grows with its receive count.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from dbpatterns.handlers.flash_sale import processor
from dbpatterns.handlers.flash_sale.orders import OrderTables
from tests.handlers.flash_sale.support import (
    FakeLambdaContext,
    all_orders,
    emitted_metrics,
    event_from_received,
    failed_message_ids,
    order_body,
    put_product,
    send_order,
    sqs_record,
)


def conflicting_transactions(client: Any, monkeypatch: pytest.MonkeyPatch, order_ids: set[str]) -> list[str]:
    """Make DynamoDB cancel every transaction of ``order_ids`` with a TransactionConflict on the product."""
    real = client.transact_write_items
    cancelled: list[str] = []

    def transact_write_items(**kwargs: Any) -> Any:
        actions = kwargs["TransactItems"]
        order_id = actions[0]["Put"]["Item"]["order_id"]["S"]
        if order_id not in order_ids:
            return real(**kwargs)
        cancelled.append(order_id)
        reasons = [{"Code": "None"} for _ in actions]
        reasons[1] = {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}
        raise client.exceptions.TransactionCanceledException(
            {
                "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
                "CancellationReasons": reasons,
            },
            "TransactWriteItems",
        )

    monkeypatch.setattr(client, "transact_write_items", transact_write_items)
    return cancelled


def receive(sqs: Any, queue_url: str, *, within_seconds: float) -> list[dict[str, Any]]:
    """Poll the queue until a message is visible or ``within_seconds`` have passed."""
    deadline = time.monotonic() + within_seconds
    while True:
        messages: list[dict[str, Any]] = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if messages or time.monotonic() > deadline:
            return messages
        time.sleep(0.1)


def test_conflicted_message_is_visible_again_after_a_short_backoff(
    dynamodb: Any,
    sqs: Any,
    order_queue_url: str,
    processor_env: OrderTables,
    lambda_context: FakeLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    put_product(dynamodb, processor_env.products, "gadget", stock=5)
    for n in (1, 2):
        send_order(sqs, order_queue_url, order_body(order_id=f"order-000{n}"))
    received = receive(sqs, order_queue_url, within_seconds=1)
    assert len(received) == 2
    conflicted = conflicting_transactions(processor.dependencies().dynamodb, monkeypatch, {"order-0002"})

    started = time.monotonic()
    response = processor.handler(event_from_received(received), lambda_context)
    # The event source mapping deletes the messages that succeeded.
    for message in received:
        if message["MessageId"] not in failed_message_ids(response):
            sqs.delete_message(QueueUrl=order_queue_url, ReceiptHandle=message["ReceiptHandle"])

    [failed] = [message for message in received if message["MessageId"] in failed_message_ids(response)]
    assert set(conflicted) == {"order-0002"}
    assert len(conflicted) == 3, "retried in the invocation first"
    again = receive(sqs, order_queue_url, within_seconds=5)
    waited = time.monotonic() - started
    assert [message["MessageId"] for message in again] == [failed["MessageId"]]
    assert 1 <= waited < 5, f"visible again after {waited:.1f} s; the queue's visibility timeout is 180 s"
    metrics = emitted_metrics(capsys.readouterr().out)
    assert metrics["TransientOrderFailures"] == 1
    assert metrics["TransientBackoffs"] == 1
    assert set(all_orders(dynamodb, processor_env.orders)) == {"order-0001"}


def test_failure_to_change_the_visibility_still_reports_the_message(
    dynamodb: Any,
    processor_env: OrderTables,
    lambda_context: FakeLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A receipt handle SQS does not know (as after the message was redelivered elsewhere): the
    # backoff fails, the message still goes back to SQS with its full visibility timeout.
    put_product(dynamodb, processor_env.products, "gadget", stock=5)
    conflicting_transactions(processor.dependencies().dynamodb, monkeypatch, {"order-0001"})
    record = sqs_record(order_body(order_id="order-0001"), message_id="message-1")
    record["receiptHandle"] = "not-a-receipt-handle"

    response = processor.handler({"Records": [record]}, lambda_context)

    assert failed_message_ids(response) == {"message-1"}
    assert emitted_metrics(capsys.readouterr().out)["VisibilityChangeFailures"] == 1
