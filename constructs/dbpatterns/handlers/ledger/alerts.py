"""Fraud alert records: each ``alert_id`` is recorded once, published, then marked SENT.

Table (env ``ALERTS_TABLE_NAME``): partition key ``alert_id`` (S), no sort key, no TTL (alerts are
few and are part of the audit trail; a record that expired would let a late redrive alert again).
One item per alert:

``status``        ``PENDING`` until SNS has accepted the message, then ``SENT``
``claimed_until`` epoch seconds; while in the future, one delivery owns the PENDING alert
``attempts``      how many deliveries claimed it (1 = published on the first try)
``message``       the alert document (JSON), so a PENDING alert can be published without its event
``message_id``    SNS message id, once SENT; also ``rule``, ``account_id``, ``event_id``,
                  ``created_at``, ``sent_at``

The protocol (``deliver``):

1. **Claim.** ``PutItem`` with ``attribute_not_exists(alert_id)`` creates the record as PENDING,
   claimed for ``CLAIM_SECONDS``. If it exists: SENT means a duplicate delivery, nothing to do;
   PENDING with an expired claim is claimed again by a conditional ``UpdateItem``; PENDING with a
   live claim means another delivery is publishing it right now: ``AlertInFlightError`` fails the
   record, and the stream retries it later.
2. **Publish** to SNS. If SNS refuses, the claim is released (best effort) and the error fails
   the record, so a retry publishes at once.
3. **Mark SENT** with a conditional ``UpdateItem``.

What this guarantees. The record is created exactly once per ``alert_id`` and is never lost: the
stream retries a failing record, then the failure queue's redrive re-evaluates it, and
``republish_pending`` (part of the redrive command) publishes whatever is still PENDING. Two
deliveries never publish at the same time (the claim). Publication is exactly once except in one
window: SNS accepted the message and the function died (or the SENT update failed) before the
record said SENT. The next delivery cannot tell whether SNS got it, so once the claim has expired it
publishes again: **at least once** in that window, so subscribers still drop repeats by
``alert_id`` (on a FIFO topic SNS also does, within its 5-minute deduplication window).

``CLAIM_SECONDS`` must exceed the fraud function's timeout, so a delivery that is still running
is never considered dead.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final

from dbpatterns.handlers.ledger._aws import ClientError, error_code
from dbpatterns.handlers.ledger.events import format_timestamp
from dbpatterns.handlers.ledger.tables import ALERTS_PARTITION_KEY

CLAIM_SECONDS: Final = 180
"""How long a delivery owns a PENDING alert (three times the fraud function's 60 s timeout)."""

now_seconds: Callable[[], float] = time.time
"""The clock (tests replace it)."""


class AlertStatus(StrEnum):
    PENDING = "PENDING"
    SENT = "SENT"


class ClaimOutcome(StrEnum):
    NEW = "new"
    """First delivery of this alert: publish it."""
    RECLAIMED = "reclaimed"
    """A PENDING alert whose earlier delivery failed or died: publish it (again)."""
    ALREADY_SENT = "already_sent"
    """A duplicate delivery: do nothing."""


class AlertInFlightError(Exception):
    """Another delivery holds the claim on this PENDING alert; retry later."""

    def __init__(self, alert_id: str, claimed_until: float) -> None:
        super().__init__(
            f"alert {alert_id} is being published by another delivery (claimed until {claimed_until:.0f}); "
            "the record is retried"
        )
        self.alert_id = alert_id


@dataclass(frozen=True, slots=True, kw_only=True)
class Alert:
    """What the table needs to know about one alert."""

    alert_id: str
    rule: str
    account_id: str
    event_id: str
    message: Mapping[str, Any]
    """The document published as the SNS message body."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryResult:
    alert_id: str
    published: bool
    attempts: int
    """Claims of the alert so far (1: first try); more than 1 may mean a repeat at the subscriber."""
    message_id: str | None = None


Publish = Callable[[Alert], str]
"""Publishes an alert and returns the SNS message id."""


def claim(client: Any, table: str, alert: Alert) -> tuple[ClaimOutcome, int]:
    """Record or reclaim the alert; returns the outcome and the attempt number."""
    now = now_seconds()
    until = now + CLAIM_SECONDS
    try:
        client.put_item(
            TableName=table,
            Item={
                ALERTS_PARTITION_KEY: {"S": alert.alert_id},
                "status": {"S": AlertStatus.PENDING.value},
                "claimed_until": {"N": _seconds(until)},
                "attempts": {"N": "1"},
                "rule": {"S": alert.rule},
                "account_id": {"S": alert.account_id},
                "event_id": {"S": alert.event_id},
                "message": {"S": json.dumps(alert.message, sort_keys=True)},
                "created_at": {"S": _timestamp(now)},
            },
            ConditionExpression=f"attribute_not_exists({ALERTS_PARTITION_KEY})",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as error:
        if error_code(error) != "ConditionalCheckFailedException":
            raise
        existing = error.response.get("Item") or {}
        if existing.get("status", {}).get("S") == AlertStatus.SENT.value:
            return ClaimOutcome.ALREADY_SENT, int(existing["attempts"]["N"])
    else:
        return ClaimOutcome.NEW, 1
    return _reclaim(client, table, alert.alert_id, now=now, until=until)


def _reclaim(client: Any, table: str, alert_id: str, *, now: float, until: float) -> tuple[ClaimOutcome, int]:
    try:
        response = client.update_item(
            TableName=table,
            Key={ALERTS_PARTITION_KEY: {"S": alert_id}},
            UpdateExpression="SET claimed_until = :until, attempts = attempts + :one",
            ConditionExpression="#status = :pending AND claimed_until <= :now",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":until": {"N": _seconds(until)},
                ":one": {"N": "1"},
                ":pending": {"S": AlertStatus.PENDING.value},
                ":now": {"N": _seconds(now)},
            },
            ReturnValues="ALL_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as error:
        if error_code(error) != "ConditionalCheckFailedException":
            raise
        existing = error.response.get("Item") or {}
        if existing.get("status", {}).get("S") == AlertStatus.SENT.value:
            return ClaimOutcome.ALREADY_SENT, int(existing["attempts"]["N"])
        raise AlertInFlightError(alert_id, float(existing.get("claimed_until", {}).get("N", "0"))) from None
    return ClaimOutcome.RECLAIMED, int(response["Attributes"]["attempts"]["N"])


def mark_sent(client: Any, table: str, alert_id: str, message_id: str) -> None:
    """PENDING -> SENT, with the SNS message id. A record already SENT is left as it is."""
    try:
        client.update_item(
            TableName=table,
            Key={ALERTS_PARTITION_KEY: {"S": alert_id}},
            UpdateExpression=(
                "SET #status = :sent, message_id = :message_id, sent_at = :at REMOVE claimed_until"
            ),
            ConditionExpression="#status = :pending",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":sent": {"S": AlertStatus.SENT.value},
                ":pending": {"S": AlertStatus.PENDING.value},
                ":message_id": {"S": message_id},
                ":at": {"S": _timestamp(now_seconds())},
            },
        )
    except ClientError as error:
        if error_code(error) != "ConditionalCheckFailedException":
            raise


def release(client: Any, table: str, alert_id: str) -> None:
    """Give up the claim of a PENDING alert whose publication failed, so a retry may publish at
    once. Best effort: if this fails too, the claim simply runs out."""
    with contextlib.suppress(ClientError):
        client.update_item(
            TableName=table,
            Key={ALERTS_PARTITION_KEY: {"S": alert_id}},
            UpdateExpression="SET claimed_until = :zero",
            ConditionExpression="#status = :pending",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":zero": {"N": "0"}, ":pending": {"S": AlertStatus.PENDING.value}},
        )


def deliver(client: Any, table: str, alert: Alert, publish: Publish) -> DeliveryResult:
    """Claim, publish, mark SENT (see the module docstring). Raises AlertInFlightError, or the
    publisher's error after releasing the claim."""
    outcome, attempts = claim(client, table, alert)
    if outcome is ClaimOutcome.ALREADY_SENT:
        return DeliveryResult(alert_id=alert.alert_id, published=False, attempts=attempts)
    try:
        message_id = publish(alert)
    except Exception:
        release(client, table, alert.alert_id)
        raise
    mark_sent(client, table, alert.alert_id, message_id)
    return DeliveryResult(alert_id=alert.alert_id, published=True, attempts=attempts, message_id=message_id)


def pending_alerts(client: Any, table: str) -> list[Alert]:
    """Every PENDING alert whose claim has run out (a Scan: the table holds alerts only)."""
    scan: dict[str, Any] = {
        "TableName": table,
        "FilterExpression": "#status = :pending AND claimed_until <= :now",
        "ExpressionAttributeNames": {"#status": "status"},
        "ExpressionAttributeValues": {
            ":pending": {"S": AlertStatus.PENDING.value},
            ":now": {"N": _seconds(now_seconds())},
        },
        "ConsistentRead": True,
    }
    found: list[Alert] = []
    while True:
        response = client.scan(**scan)
        for item in response.get("Items", []):
            found.append(
                Alert(
                    alert_id=item[ALERTS_PARTITION_KEY]["S"],
                    rule=item["rule"]["S"],
                    account_id=item["account_id"]["S"],
                    event_id=item["event_id"]["S"],
                    message=json.loads(item["message"]["S"]),
                )
            )
        if "LastEvaluatedKey" not in response:
            return sorted(found, key=lambda alert: alert.alert_id)
        scan["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def publish(sns: Any, topic_arn: str, alert: Alert) -> str:
    """Publish one alert to SNS; returns the message id. ``alert_id``, ``rule`` and ``account_id``
    are also message attributes (for subscription filters and deduplication); on a FIFO topic (ARN
    ending ``.fifo``) the alert id is the deduplication id and the account the message group."""
    attributes = {"alert_id": alert.alert_id, "rule": alert.rule, "account_id": alert.account_id}
    request: dict[str, Any] = {
        "TopicArn": topic_arn,
        "Subject": f"Ledger fraud alert: {alert.rule}",
        "Message": json.dumps(alert.message, sort_keys=True),
        "MessageAttributes": {
            name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()
        },
    }
    if topic_arn.endswith(".fifo"):
        request["MessageGroupId"] = alert.account_id
        request["MessageDeduplicationId"] = alert.alert_id
    response = sns.publish(**request)
    return str(response["MessageId"])


def republish_pending(client: Any, table: str, sns: Any, topic_arn: str) -> list[str]:
    """Publish every PENDING alert whose claim has run out; returns their ids. The redrive command
    runs this after replaying the failure queue."""
    published: list[str] = []
    for alert in pending_alerts(client, table):
        try:
            result = deliver(client, table, alert, lambda pending: publish(sns, topic_arn, pending))
        except AlertInFlightError:
            continue
        if result.published:
            published.append(alert.alert_id)
    return published


def _seconds(moment: float) -> str:
    return f"{moment:.3f}"


def _timestamp(moment: float) -> str:
    return format_timestamp(datetime.fromtimestamp(moment, UTC))
