"""A fast clone of an Aurora cluster (copy-on-write) for staging and test copies."""

from __future__ import annotations

from dataclasses import dataclass

import jsii
from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_rds as rds
from constructs import Construct

from dbpatterns.aurora.cluster import AuroraCluster, check_serverless_v2_capacity
from dbpatterns.common.durations import whole
from dbpatterns.common.nag import acknowledge, acknowledge_framework_rule
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.validation import check_instance, check_required, construct_label
from dbpatterns.rds.monitoring import interval_seconds, retain_cluster_logs
from dbpatterns.rds.shared import (
    acknowledge_default_port,
    acknowledge_no_deletion_protection,
    check_backup_retention,
)

#: Performance Insights retention included at no charge, in days.
FREE_INSIGHTS_RETENTION_DAYS = 7
#: A clone is a disposable copy: one day of automated backups.
DEFAULT_CLONE_BACKUP_RETENTION = Duration.days(1)


@dataclass(frozen=True, kw_only=True)
class AuroraCloneProps:
    """Props of :class:`AuroraClone`."""

    source: AuroraCluster
    """The cluster to clone, in the same region and account."""
    profile: DeploymentProfile | None = None
    """Sandbox or production: deletion protection and removal follow it - the source's profile by default."""
    serverless_v2_min_capacity: float = 0.5
    """Serverless v2 minimum ACU of the clone's single instance - 0.5 by default."""
    serverless_v2_max_capacity: float = 4.0
    """Serverless v2 maximum ACU of the clone's single instance - 4 by default (a test copy)."""
    backup_retention: Duration = DEFAULT_CLONE_BACKUP_RETENTION
    """Automated backups of the clone, 1-35 whole days - 1 day by default (a disposable copy)."""
    deletion_protection: bool | None = None
    """Deletion protection - on in production, off in a sandbox by default."""


@jsii.implements(ec2.IConnectable)
class AuroraClone(Construct):
    """A copy-on-write clone of ``source`` as of its latest restorable time, with one Serverless v2 instance.

    The clone shares the source's storage pages until either side changes them, so it is created in
    minutes and costs only for changed pages. It reuses the source's key, subnet group, security group
    and TLS parameter group, and the source's master credentials (clones inherit them). Exposes
    ``cluster`` (L1), ``instance``, ``endpoint`` (hostname) and ``connections`` (the source's security
    group: a peer admitted to one is admitted to both).
    """

    def __init__(self, scope: Construct, construct_id: str, props: AuroraCloneProps) -> None:
        label = construct_label(type(self), scope, construct_id)
        source = props.source
        check_required(label, "source", source)
        check_instance(label, "source", source, AuroraCluster)
        check_instance(label, "profile", props.profile, DeploymentProfile, optional=True)
        check_instance(label, "deletion_protection", props.deletion_protection, bool, optional=True)
        check_serverless_v2_capacity(
            label, source.engine, props.serverless_v2_min_capacity, props.serverless_v2_max_capacity
        )
        check_backup_retention(label, props.backup_retention)
        super().__init__(scope, construct_id)
        profile = props.profile or source.profile
        deletion_protection = profile.pick(props.deletion_protection, production=True, sandbox=False)

        self.cluster = rds.CfnDBCluster(
            self,
            "Resource",
            engine=source.engine.engine_type,
            restore_type="copy-on-write",
            source_db_cluster_identifier=source.cluster.cluster_identifier,
            use_latest_restorable_time=True,
            storage_encrypted=True,
            kms_key_id=source.encryption_key.key_arn,
            db_subnet_group_name=source.subnet_group.subnet_group_name,
            vpc_security_group_ids=[source.security_group.security_group_id],
            db_cluster_parameter_group_name=source.parameter_group.bind_to_cluster().parameter_group_name,
            enable_iam_database_authentication=True,
            backtrack_window=whole(source.backtrack_window, "seconds") if source.backtrack_window else None,
            backup_retention_period=whole(props.backup_retention, "days"),
            preferred_backup_window=source.preferred_backup_window,
            preferred_maintenance_window=source.preferred_maintenance_window,
            copy_tags_to_snapshot=True,
            deletion_protection=deletion_protection,
            enable_cloudwatch_logs_exports=list(source.family.log_exports),
            serverless_v2_scaling_configuration=rds.CfnDBCluster.ServerlessV2ScalingConfigurationProperty(
                min_capacity=props.serverless_v2_min_capacity,
                max_capacity=props.serverless_v2_max_capacity,
            ),
        )
        self.cluster.apply_removal_policy(profile.snapshot_removal_policy)
        # Clone only once the source's instances are up (the source has a restorable time by then).
        self.cluster.node.add_dependency(source.cluster)
        acknowledge_default_port(self.cluster)
        acknowledge(
            self.cluster,
            "CloudFormation-Validate::W3689",
            "StorageEncrypted is set for cdk-nag AwsSolutions-RDS2 and to state the intent; CloudFormation "
            "ignores it next to SourceDBClusterIdentifier because a clone inherits the encrypted source's "
            "storage encryption, with the KmsKeyId given here.",
        )
        if not deletion_protection:
            acknowledge_no_deletion_protection(self.cluster)

        self.instance = rds.CfnDBInstance(
            self,
            "Writer",
            db_cluster_identifier=self.cluster.ref,
            engine=source.engine.engine_type,
            db_instance_class="db.serverless",
            publicly_accessible=False,
            auto_minor_version_upgrade=True,
            ca_certificate_identifier=rds.CaCertificate.RDS_CA_RSA2048_G1.to_string(),
            monitoring_interval=interval_seconds(source.monitoring_interval),
            monitoring_role_arn=source.monitoring_role.role_arn if source.monitoring_role else None,
            enable_performance_insights=True,
            performance_insights_kms_key_id=source.encryption_key.key_arn,
            performance_insights_retention_period=FREE_INSIGHTS_RETENTION_DAYS,
        )
        self.instance.apply_removal_policy(RemovalPolicy.DESTROY)  # the cluster holds the data
        acknowledge_framework_rule(
            self.instance,
            "RDSInBackupPlan",
            "The writer of a copy-on-write staging clone: AWS Backup backs up Aurora by cluster, never "
            "by instance, and a lost staging clone is cloned again from the backed-up source.",
        )
        retain_cluster_logs(self, self.cluster.ref, source.family, profile.log_retention)
        self.endpoint = self.cluster.attr_endpoint_address
        self._connections = ec2.Connections(
            security_groups=[source.security_group], default_port=source.connections.default_port
        )

    @property
    def connections(self) -> ec2.Connections:
        """Network access to the clone (the source's security group and port)."""
        return self._connections
