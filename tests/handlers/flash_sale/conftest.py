"""Fixtures of the flash-sale tests: moto-backed tables and queue, the processor's environment, DAX."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from typing import Any

import boto3  # type: ignore[import-untyped, unused-ignore]
import pytest
from moto import mock_aws

from dbpatterns.handlers.flash_sale import processor
from dbpatterns.handlers.flash_sale.orders import OrderTables
from dbpatterns.handlers.flash_sale.settings import DAX_ENDPOINT_ENV, ORDERS_TABLE_ENV, PRODUCTS_TABLE_ENV
from tests.handlers.flash_sale.support import REGION, FakeDaxCluster, FakeLambdaContext, create_tables

DAX_ENDPOINT = "daxs://flash-sale.abc123.dax-clusters.us-east-1.amazonaws.com"


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
def sqs(dynamodb: Any) -> Any:
    """An SQS client talking to the same moto account as ``dynamodb``."""
    return boto3.client("sqs", region_name=REGION)


@pytest.fixture
def order_queue_url(sqs: Any) -> str:
    """The order queue, with the visibility timeout the construct gives it (6 x 30 s)."""
    url: str = sqs.create_queue(QueueName="flash-sale-orders", Attributes={"VisibilityTimeout": "180"})[
        "QueueUrl"
    ]
    return url


@pytest.fixture
def processor_env(
    monkeypatch: pytest.MonkeyPatch, tables: OrderTables, order_queue_url: str
) -> Iterator[OrderTables]:
    """The environment the construct gives the function (no DAX), and fresh cached dependencies."""
    monkeypatch.setenv(ORDERS_TABLE_ENV, tables.orders)
    monkeypatch.setenv(PRODUCTS_TABLE_ENV, tables.products)
    monkeypatch.setenv("ORDER_QUEUE_URL", order_queue_url)
    monkeypatch.delenv(DAX_ENDPOINT_ENV, raising=False)
    monkeypatch.delenv("MAX_UNITS_PER_CUSTOMER", raising=False)
    processor.dependencies.cache_clear()
    yield tables
    processor.dependencies.cache_clear()


@pytest.fixture
def dax(
    dynamodb: Any, processor_env: OrderTables, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeDaxCluster]:
    """A fake DAX cluster in front of the moto products table, and ``DAX_ENDPOINT`` pointing at it."""
    cluster = FakeDaxCluster(dynamodb)
    fake_amazondax = types.ModuleType("amazondax")
    fake_amazondax.AmazonDaxClient = cluster.client  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "amazondax", fake_amazondax)
    monkeypatch.setenv(DAX_ENDPOINT_ENV, DAX_ENDPOINT)
    processor.dependencies.cache_clear()
    yield cluster
    processor.dependencies.cache_clear()


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()
