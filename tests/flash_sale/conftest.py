"""Fixtures of the flash-sale tests: moto-backed tables and the processor's environment."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3  # type: ignore[import-untyped, unused-ignore]
import pytest
from moto import mock_aws

from dbpatterns.handlers.flash_sale import processor
from dbpatterns.handlers.flash_sale.orders import OrderTables
from dbpatterns.handlers.flash_sale.settings import DAX_ENDPOINT_ENV, ORDERS_TABLE_ENV, PRODUCTS_TABLE_ENV
from tests.flash_sale.support import REGION, FakeLambdaContext, create_tables


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    """A DynamoDB client talking to moto; every test starts with an empty account."""
    with mock_aws():
        yield boto3.client("dynamodb", region_name=REGION)


@pytest.fixture
def tables(dynamodb: Any) -> OrderTables:
    names = OrderTables(orders="flash-sale-orders", products="flash-sale-products")
    create_tables(dynamodb, names)
    return names


@pytest.fixture
def processor_env(monkeypatch: pytest.MonkeyPatch, tables: OrderTables) -> Iterator[OrderTables]:
    """The environment the construct gives the function (no DAX), and fresh cached dependencies."""
    monkeypatch.setenv(ORDERS_TABLE_ENV, tables.orders)
    monkeypatch.setenv(PRODUCTS_TABLE_ENV, tables.products)
    monkeypatch.delenv(DAX_ENDPOINT_ENV, raising=False)
    processor.dependencies.cache_clear()
    yield tables
    processor.dependencies.cache_clear()


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()
