"""A read replica of an :class:`~dbpatterns.rds.instance.RdsInstance`, in its region or another one.

This module does not import ``rds.instance``: a replica reads what it needs from its source through
:class:`ReplicaSource`, and ``RdsInstance.add_read_replica`` is the factory that creates replicas.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import jsii
from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_rds as rds
from constructs import Construct, Node

from dbpatterns.common.interfaces import check_key, check_subnet_selection, check_vpc
from dbpatterns.common.metrics import metric_kwargs
from dbpatterns.common.nag import acknowledge, acknowledge_framework_rule
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.validation import (
    PropValidationError,
    check_instance,
    check_required,
    construct_label,
    is_unresolved,
    require,
)
from dbpatterns.rds.engines import ORACLE_NETWORK_ENCRYPTION, EngineFamily
from dbpatterns.rds.monitoring import (
    DEFAULT_MONITORING_INTERVAL,
    acknowledge_log_retention_provider,
    check_monitoring_interval,
    enhanced_monitoring_role,
    insights_retention,
    supports_insights,
)
from dbpatterns.rds.shared import (
    acknowledge_default_port,
    acknowledge_no_deletion_protection,
    check_backup_retention,
    check_instance_type,
    engine_parameter_group,
    engine_port_connections,
    isolated_subnets,
)


@runtime_checkable
class ReplicaSource(Protocol):
    """What a read replica reads from its source: an :class:`~dbpatterns.rds.instance.RdsInstance`."""

    @property
    def node(self) -> Node: ...

    @property
    def instance(self) -> rds.DatabaseInstance: ...

    @property
    def engine(self) -> rds.IInstanceEngine: ...

    @property
    def family(self) -> EngineFamily: ...

    @property
    def profile(self) -> DeploymentProfile: ...

    @property
    def encryption_key(self) -> kms.IKey: ...

    @property
    def instance_type(self) -> ec2.InstanceType: ...

    @property
    def storage_type(self) -> rds.StorageType: ...

    @property
    def max_allocated_storage_gib(self) -> int: ...

    @property
    def backup_retention(self) -> Duration: ...

    @property
    def monitoring_role(self) -> iam.IRole | None: ...

    @property
    def iam_authentication(self) -> bool: ...

    @property
    def read_replica_count(self) -> int: ...

    @property
    def max_read_replicas(self) -> int: ...

    def register_replica(self, replica: Construct) -> None: ...


@dataclass(frozen=True, kw_only=True)
class RdsReadReplicaProps:
    """Props of :class:`RdsReadReplica` (``RdsInstance.add_read_replica`` fills ``source`` in)."""

    source: ReplicaSource
    """The instance to replicate (asynchronously): an ``RdsInstance``. It may live in another region's
    stack."""
    vpc: ec2.IVpc
    """VPC of the replica, in the replica's region."""
    profile: DeploymentProfile | None = None
    """Sandbox or production: deletion protection and removal follow it - the source's profile by default."""
    vpc_subnets: ec2.SubnetSelection | None = None
    """Subnets in ``vpc`` - the private isolated subnets by default."""
    encryption_key: kms.IKey | None = None
    """KMS key for the replica's storage. Required, and in the replica's region, when the replica is in
    another region (a KMS key never leaves its region) - the source's key by default otherwise."""
    instance_type: ec2.InstanceType | None = None
    """Instance class - the source's by default."""
    multi_az: bool = False
    """Multi-AZ standby for the replica itself - off by default (a replica is already a copy)."""
    backup_retention: Duration | None = None
    """Automated backups of the replica (1-35 whole days), MySQL and MariaDB only - the source's retention
    for MySQL/MariaDB, none for the other engines by default."""
    deletion_protection: bool | None = None
    """Deletion protection - on in production, off in a sandbox by default."""
    monitoring_interval: Duration | None = DEFAULT_MONITORING_INTERVAL
    """Enhanced monitoring interval (1, 5, 10, 15, 30 or 60 seconds; ``None`` turns it off) - 60 seconds."""


