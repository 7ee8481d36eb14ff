"""One backup selection per stack, listing that stack's databases by ARN."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_backup as backup
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_rds as rds
from constructs import Construct, IConstruct

from dbpatterns.common.validation import check_required, construct_label, require


def databases_in(scope: IConstruct) -> list[tuple[IConstruct, str]]:
    """The databases under ``scope`` that AWS Backup can back up, with their ARNs.

    RDS instances that stand alone (not an Aurora cluster member, whose cluster is backed up instead,
    and not a read replica, which AWS Backup does not snapshot), Aurora/RDS clusters, and DynamoDB
    tables (``TableV2`` renders ``AWS::DynamoDB::GlobalTable``; a plain ``Table`` too).
    """
    stack = Stack.of(scope)
    found: list[tuple[IConstruct, str]] = []
    for node in scope.node.find_all():
        if isinstance(node, rds.CfnDBInstance):
            if node.db_cluster_identifier is None and node.source_db_instance_identifier is None:
                arn = stack.format_arn(
                    service="rds",
                    resource="db",
                    resource_name=node.ref,
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                )
                found.append((node, arn))
        elif isinstance(node, rds.CfnDBCluster):
            # A global database's secondary cluster is copied from the primary; back up the primary.
            if node.source_db_cluster_identifier is None and not _is_global_secondary(node):
                arn = stack.format_arn(
                    service="rds",
                    resource="cluster",
                    resource_name=node.ref,
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                )
                found.append((node, arn))
        elif isinstance(node, dynamodb.CfnGlobalTable | dynamodb.CfnTable):
            found.append((node, node.attr_arn))
    return found


def _is_global_secondary(cluster: rds.CfnDBCluster) -> bool:
    return cluster.global_cluster_identifier is not None and cluster.master_username is None


@dataclass(frozen=True, kw_only=True)
class DatabaseBackupSelectionProps:
    """Props of :class:`DatabaseBackupSelection`."""

    #: The plan (of this region) whose rules apply.
    plan: backup.IBackupPlan
    #: The role AWS Backup uses (the plan's ``role``).
    role: iam.IRole


class DatabaseBackupSelection(Construct):
    """Puts every database of the enclosing stack into ``plan``, listed by ARN.

    Add it last in a stack, after the databases: it lists what exists when it is constructed, and
    refuses a stack with no database. Listing resources (rather than selecting by tag) keeps the
    coverage visible in the template and lets tests and cdk-nag's backup-plan rules verify it.
    Exposes ``selection`` and ``databases`` (the constructs it covers).
    """

    def __init__(self, scope: Construct, construct_id: str, props: DatabaseBackupSelectionProps) -> None:
        name = construct_label(type(self), scope, construct_id)
        check_required(name, "plan", props.plan)
        check_required(name, "role", props.role)
        found = databases_in(Stack.of(scope))
        require(
            bool(found),
            name,
            "scope",
            Stack.of(scope).node.path,
            "allowed: a stack with at least one RDS instance, Aurora cluster or DynamoDB table",
        )
        super().__init__(scope, construct_id)
        self.databases = [node for node, _ in found]
        self.selection = backup.BackupSelection(
            self,
            "Resource",
            backup_plan=props.plan,
            role=props.role,
            resources=[backup.BackupResource.from_arn(arn) for _, arn in found],
        )
