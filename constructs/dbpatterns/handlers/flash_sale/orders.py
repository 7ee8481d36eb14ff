"""Placing an order: the flash sale's business rule, free of Lambda and SQS concerns.

An order is placed with ONE ``TransactWriteItems`` call of three actions:

1. Put the order (status ``ACCEPTED``, with the price charged) on condition that no item with its
   ``order_id`` exists.
2. Take the units from the product's ``stock`` on condition that the product exists, has
   ``stock >= quantity`` and still has the price that was read (``price_cents = :price``).
3. Add the units to the customer's purchase counter for the product (item
   ``purchases#<customer_id>#<product_id>`` of the orders table) on condition that the counter stays
   within the per-customer limit.

DynamoDB applies all three or none, so the stock never goes negative, no customer buys more than the
limit, the price stored is the price DynamoDB held when the stock was taken, and an order id is used
at most once, however many Lambda invocations run at the same time and however often SQS delivers a
message. Every action asks for ``ReturnValuesOnConditionCheckFailure=ALL_OLD``, so when DynamoDB
cancels the transaction its cancellation reasons (one per action, in order) carry the items as they
were, and decide:

- the order's condition failed: an item with this ``order_id`` exists. If it has the same content
  (customer, product, quantity) the message is a duplicate (a redelivery or a retried request) and
  nothing more is written. Otherwise the order id was reused for another order: a *conflict*,
  recorded as item ``<order_id>#conflict#<customer_id>`` (status ``CONFLICT``) so that its customer
  sees it through ``GET /orders/{order_id}``; the first order keeps the id.
- the product is missing: ``UNKNOWN_PRODUCT``; the customer's counter would pass the limit:
  ``CUSTOMER_LIMIT``; the stock is short: ``OUT_OF_STOCK``. The order is recorded as ``REJECTED``
  with one conditional put (condition: the order id is still free) and the message is not retried.
- only the price differed: the price read (through DAX) was stale. The transaction is sent again at
  once with the product as DynamoDB returned it, once; a second price change in a row is transient.
- a transient reason (a conflict with a concurrent transaction on the same hot product item, or
  throttling): the transaction is retried a few times with jittered backoff, then
  ``TransientOrderError`` is raised so that SQS redelivers the message later;
- anything else raises ``OrderPlacementError``, which is also retried by SQS and ends in the DLQ.

Every decision is DynamoDB's: a cache may have provided the name and price, never an outcome.

Write calls: one per accepted order (two after a stale price); at most two per rejected order (the
cancelled transaction and the rejection); a duplicate costs the cancelled transaction only; a conflict
costs the cancelled transaction and the conditional put of its record.

Items of the orders table, by key (``order_id``, string): ``<order_id>`` an order (order ids match
``schema.ORDER_ID_PATTERN``, which has no ``#``), ``<order_id>#conflict#<customer_id>`` a conflict,
``purchases#<customer_id>#<product_id>`` a purchase counter. ``record_type`` says which.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final, Protocol

from dbpatterns.handlers.flash_sale.products import PRICE_ATTRIBUTE, PRODUCT_KEY, Product, product_from_item
from dbpatterns.handlers.flash_sale.settings import DEFAULT_MAX_UNITS_PER_CUSTOMER

ORDER_KEY: Final = "order_id"
"""Partition key (string) of the orders table."""
STOCK_ATTRIBUTE: Final = "stock"
"""Number attribute of a product item: units left to sell."""
UNITS_ATTRIBUTE: Final = "units"
"""Number attribute of a purchase counter: units the customer bought of the product."""
RECORD_TYPE_ATTRIBUTE: Final = "record_type"
CONTENT_ATTRIBUTES: Final = ("customer_id", "product_id", "quantity", "requested_customer_id")
"""What makes two requests for one order id the same request."""
CONFLICT_REASON: Final = "ORDER_ID_IN_USE"

# Positions of the actions in the transaction; cancellation reasons come back in the same order.
_ORDER_ACTION: Final = 0
_PRODUCT_ACTION: Final = 1
_PURCHASES_ACTION: Final = 2
_ACTIONS: Final = 3

_CONDITION_FAILED: Final = "ConditionalCheckFailed"
TRANSIENT_CANCELLATION_CODES: Final = frozenset(
    {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"}
)
"""Cancellation reason codes worth retrying: they depend on timing, not on the order."""
MAX_PRICE_RETRIES: Final = 1
"""Transactions sent again with the price DynamoDB returned, per message, before giving up for now."""


class RecordType(StrEnum):
    """The ``record_type`` attribute of the items of the orders table."""

    ORDER = "ORDER"
    CONFLICT = "CONFLICT"
    PURCHASES = "PURCHASES"


class OrderStatus(StrEnum):
    """The ``status`` attribute stored on an order item (and ``CONFLICT`` on a conflict record)."""

    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"
    CONFLICT = "CONFLICT"


class RejectionReason(StrEnum):
    """The ``rejection_reason`` attribute stored on a rejected order item."""

    OUT_OF_STOCK = "OUT_OF_STOCK"
    UNKNOWN_PRODUCT = "UNKNOWN_PRODUCT"
    CUSTOMER_LIMIT = "CUSTOMER_LIMIT"
    """The customer would pass the per-customer limit of units of this product."""
    CUSTOMER_MISMATCH = "CUSTOMER_MISMATCH"
    """The body named another customer than the caller (see ``identity``)."""


class Outcome(StrEnum):
    """What processing one order message did."""

    ACCEPTED = "ACCEPTED"
    """The order was stored and the stock decremented."""
    REJECTED = "REJECTED"
    """The order was stored as rejected; the stock is unchanged."""
    DUPLICATE = "DUPLICATE"
    """The same request was recorded before (order or conflict); nothing was written."""
    CONFLICT = "CONFLICT"
    """The order id belongs to another order; the request was recorded as a conflict."""


class Cancellation(StrEnum):
    """How to read the cancellation reasons of an order's transaction."""

    ORDER_EXISTS = "ORDER_EXISTS"
    UNKNOWN_PRODUCT = "UNKNOWN_PRODUCT"
    CUSTOMER_LIMIT = "CUSTOMER_LIMIT"
    OUT_OF_STOCK = "OUT_OF_STOCK"
    PRICE_CHANGED = "PRICE_CHANGED"
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
    unit_price_cents: int | None = None
    """Price charged per unit (accepted orders)."""
    stale_price_retries: int = 0
    """Transactions sent again because the price read was not DynamoDB's any more."""


