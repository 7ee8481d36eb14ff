"""A Redis OSS or Valkey replication group (cluster mode disabled) with secure, durable defaults."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

import jsii
from aws_cdk import Duration, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticache as elasticache
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from dbpatterns.common.durations import check_duration, whole
from dbpatterns.common.encryption import create_key
from dbpatterns.common.interfaces import check_key, check_subnet_selection, check_vpc
from dbpatterns.common.logs import create_log_group
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
from dbpatterns.common.windows import ELASTICACHE_MIN_WINDOW_MINUTES, check_windows
from dbpatterns.elasticache.network import CacheNetwork, CacheNetworkProps
from dbpatterns.elasticache.supported import REDIS_OSS, VALKEY, check_engine_version, check_node_type

#: ElastiCache limits for a cluster-mode-disabled replication group (one node group).
MIN_REPLICAS, MAX_REPLICAS = 0, 5
#: Daily snapshots kept (``SnapshotRetentionLimit``, in days; 0 would turn snapshots off).
MIN_SNAPSHOT_RETENTION, MAX_SNAPSHOT_RETENTION = Duration.days(1), Duration.days(35)
#: Default snapshot retention in production: 15 days, the least NIST 800-53 R5 and HIPAA Security
#: (cdk-nag ``ElastiCacheRedisClusterAutomaticBackup``) accept. A sandbox keeps 1 day.
PRODUCTION_SNAPSHOT_RETENTION, SANDBOX_SNAPSHOT_RETENTION = Duration.days(15), Duration.days(1)


def acknowledge_sandbox_snapshots(resource: Construct) -> None:
    """The compliance packs' 15-day snapshot finding on a sandbox cache that keeps the default 1 day."""
    acknowledge_framework_rule(
        resource,
        "ElastiCacheRedisClusterAutomaticBackup",
        "Sandbox default: one daily snapshot kept for 1 day, enough to test a restore; the cache holds "
        "sessions and cached reads rebuilt from the source, and production keeps 15 days.",
    )


MIN_PORT, MAX_PORT = 1, 65535
#: Valkey/Redis OSS listen on 6379 by default; cdk-nag AwsSolutions-AEC5 asks for another port.
DEFAULT_PORT = 6380
#: The AUTH token: 64 letters and digits, well inside ElastiCache's 16-128 printable characters.
AUTH_TOKEN_LENGTH = 64
DEFAULT_SNAPSHOT_WINDOW = "03:00-04:00"
DEFAULT_MAINTENANCE_WINDOW = "sun:05:00-sun:06:00"
#: Characters EC2 accepts in a security group description (the description ends up there), and room
#: for the text the network construct adds (EC2 allows 255 characters).
_DESCRIPTION = re.compile(r"^[A-Za-z0-9 ._\-:/()#,@\[\]+=&;{}!$*]+$")
MAX_DESCRIPTION_LENGTH = 200


class CacheEngine(enum.Enum):
    """The engine of a replication group. Memcached has no replication: see ``MemcachedCluster``."""

    #: Valkey, the open-source fork of Redis OSS 7.2 (the default; cheaper on ElastiCache).
    VALKEY = VALKEY
    #: Redis OSS.
    REDIS_OSS = REDIS_OSS

    @property
    def default_version(self) -> str:
        return {CacheEngine.VALKEY: "8.0", CacheEngine.REDIS_OSS: "7.1"}[self]


def check_description(construct: str, prop: str, value: object) -> str:
    """A non-empty description EC2 accepts in a security group description (where it also goes)."""
    if not isinstance(value, str) or not value.strip():
        raise PropValidationError(construct, prop, value, "allowed: a non-empty description of the cache")
    if len(value) > MAX_DESCRIPTION_LENGTH or not _DESCRIPTION.match(value):
        raise PropValidationError(
            construct,
            prop,
            value,
            f"allowed: at most {MAX_DESCRIPTION_LENGTH} characters among letters, digits, spaces and "
            "._-:/()#,@[]+=&;{}!$* (it is also the security group's description)",
        )
    return value


def check_snapshot_retention(construct: str, value: object, prop: str = "snapshot_retention") -> None:
    check_duration(
        construct,
        prop,
        value,
        unit="days",
        minimum=MIN_SNAPSHOT_RETENTION,
        maximum=MAX_SNAPSHOT_RETENTION,
    )


def check_port(construct: str, value: object, *, well_known: int) -> None:
    check_int(construct, "port", value)
    check_range(construct, "port", value, minimum=MIN_PORT, maximum=MAX_PORT)  # type: ignore[arg-type]
    require(
        value != well_known,
        construct,
        "port",
        value,
        f"allowed: any port but {well_known} (the engine's well-known port; cdk-nag AwsSolutions-AEC5)",
    )


