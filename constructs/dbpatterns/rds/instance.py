"""An RDS database instance (MySQL, MariaDB, PostgreSQL; Oracle and SQL Server too) with safe defaults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from aws_cdk import Duration, PhysicalName, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_rds as rds
from constructs import Construct

from dbpatterns.common.encryption import create_key
from dbpatterns.common.nag import acknowledge
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.validation import PropValidationError, check_one_of, check_range, require
from dbpatterns.rds.engines import ORACLE_NETWORK_ENCRYPTION, EngineFamily
from dbpatterns.rds.monitoring import (
    MONITORING_INTERVALS,
    acknowledge_log_retention_provider,
    enhanced_monitoring_role,
    insights_retention,
    supports_insights,
)
from dbpatterns.rds.windows import DEFAULT_BACKUP_WINDOW, DEFAULT_MAINTENANCE_WINDOW, check_windows

#: Automated backup retention RDS accepts when backups are on (0 would turn backups and PITR off).
MIN_BACKUP_RETENTION_DAYS, MAX_BACKUP_RETENTION_DAYS = 1, 35
#: General-purpose and provisioned-IOPS storage limits, in GiB.
MIN_ALLOCATED_STORAGE_GIB, MAX_STORAGE_GIB = 20, 65_536
#: Secrets Manager accepts rotation every 4 hours to 1000 days; we allow whole days.
MIN_ROTATION_DAYS, MAX_ROTATION_DAYS = 1, 1000
#: Construct IDs of same-region replicas, in order (one literal per replica; at most 15 per source).
REPLICA_IDS = (
    *("Replica1", "Replica2", "Replica3", "Replica4", "Replica5", "Replica6", "Replica7", "Replica8"),
    *("Replica9", "Replica10", "Replica11", "Replica12", "Replica13", "Replica14", "Replica15"),
)

_COMMERCIAL = (EngineFamily.ORACLE, EngineFamily.SQLSERVER)


def default_instance_type(family: EngineFamily, profile: DeploymentProfile) -> ec2.InstanceType:
    """Graviton for the open-source engines; x86 for Oracle and SQL Server (no Graviton builds)."""
    if family in _COMMERCIAL:
        size = ec2.InstanceSize.LARGE if profile.is_production else ec2.InstanceSize.SMALL
        klass = ec2.InstanceClass.M6I if profile.is_production else ec2.InstanceClass.T3
        return ec2.InstanceType.of(klass, size)
    if profile.is_production:
        return ec2.InstanceType.of(ec2.InstanceClass.M7G, ec2.InstanceSize.LARGE)
    return ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.MICRO)


@dataclass(frozen=True, kw_only=True)
class RdsInstanceProps:
    """Props of :class:`RdsInstance`."""

    #: Engine and version, e.g. ``rds.DatabaseInstanceEngine.postgres(version=...)``.
    engine: rds.IInstanceEngine
    #: Sandbox or production: size, Multi-AZ, deletion protection and removal follow it.
    profile: DeploymentProfile
    #: VPC to place the instance in (use ``IsolatedNetwork(...).vpc``).
    vpc: ec2.IVpc
    #: Subnets in ``vpc`` - the private isolated subnets by default.
    vpc_subnets: ec2.SubnetSelection | None = None
    #: Instance class - m7g.large in production, t4g.micro in a sandbox (m6i.large / t3.small for
    #: Oracle and SQL Server) by default.
    instance_type: ec2.InstanceType | None = None
    #: Multi-AZ standby (synchronous replication, automatic failover) - on in production by default.
    multi_az: bool | None = None
    #: Initial storage in GiB (20-65536) - 20 by default.
    allocated_storage_gib: int = MIN_ALLOCATED_STORAGE_GIB
    #: Storage autoscaling ceiling in GiB (above ``allocated_storage_gib``) - 100 by default.
    max_allocated_storage_gib: int = 100
    #: Storage type - gp3 by default.
    storage_type: rds.StorageType = rds.StorageType.GP3
    #: Days of automated backups and point-in-time restore (1-35) - 7 by default.
    backup_retention_days: int = 7
    #: Daily backup window, ``hh24:mi-hh24:mi`` UTC - ``03:00-04:00`` by default.
    preferred_backup_window: str = DEFAULT_BACKUP_WINDOW
    #: Weekly maintenance window, ``ddd:hh24:mi-ddd:hh24:mi`` UTC, not overlapping the backup window -
    #: ``Sun:04:30-Sun:05:30`` by default.
    preferred_maintenance_window: str = DEFAULT_MAINTENANCE_WINDOW
    #: Deletion protection - on in production, off in a sandbox by default.
    deletion_protection: bool | None = None
    #: KMS key for storage, the master secret and Performance Insights - a new key with rotation by default.
    encryption_key: kms.IKey | None = None
    #: IAM database authentication - on by default for MySQL, MariaDB and PostgreSQL (Oracle and SQL
    #: Server do not support it).
    iam_authentication: bool | None = None
    #: Master user name, stored with a generated password in Secrets Manager - ``dbadmin`` by default.
    master_username: str = "dbadmin"
    #: Days between master password rotations (1-1000) - 30 by default.
    secret_rotation_days: int = 30
    #: The VPC's Secrets Manager interface endpoint the rotation function calls - the regional
    #: public endpoint by default (reachable only with one in the VPC or a NAT).
    secrets_manager_endpoint: ec2.IInterfaceVpcEndpoint | None = None
    #: Performance Insights - on whenever the instance class supports it (not t2/t3/t4g micro/small).
    performance_insights: bool | None = None
    #: Database Insights mode - standard (7 days of Performance Insights, free) by default.
    database_insights_mode: rds.DatabaseInsightsMode = rds.DatabaseInsightsMode.STANDARD
    #: Enhanced monitoring interval in seconds (0, 1, 5, 10, 15, 30, 60) - 60 by default.
    monitoring_interval_seconds: int = 60
    #: Extra parameter-group settings - none by default. The TLS setting cannot be weakened here.
    parameters: Mapping[str, str] = field(default_factory=dict)
    #: Read replicas in the same region (up to 15, or 5 for Oracle and SQL Server, including replicas
    #: added later with :class:`~dbpatterns.rds.read_replica.RdsReadReplica`) - none by default.
    read_replicas: int = 0
    #: Name of a database to create - none by default.
    database_name: str | None = None
    #: License model (Oracle, SQL Server) - the engine's default by default.
    license_model: rds.LicenseModel | None = None


class RdsInstance(Construct):
    """An encrypted, TLS-only, backed-up RDS instance in private subnets with rotated credentials.

    Exposes ``instance``, ``encryption_key``, ``secret``, ``security_group``, ``parameter_group``,
    ``monitoring_role``, ``replicas`` (same-region :class:`RdsReadReplica` s) and ``connections``;
    ``grant_connect`` (IAM auth) and ``grant_secret_read``; ``metric_*`` helpers.
    """

    def __init__(self, scope: Construct, construct_id: str, props: RdsInstanceProps) -> None:
        family = _validate(props)
        super().__init__(scope, construct_id)
        profile = props.profile
        self.engine = props.engine
        self.family = family
        self.profile = profile
        self.backup_retention_days = props.backup_retention_days
        self.storage_type = props.storage_type
        self.max_allocated_storage_gib = props.max_allocated_storage_gib
        self.instance_type = props.instance_type or default_instance_type(family, profile)
        self.iam_authentication = (
            family.supports_iam_authentication
            if props.iam_authentication is None
            else props.iam_authentication
        )
        self.read_replica_count = 0
        self.replicas: list[Construct] = []

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
        self.parameter_group = engine_parameter_group(self, "Parameters", props.engine, props.parameters)
        self.option_group = (
            rds.OptionGroup(self, "Options", engine=props.engine, configurations=[ORACLE_NETWORK_ENCRYPTION])
            if family is EngineFamily.ORACLE
            else None
        )
        self.monitoring_role = (
            enhanced_monitoring_role(self, "MonitoringRole") if props.monitoring_interval_seconds else None
        )
        insights = _insights(props, self.instance_type)
        multi_az = profile.is_production if props.multi_az is None else props.multi_az
        deletion_protection = _deletion_protection(props.deletion_protection, profile)

        self.instance = rds.DatabaseInstance(
            self,
            "Resource",
            engine=props.engine,
            # A name is generated only if a cross-region replica references this instance (its ARN
            # must then be known in the other region); otherwise CloudFormation names it.
            instance_identifier=PhysicalName.GENERATE_IF_NEEDED,
            instance_type=self.instance_type,
            license_model=props.license_model,
            vpc=props.vpc,
            vpc_subnets=props.vpc_subnets or ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
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
            backup_retention=Duration.days(props.backup_retention_days),
            preferred_backup_window=props.preferred_backup_window,
            preferred_maintenance_window=props.preferred_maintenance_window,
            copy_tags_to_snapshot=True,
            delete_automated_backups=not profile.is_production,
            deletion_protection=deletion_protection,
            removal_policy=profile.snapshot_removal_policy,
            auto_minor_version_upgrade=True,
            cloudwatch_logs_exports=list(family.log_exports),
            cloudwatch_logs_retention=profile.log_retention,
            monitoring_interval=Duration.seconds(props.monitoring_interval_seconds)
            if props.monitoring_interval_seconds
            else None,
            monitoring_role=self.monitoring_role,
            enable_performance_insights=insights,
            database_insights_mode=props.database_insights_mode if insights else None,
            performance_insight_retention=insights_retention(props.database_insights_mode)
            if insights
            else None,
            performance_insight_encryption_key=self.encryption_key if insights else None,
        )
        self.connections = self.instance.connections
        acknowledge_default_port(self.instance)
        acknowledge_log_retention_provider(self)
        if not deletion_protection:
            acknowledge_no_deletion_protection(self.instance)
        if not multi_az:
            acknowledge(
                self.instance,
                "AwsSolutions-RDS3",
                "Single-AZ on purpose (sandbox profile or multi_az=False): no standby to pay for; "
                "production turns the Multi-AZ standby on.",
            )

        self.rotation = self.instance.add_rotation_single_user(
            automatically_after=Duration.days(props.secret_rotation_days),
            vpc_subnets=props.vpc_subnets or ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
            endpoint=props.secrets_manager_endpoint,
        )

        if props.read_replicas:
            # Imported here: read_replica imports this module for its type hints.
            from dbpatterns.rds.read_replica import RdsReadReplica, RdsReadReplicaProps

            replicas = Construct(self, "Replicas")
            for replica_id in REPLICA_IDS[: props.read_replicas]:
                RdsReadReplica(
                    replicas,
                    replica_id,
                    RdsReadReplicaProps(
                        source=self,
                        profile=profile,
                        vpc=props.vpc,
                        vpc_subnets=props.vpc_subnets,
                        monitoring_interval_seconds=props.monitoring_interval_seconds,
                    ),
                )

    @property
    def max_read_replicas(self) -> int:
        return self.family.max_read_replicas

    def _register_replica(self, replica: Construct) -> None:
        """Called by :class:`RdsReadReplica` once it is defined."""
        self.read_replica_count += 1
        self.replicas.append(replica)

    def grant_connect(self, grantee: iam.IGrantable, db_user: str) -> iam.Grant:
        """``rds-db:connect`` as ``db_user`` (IAM database authentication)."""
        require(
            self.iam_authentication,
            type(self).__name__,
            "iam_authentication",
            self.iam_authentication,
            "grant_connect needs IAM database authentication turned on",
        )
        return self.instance.grant_connect(grantee, db_user)

    def grant_secret_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Read the master credentials (and decrypt them with the instance's key)."""
        return self.secret.grant_read(grantee)

    def metric_cpu_utilization(self) -> cloudwatch.Metric:
        return self.instance.metric_cpu_utilization()

    def metric_free_storage_space(self) -> cloudwatch.Metric:
        return self.instance.metric_free_storage_space()

    def metric_database_connections(self) -> cloudwatch.Metric:
        return self.instance.metric_database_connections()


