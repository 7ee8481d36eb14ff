"""ORDER_REQUEST_SCHEMA: a valid draft-04 schema, and the API and the processor agree on it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft4Validator  # type: ignore[import-untyped, unused-ignore]

from dbpatterns.handlers.flash_sale.messages import MalformedOrderError, parse_order_message
from dbpatterns.handlers.flash_sale.orders import OrderRequest
from dbpatterns.handlers.flash_sale.schema import MAX_QUANTITY, ORDER_REQUEST_SCHEMA

VALID: dict[str, Any] = {
    "order_id": "0f8b7c1e-5d7a-4c1b-9e55-3f1d2f6a9b10",
    "customer_id": "c-42",
    "product_id": "gadget",
    "quantity": 2,
}

INVALID = [
    pytest.param({k: v for k, v in VALID.items() if k != "order_id"}, id="no-order-id"),
    pytest.param({k: v for k, v in VALID.items() if k != "quantity"}, id="no-quantity"),
    pytest.param({**VALID, "coupon": "FREE"}, id="unknown-property"),
    pytest.param({**VALID, "order_id": "short"}, id="order-id-too-short"),
    pytest.param({**VALID, "order_id": "x" * 65}, id="order-id-too-long"),
    pytest.param({**VALID, "order_id": "order 1; drop"}, id="order-id-bad-characters"),
    pytest.param({**VALID, "customer_id": ""}, id="empty-customer"),
    pytest.param({**VALID, "product_id": 42}, id="product-id-not-string"),
    pytest.param({**VALID, "quantity": 0}, id="quantity-zero"),
    pytest.param({**VALID, "quantity": MAX_QUANTITY + 1}, id="quantity-over-max"),
    pytest.param({**VALID, "quantity": 1.5}, id="quantity-fractional"),
    pytest.param({**VALID, "quantity": "2"}, id="quantity-string"),
    pytest.param({**VALID, "quantity": True}, id="quantity-boolean"),
    pytest.param([VALID], id="array"),
]


def test_is_a_valid_draft_04_schema() -> None:
    Draft4Validator.check_schema(ORDER_REQUEST_SCHEMA)
    assert ORDER_REQUEST_SCHEMA["$schema"] == "http://json-schema.org/draft-04/schema#"


def test_accepts_a_valid_order_in_the_api_and_in_the_processor() -> None:
    assert Draft4Validator(ORDER_REQUEST_SCHEMA).is_valid(VALID)
    assert parse_order_message(json.dumps(VALID)) == OrderRequest(
        order_id=VALID["order_id"], customer_id="c-42", product_id="gadget", quantity=2
    )


@pytest.mark.parametrize("body", INVALID)
def test_rejects_invalid_order_in_the_api_and_in_the_processor(body: Any) -> None:
    assert not Draft4Validator(ORDER_REQUEST_SCHEMA).is_valid(body)
    with pytest.raises(MalformedOrderError, match="not an order request"):
        parse_order_message(json.dumps(body))


def test_rejects_a_body_that_is_not_json() -> None:
    with pytest.raises(MalformedOrderError, match="not JSON"):
        parse_order_message("{'order_id': 'single quotes'}")
