"""Fraud detection: the second Lambda reader of the event store stream, debits only.

The event source mapping filters with ``FRAUD_FILTER_PATTERN`` (re-exported here), so credits
(deposits, incoming transfers) never invoke this function. A transfer out is money leaving the
account like a withdrawal, so both rules treat it as one ("withdrawal" below means either). Two
rules, both decided from the event and the event store alone (Lambda keeps no state between
invocations, and any instance may get any batch):

- ``LARGE_WITHDRAWAL``: one withdrawal above the currency's limit. The limit is given in major
  units, ``FRAUD_SINGLE_LIMIT_MAJOR`` for every currency, with optional per-currency overrides in
  ``FRAUD_SINGLE_LIMITS_MAJOR`` (a JSON object such as ``{"JPY": 1500000}``), and converted with
  the currency's ISO 4217 exponent (``currencies``): 1,000 is 100,000 cents of EUR, 1,000 yen,
  1,000,000 fils of BHD. (``FRAUD_SINGLE_LIMIT_MINOR``, the former setting, is still read when the
  major one is absent, as cents of a two-decimal currency.)
- ``VELOCITY``: more than ``FRAUD_VELOCITY_COUNT`` withdrawals on the account within
  ``FRAUD_VELOCITY_WINDOW_MINUTES`` minutes up to and including this one. The count comes from a
  consistent Query of the account's events at or below this version, newest first, stopping at the
  window's start, so a redelivered record is judged exactly as the first delivery was.

Each alert has a deterministic ``alert_id`` (``{event_id}:{rule}``) and is published once per id
through a record in ``ALERTS_TABLE_NAME`` (see ``alerts``: claim, publish to ``ALERT_TOPIC_ARN``,
mark SENT), so a retried or redriven record does not alert again; a delivery that died between
publishing and marking SENT is the one case published twice. ``EVENTS_TABLE_NAME`` names the event
store for the velocity query.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
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

from dbpatterns.handlers.ledger import alerts
from dbpatterns.handlers.ledger._aws import (
    ConfigurationError,
    dynamodb_client,
    int_env,
    require_env,
    sns_client,
)
from dbpatterns.handlers.ledger.currencies import MINOR_UNIT_EXPONENTS, minor_unit_exponent, to_minor_units
from dbpatterns.handlers.ledger.events import DEBIT_TYPES, LedgerEvent, parse_timestamp
from dbpatterns.handlers.ledger.filters import FRAUD_FILTER_PATTERN
from dbpatterns.handlers.ledger.streams import event_from_record

__all__ = [
    "FRAUD_FILTER_PATTERN",
    "FraudAlert",
    "FraudRule",
    "FraudSettings",
    "count_recent_withdrawals",
    "deliver_alert",
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
_DEBIT_TYPE_NAMES: Final = frozenset(event_type.value for event_type in DEBIT_TYPES)


class FraudRule(StrEnum):
    LARGE_WITHDRAWAL = "LARGE_WITHDRAWAL"
    VELOCITY = "VELOCITY"


@dataclass(frozen=True, slots=True, kw_only=True)
class FraudSettings:
    limits_minor: Mapping[str, int]
    """Per currency: a withdrawal above this many minor units raises LARGE_WITHDRAWAL."""
    velocity_count: int
    """More than this many withdrawals within ``velocity_window`` raise an alert."""
    velocity_window: timedelta

    def single_limit_minor(self, currency: str) -> int:
        return self.limits_minor[currency]

    @classmethod
    def with_major_limit(
        cls,
        limit_major: int,
        *,
        velocity_count: int,
        velocity_window: timedelta,
        overrides_major: Mapping[str, int] | None = None,
    ) -> FraudSettings:
        """One limit in major units for every currency, and optional per-currency ones."""
        limits = {currency: to_minor_units(limit_major, currency) for currency in MINOR_UNIT_EXPONENTS}
        for currency, major in (overrides_major or {}).items():
            limits[currency] = to_minor_units(major, currency)
        return cls(limits_minor=limits, velocity_count=velocity_count, velocity_window=velocity_window)

    @classmethod
    def from_env(cls) -> FraudSettings:
        velocity_count = int_env("FRAUD_VELOCITY_COUNT")
        velocity_window = timedelta(minutes=int_env("FRAUD_VELOCITY_WINDOW_MINUTES"))
        overrides = _limits_from_env("FRAUD_SINGLE_LIMITS_MAJOR")
        if (
            os.environ.get("FRAUD_SINGLE_LIMIT_MAJOR", "").strip()
            or not os.environ.get("FRAUD_SINGLE_LIMIT_MINOR", "").strip()
        ):
            return cls.with_major_limit(
                int_env("FRAUD_SINGLE_LIMIT_MAJOR"),
                velocity_count=velocity_count,
                velocity_window=velocity_window,
                overrides_major=overrides,
            )
        # The former setting: minor units of a two-decimal currency, i.e. hundredths of the limit.
        # amount > limit * 10**e / 100 holds exactly when amount > floor(limit * 10**e / 100).
        hundredths = int_env("FRAUD_SINGLE_LIMIT_MINOR")
        limits = {
            currency: hundredths * 10 ** minor_unit_exponent(currency) // 100
            for currency in MINOR_UNIT_EXPONENTS
        }
        limits.update({currency: to_minor_units(major, currency) for currency, major in overrides.items()})
        return cls(limits_minor=limits, velocity_count=velocity_count, velocity_window=velocity_window)


def _limits_from_env(name: str) -> dict[str, int]:
    """An optional JSON object of ISO 4217 code -> positive whole number of major units."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return {}
    try:
        document = json.loads(raw)
    except ValueError:
        raise ConfigurationError(f"environment variable {name} is not JSON: {raw!r}") from None
    if not isinstance(document, dict):
        raise ConfigurationError(
            f"environment variable {name} must be a JSON object of currency -> major units, got {raw!r}"
        )
    limits: dict[str, int] = {}
    for currency, major in document.items():
        if currency not in MINOR_UNIT_EXPONENTS:
            raise ConfigurationError(
                f"environment variable {name}: {currency!r} is not one of {sorted(MINOR_UNIT_EXPONENTS)}"
            )
        if not isinstance(major, int) or isinstance(major, bool) or major < 1:
            raise ConfigurationError(
                f"environment variable {name}: the limit for {currency} must be a whole number of major "
                f"units >= 1, got {major!r}"
            )
        limits[currency] = major
    return limits


