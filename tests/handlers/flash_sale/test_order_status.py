"""``GET /orders/{order_id}``: the read side of the flash sale (API Gateway REST, Lambda proxy).

The caller sees PENDING until its order is decided, then ACCEPTED or REJECTED with the reason, or
CONFLICT when its request reused an order id another order owns. Only the order's customer reads the
order: the caller's IAM identity maps to a customer id (``identity``), and an order of another
customer reads exactly like an order that does not exist yet (PENDING), so the answer never tells a
caller anything about somebody else's orders.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from dbpatterns.handlers.flash_sale import order_status, processor
from dbpatterns.handlers.flash_sale.orders import OrderTables
from tests.handlers.flash_sale.support import (
    ACCOUNT,
    CallCounter,
    FakeLambdaContext,
    caller_arn,
    order_body,
    put_product,
    sqs_event,
    sqs_record,
)


def get_order(
    order_id: str,
    *,
    caller: str | None,
    cognito_identity_id: str | None = None,
    context: FakeLambdaContext | None = None,
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Call the handler with the event API Gateway sends for ``GET /orders/{order_id}``."""
    event = {
        "resource": "/orders/{order_id}",
        "path": f"/orders/{order_id}",
        "httpMethod": "GET",
        "headers": {"Accept": "application/json"},
        "multiValueHeaders": {"Accept": ["application/json"]},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"order_id": order_id},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/orders/{order_id}",
            "httpMethod": "GET",
            "path": f"/v1/orders/{order_id}",
            "stage": "v1",
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "accountId": ACCOUNT,
            "apiId": "abc123",
            "identity": {
                "userArn": caller,
                "caller": None if caller is None else "AROAEXAMPLE:session",
                "cognitoIdentityId": cognito_identity_id,
                "cognitoIdentityPoolId": None,
                "cognitoAuthenticationType": None,
                "accountId": ACCOUNT,
                "sourceIp": "192.0.2.1",
                "userAgent": "storefront/1.0",
            },
        },
        "body": None,
        "isBase64Encoded": False,
    }
    response = order_status.handler(
        event, context or FakeLambdaContext(function_name="flash-sale-order-status")
    )
    headers = {name.lower(): ",".join(values) for name, values in response["multiValueHeaders"].items()}
    return response["statusCode"], json.loads(response["body"]), headers


@pytest.fixture
def status_env(processor_env: OrderTables, monkeypatch: pytest.MonkeyPatch) -> Iterator[OrderTables]:
    """The order-status function's environment: the orders table (shared with the processor's)."""
    monkeypatch.setenv("ORDERS_TABLE_NAME", processor_env.orders)
    order_status.dependencies.cache_clear()
    yield processor_env
    order_status.dependencies.cache_clear()


def place(lambda_context: FakeLambdaContext, *bodies: str) -> None:
    response = processor.handler(sqs_event(*(sqs_record(body) for body in bodies)), lambda_context)
    assert response == {"batchItemFailures": []}


def test_order_not_processed_yet_is_pending(status_env: OrderTables) -> None:
    status, body, headers = get_order("order-0001", caller=caller_arn("alice"))

    assert (status, body) == (200, {"order_id": "order-0001", "status": "PENDING"})
    assert headers["cache-control"] == "no-store"


def test_accepted_order_is_shown_to_its_customer(
    dynamodb: Any, status_env: OrderTables, lambda_context: FakeLambdaContext
) -> None:
    put_product(dynamodb, status_env.products, "gadget", stock=5, name="Gadget", price_cents=1999)
    place(lambda_context, order_body(order_id="order-0001", customer_id="alice", quantity=2))

    status, body, _ = get_order("order-0001", caller=caller_arn("alice"))

    assert status == 200
    assert body == {
        "order_id": "order-0001",
        "status": "ACCEPTED",
        "customer_id": "alice",
        "product_id": "gadget",
        "quantity": 2,
        "product_name": "Gadget",
        "unit_price_cents": 1999,
        "total_cents": 3998,
        "created_at": body["created_at"],
    }


def test_rejected_order_is_shown_with_its_reason(
    dynamodb: Any, status_env: OrderTables, lambda_context: FakeLambdaContext
) -> None:
    put_product(dynamodb, status_env.products, "gadget", stock=0)
    place(lambda_context, order_body(order_id="order-0001", customer_id="alice"))

    status, body, _ = get_order("order-0001", caller=caller_arn("alice"))

    assert status == 200
    assert (body["status"], body["rejection_reason"]) == ("REJECTED", "OUT_OF_STOCK")
    assert "total_cents" not in body


