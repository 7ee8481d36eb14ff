"""The two Lambda readers of the event store's stream: the ledger sink and fraud detection."""

from __future__ import annotations

import json
from collections.abc import Mapping
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
from dbpatterns.handlers.ledger.currencies import MINOR_UNIT_EXPONENTS
from dbpatterns.handlers.ledger.filters import FRAUD_FILTER_PATTERN
from dbpatterns.ledger.audit_archive import AuditArchive
from dbpatterns.ledger.event_store import LedgerEventStore

#: Event source mapping limits for streams (Lambda API): -1 means "retry until the record expires".
MIN_RETRY_ATTEMPTS, MAX_RETRY_ATTEMPTS = -1, 10_000
MIN_RECORD_AGE_SECONDS, MAX_RECORD_AGE_SECONDS = 60, 7 * 24 * 60 * 60
MIN_BATCH_SIZE, MAX_BATCH_SIZE = 1, 10_000
#: How long the failure queue keeps a message: the SQS maximum.
FAILURE_RETENTION = Duration.days(14)
#: What a sender needs on the key of an SSE-KMS queue or topic.
_SSE_KMS_SEND_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt")


def check_fraud_limits(construct: str, prop: str, limits: Mapping[str, int] | None) -> None:
    """Fail unless ``limits`` is ``None`` or maps ISO 4217 codes the ledger accepts to whole numbers >= 1."""
    if limits is None:
        return
    require(isinstance(limits, Mapping), construct, prop, limits, "allowed: a mapping of currency -> int")
    for currency, major in limits.items():
        require(
            currency in MINOR_UNIT_EXPONENTS,
            construct,
            f"{prop} key",
            currency,
            "allowed: " + ", ".join(sorted(MINOR_UNIT_EXPONENTS)),
        )
        check_int(construct, f"{prop}[{currency!r}]", major)
        check_range(construct, f"{prop}[{currency!r}]", major, minimum=1)


