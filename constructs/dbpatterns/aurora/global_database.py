"""A secondary-region cluster of an Aurora global database: read-only, no master credentials."""

from __future__ import annotations

from dataclasses import dataclass

import jsii
from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_rds as rds
from constructs import Construct

from dbpatterns.aurora.cluster import MAX_GLOBAL_SECONDARY_REGIONS, MAX_READERS, READER_IDS, AuroraCluster
from dbpatterns.common.durations import whole
from dbpatterns.common.interfaces import check_key, check_subnet_selection, check_vpc
from dbpatterns.common.nag import acknowledge_framework_rule
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.validation import (
    PropValidationError,
    check_instance,
    check_int,
    check_range,
    check_required,
    construct_label,
    is_unresolved,
    require,
)
from dbpatterns.rds.monitoring import (
    enhanced_monitoring_role,
    interval_seconds,
    retain_cluster_logs,
    supports_insights,
)
from dbpatterns.rds.shared import (
    acknowledge_default_port,
    acknowledge_no_deletion_protection,
    engine_parameter_group,
    isolated_subnets,
)

#: Performance Insights retention included at no charge (Database Insights standard mode).
FREE_INSIGHTS_RETENTION_DAYS = 7


@dataclass(frozen=True, kw_only=True)
class AuroraGlobalSecondaryProps:
    """Props of :class:`AuroraGlobalSecondary`."""

    primary: AuroraCluster
    """The global database's primary cluster (an :class:`AuroraCluster` with ``global_database=True``)
    in another region. Engine, version, capacity, backups and windows are copied from it."""
    vpc: ec2.IVpc
    """VPC in this region."""
    encryption_key: kms.IKey
    """KMS key in this region for the secondary's storage (a key cannot leave its region)."""
    profile: DeploymentProfile | None = None
    """Sandbox or production: deletion protection and removal follow it - the primary's profile by default."""
    vpc_subnets: ec2.SubnetSelection | None = None
    """Subnets in ``vpc`` - the private isolated subnets by default."""
    instances: int | None = None
    """Read-only instances in this region (1-15): the first is promoted on a regional failover -
    2 in production, 1 in a sandbox by default."""
    deletion_protection: bool | None = None
    """Deletion protection - on in production, off in a sandbox by default."""


