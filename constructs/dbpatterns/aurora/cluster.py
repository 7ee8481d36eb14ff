"""An Aurora cluster (MySQL- or PostgreSQL-compatible), provisioned or Serverless v2, optionally the
primary of a global database."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from aws_cdk import CfnOutput, Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_rds as rds
from constructs import Construct

from dbpatterns.common.encryption import create_key
from dbpatterns.common.nag import acknowledge
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.validation import (
    PropValidationError,
    check_one_of,
    check_range,
    is_unresolved,
    require,
)
from dbpatterns.rds.engines import EngineFamily
from dbpatterns.rds.instance import (
    MAX_ROTATION_DAYS,
    MIN_ROTATION_DAYS,
    acknowledge_default_port,
    acknowledge_no_deletion_protection,
    check_backup_retention,
    check_tls_not_weakened,
    engine_parameter_group,
    family_of,
)
from dbpatterns.rds.monitoring import (
    MONITORING_INTERVALS,
    acknowledge_log_retention_provider,
    enhanced_monitoring_role,
    insights_retention,
    supports_insights,
)
from dbpatterns.rds.windows import DEFAULT_BACKUP_WINDOW, DEFAULT_MAINTENANCE_WINDOW, check_windows

#: Aurora limits (Aurora User Guide): 15 readers per cluster, backtrack up to 72 hours (Aurora MySQL),
#: up to 10 secondary regions in a global database.
MAX_READERS = 15
MAX_BACKTRACK_HOURS = 72
MAX_GLOBAL_SECONDARY_REGIONS = 10
#: Serverless v2 capacity moves in steps of 0.5 ACU; the maximum is at least 1 ACU.
ACU_STEP = 0.5
MIN_MAX_CAPACITY = 1.0
#: Reader construct IDs, in promotion order (one literal per reader).
READER_IDS = (
    *("Reader1", "Reader2", "Reader3", "Reader4", "Reader5", "Reader6", "Reader7", "Reader8"),
    *("Reader9", "Reader10", "Reader11", "Reader12", "Reader13", "Reader14", "Reader15"),
)

#: Versions from which Serverless v2 scales to 256 ACU and down to 0 ACU (auto-pause), per the Aurora
#: User Guide. Older versions allow 0.5-128 ACU. Check a version with
#: ``aws rds describe-db-engine-versions --query 'DBEngineVersions[].ServerlessV2FeaturesSupport'``.
_MYSQL_256_ACU = (3, 6, 0)
_MYSQL_AUTO_PAUSE = (3, 8, 0)
_POSTGRES_256_ACU_AND_AUTO_PAUSE = {13: (13, 15), 14: (14, 12), 15: (15, 7), 16: (16, 3)}
_LEGACY_RANGE = (0.5, 128.0)


def serverless_v2_range(engine: rds.IClusterEngine) -> tuple[float, float]:
    """The (minimum, maximum) ACU that ``engine``'s version allows.

    Without a pinned version CloudFormation picks one at deploy time, so only the range every
    version supports (0.5-128) is safe.
    """
    version = engine.engine_version.full_version if engine.engine_version else None
    if version is None or is_unresolved(version):
        return _LEGACY_RANGE
    family = EngineFamily.of(engine)
    numbers = tuple(int(n) for n in re.findall(r"\d+", version.rsplit(".mysql_aurora.", 1)[-1]))
    if family is EngineFamily.AURORA_MYSQL:
        return (0.0 if numbers >= _MYSQL_AUTO_PAUSE else 0.5, 256.0 if numbers >= _MYSQL_256_ACU else 128.0)
    major = numbers[0] if numbers else 0
    threshold = _POSTGRES_256_ACU_AND_AUTO_PAUSE.get(major)
    if major > max(_POSTGRES_256_ACU_AND_AUTO_PAUSE) or (threshold is not None and numbers >= threshold):
        return (0.0, 256.0)
    return _LEGACY_RANGE


def check_serverless_v2_capacity(
    name: str, engine: rds.IClusterEngine, minimum: float, maximum: float
) -> None:
    """Refuse a capacity range the engine version cannot run (with the range it can)."""
    low, high = serverless_v2_range(engine)
    version = engine.engine_version.full_version if engine.engine_version else "unpinned"
    allowed = f"allowed: {low} to {high} ACU in steps of {ACU_STEP} for {engine.engine_type} {version}"
    for prop, value in (("serverless_v2_min_capacity", minimum), ("serverless_v2_max_capacity", maximum)):
        if value < low or value > high or (value / ACU_STEP) != int(value / ACU_STEP):
            raise PropValidationError(name, prop, value, allowed)
    if maximum < MIN_MAX_CAPACITY:
        raise PropValidationError(
            name, "serverless_v2_max_capacity", maximum, f"allowed: at least {MIN_MAX_CAPACITY} ACU"
        )
    if minimum > maximum:
        raise PropValidationError(
            name,
            "serverless_v2_min_capacity",
            minimum,
            f"allowed: at most serverless_v2_max_capacity ({maximum})",
        )


@dataclass(frozen=True, kw_only=True)
class AuroraClusterProps:
    """Props of :class:`AuroraCluster`."""

    #: Engine and version, e.g. ``rds.DatabaseClusterEngine.aurora_mysql(version=...)``.
    engine: rds.IClusterEngine
    #: Sandbox or production: readers, deletion protection and removal follow it.
    profile: DeploymentProfile
    #: VPC to place the cluster in (use ``IsolatedNetwork(...).vpc``).
    vpc: ec2.IVpc
    #: Subnets in ``vpc`` - the private isolated subnets by default.
    vpc_subnets: ec2.SubnetSelection | None = None
    #: Instance class of provisioned instances - none by default, which means Serverless v2.
    instance_type: ec2.InstanceType | None = None
    #: Serverless v2 minimum ACU (0 pauses an idle cluster, on engine versions that support it) - 0.5.
    serverless_v2_min_capacity: float = 0.5
    #: Serverless v2 maximum ACU (up to 128 or 256 depending on the engine version) - 16 by default.
    serverless_v2_max_capacity: float = 16.0
    #: Reader instances (0-15); the first is the writer's failover target - 2 in production, 0 in a sandbox.
    readers: int | None = None
    #: Days of automated backups and point-in-time restore (1-35) - 7 by default.
    backup_retention_days: int = 7
    #: Daily backup window, ``hh24:mi-hh24:mi`` UTC - ``03:00-04:00`` by default.
    preferred_backup_window: str = DEFAULT_BACKUP_WINDOW
    #: Weekly maintenance window, not overlapping the backup window - ``Sun:04:30-Sun:05:30`` by default.
    preferred_maintenance_window: str = DEFAULT_MAINTENANCE_WINDOW
    #: Backtrack window in hours (1-72), Aurora MySQL only and not in a global database - 24 hours for
    #: Aurora MySQL clusters that are not global, none otherwise, by default.
    backtrack_window_hours: int | None = None
    #: Make this cluster the primary of an Aurora global database (adds ``AWS::RDS::GlobalCluster``) - off.
    global_database: bool = False
    #: Deletion protection - on in production, off in a sandbox by default.
    deletion_protection: bool | None = None
    #: KMS key for storage, the master secret and Performance Insights - a new key with rotation by default.
    encryption_key: kms.IKey | None = None
    #: Master user name, stored with a generated password in Secrets Manager - ``dbadmin`` by default.
    master_username: str = "dbadmin"
    #: Days between master password rotations (1-1000) - 30 by default.
    secret_rotation_days: int = 30
    #: The VPC's Secrets Manager interface endpoint the rotation function calls - the regional endpoint.
    secrets_manager_endpoint: ec2.IInterfaceVpcEndpoint | None = None
    #: Database Insights mode - standard (7 days of Performance Insights, free) by default.
    database_insights_mode: rds.DatabaseInsightsMode = rds.DatabaseInsightsMode.STANDARD
    #: Enhanced monitoring interval in seconds (0, 1, 5, 10, 15, 30, 60) - 60 by default.
    monitoring_interval_seconds: int = 60
    #: Extra cluster parameter-group settings - none by default. The TLS setting cannot be weakened.
    parameters: Mapping[str, str] = field(default_factory=dict)
    #: Name of a database to create - none by default.
    default_database_name: str | None = None


class AuroraCluster(Construct):
    """An encrypted, TLS-only Aurora cluster with a writer, readers and rotated credentials.

    Exposes ``cluster``, ``writer_endpoint``, ``reader_endpoint`` (for reporting traffic),
    ``encryption_key``, ``secret``, ``security_group``, ``subnet_group``, ``parameter_group``,
    ``global_cluster`` (``None`` unless ``global_database``) and ``connections``; ``grant_connect``
    (IAM auth), ``grant_secret_read`` and ``metric_*`` helpers.
    """

    def __init__(self, scope: Construct, construct_id: str, props: AuroraClusterProps) -> None:
        family, readers, backtrack_hours = _validate(props)
        super().__init__(scope, construct_id)
        profile = props.profile
        self.engine = props.engine
        self.family = family
        self.profile = profile
        self.serverless = props.instance_type is None
        self.instance_type = props.instance_type
        self.serverless_v2_min_capacity = props.serverless_v2_min_capacity
        self.serverless_v2_max_capacity = props.serverless_v2_max_capacity
        self.backup_retention_days = props.backup_retention_days
        self.preferred_backup_window = props.preferred_backup_window
        self.preferred_maintenance_window = props.preferred_maintenance_window
        self.backtrack_window_hours = backtrack_hours
        self.monitoring_interval_seconds = props.monitoring_interval_seconds
        self.secondary_regions: list[str] = []
        deletion_protection = (
            profile.deletion_protection if props.deletion_protection is None else (props.deletion_protection)
        )
        vpc_subnets = props.vpc_subnets or ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)

        self.encryption_key: kms.IKey = props.encryption_key or create_key(
            self, "Key", description=f"Encrypts the Aurora cluster {self.node.path}", profile=profile
        )
        self.secret = rds.DatabaseSecret(
            self, "Secret", username=props.master_username, encryption_key=self.encryption_key
        )
        self.secret.apply_removal_policy(profile.removal_policy)
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=props.vpc,
            description=f"Aurora cluster {self.node.path}: only granted peers may connect",
            allow_all_outbound=False,
        )
        self.subnet_group = rds.SubnetGroup(
            self,
            "Subnets",
            vpc=props.vpc,
            vpc_subnets=vpc_subnets,
            description=f"Aurora cluster {self.node.path}: private isolated subnets",
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.parameter_group = engine_parameter_group(self, "Parameters", props.engine, props.parameters)
        self.monitoring_role = (
            enhanced_monitoring_role(self, "MonitoringRole") if props.monitoring_interval_seconds else None
        )
        insights = self.serverless or supports_insights(props.instance_type)  # type: ignore[arg-type]
        self._instance_insights: dict[str, object] = (
            {
                "enable_performance_insights": True,
                "performance_insight_retention": insights_retention(props.database_insights_mode),
                "performance_insight_encryption_key": self.encryption_key,
            }
            if insights
            else {}
        )

        self.cluster = rds.DatabaseCluster(
            self,
            "Resource",
            engine=props.engine,
            vpc=props.vpc,
            vpc_subnets=vpc_subnets,
            subnet_group=self.subnet_group,
            security_groups=[self.security_group],
            writer=self._instance("Writer", promotion_first=True),
            readers=[
                self._instance(reader_id, promotion_first=index == 0)
                for index, reader_id in enumerate(READER_IDS[:readers])
            ],
            serverless_v2_min_capacity=props.serverless_v2_min_capacity if self.serverless else None,
            serverless_v2_max_capacity=props.serverless_v2_max_capacity if self.serverless else None,
            credentials=rds.Credentials.from_secret(self.secret),
            default_database_name=props.default_database_name,
            storage_encrypted=True,
            storage_encryption_key=self.encryption_key,
            parameter_group=self.parameter_group,
            iam_authentication=True,
            backup=rds.BackupProps(
                retention=Duration.days(props.backup_retention_days),
                preferred_window=props.preferred_backup_window,
            ),
            preferred_maintenance_window=props.preferred_maintenance_window,
            backtrack_window=Duration.hours(backtrack_hours) if backtrack_hours else None,
            copy_tags_to_snapshot=True,
            delete_automated_backups=not profile.is_production,
            deletion_protection=deletion_protection,
            removal_policy=profile.snapshot_removal_policy,
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
        self.connections = self.cluster.connections
        self.writer_endpoint = self.cluster.cluster_endpoint
        #: Load-balanced across the readers (the writer when there are none): send reporting queries here.
        self.reader_endpoint = self.cluster.cluster_read_endpoint
        acknowledge_default_port(self.cluster)
        acknowledge_log_retention_provider(self)
        if not deletion_protection:
            acknowledge_no_deletion_protection(self.cluster)

        self.global_cluster: rds.CfnGlobalCluster | None = None
        if props.global_database:
            self.global_cluster = rds.CfnGlobalCluster(
                self,
                "Global",
                source_db_cluster_identifier=self.cluster.cluster_identifier,
                deletion_protection=deletion_protection,
            )
            self.global_cluster.apply_removal_policy(profile.removal_policy)
            if family is EngineFamily.AURORA_MYSQL:
                acknowledge(
                    self.cluster,
                    "AwsSolutions-RDS14",
                    "Backtrack is not available for clusters in an Aurora global database; point-in-time "
                    "restore (backup retention) and the secondary regions cover recovery instead.",
                )

        self.rotation = self.cluster.add_rotation_single_user(
            automatically_after=Duration.days(props.secret_rotation_days),
            vpc_subnets=vpc_subnets,
            endpoint=props.secrets_manager_endpoint,
        )
        CfnOutput(
            self,
            "ReaderEndpoint",
            value=self.reader_endpoint.hostname,
            description=f"Reader endpoint of {self.node.path} (reporting and read-only traffic)",
        )

    def _instance(self, instance_id: str, *, promotion_first: bool) -> rds.IClusterInstance:
        if self.instance_type is None:
            # The first reader scales with the writer, so a failover lands on an instance of equal size.
            return rds.ClusterInstance.serverless_v2(
                instance_id,
                scale_with_writer=promotion_first,
                ca_certificate=rds.CaCertificate.RDS_CA_RSA2048_G1,
                publicly_accessible=False,
                auto_minor_version_upgrade=True,
                **self._instance_insights,  # type: ignore[arg-type]
            )
        return rds.ClusterInstance.provisioned(
            instance_id,
            instance_type=self.instance_type,
            promotion_tier=0 if promotion_first else 1,
            ca_certificate=rds.CaCertificate.RDS_CA_RSA2048_G1,
            publicly_accessible=False,
            auto_minor_version_upgrade=True,
            **self._instance_insights,  # type: ignore[arg-type]
        )

    def _register_secondary(self, region: str) -> None:
        """Called by :class:`AuroraGlobalSecondary` once it is defined."""
        self.secondary_regions.append(region)

    def grant_connect(self, grantee: iam.IGrantable, db_user: str) -> iam.Grant:
        """``rds-db:connect`` as ``db_user`` (IAM database authentication)."""
        return self.cluster.grant_connect(grantee, db_user)

    def grant_secret_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Read the master credentials (and decrypt them with the cluster's key)."""
        return self.secret.grant_read(grantee)

    def metric_cpu_utilization(self) -> cloudwatch.Metric:
        return self.cluster.metric_cpu_utilization()

    def metric_serverless_capacity(self) -> cloudwatch.Metric:
        """ACUs in use (Serverless v2)."""
        return self.cluster.metric("ServerlessDatabaseCapacity", statistic="Maximum")

    def metric_database_connections(self) -> cloudwatch.Metric:
        return self.cluster.metric_database_connections()