def engine_parameter_group(
    scope: Construct,
    construct_id: str,
    engine: rds.IInstanceEngine | rds.IClusterEngine,
    extra: Mapping[str, str],
) -> rds.ParameterGroup:
    """A parameter group that refuses unencrypted connections and turns on useful logging."""
    family = EngineFamily.of(engine)
    return rds.ParameterGroup(
        scope,
        construct_id,
        engine=engine,
        description=f"{engine.engine_type}: TLS required, slow-query and connection logging",
        parameters={**family.logging_parameters, **extra, **family.tls_parameters},
        removal_policy=RemovalPolicy.DESTROY,
    )


def acknowledge_default_port(construct: Construct) -> None:
    acknowledge(
        construct,
        "AwsSolutions-RDS11",
        "The engine's standard port is kept so drivers and tools work unchanged; the database sits in "
        "isolated subnets and its security group admits only granted peers, which is the real control.",
    )


def acknowledge_no_deletion_protection(construct: Construct) -> None:
    acknowledge(
        construct,
        "AwsSolutions-RDS10",
        "Deletion protection is off on purpose (sandbox profile or deletion_protection=False) so the "
        "sandbox can be torn down; the production profile turns it on.",
    )


def check_tls_not_weakened(
    name: str, family: EngineFamily, parameters: Mapping[str, str], prop: str = "parameters"
) -> None:
    for key, value in parameters.items():
        if key in family.tls_parameters and value != family.tls_parameters[key]:
            raise PropValidationError(
                name,
                f"{prop}[{key!r}]",
                value,
                f"allowed: {family.tls_parameters[key]!r} only (TLS is always required)",
            )


