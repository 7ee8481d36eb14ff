"""Placing an order: the flash sale's business rule, free of Lambda and SQS concerns.

An order is placed with ONE ``TransactWriteItems`` call of two actions:

1. Put the order (status ``ACCEPTED``) on condition that no order with its ``order_id`` exists.
2. Decrement the product's ``stock`` on condition that the product exists and ``stock >= quantity``.

DynamoDB applies both or neither, so stock never goes negative and an order id is used at most once,
however many Lambda invocations run at the same time and however often SQS delivers a message. When
DynamoDB cancels the transaction, its cancellation reasons (one per action, in order) say why:

- the order's condition failed: the order exists already (a redelivery or a retried request), so the
  message is a duplicate and nothing more is written;
- the product's condition failed: sold out (or unknown product), so the order is recorded as
  ``REJECTED`` with one conditional put (condition: the order still does not exist). That rejection
  is final: the message succeeds and is not retried;
- a transient reason (a conflict with a concurrent transaction on the same hot product item, or
  throttling): the transaction is retried a few times with jittered backoff, then
  ``TransientOrderError`` is raised so that SQS redelivers the message later (and moves it to the
  dead-letter queue after the queue's maxReceiveCount);
- anything else raises ``OrderPlacementError``, which is also retried by SQS and ends in the DLQ.

Write calls: one per accepted order; at most two per rejected order (the cancelled transaction and
the rejection); a duplicate costs the cancelled transaction only. A transaction cancelled for a
transient reason is sent again, up to ``RetryPolicy.max_attempts`` calls in all.

The stock is never read here, and never from a cache: the conditional update is the only stock check.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final, Protocol

from dbpatterns.handlers.flash_sale.products import PRODUCT_KEY, Product

ORDER_KEY: Final = "order_id"
"""Partition key (string) of the orders table."""
STOCK_ATTRIBUTE: Final = "stock"
"""Number attribute of a product item: units left to sell."""

# Positions of the two actions in the transaction; cancellation reasons come back in the same order.
_ORDER_ACTION: Final = 0
_PRODUCT_ACTION: Final = 1

_CONDITION_FAILED: Final = "ConditionalCheckFailed"
TRANSIENT_CANCELLATION_CODES: Final = frozenset(
    {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"}
)
"""Cancellation reason codes worth retrying: they depend on timing, not on the order."""


class OrderStatus(StrEnum):
    """The ``status`` attribute stored on an order item."""

    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"


class RejectionReason(StrEnum):
    """The ``rejection_reason`` attribute stored on a rejected order item."""

    OUT_OF_STOCK = "OUT_OF_STOCK"
    UNKNOWN_PRODUCT = "UNKNOWN_PRODUCT"


class Outcome(StrEnum):
    """What processing one order message did."""

    ACCEPTED = "ACCEPTED"
    """The order was stored and the stock decremented."""
    REJECTED = "REJECTED"
    """The order was stored as rejected; the stock is unchanged."""
    DUPLICATE = "DUPLICATE"
    """An order with this id existed already; nothing was written."""


class Cancellation(StrEnum):
    """How to read the cancellation reasons of an order's transaction."""

    DUPLICATE = "DUPLICATE"
    OUT_OF_STOCK = "OUT_OF_STOCK"
    UNKNOWN_PRODUCT = "UNKNOWN_PRODUCT"
    TRANSIENT = "TRANSIENT"
    UNEXPECTED = "UNEXPECTED"


class OrderPlacementError(Exception):
    """DynamoDB refused the order for a reason this module cannot act on; the message should be retried."""


class TransientOrderError(OrderPlacementError):
    """DynamoDB cancelled the transaction for a transient reason on every attempt; retry the message later."""


@dataclass(frozen=True, kw_only=True)
class OrderRequest:
    """A validated ``POST /orders`` body (see ``schema.ORDER_REQUEST_SCHEMA``)."""

    order_id: str
    customer_id: str
    product_id: str
    quantity: int


@dataclass(frozen=True, kw_only=True)
class OrderTables:
    """Names of the two tables an order touches."""

    orders: str
    products: str


