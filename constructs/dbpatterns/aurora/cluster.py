"""An Aurora cluster (MySQL- or PostgreSQL-compatible), provisioned or Serverless v2, optionally the
primary of a global database."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import jsii
from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_rds as rds
from constructs import Construct

from dbpatterns.common.durations import check_duration
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
    is_unresolved,
    require,
)
from dbpatterns.common.windows import DEFAULT_BACKUP_WINDOW, DEFAULT_MAINTENANCE_WINDOW, check_windows
from dbpatterns.rds.engines import EngineFamily, check_engine
from dbpatterns.rds.monitoring import (
    DEFAULT_MONITORING_INTERVAL,
    acknowledge_log_retention_provider,
    check_monitoring_interval,
    enhanced_monitoring_role,
    insights_retention,
    supports_insights,
)
from dbpatterns.rds.names import check_database_name, check_master_username
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

#: Aurora limits (Aurora User Guide): 15 readers per cluster, backtrack up to 72 hours (Aurora MySQL),
#: up to 10 secondary regions in a global database.
MAX_READERS = 15
MAX_BACKTRACK = Duration.hours(72)
DEFAULT_BACKTRACK = Duration.hours(24)
MAX_GLOBAL_SECONDARY_REGIONS = 10
#: Serverless v2 capacity moves in steps of 0.5 ACU; the maximum is at least 1 ACU.
ACU_STEP = 0.5
MIN_MAX_CAPACITY = 1.0
DEFAULT_MIN_CAPACITY, DEFAULT_MAX_CAPACITY = 0.5, 16.0
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


def _check_acu(label: str, prop: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise PropValidationError(label, prop, value, "allowed: a number of ACU, e.g. 0.5 or 16")
    return float(value)


def check_serverless_v2_capacity(
    label: str, engine: rds.IClusterEngine, minimum: object, maximum: object
) -> None:
    """Refuse a capacity range the engine version cannot run (with the range it can)."""
    low, high = serverless_v2_range(engine)
    version = engine.engine_version.full_version if engine.engine_version else "unpinned"
    allowed = f"allowed: {low} to {high} ACU in steps of {ACU_STEP} for {engine.engine_type} {version}"
    values = {}
    for prop, value in (("serverless_v2_min_capacity", minimum), ("serverless_v2_max_capacity", maximum)):
        acu = _check_acu(label, prop, value)
        if acu < low or acu > high or (acu / ACU_STEP) != int(acu / ACU_STEP):
            raise PropValidationError(label, prop, value, allowed)
        values[prop] = acu
    if values["serverless_v2_max_capacity"] < MIN_MAX_CAPACITY:
        raise PropValidationError(
            label, "serverless_v2_max_capacity", maximum, f"allowed: at least {MIN_MAX_CAPACITY} ACU"
        )
    if values["serverless_v2_min_capacity"] > values["serverless_v2_max_capacity"]:
        raise PropValidationError(
            label,
            "serverless_v2_min_capacity",
            minimum,
            f"allowed: at most serverless_v2_max_capacity ({maximum})",
        )


@dataclass(frozen=True, kw_only=True)
class AuroraClusterProps:
    """Props of :class:`AuroraCluster`."""

    engine: rds.IClusterEngine
    """Engine and pinned version, e.g. ``rds.DatabaseClusterEngine.aurora_mysql(version=...)``."""
    profile: DeploymentProfile
    """Sandbox or production: readers, deletion protection and removal follow it."""
    vpc: ec2.IVpc
    """VPC to place the cluster in (use ``IsolatedNetwork(...).vpc``)."""
    vpc_subnets: ec2.SubnetSelection | None = None
    """Subnets in ``vpc`` - the private isolated subnets by default."""
    instance_type: ec2.InstanceType | None = None
    """Instance class of provisioned instances - none by default, which means Serverless v2."""
    serverless_v2_min_capacity: float | None = None
    """Serverless v2 minimum ACU (0 pauses an idle cluster, on engine versions that support it) - 0.5
    by default. Only with Serverless v2 (no ``instance_type``)."""
    serverless_v2_max_capacity: float | None = None
    """Serverless v2 maximum ACU (up to 128 or 256 depending on the engine version) - 16 by default.
    Only with Serverless v2 (no ``instance_type``)."""
    readers: int | None = None
    """Reader instances (0-15); the first is the writer's failover target - 2 in production, 0 in a
    sandbox by default."""
    backup_retention: Duration = DEFAULT_BACKUP_RETENTION
    """Automated backups and point-in-time restore, 1-35 whole days - 7 days by default."""
    preferred_backup_window: str = DEFAULT_BACKUP_WINDOW
    """Daily backup window, ``hh24:mi-hh24:mi`` UTC, at least 30 minutes - ``03:00-04:00`` by default."""
    preferred_maintenance_window: str = DEFAULT_MAINTENANCE_WINDOW
    """Weekly maintenance window, not overlapping the backup window - ``Sun:04:30-Sun:05:30`` by default."""
    backtrack_window: Duration | None = None
    """How far back the cluster can be rewound in place, up to 72 hours in whole seconds (``Duration.
    seconds(0)`` turns it off); Aurora MySQL only and not in a global database - 24 hours for Aurora
    MySQL clusters that are not global, none otherwise, by default."""
    global_database: bool = False
    """Make this cluster the primary of an Aurora global database (adds ``AWS::RDS::GlobalCluster``) - off."""
    deletion_protection: bool | None = None
    """Deletion protection - on in production, off in a sandbox by default."""
    encryption_key: kms.IKey | None = None
    """KMS key for storage, the master secret and Performance Insights - a new key with rotation by
    default."""
    master_username: str = "dbadmin"
    """Master user name (1-16 letters and digits, starting with a letter, not reserved by the engine),
    stored with a generated password in Secrets Manager - ``dbadmin`` by default."""
    secret_rotation: Duration = DEFAULT_ROTATION
    """Time between master password rotations, 4 hours to 1000 days in whole hours - 30 days by default."""
    secrets_manager_endpoint: ec2.IInterfaceVpcEndpoint | None = None
    """The VPC's Secrets Manager interface endpoint the rotation function calls - the regional endpoint."""
    database_insights_mode: rds.DatabaseInsightsMode = rds.DatabaseInsightsMode.STANDARD
    """Database Insights mode - standard (7 days of Performance Insights, free) by default."""
    monitoring_interval: Duration | None = DEFAULT_MONITORING_INTERVAL
    """Enhanced monitoring interval (1, 5, 10, 15, 30 or 60 seconds; ``None`` turns it off) - 60 seconds."""
    parameters: Mapping[str, str] = field(default_factory=dict)
    """Extra cluster parameter-group settings - none by default. The TLS setting cannot be weakened."""
    parameter_group: rds.IParameterGroup | None = None
    """An existing cluster parameter group to use instead of a new one, e.g. one group per major version
    shared by a fleet (RDS allows 50 DB cluster parameter groups per region, a quota that cannot be
    raised). It must require TLS itself: build it with ``dbpatterns.rds.shared.engine_parameter_group``.
    Not together with ``parameters`` - a new group with TLS required by default."""
    subnet_group: rds.ISubnetGroup | None = None
    """An existing DB subnet group in ``vpc`` to use instead of a new one (RDS allows 50 per region).
    Not together with ``vpc_subnets`` - a new group over ``vpc_subnets`` by default."""
    default_database_name: str | None = None
    """Name of a database to create - none by default."""