#: Instance families an Aurora global database accepts (memory-optimized), besides Serverless v2.
_GLOBAL_INSTANCE_FAMILIES = re.compile(r"^(r\d|x\d)")
_AURORA_SMALLEST_SIZES = frozenset({"nano", "micro", "small"})


def _validate(props: AuroraClusterProps) -> tuple[EngineFamily, int, int | None]:
    """Check the props; returns the family, the reader count and the backtrack window to use."""
    name = AuroraCluster.__name__
    family = family_of(name, props.engine, aurora=True)
    readers = (2 if props.profile.is_production else 0) if props.readers is None else props.readers
    check_range(name, "readers", readers, minimum=0, maximum=MAX_READERS)
    check_backup_retention(name, props.backup_retention_days)
    check_windows(
        name,
        backup_window=props.preferred_backup_window,
        maintenance_window=props.preferred_maintenance_window,
    )
    if props.instance_type is None:
        check_serverless_v2_capacity(
            name, props.engine, props.serverless_v2_min_capacity, props.serverless_v2_max_capacity
        )
    else:
        size = props.instance_type.to_string().partition(".")[2]
        require(
            size not in _AURORA_SMALLEST_SIZES,
            name,
            "instance_type",
            props.instance_type.to_string(),
            "allowed: medium or larger (Aurora has no micro or small instances)",
        )
        require(
            not props.global_database
            or bool(_GLOBAL_INSTANCE_FAMILIES.match(props.instance_type.to_string())),
            name,
            "instance_type",
            props.instance_type.to_string(),
            "allowed in a global database: memory-optimized r or x classes, "
            "or Serverless v2 (no instance_type)",
        )

    backtrack = props.backtrack_window_hours
    if backtrack is not None:
        require(
            family is EngineFamily.AURORA_MYSQL,
            name,
            "backtrack_window_hours",
            backtrack,
            f"allowed: None for {props.engine.engine_type} (backtrack exists for Aurora MySQL only)",
        )
        require(
            not props.global_database,
            name,
            "backtrack_window_hours",
            backtrack,
            "allowed: None with global_database=True (backtrack is not supported in a global database)",
        )
        check_range(name, "backtrack_window_hours", backtrack, minimum=1, maximum=MAX_BACKTRACK_HOURS)
    elif family is EngineFamily.AURORA_MYSQL and not props.global_database:
        backtrack = 24
    check_range(
        name,
        "secret_rotation_days",
        props.secret_rotation_days,
        minimum=MIN_ROTATION_DAYS,
        maximum=MAX_ROTATION_DAYS,
    )
    check_one_of(name, "monitoring_interval_seconds", props.monitoring_interval_seconds, MONITORING_INTERVALS)
    check_tls_not_weakened(name, family, props.parameters)
    return family, readers, backtrack
