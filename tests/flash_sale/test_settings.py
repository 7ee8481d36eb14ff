"""The processor's environment variables."""

from __future__ import annotations

import pytest

from dbpatterns.handlers.flash_sale.settings import ConfigurationError, Settings

TABLES = {"ORDERS_TABLE_NAME": "orders", "PRODUCTS_TABLE_NAME": "products"}


def test_reads_table_names_and_no_dax_endpoint() -> None:
    assert Settings.from_env(TABLES) == Settings(
        orders_table_name="orders", products_table_name="products", dax_endpoint=None
    )


def test_treats_an_empty_dax_endpoint_as_none() -> None:
    assert Settings.from_env({**TABLES, "DAX_ENDPOINT": " "}).dax_endpoint is None


def test_reads_a_tls_dax_endpoint() -> None:
    endpoint = "daxs://flash-sale.abc123.dax-clusters.eu-west-1.amazonaws.com"

    assert Settings.from_env({**TABLES, "DAX_ENDPOINT": endpoint}).dax_endpoint == endpoint


@pytest.mark.parametrize("missing", ["ORDERS_TABLE_NAME", "PRODUCTS_TABLE_NAME"])
def test_fails_when_a_table_name_is_missing(missing: str) -> None:
    environ = {name: value for name, value in TABLES.items() if name != missing}

    with pytest.raises(ConfigurationError, match=f"environment variable {missing} is not set"):
        Settings.from_env(environ)


def test_rejects_a_dax_endpoint_without_tls() -> None:
    with pytest.raises(ConfigurationError, match=r"DAX_ENDPOINT is 'dax://cluster:8111': .* 'daxs://'"):
        Settings.from_env({**TABLES, "DAX_ENDPOINT": "dax://cluster:8111"})
