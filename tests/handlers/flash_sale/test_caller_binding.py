"""An order is placed for the caller, not for whoever the body names.

The API stamps the caller's IAM identity (``$context.identity.userArn``) on each message; the
processor maps it to a customer id (the role session name of the storefront's customer role) and
refuses an order whose ``customer_id`` names somebody else. Otherwise any caller could spend another
customer's purchase limit, or place orders that customer would then see as theirs.
"""

from __future__ import annotations

from typing import Any

import pytest

from dbpatterns.handlers.flash_sale import processor
from dbpatterns.handlers.flash_sale.orders import OrderTables
from tests.handlers.flash_sale.support import (
    ACCOUNT,
    FakeLambdaContext,
    all_items,
    all_orders,
    caller_arn,
    emitted_metrics,
    failed_message_ids,
    order_body,
    put_product,
    sqs_event,
    sqs_record,
    stock_of,
    string_attribute,
)


def test_order_naming_another_customer_is_rejected_for_its_caller(
    dynamodb: Any,
    processor_env: OrderTables,
    lambda_context: FakeLambdaContext,
    capsys: pytest.CaptureFixture[str],
) -> None:
    put_product(dynamodb, processor_env.products, "gadget", stock=5)
    record = sqs_record(order_body(order_id="order-0001", customer_id="alice"), caller=caller_arn("mallory"))

    response = processor.handler(sqs_event(record), lambda_context)

    assert response == {"batchItemFailures": []}
    order = all_orders(dynamodb, processor_env.orders)["order-0001"]
    assert (order["status"], order["rejection_reason"]) == ("REJECTED", "CUSTOMER_MISMATCH")
    assert (order["customer_id"], order["requested_customer_id"]) == ("mallory", "alice")
    assert stock_of(dynamodb, processor_env.products, "gadget") == 5
    assert "purchases#alice#gadget" not in all_items(dynamodb, processor_env.orders)
    assert emitted_metrics(capsys.readouterr().out)["CustomerMismatches"] == 1


def test_message_without_a_caller_is_reported_as_malformed(
    dynamodb: Any,
    processor_env: OrderTables,
    lambda_context: FakeLambdaContext,
    capsys: pytest.CaptureFixture[str],
) -> None:
    put_product(dynamodb, processor_env.products, "gadget", stock=5)
    record = sqs_record(order_body(order_id="order-0001"), caller=None)

    response = processor.handler(sqs_event(record), lambda_context)

    assert failed_message_ids(response) == {record["messageId"]}
    assert all_orders(dynamodb, processor_env.orders) == {}
    assert emitted_metrics(capsys.readouterr().out)["MalformedOrderMessages"] == 1


@pytest.mark.parametrize(
    "caller",
    [
        pytest.param(f"arn:aws:iam::{ACCOUNT}:user/alice", id="iam-user"),
        pytest.param(f"arn:aws:iam::{ACCOUNT}:root", id="root"),
        pytest.param(caller_arn("alice@example.com"), id="session-name-not-a-customer-id"),
        pytest.param(caller_arn("alice", role="operations"), id="role-not-a-customer-role"),
    ],
)
def test_message_from_a_caller_that_is_no_customer_is_reported_as_malformed(
    dynamodb: Any,
    processor_env: OrderTables,
    lambda_context: FakeLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
    caller: str,
) -> None:
    monkeypatch.setenv("CUSTOMER_ROLE_NAMES", "storefront-customer")
    processor.dependencies.cache_clear()
    put_product(dynamodb, processor_env.products, "gadget", stock=5)
    record = sqs_record(order_body(order_id="order-0001", customer_id="alice"), caller=caller)

    response = processor.handler(sqs_event(record), lambda_context)

    assert failed_message_ids(response) == {record["messageId"]}
    assert all_orders(dynamodb, processor_env.orders) == {}


def test_cognito_identity_is_the_customer_when_present(
    dynamodb: Any, processor_env: OrderTables, lambda_context: FakeLambdaContext
) -> None:
    put_product(dynamodb, processor_env.products, "gadget", stock=5)
    customer = "us-east-1_0f8b7c1e-5d7a-4c1b-9e55-3f1d2f6a9b10"
    record = sqs_record(
        order_body(order_id="order-0001", customer_id=customer),
        caller=f"arn:aws:sts::{ACCOUNT}:assumed-role/Cognito_ShopAuth_Role/CognitoIdentityCredentials",
    )
    record["messageAttributes"]["caller_cognito_identity_id"] = string_attribute(
        "us-east-1:0f8b7c1e-5d7a-4c1b-9e55-3f1d2f6a9b10"
    )

    assert processor.handler(sqs_event(record), lambda_context) == {"batchItemFailures": []}

    assert all_orders(dynamodb, processor_env.orders)["order-0001"]["status"] == "ACCEPTED"


def test_body_is_trusted_when_caller_binding_is_turned_off(
    dynamodb: Any,
    processor_env: OrderTables,
    lambda_context: FakeLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REQUIRE_CALLER_IDENTITY", "false")
    processor.dependencies.cache_clear()
    put_product(dynamodb, processor_env.products, "gadget", stock=5)
    record = sqs_record(order_body(order_id="order-0001", customer_id="alice"), caller=None)

    assert processor.handler(sqs_event(record), lambda_context) == {"batchItemFailures": []}

    assert all_orders(dynamodb, processor_env.orders)["order-0001"]["customer_id"] == "alice"