@jsii.implements(ec2.IConnectable)
class RdsReadReplica(Construct):
    """An encrypted, TLS-only read replica with its own security group and parameter group.

    A replica in another region is a disaster-recovery copy that can be promoted; put it in a stack
    of that region and give it a key of that region. Create one with ``RdsInstance.add_read_replica``
    (or directly). Exposes ``instance``, ``security_group``, ``parameter_group``, ``encryption_key``
    and ``connections`` (``ec2.IConnectable``, default port the engine's); ``grant_connect`` (IAM) and
    ``metric_*``.
    """

    def __init__(self, scope: Construct, construct_id: str, props: RdsReadReplicaProps) -> None:
        label = construct_label(type(self), scope, construct_id)
        cross_region = _validate(label, scope, props)
        super().__init__(scope, construct_id)
        source = props.source
        family = source.family
        profile = props.profile or source.profile
        self.source = source
        self.cross_region = cross_region
        self._label = label
        # A replica in another stack names its source by ARN, which CDK does not see as a reference:
        # order the stacks explicitly, so the source is deployed first and destroyed last.
        own_stack, source_stack = Stack.of(self), Stack.of(source.instance)
        if own_stack.node.path != source_stack.node.path:
            own_stack.add_stack_dependency(source_stack, "A read replica needs its source instance")
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
        if props.monitoring_interval is not None:
            # IAM is global, but a role of this stack keeps a cross-region replica stack self-contained.
            same_region_role = None if cross_region else source.monitoring_role
            monitoring_role = same_region_role or enhanced_monitoring_role(self, "MonitoringRole")
        deletion_protection = profile.pick(props.deletion_protection, production=True, sandbox=False)
        backup_retention = props.backup_retention
        if backup_retention is None and family.supports_replica_backups:
            backup_retention = source.backup_retention

        self.instance = rds.DatabaseInstanceReadReplica(
            self,
            "Resource",
            source_database_instance=source.instance,
            instance_type=instance_type,
            vpc=props.vpc,
            vpc_subnets=isolated_subnets(props.vpc_subnets),
            security_groups=[self.security_group],
            publicly_accessible=False,
            multi_az=props.multi_az,
            storage_encryption_key=self.encryption_key,
            storage_type=source.storage_type,
            max_allocated_storage=source.max_allocated_storage_gib,
            parameter_group=self.parameter_group,
            option_group=option_group,
            ca_certificate=rds.CaCertificate.RDS_CA_RSA2048_G1,
            iam_authentication=self.iam_authentication or None,
            backup_retention=backup_retention,
            copy_tags_to_snapshot=True,
            deletion_protection=deletion_protection,
            removal_policy=profile.snapshot_removal_policy,
            auto_minor_version_upgrade=True,
            cloudwatch_logs_exports=list(family.log_exports),
            cloudwatch_logs_retention=profile.log_retention,
            monitoring_interval=props.monitoring_interval,
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
        self._connections = engine_port_connections(self.instance.connections, source.family.default_port)
        acknowledge_default_port(self.instance)
        acknowledge_log_retention_provider(self)
        if not deletion_protection:
            acknowledge_no_deletion_protection(self.instance)
        if not props.multi_az:
            single_az = (
                "A read replica is itself a copy of the Multi-AZ source; if it fails, reads move to the "
                "source or another replica, so a standby of the replica is not worth paying for."
            )
            acknowledge(self.instance, "AwsSolutions-RDS3", single_az)
            acknowledge_framework_rule(self.instance, "RDSMultiAZSupport", single_az)
        acknowledge_framework_rule(
            self.instance,
            "RDSInBackupPlan",
            "A read replica: AWS Backup does not snapshot read replicas, and its data is the source "
            "instance's, which the stack's backup selection and automated backups cover.",
        )
        if backup_retention is None:
            acknowledge(
                self.instance,
                "AwsSolutions-RDS13",
                f"{source.engine.engine_type} read replicas cannot have automated backups (MySQL and "
                "MariaDB only); the source instance keeps the backups and point-in-time restore.",
            )
        source.register_replica(self)

    @property
    def connections(self) -> ec2.Connections:
        """Network access to the replica (its security group, the engine's port)."""
        return self._connections

    def grant_connect(self, grantee: iam.IGrantable, db_user: str) -> iam.Grant:
        """``rds-db:connect`` as ``db_user`` on the replica (IAM database authentication); IAM only."""
        require(
            self.iam_authentication,
            self._label,
            "iam_authentication",
            self.iam_authentication,
            "grant_connect needs IAM database authentication on the source",
        )
        return self.instance.grant_connect(grantee, db_user)

    def metric(self, metric_name: str, props: cloudwatch.MetricOptions | None = None) -> cloudwatch.Metric:
        """Any ``AWS/RDS`` metric of the replica, by its CloudWatch name."""
        return self.instance.metric(metric_name, **metric_kwargs(props))

    def metric_replica_lag(self, props: cloudwatch.MetricOptions | None = None) -> cloudwatch.Metric:
        """``ReplicaLag``: seconds the replica is behind its source (maximum over 5 minutes by default)."""
        return self.instance.metric("ReplicaLag", **metric_kwargs(props, statistic="Maximum"))

    def metric_cpu_utilization(self, props: cloudwatch.MetricOptions | None = None) -> cloudwatch.Metric:
        """``CPUUtilization`` (percent)."""
        return self.instance.metric_cpu_utilization(**metric_kwargs(props))

    def metric_database_connections(self, props: cloudwatch.MetricOptions | None = None) -> cloudwatch.Metric:
        """``DatabaseConnections``."""
        return self.instance.metric_database_connections(**metric_kwargs(props))

    def metric_freeable_memory(self, props: cloudwatch.MetricOptions | None = None) -> cloudwatch.Metric:
        """``FreeableMemory`` (bytes)."""
        return self.instance.metric_freeable_memory(**metric_kwargs(props))


def _region(construct: Construct) -> str:
    return Stack.of(construct).region


def _validate(label: str, scope: Construct, props: RdsReadReplicaProps) -> bool:
    """Check the props; returns whether the replica is in another region than its source."""
    source = props.source
    check_required(label, "source", source)
    check_instance(label, "source", source, ReplicaSource)
    check_required(label, "vpc", props.vpc)
    check_vpc(label, props.vpc)
    check_subnet_selection(label, props.vpc_subnets)
    check_key(label, props.encryption_key)
    check_instance(label, "profile", props.profile, DeploymentProfile, optional=True)
    if props.instance_type is not None:
        check_instance_type(label, props.instance_type)
    check_instance(label, "multi_az", props.multi_az, bool)
    check_instance(label, "deletion_protection", props.deletion_protection, bool, optional=True)
    if source.read_replica_count >= source.max_read_replicas:
        raise PropValidationError(
            label,
            "source",
            f"{source.node.path} with {source.read_replica_count} replicas already",
            f"allowed: at most {source.max_read_replicas} read replicas per "
            f"{source.engine.engine_type} instance",
        )
    if props.backup_retention is not None:
        require(
            source.family.supports_replica_backups,
            label,
            "backup_retention",
            props.backup_retention.to_string()
            if isinstance(props.backup_retention, Duration)
            else props.backup_retention,
            f"allowed: None for {source.engine.engine_type} "
            "(replica backups exist for MySQL and MariaDB only)",
        )
        check_backup_retention(label, props.backup_retention)
    check_monitoring_interval(label, props.monitoring_interval)

    replica_region, source_region = _region(scope), _region(source)  # type: ignore[arg-type]
    if replica_region == source_region:
        return False
    if is_unresolved(replica_region) or is_unresolved(source_region):
        raise PropValidationError(
            label,
            "scope",
            "a stack whose region differs from the source stack's or is not known at synth time",
            "allowed: a stack in the source's environment, or for a cross-region replica two stacks "
            "with concrete regions (env=Environment(account=..., region=...))",
        )
    if props.encryption_key is None:
        raise PropValidationError(
            label,
            "encryption_key",
            None,
            f"allowed: a KMS key in the replica's region {replica_region} (the source in {source_region} "
            "is encrypted and KMS keys never leave their region)",
        )
    key_region = props.encryption_key.env.region
    require(
        is_unresolved(key_region) or key_region == replica_region,
        label,
        "encryption_key",
        f"a key in {key_region}",
        f"allowed: a KMS key in the replica's region {replica_region}",
    )
    return True