def test_another_customers_order_reads_as_pending_and_reveals_nothing(
    dynamodb: Any, status_env: OrderTables, lambda_context: FakeLambdaContext
) -> None:
    put_product(dynamodb, status_env.products, "gadget", stock=5)
    place(lambda_context, order_body(order_id="order-0001", customer_id="alice"))

    assert get_order("order-0001", caller=caller_arn("mallory"))[:2] == (
        200,
        {"order_id": "order-0001", "status": "PENDING"},
    )


def test_conflicting_request_is_shown_to_its_customer_as_conflict(
    dynamodb: Any, status_env: OrderTables, lambda_context: FakeLambdaContext
) -> None:
    put_product(dynamodb, status_env.products, "gadget", stock=5)
    place(
        lambda_context,
        order_body(order_id="order-0001", customer_id="alice"),
        order_body(order_id="order-0001", customer_id="bob", quantity=3),
    )

    status, body, _ = get_order("order-0001", caller=caller_arn("bob"))

    assert status == 200
    assert body == {
        "order_id": "order-0001",
        "status": "CONFLICT",
        "reason": "ORDER_ID_IN_USE",
        "customer_id": "bob",
        "product_id": "gadget",
        "quantity": 3,
        "created_at": body["created_at"],
    }
    assert get_order("order-0001", caller=caller_arn("alice"))[1]["status"] == "ACCEPTED"


def test_owner_who_reused_an_order_id_sees_the_order_and_the_refused_request(
    dynamodb: Any, status_env: OrderTables, lambda_context: FakeLambdaContext
) -> None:
    put_product(dynamodb, status_env.products, "gadget", stock=5)
    place(
        lambda_context,
        order_body(order_id="order-0001", customer_id="alice", quantity=1),
        order_body(order_id="order-0001", customer_id="alice", quantity=2),
    )

    _, body, _ = get_order("order-0001", caller=caller_arn("alice"))

    assert (body["status"], body["quantity"]) == ("ACCEPTED", 1)
    assert body["conflicting_request"] == {
        "status": "CONFLICT",
        "reason": "ORDER_ID_IN_USE",
        "product_id": "gadget",
        "quantity": 2,
        "created_at": body["conflicting_request"]["created_at"],
    }


def test_reads_are_strongly_consistent_and_one_call(
    dynamodb: Any, status_env: OrderTables, lambda_context: FakeLambdaContext
) -> None:
    put_product(dynamodb, status_env.products, "gadget", stock=5)
    place(lambda_context, order_body(order_id="order-0001", customer_id="alice"))
    client: Any = order_status.dependencies().dynamodb
    counter = CallCounter(client)
    requests: list[dict[str, Any]] = []
    client.meta.events.register(
        "provide-client-params.dynamodb.BatchGetItem", lambda params, **_: requests.append(params)
    )

    get_order("order-0001", caller=caller_arn("alice"))

    assert dict(counter.calls) == {"BatchGetItem": 1}
    assert [request["RequestItems"][status_env.orders]["ConsistentRead"] for request in requests] == [True]


@pytest.mark.parametrize(
    "order_id",
    [
        pytest.param("short", id="too-short"),
        pytest.param("x" * 65, id="too-long"),
        pytest.param("order%23conflict%23bob", id="internal-key-characters"),
        pytest.param("order.0001", id="dot"),
    ],
)
def test_rejects_a_malformed_order_id_with_400(status_env: OrderTables, order_id: str) -> None:
    status, body, _ = get_order(order_id, caller=caller_arn("alice"))

    assert status == 400
    assert body["field"] == "order_id"
    assert "order_id" in body["message"]


@pytest.mark.parametrize(
    ("caller", "cognito_identity_id"),
    [
        pytest.param(None, None, id="no-identity"),
        pytest.param(f"arn:aws:iam::{ACCOUNT}:user/alice", None, id="iam-user"),
        pytest.param(caller_arn("alice@example.com"), None, id="session-name-not-a-customer-id"),
    ],
)
def test_refuses_a_caller_that_maps_to_no_customer_with_403(
    status_env: OrderTables, caller: str | None, cognito_identity_id: str | None
) -> None:
    status, body, _ = get_order("order-0001", caller=caller, cognito_identity_id=cognito_identity_id)

    assert status == 403
    assert "customer" in body["message"]


def test_refuses_a_role_that_is_not_a_customer_role_when_roles_are_listed(
    status_env: OrderTables, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUSTOMER_ROLE_NAMES", "storefront-customer")
    order_status.dependencies.cache_clear()

    assert get_order("order-0001", caller=caller_arn("alice", role="operations"))[0] == 403
    assert get_order("order-0001", caller=caller_arn("alice"))[0] == 200


@pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")
def test_unknown_route_is_404(status_env: OrderTables) -> None:
    event_status, _, _ = get_order("order-0001/items", caller=caller_arn("alice"))

    assert event_status == 404
