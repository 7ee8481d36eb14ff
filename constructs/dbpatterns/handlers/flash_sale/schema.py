"""The JSON Schema of a ``POST /orders`` request body: the single source of truth.

API Gateway validates request bodies against a model written in JSON Schema draft-04, so the schema
uses draft-04 keywords only (``type``, ``properties``, ``required``, ``additionalProperties``,
``pattern``, ``minimum``, ``maximum``, ``title``, ``description``). The flash-sale construct builds
the API's request model from this dict, the processor validates every queued message with it (a
message can reach the queue without passing the API, e.g. from an operator or a future producer),
and the tests validate requests with it. Change it here and all three follow.

This module imports only the standard library: CDK code imports it at synth time.
"""

from __future__ import annotations

from typing import Any, Final

MAX_QUANTITY: Final = 10
"""Most units one order may buy: a flash sale caps it so that one buyer cannot clear the stock."""

ORDER_ID_PATTERN: Final = "^[A-Za-z0-9_-]{8,64}$"
"""Client-chosen idempotency key: a UUID, ULID or similar, 8 to 64 characters of ``[A-Za-z0-9_-]``."""

ID_PATTERN: Final = "^[A-Za-z0-9_-]{1,64}$"
"""Customer and product identifiers: 1 to 64 characters of ``[A-Za-z0-9_-]``."""

ORDER_REQUEST_SCHEMA: Final[dict[str, Any]] = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "title": "OrderRequest",
    "description": "An order for one product in a flash sale.",
    "type": "object",
    "properties": {
        "order_id": {
            "type": "string",
            "pattern": ORDER_ID_PATTERN,
            "description": (
                "Idempotency key chosen by the client, e.g. a UUID. Retrying a request with the same "
                "order_id never creates a second order."
            ),
        },
        "customer_id": {"type": "string", "pattern": ID_PATTERN, "description": "Who buys."},
        "product_id": {"type": "string", "pattern": ID_PATTERN, "description": "What is bought."},
        "quantity": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_QUANTITY,
            "description": f"Units to buy, 1 to {MAX_QUANTITY}.",
        },
    },
    "required": ["order_id", "customer_id", "product_id", "quantity"],
    "additionalProperties": False,
}
"""JSON Schema (draft-04) of a ``POST /orders`` body. Read-only: deep-copy it to derive another."""
