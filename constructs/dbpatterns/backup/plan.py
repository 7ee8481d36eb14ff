"""The app's backup plan: daily and monthly recovery points, copied to a vault in another region."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_backup as backup
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from constructs import Construct

from dbpatterns.common.nag import acknowledge
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.validation import check_instance, check_required, construct_label, require

#: AWS-managed policies AWS Backup documents for its service role (backup and restore).
SERVICE_ROLE_POLICIES = (
    "service-role/AWSBackupServiceRolePolicyForBackup",
    "service-role/AWSBackupServiceRolePolicyForRestores",
)


@dataclass(frozen=True, kw_only=True)
class DatabaseBackupPlanProps:
    """Props of :class:`DatabaseBackupPlan`."""

    #: Sandbox or production: retention follows it.
    profile: DeploymentProfile
    #: Vault of this region that receives the recovery points.
    vault: backup.IBackupVault
    #: Vault in another region that receives a copy of every recovery point (disaster recovery) -
    #: no copy by default.
    copy_vault: backup.IBackupVault | None = None
    #: How long daily recovery points are kept - 35 days in production, 7 in a sandbox.
    daily_retention: Duration | None = None
    #: How long monthly recovery points are kept - 365 days in production, 30 in a sandbox.
    monthly_retention: Duration | None = None


class DatabaseBackupPlan(Construct):
    """A backup plan with a daily rule (05:00 UTC, after the databases' own backup windows) and a
    monthly rule (the 1st, 06:00 UTC), both copied to ``copy_vault`` with the same retention.

    Selections are added per stack with :class:`~dbpatterns.backup.DatabaseBackupSelection` and use
    ``role``, the one service role of the plan. Exposes ``plan`` and ``role``.
    """

    def __init__(self, scope: Construct, construct_id: str, props: DatabaseBackupPlanProps) -> None:
        name = construct_label(type(self), scope, construct_id)
        check_required(name, "profile", props.profile)
        check_required(name, "vault", props.vault)
        check_instance(name, "profile", props.profile, DeploymentProfile)
        daily = props.profile.pick(
            props.daily_retention, production=Duration.days(35), sandbox=Duration.days(7)
        )
        monthly = props.profile.pick(
            props.monthly_retention, production=Duration.days(365), sandbox=Duration.days(30)
        )
        for prop, value in (("daily_retention", daily), ("monthly_retention", monthly)):
            check_instance(name, prop, value, Duration)
            days = value.to_hours() / 24
            require(
                days == int(days) and days >= 1,
                name,
                f"{prop} (days)",
                days,
                "allowed: whole days, at least 1",
            )
        super().__init__(scope, construct_id)

        def copy(delete_after: Duration) -> list[backup.BackupPlanCopyActionProps] | None:
            if props.copy_vault is None:
                return None
            return [
                backup.BackupPlanCopyActionProps(
                    destination_backup_vault=props.copy_vault, delete_after=delete_after
                )
            ]

        self.plan = backup.BackupPlan(
            self,
            "Resource",
            backup_vault=props.vault,
            backup_plan_rules=[
                backup.BackupPlanRule(
                    rule_name="Daily",
                    schedule_expression=events.Schedule.cron(minute="0", hour="5"),
                    start_window=Duration.hours(1),
                    completion_window=Duration.hours(8),
                    delete_after=daily,
                    copy_actions=copy(daily),
                ),
                backup.BackupPlanRule(
                    rule_name="Monthly",
                    schedule_expression=events.Schedule.cron(minute="0", hour="6", day="1"),
                    start_window=Duration.hours(1),
                    completion_window=Duration.hours(12),
                    delete_after=monthly,
                    copy_actions=copy(monthly),
                ),
            ],
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("backup.amazonaws.com"),
            description="AWS Backup's role for the database backup plan (backup and restore)",
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name(p) for p in SERVICE_ROLE_POLICIES
            ],
        )
        for policy in SERVICE_ROLE_POLICIES:
            acknowledge(
                self.role,
                f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/{policy}]",
                "AWS Backup's documented service-role policy: it carries the per-service snapshot and "
                "restore actions AWS Backup needs for RDS, Aurora and DynamoDB, kept current by AWS.",
            )