@jsii.implements(ec2.IConnectable)
class AuroraGlobalSecondary(Construct):
    """A read-only Aurora cluster that joins ``primary``'s global database from another region.

    Secondary clusters carry no master user or password (they replicate the primary's) and cannot use
    ``manage_master_user_password``; they get their own key, subnet group, security group, TLS
    parameter group and monitoring. Exposes ``cluster`` (L1), ``instances``, ``security_group``,
    ``encryption_key``, ``reader_endpoint`` (hostname) and ``connections`` (``ec2.IConnectable``).
    """

    def __init__(self, scope: Construct, construct_id: str, props: AuroraGlobalSecondaryProps) -> None:
        label = construct_label(type(self), scope, construct_id)
        region, instance_count = _validate(label, scope, props)
        super().__init__(scope, construct_id)
        primary = props.primary
        profile = props.profile or primary.profile
        family = primary.family
        engine = primary.engine
        global_cluster = primary.global_cluster
        assert global_cluster is not None  # checked by _validate
        deletion_protection = profile.pick(props.deletion_protection, production=True, sandbox=False)
        self.encryption_key = props.encryption_key

        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=props.vpc,
            description=f"Aurora global secondary {self.node.path}: only granted peers may connect",
            allow_all_outbound=False,
        )
        port = ec2.Port.tcp(family.default_port)
        self._connections = ec2.Connections(security_groups=[self.security_group], default_port=port)
        self.subnet_group = rds.SubnetGroup(
            self,
            "Subnets",
            vpc=props.vpc,
            vpc_subnets=isolated_subnets(props.vpc_subnets),
            description=f"Aurora global secondary {self.node.path}: private isolated subnets",
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.parameter_group = engine_parameter_group(self, "Parameters", engine, {})
        cluster_parameters = self.parameter_group.bind_to_cluster()
        version = engine.engine_version.full_version if engine.engine_version else None

        self.cluster = rds.CfnDBCluster(
            self,
            "Resource",
            engine=engine.engine_type,
            engine_version=version,
            # Joins the global database; no MasterUsername/MasterUserPassword: they come from the primary.
            global_cluster_identifier=global_cluster.ref,
            storage_encrypted=True,
            kms_key_id=props.encryption_key.key_arn,
            db_subnet_group_name=self.subnet_group.subnet_group_name,
            vpc_security_group_ids=[self.security_group.security_group_id],
            db_cluster_parameter_group_name=cluster_parameters.parameter_group_name,
            enable_iam_database_authentication=True,
            backup_retention_period=whole(primary.backup_retention, "days"),
            preferred_backup_window=primary.preferred_backup_window,
            preferred_maintenance_window=primary.preferred_maintenance_window,
            copy_tags_to_snapshot=True,
            deletion_protection=deletion_protection,
            enable_cloudwatch_logs_exports=list(family.log_exports),
            serverless_v2_scaling_configuration=rds.CfnDBCluster.ServerlessV2ScalingConfigurationProperty(
                min_capacity=primary.serverless_v2_min_capacity,
                max_capacity=primary.serverless_v2_max_capacity,
            )
            if primary.serverless
            else None,
        )
        self.cluster.apply_removal_policy(profile.snapshot_removal_policy)
        acknowledge_default_port(self.cluster)
        if not deletion_protection:
            acknowledge_no_deletion_protection(self.cluster)

        monitoring_role = (
            enhanced_monitoring_role(self, "MonitoringRole")
            if primary.monitoring_interval is not None
            else None
        )
        insights = primary.serverless or supports_insights(primary.instance_type)  # type: ignore[arg-type]
        instance_class = "db.serverless" if primary.instance_type is None else f"db.{primary.instance_type}"
        self.instances: list[rds.CfnDBInstance] = []
        for index, instance_id in enumerate(READER_IDS[:instance_count]):
            instance = rds.CfnDBInstance(
                self,
                instance_id,
                db_cluster_identifier=self.cluster.ref,
                engine=engine.engine_type,
                db_instance_class=instance_class,
                promotion_tier=0 if index == 0 else 1,
                publicly_accessible=False,
                auto_minor_version_upgrade=True,
                ca_certificate_identifier=rds.CaCertificate.RDS_CA_RSA2048_G1.to_string(),
                monitoring_interval=interval_seconds(primary.monitoring_interval),
                monitoring_role_arn=monitoring_role.role_arn if monitoring_role else None,
                enable_performance_insights=insights,
                performance_insights_kms_key_id=props.encryption_key.key_arn if insights else None,
                performance_insights_retention_period=FREE_INSIGHTS_RETENTION_DAYS if insights else None,
            )
            instance.apply_removal_policy(RemovalPolicy.DESTROY)  # the cluster holds the data
            acknowledge_framework_rule(
                instance,
                "RDSInBackupPlan",
                "An instance of a global database's secondary cluster: AWS Backup backs up Aurora by "
                "cluster, and this cluster is a read-only copy of the primary, which is backed up.",
            )
            self.instances.append(instance)

        retain_cluster_logs(self, self.cluster.ref, family, profile.log_retention)

        self.reader_endpoint = self.cluster.attr_read_endpoint_address
        primary.register_secondary(region)

    @property
    def connections(self) -> ec2.Connections:
        """Network access to the secondary cluster in this region (its security group, the engine's port)."""
        return self._connections


def _validate(name: str, scope: Construct, props: AuroraGlobalSecondaryProps) -> tuple[str, int]:
    """Check the props; returns this region and the number of instances."""
    primary = props.primary
    check_required(name, "primary", primary)
    check_instance(name, "primary", primary, AuroraCluster)
    check_required(name, "vpc", props.vpc)
    check_vpc(name, props.vpc)
    check_subnet_selection(name, props.vpc_subnets)
    check_key(name, props.encryption_key, optional=False)
    check_instance(name, "profile", props.profile, DeploymentProfile, optional=True)
    check_instance(name, "deletion_protection", props.deletion_protection, bool, optional=True)
    check_int(name, "instances", props.instances, optional=True)
    require(
        primary.global_cluster is not None,
        name,
        "primary",
        primary.node.path,
        "allowed: an AuroraCluster created with global_database=True",
    )
    region = Stack.of(scope).region
    primary_region = Stack.of(primary).region
    if is_unresolved(region) or is_unresolved(primary_region):
        raise PropValidationError(
            name,
            "scope region",
            "a region not known at synth time",
            "allowed: stacks with concrete regions for the primary and the secondary "
            "(env=Environment(account=..., region=...)): a global database spans named regions",
        )
    if region == primary_region or region in primary.secondary_regions:
        raise PropValidationError(
            name,
            "scope region",
            region,
            f"allowed: a region other than the primary's ({primary_region}) and the secondaries' "
            f"({', '.join(primary.secondary_regions) or 'none yet'}): one cluster per region",
        )
    if len(primary.secondary_regions) >= MAX_GLOBAL_SECONDARY_REGIONS:
        raise PropValidationError(
            name,
            "primary",
            f"{primary.node.path} with {len(primary.secondary_regions)} secondary regions already",
            f"allowed: at most {MAX_GLOBAL_SECONDARY_REGIONS} secondary regions per global database",
        )
    key_region = props.encryption_key.env.region
    require(
        is_unresolved(key_region) or key_region == region,
        name,
        "encryption_key",
        f"a key in {key_region}",
        f"allowed: a KMS key in this stack's region {region}",
    )
    profile = props.profile or primary.profile
    instances = profile.pick(props.instances, production=2, sandbox=1)
    check_range(name, "instances", instances, minimum=1, maximum=MAX_READERS)
    return region, instances


__all__ = ["AuroraGlobalSecondary", "AuroraGlobalSecondaryProps"]
