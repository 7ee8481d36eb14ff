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
    classify_cancellation,
    place_order,
)
from dbpatterns.handlers.flash_sale.products import Product
from tests.flash_sale.support import all_orders, put_product, stock_of

GADGET = Product(product_id="gadget", name="Gadget", price_cents=1999)
NO_WAIT = RetryPolicy(sleep=lambda _seconds: None)


def request(order_id: str = "order-0001", quantity: int = 1) -> OrderRequest:
    return OrderRequest(order_id=order_id, customer_id="alice", product_id="gadget", quantity=quantity)


def cancelled(client: Any, *codes: str) -> Exception:
    """The TransactionCanceledException DynamoDB raises, with one reason code per action."""
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


def test_unknown_product_is_rejected_with_one_write_and_no_transaction(
    dynamodb: Any, tables: OrderTables
) -> None:
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
    client = ScriptedClient(dynamodb, cancelled(dynamodb, "None", "TransactionConflict"))

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
    throttled = [cancelled(dynamodb, "ThrottlingError", "None") for _ in range(3)]
    client = ScriptedClient(dynamodb, *throttled)

    with pytest.raises(TransientOrderError, match="transient reason 3 times"):
        place(client, tables, request(), retry=RetryPolicy(max_attempts=3, sleep=lambda _seconds: None))

    assert client.transactions == 3
    assert all_orders(dynamodb, tables.orders) == {}
    assert stock_of(dynamodb, tables.products, "gadget") == 5


def test_fails_with_placement_error_on_a_cancellation_it_does_not_understand(
    dynamodb: Any, tables: OrderTables
) -> None:
    client = ScriptedClient(dynamodb, cancelled(dynamodb, "ValidationError", "None"))

    with pytest.raises(OrderPlacementError, match="ValidationError, None"):
        place(client, tables, request())

    assert client.transactions == 1


@pytest.mark.parametrize(
    ("reasons", "expected"),
    [
        pytest.param(
            [{"Code": "ConditionalCheckFailed"}, {"Code": "None"}], Cancellation.DUPLICATE, id="order-exists"
        ),
        pytest.param(
            [
                {"Code": "ConditionalCheckFailed"},
                {"Code": "ConditionalCheckFailed", "Item": {"stock": {"N": "0"}}},
            ],
            Cancellation.DUPLICATE,
            id="order-exists-and-sold-out",
        ),
        pytest.param(
            [{"Code": "None"}, {"Code": "ConditionalCheckFailed", "Item": {"stock": {"N": "1"}}}],
            Cancellation.OUT_OF_STOCK,
            id="not-enough-stock",
        ),
        pytest.param(
            [
                {"Code": "TransactionConflict"},
                {"Code": "ConditionalCheckFailed", "Item": {"stock": {"N": "0"}}},
            ],
            Cancellation.OUT_OF_STOCK,
            id="sold-out-while-another-delivery-is-in-flight",
        ),
        pytest.param(
            [{"Code": "None"}, {"Code": "ConditionalCheckFailed"}],
            Cancellation.UNKNOWN_PRODUCT,
            id="no-product",
        ),
        pytest.param(
            [{"Code": "None"}, {"Code": "TransactionConflict"}],
            Cancellation.TRANSIENT,
            id="conflict-on-product",
        ),
        pytest.param(
            [{"Code": "ProvisionedThroughputExceeded"}, {"Code": "ThrottlingError"}],
            Cancellation.TRANSIENT,
            id="throttled",
        ),
        pytest.param(
            [{"Code": "None"}, {"Code": "ValidationError"}], Cancellation.UNEXPECTED, id="validation-error"
        ),
        pytest.param(
            [{"Code": "TransactionConflict"}, {"Code": "ItemCollectionSizeLimitExceeded"}],
            Cancellation.UNEXPECTED,
            id="transient-and-permanent",
        ),
        pytest.param(None, Cancellation.UNEXPECTED, id="no-reasons"),
        pytest.param([{"Code": "None"}], Cancellation.UNEXPECTED, id="wrong-number-of-reasons"),
    ],
)
def test_classifies_cancellation_reasons(
    reasons: list[dict[str, Any]] | None, expected: Cancellation
) -> None:
    assert classify_cancellation(reasons) is expected


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