@dataclass(frozen=True, slots=True, kw_only=True)
class FraudAlert:
    rule: FraudRule
    event: LedgerEvent
    detail: dict[str, int]

    @property
    def alert_id(self) -> str:
        """The same for every delivery of the same event: the alert table and subscribers key on it."""
        return f"{self.event.event_id}:{self.rule.value}"

    def as_alert(self) -> alerts.Alert:
        return alerts.Alert(
            alert_id=self.alert_id,
            rule=self.rule.value,
            account_id=self.event.account_id,
            event_id=self.event.event_id,
            message=self.to_message(),
        )

    def to_message(self) -> dict[str, Any]:
        event = self.event
        message: dict[str, Any] = {
            "alert_id": self.alert_id,
            "rule": self.rule.value,
            "type": event.type.value,
            "event_id": event.event_id,
            "account_id": event.account_id,
            "version": event.version,
            "amount": event.amount,
            "currency": event.currency,
            "occurred_at": event.occurred_at,
            "correlation_id": event.correlation_id,
            "detail": self.detail,
        }
        if event.is_transfer:
            message["transfer_id"] = event.transfer_id
            message["counterparty_account_id"] = event.counterparty_account_id
        return message


def large_withdrawal_alert(event: LedgerEvent, settings: FraudSettings) -> FraudAlert | None:
    limit = settings.single_limit_minor(event.currency)
    if event.type in DEBIT_TYPES and event.amount > limit:
        return FraudAlert(
            rule=FraudRule.LARGE_WITHDRAWAL,
            event=event,
            detail={"limit_minor": limit, "currency_exponent": minor_unit_exponent(event.currency)},
        )
    return None


