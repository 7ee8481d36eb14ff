"""Audit archive: every event once in S3, in an Object Lock bucket that outlives the stream.

Each event is written to ``events/{account_id}/{event_id}.json`` with ``If-None-Match: *``, so S3
itself refuses a second write of the same event: a redelivered record gets 412 PreconditionFailed,
which means "already archived", and no new object version is created. This is atomic, unlike a
HeadObject check followed by a PutObject, where two concurrent deliveries could both write.
Two racing conditional writes may get 409 ConditionalRequestConflict: that record fails and is
retried, and the retry gets the 412. Conditional writes need only ``s3:PutObject``.

moto 5.2.5 honours ``IfNoneMatch='*'`` on PutObject (it raises PreconditionFailed), so the tests
exercise the same code path as AWS. The body carries a SHA-256 checksum, which S3 also requires
for uploads into a bucket with an Object Lock default retention.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from dbpatterns.handlers.ledger._aws import ClientError, error_code, require_env, s3_client
from dbpatterns.handlers.ledger.events import LedgerEvent, canonical_json
from dbpatterns.handlers.ledger.streams import event_from_record
from dbpatterns.handlers.ledger.tables import AUDIT_KEY_PREFIX

logger = Logger()
tracer = Tracer()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


class ArchiveOutcome(StrEnum):
    WRITTEN = "written"
    ALREADY_ARCHIVED = "already_archived"


def audit_key(event: LedgerEvent) -> str:
    return f"{AUDIT_KEY_PREFIX}{event.account_id}/{event.event_id}.json"


def audit_body(event: LedgerEvent) -> bytes:
    """The archived document: the event as canonical JSON (sorted keys, no spaces). Its SHA-256 is
    the next event's ``prev_hash``."""
    return canonical_json(event.to_document())


def archive_event(client: Any, bucket: str, event: LedgerEvent) -> ArchiveOutcome:
    """Write the event to the archive unless it is already there."""
    try:
        client.put_object(
            Bucket=bucket,
            Key=audit_key(event),
            Body=audit_body(event),
            ContentType="application/json",
            ChecksumAlgorithm="SHA256",
            IfNoneMatch="*",
        )
    except ClientError as error:
        if error_code(error) == "PreconditionFailed":
            return ArchiveOutcome.ALREADY_ARCHIVED
        raise
    return ArchiveOutcome.WRITTEN


def archive_record(client: Any, bucket: str, event: LedgerEvent) -> ArchiveOutcome:
    """Archive one event and report it in logs and metrics."""
    outcome = archive_event(client, bucket, event)
    if outcome is ArchiveOutcome.WRITTEN:
        metrics.add_metric(name="EventsArchived", unit=MetricUnit.Count, value=1)
    else:
        logger.info(
            "Event already archived", extra={"event_id": event.event_id, "account_id": event.account_id}
        )
        metrics.add_metric(name="ArchiveDuplicates", unit=MetricUnit.Count, value=1)
    return outcome


def _record_handler(record: DynamoDBRecord) -> None:
    event = event_from_record(record)
    if event is not None:
        archive_record(s3_client(), require_env("AUDIT_BUCKET_NAME"), event)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """Archive alone on a stream (env AUDIT_BUCKET_NAME). Prefer ``sink.handler``."""
    return process_partial_response(
        event=event, record_handler=_record_handler, processor=processor, context=context
    )
