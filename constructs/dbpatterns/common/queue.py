"""An SQS queue that cannot lose a message silently: DLQ with redrive, KMS, TLS only, alarms."""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from dbpatterns.common.alarms import alarm_on_metric
from dbpatterns.common.metrics import metric_kwargs
from dbpatterns.common.validation import (
    check_instance,
    check_int,
    check_range,
    check_required,
    construct_label,
)

#: SQS limits (seconds) for visibility timeout and retention; receive count is ours but sane.
MAX_VISIBILITY_TIMEOUT_SECONDS = 12 * 60 * 60
MIN_RETENTION_SECONDS, MAX_RETENTION_SECONDS = 60, 14 * 24 * 60 * 60
MAX_RECEIVE_COUNT = 1000


@dataclass(frozen=True, kw_only=True)
class SecureQueueProps:
    """Props of :class:`SecureQueue`."""

    #: Customer-managed key for both queues (SSE-KMS).
    encryption_key: kms.IKey
    #: How long a received message stays hidden - 30 seconds by default. For a Lambda consumer use
    #: at least six times the function timeout.
    visibility_timeout: Duration = field(default_factory=lambda: Duration.seconds(30))
    #: Receives before a message moves to the dead-letter queue (1-1000) - 5 by default.
    max_receive_count: int = 5
    #: How long the main queue keeps a message - 4 days by default.
    retention_period: Duration = field(default_factory=lambda: Duration.days(4))
    #: Age of the oldest message that raises an alarm - 5 minutes by default.
    max_message_age: Duration = field(default_factory=lambda: Duration.minutes(5))
    #: Age of the oldest dead letter that raises a second alarm - 3 days by default (at most 13 days):
    #: a reminder that a dead letter is still unhandled, well before SQS deletes it (14 days after
    #: it was first sent; moving to the dead-letter queue does not reset that clock).
    dead_letter_max_age: Duration = field(default_factory=lambda: Duration.days(3))
    #: Topic notified by the queue's alarms - none by default.
    alarm_topic: sns.ITopic | None = None
    #: What deleting or replacing the queues does to the messages in them - DESTROY by default, like
    #: ``sqs.Queue``. Pass ``profile.removal_policy`` so production RETAINs the queues: orders or
    #: dead letters not yet handled survive a stack deletion or a replacement and can be redriven.
    removal_policy: RemovalPolicy = RemovalPolicy.DESTROY