def slow_log_delivery(
    log_group: logs.ILogGroup,
) -> list[elasticache.CfnReplicationGroup.LogDeliveryConfigurationRequestProperty]:
    """Deliver the slow log as JSON to ``log_group``."""
    return [
        elasticache.CfnReplicationGroup.LogDeliveryConfigurationRequestProperty(
            destination_type="cloudwatch-logs",
            log_format="json",
            log_type="slow-log",
            destination_details=elasticache.CfnReplicationGroup.DestinationDetailsProperty(
                cloud_watch_logs_details=elasticache.CfnReplicationGroup.CloudWatchLogsDestinationDetailsProperty(
                    log_group=log_group.log_group_name
                )
            ),
        )
    ]


@dataclass(frozen=True, kw_only=True)
class CacheReplicationGroupProps:
    """Props of :class:`CacheReplicationGroup`."""

    profile: DeploymentProfile
    """Sandbox or production: sizes, snapshot retention and removal follow it."""
    vpc: ec2.IVpc
    """The VPC; the subnet group uses its private isolated subnets unless ``vpc_subnets`` says otherwise."""
    description: str
    """What the cache is for, shown in the console (non-empty, also the security group's description)."""
    vpc_subnets: ec2.SubnetSelection | None = None
    """Subnets of the subnet group - the VPC's private isolated subnets by default."""
    engine: CacheEngine = CacheEngine.VALKEY
    """Engine - Valkey by default."""
    engine_version: str | None = None
    """Engine version, one of ``dbpatterns.elasticache.supported.ENGINE_VERSIONS`` - the engine's
    :attr:`CacheEngine.default_version` by default (Valkey 8.0)."""
    cache_node_type: str | None = None
    """Node type, a current-generation type that runs the engine version - ``cache.r7g.large`` in
    production, ``cache.t4g.micro`` in a sandbox by default."""
    replicas: int | None = None
    """Read replicas of the primary node (0-5) - 2 in production, 1 in a sandbox by default."""
    automatic_failover: bool = True
    """Multi-AZ with automatic failover to a replica (needs at least one replica) - on by default."""
    snapshot_retention: Duration | None = None
    """Daily snapshots to keep, 1-35 whole days - 15 days in production, 1 day in a sandbox by default."""
    snapshot_window: str = DEFAULT_SNAPSHOT_WINDOW
    """Daily snapshot window (UTC, ``hh24:mi-hh24:mi``, at least 60 minutes, not overlapping the
    maintenance window) - ``03:00-04:00`` by default."""
    maintenance_window: str = DEFAULT_MAINTENANCE_WINDOW
    """Weekly maintenance window (UTC, ``ddd:hh24:mi-ddd:hh24:mi`` with days in lower case, at least
    60 minutes) - ``sun:05:00-sun:06:00`` by default."""
    port: int = DEFAULT_PORT
    """TCP port (1-65535, not 6379) - 6380 by default (not the well-known 6379)."""
    encryption_key: kms.IKey | None = None
    """Customer-managed key for data at rest and the AUTH token secret - a new key by default."""


