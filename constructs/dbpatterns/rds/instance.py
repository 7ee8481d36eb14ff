"""An RDS database instance (MySQL, MariaDB, PostgreSQL; Oracle and SQL Server too) with safe defaults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import jsii
from aws_cdk import Duration, PhysicalName
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_rds as rds
from constructs import Construct

from dbpatterns.common.encryption import create_key
from dbpatterns.common.interfaces import (
    check_interface_endpoint,
    check_key,
    check_subnet_selection,
    check_vpc,
)
from dbpatterns.common.metrics import metric_kwargs
from dbpatterns.common.nag import acknowledge, acknowledge_framework_rule
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.validation import (
    PropValidationError,
    check_instance,
    check_int,
    check_range,
    check_required,
    construct_label,
    require,
)
from dbpatterns.common.windows import DEFAULT_BACKUP_WINDOW, DEFAULT_MAINTENANCE_WINDOW, check_windows
from dbpatterns.rds.engines import ORACLE_NETWORK_ENCRYPTION, EngineFamily, check_engine
from dbpatterns.rds.monitoring import (
    DEFAULT_MONITORING_INTERVAL,
    acknowledge_log_retention_provider,
    check_monitoring_interval,
    enhanced_monitoring_role,
    insights_retention,
    supports_insights,
)
from dbpatterns.rds.names import check_database_name, check_master_username
from dbpatterns.rds.read_replica import RdsReadReplica, RdsReadReplicaProps
from dbpatterns.rds.shared import (
    DEFAULT_BACKUP_RETENTION,
    DEFAULT_ROTATION,
    acknowledge_default_port,
    acknowledge_no_deletion_protection,
    check_backup_retention,
    check_instance_type,
    check_parameters,
    check_secret_rotation,
    check_shared_groups,
    engine_parameter_group,
    engine_port_connections,
    isolated_subnets,
    pin_ingress_ports,
)

#: General-purpose SSD storage limits, in GiB.
MIN_ALLOCATED_STORAGE_GIB, MAX_STORAGE_GIB = 20, 65_536
#: Storage types this construct configures completely: provisioned-IOPS storage (io1/io2) needs an
#: IOPS setting it does not expose, and magnetic storage is previous generation.
STORAGE_TYPES = (rds.StorageType.GP3, rds.StorageType.GP2)
#: Construct IDs of same-region replicas made from ``read_replicas``, in order (one literal per
#: replica; at most 15 per source).
REPLICA_IDS = (
    *("Replica1", "Replica2", "Replica3", "Replica4", "Replica5", "Replica6", "Replica7", "Replica8"),
    *("Replica9", "Replica10", "Replica11", "Replica12", "Replica13", "Replica14", "Replica15"),
)

_COMMERCIAL = (EngineFamily.ORACLE, EngineFamily.SQLSERVER)


def default_instance_types(family: EngineFamily) -> tuple[ec2.InstanceType, ec2.InstanceType]:
    """(production, sandbox) classes: Graviton for the open-source engines; x86 for Oracle and SQL
    Server (no Graviton builds)."""
    if family in _COMMERCIAL:
        return (
            ec2.InstanceType.of(ec2.InstanceClass.M6I, ec2.InstanceSize.LARGE),
            ec2.InstanceType.of(ec2.InstanceClass.T3, ec2.InstanceSize.SMALL),
        )
    return (
        ec2.InstanceType.of(ec2.InstanceClass.M7G, ec2.InstanceSize.LARGE),
        ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.MICRO),
    )


@dataclass(frozen=True, kw_only=True)
class RdsInstanceProps:
    """Props of :class:`RdsInstance`."""

    engine: rds.IInstanceEngine
    """Engine and pinned version, e.g. ``rds.DatabaseInstanceEngine.postgres(version=...)``."""
    profile: DeploymentProfile
    """Sandbox or production: size, Multi-AZ, deletion protection and removal follow it."""
    vpc: ec2.IVpc
    """VPC to place the instance in (use ``IsolatedNetwork(...).vpc``)."""
    vpc_subnets: ec2.SubnetSelection | None = None
    """Subnets in ``vpc`` - the private isolated subnets by default."""
    instance_type: ec2.InstanceType | None = None
    """Instance class - m7g.large in production, t4g.micro in a sandbox (m6i.large / t3.small for
    Oracle and SQL Server) by default."""
    multi_az: bool | None = None
    """Multi-AZ standby (synchronous replication, automatic failover) - on in production by default."""
    allocated_storage_gib: int = MIN_ALLOCATED_STORAGE_GIB
    """Initial storage in GiB (20-65536) - 20 by default."""
    max_allocated_storage_gib: int = 100
    """Storage autoscaling ceiling in GiB (above ``allocated_storage_gib``) - 100 by default."""
    storage_type: rds.StorageType = rds.StorageType.GP3
    """Storage type, gp3 or gp2 - gp3 by default."""
    backup_retention: Duration = DEFAULT_BACKUP_RETENTION
    """Automated backups and point-in-time restore, 1-35 whole days - 7 days by default."""
    preferred_backup_window: str = DEFAULT_BACKUP_WINDOW
    """Daily backup window, ``hh24:mi-hh24:mi`` UTC, at least 30 minutes - ``03:00-04:00`` by default."""
    preferred_maintenance_window: str = DEFAULT_MAINTENANCE_WINDOW
    """Weekly maintenance window, ``ddd:hh24:mi-ddd:hh24:mi`` UTC, at least 30 minutes, not overlapping
    the backup window - ``Sun:04:30-Sun:05:30`` by default."""
    deletion_protection: bool | None = None
    """Deletion protection - on in production, off in a sandbox by default."""
    encryption_key: kms.IKey | None = None
    """KMS key for storage, the master secret and Performance Insights - a new key with rotation by
    default."""
    iam_authentication: bool | None = None
    """IAM database authentication - on by default for MySQL, MariaDB and PostgreSQL (Oracle and SQL
    Server do not support it)."""
    master_username: str = "dbadmin"
    """Master user name (1-16 letters, digits or underscores, starting with a letter, not reserved by
    the engine), stored with a generated password in Secrets Manager - ``dbadmin`` by default."""
    secret_rotation: Duration = DEFAULT_ROTATION
    """Time between master password rotations, 4 hours to 1000 days in whole hours - 30 days by default."""
    secrets_manager_endpoint: ec2.IInterfaceVpcEndpoint | None = None
    """The VPC's Secrets Manager interface endpoint the rotation function calls - the regional public
    endpoint by default (reachable only with one in the VPC or a NAT)."""
    performance_insights: bool | None = None
    """Performance Insights - on whenever the instance class supports it (not t2/t3/t4g micro/small)."""
    database_insights_mode: rds.DatabaseInsightsMode = rds.DatabaseInsightsMode.STANDARD
    """Database Insights mode (needs Performance Insights) - standard (7 days, free) by default."""
    monitoring_interval: Duration | None = DEFAULT_MONITORING_INTERVAL
    """Enhanced monitoring interval (1, 5, 10, 15, 30 or 60 seconds; ``None`` turns it off) - 60 seconds."""
    parameters: Mapping[str, str] = field(default_factory=dict)
    """Extra parameter-group settings - none by default. The TLS setting cannot be weakened here."""
    parameter_group: rds.IParameterGroup | None = None
    """An existing parameter group to use instead of a new one, e.g. one group shared by a fleet of
    instances of the same major version (RDS allows 50 parameter groups per region). It must require
    TLS itself: build it with ``dbpatterns.rds.shared.engine_parameter_group``. Not together with
    ``parameters`` - a new group with TLS required by default."""
    subnet_group: rds.ISubnetGroup | None = None
    """An existing DB subnet group in ``vpc`` to use instead of a new one, e.g. one group shared by a
    fleet (RDS allows 50 subnet groups per region). Not together with ``vpc_subnets`` - a new group over
    ``vpc_subnets`` by default."""
    read_replicas: int = 0
    """Read replicas in the same region (up to 15, or 5 for Oracle and SQL Server, including replicas
    added later with :meth:`RdsInstance.add_read_replica`) - none by default."""
    database_name: str | None = None
    """Name of a database to create (not for SQL Server) - none by default."""
    license_model: rds.LicenseModel | None = None
    """License model (Oracle, SQL Server) - the engine's default by default."""


