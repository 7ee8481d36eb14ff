"""Ledger sink: the first of the stream's two Lambda readers (the fraud function is the second).

AWS allows at most two Lambda functions to read one DynamoDB stream shard, and the ledger has
three consumers. The two that must see every event, the audit archive and the balance projection,
share this function; fraud detection, which only needs withdrawals, has its own filtered mapping.

For each record the sink archives first, then projects. Both steps are idempotent (a conditional
S3 write keyed by event id; a projection update gated on version), so a retried record repeats
them harmlessly. Archiving first matters on a gap: an early event still reaches the immutable
archive immediately, and only the projection waits (the record fails and is retried) for the
missing version. Had the projection gone first, the archive would wait on it too, and a record
that finally went to the on-failure destination would be missing from the archive as well.

Env: ``PROJECTION_TABLE_NAME``, ``AUDIT_BUCKET_NAME``.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from dbpatterns.handlers.ledger._aws import dynamodb_client, require_env, s3_client
from dbpatterns.handlers.ledger.audit import archive_record
from dbpatterns.handlers.ledger.projection import project_record
from dbpatterns.handlers.ledger.streams import event_from_record

logger = Logger()
tracer = Tracer()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


@tracer.capture_method
def _record_handler(record: DynamoDBRecord) -> None:
    event = event_from_record(record)
    if event is None:
        return
    archive_record(s3_client(), require_env("AUDIT_BUCKET_NAME"), event)
    project_record(dynamodb_client(), require_env("PROJECTION_TABLE_NAME"), event)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=_record_handler, processor=processor, context=context
    )
