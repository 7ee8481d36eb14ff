"""Product reads: ``ProductCatalog`` (DAX with a breaker, DynamoDB deciding) and item conversion."""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest

from dbpatterns.handlers.flash_sale.orders import OrderTables
from dbpatterns.handlers.flash_sale.products import (
    DAX_CLIENT_CONFIG,
    Product,
    ProductCatalog,
    ProductDataError,
    ProductRead,
    ReadSource,
    dax_client,
    product_from_item,
)
from dbpatterns.runtime.breaker import BreakerState, CircuitBreaker
from tests.handlers.flash_sale.support import FakeDaxCluster, put_product

GADGET = Product(product_id="gadget", name="Gadget", price_cents=1999)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def catalog(
    dynamodb: Any, tables: OrderTables, dax: FakeDaxCluster | None, clock: FakeClock
) -> ProductCatalog:
    return ProductCatalog(
        table_name=tables.products,
        dynamodb=dynamodb,
        dax_factory=None if dax is None else (lambda: dax.client(endpoint_url="daxs://test")),
        breaker=CircuitBreaker(failure_threshold=3, reset_after_seconds=30, clock=clock),
    )


def test_creates_the_dax_client_with_short_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    created: list[dict[str, Any]] = []

    def amazon_dax_client(**kwargs: Any) -> object:
        created.append(kwargs)
        return object()

    fake_amazondax = types.ModuleType("amazondax")
    fake_amazondax.AmazonDaxClient = amazon_dax_client  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "amazondax", fake_amazondax)

    dax_client("daxs://cluster.abc123.dax-clusters.us-east-1.amazonaws.com")

    assert created == [
        {
            "endpoint_url": "daxs://cluster.abc123.dax-clusters.us-east-1.amazonaws.com",
            "config": DAX_CLIENT_CONFIG,
        }
    ]
    assert (DAX_CLIENT_CONFIG.connect_timeout, DAX_CLIENT_CONFIG.read_timeout) == (1.0, 1.0)


def test_reads_consistently_from_dynamodb_without_dax(dynamodb: Any, tables: OrderTables) -> None:
    put_product(dynamodb, tables.products, "gadget", stock=7, name="Gadget", price_cents=1999)

    read = catalog(dynamodb, tables, None, FakeClock()).read("gadget")

    assert read == ProductRead(product=GADGET, source=ReadSource.TABLE)


def test_reads_none_only_when_dynamodb_has_no_such_product(dynamodb: Any, tables: OrderTables) -> None:
    assert catalog(dynamodb, tables, None, FakeClock()).read("nothing") == ProductRead(
        product=None, source=ReadSource.TABLE
    )


def test_serves_a_cached_product_from_dax(dynamodb: Any, tables: OrderTables) -> None:
    dax = FakeDaxCluster(dynamodb)
    dax.cache["gadget"] = {
        "product_id": {"S": "gadget"},
        "name": {"S": "Gadget"},
        "price_cents": {"N": "1999"},
    }

    assert catalog(dynamodb, tables, dax, FakeClock()).read("gadget") == ProductRead(
        product=GADGET, source=ReadSource.CACHE
    )


def test_cached_miss_is_checked_against_dynamodb(dynamodb: Any, tables: OrderTables) -> None:
    dax = FakeDaxCluster(dynamodb)
    dax.cache["gadget"] = None  # a negative answer DAX cached before the product was loaded
    put_product(dynamodb, tables.products, "gadget", stock=7, name="Gadget", price_cents=1999)

    assert catalog(dynamodb, tables, dax, FakeClock()).read("gadget") == ProductRead(
        product=GADGET, source=ReadSource.CACHE_MISS
    )


def test_unusable_cached_item_is_checked_against_dynamodb(dynamodb: Any, tables: OrderTables) -> None:
    dax = FakeDaxCluster(dynamodb)
    dax.cache["gadget"] = {
        "product_id": {"S": "gadget"},
        "name": {"S": "Gadget"},
        "price_cents": {"N": "19.99"},
    }
    put_product(dynamodb, tables.products, "gadget", stock=7, name="Gadget", price_cents=1999)

    assert catalog(dynamodb, tables, dax, FakeClock()).read("gadget").product == GADGET


def test_breaker_opens_after_three_failures_and_probes_dax_after_the_reset_period(
    dynamodb: Any, tables: OrderTables
) -> None:
    put_product(dynamodb, tables.products, "gadget", stock=7, name="Gadget", price_cents=1999)
    dax = FakeDaxCluster(dynamodb)
    dax.failure = TimeoutError("read timed out")
    clock = FakeClock()
    products = catalog(dynamodb, tables, dax, clock)

    sources = [products.read("gadget").source for _ in range(5)]

    assert sources == [ReadSource.CACHE_FAILURE] * 3 + [ReadSource.CACHE_BYPASSED] * 2
    assert len(dax.reads) == 3
    opened = products.breaker.state

    dax.failure = None
    clock.now = 30.0
    assert products.read("gadget") == ProductRead(product=GADGET, source=ReadSource.CACHE)
    assert (opened, products.breaker.state) == (BreakerState.OPEN, BreakerState.CLOSED)


def test_client_that_cannot_be_created_counts_as_a_failure_and_is_tried_again(
    dynamodb: Any, tables: OrderTables
) -> None:
    put_product(dynamodb, tables.products, "gadget", stock=7, name="Gadget", price_cents=1999)
    dax = FakeDaxCluster(dynamodb)
    dax.creation_failure = ConnectionError("no route to any node")
    products = catalog(dynamodb, tables, dax, FakeClock())

    first = products.read("gadget")
    dax.creation_failure = None
    second = products.read("gadget")

    assert (first.source, second.source) == (ReadSource.CACHE_FAILURE, ReadSource.CACHE)
    assert len(dax.clients_created) == 2


@pytest.mark.parametrize(
    ("item", "message"),
    [
        pytest.param({"price_cents": {"N": "1999"}}, "'name' must be a non-empty string", id="no-name"),
        pytest.param({"name": {"S": "Gadget"}}, "'price_cents' is None", id="no-price"),
        pytest.param(
            {"name": {"S": "Gadget"}, "price_cents": {"N": "19.99"}}, "'19.99'", id="fractional-price"
        ),
        pytest.param({"name": {"S": "Gadget"}, "price_cents": {"N": "-5"}}, "'-5'", id="negative-price"),
        pytest.param(
            {"name": {"S": "Gadget"}, "price_cents": {"S": "1999"}}, "is None", id="price-as-string"
        ),
    ],
)
def test_rejects_product_item_without_a_usable_name_or_price(item: dict[str, Any], message: str) -> None:
    with pytest.raises(ProductDataError, match=message):
        product_from_item("gadget", item)
