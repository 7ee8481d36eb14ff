"""CloudWatch alarms with the settings we use everywhere."""

from __future__ import annotations

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_sns as sns
from constructs import Construct


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
