"""Invalid props fail in the constructor, naming the prop, before any resource is defined."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template
from constructs import Construct

from dbpatterns.common.api_logging import AccountCloudWatchRole
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.validation import PropValidationError
from dbpatterns.ledger import (
    AuditArchive,
    AuditArchiveProps,
    EventSourcedLedger,
    EventSourcedLedgerProps,
    LedgerCommandApi,
    LedgerCommandApiProps,
    LedgerEventStore,
    LedgerEventStoreProps,
    LedgerStreamConsumers,
    LedgerStreamConsumersProps,
)
from stacks.config import AppConfig
from tests.support.synth import new_app

PROFILE = DeploymentProfile.SANDBOX

ELSEWHERE = AccountCloudWatchRole.MANAGED_ELSEWHERE


class Parts:
    def __init__(self) -> None:
        # A concrete region: the event store's tables use a customer-managed key.
        self.stack = Stack(new_app(), "Props", env=AppConfig().env())
        self.store = LedgerEventStore(self.stack, "Store", LedgerEventStoreProps(profile=PROFILE))
        self.archive = AuditArchive(self.stack, "Archive", AuditArchiveProps(profile=PROFILE))


@pytest.fixture(scope="module")
def parts() -> Parts:
    return Parts()


@pytest.fixture
def scope(parts: Parts, request: pytest.FixtureRequest) -> Construct:
    return Construct(parts.stack, request.node.name.replace("[", "-").replace("]", ""))


def consumers(parts: Parts, **overrides: Any) -> Callable[[Construct], object]:
    props = LedgerStreamConsumersProps(
        event_store=parts.store, archive=parts.archive, profile=PROFILE, **overrides
    )
    return lambda scope: LedgerStreamConsumers(scope, "Consumers", props)


def assert_fails_first(scope: Construct, build: Callable[[Construct], object], match: str) -> None:
    with pytest.raises(PropValidationError, match=match):
        build(scope)
    assert scope.node.children == []


@pytest.mark.parametrize("retry_attempts", [-2, 10_001])
def test_rejects_retry_attempts_outside_the_mapping_limits(
    parts: Parts, scope: Construct, retry_attempts: int
) -> None:
    assert_fails_first(
        scope,
        consumers(parts, retry_attempts=retry_attempts),
        rf"retry_attempts={retry_attempts}; allowed: -1 to 10000",
    )


@pytest.mark.parametrize("seconds", [59, 7 * 24 * 3600 + 1])
def test_rejects_max_record_age_outside_one_minute_to_seven_days(
    parts: Parts, scope: Construct, seconds: int
) -> None:
    assert_fails_first(
        scope,
        consumers(parts, max_record_age=Duration.seconds(seconds)),
        r"max_record_age \(seconds\)=.*allowed: 60 to 604800",
    )


@pytest.mark.parametrize("prop", ["fraud_single_limit_major", "fraud_velocity_count"])
def test_rejects_fraud_thresholds_that_are_not_positive(parts: Parts, scope: Construct, prop: str) -> None:
    assert_fails_first(scope, consumers(parts, **{prop: 0}), rf"{prop}=0; allowed: at least 1")


def test_rejects_a_fraud_window_that_is_not_whole_minutes(parts: Parts, scope: Construct) -> None:
    assert_fails_first(
        scope,
        consumers(parts, fraud_velocity_window=Duration.seconds(90)),
        r"fraud_velocity_window \(seconds\)=90",
    )


def test_rejects_a_batch_size_above_the_stream_limit(parts: Parts, scope: Construct) -> None:
    assert_fails_first(scope, consumers(parts, batch_size=10_001), r"batch_size=10001; allowed: 1 to 10000")


def test_rejects_object_lock_retention_below_one_day(scope: Construct) -> None:
    assert_fails_first(
        scope,
        lambda s: AuditArchive(s, "Archive", AuditArchiveProps(profile=PROFILE, retention=Duration.days(0))),
        r"retention=.Duration.days\(0\).; allowed: Duration.days\(1\) to Duration.days\(36500\)",
    )


@pytest.mark.parametrize(
    ("prop", "value", "allowed"),
    [
        ("rate_limit", 0, "1 to 10000"),
        ("burst_limit", 5_001, "1 to 5000"),
        ("rate_limit_per_ip", 5, "10 to 2000000000"),
    ],
)
def test_rejects_api_throttling_outside_the_limits(
    parts: Parts, scope: Construct, prop: str, value: int, allowed: str
) -> None:
    changes: dict[str, Any] = {prop: value}
    props = replace(
        LedgerCommandApiProps(event_store=parts.store, profile=PROFILE, account_cloud_watch_role=ELSEWHERE),
        **changes,
    )
    assert_fails_first(
        scope, lambda s: LedgerCommandApi(s, "Api", props), rf"{prop}={value}; allowed: {allowed}"
    )


def test_rejects_an_idempotency_ttl_under_a_minute(parts: Parts, scope: Construct) -> None:
    props = LedgerCommandApiProps(
        event_store=parts.store,
        profile=PROFILE,
        account_cloud_watch_role=ELSEWHERE,
        idempotency_ttl=Duration.seconds(30),
    )
    assert_fails_first(scope, lambda s: LedgerCommandApi(s, "Api", props), r"idempotency_ttl \(seconds\)=30")


@pytest.mark.parametrize(
    ("prop", "value", "match"),
    [
        ("fraud_velocity_count", 0, r"fraud_velocity_count=0"),
        ("audit_retention", Duration.days(0), r"audit_retention="),
        ("audit_retention", 30, r"audit_retention=30; allowed: a Duration"),
        ("stream_retry_attempts", 10_001, r"stream_retry_attempts=10001"),
        ("stream_max_record_age", Duration.seconds(30), r"stream_max_record_age \(seconds\)=30"),
    ],
)
def test_rejects_invalid_ledger_props_before_defining_any_part(
    scope: Construct, prop: str, value: object, match: str
) -> None:
    changes: dict[str, Any] = {prop: value}
    props = replace(EventSourcedLedgerProps(profile=PROFILE, account_cloud_watch_role=ELSEWHERE), **changes)
    assert_fails_first(scope, lambda s: EventSourcedLedger(s, "Ledger", props), match)


@pytest.mark.parametrize(
    ("limits", "match"),
    [
        ({"XYZ": 10}, r"fraud_single_limits_major key='XYZ'; allowed: AUD, BHD"),
        ({"JPY": 0}, r"fraud_single_limits_major\['JPY'\]=0; allowed: at least 1"),
        ({"EUR": 10.5}, r"fraud_single_limits_major\['EUR'\]=10.5; allowed: a whole number"),
    ],
    ids=["unknown-currency", "zero", "float"],
)
def test_rejects_per_currency_fraud_limits_the_handler_would_refuse(
    parts: Parts, scope: Construct, limits: dict[str, Any], match: str
) -> None:
    assert_fails_first(scope, consumers(parts, fraud_single_limits_major=limits), match)


def test_rejects_a_failure_age_alarm_beyond_the_queues_retention(parts: Parts, scope: Construct) -> None:
    assert_fails_first(
        scope,
        consumers(parts, failure_max_age=Duration.days(15)),
        r"failure_max_age \(seconds\)=1296000; allowed: 60 to 1209600",
    )


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"fraud_single_limit_major": 0}, r"fraud_single_limit_major=0; allowed: at least 1"),
        ({"fraud_single_limits_major": {"XYZ": 1}}, r"fraud_single_limits_major key='XYZ'"),
        ({"alarm_email": "not-an-address"}, r"alarm_email='not-an-address'; allowed: one email address"),
        (
            {"alarm_topic": "arn:aws:sns:us-east-1:123456789012:ops"},
            r"alarm_topic='arn:aws:sns.*allowed: an sns.ITopic",
        ),
    ],
    ids=["limit-0", "limit-currency", "email", "topic-arn-string"],
)
def test_rejects_invalid_alarm_and_fraud_props_of_the_ledger(
    scope: Construct, changes: dict[str, Any], match: str
) -> None:
    props = replace(EventSourcedLedgerProps(profile=PROFILE, account_cloud_watch_role=ELSEWHERE), **changes)
    assert_fails_first(scope, lambda s: EventSourcedLedger(s, "Ledger", props), match)


def test_rejects_an_alarm_email_together_with_an_alarm_topic(scope: Construct) -> None:
    topic = sns.Topic.from_topic_arn(scope.node.scope, "Ops", "arn:aws:sns:us-east-1:123456789012:ops")  # type: ignore[arg-type]
    props = EventSourcedLedgerProps(
        profile=PROFILE, account_cloud_watch_role=ELSEWHERE, alarm_topic=topic, alarm_email="ops@example.com"
    )
    assert_fails_first(
        scope,
        lambda s: EventSourcedLedger(s, "Ledger", props),
        r"alarm_email='ops@example.com'; allowed: only without",
    )


def test_an_alarm_topic_of_your_own_receives_every_alarm() -> None:
    stack = Stack(new_app(), "OwnTopic", env=AppConfig().env())
    topic = sns.Topic(stack, "Ops")
    ledger = EventSourcedLedger(
        stack,
        "Ledger",
        EventSourcedLedgerProps(profile=PROFILE, account_cloud_watch_role=ELSEWHERE, alarm_topic=topic),
    )
    assert ledger.alarm_topic is topic
    assert ledger.node.try_find_child("AlarmTopic") is None
    template = Template.from_stack(stack)
    alarms = template.find_resources("AWS::CloudWatch::Alarm")
    assert len(alarms) == len(ledger.alarms) == 27
    topic_id = stack.get_logical_id(topic.node.default_child)  # type: ignore[arg-type]
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == alarm["Properties"]["OKActions"] == [{"Ref": topic_id}]
