"""Ledger sink: the first of the stream's two Lambda readers (the fraud function is the second).

AWS allows at most two Lambda functions to read one DynamoDB stream shard, and the ledger has
three consumers. The two that must see every event, the audit archive and the balance projection,
share this function; fraud detection, which only needs withdrawals, has its own filtered mapping.

For each record the sink archives first, then projects. Both steps are idempotent (a conditional
S3 write keyed by event id; a projection update gated on version), so a retried record repeats
them harmlessly. On a gap (an earlier version not projected yet, or its record discarded by the
mapping after its retries) the sink reads the missing versions from the event store, archives and
projects each in order, then the event itself (see ``projection``): the projection never waits on
a stream record, and the archive gets the missing events too.

Env: ``PROJECTION_TABLE_NAME``, ``AUDIT_BUCKET_NAME``, ``EVENTS_TABLE_NAME``.
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
from dbpatterns.handlers.ledger.projection import project_record, projection_tables_from_env
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
    bucket = require_env("AUDIT_BUCKET_NAME")
    archive_record(s3_client(), bucket, event)
    project_record(
        dynamodb_client(),
        projection_tables_from_env(),
        event,
        before_apply=lambda missing: archive_record(s3_client(), bucket, missing),
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=_record_handler, processor=processor, context=context
    )
