"""CloudWatch alarms with the settings we use everywhere."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_sns as sns
from constructs import Construct

from dbpatterns.common.function import HandlerFunction


def alarm_on_metric(
    scope: Construct,
    construct_id: str,
    *,
    metric: cloudwatch.IMetric,
    threshold: float,
    description: str,
    comparison: cloudwatch.ComparisonOperator = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluation_periods: int = 1,
    datapoints_to_alarm: int | None = None,
    alarm_topic: sns.ITopic | None = None,
) -> cloudwatch.Alarm:
    """An alarm on ``metric`` that treats missing data as not breaching.

    Missing data is normal for these metrics (an idle queue or stream publishes nothing), so it
    must not raise or clear an alarm by itself.

    :param alarm_topic: an SNS topic notified when the alarm fires and recovers - none by default.
    """
    alarm = cloudwatch.Alarm(
        scope,
        construct_id,
        metric=metric,
        threshold=threshold,
        comparison_operator=comparison,
        evaluation_periods=evaluation_periods,
        datapoints_to_alarm=datapoints_to_alarm,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        alarm_description=description,
    )
    if alarm_topic is not None:
        action = cw_actions.SnsAction(alarm_topic)
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)
    return alarm


@dataclass(frozen=True, kw_only=True)
class MetricRule:
    """When one of a handler's own (Powertools) count metrics should raise an alarm.

    The alarm fires when the metric's sum over ``period`` is above ``threshold`` in
    ``datapoints_to_alarm`` of the last ``evaluation_periods`` periods (all of them by default).
    """

    #: Metric name exactly as the handler publishes it (also the alarm's construct ID).
    metric_name: str
    #: What it means when the alarm fires, and where to look: the alarm's description.
    meaning: str
    #: The sum per period must be above this - 0 (any occurrence) by default.
    threshold: float = 0
    #: Period summed - 5 minutes by default.
    period: Duration = field(default_factory=lambda: Duration.minutes(5))
    #: Periods looked at - 1 by default.
    evaluation_periods: int = 1
    #: Breaching periods among them that fire the alarm - all of them by default.
    datapoints_to_alarm: int | None = None


def alarm_on_rules(
    scope: Construct,
    function: HandlerFunction,
    rules: Sequence[MetricRule],
    *,
    alarm_topic: sns.ITopic | None,
) -> list[cloudwatch.Alarm]:
    """One alarm per rule on ``function``'s own metrics, each with ID ``rule.metric_name`` in ``scope``."""
    return [
        alarm_on_metric(
            scope,
            rule.metric_name,
            metric=function.metric_powertools(rule.metric_name, cloudwatch.MetricOptions(period=rule.period)),
            threshold=rule.threshold,
            evaluation_periods=rule.evaluation_periods,
            datapoints_to_alarm=rule.datapoints_to_alarm,
            description=f"{function.service_name} {rule.metric_name}: {rule.meaning}",
            alarm_topic=alarm_topic,
        )
        for rule in rules
    ]


def alarm_on_function(
    scope: Construct, function: HandlerFunction, *, alarm_topic: sns.ITopic | None
) -> list[cloudwatch.Alarm]:
    """``Errors`` and ``Throttles`` alarms of a Lambda function (any in 5 minutes), IDs ``Errors`` and
    ``Throttles`` in ``scope`` (give each function a scope of its own)."""
    five_minutes = cloudwatch.MetricOptions(period=Duration.minutes(5), statistic=cloudwatch.Stats.SUM)
    return [
        alarm_on_metric(
            scope,
            "Errors",
            metric=function.metric_errors(five_minutes),
            threshold=0,
            description=f"{function.service_name}: invocations failed (an unhandled error or a timeout).",
            alarm_topic=alarm_topic,
        ),
        alarm_on_metric(
            scope,
            "Throttles",
            metric=function.metric_throttles(five_minutes),
            threshold=0,
            description=f"{function.service_name}: invocations were throttled (concurrency exhausted).",
            alarm_topic=alarm_topic,
        ),
    ]
