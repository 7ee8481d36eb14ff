"""Reading ledger events out of DynamoDB stream records (shared by the stream consumers)."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
    DynamoDBRecord,
    DynamoDBRecordEventName,
)

from dbpatterns.handlers.ledger.events import LedgerEvent

logger = Logger(child=True)
metrics = Metrics()


def event_from_record(record: DynamoDBRecord) -> LedgerEvent | None:
    """The ledger event of an INSERT stream record; None (logged and counted) for anything else.

    Events are immutable and the writer may only put new items, so a MODIFY or REMOVE record means
    history was changed outside the ledger: it is reported (alarm on ``UnexpectedStreamChanges``),
    never applied. A malformed image raises InvalidEventError, so the record fails, is retried and
    finally reaches the mapping's on-failure destination.
    """
    if record.event_name is not DynamoDBRecordEventName.INSERT:
        logger.error(
            "Ignoring a non-INSERT change to the event store",
            extra={
                "event_name": record.event_name.name if record.event_name else None,
                "sequence_number": record.dynamodb.sequence_number if record.dynamodb else None,
                "keys": record.raw_event.get("dynamodb", {}).get("Keys"),
            },
        )
        metrics.add_metric(name="UnexpectedStreamChanges", unit=MetricUnit.Count, value=1)
        return None
    image = record.raw_event.get("dynamodb", {}).get("NewImage")
    if not image:
        # KEYS_ONLY or OLD_IMAGE streams are a deployment error, not a business event.
        raise ValueError("stream record has no NewImage; the event store stream must include new images")
    return LedgerEvent.from_item(image)
