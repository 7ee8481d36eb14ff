"""Properties of the processor under concurrency, redelivery, order-id reuse, conflicts and poison input.

Several threads play concurrent Lambda invocations and process shuffled deliveries through the
production per-message path (``processor.process_record``). They share one moto client behind a lock,
so that each DynamoDB API call is atomic, as it is in DynamoDB, while the threads interleave freely
between calls: between reading the product, the transaction and the rejection of one delivery,
other deliveries run. The shared client also cancels chosen transactions with ``TransactionConflict``
(the hot-item contention of a real sale). A delivery that fails is delivered again in a later round,
as SQS does after the visibility timeout; poison messages fail every time and are dropped after two
rounds (the dead-letter queue).

Whatever the interleaving: nothing is lost (every order id is decided), nothing is duplicated (one
decision per request, every other delivery a duplicate), a reused order id leaves its conflict on
record, the stock never goes negative and tells exactly what was sold, no customer buys more than the
limit, and no rejection is needless.
"""

from __future__ import annotations

import itertools
import json
import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import boto3  # type: ignore[import-untyped, unused-ignore]
import pytest
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from hypothesis import event, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from dbpatterns.handlers.flash_sale import processor
from dbpatterns.handlers.flash_sale.messages import MalformedOrderError
from dbpatterns.handlers.flash_sale.orders import OrderResult, OrderTables, Outcome
from dbpatterns.handlers.flash_sale.products import ProductCatalog
from dbpatterns.handlers.flash_sale.schema import MAX_QUANTITY
from dbpatterns.handlers.flash_sale.settings import Settings
from tests.handlers.flash_sale.support import (
    REGION,
    all_items,
    create_tables,
    order_body,
    put_product,
    sqs_record,
    stock_of,
)

CUSTOMERS = ("alice", "bob", "carol", "dave")
POISON_BODIES = ("<order>not json</order>", json.dumps({"order_id": "poison-0001", "quantity": 1}), "")
MAX_ROUNDS = 25


@pytest.fixture(scope="module")
def moto_dynamodb() -> Iterator[Any]:
    """One moto account for all examples (starting one per example costs more than the example)."""
    with mock_aws():
        yield boto3.client("dynamodb", region_name=REGION)


class AtomicCalls:
    """One client shared by threads, each API call atomic (as DynamoDB serializes writes to an item).

    Transactions whose sequence number is in ``conflicts`` are cancelled with a TransactionConflict on
    the product item instead of reaching moto.
    """

    def __init__(self, client: Any, conflicts: frozenset[int]) -> None:
        self._client = client
        self._lock = threading.Lock()
        self._transactions = itertools.count()
        self._conflicts = conflicts
        self.conflicts_raised = 0

    @property
    def exceptions(self) -> Any:
        return self._client.exceptions

    def _call(self, operation: str, kwargs: dict[str, Any]) -> Any:
        with self._lock:
            response = getattr(self._client, operation)(**kwargs)
        time.sleep(0)  # let another thread run between two calls of this one
        return response

    def get_item(self, **kwargs: Any) -> Any:
        return self._call("get_item", kwargs)

    def put_item(self, **kwargs: Any) -> Any:
        return self._call("put_item", kwargs)

    def transact_write_items(self, **kwargs: Any) -> Any:
        with self._lock:
            number = next(self._transactions)
        if number in self._conflicts:
            with self._lock:
                self.conflicts_raised += 1
            reasons = [{"Code": "None"} for _ in kwargs["TransactItems"]]
            reasons[1] = {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}
            raise self._client.exceptions.TransactionCanceledException(
                {
                    "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
                    "CancellationReasons": reasons,
                },
                "TransactWriteItems",
            )
        try:
            return self._call("transact_write_items", kwargs)
        finally:
            time.sleep(0)


class NoSqs:
    """Visibility changes are not part of this property: the test redelivers failed messages itself."""

    def change_message_visibility_batch(self, **kwargs: Any) -> Any:
        raise AssertionError("process_record never changes visibility; the handler does")


