"""A read replica of an :class:`~dbpatterns.rds.instance.RdsInstance`, in its region or another one."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_rds as rds
from constructs import Construct

from dbpatterns.common.nag import acknowledge
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.validation import PropValidationError, check_one_of, require
from dbpatterns.rds.engines import ORACLE_NETWORK_ENCRYPTION, EngineFamily
from dbpatterns.rds.instance import (
    RdsInstance,
    acknowledge_default_port,
    acknowledge_no_deletion_protection,
    check_backup_retention,
    engine_parameter_group,
)
from dbpatterns.rds.monitoring import (
    MONITORING_INTERVALS,
    acknowledge_log_retention_provider,
    enhanced_monitoring_role,
    insights_retention,
    supports_insights,
)


@dataclass(frozen=True, kw_only=True)
class RdsReadReplicaProps:
    """Props of :class:`RdsReadReplica`."""

    #: The instance to replicate (asynchronously). It may live in another region's stack.
    source: RdsInstance
    #: Sandbox or production: deletion protection and removal follow it.
    profile: DeploymentProfile
    #: VPC of the replica, in the replica's region.
    vpc: ec2.IVpc
    #: Subnets in ``vpc`` - the private isolated subnets by default.
    vpc_subnets: ec2.SubnetSelection | None = None
    #: KMS key for the replica's storage. Required, and in the replica's region, when the replica is in
    #: another region (a KMS key never leaves its region); the source's key by default otherwise.
    encryption_key: kms.IKey | None = None
    #: Instance class - the source's by default.
    instance_type: ec2.InstanceType | None = None
    #: Multi-AZ standby for the replica itself - off by default (a replica is already a copy).
    multi_az: bool = False
    #: Automated backups of the replica (1-35 days), MySQL and MariaDB only - the source's retention for
    #: MySQL/MariaDB, none for the other engines by default.
    backup_retention_days: int | None = None
    #: Deletion protection - on in production, off in a sandbox by default.
    deletion_protection: bool | None = None
    #: Enhanced monitoring interval in seconds (0, 1, 5, 10, 15, 30, 60) - 60 by default.
    monitoring_interval_seconds: int = 60


class RdsReadReplica(Construct):
    """An encrypted, TLS-only read replica with its own security group and parameter group.

    A replica in another region is a disaster-recovery copy that can be promoted; put it in a stack
    of that region and give it a key of that region. Exposes ``instance``, ``security_group``,
    ``parameter_group``, ``encryption_key`` and ``connections``; ``grant_connect`` and ``metric_*``.
    """

    def __init__(self, scope: Construct, construct_id: str, props: RdsReadReplicaProps) -> None:
        cross_region = _validate(scope, props)
        super().__init__(scope, construct_id)
        source = props.source
        family = source.family
        self.source = source
        self.cross_region = cross_region
        self.iam_authentication = source.iam_authentication
        self.encryption_key: kms.IKey = props.encryption_key or source.encryption_key
        instance_type = props.instance_type or source.instance_type
        insights = supports_insights(instance_type)

        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=props.vpc,
            description=f"RDS read replica {self.node.path}: only granted peers may connect",
            allow_all_outbound=False,
        )
        # A parameter group is regional: every replica gets its own, with the same TLS rule.
        self.parameter_group = engine_parameter_group(self, "Parameters", source.engine, {})
        option_group = (
            rds.OptionGroup(self, "Options", engine=source.engine, configurations=[ORACLE_NETWORK_ENCRYPTION])
            if family is EngineFamily.ORACLE
            else None
        )
        monitoring_role: iam.IRole | None = None
        if props.monitoring_interval_seconds:
            # IAM is global, but a role of this stack keeps a cross-region replica stack self-contained.
            same_region_role = None if cross_region else source.monitoring_role
            monitoring_role = same_region_role or enhanced_monitoring_role(self, "MonitoringRole")
        deletion_protection = (
            props.profile.deletion_protection
            if props.deletion_protection is None
            else props.deletion_protection
        )
        backup_days = props.backup_retention_days
        if backup_days is None and family.supports_replica_backups:
            backup_days = source.backup_retention_days

        self.instance = rds.DatabaseInstanceReadReplica(
            self,
            "Resource",
            source_database_instance=source.instance,
            instance_type=instance_type,
            vpc=props.vpc,
            vpc_subnets=props.vpc_subnets or ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
            security_groups=[self.security_group],
            publicly_accessible=False,
            multi_az=props.multi_az,
            storage_encryption_key=self.encryption_key,
            storage_type=props.source.storage_type,
            max_allocated_storage=props.source.max_allocated_storage_gib,
            parameter_group=self.parameter_group,
            option_group=option_group,
            ca_certificate=rds.CaCertificate.RDS_CA_RSA2048_G1,
            iam_authentication=self.iam_authentication or None,
            backup_retention=Duration.days(backup_days) if backup_days else None,
            copy_tags_to_snapshot=True,
            deletion_protection=deletion_protection,
            removal_policy=props.profile.snapshot_removal_policy,
            auto_minor_version_upgrade=True,
            cloudwatch_logs_exports=list(family.log_exports),
            cloudwatch_logs_retention=props.profile.log_retention,
            monitoring_interval=Duration.seconds(props.monitoring_interval_seconds)
            if props.monitoring_interval_seconds
            else None,
            monitoring_role=monitoring_role,
            enable_performance_insights=insights,
            database_insights_mode=rds.DatabaseInsightsMode.STANDARD if insights else None,
            performance_insight_retention=insights_retention(rds.DatabaseInsightsMode.STANDARD)
            if insights
            else None,
            performance_insight_encryption_key=self.encryption_key if insights else None,
        )
        # A replica's encryption follows its source and the key above (KmsKeyId); CloudFormation
        # refuses StorageEncrypted next to SourceDBInstanceIdentifier, which the L2 sets with a key.
        self.instance.node.default_child.add_property_deletion_override("StorageEncrypted")  # type: ignore[union-attr]
        self.connections = self.instance.connections
        acknowledge_default_port(self.instance)
        acknowledge_log_retention_provider(self)
        if not deletion_protection:
            acknowledge_no_deletion_protection(self.instance)
        if not props.multi_az:
            acknowledge(
                self.instance,
                "AwsSolutions-RDS3",
                "A read replica is itself a copy of the Multi-AZ source; if it fails, reads move to the "
                "source or another replica, so a standby of the replica is not worth paying for.",
            )
        if not backup_days:
            acknowledge(
                self.instance,
                "AwsSolutions-RDS13",
                f"{source.engine.engine_type} read replicas cannot have automated backups (MySQL and "
                "MariaDB only); the source instance keeps the backups and point-in-time restore.",
            )
        source._register_replica(self)

    def grant_connect(self, grantee: iam.IGrantable, db_user: str) -> iam.Grant:
        """``rds-db:connect`` as ``db_user`` on the replica (IAM database authentication)."""
        require(
            self.iam_authentication,
            type(self).__name__,
            "iam_authentication",
            self.iam_authentication,
            "grant_connect needs IAM database authentication on the source",
        )
        return self.instance.grant_connect(grantee, db_user)

    def metric_replica_lag(self) -> cloudwatch.Metric:
        """Seconds the replica is behind its source."""
        return self.instance.metric("ReplicaLag", statistic="Maximum")

    def metric_cpu_utilization(self) -> cloudwatch.Metric:
        return self.instance.metric_cpu_utilization()


def _region(construct: Construct) -> str:
    return Stack.of(construct).region


def _validate(scope: Construct, props: RdsReadReplicaProps) -> bool:
    """Check the props; returns whether the replica is in another region than its source."""
    name = RdsReadReplica.__name__
    source = props.source
    if source.read_replica_count >= source.max_read_replicas:
        raise PropValidationError(
            name,
            "source",
            f"{source.node.path} with {source.read_replica_count} replicas already",
            f"allowed: at most {source.max_read_replicas} read replicas per "
            f"{source.engine.engine_type} instance",
        )
    if props.backup_retention_days is not None:
        require(
            source.family.supports_replica_backups,
            name,
            "backup_retention_days",
            props.backup_retention_days,
            f"allowed: None for {source.engine.engine_type} "
            "(replica backups exist for MySQL and MariaDB only)",
        )
        check_backup_retention(name, props.backup_retention_days)
    check_one_of(name, "monitoring_interval_seconds", props.monitoring_interval_seconds, MONITORING_INTERVALS)

    replica_region, source_region = _region(scope), _region(source)
    cross_region = replica_region != source_region
    if cross_region:
        if props.encryption_key is None:
            raise PropValidationError(
                name,
                "encryption_key",
                None,
                f"allowed: a KMS key in the replica's region {replica_region} (the source in {source_region} "
                "is encrypted and KMS keys never leave their region)",
            )
        key_region = props.encryption_key.env.region
        require(
            key_region == replica_region,
            name,
            "encryption_key",
            f"a key in {key_region}",
            f"allowed: a KMS key in the replica's region {replica_region}",
        )
    return cross_region