def velocity_alert(
    event: LedgerEvent, settings: FraudSettings, withdrawals_in_window: int
) -> FraudAlert | None:
    """``withdrawals_in_window`` counts this withdrawal and the earlier ones inside the window."""
    if event.type in DEBIT_TYPES and withdrawals_in_window > settings.velocity_count:
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
            if item["type"]["S"] in _DEBIT_TYPE_NAMES:
                count += 1
                if count >= stop_after:
                    return count
        if "LastEvaluatedKey" not in response:
            return count
        query["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def evaluate(client: Any, table: str, event: LedgerEvent, settings: FraudSettings) -> list[FraudAlert]:
    """All alerts one withdrawal or transfer out raises (credits raise none)."""
    if event.type not in DEBIT_TYPES:
        return []
    alerts = [large_withdrawal_alert(event, settings)]
    recent = count_recent_withdrawals(
        client, table, event, window=settings.velocity_window, stop_after=settings.velocity_count + 1
    )
    alerts.append(velocity_alert(event, settings, recent))
    return [alert for alert in alerts if alert is not None]


def publish_alert(client: Any, topic_arn: str, alert: FraudAlert) -> str:
    """Publish one alert without recording it (``deliver_alert`` records it); returns the message id."""
    return alerts.publish(client, topic_arn, alert.as_alert())


def deliver_alert(dynamodb: Any, alerts_table: str, sns: Any, topic_arn: str, alert: FraudAlert) -> None:
    """Publish the alert once per alert_id (see ``alerts.deliver``) and report what happened."""
    try:
        result = alerts.deliver(
            dynamodb, alerts_table, alert.as_alert(), lambda record: alerts.publish(sns, topic_arn, record)
        )
    except alerts.AlertInFlightError:
        logger.warning("Alert is being published by another delivery", extra=_alert_fields(alert))
        metrics.add_metric(name="FraudAlertsInFlight", unit=MetricUnit.Count, value=1)
        raise
    if not result.published:
        logger.info("Alert already published", extra=_alert_fields(alert))
        metrics.add_metric(name="FraudAlertDuplicates", unit=MetricUnit.Count, value=1)
        return
    logger.warning(
        "Fraud alert published",
        extra={**_alert_fields(alert), "message_id": result.message_id, "attempts": result.attempts},
    )
    metrics.add_metric(name="FraudAlerts", unit=MetricUnit.Count, value=1)
    if result.attempts > 1:
        # An earlier delivery claimed it and failed, or died after publishing: maybe a repeat.
        metrics.add_metric(name="FraudAlertRepublished", unit=MetricUnit.Count, value=1)


def _alert_fields(alert: FraudAlert) -> dict[str, Any]:
    return {**_fields(alert.event), "rule": alert.rule.value, "alert_id": alert.alert_id}


def _handle_record(
    record: DynamoDBRecord, *, settings: FraudSettings, table: str, alerts_table: str, topic_arn: str
) -> None:
    event = event_from_record(record)
    if event is None:
        return
    if event.type not in DEBIT_TYPES:
        # The mapping's filter should have dropped it; nothing to check, but say so.
        logger.warning("A credit reached the fraud function; check the filter criteria", extra=_fields(event))
        metrics.add_metric(name="UnfilteredCredits", unit=MetricUnit.Count, value=1)
        return
    metrics.add_metric(name="WithdrawalsChecked", unit=MetricUnit.Count, value=1)
    for alert in evaluate(dynamodb_client(), table, event, settings):
        deliver_alert(dynamodb_client(), alerts_table, sns_client(), topic_arn, alert)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    record_handler = partial(
        _handle_record,
        settings=FraudSettings.from_env(),
        table=require_env("EVENTS_TABLE_NAME"),
        alerts_table=require_env("ALERTS_TABLE_NAME"),
        topic_arn=require_env("ALERT_TOPIC_ARN"),
    )
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )


def _fields(event: LedgerEvent) -> dict[str, Any]:
    return {"account_id": event.account_id, "version": event.version, "event_id": event.event_id}
