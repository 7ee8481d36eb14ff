"""Turning an SQS message body into an ``OrderRequest``.

API Gateway's SQS integration enqueues the raw request body, already validated against
``ORDER_REQUEST_SCHEMA``. The processor validates again with the same schema, because anything with
``sqs:SendMessage`` on the queue can bypass the API. A body that is not JSON or does not match the
schema raises ``MalformedOrderError``.

Validation uses fastjsonschema (a dependency of Powertools' validation utility, included in the
public Powertools for AWS Lambda layer), compiled once per execution environment.
"""

from __future__ import annotations

import json
from typing import Any, Final

import fastjsonschema

from dbpatterns.handlers.flash_sale.orders import OrderRequest
from dbpatterns.handlers.flash_sale.schema import ORDER_REQUEST_SCHEMA

_validate_order_request: Final = fastjsonschema.compile(ORDER_REQUEST_SCHEMA)


class MalformedOrderError(ValueError):
    """A message body that is not a valid order request. Retrying it cannot help."""


def parse_order_message(body: str) -> OrderRequest:
    """Parse and validate one message body; raise MalformedOrderError when it is not an order request."""
    try:
        payload: Any = json.loads(body)
    except json.JSONDecodeError as error:
        raise MalformedOrderError(f"message body is not JSON: {error}") from error
    try:
        _validate_order_request(payload)
    except fastjsonschema.JsonSchemaValueException as error:
        raise MalformedOrderError(f"message body is not an order request: {error.message}") from error
    return OrderRequest(
        order_id=payload["order_id"],
        customer_id=payload["customer_id"],
        product_id=payload["product_id"],
        quantity=payload["quantity"],
    )