@dataclass(frozen=True, kw_only=True)
class CancellationVerdict:
    """A reading of the cancellation reasons, with the items DynamoDB returned that matter."""

    kind: Cancellation
    existing: Mapping[str, Any] | None = None
    """The stored item with this order id (``ORDER_EXISTS``)."""
    current: Product | None = None
    """The product as DynamoDB holds it (when its condition failed and it exists)."""


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """Retries of a transaction that DynamoDB cancelled for a transient reason, inside one invocation.

    Retrying here costs milliseconds; a message that still fails is handed back to SQS with a short,
    growing visibility timeout (see ``backoff``).
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


@dataclass(frozen=True, kw_only=True)
class _Context:
    request: OrderRequest
    dynamodb: OrderWriter
    tables: OrderTables
    message_id: str
    created_at: str


def conflict_key(order_id: str, customer_id: str) -> str:
    """Key of the record of ``customer_id``'s request that reused ``order_id``."""
    return f"{order_id}#conflict#{customer_id}"


def purchases_key(customer_id: str, product_id: str) -> str:
    """Key of the counter of units ``customer_id`` bought of ``product_id``."""
    return f"purchases#{customer_id}#{product_id}"


def place_order(
    request: OrderRequest,
    *,
    product: Product | None,
    dynamodb: OrderWriter,
    tables: OrderTables,
    message_id: str,
    max_units_per_customer: int = DEFAULT_MAX_UNITS_PER_CUSTOMER,
    now: Callable[[], datetime] | None = None,
    retry: RetryPolicy = DEFAULT_RETRY,
) -> OrderResult:
    """Place ``request`` exactly once; see the module docstring for the outcomes and write calls.

    ``product`` is the product as read (through DAX, or consistently from DynamoDB), or None when
    DynamoDB says it does not exist; its name and price go onto the order once DynamoDB confirms the
    price. ``message_id`` (the SQS message id) is stored for tracing. Raises ``TransientOrderError`` or
    ``OrderPlacementError`` when the message should be retried.
    """
    context = _Context(
        request=request,
        dynamodb=dynamodb,
        tables=tables,
        message_id=message_id,
        created_at=(now or _utc_now)().isoformat(timespec="milliseconds"),
    )
    if product is None:
        return _record_rejection(context, RejectionReason.UNKNOWN_PRODUCT, None)
    if request.quantity > max_units_per_customer:
        return _record_rejection(context, RejectionReason.CUSTOMER_LIMIT, product)

    attempt, price_retries = 1, 0
    while True:
        accepted = order_item(
            request,
            status=OrderStatus.ACCEPTED,
            product=product,
            message_id=message_id,
            created_at=context.created_at,
        )
        try:
            dynamodb.transact_write_items(
                TransactItems=order_transaction(request, accepted, product, tables, max_units_per_customer)
            )
        except dynamodb.exceptions.TransactionCanceledException as error:
            reasons = error.response.get("CancellationReasons")
            verdict = read_cancellation(reasons, request, product)
        else:
            return OrderResult(
                order_id=request.order_id,
                outcome=Outcome.ACCEPTED,
                quantity=request.quantity,
                unit_price_cents=product.price_cents,
                stale_price_retries=price_retries,
            )

        match verdict.kind:
            case Cancellation.ORDER_EXISTS:
                assert verdict.existing is not None
                return _settle_reuse(context, verdict.existing, accepted)
            case Cancellation.UNKNOWN_PRODUCT | Cancellation.CUSTOMER_LIMIT | Cancellation.OUT_OF_STOCK:
                reason = RejectionReason(verdict.kind.value)
                return _record_rejection(context, reason, verdict.current or product, price_retries)
            case Cancellation.PRICE_CHANGED if price_retries < MAX_PRICE_RETRIES:
                assert verdict.current is not None
                product, price_retries = verdict.current, price_retries + 1
                continue
            case Cancellation.PRICE_CHANGED:
                raise TransientOrderError(
                    f"order {request.order_id}: the price of {request.product_id} changed again while the "
                    "order was placed; the message will be retried"
                )
            case Cancellation.TRANSIENT if attempt < retry.max_attempts:
                retry.sleep(retry.backoff(attempt))
                attempt += 1
            case Cancellation.TRANSIENT:
                raise TransientOrderError(
                    f"order {request.order_id}: DynamoDB cancelled the transaction for a transient reason "
                    f"{attempt} times in a row (last reasons: {_codes(reasons)}); the message will be retried"
                )
            case _:
                raise OrderPlacementError(
                    f"order {request.order_id}: DynamoDB cancelled the transaction for reasons this "
                    f"processor does not handle: {_codes(reasons)}"
                )


