"""AWS Backup building blocks: vault, plan with cross-region copy, per-stack selections."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_backup as backup
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_rds as rds
from aws_cdk.assertions import Match, Template

from dbpatterns.backup import (
    DatabaseBackupPlan,
    DatabaseBackupPlanProps,
    DatabaseBackupSelection,
    DatabaseBackupSelectionProps,
    EncryptedBackupVault,
    EncryptedBackupVaultProps,
    databases_in,
)
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.validation import PropValidationError
from stacks.config import AppConfig
from tests.support.synth import new_app

DR_VAULT_ARN = "arn:aws:backup:eu-west-1:123456789012:backup-vault:dbpatterns-dr"


def plan_in(stack: Stack, profile: DeploymentProfile, **overrides: Any) -> DatabaseBackupPlan:
    vault = EncryptedBackupVault(stack, "Vault", EncryptedBackupVaultProps(profile=profile))
    return DatabaseBackupPlan(
        stack,
        "Plan",
        DatabaseBackupPlanProps(
            profile=profile,
            vault=vault.vault,
            copy_vault=backup.BackupVault.from_backup_vault_arn(stack, "DrVault", DR_VAULT_ARN),
            **overrides,
        ),
    )


@pytest.fixture(scope="module", params=list(DeploymentProfile), ids=lambda p: p.value)
def template(request: pytest.FixtureRequest) -> Template:
    stack = Stack(new_app(), "Backup", env=AppConfig().env())
    plan_in(stack, request.param)
    return Template.from_stack(stack)


def test_vault_is_encrypted_with_a_customer_managed_key_and_retained(template: Template) -> None:
    template.has_resource(
        "AWS::Backup::BackupVault",
        {
            "Properties": {"EncryptionKeyArn": {"Fn::GetAtt": [Match.string_like_regexp("VaultKey"), "Arn"]}},
            "DeletionPolicy": "Retain",
        },
    )


def test_production_vault_is_locked_and_denies_deleting_recovery_points() -> None:
    stack = Stack(new_app(), "Prod", env=AppConfig().env())
    plan_in(stack, DeploymentProfile.PRODUCTION)
    Template.from_stack(stack).has_resource_properties(
        "AWS::Backup::BackupVault",
        {
            "LockConfiguration": {"MinRetentionDays": 7, "MaxRetentionDays": 400, "ChangeableForDays": 3},
            "AccessPolicy": Match.object_like(
                {
                    "Statement": [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Action": [
                                    "backup:DeleteRecoveryPoint",
                                    "backup:UpdateRecoveryPointLifecycle",
                                ],
                            }
                        )
                    ]
                }
            ),
        },
    )


def test_sandbox_vault_has_no_lock() -> None:
    stack = Stack(new_app(), "Sandbox", env=AppConfig().env())
    plan_in(stack, DeploymentProfile.SANDBOX)
    vault = next(iter(Template.from_stack(stack).find_resources("AWS::Backup::BackupVault").values()))
    assert "LockConfiguration" not in vault["Properties"]


@pytest.mark.parametrize(
    ("profile", "daily", "monthly"),
    [(DeploymentProfile.PRODUCTION, 35, 365), (DeploymentProfile.SANDBOX, 7, 30)],
)
def test_daily_and_monthly_rules_are_copied_to_the_dr_vault_with_the_same_retention(
    profile: DeploymentProfile, daily: int, monthly: int
) -> None:
    stack = Stack(new_app(), "Rules", env=AppConfig().env())
    plan_in(stack, profile)
    Template.from_stack(stack).has_resource_properties(
        "AWS::Backup::BackupPlan",
        {
            "BackupPlan": {
                "BackupPlanRule": [
                    Match.object_like(
                        {
                            "RuleName": "Daily",
                            "ScheduleExpression": "cron(0 5 * * ? *)",
                            "Lifecycle": {"DeleteAfterDays": daily},
                            "CopyActions": [
                                {
                                    "DestinationBackupVaultArn": DR_VAULT_ARN,
                                    "Lifecycle": {"DeleteAfterDays": daily},
                                }
                            ],
                        }
                    ),
                    Match.object_like(
                        {
                            "RuleName": "Monthly",
                            "ScheduleExpression": "cron(0 6 1 * ? *)",
                            "Lifecycle": {"DeleteAfterDays": monthly},
                            "CopyActions": [
                                {
                                    "DestinationBackupVaultArn": DR_VAULT_ARN,
                                    "Lifecycle": {"DeleteAfterDays": monthly},
                                }
                            ],
                        }
                    ),
                ]
            }
        },
    )


def databases_stack() -> tuple[Stack, dict[str, Any]]:
    stack = Stack(new_app(), "Databases", env=AppConfig().env())
    made: dict[str, Any] = {}
    made["standalone"] = rds.CfnDBInstance(
        stack, "Standalone", db_instance_class="db.t4g.micro", engine="postgres"
    )
    made["replica"] = rds.CfnDBInstance(
        stack,
        "Replica",
        db_instance_class="db.t4g.micro",
        source_db_instance_identifier=made["standalone"].ref,
    )
    made["cluster"] = rds.CfnDBCluster(
        stack, "Cluster", engine="aurora-postgresql", master_username="admin_user"
    )
    made["member"] = rds.CfnDBInstance(
        stack,
        "Member",
        db_instance_class="db.r7g.large",
        engine="aurora-postgresql",
        db_cluster_identifier=made["cluster"].ref,
    )
    made["secondary"] = rds.CfnDBCluster(
        stack, "Secondary", engine="aurora-postgresql", global_cluster_identifier="g"
    )
    made["table"] = dynamodb.TableV2(
        stack, "Table", partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING)
    ).node.default_child
    return stack, made


def test_selection_lists_standalone_instances_clusters_and_tables_only() -> None:
    stack, made = databases_stack()
    covered = {node.node.path for node, _ in databases_in(stack)}
    assert covered == {made[name].node.path for name in ("standalone", "cluster", "table")}


def test_selection_names_each_database_by_arn_with_the_plans_role() -> None:
    stack, _ = databases_stack()
    plan = plan_in(stack, DeploymentProfile.SANDBOX)
    DatabaseBackupSelection(stack, "Backup", DatabaseBackupSelectionProps(plan=plan.plan, role=plan.role))
    template = Template.from_stack(stack)
    selection = next(iter(template.find_resources("AWS::Backup::BackupSelection").values()))
    text = str(selection["Properties"]["BackupSelection"]["Resources"])
    for logical in ("Standalone", "Cluster", "Table"):
        assert logical in text
    for absent in ("Replica", "Member", "Secondary"):
        assert absent not in text
    assert "Plan" in str(selection["Properties"]["BackupSelection"]["IamRoleArn"])


def test_rejects_a_selection_in_a_stack_without_databases() -> None:
    stack = Stack(new_app(), "Empty", env=AppConfig().env())
    plan = plan_in(stack, DeploymentProfile.SANDBOX)
    children = len(stack.node.children)
    with pytest.raises(
        PropValidationError, match=r"^DatabaseBackupSelection 'Empty/Backup': invalid scope='Empty'"
    ):
        DatabaseBackupSelection(stack, "Backup", DatabaseBackupSelectionProps(plan=plan.plan, role=plan.role))
    assert len(stack.node.children) == children


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"daily_retention": Duration.hours(12)}, r"daily_retention \(days\)=0.5; allowed: whole days"),
        ({"monthly_retention": 30}, r"monthly_retention=30; allowed: a Duration"),
    ],
)
def test_rejects_invalid_retention(overrides: dict[str, Any], match: str) -> None:
    stack = Stack(new_app(), "Bad", env=AppConfig().env())
    with pytest.raises(PropValidationError, match=rf"^DatabaseBackupPlan 'Bad/Plan': invalid {match}"):
        plan_in(stack, DeploymentProfile.SANDBOX, **overrides)


def test_rejects_a_lock_grace_period_shorter_than_three_days() -> None:
    stack = Stack(new_app(), "Lock", env=AppConfig().env())
    with pytest.raises(
        PropValidationError, match=r"lock_changeable_for \(days\)=1; allowed: at least 3 days"
    ):
        EncryptedBackupVault(
            stack,
            "Vault",
            EncryptedBackupVaultProps(
                profile=DeploymentProfile.PRODUCTION, lock_changeable_for=Duration.days(1)
            ),
        )
    assert stack.node.children == []