@dataclass(frozen=True, kw_only=True)
class OrderResult:
    """What ``place_order`` did with one order."""

    order_id: str
    outcome: Outcome
    quantity: int
    rejection_reason: RejectionReason | None = None


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """Retries of a transaction that DynamoDB cancelled for a transient reason, inside one invocation.

    Retrying here costs milliseconds; leaving it to SQS costs a visibility timeout (minutes) and, after
    maxReceiveCount conflicts, would move a valid order to the dead-letter queue.
    """

    max_attempts: int = 3
    """Transaction calls in all, including the first. 1 disables retries."""
    base_delay_seconds: float = 0.025
    """Backoff before the second attempt is drawn from [0, base]; it doubles per attempt ("full jitter")."""
    max_delay_seconds: float = 0.25
    """Upper bound of one backoff."""
    sleep: Callable[[float], None] = time.sleep
    """Waits between attempts; tests pass a function that does not sleep."""

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts is {self.max_attempts}; it must be at least 1")
        if not 0 <= self.base_delay_seconds <= self.max_delay_seconds:
            raise ValueError(
                f"base_delay_seconds ({self.base_delay_seconds}) must be between 0 and max_delay_seconds "
                f"({self.max_delay_seconds})"
            )

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        ceiling = min(self.max_delay_seconds, self.base_delay_seconds * 2 ** (attempt - 1))
        return random.uniform(0, ceiling)  # noqa: S311 - jitter spreads retries, it protects no secret


DEFAULT_RETRY: Final = RetryPolicy()


class OrderWriter(Protocol):
    """The part of a boto3 DynamoDB client that placing an order uses."""

    @property
    def exceptions(self) -> Any: ...

    def transact_write_items(self, **kwargs: Any) -> Any: ...

    def put_item(self, **kwargs: Any) -> Any: ...


def place_order(
    request: OrderRequest,
    *,
    product: Product | None,
    dynamodb: OrderWriter,
    tables: OrderTables,
    message_id: str,
    now: Callable[[], datetime] | None = None,
    retry: RetryPolicy = DEFAULT_RETRY,
) -> OrderResult:
    """Place ``request`` exactly once; see the module docstring for the outcomes and write calls.

    ``product`` is the product as read (through DAX or from DynamoDB), or None when it does not exist;
    its name and price are copied onto the order. ``message_id`` (the SQS message id) is stored for
    tracing. Raises ``TransientOrderError`` or ``OrderPlacementError`` when the message should be retried.
    """
    created_at = (now or _utc_now)().isoformat(timespec="milliseconds")
    if product is None:
        return _record_rejection(
            request, RejectionReason.UNKNOWN_PRODUCT, None, dynamodb, tables, message_id, created_at
        )

    accepted = order_item(
        request, status=OrderStatus.ACCEPTED, product=product, message_id=message_id, created_at=created_at
    )
    transaction = order_transaction(request, accepted, tables)
    attempt = 1
    while True:
        try:
            dynamodb.transact_write_items(TransactItems=transaction)
        except dynamodb.exceptions.TransactionCanceledException as error:
            reasons = error.response.get("CancellationReasons")
            verdict = classify_cancellation(reasons)
        else:
            return OrderResult(order_id=request.order_id, outcome=Outcome.ACCEPTED, quantity=request.quantity)

        if verdict is Cancellation.DUPLICATE:
            return OrderResult(
                order_id=request.order_id, outcome=Outcome.DUPLICATE, quantity=request.quantity
            )
        if verdict is Cancellation.OUT_OF_STOCK or verdict is Cancellation.UNKNOWN_PRODUCT:
            reason = RejectionReason(verdict.value)
            return _record_rejection(request, reason, product, dynamodb, tables, message_id, created_at)
        if verdict is not Cancellation.TRANSIENT:
            raise OrderPlacementError(
                f"order {request.order_id}: DynamoDB cancelled the transaction for reasons this processor "
                f"does not handle: {_codes(reasons)}"
            )
        if attempt >= retry.max_attempts:
            raise TransientOrderError(
                f"order {request.order_id}: DynamoDB cancelled the transaction for a transient reason "
                f"{attempt} times in a row (last reasons: {_codes(reasons)}); the message will be retried"
            )
        retry.sleep(retry.backoff(attempt))
        attempt += 1


