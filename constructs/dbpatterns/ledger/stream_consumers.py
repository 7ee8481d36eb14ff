"""The two Lambda readers of the event store's stream: the ledger sink and fraud detection."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import jsii
from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from dbpatterns.common.alarms import alarm_on_metric
from dbpatterns.common.encryption import create_key
from dbpatterns.common.function import HandlerFunction, HandlerFunctionProps
from dbpatterns.common.nag import acknowledge
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.queue import SecureQueue, SecureQueueProps
from dbpatterns.common.validation import (
    check_instance,
    check_int,
    check_range,
    check_required,
    construct_label,
    require,
)
from dbpatterns.handlers.ledger.filters import FRAUD_FILTER_PATTERN
from dbpatterns.ledger.audit_archive import AuditArchive
from dbpatterns.ledger.event_store import LedgerEventStore

#: Event source mapping limits for streams (Lambda API): -1 means "retry until the record expires".
MIN_RETRY_ATTEMPTS, MAX_RETRY_ATTEMPTS = -1, 10_000
MIN_RECORD_AGE_SECONDS, MAX_RECORD_AGE_SECONDS = 60, 7 * 24 * 60 * 60
MIN_BATCH_SIZE, MAX_BATCH_SIZE = 1, 10_000
#: What a sender needs on the key of an SSE-KMS queue or topic.
_SSE_KMS_SEND_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt")


def check_whole_minutes(construct: str, prop: str, value: Duration) -> None:
    """Fail unless ``value`` is a whole number of minutes, at least one (the handler reads minutes)."""
    seconds = value.to_seconds()
    require(
        seconds >= 60 and seconds % 60 == 0,
        construct,
        f"{prop} (seconds)",
        seconds,
        "allowed: a whole number of minutes, at least 1",
    )


@jsii.implements(lambda_.IEventSourceDlq)
class _QueueDestination:
    """An on-failure destination that grants nothing by itself (``SqsDlq`` grants kms wildcards);
    :class:`LedgerStreamConsumers` grants SendMessage and the two key actions explicitly."""

    def __init__(self, queue: sqs.IQueue) -> None:
        self._queue = queue

    def bind(
        self, target: lambda_.IEventSourceMapping, target_handler: lambda_.IFunction
    ) -> lambda_.DlqDestinationConfig:
        return lambda_.DlqDestinationConfig(destination=self._queue.queue_arn)


@dataclass(frozen=True, kw_only=True)
class LedgerStreamConsumersProps:
    """Props of :class:`LedgerStreamConsumers`."""

    #: The tables: the stream is read from the event store, the sink writes the projection.
    event_store: LedgerEventStore
    #: Where the sink archives every event.
    archive: AuditArchive
    #: Sandbox or production: log retention and removal follow it.
    profile: DeploymentProfile
    #: Retries of a failing batch (-1 = until the record expires, up to 10000) - 5 by default.
    retry_attempts: int = 5
    #: Records older than this go to the failure queue instead (60 s to 7 days) - 1 hour by default.
    max_record_age: Duration = field(default_factory=lambda: Duration.hours(1))
    #: Records per invocation (1-10000) - 100 by default.
    batch_size: int = 100
    #: Iterator age that raises an alarm (consumers are falling behind) - 5 minutes by default.
    iterator_age_alarm_threshold: Duration = field(default_factory=lambda: Duration.minutes(5))
    #: A single withdrawal above this many minor units raises a LARGE_WITHDRAWAL alert - 1,000,000.
    fraud_single_limit_minor: int = 1_000_000
    #: More than this many withdrawals of one account within the window raise VELOCITY - 5.
    fraud_velocity_count: int = 5
    #: The velocity window - 10 minutes by default (whole minutes, at least 1).
    fraud_velocity_window: Duration = field(default_factory=lambda: Duration.minutes(10))
    #: Key for the alert topic and the failure queue - a new key with yearly rotation by default.
    encryption_key: kms.IKey | None = None
    #: KMS key of the functions' log groups - CloudWatch Logs' own encryption by default.
    log_encryption_key: kms.IKey | None = None


class LedgerStreamConsumers(Construct):
    """Two event source mappings on the event store's stream, the most Lambda allows per shard.

    1. ``Sink``: archives every event to S3, then applies it to the balance projection (audit and
       projection share one reader, in that order, so neither needs a third reader).
    2. ``Fraud``: only new withdrawals reach it (filter criteria from the handler's
       ``FRAUD_FILTER_PATTERN``); alerts go to an SNS topic encrypted with a customer-managed key that
       accepts TLS only.

    Both mappings start at TRIM_HORIZON, read each shard with one batch at a time (parallelization
    factor 1, so events of an account arrive in version order), split a failing batch, retry it a
    bounded number of times within a bounded record age, report batch item failures and send what
    still fails to an encrypted SQS queue. Both functions have an iterator-age alarm.

    Exposes ``sink``, ``fraud`` (:class:`HandlerFunction`), ``sink_mapping``, ``fraud_mapping``,
    ``alert_topic``, ``failures`` (:class:`SecureQueue`), ``encryption_key`` and ``iterator_age_alarms``.
    """

    def __init__(self, scope: Construct, construct_id: str, props: LedgerStreamConsumersProps) -> None:
        name = construct_label(type(self), scope, construct_id)
        for prop in ("event_store", "archive", "profile"):
            check_required(name, prop, getattr(props, prop))
        check_instance(name, "profile", props.profile, DeploymentProfile)
        for prop in ("max_record_age", "iterator_age_alarm_threshold", "fraud_velocity_window"):
            check_instance(name, prop, getattr(props, prop), Duration)
        for prop in ("retry_attempts", "batch_size", "fraud_single_limit_minor", "fraud_velocity_count"):
            check_int(name, prop, getattr(props, prop))
        check_range(
            name,
            "retry_attempts",
            props.retry_attempts,
            minimum=MIN_RETRY_ATTEMPTS,
            maximum=MAX_RETRY_ATTEMPTS,
        )
        check_range(
            name,
            "max_record_age (seconds)",
            props.max_record_age.to_seconds(),
            minimum=MIN_RECORD_AGE_SECONDS,
            maximum=MAX_RECORD_AGE_SECONDS,
        )
        check_range(name, "batch_size", props.batch_size, minimum=MIN_BATCH_SIZE, maximum=MAX_BATCH_SIZE)
        check_range(
            name,
            "iterator_age_alarm_threshold (seconds)",
            props.iterator_age_alarm_threshold.to_seconds(),
            minimum=1,
        )
        check_range(name, "fraud_single_limit_minor", props.fraud_single_limit_minor, minimum=1)
        check_range(name, "fraud_velocity_count", props.fraud_velocity_count, minimum=1)
        check_whole_minutes(name, "fraud_velocity_window", props.fraud_velocity_window)
        super().__init__(scope, construct_id)

        self.encryption_key: kms.IKey = props.encryption_key or create_key(
            self,
            "Key",
            description="Encrypts the ledger's fraud alerts and failed stream records",
            profile=props.profile,
        )
        self.alert_topic = sns.Topic(
            self,
            "FraudAlerts",
            display_name="Ledger fraud alerts",
            master_key=self.encryption_key,
            enforce_ssl=True,
        )
        # Lambda writes a description of each batch that failed every retry here (shard and sequence
        # numbers, not the records): read the events again from the event store with replay.
        self.failures = SecureQueue(
            self,
            "FailedRecords",
            SecureQueueProps(encryption_key=self.encryption_key, retention_period=Duration.days(14)),
        )
        store = props.event_store

        self.sink = HandlerFunction(
            self,
            "Sink",
            HandlerFunctionProps(
                handler="dbpatterns.handlers.ledger.sink.handler",
                profile=props.profile,
                description="Archives each ledger event to S3 and applies it to the balance projection",
                service_name="ledger-sink",
                environment={
                    "PROJECTION_TABLE_NAME": store.projection.table.table_name,
                    "AUDIT_BUCKET_NAME": props.archive.bucket.bucket_name,
                },
                timeout=Duration.seconds(60),
                log_encryption_key=props.log_encryption_key,
            ),
        )
        store.grant_project(self.sink.function)
        props.archive.grant_archive(self.sink.function)
        acknowledge(
            self.sink.role,
            props.archive.archive_write_finding,
            "Archive object keys are events/<account>/<event id>.json, one per event, so PutObject "
            "must cover the prefix; the role cannot read, overwrite a locked version or delete.",
        )

        self.fraud = HandlerFunction(
            self,
            "Fraud",
            HandlerFunctionProps(
                handler="dbpatterns.handlers.ledger.fraud.handler",
                profile=props.profile,
                description="Checks each withdrawal against the fraud rules and publishes alerts",
                service_name="ledger-fraud",
                environment={
                    "EVENTS_TABLE_NAME": store.events.table.table_name,
                    "ALERT_TOPIC_ARN": self.alert_topic.topic_arn,
                    "FRAUD_SINGLE_LIMIT_MINOR": str(props.fraud_single_limit_minor),
                    "FRAUD_VELOCITY_COUNT": str(props.fraud_velocity_count),
                    "FRAUD_VELOCITY_WINDOW_MINUTES": str(int(props.fraud_velocity_window.to_seconds() // 60)),
                },
                timeout=Duration.seconds(60),
                log_encryption_key=props.log_encryption_key,
            ),
        )
        store.events.grant(self.fraud.function, "dynamodb:Query")  # the velocity rule's window query
        # Written out instead of Topic.grant_publish, whose key grant adds kms:ReEncrypt* and
        # GenerateDataKey* wildcards: publishing to an SSE-KMS topic needs these two key actions.
        iam.Grant.add_to_principal(
            grantee=self.fraud.function, actions=["sns:Publish"], resource_arns=[self.alert_topic.topic_arn]
        )
        self.encryption_key.grant(self.fraud.function, *_SSE_KMS_SEND_ACTIONS)

        self.sink_mapping = self._mapping("SinkMapping", self.sink, props, filters=None)
        self.fraud_mapping = self._mapping(
            "FraudMapping", self.fraud, props, filters=[{"pattern": json.dumps(FRAUD_FILTER_PATTERN)}]
        )
        self.iterator_age_alarms: list[cloudwatch.Alarm] = [
            alarm_on_metric(
                self,
                alarm_id,
                metric=function.function.metric(
                    "IteratorAge", statistic="Maximum", period=Duration.minutes(1)
                ),
                threshold=props.iterator_age_alarm_threshold.to_milliseconds(),
                evaluation_periods=5,
                datapoints_to_alarm=3,
                description=f"The {label} falls behind the event store stream (records expire after 24 h).",
            )
            for alarm_id, function, label in (
                ("SinkIteratorAgeAlarm", self.sink, "ledger sink"),
                ("FraudIteratorAgeAlarm", self.fraud, "fraud detection"),
            )
        ]

    def _mapping(
        self,
        construct_id: str,
        function: HandlerFunction,
        props: LedgerStreamConsumersProps,
        *,
        filters: list[dict[str, str]] | None,
    ) -> lambda_.EventSourceMapping:
        # The stream is encrypted with the table's key; TableV2.grant_stream_read does not grant it.
        props.event_store.events.grant_stream_read(function.function)
        props.event_store.encryption_key.grant_decrypt(function.function)
        # Lambda sends the failure record with the function's role: SendMessage on this queue only.
        iam.Grant.add_to_principal(
            grantee=function.function,
            actions=["sqs:SendMessage"],
            resource_arns=[self.failures.queue.queue_arn],
        )
        self.encryption_key.grant(function.function, *_SSE_KMS_SEND_ACTIONS)
        mapping = lambda_.EventSourceMapping(
            self,
            construct_id,
            target=function.function,
            event_source_arn=props.event_store.stream_arn,
            starting_position=lambda_.StartingPosition.TRIM_HORIZON,
            batch_size=props.batch_size,
            parallelization_factor=1,
            bisect_batch_on_error=True,
            retry_attempts=props.retry_attempts,
            max_record_age=props.max_record_age,
            report_batch_item_failures=True,
            on_failure=_QueueDestination(self.failures.queue),
            filters=filters,
        )
        # Lambda checks the role's stream and queue permissions when it creates the mapping.
        mapping.node.add_dependency(function.role)
        return mapping
