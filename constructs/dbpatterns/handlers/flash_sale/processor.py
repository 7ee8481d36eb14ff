"""Lambda handler of the flash-sale order queue: ``dbpatterns.handlers.flash_sale.processor.handler``.

Invoked by an SQS event source mapping with ``ReportBatchItemFailures``. Each message body is one
``POST /orders`` request body; the order API stamps the caller's identity on it as message attributes
(see ``identity``). For each message the processor validates the body, checks that it names its caller
as the customer, reads the product (through DAX when configured, see ``products``) and places the
order with one DynamoDB transaction (see ``orders``). The response lists the messages that failed,
so SQS retries only those:

- accepted, rejected (sold out, unknown product, per-customer limit, another customer named),
  duplicate, or conflict (the order id belongs to another order): success, the message is deleted;
- malformed (not JSON, not matching ``ORDER_REQUEST_SCHEMA``, no caller identity, or a caller that is
  no customer): reported as a batch item failure; SQS moves it to the dead-letter queue after the
  queue's maxReceiveCount receives. The other messages of the batch are unaffected;
- transient (DynamoDB kept cancelling the transaction with ``TransactionConflict`` or throttling, or
  the price changed twice while the order was placed): reported as a batch item failure, and its
  visibility timeout is first cut to a short jittered backoff (``backoff``) with
  ``ChangeMessageVisibility``, so SQS delivers it again in seconds instead of after the queue's
  visibility timeout;
- any other error (DynamoDB unreachable, access denied, bad product data): reported as a batch item
  failure, retried by SQS after the visibility timeout, dead-lettered after maxReceiveCount receives.

Environment (set by the construct): see ``settings``; Powertools' ``POWERTOOLS_SERVICE_NAME`` and
``POWERTOOLS_METRICS_NAMESPACE`` (defaults: ``flash-sale-processor`` and ``DbPatterns/FlashSale``).
A missing or unusable variable fails the invocation with ``ConfigurationError`` naming it; no message
is lost, SQS redelivers the batch.

Metrics (count): ``OrdersAccepted``, ``OrdersRejected``, ``DuplicateOrderMessages``,
``OrderIdConflicts``, ``CustomerMismatches`` (rejections for naming another customer), ``UnitsSold``
(units of accepted orders), ``StalePriceRetries`` (transactions sent again with DynamoDB's price),
``ProductCacheMisses`` / ``ProductCacheFailures`` / ``ProductCacheBypassed`` (product reads DynamoDB
answered because DAX had no usable item / failed / was skipped by the open breaker), and per failed
receive: ``MalformedOrderMessages``, ``TransientOrderFailures``, ``FailedOrderMessages`` (any other
error); ``TransientBackoffs`` (messages given a short visibility timeout) and
``VisibilityChangeFailures`` (messages whose backoff SQS refused: they wait the full timeout).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

import boto3  # type: ignore[import-untyped, unused-ignore]
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config  # type: ignore[import-untyped, unused-ignore]

from dbpatterns.handlers.flash_sale.backoff import visibility_backoff_seconds
from dbpatterns.handlers.flash_sale.identity import CallerIdentity, UnmappableCallerError, customer_id_of
from dbpatterns.handlers.flash_sale.messages import MalformedOrderError, parse_order_message
from dbpatterns.handlers.flash_sale.orders import (
    OrderRequest,
    OrderResult,
    OrderTables,
    OrderWriter,
    Outcome,
    RejectionReason,
    TransientOrderError,
    place_order,
    record_customer_mismatch,
)
from dbpatterns.handlers.flash_sale.products import ProductCatalog, ReadSource, dax_client
from dbpatterns.handlers.flash_sale.settings import Settings

ORDERS_ACCEPTED_METRIC: Final = "OrdersAccepted"
ORDERS_REJECTED_METRIC: Final = "OrdersRejected"
DUPLICATE_ORDERS_METRIC: Final = "DuplicateOrderMessages"
ORDER_ID_CONFLICTS_METRIC: Final = "OrderIdConflicts"
CUSTOMER_MISMATCHES_METRIC: Final = "CustomerMismatches"
UNITS_SOLD_METRIC: Final = "UnitsSold"
STALE_PRICE_RETRIES_METRIC: Final = "StalePriceRetries"
MALFORMED_ORDERS_METRIC: Final = "MalformedOrderMessages"
TRANSIENT_FAILURES_METRIC: Final = "TransientOrderFailures"
FAILED_ORDERS_METRIC: Final = "FailedOrderMessages"
TRANSIENT_BACKOFFS_METRIC: Final = "TransientBackoffs"
VISIBILITY_CHANGE_FAILURES_METRIC: Final = "VisibilityChangeFailures"
_OUTCOME_METRICS: Final = {
    Outcome.ACCEPTED: ORDERS_ACCEPTED_METRIC,
    Outcome.REJECTED: ORDERS_REJECTED_METRIC,
    Outcome.DUPLICATE: DUPLICATE_ORDERS_METRIC,
    Outcome.CONFLICT: ORDER_ID_CONFLICTS_METRIC,
}
_READ_SOURCE_METRICS: Final = {
    ReadSource.CACHE_MISS: "ProductCacheMisses",
    ReadSource.CACHE_FAILURE: "ProductCacheFailures",
    ReadSource.CACHE_BYPASSED: "ProductCacheBypassed",
}
_VISIBILITY_BATCH: Final = 10
"""Entries per ``ChangeMessageVisibilityBatch`` call (SQS's limit)."""

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "flash-sale-processor"))
tracer = Tracer()
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "DbPatterns/FlashSale"))
# Report failures in the response even when every message of a batch failed (a lone poison message
# being retried, say) rather than failing the invocation: SQS retries exactly the reported messages
# either way, and failures stay visible through the failure metrics, the logs and the DLQ alarms.
batch_processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

