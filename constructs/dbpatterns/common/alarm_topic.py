"""An SNS topic that CloudWatch alarms can actually reach: KMS-encrypted, TLS only, CloudWatch admitted.

An alarm whose action names an SSE-KMS topic is delivered only when CloudWatch may use the key
(``kms:Decrypt`` and ``kms:GenerateDataKey*`` in the key policy, SNS developer guide, "Enable
compatibility between event sources from AWS services and encrypted topics") and may publish to the
topic (a topic policy replaces SNS's default one, so ``cloudwatch.amazonaws.com`` must be named in it:
AWS knowledge center, "Why didn't I receive an SNS notification for my CloudWatch alarm trigger?").
Without either, the alarm changes state and nobody hears of it. Both grants here are limited to alarms
of this account and region (``aws:SourceAccount``, ``aws:SourceArn``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aws_cdk import Aws
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from dbpatterns.common.encryption import create_key
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.validation import (
    check_instance,
    check_required,
    construct_label,
    is_unresolved,
    require,
)

#: What an email address must look like to be subscribed: one ``@``, a dot in the domain, no spaces.
#: SNS itself only sends a confirmation to it; this catches typos and swapped arguments at synth time.
EMAIL_PATTERN = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
#: SNS email endpoints are at most this long (the address part of RFC 5321).
MAX_EMAIL_LENGTH = 254
#: The service principal of CloudWatch alarm actions.
CLOUDWATCH_PRINCIPAL = "cloudwatch.amazonaws.com"


def check_email_address(construct: str, prop: str, value: str | None) -> None:
    """Fail unless ``value`` is ``None`` or looks like one email address (tokens pass)."""
    if value is None or is_unresolved(value):
        return
    require(
        isinstance(value, str) and len(value) <= MAX_EMAIL_LENGTH and EMAIL_PATTERN.match(value) is not None,
        construct,
        prop,
        value,
        "allowed: one email address such as 'oncall@example.com' (SNS sends it a confirmation link)",
    )


@dataclass(frozen=True, kw_only=True)
class AlarmTopicProps:
    """Props of :class:`AlarmTopic`."""

    #: Sandbox or production: removal of the key it creates follows it.
    profile: DeploymentProfile
    #: Who to email when an alarm fires or recovers - nobody by default (subscribe a pager, chat or
    #: ticketing endpoint to ``topic`` yourself). SNS sends the address a confirmation link first;
    #: nothing is delivered until it is confirmed.
    email: str | None = None
    #: Key of the topic - a new key with yearly rotation by default. It must be a ``kms.Key`` of this
    #: app: its policy has to admit CloudWatch, which an imported key's policy cannot be made to.
    encryption_key: kms.Key | None = None
    #: Name shown in notifications - "dbpatterns alarms" by default.
    display_name: str = "dbpatterns alarms"


class AlarmTopic(Construct):
    """An SNS topic for alarm and OK notifications, encrypted with a customer-managed key, TLS only.

    CloudWatch alarms of this account and region may publish to it and use its key; nothing else
    is granted. Use :meth:`notify` (or ``alarm_on_metric(..., alarm_topic=topic.topic)``) so an alarm
    notifies both when it fires and when it recovers.

    Exposes ``topic``, ``encryption_key``, ``action`` (the ``SnsAction``) and ``email_subscription``
    (``None`` without ``email``).
    """

    def __init__(self, scope: Construct, construct_id: str, props: AlarmTopicProps) -> None:
        name = construct_label(type(self), scope, construct_id)
        check_required(name, "profile", props.profile)
        check_instance(name, "profile", props.profile, DeploymentProfile)
        check_email_address(name, "email", props.email)
        check_instance(name, "encryption_key", props.encryption_key, kms.Key, optional=True)
        require(
            isinstance(props.display_name, str) and 0 < len(props.display_name) <= 100,
            name,
            "display_name",
            props.display_name,
            "allowed: 1 to 100 characters (SNS's limit)",
        )
        super().__init__(scope, construct_id)

        self.encryption_key: kms.Key = props.encryption_key or create_key(
            self, "Key", description="Encrypts alarm notifications", profile=props.profile
        )
        self.topic = sns.Topic(
            self,
            "Resource",
            display_name=props.display_name,
            master_key=self.encryption_key,
            enforce_ssl=True,
        )
        alarms_here = {
            "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
            "ArnLike": {
                "aws:SourceArn": f"arn:{Aws.PARTITION}:cloudwatch:{Aws.REGION}:{Aws.ACCOUNT_ID}:alarm:*"
            },
        }
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsOfThisAccount",
                principals=[iam.ServicePrincipal(CLOUDWATCH_PRINCIPAL)],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions=alarms_here,
            )
        )
        self.encryption_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToPublishEncrypted",
                principals=[iam.ServicePrincipal(CLOUDWATCH_PRINCIPAL)],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions=alarms_here,
            )
        )
        self.action = cw_actions.SnsAction(self.topic)
        self.email_subscription: sns.Subscription | None = None
        if props.email is not None:
            self.email_subscription = sns.Subscription(
                self,
                "Email",
                topic=self.topic,
                protocol=sns.SubscriptionProtocol.EMAIL,
                endpoint=props.email,
            )

    def notify(self, alarm: cloudwatch.Alarm) -> cloudwatch.Alarm:
        """Send ``alarm``'s ALARM and OK transitions to this topic; returns the alarm."""
        alarm.add_alarm_action(self.action)
        alarm.add_ok_action(self.action)
        return alarm


__all__ = ["AlarmTopic", "AlarmTopicProps", "check_email_address"]