def fraud_environment(
    *,
    single_limit_major: int,
    single_limits_major: Mapping[str, int] | None,
    velocity_count: int,
    velocity_window: Duration,
) -> dict[str, str]:
    """The fraud rules as the handlers read them (the fraud function and the redrive)."""
    environment = {
        "FRAUD_SINGLE_LIMIT_MAJOR": str(single_limit_major),
        "FRAUD_VELOCITY_COUNT": str(velocity_count),
        "FRAUD_VELOCITY_WINDOW_MINUTES": str(int(velocity_window.to_seconds() // 60)),
    }
    if single_limits_major is not None:
        environment["FRAUD_SINGLE_LIMITS_MAJOR"] = json.dumps(dict(sorted(single_limits_major.items())))
    return environment


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
    #: A single withdrawal or transfer out above this many whole units of its currency raises a
    #: LARGE_WITHDRAWAL alert - 10,000 by default (converted with each currency's ISO 4217 exponent:
    #: 1,000,000 cents of EUR, 10,000 yen).
    fraud_single_limit_major: int = 10_000
    #: Per-currency limits in whole units that replace ``fraud_single_limit_major``, e.g.
    #: ``{"JPY": 1_500_000}`` - none by default (the same number of units everywhere).
    fraud_single_limits_major: Mapping[str, int] | None = None
    #: More than this many withdrawals of one account within the window raise VELOCITY - 5.
    fraud_velocity_count: int = 5
    #: The velocity window - 10 minutes by default (whole minutes, at least 1).
    fraud_velocity_window: Duration = field(default_factory=lambda: Duration.minutes(10))
    #: Key for the alert topic and the failure queue - a new key with yearly rotation by default.
    encryption_key: kms.IKey | None = None
    #: KMS key of the functions' log groups - the stack's shared logs key by default.
    log_encryption_key: kms.IKey | None = None
    #: Topic the iterator-age and failure-queue alarms notify - none by default.
    alarm_topic: sns.ITopic | None = None
    #: Age of the oldest failure message that raises an alarm - 12 hours by default: redrive it while
    #: the stream still holds the batch's records (24 hours), after which it has to scan by time.
    failure_max_age: Duration = field(default_factory=lambda: Duration.hours(12))


class LedgerStreamConsumers(Construct):
    """Two event source mappings on the event store's stream, the most Lambda allows per shard.

    1. ``Sink``: archives every event to S3, then applies it to the balance projection (audit and
       projection share one reader, in that order, so neither needs a third reader).
    2. ``Fraud``: only new withdrawals and transfers out reach it (filter criteria from the handler's
       ``FRAUD_FILTER_PATTERN``); each alert is recorded once per ``alert_id`` in the alerts table and
       published to an SNS topic encrypted with a customer-managed key that accepts TLS only.

    Both mappings start at TRIM_HORIZON, read each shard with one batch at a time (parallelization
    factor 1, so events of an account arrive in version order), split a failing batch, retry it a
    bounded number of times within a bounded record age, report batch item failures and send what
    still fails to an encrypted SQS queue (``failures``), whose alarm calls for the redrive. Both
    functions have an iterator-age alarm.

    Exposes ``sink``, ``fraud`` (:class:`HandlerFunction`), ``sink_mapping``, ``fraud_mapping``,
    ``alert_topic``, ``failures`` (:class:`SecureQueue`), ``encryption_key``, ``iterator_age_alarms``,
    ``failure_alarm`` (a message is waiting to be redriven), ``alarms`` (all of them, the failure
    queue's own included) and ``fraud_environment`` (the fraud rules as environment variables).
    """

    def __init__(self, scope: Construct, construct_id: str, props: LedgerStreamConsumersProps) -> None:
        name = construct_label(type(self), scope, construct_id)
        for prop in ("event_store", "archive", "profile"):
            check_required(name, prop, getattr(props, prop))
        check_instance(name, "profile", props.profile, DeploymentProfile)
        for prop in (
            "max_record_age",
            "iterator_age_alarm_threshold",
            "fraud_velocity_window",
            "failure_max_age",
        ):
            check_instance(name, prop, getattr(props, prop), Duration)
        for prop in ("retry_attempts", "batch_size", "fraud_single_limit_major", "fraud_velocity_count"):
            check_int(name, prop, getattr(props, prop))
        check_fraud_limits(name, "fraud_single_limits_major", props.fraud_single_limits_major)
        check_range(
            name,
            "failure_max_age (seconds)",
            props.failure_max_age.to_seconds(),
            minimum=60,
            maximum=FAILURE_RETENTION.to_seconds(),
        )
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
        check_range(name, "fraud_single_limit_major", props.fraud_single_limit_major, minimum=1)
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
            SecureQueueProps(
                encryption_key=self.encryption_key,
                retention_period=FAILURE_RETENTION,
                max_message_age=props.failure_max_age,
                alarm_topic=props.alarm_topic,
                removal_policy=props.profile.removal_policy,
            ),
        )
        store = props.event_store
        self.fraud_environment: dict[str, str] = fraud_environment(
            single_limit_major=props.fraud_single_limit_major,
            single_limits_major=props.fraud_single_limits_major,
            velocity_count=props.fraud_velocity_count,
            velocity_window=props.fraud_velocity_window,
        )

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
                    # The gap fill reads missing versions from the event store.
                    "EVENTS_TABLE_NAME": store.events.table.table_name,
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
                description="Checks each debit against the fraud rules and publishes each alert once",
                service_name="ledger-fraud",
                environment={
                    "EVENTS_TABLE_NAME": store.events.table.table_name,
                    "ALERTS_TABLE_NAME": store.alerts.table.table_name,
                    "ALERT_TOPIC_ARN": self.alert_topic.topic_arn,
                    **self.fraud_environment,
                },
                timeout=Duration.seconds(60),
                log_encryption_key=props.log_encryption_key,
            ),
        )
        store.events.grant(self.fraud.function, "dynamodb:Query")  # the velocity rule's window query
        store.grant_record_alerts(self.fraud.function)
        self.grant_publish_alerts(self.fraud.function)

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
                alarm_topic=props.alarm_topic,
            )
            for alarm_id, function, label in (
                ("SinkIteratorAgeAlarm", self.sink, "ledger sink"),
                ("FraudIteratorAgeAlarm", self.fraud, "fraud detection"),
            )
        ]
        self.failure_alarm = alarm_on_metric(
            self,
            "FailedRecordsAlarm",
            metric=self.failures.metric_approximate_number_of_messages_visible(
                cloudwatch.MetricOptions(period=Duration.minutes(1), statistic=cloudwatch.Stats.MAXIMUM)
            ),
            threshold=0,
            description="Stream records ran out of retries and their batches wait in the failure queue: "
            "run the redrive (the stream keeps the records for 24 h).",
            alarm_topic=props.alarm_topic,
        )
        self.alarms: list[cloudwatch.Alarm] = [
            *self.iterator_age_alarms,
            self.failure_alarm,
            *self.failures.alarms,
        ]

    def grant_publish_alerts(self, grantee: iam.IGrantable) -> iam.Grant:
        """``sns:Publish`` on the fraud alert topic and the two key actions an SSE-KMS publisher needs.

        Written out instead of ``Topic.grant_publish``, whose key grant adds ``kms:ReEncrypt*`` and
        ``kms:GenerateDataKey*`` wildcards.
        """
        grant = iam.Grant.add_to_principal(
            grantee=grantee, actions=["sns:Publish"], resource_arns=[self.alert_topic.topic_arn]
        )
        self.encryption_key.grant(grantee, *_SSE_KMS_SEND_ACTIONS)
        return grant

    def grant_consume_failures(self, grantee: iam.IGrantable) -> iam.Grant:
        """Receive and delete messages of the failure queue and of its dead-letter queue (the redrive
        can be pointed at either), and decrypt them."""
        grant = iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["sqs:ReceiveMessage", "sqs:DeleteMessage"],
            resource_arns=[self.failures.queue.queue_arn, self.failures.dead_letter_queue.queue_arn],
        )
        self.encryption_key.grant(grantee, "kms:Decrypt")
        return grant

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