# Standard retry mode: up to 3 attempts with backoff for throttled or failed requests (botocore's
# default "legacy" mode makes up to 10 attempts for DynamoDB, too long for a queue consumer).
# botocore does not retry cancelled transactions; ``orders.place_order`` handles those.
_DYNAMODB_CONFIG: Final = Config(
    retries={"mode": "standard", "max_attempts": 3},
    connect_timeout=2,
    read_timeout=5,
)
# A backoff that cannot be set is not worth waiting for: the message then waits its full visibility
# timeout, which is what happened before backoffs existed.
_SQS_CONFIG: Final = Config(
    retries={"mode": "standard", "max_attempts": 2}, connect_timeout=1, read_timeout=2
)


class VisibilityChanger(Protocol):
    """The part of a boto3 SQS client the processor uses."""

    def change_message_visibility_batch(self, **kwargs: Any) -> Any: ...


class OrderClient(OrderWriter, Protocol):
    """The DynamoDB client: order writes and consistent product reads."""

    def get_item(self, **kwargs: Any) -> Any: ...


@dataclass(frozen=True, kw_only=True)
class Dependencies:
    """What the handler needs from its environment, built once per execution environment."""

    settings: Settings
    dynamodb: OrderClient
    """Client for all writes and for consistent product reads (always DynamoDB, never DAX)."""
    catalog: ProductCatalog
    """Product reads: through DAX when ``DAX_ENDPOINT`` is set (with fallback), else DynamoDB."""
    sqs: VisibilityChanger
    """Client for ``ChangeMessageVisibility`` on the order queue."""

    @property
    def tables(self) -> OrderTables:
        return OrderTables(orders=self.settings.orders_table_name, products=self.settings.products_table_name)