def check_backup_retention(name: str, days: int, prop: str = "backup_retention_days") -> None:
    if not isinstance(days, int) or isinstance(days, bool):
        raise PropValidationError(name, prop, days, "allowed: whole days")
    check_range(name, prop, days, minimum=MIN_BACKUP_RETENTION_DAYS, maximum=MAX_BACKUP_RETENTION_DAYS)


def family_of(name: str, engine: rds.IInstanceEngine | rds.IClusterEngine, *, aurora: bool) -> EngineFamily:
    try:
        family = EngineFamily.of(engine)
    except ValueError:
        family = None
    if family is None or family.is_aurora != aurora:
        allowed = (
            "allowed: Aurora MySQL or Aurora PostgreSQL "
            "(rds.DatabaseClusterEngine.aurora_mysql/aurora_postgres)"
            if aurora
            else "allowed: MySQL, MariaDB, PostgreSQL, Oracle or SQL Server (rds.DatabaseInstanceEngine)"
        )
        raise PropValidationError(name, "engine", engine.engine_type, allowed)
    return family


def _deletion_protection(value: bool | None, profile: DeploymentProfile) -> bool:
    return profile.deletion_protection if value is None else value


def _insights(props: RdsInstanceProps, instance_type: ec2.InstanceType) -> bool:
    return (
        supports_insights(instance_type) if props.performance_insights is None else props.performance_insights
    )