@jsii.implements(ec2.IConnectable)
class RdsInstance(Construct):
    """An encrypted, TLS-only, backed-up RDS instance in private subnets with rotated credentials.

    Exposes ``instance``, ``encryption_key``, ``secret``, ``security_group``, ``parameter_group``,
    ``subnet_group`` (the one given, else ``None``: the L2 makes one), ``monitoring_role`` and
    ``replicas``. Network access goes through ``connections``
    (``ec2.IConnectable``, default port the engine's: ``db.connections.allow_default_port_from(app)``);
    ``grant_connect`` (IAM ``rds-db:connect``) and ``grant_secret_read`` grant IAM permissions only.
    ``add_read_replica`` creates read replicas; ``metric_*`` wrap the L2's metrics.
    """

    def __init__(self, scope: Construct, construct_id: str, props: RdsInstanceProps) -> None:
        label = construct_label(type(self), scope, construct_id)
        family, instance_type, insights = _validate(label, props)
        super().__init__(scope, construct_id)
        profile = props.profile
        self._label = label
        self.engine = props.engine
        self.family = family
        self.profile = profile
        self.vpc = props.vpc
        self.vpc_subnets = props.vpc_subnets
        self.backup_retention = props.backup_retention
        self.monitoring_interval = props.monitoring_interval
        self.storage_type = props.storage_type
        self.max_allocated_storage_gib = props.max_allocated_storage_gib
        self.instance_type = instance_type
        self.iam_authentication = (
            family.supports_iam_authentication
            if props.iam_authentication is None
            else props.iam_authentication
        )
        self.read_replica_count = 0
        self.replicas: list[RdsReadReplica] = []
        self._replica_scope: Construct | None = None

        self.encryption_key: kms.IKey = props.encryption_key or create_key(
            self, "Key", description=f"Encrypts the RDS instance {self.node.path}", profile=profile
        )
        self.secret = rds.DatabaseSecret(
            self, "Secret", username=props.master_username, encryption_key=self.encryption_key
        )
        # Keep the credentials as long as the final snapshot they open.
        self.secret.apply_removal_policy(profile.removal_policy)
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=props.vpc,
            description=f"RDS instance {self.node.path}: only granted peers may connect",
            allow_all_outbound=False,
        )
        self.parameter_group: rds.IParameterGroup = props.parameter_group or engine_parameter_group(
            self, "Parameters", props.engine, props.parameters
        )
        self.subnet_group = props.subnet_group
        self.option_group = (
            rds.OptionGroup(self, "Options", engine=props.engine, configurations=[ORACLE_NETWORK_ENCRYPTION])
            if family is EngineFamily.ORACLE
            else None
        )
        self.monitoring_role = (
            enhanced_monitoring_role(self, "MonitoringRole")
            if props.monitoring_interval is not None
            else None
        )
        multi_az = profile.pick(props.multi_az, production=True, sandbox=False)
        deletion_protection = profile.pick(props.deletion_protection, production=True, sandbox=False)

        self.instance = rds.DatabaseInstance(
            self,
            "Resource",
            engine=props.engine,
            # A name is generated only if a cross-region replica references this instance (its ARN
            # must then be known in the other region); otherwise CloudFormation names it.
            instance_identifier=PhysicalName.GENERATE_IF_NEEDED,
            instance_type=instance_type,
            license_model=props.license_model,
            vpc=props.vpc,
            vpc_subnets=None if props.subnet_group is not None else isolated_subnets(props.vpc_subnets),
            subnet_group=props.subnet_group,
            security_groups=[self.security_group],
            publicly_accessible=False,
            multi_az=multi_az,
            credentials=rds.Credentials.from_secret(self.secret),
            database_name=props.database_name,
            storage_encrypted=True,
            storage_encryption_key=self.encryption_key,
            storage_type=props.storage_type,
            allocated_storage=props.allocated_storage_gib,
            max_allocated_storage=props.max_allocated_storage_gib,
            parameter_group=self.parameter_group,
            option_group=self.option_group,
            ca_certificate=rds.CaCertificate.RDS_CA_RSA2048_G1,
            iam_authentication=self.iam_authentication or None,
            backup_retention=props.backup_retention,
            preferred_backup_window=props.preferred_backup_window,
            preferred_maintenance_window=props.preferred_maintenance_window,
            copy_tags_to_snapshot=True,
            delete_automated_backups=not profile.is_production,
            deletion_protection=deletion_protection,
            removal_policy=profile.snapshot_removal_policy,
            auto_minor_version_upgrade=True,
            cloudwatch_logs_exports=list(family.log_exports),
            cloudwatch_logs_retention=profile.log_retention,
            monitoring_interval=props.monitoring_interval,
            monitoring_role=self.monitoring_role,
            enable_performance_insights=insights,
            database_insights_mode=props.database_insights_mode if insights else None,
            performance_insight_retention=insights_retention(props.database_insights_mode)
            if insights
            else None,
            performance_insight_encryption_key=self.encryption_key if insights else None,
        )
        self._connections = engine_port_connections(self.instance.connections, family.default_port)
        acknowledge_default_port(self.instance)
        acknowledge_log_retention_provider(self)
        if not deletion_protection:
            acknowledge_no_deletion_protection(self.instance)
        if not multi_az:
            single_az = (
                "Single-AZ on purpose (sandbox profile or multi_az=False): no standby to pay for; "
                "production turns the Multi-AZ standby on."
            )
            acknowledge(self.instance, "AwsSolutions-RDS3", single_az)
            acknowledge_framework_rule(self.instance, "RDSMultiAZSupport", single_az)

        self.rotation = self.instance.add_rotation_single_user(
            automatically_after=props.secret_rotation,
            vpc_subnets=isolated_subnets(props.vpc_subnets),
            endpoint=props.secrets_manager_endpoint,
        )
        pin_ingress_ports(self.instance.connections, family.default_port)

        for replica_id in REPLICA_IDS[: props.read_replicas]:
            self.add_read_replica(replica_id, monitoring_interval=props.monitoring_interval)

    @property
    def connections(self) -> ec2.Connections:
        """Network access to the instance (its security group, the engine's port)."""
        return self._connections

    @property
    def max_read_replicas(self) -> int:
        return self.family.max_read_replicas

    def add_read_replica(
        self,
        construct_id: str,
        *,
        scope: Construct | None = None,
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        encryption_key: kms.IKey | None = None,
        instance_type: ec2.InstanceType | None = None,
        multi_az: bool = False,
        backup_retention: Duration | None = None,
        deletion_protection: bool | None = None,
        monitoring_interval: Duration | None = DEFAULT_MONITORING_INTERVAL,
    ) -> RdsReadReplica:
        """A read replica of this instance (see :class:`~dbpatterns.rds.read_replica.RdsReadReplicaProps`).

        ``scope`` is where the replica is defined: this instance's ``Replicas`` by default (same stack),
        or a stack of another region for a cross-region replica, which then needs its own ``vpc`` and an
        ``encryption_key`` of that region. ``vpc`` and ``vpc_subnets`` default to this instance's.
        """
        if scope is not None and not isinstance(scope, Construct):
            raise PropValidationError(
                f"{self._label}.add_read_replica",
                "scope",
                scope,
                "allowed: a Construct (a stack of the replica's region), or None (this instance's Replicas)",
            )
        if scope is None:
            if self._replica_scope is None:
                self._replica_scope = Construct(self, "Replicas")
            scope = self._replica_scope
            vpc = vpc or self.vpc
            vpc_subnets = vpc_subnets or self.vpc_subnets
        return RdsReadReplica(
            scope,
            construct_id,
            RdsReadReplicaProps(
                source=self,
                profile=self.profile,
                vpc=vpc,  # type: ignore[arg-type]  # None is refused by RdsReadReplica with a clear error
                vpc_subnets=vpc_subnets,
                encryption_key=encryption_key,
                instance_type=instance_type,
                multi_az=multi_az,
                backup_retention=backup_retention,
                deletion_protection=deletion_protection,
                monitoring_interval=monitoring_interval,
            ),
        )

    def register_replica(self, replica: Construct) -> None:
        """Called by :class:`RdsReadReplica` once it is defined (counts towards the replica limit)."""
        self.read_replica_count += 1
        self.replicas.append(replica)  # type: ignore[arg-type]

    def grant_connect(self, grantee: iam.IGrantable, db_user: str) -> iam.Grant:
        """``rds-db:connect`` as ``db_user`` (IAM database authentication); IAM only, not the network."""
        require(
            self.iam_authentication,
            self._label,
            "iam_authentication",
            self.iam_authentication,
            "grant_connect needs IAM database authentication turned on",
        )
        return self.instance.grant_connect(grantee, db_user)

    def grant_secret_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Read the master credentials (and decrypt them with the instance's key)."""
        return self.secret.grant_read(grantee)

    def metric(self, metric_name: str, props: cloudwatch.MetricOptions | None = None) -> cloudwatch.Metric:
        """Any ``AWS/RDS`` metric of the instance, by its CloudWatch name."""
        return self.instance.metric(metric_name, **metric_kwargs(props))

    def metric_cpu_utilization(self, props: cloudwatch.MetricOptions | None = None) -> cloudwatch.Metric:
        """``CPUUtilization`` (percent)."""
        return self.instance.metric_cpu_utilization(**metric_kwargs(props))

    def metric_database_connections(self, props: cloudwatch.MetricOptions | None = None) -> cloudwatch.Metric:
        """``DatabaseConnections``."""
        return self.instance.metric_database_connections(**metric_kwargs(props))

    def metric_free_storage_space(self, props: cloudwatch.MetricOptions | None = None) -> cloudwatch.Metric:
        """``FreeStorageSpace`` (bytes)."""
        return self.instance.metric_free_storage_space(**metric_kwargs(props))

    def metric_freeable_memory(self, props: cloudwatch.MetricOptions | None = None) -> cloudwatch.Metric:
        """``FreeableMemory`` (bytes)."""
        return self.instance.metric_freeable_memory(**metric_kwargs(props))

    def metric_read_iops(self, props: cloudwatch.MetricOptions | None = None) -> cloudwatch.Metric:
        """``ReadIOPS``."""
        return self.instance.metric_read_iops(**metric_kwargs(props))

    def metric_write_iops(self, props: cloudwatch.MetricOptions | None = None) -> cloudwatch.Metric:
        """``WriteIOPS``."""
        return self.instance.metric_write_iops(**metric_kwargs(props))


def _validate(label: str, props: RdsInstanceProps) -> tuple[EngineFamily, ec2.InstanceType, bool]:
    """Check the props; returns the engine family, the instance class and whether Performance Insights
    is on."""
    check_required(label, "engine", props.engine)
    family, _ = check_engine(label, props.engine, aurora=False)
    check_instance(label, "profile", props.profile, DeploymentProfile)
    check_required(label, "vpc", props.vpc)
    check_vpc(label, props.vpc)
    check_subnet_selection(label, props.vpc_subnets)
    check_key(label, props.encryption_key)
    check_interface_endpoint(label, props.secrets_manager_endpoint, "secrets_manager_endpoint")
    if props.instance_type is not None:
        check_instance_type(label, props.instance_type)
    production, sandbox = default_instance_types(family)
    instance_type = props.profile.pick(props.instance_type, production=production, sandbox=sandbox)
    for prop in ("multi_az", "deletion_protection", "iam_authentication", "performance_insights"):
        check_instance(label, prop, getattr(props, prop), bool, optional=True)
    check_instance(label, "storage_type", props.storage_type, rds.StorageType)
    require(
        props.storage_type in STORAGE_TYPES,
        label,
        "storage_type",
        props.storage_type,
        "allowed: rds.StorageType.GP3 or GP2 (io1/io2 need an IOPS setting this construct does not "
        "expose; magnetic storage is previous generation)",
    )
    check_instance(label, "database_insights_mode", props.database_insights_mode, rds.DatabaseInsightsMode)
    check_instance(label, "license_model", props.license_model, rds.LicenseModel, optional=True)
    check_backup_retention(label, props.backup_retention)
    check_windows(
        label,
        backup_window=props.preferred_backup_window,
        maintenance_window=props.preferred_maintenance_window,
    )
    check_int(label, "read_replicas", props.read_replicas)
    check_range(label, "read_replicas", props.read_replicas, minimum=0, maximum=family.max_read_replicas)
    check_int(label, "allocated_storage_gib", props.allocated_storage_gib)
    check_range(
        label,
        "allocated_storage_gib",
        props.allocated_storage_gib,
        minimum=MIN_ALLOCATED_STORAGE_GIB,
        maximum=MAX_STORAGE_GIB,
    )
    check_int(label, "max_allocated_storage_gib", props.max_allocated_storage_gib)
    check_range(
        label,
        "max_allocated_storage_gib",
        props.max_allocated_storage_gib,
        minimum=props.allocated_storage_gib + 1,
        maximum=MAX_STORAGE_GIB,
    )
    check_secret_rotation(label, props.secret_rotation)
    check_monitoring_interval(label, props.monitoring_interval)
    check_master_username(label, family, props.master_username, "master_username")
    check_database_name(label, family, props.database_name, "database_name")
    require(
        not (props.iam_authentication and not family.supports_iam_authentication),
        label,
        "iam_authentication",
        props.iam_authentication,
        f"allowed: False or None for {props.engine.engine_type} (IAM database authentication exists "
        "for MySQL, MariaDB and PostgreSQL only)",
    )
    insights_possible = supports_insights(instance_type)
    require(
        not (props.performance_insights and not insights_possible),
        label,
        "performance_insights",
        props.performance_insights,
        f"allowed: False or None on {instance_type.to_string()} (no Performance Insights on "
        "t2/t3/t4g micro and small classes)",
    )
    insights = insights_possible if props.performance_insights is None else props.performance_insights
    require(
        insights or props.database_insights_mode != rds.DatabaseInsightsMode.ADVANCED,
        label,
        "database_insights_mode",
        "ADVANCED",
        "allowed: STANDARD when Performance Insights is off "
        f"(performance_insights={props.performance_insights}, {instance_type.to_string()}): advanced "
        "Database Insights needs it and would be dropped",
    )
    check_parameters(label, family, props.parameters)
    check_shared_groups(label, props.parameter_group, props.parameters, props.subnet_group, props.vpc_subnets)
    return family, instance_type, insights