@functools.cache
def dependencies() -> Dependencies:
    """Settings and clients, created on the first invocation and reused by later ones.

    Raises ``ConfigurationError`` (not cached: the next invocation tries again) when the environment
    is incomplete. The DAX client is created on the first product read (see ``ProductCatalog``), so a
    cluster that cannot be reached costs a fallback to DynamoDB, not the invocation. Tests call
    ``dependencies.cache_clear()`` to start from a new environment.
    """
    settings = Settings.from_env()
    dynamodb = boto3.client("dynamodb", config=_DYNAMODB_CONFIG)
    endpoint = settings.dax_endpoint
    catalog = ProductCatalog(
        table_name=settings.products_table_name,
        dynamodb=dynamodb,
        dax_factory=None if endpoint is None else functools.partial(dax_client, endpoint),
    )
    return Dependencies(
        settings=settings, dynamodb=dynamodb, catalog=catalog, sqs=boto3.client("sqs", config=_SQS_CONFIG)
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """Process one SQS batch of order messages; return the messages that failed, for SQS to retry."""
    deps = dependencies()
    transient: list[SQSRecord] = []
    response = process_partial_response(
        event=event,
        record_handler=functools.partial(process_record, deps=deps, transient=transient),
        processor=batch_processor,
        context=context,
    )
    if transient:
        back_off(transient, deps)
    return response


@tracer.capture_method(capture_response=False)
def process_record(
    record: SQSRecord, deps: Dependencies, transient: list[SQSRecord] | None = None
) -> OrderResult:
    """Process one message; raise to report it as a batch item failure.

    A message that failed for a transient reason is also appended to ``transient``, for ``back_off``.
    """
    log_keys: dict[str, Any] = {
        "message_id": record.message_id,
        "receive_count": record.attributes.approximate_receive_count,
    }
    try:
        request, caller_customer_id = parse_record(record, deps.settings)
    except MalformedOrderError as error:
        metrics.add_metric(name=MALFORMED_ORDERS_METRIC, unit=MetricUnit.Count, value=1)
        logger.error(
            "Malformed order message: reported as failed, SQS moves it to the dead-letter queue",
            extra={**log_keys, "error": str(error)},
        )
        raise

    log_keys.update(order_id=request.order_id, product_id=request.product_id, quantity=request.quantity)
    try:
        result = _place(request, caller_customer_id, record.message_id, deps)
    except TransientOrderError as error:
        metrics.add_metric(name=TRANSIENT_FAILURES_METRIC, unit=MetricUnit.Count, value=1)
        logger.warning(
            "Order not placed yet: SQS will retry it soon", extra={**log_keys, "error": str(error)}
        )
        if transient is not None:
            transient.append(record)
        raise
    except Exception:
        metrics.add_metric(name=FAILED_ORDERS_METRIC, unit=MetricUnit.Count, value=1)
        logger.exception("Order not placed: SQS will retry it", extra=log_keys)
        raise

    metrics.add_metric(name=_OUTCOME_METRICS[result.outcome], unit=MetricUnit.Count, value=1)
    if result.outcome is Outcome.ACCEPTED:
        metrics.add_metric(name=UNITS_SOLD_METRIC, unit=MetricUnit.Count, value=result.quantity)
    if result.rejection_reason is RejectionReason.CUSTOMER_MISMATCH:
        metrics.add_metric(name=CUSTOMER_MISMATCHES_METRIC, unit=MetricUnit.Count, value=1)
    if result.stale_price_retries:
        metrics.add_metric(
            name=STALE_PRICE_RETRIES_METRIC, unit=MetricUnit.Count, value=result.stale_price_retries
        )
    log = logger.warning if result.outcome is Outcome.CONFLICT else logger.info
    log(
        "Order processed",
        extra={
            **log_keys,
            "outcome": result.outcome.value,
            "rejection_reason": result.rejection_reason.value if result.rejection_reason else None,
            "unit_price_cents": result.unit_price_cents,
        },
    )
    return result


def parse_record(record: SQSRecord, settings: Settings) -> tuple[OrderRequest, str | None]:
    """The order request of a message and its caller's customer id (None when binding is off).

    Raises ``MalformedOrderError`` for a body that is no order request and, when
    ``settings.require_caller_identity``, for a message without a caller identity or with a caller
    that maps to no customer: retrying cannot help any of them.
    """
    request = parse_order_message(record.body)
    if not settings.require_caller_identity:
        return request, None
    caller = CallerIdentity.from_message_attributes(record.raw_event.get("messageAttributes") or {})
    if caller is None:
        raise MalformedOrderError(
            "message has no caller identity (message attribute caller_user_arn): it did not come "
            "through the order API"
        )
    try:
        return request, customer_id_of(caller, customer_roles=settings.customer_roles)
    except UnmappableCallerError as error:
        raise MalformedOrderError(f"the caller is no customer: {error}") from error


def _place(
    request: OrderRequest, caller_customer_id: str | None, message_id: str, deps: Dependencies
) -> OrderResult:
    if caller_customer_id is not None and caller_customer_id != request.customer_id:
        return record_customer_mismatch(
            request,
            caller_customer_id=caller_customer_id,
            dynamodb=deps.dynamodb,
            tables=deps.tables,
            message_id=message_id,
        )
    read = deps.catalog.read(request.product_id)
    if read.source in _READ_SOURCE_METRICS:
        metrics.add_metric(name=_READ_SOURCE_METRICS[read.source], unit=MetricUnit.Count, value=1)
    if read.cache_error is not None:
        logger.warning(
            "DAX read failed; the product was read from DynamoDB",
            extra={
                "order_id": request.order_id,
                "error": read.cache_error,
                "breaker_opened": read.breaker_opened,
            },
        )
    return place_order(
        request,
        product=read.product,
        dynamodb=deps.dynamodb,
        tables=deps.tables,
        message_id=message_id,
        max_units_per_customer=deps.settings.max_units_per_customer,
    )


def back_off(records: Sequence[SQSRecord], deps: Dependencies) -> None:
    """Cut the visibility timeout of ``records`` to a short jittered backoff; never raise.

    The records are still reported as batch item failures: if SQS refuses a change (or cannot be
    reached), that message simply waits out the queue's visibility timeout.
    """
    for start in range(0, len(records), _VISIBILITY_BATCH):
        chunk = records[start : start + _VISIBILITY_BATCH]
        delays = [visibility_backoff_seconds(int(r.attributes.approximate_receive_count)) for r in chunk]
        entries = [
            {"Id": str(index), "ReceiptHandle": record.receipt_handle, "VisibilityTimeout": delay}
            for index, (record, delay) in enumerate(zip(chunk, delays, strict=True))
        ]
        try:
            response = deps.sqs.change_message_visibility_batch(
                QueueUrl=deps.settings.order_queue_url, Entries=entries
            )
        except Exception:
            logger.exception(
                "Could not shorten the visibility of transient failures", extra={"count": len(chunk)}
            )
            metrics.add_metric(
                name=VISIBILITY_CHANGE_FAILURES_METRIC, unit=MetricUnit.Count, value=len(chunk)
            )
            continue
        failed = response.get("Failed", [])
        if failed:
            logger.warning("SQS refused some visibility changes", extra={"failed": failed})
            metrics.add_metric(
                name=VISIBILITY_CHANGE_FAILURES_METRIC, unit=MetricUnit.Count, value=len(failed)
            )
        succeeded = len(chunk) - len(failed)
        if succeeded:
            metrics.add_metric(name=TRANSIENT_BACKOFFS_METRIC, unit=MetricUnit.Count, value=succeeded)
        logger.info(
            "Transient failures will be retried after a short backoff",
            extra={"backoffs": {r.message_id: delay for r, delay in zip(chunk, delays, strict=True)}},
        )
