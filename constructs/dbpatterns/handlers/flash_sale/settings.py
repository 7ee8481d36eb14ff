"""The processor's configuration, read from environment variables in one place.

The flash-sale construct sets these variables on the function:

- ``ORDERS_TABLE_NAME`` (required): table of orders, partition key ``order_id`` (string).
- ``PRODUCTS_TABLE_NAME`` (required): table of products, partition key ``product_id`` (string).
- ``DAX_ENDPOINT`` (optional): the DAX cluster's TLS discovery URL, ``daxs://...``. When it is set,
  product data is read through DAX; when it is absent or empty, straight from DynamoDB.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

ORDERS_TABLE_ENV = "ORDERS_TABLE_NAME"
PRODUCTS_TABLE_ENV = "PRODUCTS_TABLE_NAME"
DAX_ENDPOINT_ENV = "DAX_ENDPOINT"
DAX_TLS_SCHEME = "daxs://"


class ConfigurationError(RuntimeError):
    """An environment variable the processor needs is missing or has a value it cannot use."""


@dataclass(frozen=True, kw_only=True)
class Settings:
    orders_table_name: str
    """Name of the orders table (partition key ``order_id``)."""
    products_table_name: str
    """Name of the products table (partition key ``product_id``)."""
    dax_endpoint: str | None
    """DAX cluster discovery URL (``daxs://...``), or None to read products from DynamoDB."""

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
            dax_endpoint=dax_endpoint,
        )


def _required(env: Mapping[str, str], name: str, meaning: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigurationError(
            f"environment variable {name} is not set; the flash-sale processor needs {meaning} in it"
        )
    return value