@dataclass(frozen=True)
class Request:
    order_id: str
    customer_id: str
    quantity: int

    @property
    def body(self) -> str:
        return order_body(order_id=self.order_id, customer_id=self.customer_id, quantity=self.quantity)


order_strategy = st.tuples(st.integers(0, len(CUSTOMERS) - 1), st.integers(1, MAX_QUANTITY))


@settings(max_examples=30, deadline=None)
@given(
    initial_stock=st.integers(min_value=0, max_value=30),
    orders=st.lists(order_strategy, min_size=1, max_size=12),
    reuses=st.dictionaries(st.integers(0, 4), order_strategy, max_size=3),
    redelivered=st.lists(st.integers(min_value=0, max_value=15), max_size=8),
    poison=st.integers(min_value=0, max_value=len(POISON_BODIES)),
    conflicts=st.frozensets(st.integers(min_value=0, max_value=12), max_size=6),
    limit=st.integers(min_value=1, max_value=12),
    workers=st.integers(min_value=2, max_value=4),
    shuffler=st.randoms(use_true_random=False),
)
def test_nothing_lost_duplicated_or_oversold(
    moto_dynamodb: Any,
    initial_stock: int,
    orders: list[tuple[int, int]],
    reuses: dict[int, tuple[int, int]],
    redelivered: list[int],
    poison: int,
    conflicts: frozenset[int],
    limit: int,
    workers: int,
    shuffler: random.Random,
) -> None:
    requests = [Request(f"order-{n:04d}", CUSTOMERS[c], q) for n, (c, q) in enumerate(orders)]
    # A reuse is another request with the order id of an existing one and different content.
    # At most one per order id: a third content for one order id and customer is counted on every
    # delivery but not recorded again (see ``orders``), which this exact accounting leaves out.
    targets = {n % len(orders): content for n, content in reuses.items()}
    requests += [
        Request(requests[n].order_id, CUSTOMERS[c], q)
        for n, (c, q) in targets.items()
        if (CUSTOMERS[c], q) != (requests[n].customer_id, requests[n].quantity)
    ]
    records = [sqs_record(r.body, message_id=f"message-{n}") for n, r in enumerate(requests)]
    request_of = {record["messageId"]: request for record, request in zip(records, requests, strict=True)}
    poisoned = [sqs_record(body, message_id=f"poison-{n}") for n, body in enumerate(POISON_BODIES[:poison])]
    deliveries = records + [records[n % len(records)] for n in redelivered] + poisoned
    shuffler.shuffle(deliveries)

    example = uuid.uuid4().hex
    tables = OrderTables(orders=f"orders-{example}", products=f"products-{example}")
    create_tables(moto_dynamodb, tables)
    put_product(moto_dynamodb, tables.products, "gadget", stock=initial_stock)
    shared = AtomicCalls(moto_dynamodb, conflicts)
    deps = processor.Dependencies(
        settings=Settings(
            orders_table_name=tables.orders,
            products_table_name=tables.products,
            order_queue_url="https://sqs.us-east-1.amazonaws.com/123456789012/orders",
            max_units_per_customer=limit,
        ),
        dynamodb=shared,
        catalog=ProductCatalog(table_name=tables.products, dynamodb=shared),
        sqs=NoSqs(),
    )

    def deliver(record: dict[str, Any]) -> OrderResult | Exception:
        try:
            return processor.process_record(SQSRecord(record), deps)
        except Exception as error:
            return error

    results: list[tuple[str, OrderResult]] = []
    poison_failures: Counter[str] = Counter()
    pending = deliveries
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for _ in range(MAX_ROUNDS):
                if not pending:
                    break
                retry: list[dict[str, Any]] = []
                for record, outcome in zip(pending, pool.map(deliver, pending), strict=True):
                    message_id = record["messageId"]
                    if message_id.startswith("poison-"):
                        assert isinstance(outcome, MalformedOrderError)
                        poison_failures[message_id] += 1
                        if poison_failures[message_id] < 2:
                            retry.append(record)  # SQS redelivers it; after two receives it is dead-lettered
                    elif isinstance(outcome, Exception):
                        retry.append(record)  # a transient failure: SQS delivers it again
                    else:
                        results.append((message_id, outcome))
                pending = retry
        assert not pending, f"deliveries still failing after {MAX_ROUNDS} rounds: {pending}"
        final_stock = stock_of(moto_dynamodb, tables.products, "gadget")
        items = all_items(moto_dynamodb, tables.orders)
    finally:
        processor.metrics.clear_metrics()
        for table in (tables.orders, tables.products):
            moto_dynamodb.delete_table(TableName=table)

    event(f"transactions cancelled by conflicts: {bool(shared.conflicts_raised)}")
    event(f"order ids reused: {len(requests) > len(orders)}")
    event(f"poison messages: {bool(poison)}")
    stored_orders = {key: item for key, item in items.items() if item["record_type"] == "ORDER"}
    conflict_records = {key: item for key, item in items.items() if item["record_type"] == "CONFLICT"}
    counters = {key: item for key, item in items.items() if item["record_type"] == "PURCHASES"}
    assert len(items) == len(stored_orders) + len(conflict_records) + len(counters), "poison wrote nothing"

    # Nothing lost: every order id has exactly one order, whose content is one of its requests.
    by_id: dict[str, list[Request]] = defaultdict(list)
    for request in requests:
        by_id[request.order_id].append(request)
    assert sorted(stored_orders) == sorted(by_id)
    owner: dict[str, Request] = {}
    for order_id, candidates in by_id.items():
        stored = stored_orders[order_id]
        [owner[order_id]] = [
            r
            for r in candidates
            if (r.customer_id, r.quantity) == (stored["customer_id"], stored["quantity"])
        ]

    # Nothing duplicated: one decision per request; every other delivery is a duplicate.
    decisions: dict[Request, list[Outcome]] = defaultdict(list)
    for message_id, result in results:
        if result.outcome is not Outcome.DUPLICATE:
            decisions[request_of[message_id]].append(result.outcome)
    for request in requests:
        if owner[request.order_id] == request:
            assert decisions[request] == [Outcome(stored_orders[request.order_id]["status"])]
        else:
            assert decisions[request] == [Outcome.CONFLICT]
            conflict = conflict_records[f"{request.order_id}#conflict#{request.customer_id}"]
            assert (conflict["status"], conflict["quantity"]) == ("CONFLICT", request.quantity)
    assert sum(len(outcomes) for outcomes in decisions.values()) + Counter(
        result.outcome for _, result in results
    )[Outcome.DUPLICATE] == len(deliveries) - len(poisoned)

    # No overselling, and the stock tells exactly what was sold.
    accepted = [order for order in stored_orders.values() if order["status"] == "ACCEPTED"]
    assert final_stock == initial_stock - sum(order["quantity"] for order in accepted) >= 0
    # No customer past the limit, and each counter tells exactly what its customer bought.
    bought: Counter[str] = Counter()
    for order in accepted:
        bought[order["customer_id"]] += order["quantity"]
    assert all(units <= limit for units in bought.values())
    assert {item["customer_id"]: item["units"] for item in counters.values()} == dict(bought)
    # No needless rejection: stock and counters only move one way, so a rejected order wanted more
    # than what is left, or more than its customer may still buy.
    for order in stored_orders.values():
        if order["status"] == "REJECTED":
            reason = order["rejection_reason"]
            event(f"rejected {reason}")
            assert reason in {"OUT_OF_STOCK", "CUSTOMER_LIMIT"}
            if reason == "OUT_OF_STOCK":
                assert order["quantity"] > final_stock
            else:
                assert bought[order["customer_id"]] + order["quantity"] > limit
