"""Lambda handler of the flash-sale order queue: ``dbpatterns.handlers.flash_sale.processor.handler``.

Invoked by an SQS event source mapping with ``ReportBatchItemFailures``. Each message body is one
``POST /orders`` request body. For each message it validates the body, reads the product (through
DAX when configured) and places the order with one DynamoDB transaction (see ``orders``). The
response lists the messages that failed, so SQS retries only those:

- placed, rejected (sold out or unknown product) or duplicate: success, the message is deleted;
- malformed (not JSON, or not matching ``ORDER_REQUEST_SCHEMA``): reported as a batch item failure;
  SQS moves it to the dead-letter queue after the queue's maxReceiveCount receives, where it can be
  inspected. The other messages of the batch are unaffected;
- transient DynamoDB failures (after a few in-process retries), DAX or DynamoDB errors, a product
  item with bad data: reported as a batch item failure, retried by SQS, and moved to the dead-letter
  queue after maxReceiveCount receives.

Environment (set by the construct): ``ORDERS_TABLE_NAME``, ``PRODUCTS_TABLE_NAME``, optional
``DAX_ENDPOINT`` (``daxs://...``); Powertools' ``POWERTOOLS_SERVICE_NAME`` and
``POWERTOOLS_METRICS_NAMESPACE`` (defaults: ``flash-sale-processor`` and ``DbPatterns/FlashSale``).
A missing or unusable variable fails the invocation with ``ConfigurationError`` naming it; no message
is lost, SQS redelivers the batch.

Metrics (count): ``OrdersAccepted``, ``OrdersRejected``, ``DuplicateOrderMessages``, ``UnitsSold``
(units of accepted orders), and per failed receive: ``MalformedOrderMessages``,
``TransientOrderFailures`` (DynamoDB kept cancelling for a transient reason) and
``FailedOrderMessages`` (any other error: DAX or DynamoDB unreachable, access denied, bad product data).
Each failed message is also reported in the response, so SQS retries it, then dead-letters it.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import Any, Final

import boto3  # type: ignore[import-untyped, unused-ignore]
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config  # type: ignore[import-untyped, unused-ignore]

from dbpatterns.handlers.flash_sale.messages import MalformedOrderError, parse_order_message
from dbpatterns.handlers.flash_sale.orders import (
    OrderResult,
    OrderTables,
    OrderWriter,
    Outcome,
    TransientOrderError,
    place_order,
)
from dbpatterns.handlers.flash_sale.products import ItemReader, product_reader, read_product
from dbpatterns.handlers.flash_sale.settings import Settings

ORDERS_ACCEPTED_METRIC: Final = "OrdersAccepted"
ORDERS_REJECTED_METRIC: Final = "OrdersRejected"
DUPLICATE_ORDERS_METRIC: Final = "DuplicateOrderMessages"
UNITS_SOLD_METRIC: Final = "UnitsSold"
MALFORMED_ORDERS_METRIC: Final = "MalformedOrderMessages"
TRANSIENT_FAILURES_METRIC: Final = "TransientOrderFailures"
FAILED_ORDERS_METRIC: Final = "FailedOrderMessages"
_OUTCOME_METRICS: Final = {
    Outcome.ACCEPTED: ORDERS_ACCEPTED_METRIC,
    Outcome.REJECTED: ORDERS_REJECTED_METRIC,
    Outcome.DUPLICATE: DUPLICATE_ORDERS_METRIC,
}

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


@dataclass(frozen=True, kw_only=True)
class Dependencies:
    """What the handler needs from its environment, built once per execution environment."""

    settings: Settings
    dynamodb: OrderWriter
    """Client for all writes (always DynamoDB, never DAX)."""
    products: ItemReader
    """Client for product reads: DAX when ``DAX_ENDPOINT`` is set, else the DynamoDB client."""

    @property
    def tables(self) -> OrderTables:
        return OrderTables(orders=self.settings.orders_table_name, products=self.settings.products_table_name)


@functools.cache
def dependencies() -> Dependencies:
    """Settings and clients, created on the first invocation and reused by later ones.

    Raises ``ConfigurationError`` (not cached: the next invocation tries again) when the environment
    is incomplete. Tests call ``dependencies.cache_clear()`` to start from a new environment.
    """
    settings = Settings.from_env()
    dynamodb = boto3.client("dynamodb", config=_DYNAMODB_CONFIG)
    return Dependencies(
        settings=settings, dynamodb=dynamodb, products=product_reader(settings.dax_endpoint, dynamodb)
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """Process one SQS batch of order messages; return the messages that failed, for SQS to retry."""
    deps = dependencies()
    return process_partial_response(
        event=event,
        record_handler=functools.partial(process_record, deps=deps),
        processor=batch_processor,
        context=context,
    )


@tracer.capture_method(capture_response=False)
def process_record(record: SQSRecord, deps: Dependencies) -> OrderResult:
    """Process one message; raise to report it as a batch item failure."""
    log_keys: dict[str, Any] = {
        "message_id": record.message_id,
        "receive_count": record.attributes.approximate_receive_count,
    }
    try:
        request = parse_order_message(record.body)
    except MalformedOrderError as error:
        metrics.add_metric(name=MALFORMED_ORDERS_METRIC, unit=MetricUnit.Count, value=1)
        logger.error(
            "Malformed order message: reported as failed, SQS moves it to the dead-letter queue",
            extra={**log_keys, "error": str(error)},
        )
        raise

    log_keys.update(order_id=request.order_id, product_id=request.product_id, quantity=request.quantity)
    try:
        product = read_product(deps.products, deps.settings.products_table_name, request.product_id)
        result = place_order(
            request, product=product, dynamodb=deps.dynamodb, tables=deps.tables, message_id=record.message_id
        )
    except TransientOrderError as error:
        metrics.add_metric(name=TRANSIENT_FAILURES_METRIC, unit=MetricUnit.Count, value=1)
        logger.warning("Order not placed yet: SQS will retry it", extra={**log_keys, "error": str(error)})
        raise
    except Exception:
        metrics.add_metric(name=FAILED_ORDERS_METRIC, unit=MetricUnit.Count, value=1)
        logger.exception("Order not placed: SQS will retry it", extra=log_keys)
        raise

    metrics.add_metric(name=_OUTCOME_METRICS[result.outcome], unit=MetricUnit.Count, value=1)
    if result.outcome is Outcome.ACCEPTED:
        metrics.add_metric(name=UNITS_SOLD_METRIC, unit=MetricUnit.Count, value=result.quantity)
    logger.info(
        "Order processed",
        extra={
            **log_keys,
            "outcome": result.outcome.value,
            "rejection_reason": result.rejection_reason.value if result.rejection_reason else None,
        },
    )
    return result
