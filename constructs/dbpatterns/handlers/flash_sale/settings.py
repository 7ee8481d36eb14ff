"""The flash-sale functions' configuration, read from environment variables in one place.

The flash-sale construct sets these variables on the processor:

- ``ORDERS_TABLE_NAME`` (required): table of orders, partition key ``order_id`` (string). It also
  holds the conflict records and the per-customer purchase counters (see ``orders``).
- ``PRODUCTS_TABLE_NAME`` (required): table of products, partition key ``product_id`` (string).
- ``ORDER_QUEUE_URL`` (required): URL of the order queue, for ``ChangeMessageVisibility`` on messages
  that failed for a transient reason.
- ``DAX_ENDPOINT`` (optional): the DAX cluster's TLS discovery URL, ``daxs://...``. When it is set,
  product data is read through DAX; when it is absent or empty, straight from DynamoDB.
- ``MAX_UNITS_PER_CUSTOMER`` (optional, default ``schema.MAX_QUANTITY`` = 10): units of one product
  one customer may buy in all, counted over their accepted orders.
- ``REQUIRE_CALLER_IDENTITY`` (optional, default ``true``): an order must come with the caller's
  identity the API stamps on the message, and name that caller as its customer (see ``identity``).
  ``false`` trusts the body's ``customer_id`` (only for producers that are not the API).
- ``CUSTOMER_ROLE_NAMES`` (optional, comma-separated): roles whose sessions are customers; unset
  admits any role the API lets in.

The order-status function reads ``ORDERS_TABLE_NAME`` and ``CUSTOMER_ROLE_NAMES``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from dbpatterns.handlers.flash_sale.schema import MAX_QUANTITY

ORDERS_TABLE_ENV = "ORDERS_TABLE_NAME"
PRODUCTS_TABLE_ENV = "PRODUCTS_TABLE_NAME"
ORDER_QUEUE_URL_ENV = "ORDER_QUEUE_URL"
DAX_ENDPOINT_ENV = "DAX_ENDPOINT"
MAX_UNITS_PER_CUSTOMER_ENV = "MAX_UNITS_PER_CUSTOMER"
REQUIRE_CALLER_IDENTITY_ENV = "REQUIRE_CALLER_IDENTITY"
CUSTOMER_ROLE_NAMES_ENV = "CUSTOMER_ROLE_NAMES"
DAX_TLS_SCHEME = "daxs://"

DEFAULT_MAX_UNITS_PER_CUSTOMER = MAX_QUANTITY
"""The largest order the API accepts: no valid single order is refused by the default limit, and one
customer can no longer buy more than that in all (the review saw one customer place 10 orders of 10).
Set it lower for a scarce product (1 or 2 units is usual for a limited drop)."""
MAX_UNITS_PER_CUSTOMER_CEILING = 1_000_000
"""Largest limit accepted: far above any flash-sale stock; it only catches typos."""


class ConfigurationError(RuntimeError):
    """An environment variable the processor needs is missing or has a value it cannot use."""


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Configuration of the order processor."""

    orders_table_name: str
    """Name of the orders table (partition key ``order_id``)."""
    products_table_name: str
    """Name of the products table (partition key ``product_id``)."""
    order_queue_url: str
    """URL of the order queue the processor consumes."""
    dax_endpoint: str | None = None
    """DAX cluster discovery URL (``daxs://...``), or None to read products from DynamoDB."""
    max_units_per_customer: int = DEFAULT_MAX_UNITS_PER_CUSTOMER
    """Units of one product one customer may buy over all their accepted orders."""
    require_caller_identity: bool = True
    """Whether an order must carry its caller's identity and name that caller as its customer."""
    customer_roles: frozenset[str] | None = None
    """Roles whose sessions are customers; None admits any role."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read ``environ`` (default ``os.environ``); raise ConfigurationError if a value is unusable."""
        env = os.environ if environ is None else environ
        dax_endpoint = env.get(DAX_ENDPOINT_ENV, "").strip() or None
        if dax_endpoint is not None and not dax_endpoint.startswith(DAX_TLS_SCHEME):
            raise ConfigurationError(
                f"{DAX_ENDPOINT_ENV} is {dax_endpoint!r}: it must be the DAX cluster's TLS discovery "
                f"endpoint URL, starting with {DAX_TLS_SCHEME!r} (the cluster encrypts in transit), "
                "or be unset to read products straight from DynamoDB"
            )
        return cls(
            orders_table_name=_required(env, ORDERS_TABLE_ENV, "the name of the orders table"),
            products_table_name=_required(env, PRODUCTS_TABLE_ENV, "the name of the products table"),
            order_queue_url=_required(env, ORDER_QUEUE_URL_ENV, "the URL of the order queue"),
            dax_endpoint=dax_endpoint,
            max_units_per_customer=_positive_int(
                env,
                MAX_UNITS_PER_CUSTOMER_ENV,
                DEFAULT_MAX_UNITS_PER_CUSTOMER,
                MAX_UNITS_PER_CUSTOMER_CEILING,
            ),
            require_caller_identity=_boolean(env, REQUIRE_CALLER_IDENTITY_ENV, default=True),
            customer_roles=customer_roles_from_env(env),
        )


@dataclass(frozen=True, kw_only=True)
class StatusSettings:
    """Configuration of the order-status function (``GET /orders/{order_id}``)."""

    orders_table_name: str
    customer_roles: frozenset[str] | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> StatusSettings:
        env = os.environ if environ is None else environ
        return cls(
            orders_table_name=_required(env, ORDERS_TABLE_ENV, "the name of the orders table"),
            customer_roles=customer_roles_from_env(env),
        )


def customer_roles_from_env(env: Mapping[str, str]) -> frozenset[str] | None:
    """``CUSTOMER_ROLE_NAMES`` as a set of role names, or None when it is unset or empty."""
    names = frozenset(
        name.strip() for name in env.get(CUSTOMER_ROLE_NAMES_ENV, "").split(",") if name.strip()
    )
    return names or None


def _required(env: Mapping[str, str], name: str, meaning: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigurationError(
            f"environment variable {name} is not set; the flash-sale functions need {meaning} in it"
        )
    return value


def _positive_int(env: Mapping[str, str], name: str, default: int, ceiling: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= ceiling:
        raise ConfigurationError(f"{name} is {raw!r}; allowed: a whole number from 1 to {ceiling}")
    return int(raw)


def _boolean(env: Mapping[str, str], name: str, *, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw not in {"true", "false"}:
        raise ConfigurationError(f"{name} is {raw!r}; allowed: 'true' or 'false'")
    return raw == "true"
