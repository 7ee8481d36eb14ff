"""Redrive the ledger's failure queue: repair what the stream consumers gave up on, from the event store.

When a stream record fails every retry of the sink's or the fraud function's mapping (1 + 5
attempts or one hour by default), Lambda sends a message to the failure queue and moves on. The
message describes the batch, not its records::

    {"requestContext": {"functionArn": ..., "condition": "RetryAttemptsExhausted", ...},
     "DDBStreamBatchInfo": {"shardId": ..., "startSequenceNumber": ..., "endSequenceNumber": ...,
                            "approximateArrivalOfFirstRecord": ..., "batchSize": 3, "streamArn": ...}}

For each message the redrive:

1. **Finds the affected events.** It reads the shard from ``startSequenceNumber`` to
   ``endSequenceNumber`` (DynamoDB Streams ``GetShardIterator AT_SEQUENCE_NUMBER`` and
   ``GetRecords``) and keeps the records' keys (account, version). The stream keeps records for 24
   hours; if they are gone (trimmed, or the stream was replaced), it falls back to the batch's
   arrival times: a Scan of the event store for events that occurred between the first and last
   arrival, widened by ``--slack-minutes`` (5 by default), so nothing in the batch is missed.
2. **Replays each affected account from its earliest affected version** with the replay code: the
   history is verified (versions, balances, hash chain, transfer counterparts), missing audit
   objects are written (``If-None-Match``), and the projection is rewritten if it is behind.
3. **Re-checks the affected debits for fraud** (when the alerts table and topic are configured).
   Alerts are recorded once per ``alert_id``, so an event the fraud function did handle raises
   nothing new; an event it never saw raises its alerts now.
4. **Deletes the message** only when all of that succeeded. A message that cannot be read, or
   whose accounts do not replay cleanly, stays in the queue (and after the queue's
   ``maxReceiveCount`` moves to its dead-letter queue, which alarms); the summary says why.

Afterwards it publishes any fraud alert still PENDING (``alerts.republish_pending``).

Every step is idempotent, so running the redrive twice, or on a message whose records were later
repaired by the sink's gap fill, changes nothing.

Command (credentials from the standard AWS chain; table and queue names from the stack outputs)::

    python -m dbpatterns.handlers.ledger.redrive --queue-url <failure queue URL> \\
        --table <events table> --projection-table <projection table> --audit-bucket <archive bucket> \\
        [--alerts-table <alerts table> --alert-topic-arn <topic ARN>] [--max-messages 100] [--dry-run]

Fraud settings come from the same environment variables as the fraud function
(``FRAUD_SINGLE_LIMIT_MAJOR``, ``FRAUD_VELOCITY_COUNT``, ``FRAUD_VELOCITY_WINDOW_MINUTES``...).
``handler`` does the same as a Lambda function with env ``FAILURE_QUEUE_URL``,
``EVENTS_TABLE_NAME``, ``PROJECTION_TABLE_NAME``, ``AUDIT_BUCKET_NAME`` and optionally
``ALERTS_TABLE_NAME``, ``ALERT_TOPIC_ARN`` plus the fraud settings; its event may set
``max_messages`` and ``dry_run``. Point ``--queue-url`` at the failure queue's dead-letter queue
to redrive messages that moved there.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from dbpatterns.handlers.ledger import alerts, fraud, replay
from dbpatterns.handlers.ledger._aws import (
    ClientError,
    dynamodb_client,
    error_code,
    require_env,
    s3_client,
    sns_client,
    sqs_client,
    streams_client,
)
from dbpatterns.handlers.ledger.events import DEBIT_TYPES, format_timestamp, parse_timestamp
from dbpatterns.handlers.ledger.tables import EVENTS_PARTITION_KEY, EVENTS_SORT_KEY

logger = Logger()

DEFAULT_SLACK: Final = timedelta(minutes=5)
RECEIVE_VISIBILITY_SECONDS: Final = 900
"""A received message stays hidden this long while it is redriven (Lambda's 15-minute maximum)."""
_STREAM_GONE: Final = frozenset(
    {
        "TrimmedDataAccessException",
        "ExpiredIteratorException",
        "ResourceNotFoundException",
        "ValidationException",
    }
)
_MAX_EMPTY_PAGES: Final = 10


class UnreadableMessageError(ValueError):
    """The message is not a DynamoDB stream on-failure record."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamBatchInfo:
    """What Lambda's on-failure record says about a discarded stream batch."""

    shard_id: str
    start_sequence_number: str
    end_sequence_number: str
    first_arrival: datetime
    last_arrival: datetime
    batch_size: int
    stream_arn: str
    condition: str
    function_arn: str


def parse_failure_message(body: str) -> StreamBatchInfo:
    """Read an on-failure record (the SQS message body); UnreadableMessageError if it is not one."""
    try:
        document = json.loads(body)
        info = document["DDBStreamBatchInfo"]
        context = document.get("requestContext", {})
        parsed = StreamBatchInfo(
            shard_id=str(info["shardId"]),
            start_sequence_number=str(info["startSequenceNumber"]),
            end_sequence_number=str(info["endSequenceNumber"]),
            first_arrival=parse_timestamp(str(info["approximateArrivalOfFirstRecord"])),
            last_arrival=parse_timestamp(str(info["approximateArrivalOfLastRecord"])),
            batch_size=int(info["batchSize"]),
            stream_arn=str(info["streamArn"]),
            condition=str(context.get("condition", "")),
            function_arn=str(context.get("functionArn", "")),
        )
    except (ValueError, KeyError, TypeError) as error:
        raise UnreadableMessageError(f"not a DynamoDB stream on-failure record: {error}") from None
    if not (parsed.start_sequence_number.isdigit() and parsed.end_sequence_number.isdigit()):
        raise UnreadableMessageError("sequence numbers are not numeric")
    if int(parsed.end_sequence_number) < int(parsed.start_sequence_number) or parsed.batch_size < 1:
        raise UnreadableMessageError("the batch is empty or its sequence numbers are reversed")
    return parsed


def keys_from_stream(streams: Any, info: StreamBatchInfo) -> list[tuple[str, int]] | None:
    """The (account, version) keys of the batch's records, read from the stream; None if the stream
    no longer has them (older than 24 hours, or the stream was replaced)."""
    end = int(info.end_sequence_number)
    keys: list[tuple[str, int]] = []
    try:
        iterator = streams.get_shard_iterator(
            StreamArn=info.stream_arn,
            ShardId=info.shard_id,
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=info.start_sequence_number,
        )["ShardIterator"]
        empty_pages = 0
        while iterator and empty_pages < _MAX_EMPTY_PAGES:
            response = streams.get_records(ShardIterator=iterator, Limit=1000)
            records = response.get("Records", [])
            empty_pages = 0 if records else empty_pages + 1
            for record in records:
                if int(record["dynamodb"]["SequenceNumber"]) > end:
                    return keys
                stream_keys = record["dynamodb"]["Keys"]
                keys.append((stream_keys[EVENTS_PARTITION_KEY]["S"], int(stream_keys[EVENTS_SORT_KEY]["N"])))
                if int(record["dynamodb"]["SequenceNumber"]) == end:
                    return keys
            iterator = response.get("NextShardIterator")
    except ClientError as error:
        if error_code(error) in _STREAM_GONE:
            logger.warning("The stream no longer holds the batch", extra={"error": error_code(error)})
            return None
        raise
    return keys


def keys_from_time_window(
    client: Any, table: str, info: StreamBatchInfo, *, slack: timedelta = DEFAULT_SLACK
) -> list[tuple[str, int]]:
    """Every event that occurred while the batch arrived, widened by ``slack``: a Scan of the event
    store (the fallback once the stream has dropped the records)."""
    scan: dict[str, Any] = {
        "TableName": table,
        "FilterExpression": "occurred_at BETWEEN :first AND :last",
        "ExpressionAttributeValues": {
            ":first": {"S": format_timestamp(info.first_arrival - slack)},
            ":last": {"S": format_timestamp(info.last_arrival + slack)},
        },
        "ProjectionExpression": "account_id, version",
        "ConsistentRead": True,
    }
    keys: list[tuple[str, int]] = []
    while True:
        response = client.scan(**scan)
        keys.extend(
            (item[EVENTS_PARTITION_KEY]["S"], int(item[EVENTS_SORT_KEY]["N"]))
            for item in response.get("Items", [])
        )
        if "LastEvaluatedKey" not in response:
            return sorted(keys)
        scan["ExclusiveStartKey"] = response["LastEvaluatedKey"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RedriveSettings:
    events_table: str
    projection_table: str
    archive_bucket: str
    alerts_table: str | None = None
    alert_topic_arn: str | None = None
    fraud_settings: fraud.FraudSettings | None = None
    slack: timedelta = DEFAULT_SLACK

    @property
    def checks_fraud(self) -> bool:
        return bool(self.alerts_table and self.alert_topic_arn and self.fraud_settings)


@dataclass(frozen=True, slots=True, kw_only=True)
class Clients:
    dynamodb: Any
    s3: Any
    streams: Any
    sqs: Any = None
    sns: Any = None


@dataclass(slots=True, kw_only=True)
class MessageOutcome:
    message_id: str
    redriven: bool
    source: str = ""
    """Where the affected keys came from: ``stream`` or ``time_window``."""
    accounts: dict[str, int] = field(default_factory=dict)
    """Account -> the first version replayed."""
    events_archived: int = 0
    projections_written: int = 0
    alerts_published: int = 0
    problem: str | None = None


def affected_keys(
    clients: Clients, settings: RedriveSettings, info: StreamBatchInfo
) -> tuple[list[tuple[str, int]], str]:
    """The batch's (account, version) keys and where they came from (``stream`` or ``time_window``)."""
    keys = keys_from_stream(clients.streams, info)
    if keys is not None:
        return keys, "stream"
    return keys_from_time_window(
        clients.dynamodb, settings.events_table, info, slack=settings.slack
    ), "time_window"


def first_versions(keys: Sequence[tuple[str, int]]) -> dict[str, int]:
    """Each account's earliest affected version, by account."""
    starts: dict[str, int] = {}
    for account_id, version in keys:
        starts[account_id] = min(version, starts.get(account_id, version))
    return dict(sorted(starts.items()))


def redrive_batch(
    clients: Clients, settings: RedriveSettings, info: StreamBatchInfo, message_id: str = ""
) -> MessageOutcome:
    """Repair everything one discarded batch may have missed (steps 1-3 of the module docstring)."""
    keys, source = affected_keys(clients, settings, info)
    outcome = MessageOutcome(
        message_id=message_id, redriven=False, source=source, accounts=first_versions(keys)
    )
    problems: list[str] = []
    for account_id, start in outcome.accounts.items():
        summary = replay.run(
            clients.dynamodb,
            replay.ReplayRequest(
                events_table=settings.events_table,
                account_id=account_id,
                from_version=start,
                projection_table=settings.projection_table,
                archive_bucket=settings.archive_bucket,
            ),
            s3=clients.s3,
        )
        problems.extend(failure["error"] for failure in summary.failures)
        for result in summary.results:
            outcome.events_archived += result.archived or 0
            outcome.projections_written += result.projection == replay.PROJECTION_WRITTEN
    if settings.checks_fraud and not problems:
        outcome.alerts_published = _recheck_fraud(clients, settings, keys)
    if problems:
        outcome.problem = "; ".join(problems)
    else:
        outcome.redriven = True
    return outcome


def _recheck_fraud(clients: Clients, settings: RedriveSettings, keys: Sequence[tuple[str, int]]) -> int:
    published = 0
    fraud_settings = settings.fraud_settings
    if fraud_settings is None or settings.alerts_table is None or settings.alert_topic_arn is None:
        return 0
    for account_id, version in sorted(set(keys)):
        event = replay.get_event(clients.dynamodb, settings.events_table, account_id, version)
        if event is None or event.type not in DEBIT_TYPES:
            continue
        for alert in fraud.evaluate(clients.dynamodb, settings.events_table, event, fraud_settings):
            result = alerts.deliver(
                clients.dynamodb,
                settings.alerts_table,
                alert.as_alert(),
                lambda record: alerts.publish(clients.sns, str(settings.alert_topic_arn), record),
            )
            published += result.published
    return published


@dataclass(slots=True)
class RedriveSummary:
    outcomes: list[MessageOutcome] = field(default_factory=list)
    pending_alerts_published: list[str] = field(default_factory=list)
    dry_run: bool = False

    @property
    def kept(self) -> list[MessageOutcome]:
        return [outcome for outcome in self.outcomes if not outcome.redriven]

    def to_document(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "messages": len(self.outcomes),
            "redriven": sum(outcome.redriven for outcome in self.outcomes),
            "kept": [{"message_id": o.message_id, "problem": o.problem} for o in self.kept],
            "events_archived": sum(o.events_archived for o in self.outcomes),
            "projections_written": sum(o.projections_written for o in self.outcomes),
            "alerts_published": sum(o.alerts_published for o in self.outcomes),
            "pending_alerts_published": self.pending_alerts_published,
            "outcomes": [asdict(outcome) for outcome in self.outcomes],
        }


def redrive(
    clients: Clients,
    settings: RedriveSettings,
    queue_url: str,
    *,
    max_messages: int = 100,
    dry_run: bool = False,
) -> RedriveSummary:
    """Redrive up to ``max_messages`` messages of the failure queue (see the module docstring).
    ``dry_run`` only reads: it lists the affected accounts and leaves the messages in the queue."""
    summary = RedriveSummary(dry_run=dry_run)
    seen: set[str] = set()
    while len(summary.outcomes) < max_messages:
        response = clients.sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=min(10, max_messages - len(summary.outcomes)),
            VisibilityTimeout=RECEIVE_VISIBILITY_SECONDS,
            WaitTimeSeconds=0,
        )
        messages = [message for message in response.get("Messages", []) if message["MessageId"] not in seen]
        if not messages:
            break
        for message in messages:
            seen.add(message["MessageId"])
            outcome = _redrive_message(clients, settings, message, dry_run=dry_run)
            summary.outcomes.append(outcome)
            if outcome.redriven and not dry_run:
                clients.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            elif not outcome.redriven:
                logger.error("Failure message kept in the queue", extra=asdict(outcome))
    if settings.checks_fraud and not dry_run:
        summary.pending_alerts_published = alerts.republish_pending(
            clients.dynamodb, str(settings.alerts_table), clients.sns, str(settings.alert_topic_arn)
        )
    return summary


def _redrive_message(
    clients: Clients, settings: RedriveSettings, message: Mapping[str, Any], *, dry_run: bool
) -> MessageOutcome:
    message_id = str(message["MessageId"])
    try:
        info = parse_failure_message(str(message.get("Body", "")))
    except UnreadableMessageError as error:
        return MessageOutcome(message_id=message_id, redriven=False, problem=str(error))
    if dry_run:
        keys, source = affected_keys(clients, settings, info)
        return MessageOutcome(
            message_id=message_id,
            redriven=False,
            source=source,
            accounts=first_versions(keys),
            problem="dry run",
        )
    return redrive_batch(clients, settings, info, message_id)


def _settings(
    *,
    events_table: str,
    projection_table: str,
    archive_bucket: str,
    alerts_table: str | None,
    topic_arn: str | None,
    slack: timedelta = DEFAULT_SLACK,
) -> RedriveSettings:
    """Settings; the fraud rules come from the fraud function's environment variables."""
    checks_fraud = bool(alerts_table and topic_arn)
    return RedriveSettings(
        events_table=events_table,
        projection_table=projection_table,
        archive_bucket=archive_bucket,
        alerts_table=alerts_table,
        alert_topic_arn=topic_arn,
        fraud_settings=fraud.FraudSettings.from_env() if checks_fraud else None,
        slack=slack,
    )


def _clients(*, with_alerts: bool) -> Clients:
    return Clients(
        dynamodb=dynamodb_client(),
        s3=s3_client(),
        streams=streams_client(),
        sqs=sqs_client(),
        sns=sns_client() if with_alerts else None,
    )


@logger.inject_lambda_context
def handler(event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Event (all optional): ``max_messages`` (default 100), ``dry_run`` (default false)."""
    max_messages = event.get("max_messages", 100)
    dry_run = event.get("dry_run", False)
    if not isinstance(max_messages, int) or isinstance(max_messages, bool) or max_messages < 1:
        raise ValueError(f"redrive event field 'max_messages' is {max_messages!r}; expected an integer >= 1")
    if not isinstance(dry_run, bool):
        raise ValueError(f"redrive event field 'dry_run' is {dry_run!r}; expected true or false")
    alerts_table = os.environ.get("ALERTS_TABLE_NAME") or None
    topic_arn = os.environ.get("ALERT_TOPIC_ARN") or None
    settings = _settings(
        events_table=require_env("EVENTS_TABLE_NAME"),
        projection_table=require_env("PROJECTION_TABLE_NAME"),
        archive_bucket=require_env("AUDIT_BUCKET_NAME"),
        alerts_table=alerts_table,
        topic_arn=topic_arn,
    )
    summary = redrive(
        _clients(with_alerts=settings.checks_fraud),
        settings,
        require_env("FAILURE_QUEUE_URL"),
        max_messages=max_messages,
        dry_run=dry_run,
    )
    document = summary.to_document()
    logger.info(
        "Redrive finished", extra={key: value for key, value in document.items() if key != "outcomes"}
    )
    return document


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dbpatterns.handlers.ledger.redrive",
        description=(
            "Redrive the ledger's stream failure queue: for each on-failure message, find the affected "
            "events (from the stream, or by time once the stream dropped them), replay their accounts from "
            "the event store (verify, backfill the archive, repair the projection), re-check debits for "
            "fraud, and delete the message. Prints a JSON summary; exits 1 if any message was kept."
        ),
    )
    parser.add_argument("--queue-url", default=os.environ.get("FAILURE_QUEUE_URL"), help="failure queue URL")
    parser.add_argument("--table", default=os.environ.get("EVENTS_TABLE_NAME"), help="event store table")
    parser.add_argument(
        "--projection-table", default=os.environ.get("PROJECTION_TABLE_NAME"), help="balance projection table"
    )
    parser.add_argument(
        "--audit-bucket", default=os.environ.get("AUDIT_BUCKET_NAME"), help="audit archive bucket"
    )
    parser.add_argument(
        "--alerts-table", default=os.environ.get("ALERTS_TABLE_NAME"), help="fraud alerts table (optional)"
    )
    parser.add_argument(
        "--alert-topic-arn", default=os.environ.get("ALERT_TOPIC_ARN"), help="fraud alert topic (optional)"
    )
    parser.add_argument(
        "--max-messages", type=int, default=100, help="messages to redrive at most (default 100)"
    )
    parser.add_argument(
        "--slack-minutes", type=int, default=5, help="widen a time-window fallback by this much (default 5)"
    )
    parser.add_argument("--dry-run", action="store_true", help="list the affected accounts; change nothing")
    return parser


def main(argv: Sequence[str] | None = None, *, clients: Clients | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    for option, value in (
        ("--queue-url", args.queue_url),
        ("--table", args.table),
        ("--projection-table", args.projection_table),
        ("--audit-bucket", args.audit_bucket),
    ):
        if not value:
            parser.error(f"{option} is required (or its environment variable)")
    if bool(args.alerts_table) != bool(args.alert_topic_arn):
        parser.error("give --alerts-table and --alert-topic-arn together (or neither, to skip fraud)")
    if args.max_messages < 1 or args.slack_minutes < 0:
        parser.error("--max-messages must be >= 1 and --slack-minutes >= 0")
    settings = _settings(
        events_table=args.table,
        projection_table=args.projection_table,
        archive_bucket=args.audit_bucket,
        alerts_table=args.alerts_table,
        topic_arn=args.alert_topic_arn,
        slack=timedelta(minutes=args.slack_minutes),
    )
    summary = redrive(
        clients or _clients(with_alerts=settings.checks_fraud),
        settings,
        args.queue_url,
        max_messages=args.max_messages,
        dry_run=args.dry_run,
    )
    print(json.dumps(summary.to_document(), sort_keys=True, default=str))
    return 1 if summary.kept and not args.dry_run else 0


if __name__ == "__main__":
    sys.exit(main())
