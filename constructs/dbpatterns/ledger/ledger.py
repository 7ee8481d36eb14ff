"""The whole event-sourced ledger: tables, API, stream consumers, audit archive, replay, redrive, alarms."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from constructs import Construct

from dbpatterns.common.alarm_topic import AlarmTopic, AlarmTopicProps, check_email_address
from dbpatterns.common.api_logging import AccountCloudWatchRole
from dbpatterns.common.durations import check_duration
from dbpatterns.common.encryption import allow_cloudwatch_logs, create_key
from dbpatterns.common.function import HandlerFunction, HandlerFunctionProps
from dbpatterns.common.nag import acknowledge, acknowledge_framework_rule
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.rest_api import MAX_BURST_LIMIT, MAX_RATE_LIMIT
from dbpatterns.common.validation import (
    check_concrete_region,
    check_instance,
    check_int,
    check_range,
    check_required,
    construct_label,
    require,
)
from dbpatterns.ledger import audit_archive as archive
from dbpatterns.ledger import stream_consumers as consumers
from dbpatterns.ledger.audit_archive import AuditArchive, AuditArchiveProps
from dbpatterns.ledger.command_api import LedgerCommandApi, LedgerCommandApiProps
from dbpatterns.ledger.event_store import LedgerEventStore, LedgerEventStoreProps
from dbpatterns.ledger.monitoring import LedgerMonitoring, LedgerMonitoringProps
from dbpatterns.ledger.stream_consumers import LedgerStreamConsumers, LedgerStreamConsumersProps


@dataclass(frozen=True, kw_only=True)
class EventSourcedLedgerProps:
    """Props of :class:`EventSourcedLedger`."""

    #: Sandbox or production.
    profile: DeploymentProfile
    #: Who sets API Gateway's account-level CloudWatch Logs role, which the API stage's execution and
    #: access logs need: ``AccountCloudWatchRole.MANAGED_ELSEWHERE`` (another stack, your landing zone
    #: or once by hand) or ``AccountCloudWatchRole.CREATE`` (this stack sets it, retained on deletion).
    #: Required: in an account and region without the role the stage fails to deploy.
    account_cloud_watch_role: AccountCloudWatchRole
    #: Stage requests per second of the command API - 100 by default.
    api_rate_limit: int = 100
    #: Stage burst of the command API - 200 by default.
    api_burst_limit: int = 200
    #: How long each archived event is locked (whole days, 1-36500) - 2555 days in production, 1 day in
    #: a sandbox by default.
    audit_retention: Duration | None = None
    #: Retries of a failing stream batch (-1 to 10000) - 5 by default.
    stream_retry_attempts: int = 5
    #: Age after which a failing stream record goes to the failure queue (60 s-7 days) - 1 hour.
    stream_max_record_age: Duration = field(default_factory=lambda: Duration.hours(1))
    #: A single withdrawal or transfer out above this many whole units of its currency raises an
    #: alert - 10,000 by default (converted with the currency's ISO 4217 exponent).
    fraud_single_limit_major: int = 10_000
    #: Per-currency limits in whole units, e.g. ``{"JPY": 1_500_000}`` - none by default.
    fraud_single_limits_major: Mapping[str, int] | None = None
    #: More than this many withdrawals within ``fraud_velocity_window`` raise an alert - 5 by default.
    fraud_velocity_count: int = 5
    #: The velocity window (whole minutes) - 10 minutes by default.
    fraud_velocity_window: Duration = field(default_factory=lambda: Duration.minutes(10))
    #: Topic every alarm of the ledger notifies (ALARM and OK) - a new :class:`AlarmTopic` (KMS, TLS
    #: only) by default. A topic of your own that is KMS-encrypted must let CloudWatch use its key and
    #: publish to it (``AlarmTopic`` does both). Give this or ``alarm_email``, not both.
    alarm_topic: sns.ITopic | None = None
    #: Email address the new alarm topic notifies (after the address confirms) - none by default.
    #: Only without ``alarm_topic``.
    alarm_email: str | None = None


class EventSourcedLedger(Construct):
    """API Gateway -> command function -> DynamoDB event store -> stream -> sink (S3 audit archive,
    balance projection) and fraud detection (alerts table, SNS); a query function for balances and
    histories; replay and redrive functions for operators.

    Every log group of the ledger (functions and API access logs) is encrypted with one
    customer-managed key, ``log_key``. Every alarm (failure queue, iterator age, errors and throttles
    of all six functions, the handlers' integrity metrics, API 5XX) notifies ``alarm_topic``;
    ``dashboard`` shows intake, processing, failures and latency.

    **Redrive.** When a stream record runs out of the mappings' retries, Lambda puts a description of
    its batch on ``consumers.failures`` and ``FailedRecordsAlarm`` fires. An operator invokes
    ``redrive`` (``aws lambda invoke --function-name <redrive> --payload '{"max_messages": 100}'``, or
    ``python -m dbpatterns.handlers.ledger.redrive`` with the same settings): it replays each affected
    account from the event store, re-checks debits for fraud and deletes a message only when that
    succeeded. Messages it could not process move to the failure queue's dead-letter queue (alarm);
    point the command's ``--queue-url`` at that queue to try them again.

    Exposes ``event_store``, ``command_api``, ``consumers``, ``archive``, ``replay``, ``redrive``,
    ``log_key``, ``alarm_topic``, ``alarms`` (every alarm of the ledger) and ``dashboard``.
    """

    def __init__(self, scope: Construct, construct_id: str, props: EventSourcedLedgerProps) -> None:
        name = construct_label(type(self), scope, construct_id)
        _validate(name, props)
        check_concrete_region(
            name,
            scope,
            "stack",
            Stack.of(scope).node.path,
            because="its DynamoDB tables use a customer-managed KMS key, which TableV2 renders per region",
        )
        super().__init__(scope, construct_id)
        profile = props.profile

        self.log_key = create_key(
            self, "LogKey", description="Encrypts the ledger's CloudWatch log groups", profile=profile
        )
        allow_cloudwatch_logs(self.log_key)

        self.alarm_topic: sns.ITopic = props.alarm_topic or (
            AlarmTopic(
                self,
                "AlarmTopic",
                AlarmTopicProps(profile=profile, email=props.alarm_email, display_name="Ledger alarms"),
            ).topic
        )

        self.event_store = LedgerEventStore(self, "EventStore", LedgerEventStoreProps(profile=profile))
        self.archive = AuditArchive(
            self,
            "AuditArchive",
            AuditArchiveProps(profile=profile, retention=props.audit_retention),
        )
        self.command_api = LedgerCommandApi(
            self,
            "CommandApi",
            LedgerCommandApiProps(
                event_store=self.event_store,
                profile=profile,
                rate_limit=props.api_rate_limit,
                burst_limit=props.api_burst_limit,
                account_cloud_watch_role=props.account_cloud_watch_role,
                log_encryption_key=self.log_key,
            ),
        )
        self.consumers = LedgerStreamConsumers(
            self,
            "StreamConsumers",
            LedgerStreamConsumersProps(
                event_store=self.event_store,
                archive=self.archive,
                profile=profile,
                retry_attempts=props.stream_retry_attempts,
                max_record_age=props.stream_max_record_age,
                fraud_single_limit_major=props.fraud_single_limit_major,
                fraud_single_limits_major=props.fraud_single_limits_major,
                fraud_velocity_count=props.fraud_velocity_count,
                fraud_velocity_window=props.fraud_velocity_window,
                log_encryption_key=self.log_key,
                alarm_topic=self.alarm_topic,
            ),
        )
        self.replay = HandlerFunction(
            self,
            "Replay",
            HandlerFunctionProps(
                handler="dbpatterns.handlers.ledger.replay.handler",
                profile=profile,
                description="Rebuilds balances from the event store (invoked by an operator)",
                service_name="ledger-replay",
                environment={
                    "EVENTS_TABLE_NAME": self.event_store.events.table.table_name,
                    "PROJECTION_TABLE_NAME": self.event_store.projection.table.table_name,
                    # For --backfill-archive: re-archives events whose stream record ran out of retries.
                    "AUDIT_BUCKET_NAME": self.archive.bucket.bucket_name,
                },
                timeout=Duration.minutes(15),
                memory_size=512,
                log_encryption_key=self.log_key,
            ),
        )
        self.event_store.grant_read_events(self.replay.function)
        self.event_store.projection.grant(self.replay.function, "dynamodb:PutItem")
        self.archive.grant_archive(self.replay.function)
        acknowledge(
            self.replay.role,
            self.archive.archive_write_finding,
            "Backfilling the archive writes one object per missing event under events/; PutObject with "
            "If-None-Match cannot overwrite a locked version, and the role cannot read or delete.",
        )

        self.redrive = self._redrive_function(profile)
        self.monitoring = LedgerMonitoring(
            self,
            "Monitoring",
            LedgerMonitoringProps(
                api=self.command_api,
                consumers=self.consumers,
                replay=self.replay,
                redrive=self.redrive,
                alarm_topic=self.alarm_topic,
            ),
        )
        self.dashboard = self.monitoring.dashboard
        self.alarms: list[cloudwatch.Alarm] = [*self.consumers.alarms, *self.monitoring.alarms]

        self._acknowledge_function_findings()

    def _acknowledge_function_findings(self) -> None:
        """The compliance packs' Lambda findings that the ledger's design answers otherwise."""
        operator_invoked = (
            "Invoked synchronously by an operator (aws lambda invoke, RequestResponse): the error goes back "
            "to the operator, who reruns it; no asynchronous event exists to keep in a dead-letter queue."
        )
        stream_triggered = (
            "Triggered by the events table's stream through an event source mapping whose on-failure "
            "destination is the stream failure queue; a function DLQ covers asynchronous invokes only."
        )
        dead_letter = {
            self.command_api.function: "Invoked synchronously by API Gateway for appends: a failure is a 5xx "
            "to the client, who retries with the same Idempotency-Key; nothing is left to queue.",
            self.command_api.queries: "Invoked synchronously by API Gateway for balance and history reads: "
            "a failure is a 5xx to the reader, and a read has nothing to redeliver.",
            self.consumers.sink: stream_triggered,
            self.consumers.fraud: stream_triggered,
            self.replay: operator_invoked,
            self.redrive: operator_invoked,
        }
        stream_bound = (
            "One batch per shard at a time (parallelization factor 1) bounds it by the stream's shards; "
            "a reservation would only add throttles that stall the shard."
        )
        operator_bound = (
            "Run by an operator, one invocation at a time, for recovery; a reservation would hold "
            "account concurrency idle for a function that rarely runs."
        )
        concurrency = {
            self.command_api.function: "Downstream is on-demand DynamoDB with conditional writes, which "
            "needs no shielding; the stage throttle bounds invocations, and a reservation would take from "
            "the account's unreserved pool (a new account may have only 10).",
            self.command_api.queries: "Reads on-demand DynamoDB only, which needs no shielding; the stage "
            "throttle bounds invocations, and a reservation would take from the account's unreserved pool.",
            self.consumers.sink: stream_bound,
            self.consumers.fraud: stream_bound,
            self.replay: operator_bound,
            self.redrive: operator_bound,
        }
        for function, reason in dead_letter.items():
            acknowledge_framework_rule(function.function, "LambdaDLQ", reason)
            acknowledge_framework_rule(function.function, "LambdaConcurrency", concurrency[function])
            acknowledge_framework_rule(
                function.function,
                "LambdaInsideVPC",
                "The function calls only regional AWS APIs (DynamoDB, S3, SNS) over TLS with SigV4 and "
                "serves nothing on a network; a VPC would add interface endpoints, not protection.",
            )

    def _redrive_function(self, profile: DeploymentProfile) -> HandlerFunction:
        """The failure queue's redrive: replays the accounts of each failed batch and re-checks fraud."""
        store, consumers = self.event_store, self.consumers
        redrive = HandlerFunction(
            self,
            "Redrive",
            HandlerFunctionProps(
                handler="dbpatterns.handlers.ledger.redrive.handler",
                profile=profile,
                description="Redrives the stream failure queue, replaying accounts (invoked by an operator)",
                service_name="ledger-redrive",
                environment={
                    "FAILURE_QUEUE_URL": consumers.failures.queue.queue_url,
                    "EVENTS_TABLE_NAME": store.events.table.table_name,
                    "PROJECTION_TABLE_NAME": store.projection.table.table_name,
                    "AUDIT_BUCKET_NAME": self.archive.bucket.bucket_name,
                    "ALERTS_TABLE_NAME": store.alerts.table.table_name,
                    "ALERT_TOPIC_ARN": consumers.alert_topic.topic_arn,
                    **consumers.fraud_environment,
                },
                timeout=Duration.minutes(15),
                memory_size=512,
                log_encryption_key=self.log_key,
            ),
        )
        consumers.grant_consume_failures(redrive)
        # The batch's keys, read back from the stream while it holds them (24 h). The stream is
        # encrypted with the tables' key, which grant_read_events (DynamoTable.grant) also grants.
        iam.Grant.add_to_principal(
            grantee=redrive,
            actions=["dynamodb:GetShardIterator", "dynamodb:GetRecords"],
            resource_arns=[store.stream_arn],
        )
        store.grant_read_events(redrive)
        store.projection.grant(redrive, "dynamodb:PutItem")  # replay's conditional rebuild
        self.archive.grant_archive(redrive)
        store.grant_sweep_alerts(redrive)
        consumers.grant_publish_alerts(redrive)
        acknowledge(
            redrive.role,
            self.archive.archive_write_finding,
            "The redrive backfills the archive like replay: one object per missing event under "
            "events/, PutObject with If-None-Match only (the bucket policy denies any other).",
        )
        return redrive


def _validate(name: str, props: EventSourcedLedgerProps) -> None:
    """The parts check these again; checking here too means nothing is defined when one is wrong."""
    check_required(name, "profile", props.profile)
    check_instance(name, "profile", props.profile, DeploymentProfile)
    for prop in ("stream_max_record_age", "fraud_velocity_window"):
        check_instance(name, prop, getattr(props, prop), Duration)
    for prop in (
        "api_rate_limit",
        "api_burst_limit",
        "stream_retry_attempts",
        "fraud_single_limit_major",
        "fraud_velocity_count",
    ):
        check_int(name, prop, getattr(props, prop))
    consumers.check_fraud_limits(name, "fraud_single_limits_major", props.fraud_single_limits_major)
    require(
        props.alarm_topic is None or hasattr(props.alarm_topic, "topic_arn"),
        name,
        "alarm_topic",
        props.alarm_topic,
        "allowed: an sns.ITopic",
    )
    check_email_address(name, "alarm_email", props.alarm_email)
    require(
        props.alarm_topic is None or props.alarm_email is None,
        name,
        "alarm_email",
        props.alarm_email,
        "allowed: only without alarm_topic (subscribe the address to your own topic instead)",
    )
    check_instance(name, "account_cloud_watch_role", props.account_cloud_watch_role, AccountCloudWatchRole)
    check_range(name, "api_rate_limit", props.api_rate_limit, minimum=1, maximum=MAX_RATE_LIMIT)
    check_range(name, "api_burst_limit", props.api_burst_limit, minimum=1, maximum=MAX_BURST_LIMIT)
    check_duration(
        name,
        "audit_retention",
        props.audit_retention,
        unit="days",
        minimum=Duration.days(archive.MIN_RETENTION_DAYS),
        maximum=Duration.days(archive.MAX_RETENTION_DAYS),
        optional=True,
    )
    check_range(
        name,
        "stream_retry_attempts",
        props.stream_retry_attempts,
        minimum=consumers.MIN_RETRY_ATTEMPTS,
        maximum=consumers.MAX_RETRY_ATTEMPTS,
    )
    check_range(
        name,
        "stream_max_record_age (seconds)",
        props.stream_max_record_age.to_seconds(),
        minimum=consumers.MIN_RECORD_AGE_SECONDS,
        maximum=consumers.MAX_RECORD_AGE_SECONDS,
    )
    check_range(name, "fraud_single_limit_major", props.fraud_single_limit_major, minimum=1)
    check_range(name, "fraud_velocity_count", props.fraud_velocity_count, minimum=1)
    consumers.check_whole_minutes(name, "fraud_velocity_window", props.fraud_velocity_window)