def _validate(props: RdsInstanceProps) -> EngineFamily:
    name = RdsInstance.__name__
    family = family_of(name, props.engine, aurora=False)
    check_backup_retention(name, props.backup_retention_days)
    check_windows(
        name,
        backup_window=props.preferred_backup_window,
        maintenance_window=props.preferred_maintenance_window,
    )
    check_range(
        name,
        "read_replicas",
        props.read_replicas,
        minimum=0,
        maximum=family.max_read_replicas,
    )
    check_range(
        name,
        "allocated_storage_gib",
        props.allocated_storage_gib,
        minimum=MIN_ALLOCATED_STORAGE_GIB,
        maximum=MAX_STORAGE_GIB,
    )
    check_range(
        name,
        "max_allocated_storage_gib",
        props.max_allocated_storage_gib,
        minimum=props.allocated_storage_gib + 1,
        maximum=MAX_STORAGE_GIB,
    )
    check_range(
        name,
        "secret_rotation_days",
        props.secret_rotation_days,
        minimum=MIN_ROTATION_DAYS,
        maximum=MAX_ROTATION_DAYS,
    )
    check_one_of(name, "monitoring_interval_seconds", props.monitoring_interval_seconds, MONITORING_INTERVALS)
    require(
        not (props.iam_authentication and not family.supports_iam_authentication),
        name,
        "iam_authentication",
        props.iam_authentication,
        f"allowed: False or None for {props.engine.engine_type} (IAM database authentication exists "
        "for MySQL, MariaDB and PostgreSQL only)",
    )
    instance_type = props.instance_type or default_instance_type(family, props.profile)
    require(
        not (props.performance_insights and not supports_insights(instance_type)),
        name,
        "performance_insights",
        props.performance_insights,
        f"allowed: False or None on {instance_type.to_string()} (no Performance Insights on "
        "t2/t3/t4g micro and small classes)",
    )
    check_tls_not_weakened(name, family, props.parameters)
    return family
