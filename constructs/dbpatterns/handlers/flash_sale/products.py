"""Reading product data (name and price): through DAX when it helps, from DynamoDB when it decides.

During a flash sale every order reads the same product item. With ``DAX_ENDPOINT`` set, those reads
are served by the DAX item cache (eventually consistent, microseconds) instead of the table. The cache
may only save reads; it never takes a decision:

- A product DAX does not have is read again from DynamoDB with a consistent read. DAX caches negative
  answers (a product read before it was loaded stays "missing" for the record TTL), so a DAX miss
  means nothing; only DynamoDB's "no such item" makes an order ``UNKNOWN_PRODUCT``.
- The price read from DAX may be stale. The order's transaction is conditioned on it (see
  ``orders``), so a stale price is never charged: DynamoDB returns the current item and the order is
  retried with it.
- A failing or slow DAX (errors, timeouts, no reachable node) costs at most ``DAX_TIMEOUTS`` per read,
  and after ``BREAKER_FAILURES`` consecutive failures the circuit breaker sends reads straight to
  DynamoDB for ``BREAKER_RESET_SECONDS``; then one read tries DAX again.

The stock is never read here: a cached stock is stale by design, and the conditional update in
``orders`` is the only stock check. Writes never go through DAX.

Product items live in the products table: partition key ``product_id`` (string) and the attributes
``name`` (string), ``price_cents`` (number, an integer amount in minor units) and ``stock`` (number).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, Protocol

from botocore.config import Config  # type: ignore[import-untyped, unused-ignore]

from dbpatterns.runtime.breaker import CircuitBreaker

PRODUCT_KEY: Final = "product_id"
NAME_ATTRIBUTE: Final = "name"
PRICE_ATTRIBUTE: Final = "price_cents"

DAX_CONNECT_TIMEOUT_SECONDS: Final = 1.0
"""Connecting to a node in the same VPC takes milliseconds; a second means the node is gone."""
DAX_READ_TIMEOUT_SECONDS: Final = 1.0
"""A DAX GetItem answers in microseconds from the cache, milliseconds on a miss (it reads DynamoDB)."""
DAX_CLIENT_CONFIG: Final = Config(
    connect_timeout=DAX_CONNECT_TIMEOUT_SECONDS,
    read_timeout=DAX_READ_TIMEOUT_SECONDS,
    # No retries inside the DAX client: the fallback to DynamoDB is the retry, and it is the source
    # of truth. amazon-dax-client reads ``retries["max_attempts"]`` as the number of retries.
    retries={"max_attempts": 0},
)
"""Configuration of the DAX client. botocore's defaults (60 s connect and read) are twice the
processor's timeout: one hung node would hold every message until the function timed out."""
BREAKER_FAILURES: Final = 3
"""Consecutive DAX failures that open the breaker: three slow reads (about 3 s) at most, then none."""
BREAKER_RESET_SECONDS: Final = 30.0
"""How long reads skip DAX once the breaker opened, before one read tries it again. Each warm
execution environment probes once per period, so a dead cluster costs each about 1 s every 30 s."""


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


class ReadSource(StrEnum):
    """Where a product read was answered, and why."""

    TABLE = "TABLE"
    """No DAX configured: a consistent read from DynamoDB."""
    CACHE = "CACHE"
    """DAX had the product."""
    CACHE_MISS = "CACHE_MISS"
    """DAX did not have it (or held unusable data): a consistent read from DynamoDB decided."""
    CACHE_FAILURE = "CACHE_FAILURE"
    """DAX failed (error, timeout, unreachable): a consistent read from DynamoDB answered."""
    CACHE_BYPASSED = "CACHE_BYPASSED"
    """The breaker was open: a consistent read from DynamoDB answered without trying DAX."""


@dataclass(frozen=True, kw_only=True)
class ProductRead:
    product: Product | None
    """The product, or None when DynamoDB (never DAX) says it does not exist."""
    source: ReadSource
    cache_error: str | None = None
    """What DAX raised (``CACHE_FAILURE``), for the caller to log."""
    breaker_opened: bool = False
    """Whether this failure opened the circuit breaker."""


def dax_client(endpoint_url: str) -> ItemReader:
    """A DAX client for ``endpoint_url`` with short timeouts (``DAX_CLIENT_CONFIG``).

    ``amazondax`` (PyPI ``amazon-dax-client``) is imported here, so functions without DAX need not ship
    it. The client connects to the cluster as it is created and raises when no node answers within
    the connect timeout.
    """
    from amazondax import AmazonDaxClient

    client: ItemReader = AmazonDaxClient(endpoint_url=endpoint_url, config=DAX_CLIENT_CONFIG)
    return client


class ProductCatalog:
    """Reads products through DAX (when configured) with a breaker, and from DynamoDB when it decides.

    Create one per execution environment: it keeps the DAX client (created on first use, so a cluster
    that is down at cold start costs a fallback, not the invocation) and the breaker's state.
    """

    def __init__(
        self,
        *,
        table_name: str,
        dynamodb: ItemReader,
        dax_factory: Callable[[], ItemReader] | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self._table_name = table_name
        self._dynamodb = dynamodb
        self._dax_factory = dax_factory
        self._dax: ItemReader | None = None
        self._lock = threading.Lock()
        self.breaker = breaker or CircuitBreaker(
            failure_threshold=BREAKER_FAILURES, reset_after_seconds=BREAKER_RESET_SECONDS
        )

    def read(self, product_id: str) -> ProductRead:
        """The product ``product_id``; see the module docstring for where each answer comes from."""
        if self._dax_factory is None:
            return ProductRead(product=self.read_consistently(product_id), source=ReadSource.TABLE)
        if not self.breaker.allow_request():
            return ProductRead(product=self.read_consistently(product_id), source=ReadSource.CACHE_BYPASSED)
        try:
            item = _get(self._dax_client(), self._table_name, product_id, consistent=False)
        except Exception as error:  # any DAX failure falls back to the source of truth
            opened = self.breaker.record_failure()
            return ProductRead(
                product=self.read_consistently(product_id),
                source=ReadSource.CACHE_FAILURE,
                cache_error=repr(error),
                breaker_opened=opened,
            )
        self.breaker.record_success()
        if item:
            try:
                return ProductRead(product=product_from_item(product_id, item), source=ReadSource.CACHE)
            except ProductDataError:
                pass  # the table may hold good data by now; it decides below
        return ProductRead(product=self.read_consistently(product_id), source=ReadSource.CACHE_MISS)

    def read_consistently(self, product_id: str) -> Product | None:
        """The product as DynamoDB holds it now (consistent read), or None when it does not exist."""
        item = _get(self._dynamodb, self._table_name, product_id, consistent=True)
        return product_from_item(product_id, item) if item else None

    def _dax_client(self) -> ItemReader:
        with self._lock:
            if self._dax is None:
                assert self._dax_factory is not None
                self._dax = self._dax_factory()
            return self._dax


def _get(
    reader: ItemReader, table_name: str, product_id: str, *, consistent: bool
) -> Mapping[str, Any] | None:
    request: dict[str, Any] = {
        "TableName": table_name,
        "Key": {PRODUCT_KEY: {"S": product_id}},
        "ProjectionExpression": "#id, #name, #price",
        "ExpressionAttributeNames": {"#id": PRODUCT_KEY, "#name": NAME_ATTRIBUTE, "#price": PRICE_ATTRIBUTE},
    }
    if consistent:
        request["ConsistentRead"] = True
    item: Mapping[str, Any] | None = reader.get_item(**request).get("Item")
    return item


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
