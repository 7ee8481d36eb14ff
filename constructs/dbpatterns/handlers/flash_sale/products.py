"""Reading product data (name and price) through DAX, or straight from DynamoDB.

During a flash sale every order reads the same product item. With ``DAX_ENDPOINT`` set, those reads
are served by the DAX item cache (eventually consistent, microseconds) instead of the table. Only the
product's name and price are read, to copy them onto the order: the stock is never read, because a
cached stock is stale by design; the conditional update in ``orders`` is the only stock check.
Writes never go through DAX.

Product items live in the products table: partition key ``product_id`` (string) and the attributes
``name`` (string), ``price_cents`` (number, an integer amount in minor units) and ``stock`` (number).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol

PRODUCT_KEY: Final = "product_id"
NAME_ATTRIBUTE: Final = "name"
PRICE_ATTRIBUTE: Final = "price_cents"


class ProductDataError(ValueError):
    """A product item lacks an attribute or holds a value of the wrong type."""


@dataclass(frozen=True, kw_only=True)
class Product:
    product_id: str
    name: str
    price_cents: int
    """Unit price in minor units (cents): money is never a float."""


class ItemReader(Protocol):
    """What reading a product needs: ``get_item`` of a boto3 DynamoDB client or of a DAX client."""

    def get_item(self, **kwargs: Any) -> Any: ...


def product_reader(dax_endpoint: str | None, dynamodb: ItemReader) -> ItemReader:
    """The client to read products with: a DAX client for ``dax_endpoint``, else ``dynamodb`` itself.

    ``amazondax`` (PyPI ``amazon-dax-client``) is imported only when an endpoint is given, so functions
    without DAX need not ship it. Its client connects to the cluster as it is created: create it once
    per execution environment, not per invocation.
    """
    if dax_endpoint is None:
        return dynamodb
    from amazondax import AmazonDaxClient

    dax: ItemReader = AmazonDaxClient(endpoint_url=dax_endpoint)
    return dax


def read_product(reader: ItemReader, table_name: str, product_id: str) -> Product | None:
    """The product ``product_id``, or None when it does not exist. Eventually consistent (cacheable)."""
    response = reader.get_item(
        TableName=table_name,
        Key={PRODUCT_KEY: {"S": product_id}},
        ProjectionExpression="#id, #name, #price",
        ExpressionAttributeNames={"#id": PRODUCT_KEY, "#name": NAME_ATTRIBUTE, "#price": PRICE_ATTRIBUTE},
    )
    item = response.get("Item")
    if not item:
        return None
    return product_from_item(product_id, item)


def product_from_item(product_id: str, item: Mapping[str, Mapping[str, Any]]) -> Product:
    """Convert a low-level DynamoDB item; raise ProductDataError if it is not a usable product."""
    name = item.get(NAME_ATTRIBUTE, {}).get("S")
    if not name:
        raise ProductDataError(
            f"product {product_id}: attribute {NAME_ATTRIBUTE!r} must be a non-empty string"
        )
    price = item.get(PRICE_ATTRIBUTE, {}).get("N")
    if price is None or not (price.isascii() and price.isdigit()):
        raise ProductDataError(
            f"product {product_id}: attribute {PRICE_ATTRIBUTE!r} is {price!r}; it must be a whole, "
            "non-negative number of cents"
        )
    return Product(product_id=product_id, name=name, price_cents=int(price))
