"""``orders.place_order`` against moto, and the reading of transaction cancellation reasons."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from dbpatterns.handlers.flash_sale.orders import (
    Cancellation,
    OrderPlacementError,
    OrderRequest,
    OrderTables,
    Outcome,
    RejectionReason,
    RetryPolicy,
    TransientOrderError,
    place_order,
    read_cancellation,
)
from dbpatterns.handlers.flash_sale.products import Product, ProductDataError
from tests.handlers.flash_sale.support import all_items, all_orders, put_product, stock_of

GADGET = Product(product_id="gadget", name="Gadget", price_cents=1999)
NO_WAIT = RetryPolicy(sleep=lambda _seconds: None)


def request(order_id: str = "order-0001", quantity: int = 1, customer_id: str = "alice") -> OrderRequest:
    return OrderRequest(order_id=order_id, customer_id=customer_id, product_id="gadget", quantity=quantity)


def cancelled(client: Any, *codes: str) -> Exception:
    """The TransactionCanceledException DynamoDB raises, with one reason code per action.

    The actions are, in order: the order put, the stock update, the purchase counter update.
    """
    error: Exception = client.exceptions.TransactionCanceledException(
        {
            "Error": {
                "Code": "TransactionCanceledException",
                "Message": f"Transaction cancelled {list(codes)}",
            },
            "CancellationReasons": [{"Code": code} for code in codes],
        },
        "TransactWriteItems",
    )
    return error


class ScriptedClient:
    """A DynamoDB client whose ``transact_write_items`` runs scripted steps before reaching moto.

    Each step runs for one call: an exception to raise instead of calling DynamoDB, or a callable
    run just after the real call failed (to interleave another delivery at that point).
    """

    def __init__(self, client: Any, *steps: Exception | Callable[[], None] | None) -> None:
        self._client = client
        self._steps = list(steps)
        self.transactions = 0
        self.puts = 0

    @property
    def exceptions(self) -> Any:
        return self._client.exceptions

    def transact_write_items(self, **kwargs: Any) -> Any:
        self.transactions += 1
        step = self._steps.pop(0) if self._steps else None
        if isinstance(step, Exception):
            raise step
        try:
            return self._client.transact_write_items(**kwargs)
        except self._client.exceptions.TransactionCanceledException:
            if step is not None:
                step()
            raise

    def put_item(self, **kwargs: Any) -> Any:
        self.puts += 1
        return self._client.put_item(**kwargs)


def place(
    client: Any, tables: OrderTables, order: OrderRequest, product: Product | None = GADGET, **kwargs: Any
) -> Any:
    return place_order(
        order,
        product=product,
        dynamodb=client,
        tables=tables,
        message_id="message-1",
        now=lambda: datetime(2026, 11, 27, 9, 0, tzinfo=UTC),
        retry=kwargs.pop("retry", NO_WAIT),
        **kwargs,
    )


def test_accepted_order_stores_the_order_with_price_and_timestamp(dynamodb: Any, tables: OrderTables) -> None:
    put_product(dynamodb, tables.products, "gadget", stock=10)

    result = place(dynamodb, tables, request(quantity=3))

    assert result.outcome is Outcome.ACCEPTED
    assert all_orders(dynamodb, tables.orders)["order-0001"] == {
        "order_id": "order-0001",
        "record_type": "ORDER",
        "customer_id": "alice",
        "product_id": "gadget",
        "quantity": 3,
        "status": "ACCEPTED",
        "created_at": "2026-11-27T09:00:00.000+00:00",
        "message_id": "message-1",
        "product_name": "Gadget",
        "unit_price_cents": 1999,
        "total_cents": 5997,
    }
    assert stock_of(dynamodb, tables.products, "gadget") == 7
    assert all_items(dynamodb, tables.orders)["purchases#alice#gadget"] == {
        "order_id": "purchases#alice#gadget",
        "record_type": "PURCHASES",
        "customer_id": "alice",
        "product_id": "gadget",
        "units": 3,
    }


def test_order_placed_twice_is_a_duplicate_the_second_time(dynamodb: Any, tables: OrderTables) -> None:
    put_product(dynamodb, tables.products, "gadget", stock=10)

    outcomes = [place(dynamodb, tables, request(quantity=2)).outcome for _ in range(2)]

    assert outcomes == [Outcome.ACCEPTED, Outcome.DUPLICATE]
    assert stock_of(dynamodb, tables.products, "gadget") == 8


def test_duplicate_of_a_rejected_order_stays_rejected_after_a_restock(
    dynamodb: Any, tables: OrderTables
) -> None:
    put_product(dynamodb, tables.products, "gadget", stock=0)
    assert place(dynamodb, tables, request()).outcome is Outcome.REJECTED
    put_product(dynamodb, tables.products, "gadget", stock=10)

    result = place(dynamodb, tables, request())

    assert result.outcome is Outcome.DUPLICATE
    assert all_orders(dynamodb, tables.orders)["order-0001"]["status"] == "REJECTED"
    assert stock_of(dynamodb, tables.products, "gadget") == 10


def test_rejection_racing_a_successful_redelivery_keeps_the_accepted_order(
    dynamodb: Any, tables: OrderTables
) -> None:
    # Delivery A finds the product sold out. Before A records the rejection, stock is added and
    # delivery B of the same order succeeds. A's conditional put must then leave B's order alone.
    put_product(dynamodb, tables.products, "gadget", stock=0)

    def restock_and_deliver_again() -> None:
        put_product(dynamodb, tables.products, "gadget", stock=5)
        assert place(dynamodb, tables, request()).outcome is Outcome.ACCEPTED

    delivery_a = ScriptedClient(dynamodb, restock_and_deliver_again)
    result = place(delivery_a, tables, request())

    assert result.outcome is Outcome.DUPLICATE
    assert all_orders(dynamodb, tables.orders)["order-0001"]["status"] == "ACCEPTED"
    assert stock_of(dynamodb, tables.products, "gadget") == 4
    assert (delivery_a.transactions, delivery_a.puts) == (1, 1)


def test_product_dynamodb_does_not_have_is_rejected_with_one_write_and_no_transaction(
    dynamodb: Any, tables: OrderTables
) -> None:
    # product=None: the caller read the product consistently from DynamoDB and found nothing.
    client = ScriptedClient(dynamodb)

    result = place(client, tables, request(), product=None)

    assert result.outcome is Outcome.REJECTED
    assert result.rejection_reason is RejectionReason.UNKNOWN_PRODUCT
    assert (client.transactions, client.puts) == (0, 1)


def test_product_deleted_after_it_was_read_is_rejected_as_unknown(dynamodb: Any, tables: OrderTables) -> None:
    # The product was read (from a cache, say) but no longer exists when the transaction runs.
    result = place(dynamodb, tables, request(), product=GADGET)

    assert result.rejection_reason is RejectionReason.UNKNOWN_PRODUCT
    assert all_orders(dynamodb, tables.orders)["order-0001"]["status"] == "REJECTED"


def test_transaction_conflict_is_retried_in_process_then_accepted(dynamodb: Any, tables: OrderTables) -> None:
    put_product(dynamodb, tables.products, "gadget", stock=5)
    waits: list[float] = []
    client = ScriptedClient(dynamodb, cancelled(dynamodb, "None", "TransactionConflict", "None"))

    result = place(client, tables, request(), retry=RetryPolicy(sleep=waits.append))

    assert result.outcome is Outcome.ACCEPTED
    assert client.transactions == 2
    assert len(waits) == 1
    assert 0 <= waits[0] <= RetryPolicy().base_delay_seconds
    assert stock_of(dynamodb, tables.products, "gadget") == 4


def test_fails_with_transient_error_when_every_attempt_is_throttled(
    dynamodb: Any, tables: OrderTables
) -> None:
    put_product(dynamodb, tables.products, "gadget", stock=5)
    throttled = [cancelled(dynamodb, "ThrottlingError", "None", "None") for _ in range(3)]
    client = ScriptedClient(dynamodb, *throttled)

    with pytest.raises(TransientOrderError, match="transient reason 3 times"):
        place(client, tables, request(), retry=RetryPolicy(max_attempts=3, sleep=lambda _seconds: None))

    assert client.transactions == 3
    assert all_orders(dynamodb, tables.orders) == {}
    assert stock_of(dynamodb, tables.products, "gadget") == 5


def test_fails_with_placement_error_on_a_cancellation_it_does_not_understand(
    dynamodb: Any, tables: OrderTables
) -> None:
    client = ScriptedClient(dynamodb, cancelled(dynamodb, "ValidationError", "None", "None"))

    with pytest.raises(OrderPlacementError, match="ValidationError, None, None"):
        place(client, tables, request())

    assert client.transactions == 1


def test_stale_price_is_retried_once_with_the_price_dynamodb_holds(
    dynamodb: Any, tables: OrderTables
) -> None:
    put_product(dynamodb, tables.products, "gadget", stock=5, price_cents=999)
    client = ScriptedClient(dynamodb)

    result = place(client, tables, request(quantity=2), product=GADGET)  # read at 1999 (a stale cache)

    assert (result.outcome, result.unit_price_cents, result.stale_price_retries) == (Outcome.ACCEPTED, 999, 1)
    order = all_orders(dynamodb, tables.orders)["order-0001"]
    assert (order["unit_price_cents"], order["total_cents"]) == (999, 1998)
    assert (client.transactions, client.puts) == (2, 0)
    assert stock_of(dynamodb, tables.products, "gadget") == 3


def test_price_changing_again_during_the_retry_is_transient(dynamodb: Any, tables: OrderTables) -> None:
    put_product(dynamodb, tables.products, "gadget", stock=5, price_cents=999)

    def raise_the_price() -> None:
        put_product(dynamodb, tables.products, "gadget", stock=5, price_cents=1499)

    client = ScriptedClient(dynamodb, raise_the_price)  # after the first attempt read 999

    with pytest.raises(TransientOrderError, match="price of gadget changed again"):
        place(client, tables, request(), product=GADGET)

    assert client.transactions == 2
    assert all_orders(dynamodb, tables.orders) == {}
    assert stock_of(dynamodb, tables.products, "gadget") == 5


def test_sold_out_is_recorded_with_the_price_dynamodb_holds(dynamodb: Any, tables: OrderTables) -> None:
    put_product(dynamodb, tables.products, "gadget", stock=0, price_cents=999)

    result = place(dynamodb, tables, request(), product=GADGET)

    assert result.rejection_reason is RejectionReason.OUT_OF_STOCK
    assert all_orders(dynamodb, tables.orders)["order-0001"]["unit_price_cents"] == 999


def test_order_larger_than_the_customer_limit_is_rejected_without_a_transaction(
    dynamodb: Any, tables: OrderTables
) -> None:
    put_product(dynamodb, tables.products, "gadget", stock=50)
    client = ScriptedClient(dynamodb)

    result = place(client, tables, request(quantity=3), max_units_per_customer=2)

    assert result.rejection_reason is RejectionReason.CUSTOMER_LIMIT
    assert (client.transactions, client.puts) == (0, 1)


def test_customer_at_the_limit_is_rejected_and_the_counter_kept(dynamodb: Any, tables: OrderTables) -> None:
    put_product(dynamodb, tables.products, "gadget", stock=50)
    assert (
        place(dynamodb, tables, request("order-0001", 2), max_units_per_customer=3).outcome
        is Outcome.ACCEPTED
    )

    result = place(dynamodb, tables, request("order-0002", 2), max_units_per_customer=3)

    assert result.rejection_reason is RejectionReason.CUSTOMER_LIMIT
    assert all_items(dynamodb, tables.orders)["purchases#alice#gadget"]["units"] == 2
    assert stock_of(dynamodb, tables.products, "gadget") == 48


def test_rejection_racing_another_request_for_the_same_order_id_is_a_conflict(
    dynamodb: Any, tables: OrderTables
) -> None:
    # Delivery A finds the product sold out; before A records the rejection, bob's request with the
    # same order id is accepted after a restock. A's rejection must not be dropped as a duplicate.
    put_product(dynamodb, tables.products, "gadget", stock=0)

    def restock_and_place_bobs_order() -> None:
        put_product(dynamodb, tables.products, "gadget", stock=5)
        assert place(dynamodb, tables, request(customer_id="bob")).outcome is Outcome.ACCEPTED

    result = place(ScriptedClient(dynamodb, restock_and_place_bobs_order), tables, request())

    assert result.outcome is Outcome.CONFLICT
    items = all_items(dynamodb, tables.orders)
    assert items["order-0001"]["customer_id"] == "bob"
    conflict = items["order-0001#conflict#alice"]
    assert (conflict["status"], conflict["reason"], conflict["conflicting_order_id"]) == (
        "CONFLICT",
        "ORDER_ID_IN_USE",
        "order-0001",
    )


STOCKED = {"product_id": {"S": "gadget"}, "name": {"S": "Gadget"}, "price_cents": {"N": "1999"}}


def product_item(*, stock: int, price_cents: int = 1999) -> dict[str, Any]:
    return {**STOCKED, "price_cents": {"N": str(price_cents)}, "stock": {"N": str(stock)}}


@pytest.mark.parametrize(
    ("reasons", "expected"),
    [
        pytest.param(
            [
                {"Code": "ConditionalCheckFailed", "Item": {"order_id": {"S": "order-0001"}}},
                {"Code": "None"},
                {"Code": "None"},
            ],
            Cancellation.ORDER_EXISTS,
            id="order-exists",
        ),
        pytest.param(
            [
                {"Code": "ConditionalCheckFailed", "Item": {"order_id": {"S": "order-0001"}}},
                {"Code": "ConditionalCheckFailed", "Item": product_item(stock=0)},
                {"Code": "None"},
            ],
            Cancellation.ORDER_EXISTS,
            id="order-exists-and-sold-out",
        ),
        pytest.param(
            [{"Code": "ConditionalCheckFailed"}, {"Code": "None"}, {"Code": "None"}],
            Cancellation.UNEXPECTED,
            id="order-exists-without-the-item-asked-for",
        ),
        pytest.param(
            [
                {"Code": "None"},
                {"Code": "ConditionalCheckFailed", "Item": product_item(stock=1)},
                {"Code": "None"},
            ],
            Cancellation.OUT_OF_STOCK,
            id="not-enough-stock",
        ),
        pytest.param(
            [
                {"Code": "TransactionConflict"},
                {"Code": "ConditionalCheckFailed", "Item": product_item(stock=0)},
                {"Code": "None"},
            ],
            Cancellation.OUT_OF_STOCK,
            id="sold-out-while-another-delivery-is-in-flight",
        ),
        pytest.param(
            [
                {"Code": "None"},
                {"Code": "ConditionalCheckFailed", "Item": product_item(stock=0, price_cents=999)},
                {"Code": "None"},
            ],
            Cancellation.OUT_OF_STOCK,
            id="sold-out-and-repriced",
        ),
        pytest.param(
            [
                {"Code": "None"},
                {"Code": "ConditionalCheckFailed", "Item": product_item(stock=5, price_cents=999)},
                {"Code": "None"},
            ],
            Cancellation.PRICE_CHANGED,
            id="repriced",
        ),
        pytest.param(
            [{"Code": "None"}, {"Code": "ConditionalCheckFailed"}, {"Code": "None"}],
            Cancellation.UNKNOWN_PRODUCT,
            id="no-product",
        ),
        pytest.param(
            [
                {"Code": "None"},
                {"Code": "None"},
                {"Code": "ConditionalCheckFailed", "Item": {"units": {"N": "9"}}},
            ],
            Cancellation.CUSTOMER_LIMIT,
            id="customer-limit",
        ),
        pytest.param(
            [
                {"Code": "None"},
                {"Code": "ConditionalCheckFailed", "Item": product_item(stock=0)},
                {"Code": "ConditionalCheckFailed", "Item": {"units": {"N": "9"}}},
            ],
            Cancellation.CUSTOMER_LIMIT,
            id="customer-limit-and-sold-out",
        ),
        pytest.param(
            [
                {"Code": "None"},
                {"Code": "ConditionalCheckFailed", "Item": product_item(stock=5)},
                {"Code": "None"},
            ],
            Cancellation.UNEXPECTED,
            id="product-condition-failed-for-no-known-reason",
        ),
        pytest.param(
            [{"Code": "None"}, {"Code": "TransactionConflict"}, {"Code": "None"}],
            Cancellation.TRANSIENT,
            id="conflict-on-product",
        ),
        pytest.param(
            [{"Code": "ProvisionedThroughputExceeded"}, {"Code": "ThrottlingError"}, {"Code": "None"}],
            Cancellation.TRANSIENT,
            id="throttled",
        ),
        pytest.param(
            [{"Code": "None"}, {"Code": "ValidationError"}, {"Code": "None"}],
            Cancellation.UNEXPECTED,
            id="validation-error",
        ),
        pytest.param(
            [{"Code": "TransactionConflict"}, {"Code": "ItemCollectionSizeLimitExceeded"}, {"Code": "None"}],
            Cancellation.UNEXPECTED,
            id="transient-and-permanent",
        ),
        pytest.param(None, Cancellation.UNEXPECTED, id="no-reasons"),
        pytest.param(
            [{"Code": "None"}, {"Code": "None"}], Cancellation.UNEXPECTED, id="wrong-number-of-reasons"
        ),
    ],
)
def test_reads_cancellation_reasons(reasons: list[dict[str, Any]] | None, expected: Cancellation) -> None:
    assert read_cancellation(reasons, request(quantity=2), GADGET).kind is expected


def test_unusable_product_returned_by_dynamodb_is_an_error() -> None:
    reasons: list[dict[str, Any]] = [
        {"Code": "None"},
        {"Code": "ConditionalCheckFailed", "Item": {"product_id": {"S": "gadget"}, "stock": {"N": "5"}}},
        {"Code": "None"},
    ]

    with pytest.raises(ProductDataError, match="'name'"):
        read_cancellation(reasons, request(), GADGET)


def test_backoff_grows_and_stays_within_bounds() -> None:
    policy = RetryPolicy(base_delay_seconds=0.01, max_delay_seconds=0.03)

    ceilings = [max(policy.backoff(attempt) for _ in range(200)) for attempt in (1, 2, 3, 4)]

    assert all(
        0 <= ceiling <= bound for ceiling, bound in zip(ceilings, [0.01, 0.02, 0.03, 0.03], strict=True)
    )
    assert ceilings[0] <= 0.01 < ceilings[2]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"max_attempts": 0}, "max_attempts is 0; it must be at least 1", id="no-attempt"),
        pytest.param(
            {"base_delay_seconds": 1.0, "max_delay_seconds": 0.5}, "base_delay_seconds", id="base-over-max"
        ),
    ],
)
def test_rejects_retry_policy_out_of_range(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RetryPolicy(**kwargs)