def record_customer_mismatch(
    request: OrderRequest,
    *,
    caller_customer_id: str,
    dynamodb: OrderWriter,
    tables: OrderTables,
    message_id: str,
    now: Callable[[], datetime] | None = None,
) -> OrderResult:
    """Record ``request`` as REJECTED/CUSTOMER_MISMATCH for its caller, who named another customer.

    The order is stored under the caller's customer id (so the caller sees the rejection) with the
    customer the body named in ``requested_customer_id``; nothing touches the named customer's
    counter or the stock.
    """
    for_caller = OrderRequest(
        order_id=request.order_id,
        customer_id=caller_customer_id,
        product_id=request.product_id,
        quantity=request.quantity,
    )
    context = _Context(
        request=for_caller,
        dynamodb=dynamodb,
        tables=tables,
        message_id=message_id,
        created_at=(now or _utc_now)().isoformat(timespec="milliseconds"),
    )
    return _record_rejection(
        context, RejectionReason.CUSTOMER_MISMATCH, None, requested_customer_id=request.customer_id
    )


def read_cancellation(
    reasons: Sequence[Mapping[str, Any]] | None, request: OrderRequest, product: Product
) -> CancellationVerdict:
    """Read the cancellation reasons of an order transaction (order, product, purchases).

    An existing order wins over everything else: the order id was used before, whatever the stock
    says now. Then the product (missing), the customer's limit, the stock and the price, in that
    order: a rejection is final, a price change only sends the transaction again.
    ``ProductDataError`` propagates when DynamoDB's product item is unusable.
    """
    if reasons is None or len(reasons) != _ACTIONS:
        return CancellationVerdict(kind=Cancellation.UNEXPECTED)
    order, product_reason, purchases = (
        reasons[i] for i in (_ORDER_ACTION, _PRODUCT_ACTION, _PURCHASES_ACTION)
    )
    if order.get("Code") == _CONDITION_FAILED:
        existing = order.get("Item")
        if not existing:  # ALL_OLD was asked for: without the item the content cannot be compared
            return CancellationVerdict(kind=Cancellation.UNEXPECTED)
        return CancellationVerdict(kind=Cancellation.ORDER_EXISTS, existing=existing)
    current: Product | None = None
    if product_reason.get("Code") == _CONDITION_FAILED:
        item = product_reason.get("Item")
        if not item:
            return CancellationVerdict(kind=Cancellation.UNKNOWN_PRODUCT)
        current = product_from_item(request.product_id, item)
        if purchases.get("Code") == _CONDITION_FAILED:
            return CancellationVerdict(kind=Cancellation.CUSTOMER_LIMIT, current=current)
        if _number(item, STOCK_ATTRIBUTE) < request.quantity:
            return CancellationVerdict(kind=Cancellation.OUT_OF_STOCK, current=current)
        if current.price_cents != product.price_cents:
            return CancellationVerdict(kind=Cancellation.PRICE_CHANGED, current=current)
        return CancellationVerdict(kind=Cancellation.UNEXPECTED)
    if purchases.get("Code") == _CONDITION_FAILED:
        return CancellationVerdict(kind=Cancellation.CUSTOMER_LIMIT)
    codes = {reason.get("Code") for reason in reasons} - {"None", None}
    if codes and codes <= TRANSIENT_CANCELLATION_CODES:
        return CancellationVerdict(kind=Cancellation.TRANSIENT)
    return CancellationVerdict(kind=Cancellation.UNEXPECTED)