class SecureQueue(Construct):
    """A KMS-encrypted, TLS-only SQS queue with a dead-letter queue and two alarms.

    The dead-letter queue keeps messages for the SQS maximum of 14 days. Alarms fire when any
    message reaches the dead-letter queue and when the oldest message in the main queue is older
    than ``max_message_age`` (consumers are not keeping up).

    A third alarm fires when the oldest dead letter is older than ``dead_letter_max_age``.

    Exposes ``queue``, ``dead_letter_queue``, ``dlq_alarm``, ``age_alarm``, ``dlq_age_alarm`` and ``alarms``.
    """

    def __init__(self, scope: Construct, construct_id: str, props: SecureQueueProps) -> None:
        name = construct_label(type(self), scope, construct_id)
        check_required(name, "encryption_key", props.encryption_key)
        for prop in ("visibility_timeout", "retention_period", "max_message_age", "dead_letter_max_age"):
            check_instance(name, prop, getattr(props, prop), Duration)
        check_int(name, "max_receive_count", props.max_receive_count)
        check_instance(name, "removal_policy", props.removal_policy, RemovalPolicy)
        check_range(
            name,
            "visibility_timeout (seconds)",
            props.visibility_timeout.to_seconds(),
            minimum=0,
            maximum=MAX_VISIBILITY_TIMEOUT_SECONDS,
        )
        check_range(name, "max_receive_count", props.max_receive_count, minimum=1, maximum=MAX_RECEIVE_COUNT)
        check_range(
            name,
            "retention_period (seconds)",
            props.retention_period.to_seconds(),
            minimum=MIN_RETENTION_SECONDS,
            maximum=MAX_RETENTION_SECONDS,
        )
        check_range(
            name,
            "dead_letter_max_age (seconds)",
            props.dead_letter_max_age.to_seconds(),
            minimum=60,
            maximum=MAX_RETENTION_SECONDS - 24 * 60 * 60,
        )
        super().__init__(scope, construct_id)
        self._key = props.encryption_key

        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=props.encryption_key,
            enforce_ssl=True,
            retention_period=Duration.seconds(MAX_RETENTION_SECONDS),
            removal_policy=props.removal_policy,
        )
        self.queue = sqs.Queue(
            self,
            "Resource",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=props.encryption_key,
            data_key_reuse=Duration.minutes(5),
            enforce_ssl=True,
            visibility_timeout=props.visibility_timeout,
            retention_period=props.retention_period,
            removal_policy=props.removal_policy,
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letter_queue, max_receive_count=props.max_receive_count
            ),
        )
        self.dlq_alarm = alarm_on_metric(
            self,
            "DeadLetterAlarm",
            metric=self.dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(1), statistic="Maximum"
            ),
            threshold=0,
            description="Messages reached the dead-letter queue: they failed every retry and need a look.",
            alarm_topic=props.alarm_topic,
        )
        self.age_alarm = alarm_on_metric(
            self,
            "OldestMessageAlarm",
            metric=self.queue.metric_approximate_age_of_oldest_message(
                period=Duration.minutes(1), statistic="Maximum"
            ),
            threshold=props.max_message_age.to_seconds(),
            evaluation_periods=3,
            description="The oldest message waits longer than expected: consumers are not keeping up.",
            alarm_topic=props.alarm_topic,
        )
        self.dlq_age_alarm = alarm_on_metric(
            self,
            "OldestDeadLetterAlarm",
            metric=self.dead_letter_queue.metric_approximate_age_of_oldest_message(
                period=Duration.minutes(5), statistic="Maximum"
            ),
            threshold=props.dead_letter_max_age.to_seconds(),
            description=(
                "A dead letter has waited unhandled for days; SQS deletes it 14 days after it was sent."
            ),
            alarm_topic=props.alarm_topic,
        )
        #: The three alarms above.
        self.alarms: list[cloudwatch.Alarm] = [self.dlq_alarm, self.age_alarm, self.dlq_age_alarm]

    def grant_send_messages(self, grantee: iam.IGrantable) -> iam.Grant:
        """Send to the main queue: the SQS actions plus the two KMS actions an SSE-KMS producer needs."""
        grant = iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"],
            resource_arns=[self.queue.queue_arn],
        )
        self._key.grant(grantee, "kms:GenerateDataKey", "kms:Decrypt")
        return grant

    def grant_consume_messages(self, grantee: iam.IGrantable) -> iam.Grant:
        return self.queue.grant_consume_messages(grantee)

    def metric_approximate_age_of_oldest_message(
        self, props: cloudwatch.MetricOptions | None = None
    ) -> cloudwatch.Metric:
        """``ApproximateAgeOfOldestMessage`` of the main queue."""
        return self.queue.metric_approximate_age_of_oldest_message(**metric_kwargs(props))

    def metric_approximate_number_of_messages_visible(
        self, props: cloudwatch.MetricOptions | None = None
    ) -> cloudwatch.Metric:
        """``ApproximateNumberOfMessagesVisible`` of the main queue."""
        return self.queue.metric_approximate_number_of_messages_visible(**metric_kwargs(props))

    def metric_number_of_messages_sent(
        self, props: cloudwatch.MetricOptions | None = None
    ) -> cloudwatch.Metric:
        """``NumberOfMessagesSent`` to the main queue."""
        return self.queue.metric_number_of_messages_sent(**metric_kwargs(props))

    def metric_dead_letter_messages_visible(
        self, props: cloudwatch.MetricOptions | None = None
    ) -> cloudwatch.Metric:
        """``ApproximateNumberOfMessagesVisible`` of the dead-letter queue."""
        return self.dead_letter_queue.metric_approximate_number_of_messages_visible(**metric_kwargs(props))