@jsii.implements(ec2.IConnectable)
class CacheReplicationGroup(Construct):
    """Valkey or Redis OSS, cluster mode disabled: one primary node and up to five replicas.

    Secure by default in both profiles: encryption in transit (TLS required) and at rest with a
    customer-managed KMS key, an AUTH token generated in Secrets Manager (encrypted with the same
    key) and passed to ElastiCache as a dynamic reference, private subnets, and a security group
    that admits nobody until you allow a peer through ``connections``
    (``cache.connections.allow_default_port_from(app)``). Durable: Multi-AZ with automatic failover,
    daily snapshots, and a final snapshot when deleted in production.

    Exposes ``resource`` (``CfnReplicationGroup``), ``auth_token`` (the secret), ``encryption_key``,
    ``subnet_group``, ``security_group``, ``connections`` (``ec2.IConnectable``), ``slow_log``,
    ``endpoint_address``, ``endpoint_port`` and ``reader_endpoint_address``;
    ``grant_read_auth_token`` (IAM only).
    """

    def __init__(self, scope: Construct, construct_id: str, props: CacheReplicationGroupProps) -> None:
        label = construct_label(type(self), scope, construct_id)
        check_instance(label, "profile", props.profile, DeploymentProfile)
        require(
            isinstance(props.engine, CacheEngine),
            label,
            "engine",
            props.engine,
            "allowed: CacheEngine.VALKEY or CacheEngine.REDIS_OSS (Memcached has no replication: use "
            "MemcachedCluster)",
        )
        profile = props.profile
        engine_version = props.engine_version or props.engine.default_version
        node_type = profile.pick(
            props.cache_node_type, production="cache.r7g.large", sandbox="cache.t4g.micro"
        )
        replicas = profile.pick(props.replicas, production=2, sandbox=1)
        retention = profile.pick(
            props.snapshot_retention,
            production=PRODUCTION_SNAPSHOT_RETENTION,
            sandbox=SANDBOX_SNAPSHOT_RETENTION,
        )
        _validate(label, props, engine_version, node_type, replicas, retention)
        super().__init__(scope, construct_id)

        self.engine = props.engine
        self.engine_version = engine_version
        self.cache_node_type = node_type
        self.replicas = replicas
        self.automatic_failover = props.automatic_failover
        self.port = props.port
        self.profile = profile
        self.region = Stack.of(self).region

        self.encryption_key: kms.IKey = props.encryption_key or create_key(
            self, "Key", description=f"Encrypts the ElastiCache cache {self.node.path}", profile=profile
        )
        self.auth_token = secretsmanager.Secret(
            self,
            "AuthToken",
            description=f"AUTH token of the ElastiCache cache {self.node.path}",
            encryption_key=self.encryption_key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=AUTH_TOKEN_LENGTH, exclude_punctuation=True, include_space=False
            ),
            removal_policy=profile.removal_policy,
        )
        manual_rotation = (
            "An ElastiCache AUTH token is rotated with ModifyReplicationGroup (AuthTokenUpdateStrategy "
            "ROTATE, then SET) and no hosted Secrets Manager rotation exists for it; rotate it with that "
            "two-step procedure (see docs/building-blocks-elasticache.md)."
        )
        acknowledge(self.auth_token, "AwsSolutions-SMG4", manual_rotation)
        acknowledge_framework_rule(self.auth_token, "SecretsManagerRotationEnabled", manual_rotation)

        network = CacheNetwork(
            self,
            "Network",
            CacheNetworkProps(vpc=props.vpc, vpc_subnets=props.vpc_subnets),
            port=props.port,
            description=props.description,
        )
        self.subnet_group = network.subnet_group
        self.security_group = network.security_group
        self._connections = network.connections
        self.slow_log = create_log_group(self, "SlowLog", profile=profile)

        self.resource = elasticache.CfnReplicationGroup(
            self,
            "Resource",
            replication_group_description=props.description,
            engine=props.engine.value,
            engine_version=engine_version,
            cache_node_type=node_type,
            cluster_mode="disabled",
            num_cache_clusters=1 + replicas,
            automatic_failover_enabled=props.automatic_failover,
            multi_az_enabled=props.automatic_failover,
            transit_encryption_enabled=True,
            at_rest_encryption_enabled=True,
            kms_key_id=self.encryption_key.key_id,
            # A CloudFormation dynamic reference ({{resolve:secretsmanager:...}}): the token never
            # appears in the template; CloudFormation reads it from Secrets Manager at deploy time.
            auth_token=self.auth_token.secret_value.unsafe_unwrap(),
            port=props.port,
            cache_subnet_group_name=self.subnet_group.ref,
            security_group_ids=[self.security_group.security_group_id],
            snapshot_retention_limit=whole(retention, "days"),
            snapshot_window=props.snapshot_window,
            preferred_maintenance_window=props.maintenance_window,
            auto_minor_version_upgrade=True,
            log_delivery_configurations=slow_log_delivery(self.slow_log),
        )
        self.resource.apply_removal_policy(profile.snapshot_removal_policy)
        if props.snapshot_retention is None and not profile.is_production:
            acknowledge_sandbox_snapshots(self.resource)

        self.endpoint_address = self.resource.attr_primary_end_point_address
        self.endpoint_port = self.resource.attr_primary_end_point_port
        self.reader_endpoint_address = self.resource.attr_reader_end_point_address

    @property
    def connections(self) -> ec2.Connections:
        """Network access to the cache (its security group, the cache port)."""
        return self._connections

    def grant_read_auth_token(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` read the AUTH token (includes decrypting it with the key); IAM only."""
        return self.auth_token.grant_read(grantee)


def _validate(
    label: str,
    props: CacheReplicationGroupProps,
    engine_version: str,
    node_type: str,
    replicas: int,
    retention: Duration,
) -> None:
    check_required(label, "vpc", props.vpc)
    check_vpc(label, props.vpc)
    check_subnet_selection(label, props.vpc_subnets)
    check_key(label, props.encryption_key)
    check_description(label, "description", props.description)
    check_engine_version(label, props.engine.value, engine_version)
    check_node_type(label, "cache_node_type", node_type, engine=props.engine.value, version=engine_version)
    check_instance(label, "automatic_failover", props.automatic_failover, bool)
    check_int(label, "replicas", replicas)
    check_range(label, "replicas", replicas, minimum=MIN_REPLICAS, maximum=MAX_REPLICAS)
    require(
        not props.automatic_failover or replicas >= 1,
        label,
        "replicas",
        replicas,
        "allowed: at least 1 with automatic_failover=True (failover promotes a replica; a single node "
        "has none)",
    )
    check_snapshot_retention(label, retention)
    check_windows(
        label,
        backup_window=props.snapshot_window,
        maintenance_window=props.maintenance_window,
        backup_prop="snapshot_window",
        maintenance_prop="maintenance_window",
        min_minutes=ELASTICACHE_MIN_WINDOW_MINUTES,
        lowercase_days=True,
    )
    check_port(label, props.port, well_known=6379)
