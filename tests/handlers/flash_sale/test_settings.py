"""The processor's environment variables."""

from __future__ import annotations

import pytest

from dbpatterns.handlers.flash_sale.settings import ConfigurationError, Settings, StatusSettings

QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/flash-sale-orders"
TABLES = {"ORDERS_TABLE_NAME": "orders", "PRODUCTS_TABLE_NAME": "products", "ORDER_QUEUE_URL": QUEUE_URL}


def test_reads_the_required_names_and_defaults_the_rest() -> None:
    assert Settings.from_env(TABLES) == Settings(
        orders_table_name="orders",
        products_table_name="products",
        order_queue_url=QUEUE_URL,
        dax_endpoint=None,
        max_units_per_customer=10,
        require_caller_identity=True,
        customer_roles=None,
    )


def test_reads_the_optional_settings() -> None:
    settings = Settings.from_env(
        {
            **TABLES,
            "MAX_UNITS_PER_CUSTOMER": "2",
            "REQUIRE_CALLER_IDENTITY": "False",
            "CUSTOMER_ROLE_NAMES": " storefront-customer, app-customer ,",
        }
    )

    assert settings.max_units_per_customer == 2
    assert settings.require_caller_identity is False
    assert settings.customer_roles == frozenset({"storefront-customer", "app-customer"})


def test_status_function_needs_only_the_orders_table() -> None:
    assert StatusSettings.from_env({"ORDERS_TABLE_NAME": "orders"}) == StatusSettings(
        orders_table_name="orders", customer_roles=None
    )


@pytest.mark.parametrize("value", ["0", "-1", "2.5", "two", "1000001"])
def test_rejects_a_per_customer_limit_that_is_not_a_positive_whole_number(value: str) -> None:
    with pytest.raises(
        ConfigurationError, match=f"MAX_UNITS_PER_CUSTOMER is '{value}'; allowed: a whole number"
    ):
        Settings.from_env({**TABLES, "MAX_UNITS_PER_CUSTOMER": value})


def test_rejects_a_caller_identity_switch_that_is_not_true_or_false() -> None:
    with pytest.raises(ConfigurationError, match="REQUIRE_CALLER_IDENTITY is 'yes'"):
        Settings.from_env({**TABLES, "REQUIRE_CALLER_IDENTITY": "yes"})


def test_treats_an_empty_dax_endpoint_as_none() -> None:
    assert Settings.from_env({**TABLES, "DAX_ENDPOINT": " "}).dax_endpoint is None


def test_reads_a_tls_dax_endpoint() -> None:
    endpoint = "daxs://flash-sale.abc123.dax-clusters.eu-west-1.amazonaws.com"

    assert Settings.from_env({**TABLES, "DAX_ENDPOINT": endpoint}).dax_endpoint == endpoint


@pytest.mark.parametrize("missing", ["ORDERS_TABLE_NAME", "PRODUCTS_TABLE_NAME", "ORDER_QUEUE_URL"])
def test_fails_when_a_table_name_is_missing(missing: str) -> None:
    environ = {name: value for name, value in TABLES.items() if name != missing}

    with pytest.raises(ConfigurationError, match=f"environment variable {missing} is not set"):
        Settings.from_env(environ)


def test_rejects_a_dax_endpoint_without_tls() -> None:
    with pytest.raises(ConfigurationError, match=r"DAX_ENDPOINT is 'dax://cluster:8111': .* 'daxs://'"):
        Settings.from_env({**TABLES, "DAX_ENDPOINT": "dax://cluster:8111"})
