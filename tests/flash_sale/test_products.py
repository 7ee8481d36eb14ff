"""Product reads: the DAX-or-DynamoDB choice, and converting product items."""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest

from dbpatterns.handlers.flash_sale.orders import OrderTables
from dbpatterns.handlers.flash_sale.products import (
    Product,
    ProductDataError,
    product_from_item,
    product_reader,
    read_product,
)
from tests.flash_sale.support import put_product


def test_reads_from_dynamodb_when_no_dax_endpoint_is_configured() -> None:
    dynamodb = object()

    assert product_reader(None, dynamodb) is dynamodb  # type: ignore[arg-type]


def test_creates_a_dax_client_for_the_configured_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    created: list[dict[str, Any]] = []

    class FakeAmazonDaxClient:
        def __init__(self, **kwargs: Any) -> None:
            created.append(kwargs)

        def get_item(self, **kwargs: Any) -> Any:
            raise NotImplementedError

    fake_amazondax = types.ModuleType("amazondax")
    fake_amazondax.AmazonDaxClient = FakeAmazonDaxClient  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "amazondax", fake_amazondax)

    reader = product_reader("daxs://cluster.abc123.dax-clusters.us-east-1.amazonaws.com", object())  # type: ignore[arg-type]

    assert isinstance(reader, FakeAmazonDaxClient)
    assert created == [{"endpoint_url": "daxs://cluster.abc123.dax-clusters.us-east-1.amazonaws.com"}]


def test_reads_name_and_price_of_an_existing_product(dynamodb: Any, tables: OrderTables) -> None:
    put_product(dynamodb, tables.products, "gadget", stock=7, name="Gadget", price_cents=1999)

    assert read_product(dynamodb, tables.products, "gadget") == Product(
        product_id="gadget", name="Gadget", price_cents=1999
    )


def test_reads_none_for_a_product_that_does_not_exist(dynamodb: Any, tables: OrderTables) -> None:
    assert read_product(dynamodb, tables.products, "nothing") is None


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