def order_transaction(
    request: OrderRequest,
    item: Mapping[str, Mapping[str, str]],
    product: Product,
    tables: OrderTables,
    max_units_per_customer: int,
) -> list[dict[str, Any]]:
    """The three actions of an order's ``TransactWriteItems`` call, in low-level DynamoDB JSON."""
    quantity = {"N": str(request.quantity)}
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
                "ConditionExpression": (
                    "attribute_exists(#product_id) AND #stock >= :quantity AND #price = :price"
                ),
                "ExpressionAttributeNames": {
                    "#stock": STOCK_ATTRIBUTE,
                    "#product_id": PRODUCT_KEY,
                    "#price": PRICE_ATTRIBUTE,
                },
                "ExpressionAttributeValues": {
                    ":quantity": quantity,
                    ":price": {"N": str(product.price_cents)},
                },
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        },
        {
            "Update": {
                "TableName": tables.orders,
                "Key": {ORDER_KEY: {"S": purchases_key(request.customer_id, request.product_id)}},
                "UpdateExpression": (
                    "SET #type = :type, #customer = :customer, #product = :product ADD #units :quantity"
                ),
                "ConditionExpression": "attribute_not_exists(#units) OR #units <= :room",
                "ExpressionAttributeNames": {
                    "#type": RECORD_TYPE_ATTRIBUTE,
                    "#customer": "customer_id",
                    "#product": "product_id",
                    "#units": UNITS_ATTRIBUTE,
                },
                "ExpressionAttributeValues": {
                    ":type": {"S": RecordType.PURCHASES.value},
                    ":customer": {"S": request.customer_id},
                    ":product": {"S": request.product_id},
                    ":quantity": quantity,
                    # Units the customer may have bought before for this order to stay within the limit.
                    ":room": {"N": str(max_units_per_customer - request.quantity)},
                },
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
    requested_customer_id: str | None = None,
) -> dict[str, dict[str, str]]:
    """The order as a DynamoDB item (low-level JSON); well under 1 KB with the schema's length limits."""
    item: dict[str, dict[str, str]] = {
        ORDER_KEY: {"S": request.order_id},
        RECORD_TYPE_ATTRIBUTE: {"S": RecordType.ORDER.value},
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
    if requested_customer_id is not None:
        item["requested_customer_id"] = {"S": requested_customer_id}
    return item


def conflict_item(attempted: Mapping[str, Mapping[str, str]], *, order_id: str) -> dict[str, dict[str, str]]:
    """The record of a request (``attempted``, the item it would have stored) that reused ``order_id``."""
    item: dict[str, dict[str, str]] = {
        name: dict(attempted[name])
        for name in (*CONTENT_ATTRIBUTES, "created_at", "message_id")
        if name in attempted
    }
    customer_id = attempted["customer_id"]["S"]
    item.update(
        {
            ORDER_KEY: {"S": conflict_key(order_id, customer_id)},
            RECORD_TYPE_ATTRIBUTE: {"S": RecordType.CONFLICT.value},
            "conflicting_order_id": {"S": order_id},
            "status": {"S": OrderStatus.CONFLICT.value},
            "reason": {"S": CONFLICT_REASON},
        }
    )
    return item


def same_request(stored: Mapping[str, Any], attempted: Mapping[str, Any]) -> bool:
    """Whether two items of one order id record the same request (see ``CONTENT_ATTRIBUTES``)."""
    return all(stored.get(name) == attempted.get(name) for name in CONTENT_ATTRIBUTES)


def _settle_reuse(
    context: _Context, existing: Mapping[str, Any], attempted: Mapping[str, Mapping[str, str]]
) -> OrderResult:
    """The order id is taken: a duplicate of the stored request, or a conflict to record."""
    request = context.request
    if same_request(existing, attempted):
        return OrderResult(order_id=request.order_id, outcome=Outcome.DUPLICATE, quantity=request.quantity)
    record = conflict_item(attempted, order_id=request.order_id)
    try:
        context.dynamodb.put_item(
            TableName=context.tables.orders,
            Item=record,
            ConditionExpression="attribute_not_exists(#order_id)",
            ExpressionAttributeNames={"#order_id": ORDER_KEY},
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except context.dynamodb.exceptions.ConditionalCheckFailedException as error:
        # This customer's conflict on this order id is recorded already: the same request again is a
        # duplicate; another conflicting request keeps the first record and is counted as a conflict.
        if same_request(error.response.get("Item") or {}, record):
            return OrderResult(
                order_id=request.order_id, outcome=Outcome.DUPLICATE, quantity=request.quantity
            )
    return OrderResult(order_id=request.order_id, outcome=Outcome.CONFLICT, quantity=request.quantity)


def _record_rejection(
    context: _Context,
    reason: RejectionReason,
    product: Product | None,
    price_retries: int = 0,
    *,
    requested_customer_id: str | None = None,
) -> OrderResult:
    request = context.request
    item = order_item(
        request,
        status=OrderStatus.REJECTED,
        product=product,
        message_id=context.message_id,
        created_at=context.created_at,
        rejection_reason=reason,
        requested_customer_id=requested_customer_id,
    )
    try:
        context.dynamodb.put_item(
            TableName=context.tables.orders,
            Item=item,
            ConditionExpression="attribute_not_exists(#order_id)",
            ExpressionAttributeNames={"#order_id": ORDER_KEY},
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except context.dynamodb.exceptions.ConditionalCheckFailedException as error:
        # Another delivery recorded an outcome for this order id first (the same request, accepted or
        # rejected: a duplicate), or another request took the id (a conflict).
        existing = error.response.get("Item")
        if not existing:
            raise OrderPlacementError(
                f"order {request.order_id}: the rejection's condition failed but DynamoDB returned no item"
            ) from error
        return _settle_reuse(context, existing, item)
    return OrderResult(
        order_id=request.order_id,
        outcome=Outcome.REJECTED,
        quantity=request.quantity,
        rejection_reason=reason,
        stale_price_retries=price_retries,
    )


def _number(item: Mapping[str, Mapping[str, Any]], name: str) -> int:
    value = item.get(name, {}).get("N")
    try:
        return int(value) if value is not None else 0
    except ValueError:
        return 0


def _codes(reasons: Sequence[Mapping[str, Any]] | None) -> str:
    if reasons is None:
        return "none given"
    return ", ".join(str(reason.get("Code")) for reason in reasons)


def _utc_now() -> datetime:
    return datetime.now(UTC)