def classify_cancellation(reasons: Sequence[Mapping[str, Any]] | None) -> Cancellation:
    """Read the cancellation reasons of an order transaction (order action first, product action second).

    An existing order wins over everything else: the order was placed before, whatever the stock says
    now. A failed stock condition comes next: the rejection is recorded with a conditional put, which
    is safe even while another delivery of the same order is in flight.
    """
    if reasons is None or len(reasons) != 2:
        return Cancellation.UNEXPECTED
    order_reason, product_reason = reasons[_ORDER_ACTION], reasons[_PRODUCT_ACTION]
    if order_reason.get("Code") == _CONDITION_FAILED:
        return Cancellation.DUPLICATE
    if product_reason.get("Code") == _CONDITION_FAILED:
        # The product action asks for ALL_OLD: a missing item means the product does not exist.
        return Cancellation.OUT_OF_STOCK if product_reason.get("Item") else Cancellation.UNKNOWN_PRODUCT
    codes = {reason.get("Code") for reason in reasons} - {"None", None}
    if codes and codes <= TRANSIENT_CANCELLATION_CODES:
        return Cancellation.TRANSIENT
    return Cancellation.UNEXPECTED


def order_transaction(
    request: OrderRequest, item: Mapping[str, Mapping[str, str]], tables: OrderTables
) -> list[dict[str, Any]]:
    """The two actions of an order's ``TransactWriteItems`` call, in low-level DynamoDB JSON."""
    return [
        {
            "Put": {
                "TableName": tables.orders,
                "Item": dict(item),
                "ConditionExpression": "attribute_not_exists(#order_id)",
                "ExpressionAttributeNames": {"#order_id": ORDER_KEY},
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        },
        {
            "Update": {
                "TableName": tables.products,
                "Key": {PRODUCT_KEY: {"S": request.product_id}},
                "UpdateExpression": "SET #stock = #stock - :quantity",
                "ConditionExpression": "attribute_exists(#product_id) AND #stock >= :quantity",
                "ExpressionAttributeNames": {"#stock": STOCK_ATTRIBUTE, "#product_id": PRODUCT_KEY},
                "ExpressionAttributeValues": {":quantity": {"N": str(request.quantity)}},
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        },
    ]


def order_item(
    request: OrderRequest,
    *,
    status: OrderStatus,
    product: Product | None,
    message_id: str,
    created_at: str,
    rejection_reason: RejectionReason | None = None,
) -> dict[str, dict[str, str]]:
    """The order as a DynamoDB item (low-level JSON); well under 1 KB with the schema's length limits."""
    item: dict[str, dict[str, str]] = {
        ORDER_KEY: {"S": request.order_id},
        "customer_id": {"S": request.customer_id},
        "product_id": {"S": request.product_id},
        "quantity": {"N": str(request.quantity)},
        "status": {"S": status.value},
        "created_at": {"S": created_at},
        "message_id": {"S": message_id},
    }
    if product is not None:
        item["product_name"] = {"S": product.name}
        item["unit_price_cents"] = {"N": str(product.price_cents)}
        if status is OrderStatus.ACCEPTED:
            item["total_cents"] = {"N": str(product.price_cents * request.quantity)}
    if rejection_reason is not None:
        item["rejection_reason"] = {"S": rejection_reason.value}
    return item


def _record_rejection(
    request: OrderRequest,
    reason: RejectionReason,
    product: Product | None,
    dynamodb: OrderWriter,
    tables: OrderTables,
    message_id: str,
    created_at: str,
) -> OrderResult:
    item = order_item(
        request,
        status=OrderStatus.REJECTED,
        product=product,
        message_id=message_id,
        created_at=created_at,
        rejection_reason=reason,
    )
    try:
        dynamodb.put_item(
            TableName=tables.orders,
            Item=item,
            ConditionExpression="attribute_not_exists(#order_id)",
            ExpressionAttributeNames={"#order_id": ORDER_KEY},
        )
    except dynamodb.exceptions.ConditionalCheckFailedException:
        # Another delivery of the same order recorded its outcome first (accepted or rejected).
        return OrderResult(order_id=request.order_id, outcome=Outcome.DUPLICATE, quantity=request.quantity)
    return OrderResult(
        order_id=request.order_id,
        outcome=Outcome.REJECTED,
        quantity=request.quantity,
        rejection_reason=reason,
    )


def _codes(reasons: Sequence[Mapping[str, Any]] | None) -> str:
    if reasons is None:
        return "none given"
    return ", ".join(str(reason.get("Code")) for reason in reasons)


def _utc_now() -> datetime:
    return datetime.now(UTC)
