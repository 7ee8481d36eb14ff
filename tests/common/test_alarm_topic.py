"""AlarmTopic: a KMS-encrypted, TLS-only topic that CloudWatch alarms can actually publish to."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Match, Template

from dbpatterns.common.alarm_topic import AlarmTopic, AlarmTopicProps, check_email_address
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.validation import PropValidationError
from stacks.app_builder import add_compliance_checks
from tests.support.synth import new_app

PROFILE = DeploymentProfile.PRODUCTION


def _topic(**overrides: Any) -> tuple[Stack, AlarmTopic]:
    app = new_app()
    stack = Stack(app, "Alarms", env={"account": "123456789012", "region": "eu-west-1"})
    topic = AlarmTopic(stack, "Topic", AlarmTopicProps(profile=PROFILE, **overrides))
    return stack, topic


@pytest.fixture(scope="module")
def template() -> Template:
    stack, topic = _topic(email="oncall@example.com")
    metric = cloudwatch.Metric(namespace="Test", metric_name="Failures")
    topic.notify(cloudwatch.Alarm(stack, "Alarm", metric=metric, threshold=0, evaluation_periods=1))
    add_compliance_checks(stack.node.scope)  # type: ignore[arg-type]
    return Template.from_stack(stack)  # raises on any unacknowledged cdk-nag finding


def test_topic_is_encrypted_with_its_own_customer_managed_key(template: Template) -> None:
    (key_id,) = template.find_resources("AWS::KMS::Key")
    template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": {"Fn::GetAtt": [key_id, "Arn"]}})
    template.has_resource(
        "AWS::KMS::Key",
        {"DeletionPolicy": "Retain", "Properties": Match.object_like({"EnableKeyRotation": True})},
    )


def test_topic_refuses_publishing_without_tls(template: Template) -> None:
    template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Principal": "*",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            }
        },
    )


def _alarm_conditions() -> dict[str, Any]:
    return {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
        "ArnLike": {
            "aws:SourceArn": {
                "Fn::Join": [
                    "",
                    [
                        "arn:",
                        {"Ref": "AWS::Partition"},
                        ":cloudwatch:",
                        {"Ref": "AWS::Region"},
                        ":",
                        {"Ref": "AWS::AccountId"},
                        ":alarm:*",
                    ],
                ]
            }
        },
    }


def test_cloudwatch_alarms_of_this_account_may_publish(template: Template) -> None:
    template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                                "Action": "sns:Publish",
                                "Condition": _alarm_conditions(),
                            }
                        )
                    ]
                )
            }
        },
    )


def test_cloudwatch_alarms_of_this_account_may_use_the_key(template: Template) -> None:
    template.has_resource_properties(
        "AWS::KMS::Key",
        {
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                                "Condition": _alarm_conditions(),
                            }
                        )
                    ]
                )
            }
        },
    )


def test_email_is_subscribed(template: Template) -> None:
    template.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "oncall@example.com"}
    )


def test_notify_sends_alarm_and_ok_transitions(template: Template) -> None:
    (topic_id,) = template.find_resources("AWS::SNS::Topic")
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm", {"AlarmActions": [{"Ref": topic_id}], "OKActions": [{"Ref": topic_id}]}
    )


def test_no_subscription_without_an_email() -> None:
    stack, topic = _topic()
    assert topic.email_subscription is None
    Template.from_stack(stack).resource_count_is("AWS::SNS::Subscription", 0)


def test_uses_a_key_of_the_app_when_given_one() -> None:
    app = new_app()
    stack = Stack(app, "Alarms", env={"account": "123456789012", "region": "eu-west-1"})
    key = kms.Key(stack, "Shared", enable_key_rotation=True)
    topic = AlarmTopic(stack, "Topic", AlarmTopicProps(profile=PROFILE, encryption_key=key))
    assert topic.encryption_key is key
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::KMS::Key", 1)
    assert "cloudwatch.amazonaws.com" in json.dumps(template.find_resources("AWS::KMS::Key"))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"email": "oncall"}, r"email='oncall'; allowed: one email address"),
        ({"email": "a b@example.com"}, r"email='a b@example.com'"),
        ({"email": "x@" + "a" * 250 + ".com"}, r"email='x@a+\.com'"),
        ({"display_name": ""}, r"display_name=''; allowed: 1 to 100 characters"),
        ({"encryption_key": "alias/alarms"}, r"encryption_key='alias/alarms'; allowed: a Key"),
    ],
    ids=["no-at", "space", "too-long", "empty-name", "key-string"],
)
def test_rejects_invalid_props_before_defining_anything(overrides: dict[str, Any], message: str) -> None:
    stack = Stack(new_app(), "Invalid")
    with pytest.raises(PropValidationError, match=rf"^AlarmTopic 'Invalid/Topic': invalid {message}"):
        AlarmTopic(stack, "Topic", AlarmTopicProps(profile=PROFILE, **overrides))
    assert stack.node.children == []


def test_rejects_an_imported_key_whose_policy_cannot_admit_cloudwatch() -> None:
    stack = Stack(new_app(), "Imported", env={"account": "123456789012", "region": "eu-west-1"})
    key = kms.Key.from_key_arn(
        stack, "Key", "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    )
    with pytest.raises(PropValidationError, match=r"invalid encryption_key=.*allowed: a Key"):
        AlarmTopic(stack, "Topic", AlarmTopicProps(profile=PROFILE, encryption_key=key))  # type: ignore[arg-type]
    assert [child.node.id for child in stack.node.children] == ["Key"]


@pytest.mark.parametrize(
    "address", ["oncall@example.com", "first.last+alarms@ops.example.co.uk", "o'brien@example.ie"]
)
def test_accepts_ordinary_addresses(address: str) -> None:
    check_email_address("Test", "email", address)


def test_sandbox_key_is_removable() -> None:
    app = new_app()
    stack = Stack(app, "Sandbox", env={"account": "123456789012", "region": "eu-west-1"})
    AlarmTopic(stack, "Topic", AlarmTopicProps(profile=DeploymentProfile.SANDBOX))
    Template.from_stack(stack).has_resource(
        "AWS::KMS::Key", {"DeletionPolicy": "Delete", "UpdateReplacePolicy": "Delete"}
    )
