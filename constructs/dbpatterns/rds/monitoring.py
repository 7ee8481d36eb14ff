"""Enhanced monitoring and Performance/Database Insights settings shared by RDS and Aurora."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from aws_cdk import Duration, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from constructs import Construct

from dbpatterns.common.durations import check_duration, whole
from dbpatterns.common.nag import acknowledge, acknowledge_framework_rule
from dbpatterns.common.validation import PropValidationError
from dbpatterns.rds.engines import EngineFamily

#: Enhanced monitoring granularities RDS accepts, in seconds (``MonitoringInterval``; no value turns it off).
MONITORING_INTERVAL_SECONDS = (1, 5, 10, 15, 30, 60)
DEFAULT_MONITORING_INTERVAL = Duration.minutes(1)
#: Burstable classes without Performance Insights / Database Insights (RDS and Aurora user guides).
_NO_INSIGHTS_SIZES = frozenset({"micro", "small"})
_NO_INSIGHTS_BURSTABLE = frozenset({"t2", "t3", "t4g"})

ENHANCED_MONITORING_POLICY = "service-role/AmazonRDSEnhancedMonitoringRole"


def check_monitoring_interval(construct: str, value: object, prop: str = "monitoring_interval") -> None:
    """``None`` (enhanced monitoring off) or one of 1, 5, 10, 15, 30, 60 seconds."""
    check_duration(construct, prop, value, unit="seconds", optional=True)
    if value is None or not isinstance(value, Duration) or value.is_unresolved():
        return
    if whole(value, "seconds") not in MONITORING_INTERVAL_SECONDS:
        shown = ", ".join(f"Duration.seconds({s})" for s in MONITORING_INTERVAL_SECONDS)
        raise PropValidationError(
            construct, prop, value.to_string(), f"allowed: {shown}, or None to turn enhanced monitoring off"
        )


def interval_seconds(value: Duration | None) -> int | None:
    """The L1 ``MonitoringInterval``: seconds, or ``None`` when enhanced monitoring is off."""
    return None if value is None else whole(value, "seconds")


def supports_insights(instance_type: ec2.InstanceType) -> bool:
    """Whether Performance Insights / Database Insights run on ``instance_type``.

    They do not on db.t2/t3/t4g micro and small (the sandbox's smallest classes).
    """
    family, _, size = instance_type.to_string().partition(".")
    return not (family in _NO_INSIGHTS_BURSTABLE and size in _NO_INSIGHTS_SIZES)


def insights_retention(mode: rds.DatabaseInsightsMode) -> rds.PerformanceInsightRetention:
    """Advanced Database Insights needs 15 months of Performance Insights data; standard keeps 7 days free."""
    if mode == rds.DatabaseInsightsMode.ADVANCED:
        return rds.PerformanceInsightRetention.MONTHS_15
    return rds.PerformanceInsightRetention.DEFAULT


def enhanced_monitoring_role(scope: Construct, construct_id: str) -> iam.Role:
    """The role the RDS enhanced-monitoring agent uses to write OS metrics to CloudWatch Logs."""
    role = iam.Role(
        scope,
        construct_id,
        assumed_by=iam.ServicePrincipal("monitoring.rds.amazonaws.com"),
        description="RDS enhanced monitoring: writes OS metrics to the RDSOSMetrics log group",
        managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(ENHANCED_MONITORING_POLICY)],
    )
    acknowledge(
        role,
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole]",
        "The AWS-maintained enhanced monitoring policy only allows writing to the RDS* log groups; "
        "AWS updates it when the monitoring agent changes, which an inline copy would miss.",
    )
    return role


#: ID of aws-cdk-lib's per-stack singleton function behind ``cloudwatch_logs_retention``
#: (aws-logs LogRetention).
LOG_RETENTION_PROVIDER_ID = "LogRetentionaae0aa3c5b4d4f87b02d85b201efdd8a"


def acknowledge_log_retention_provider(scope: Construct) -> None:
    """Acknowledge the two findings on CDK's log-retention function (repeating it is harmless).

    RDS creates its log groups (``/aws/rds/...``) itself when it starts exporting, so their retention
    can only be set afterwards; aws-cdk-lib does that with this custom resource.
    """
    provider = Stack.of(scope).node.try_find_child(LOG_RETENTION_PROVIDER_ID)
    if provider is None:
        return
    acknowledge(
        provider,
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
        "aws-cdk-lib's log-retention function (a CDK-internal singleton that runs only during "
        "deployments) writes its own logs with the basic execution policy.",
    )
    acknowledge(
        provider,
        "AwsSolutions-IAM5[Resource::*]",
        "logs:PutRetentionPolicy/DeleteRetentionPolicy on any log group: the RDS log group names are "
        "known only after RDS creates them at deploy time; the function can change retention, not read logs.",
    )
    role = provider.node.try_find_child("ServiceRole")
    policy = role.node.try_find_child("DefaultPolicy") if role is not None else None
    acknowledge_framework_rule(
        policy or provider,
        "IAMNoInlinePolicy",
        "aws-cdk-lib's log-retention singleton writes its grants to its role's inline DefaultPolicy and "
        "offers no hook for a managed one; it only sets the retention of RDS's exported log groups.",
    )


#: Construct IDs of the log-retention settings, by exported log (literal IDs, no string building).
_LOG_RETENTION_IDS: Mapping[str, str] = MappingProxyType(
    {
        "audit": "Audit",
        "error": "Error",
        "general": "General",
        "slowquery": "SlowQuery",
        "postgresql": "Postgresql",
    }
)


def retain_cluster_logs(
    scope: Construct, cluster_identifier: str, family: EngineFamily, retention: logs.RetentionDays
) -> None:
    """Retention for the log groups an L1 Aurora cluster exports to (the L2 does this itself)."""
    container = Construct(scope, "LogRetention")
    for log in family.log_exports:
        logs.LogRetention(
            container,
            _LOG_RETENTION_IDS[log],
            log_group_name=f"/aws/rds/cluster/{cluster_identifier}/{log}",
            retention=retention,
        )
    acknowledge_log_retention_provider(scope)
