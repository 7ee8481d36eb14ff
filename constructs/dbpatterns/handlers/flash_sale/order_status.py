"""Read side of the flash sale: ``GET /orders/{order_id}`` (API Gateway REST, Lambda proxy integration).

Handler: ``dbpatterns.handlers.flash_sale.order_status.handler``. IAM-authorized like ``POST /orders``.
The caller's customer id comes from its IAM identity (``identity.customer_id_of``), never from the
request, and only the caller's own records are shown:

- 200 ``{"order_id", "status": "PENDING"}``: no decision is recorded for this caller under this order
  id yet: its message is still in the queue (or in the dead-letter queue, which alarms), or there is
  no such order, or the order id belongs to another customer's order. The three read the same on
  purpose: the answer never depends on somebody else's orders, so it tells a caller nothing about
  them (no 403/404 that would confirm that someone else's order exists). Order ids are client-chosen
  UUIDs, so a caller polls only ids it sent itself.
- 200 the order (``status`` ``ACCEPTED`` with ``unit_price_cents`` and ``total_cents``, or ``REJECTED``
  with ``rejection_reason``) when the caller is its customer. If the same caller later reused the
  order id for a different request, ``conflicting_request`` describes that refused request.
- 200 ``{"status": "CONFLICT", "reason": "ORDER_ID_IN_USE", ...}`` with the caller's own request when
  the caller reused an order id another customer's order owns.
- 400 ``{"message", "field": "order_id"}`` when the order id does not match ``ORDER_ID_PATTERN`` (API
  Gateway request validators check that a path parameter is present, not its pattern, so the handler
  does).
- 403 when the caller's identity maps to no customer (an IAM user, a role that is not a customer role
  when ``CUSTOMER_ROLE_NAMES`` is set, a session name that is not a customer id).

Each request is one ``BatchGetItem`` of two keys with strongly consistent reads (a decision written a
millisecond ago is seen): the order and the caller's conflict record for that order id. Responses
carry ``Cache-Control: no-store``.

Environment: ``ORDERS_TABLE_NAME`` (required), ``CUSTOMER_ROLE_NAMES`` (optional, see ``settings``);
Powertools' ``POWERTOOLS_SERVICE_NAME`` and ``POWERTOOLS_METRICS_NAMESPACE`` (defaults:
``flash-sale-order-status`` and ``DbPatterns/FlashSale``).
Metrics (count): ``OrderStatusReads`` (answered 200), of which ``OrderStatusPending``;
``OrderStatusForbidden`` (403) and ``OrderStatusMalformed`` (400).
"""

from __future__ import annotations

import functools
import json
import os
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol

import boto3  # type: ignore[import-untyped, unused-ignore]
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config  # type: ignore[import-untyped, unused-ignore]

from dbpatterns.handlers.flash_sale.identity import CallerIdentity, UnmappableCallerError, customer_id_of
from dbpatterns.handlers.flash_sale.orders import ORDER_KEY, conflict_key
from dbpatterns.handlers.flash_sale.schema import ORDER_ID_PATTERN
from dbpatterns.handlers.flash_sale.settings import StatusSettings

PENDING: Final = "PENDING"
_ORDER_ID: Final = re.compile(ORDER_ID_PATTERN)
_NO_STORE: Final = {"Cache-Control": "no-store"}
_ORDER_FIELDS: Final = (
    "order_id",
    "status",
    "customer_id",
    "requested_customer_id",
    "product_id",
    "quantity",
    "product_name",
    "unit_price_cents",
    "total_cents",
    "rejection_reason",
    "created_at",
)
_CONFLICT_FIELDS: Final = (
    "status",
    "reason",
    "customer_id",
    "requested_customer_id",
    "product_id",
    "quantity",
    "created_at",
)
_UNPROCESSED_ATTEMPTS: Final = 3
_DYNAMODB_CONFIG: Final = Config(
    retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=3
)

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "flash-sale-order-status"))
tracer = Tracer()
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "DbPatterns/FlashSale"))
app = APIGatewayRestResolver()


