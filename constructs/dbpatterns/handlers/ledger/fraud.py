"""Fraud detection: the second Lambda reader of the event store stream, withdrawals only.

The event source mapping filters with ``FRAUD_FILTER_PATTERN`` (re-exported here), so deposits
never invoke this function. Two rules, both decided from the event and the event store alone
(Lambda keeps no state between invocations, and any instance may get any batch):

- ``LARGE_WITHDRAWAL``: one withdrawal above ``FRAUD_SINGLE_LIMIT_MINOR`` minor units.
- ``VELOCITY``: more than ``FRAUD_VELOCITY_COUNT`` withdrawals on the account within
  ``FRAUD_VELOCITY_WINDOW_MINUTES`` minutes up to and including this one. The count comes from a
  consistent Query of the account's events at or below this version, newest first, stopping at the
  window's start, so a redelivered record is judged exactly as the first delivery was.

Alerts go to the SNS topic ``ALERT_TOPIC_ARN``. Delivery is at least once: a retried record can
publish its alert again. Every alert carries a deterministic ``alert_id`` (``{event_id}:{rule}``)
as a message attribute so subscribers can drop repeats; on a FIFO topic (ARN ending ``.fifo``) it is
also the MessageDeduplicationId, and SNS drops a repeat within its 5-minute deduplication window.
``EVENTS_TABLE_NAME`` names the event store for the velocity query.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from functools import partial
from typing import Any, Final

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from dbpatterns.handlers.ledger._aws import dynamodb_client, int_env, require_env, sns_client
from dbpatterns.handlers.ledger.events import EventType as LedgerEventType
from dbpatterns.handlers.ledger.events import LedgerEvent, parse_timestamp
from dbpatterns.handlers.ledger.filters import FRAUD_FILTER_PATTERN
from dbpatterns.handlers.ledger.streams import event_from_record

__all__ = [
    "FRAUD_FILTER_PATTERN",
    "FraudAlert",
    "FraudRule",
    "FraudSettings",
    "count_recent_withdrawals",
    "evaluate",
    "handler",
    "large_withdrawal_alert",
    "publish_alert",
    "velocity_alert",
]

logger = Logger()
tracer = Tracer()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)

_QUERY_PAGE_SIZE: Final = 50


class FraudRule(StrEnum):
    LARGE_WITHDRAWAL = "LARGE_WITHDRAWAL"
    VELOCITY = "VELOCITY"


@dataclass(frozen=True, slots=True, kw_only=True)
class FraudSettings:
    single_limit_minor: int
    """A withdrawal above this amount (minor units of the account's currency) raises an alert."""
    velocity_count: int
    """More than this many withdrawals within ``velocity_window`` raise an alert."""
    velocity_window: timedelta

    @classmethod
    def from_env(cls) -> FraudSettings:
        return cls(
            single_limit_minor=int_env("FRAUD_SINGLE_LIMIT_MINOR"),
            velocity_count=int_env("FRAUD_VELOCITY_COUNT"),
            velocity_window=timedelta(minutes=int_env("FRAUD_VELOCITY_WINDOW_MINUTES")),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class FraudAlert:
    rule: FraudRule
    event: LedgerEvent
    detail: dict[str, int]

    @property
    def alert_id(self) -> str:
        """The same for every delivery of the same event: subscribers deduplicate on it."""
        return f"{self.event.event_id}:{self.rule.value}"

    def to_message(self) -> dict[str, Any]:
        event = self.event
        return {
            "alert_id": self.alert_id,
            "rule": self.rule.value,
            "event_id": event.event_id,
            "account_id": event.account_id,
            "version": event.version,
            "amount": event.amount,
            "currency": event.currency,
            "occurred_at": event.occurred_at,
            "correlation_id": event.correlation_id,
            "detail": self.detail,
        }


def large_withdrawal_alert(event: LedgerEvent, settings: FraudSettings) -> FraudAlert | None:
    if event.type is LedgerEventType.WITHDRAWAL and event.amount > settings.single_limit_minor:
        return FraudAlert(
            rule=FraudRule.LARGE_WITHDRAWAL,
            event=event,
            detail={"limit_minor": settings.single_limit_minor},
        )
    return None


def velocity_alert(
    event: LedgerEvent, settings: FraudSettings, withdrawals_in_window: int
) -> FraudAlert | None:
    """``withdrawals_in_window`` counts this withdrawal and the earlier ones inside the window."""
    if event.type is LedgerEventType.WITHDRAWAL and withdrawals_in_window > settings.velocity_count:
        return FraudAlert(
            rule=FraudRule.VELOCITY,
            event=event,
            detail={
                "limit_count": settings.velocity_count,
                "window_minutes": int(settings.velocity_window.total_seconds() // 60),
            },
        )
    return None


def count_recent_withdrawals(
    client: Any, table: str, event: LedgerEvent, *, window: timedelta, stop_after: int
) -> int:
    """Withdrawals of the account at versions <= event.version that occurred within ``window``
    before the event (inclusive). Reads newest first and stops at the window's start or once
    ``stop_after`` withdrawals are found, so a burst costs a bounded number of reads.

    The writer keeps ``occurred_at`` non-decreasing per account, so the first event older than the
    window ends the search.
    """
    window_start = event.occurred_at_datetime - window
    count = 0
    query: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "account_id = :account AND version <= :version",
        "ExpressionAttributeValues": {
            ":account": {"S": event.account_id},
            ":version": {"N": str(event.version)},
        },
        "ExpressionAttributeNames": {"#type": "type"},
        "ProjectionExpression": "version, #type, occurred_at",
        "ScanIndexForward": False,
        "ConsistentRead": True,
        "Limit": _QUERY_PAGE_SIZE,
    }
    while True:
        response = client.query(**query)
        for item in response.get("Items", []):
            if parse_timestamp(item["occurred_at"]["S"]) < window_start:
                return count
            if item["type"]["S"] == LedgerEventType.WITHDRAWAL.value:
                count += 1
                if count >= stop_after:
                    return count
        if "LastEvaluatedKey" not in response:
            return count
        query["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def evaluate(client: Any, table: str, event: LedgerEvent, settings: FraudSettings) -> list[FraudAlert]:
    """All alerts one withdrawal raises (deposits raise none)."""
    if event.type is not LedgerEventType.WITHDRAWAL:
        return []
    alerts = [large_withdrawal_alert(event, settings)]
    recent = count_recent_withdrawals(
        client, table, event, window=settings.velocity_window, stop_after=settings.velocity_count + 1
    )
    alerts.append(velocity_alert(event, settings, recent))
    return [alert for alert in alerts if alert is not None]


def publish_alert(client: Any, topic_arn: str, alert: FraudAlert) -> str:
    """Publish one alert; returns the SNS message id."""
    attributes = {
        "alert_id": alert.alert_id,
        "rule": alert.rule.value,
        "account_id": alert.event.account_id,
    }
    request: dict[str, Any] = {
        "TopicArn": topic_arn,
        "Subject": f"Ledger fraud alert: {alert.rule.value}",
        "Message": json.dumps(alert.to_message(), sort_keys=True),
        "MessageAttributes": {
            name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()
        },
    }
    if topic_arn.endswith(".fifo"):
        request["MessageGroupId"] = alert.event.account_id
        request["MessageDeduplicationId"] = alert.alert_id
    response = client.publish(**request)
    return str(response["MessageId"])


def _handle_record(record: DynamoDBRecord, *, settings: FraudSettings, table: str, topic_arn: str) -> None:
    event = event_from_record(record)
    if event is None:
        return
    if event.type is not LedgerEventType.WITHDRAWAL:
        # The mapping's filter should have dropped it; nothing to check, but say so.
        logger.warning("Deposit reached the fraud function; check the filter criteria", extra=_fields(event))
        metrics.add_metric(name="UnfilteredDeposits", unit=MetricUnit.Count, value=1)
        return
    metrics.add_metric(name="WithdrawalsChecked", unit=MetricUnit.Count, value=1)
    for alert in evaluate(dynamodb_client(), table, event, settings):
        message_id = publish_alert(sns_client(), topic_arn, alert)
        logger.warning(
            "Fraud alert published",
            extra={
                **_fields(event),
                "rule": alert.rule.value,
                "alert_id": alert.alert_id,
                "message_id": message_id,
            },
        )
        metrics.add_metric(name="FraudAlerts", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    record_handler = partial(
        _handle_record,
        settings=FraudSettings.from_env(),
        table=require_env("EVENTS_TABLE_NAME"),
        topic_arn=require_env("ALERT_TOPIC_ARN"),
    )
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )


def _fields(event: LedgerEvent) -> dict[str, Any]:
    return {"account_id": event.account_id, "version": event.version, "event_id": event.event_id}