@dataclass(frozen=True)
class _Resolved:
    """Props after validation and profile defaults."""

    family: EngineFamily
    readers: int
    backtrack_window: Duration | None
    min_capacity: float | None
    max_capacity: float | None


@jsii.implements(ec2.IConnectable)
class AuroraCluster(Construct):
    """An encrypted, TLS-only Aurora cluster with a writer, readers and rotated credentials.

    Exposes ``cluster``, ``writer_endpoint``, ``reader_endpoint`` (for reporting traffic),
    ``encryption_key``, ``secret``, ``security_group``, ``subnet_group``, ``parameter_group`` and
    ``global_cluster`` (``None`` unless ``global_database``). Network access goes through
    ``connections`` (``ec2.IConnectable``, the engine's port); ``grant_connect`` (IAM
    ``rds-db:connect``) and ``grant_secret_read`` grant IAM permissions only; ``metric_*`` wrap the L2's
    metrics. The construct emits no stack outputs: publish ``reader_endpoint.hostname`` from your stack.
    """

    def __init__(self, scope: Construct, construct_id: str, props: AuroraClusterProps) -> None:
        label = construct_label(type(self), scope, construct_id)
        resolved = _validate(label, props)
        super().__init__(scope, construct_id)
        profile = props.profile
        family = resolved.family
        self.engine = props.engine
        self.family = family
        self.profile = profile
        self.serverless = props.instance_type is None
        self.instance_type = props.instance_type
        self.serverless_v2_min_capacity = resolved.min_capacity
        self.serverless_v2_max_capacity = resolved.max_capacity
        self.backup_retention = props.backup_retention
        self.preferred_backup_window = props.preferred_backup_window
        self.preferred_maintenance_window = props.preferred_maintenance_window
        self.backtrack_window = resolved.backtrack_window
        self.monitoring_interval = props.monitoring_interval
        self.secondary_regions: list[str] = []
        deletion_protection = profile.pick(props.deletion_protection, production=True, sandbox=False)
        vpc_subnets = isolated_subnets(props.vpc_subnets)

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
        self.subnet_group: rds.ISubnetGroup = props.subnet_group or rds.SubnetGroup(
            self,
            "Subnets",
            vpc=props.vpc,
            vpc_subnets=vpc_subnets,
            description=f"Aurora cluster {self.node.path}: private isolated subnets",
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.parameter_group: rds.IParameterGroup = props.parameter_group or engine_parameter_group(
            self, "Parameters", props.engine, props.parameters
        )
        self.monitoring_role = (
            enhanced_monitoring_role(self, "MonitoringRole")
            if props.monitoring_interval is not None
            else None
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
                for index, reader_id in enumerate(READER_IDS[: resolved.readers])
            ],
            serverless_v2_min_capacity=resolved.min_capacity,
            serverless_v2_max_capacity=resolved.max_capacity,
            credentials=rds.Credentials.from_secret(self.secret),
            default_database_name=props.default_database_name,
            storage_encrypted=True,
            storage_encryption_key=self.encryption_key,
            parameter_group=self.parameter_group,
            iam_authentication=True,
            backup=rds.BackupProps(
                retention=props.backup_retention,
                preferred_window=props.preferred_backup_window,
            ),
            preferred_maintenance_window=props.preferred_maintenance_window,
            backtrack_window=resolved.backtrack_window,
            copy_tags_to_snapshot=True,
            delete_automated_backups=not profile.is_production,
            deletion_protection=deletion_protection,
            removal_policy=profile.snapshot_removal_policy,
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
        self._connections = engine_port_connections(self.cluster.connections, family.default_port)
        self.writer_endpoint = self.cluster.cluster_endpoint
        #: Load-balanced across the readers (the writer when there are none): send reporting queries here.
        self.reader_endpoint = self.cluster.cluster_read_endpoint
        acknowledge_default_port(self.cluster)
        acknowledge_log_retention_provider(self)
        for member in self.cluster.node.find_all():
            if isinstance(member, rds.CfnDBInstance):
                acknowledge_framework_rule(
                    member,
                    "RDSInBackupPlan",
                    "An Aurora cluster member: AWS Backup backs up the whole cluster, selected by its "
                    "cluster ARN, and never one of its instances.",
                )
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
        if family is EngineFamily.AURORA_MYSQL and resolved.backtrack_window is None:
            acknowledge(
                self.cluster,
                "AwsSolutions-RDS14",
                "Backtrack is not available for clusters in an Aurora global database; point-in-time "
                "restore (backup retention) and the secondary regions cover recovery instead."
                if props.global_database
                else "Backtrack turned off on purpose (backtrack_window=Duration.seconds(0)); "
                "point-in-time restore (backup retention) covers recovery instead.",
            )

        self.rotation = self.cluster.add_rotation_single_user(
            automatically_after=props.secret_rotation,
            vpc_subnets=vpc_subnets,
            endpoint=props.secrets_manager_endpoint,
        )
        pin_ingress_ports(self.cluster.connections, family.default_port)

    @property
    def connections(self) -> ec2.Connections:
        """Network access to the cluster (its security group, the engine's port)."""
        return self._connections

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

    def register_secondary(self, region: str) -> None:
        """Called by :class:`AuroraGlobalSecondary` once it is defined."""
        self.secondary_regions.append(region)

    def grant_connect(self, grantee: iam.IGrantable, db_user: str) -> iam.Grant:
        """``rds-db:connect`` as ``db_user`` (IAM database authentication); IAM only, not the network."""
        return self.cluster.grant_connect(grantee, db_user)

    def grant_secret_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Read the master credentials (and decrypt them with the cluster's key)."""
        return self.secret.grant_read(grantee)

    def metric(self, metric_name: str, props: cloudwatch.MetricOptions | None = None) -> cloudwatch.Metric:
        """Any ``AWS/RDS`` metric of the cluster (``DBClusterIdentifier``), by its CloudWatch name."""
        return self.cluster.metric(metric_name, **metric_kwargs(props))

    def metric_cpu_utilization(self, props: cloudwatch.MetricOptions | None = None) -> cloudwatch.Metric:
        """``CPUUtilization`` (percent)."""
        return self.cluster.metric_cpu_utilization(**metric_kwargs(props))

    def metric_database_connections(self, props: cloudwatch.MetricOptions | None = None) -> cloudwatch.Metric:
        """``DatabaseConnections``."""
        return self.cluster.metric_database_connections(**metric_kwargs(props))

    def metric_freeable_memory(self, props: cloudwatch.MetricOptions | None = None) -> cloudwatch.Metric:
        """``FreeableMemory`` (bytes)."""
        return self.cluster.metric_freeable_memory(**metric_kwargs(props))

    def metric_deadlocks(self, props: cloudwatch.MetricOptions | None = None) -> cloudwatch.Metric:
        """``Deadlocks`` per second."""
        return self.cluster.metric_deadlocks(**metric_kwargs(props))

    def metric_volume_bytes_used(self, props: cloudwatch.MetricOptions | None = None) -> cloudwatch.Metric:
        """``VolumeBytesUsed``: the cluster volume's billed size."""
        return self.cluster.metric_volume_bytes_used(**metric_kwargs(props))

    def metric_serverless_database_capacity(
        self, props: cloudwatch.MetricOptions | None = None
    ) -> cloudwatch.Metric:
        """``ServerlessDatabaseCapacity``: ACUs in use (Serverless v2)."""
        return self.cluster.metric_serverless_database_capacity(**metric_kwargs(props))

    def metric_acu_utilization(self, props: cloudwatch.MetricOptions | None = None) -> cloudwatch.Metric:
        """``ACUUtilization``: capacity in use as a percentage of the maximum (Serverless v2)."""
        return self.cluster.metric_acu_utilization(**metric_kwargs(props))


#: Instance families an Aurora global database accepts (memory-optimized), besides Serverless v2.
_GLOBAL_INSTANCE_FAMILIES = re.compile(r"^(r\d|x\d)")
_AURORA_SMALLEST_SIZES = frozenset({"nano", "micro", "small"})


def _validate(label: str, props: AuroraClusterProps) -> _Resolved:
    """Check the props; returns what the profile and engine defaults resolve to."""
    check_required(label, "engine", props.engine)
    family, _ = check_engine(label, props.engine, aurora=True)
    check_instance(label, "profile", props.profile, DeploymentProfile)
    check_required(label, "vpc", props.vpc)
    check_vpc(label, props.vpc)
    check_subnet_selection(label, props.vpc_subnets)
    check_key(label, props.encryption_key)
    check_interface_endpoint(label, props.secrets_manager_endpoint, "secrets_manager_endpoint")
    check_instance(label, "global_database", props.global_database, bool)
    check_instance(label, "deletion_protection", props.deletion_protection, bool, optional=True)
    check_instance(label, "database_insights_mode", props.database_insights_mode, rds.DatabaseInsightsMode)
    check_int(label, "readers", props.readers, optional=True)
    readers = props.profile.pick(props.readers, production=2, sandbox=0)
    check_range(label, "readers", readers, minimum=0, maximum=MAX_READERS)
    check_backup_retention(label, props.backup_retention)
    check_windows(
        label,
        backup_window=props.preferred_backup_window,
        maintenance_window=props.preferred_maintenance_window,
    )
    min_capacity: float | None = None
    max_capacity: float | None = None
    if props.instance_type is None:
        min_capacity = (
            DEFAULT_MIN_CAPACITY
            if props.serverless_v2_min_capacity is None
            else props.serverless_v2_min_capacity
        )
        max_capacity = (
            DEFAULT_MAX_CAPACITY
            if props.serverless_v2_max_capacity is None
            else props.serverless_v2_max_capacity
        )
        check_serverless_v2_capacity(label, props.engine, min_capacity, max_capacity)
    else:
        name = check_instance_type(label, props.instance_type)
        for prop in ("serverless_v2_min_capacity", "serverless_v2_max_capacity"):
            require(
                getattr(props, prop) is None,
                label,
                prop,
                getattr(props, prop),
                f"allowed: None with instance_type={name} (capacity applies to Serverless v2 only and "
                "would be dropped)",
            )
        require(
            name.partition(".")[2] not in _AURORA_SMALLEST_SIZES,
            label,
            "instance_type",
            name,
            "allowed: medium or larger (Aurora has no nano, micro or small instances)",
        )
        require(
            not props.global_database or bool(_GLOBAL_INSTANCE_FAMILIES.match(name)),
            label,
            "instance_type",
            name,
            "allowed in a global database: memory-optimized r or x classes, "
            "or Serverless v2 (no instance_type)",
        )
    backtrack = _backtrack(label, family, props)
    check_secret_rotation(label, props.secret_rotation)
    check_monitoring_interval(label, props.monitoring_interval)
    check_master_username(label, family, props.master_username, "master_username")
    check_database_name(label, family, props.default_database_name, "default_database_name")
    check_parameters(label, family, props.parameters)
    check_shared_groups(
        label,
        props.parameter_group,
        props.parameters,
        props.subnet_group,
        props.vpc_subnets,
        parameter_group_kind="rds.IParameterGroup (a cluster parameter group)",
    )
    return _Resolved(family, readers, backtrack, min_capacity, max_capacity)


def _backtrack(label: str, family: EngineFamily, props: AuroraClusterProps) -> Duration | None:
    """The backtrack window to set: ``None`` when off."""
    window = props.backtrack_window
    if window is None:
        return (
            DEFAULT_BACKTRACK if family is EngineFamily.AURORA_MYSQL and not props.global_database else None
        )
    shown = window.to_string() if isinstance(window, Duration) else window
    require(
        family is EngineFamily.AURORA_MYSQL,
        label,
        "backtrack_window",
        shown,
        f"allowed: None for {props.engine.engine_type} (backtrack exists for Aurora MySQL only)",
    )
    require(
        not props.global_database,
        label,
        "backtrack_window",
        shown,
        "allowed: None with global_database=True (backtrack is not supported in a global database)",
    )
    check_duration(label, "backtrack_window", window, unit="seconds", maximum=MAX_BACKTRACK)
    if window.to_seconds() == 0:
        return None
    return window