class ItemBatchReader(Protocol):
    def batch_get_item(self, **kwargs: Any) -> Any: ...


@dataclass(frozen=True, kw_only=True)
class Dependencies:
    settings: StatusSettings
    dynamodb: ItemBatchReader


@functools.cache
def dependencies() -> Dependencies:
    """Settings and the DynamoDB client, created once per execution environment."""
    return Dependencies(
        settings=StatusSettings.from_env(), dynamodb=boto3.client("dynamodb", config=_DYNAMODB_CONFIG)
    )


@app.get("/orders/<order_id>")
def get_order(order_id: str) -> Response[str]:
    if not _ORDER_ID.fullmatch(order_id):
        metrics.add_metric(name="OrderStatusMalformed", unit=MetricUnit.Count, value=1)
        return _json(
            400,
            {"message": f"order_id must match {ORDER_ID_PATTERN} (8 to 64 characters)", "field": "order_id"},
        )
    deps = dependencies()
    identity = app.current_event.request_context.identity
    caller = CallerIdentity(user_arn=identity.user_arn, cognito_identity_id=identity.cognito_identity_id)
    try:
        customer_id = customer_id_of(caller, customer_roles=deps.settings.customer_roles)
    except UnmappableCallerError as error:
        metrics.add_metric(name="OrderStatusForbidden", unit=MetricUnit.Count, value=1)
        logger.warning("Caller is no customer", extra={"order_id": order_id, "reason": str(error)})
        return _json(403, {"message": "the caller's identity is not a customer of this shop"})

    view = order_view(deps.dynamodb, deps.settings.orders_table_name, order_id, customer_id)
    metrics.add_metric(name="OrderStatusReads", unit=MetricUnit.Count, value=1)
    if view["status"] == PENDING:
        metrics.add_metric(name="OrderStatusPending", unit=MetricUnit.Count, value=1)
    return _json(200, view)


def order_view(dynamodb: ItemBatchReader, table: str, order_id: str, customer_id: str) -> dict[str, Any]:
    """What ``customer_id`` may see of ``order_id`` (see the module docstring), from consistent reads."""
    items = _read_both(dynamodb, table, order_id, conflict_key(order_id, customer_id))
    order, conflict = items.get(order_id), items.get(conflict_key(order_id, customer_id))
    if order is not None and order.get("customer_id") == customer_id:
        view = _pick(order, _ORDER_FIELDS)
        if conflict is not None:
            view["conflicting_request"] = _pick(conflict, (f for f in _CONFLICT_FIELDS if f != "customer_id"))
        return view
    if conflict is not None:
        return {"order_id": order_id, **_pick(conflict, _CONFLICT_FIELDS)}
    return {"order_id": order_id, "status": PENDING}


def _read_both(dynamodb: ItemBatchReader, table: str, *keys: str) -> dict[str, dict[str, Any]]:
    """The items with ``keys`` that exist, as plain values, read with ``ConsistentRead``."""
    request: dict[str, Any] = {
        table: {"Keys": [{ORDER_KEY: {"S": key}} for key in keys], "ConsistentRead": True}
    }
    found: dict[str, dict[str, Any]] = {}
    for attempt in range(_UNPROCESSED_ATTEMPTS):
        response = dynamodb.batch_get_item(RequestItems=request)
        for item in response.get("Responses", {}).get(table, []):
            plain = {name: _plain(value) for name, value in item.items()}
            found[str(plain[ORDER_KEY])] = plain
        request = response.get("UnprocessedKeys") or {}
        if not request:
            return found
        time.sleep(0.05 * 2**attempt)
    raise RuntimeError(f"DynamoDB left keys unprocessed {_UNPROCESSED_ATTEMPTS} times: {list(request)}")


def _plain(value: Mapping[str, Any]) -> Any:
    if "N" in value:
        return int(value["N"])
    if "S" in value:
        return value["S"]
    return None


def _pick(item: Mapping[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    return {field: item[field] for field in fields if field in item and item[field] is not None}


def _json(status: int, body: Mapping[str, Any]) -> Response[str]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(body),
        headers=_NO_STORE,
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
