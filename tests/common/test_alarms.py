"""Alarm helpers: handler metrics as Powertools publishes them, function alarms, dead-letter age."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template

from dbpatterns.common.alarms import MetricRule, alarm_on_function, alarm_on_rules
from dbpatterns.common.function import HandlerFunction, HandlerFunctionProps
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.queue import SecureQueue, SecureQueueProps
from dbpatterns.common.validation import PropValidationError
from tests.support.synth import new_app


def _function(stack: Stack, **overrides: Any) -> HandlerFunction:
    return HandlerFunction(
        stack,
        "Fn",
        HandlerFunctionProps(
            handler="dbpatterns.handlers.ledger.sink.handler",
            profile=DeploymentProfile.SANDBOX,
            description="test",
            service_name="ledger-sink",
            **overrides,
        ),
    )


def test_powertools_metric_is_namespaced_and_dimensioned_like_the_handler_publishes_it() -> None:
    function = _function(Stack(new_app(), "Metrics"), metrics_namespace="DbPatterns/Test")
    metric = function.metric_powertools("EventStoreGaps")
    assert (metric.namespace, metric.metric_name, metric.statistic) == (
        "DbPatterns/Test",
        "EventStoreGaps",
        "Sum",
    )
    assert metric.dimensions == {"service": "ledger-sink"}
    assert metric.period.to_seconds() == 300


def test_powertools_metric_takes_metric_options() -> None:
    function = _function(Stack(new_app(), "Options"))
    metric = function.metric_powertools(
        "ProjectionVersionsFilled",
        cloudwatch.MetricOptions(
            period=Duration.minutes(1), statistic="Maximum", dimensions_map={"extra": "x"}
        ),
    )
    assert metric.namespace == "DbPatterns"  # HandlerFunction's default, as POWERTOOLS_METRICS_NAMESPACE
    assert (metric.statistic, metric.period.to_seconds()) == ("Maximum", 60)
    assert metric.dimensions == {"service": "ledger-sink", "extra": "x"}


def test_rules_and_function_alarms_notify_the_topic() -> None:
    stack = Stack(new_app(), "Rules")
    function = _function(stack)
    topic = sns.Topic(stack, "Topic")
    rules = (
        MetricRule(metric_name="EventStoreGaps", meaning="a hole", period=Duration.minutes(1)),
        MetricRule(
            metric_name="ProjectionGapRepaired",
            meaning="sustained",
            threshold=10,
            evaluation_periods=5,
            datapoints_to_alarm=3,
        ),
    )
    alarms = [
        *alarm_on_function(stack, function, alarm_topic=topic),
        *alarm_on_rules(stack, function, rules, alarm_topic=topic),
    ]
    assert [a.node.id for a in alarms] == ["Errors", "Throttles", "EventStoreGaps", "ProjectionGapRepaired"]
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "ProjectionGapRepaired",
            "Namespace": "DbPatterns",
            "Dimensions": [{"Name": "service", "Value": "ledger-sink"}],
            "Statistic": "Sum",
            "Period": 300,
            "Threshold": 10,
            "EvaluationPeriods": 5,
            "DatapointsToAlarm": 3,
            "AlarmDescription": "ledger-sink ProjectionGapRepaired: sustained",
        },
    )
    for alarm in template.find_resources("AWS::CloudWatch::Alarm").values():
        assert len(alarm["Properties"]["AlarmActions"]) == len(alarm["Properties"]["OKActions"]) == 1


def _queue(stack: Stack, **overrides: Any) -> SecureQueue:
    key = kms.Key(stack, "Key")
    return SecureQueue(stack, "Queue", SecureQueueProps(encryption_key=key, **overrides))


def test_queue_alarms_when_a_dead_letter_waits_too_long() -> None:
    stack = Stack(new_app(), "Dlq")
    queue = _queue(stack, dead_letter_max_age=Duration.days(2))
    assert queue.alarms == [queue.dlq_alarm, queue.age_alarm, queue.dlq_age_alarm]
    dead_letters = stack.get_logical_id(queue.dead_letter_queue.node.default_child)  # type: ignore[arg-type]
    Template.from_stack(stack).has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "ApproximateAgeOfOldestMessage",
            "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [dead_letters, "QueueName"]}}],
            "Threshold": 2 * 24 * 3600,
        },
    )


def test_rejects_a_dead_letter_age_sqs_would_never_reach() -> None:
    stack = Stack(new_app(), "Late")
    key = kms.Key(stack, "Key")
    with pytest.raises(
        PropValidationError, match=r"dead_letter_max_age \(seconds\)=1209600; allowed: 60 to 1123200"
    ):
        SecureQueue(
            stack, "Queue", SecureQueueProps(encryption_key=key, dead_letter_max_age=Duration.days(14))
        )
    assert [child.node.id for child in stack.node.children] == ["Key"]
