"""A Redis OSS or Valkey replication group (cluster mode disabled) with secure, durable defaults."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticache as elasticache
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from dbpatterns.common.encryption import create_key
from dbpatterns.common.logs import create_log_group
from dbpatterns.common.nag import acknowledge
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.validation import PropValidationError, check_range, require
from dbpatterns.elasticache.network import CacheNetwork, CacheNetworkProps

#: ElastiCache limits for a cluster-mode-disabled replication group (one node group).
MIN_REPLICAS, MAX_REPLICAS = 0, 5
MIN_SNAPSHOT_RETENTION_DAYS, MAX_SNAPSHOT_RETENTION_DAYS = 1, 35
MIN_PORT, MAX_PORT = 1, 65535
#: Valkey/Redis OSS listen on 6379 by default; cdk-nag AwsSolutions-AEC5 asks for another port.
DEFAULT_PORT = 6380
#: The AUTH token: 64 letters and digits, well inside ElastiCache's 16-128 printable characters.
AUTH_TOKEN_LENGTH = 64

NODE_TYPE_PATTERN = re.compile(r"^cache\.(?P<family>[a-z0-9]+)\.(?P<size>[a-z0-9]+)$")
_VERSION_PATTERN = re.compile(r"^\d+\.\d+(\.\d+)?$")
_SNAPSHOT_WINDOW = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")
_DAY = r"(mon|tue|wed|thu|fri|sat|sun)"
MAINTENANCE_WINDOW_PATTERN = re.compile(rf"^{_DAY}:([01]\d|2[0-3]):[0-5]\d-{_DAY}:([01]\d|2[0-3]):[0-5]\d$")


class CacheEngine(enum.Enum):
    """The engine of a replication group. Memcached has no replication: see ``MemcachedCluster``."""

    #: Valkey, the open-source fork of Redis OSS 7.2 (the default; cheaper on ElastiCache).
    VALKEY = "valkey"
    #: Redis OSS.
    REDIS_OSS = "redis"

    @property
    def default_version(self) -> str:
        return {CacheEngine.VALKEY: "8.0", CacheEngine.REDIS_OSS: "7.1"}[self]

    @property
    def minimum_version(self) -> tuple[int, ...]:
        """Oldest version with encryption in transit, at rest and AUTH (every Valkey version has them)."""
        return {CacheEngine.VALKEY: (7, 2), CacheEngine.REDIS_OSS: (3, 2, 6)}[self]


def version_tuple(version: str) -> tuple[int, ...]:
    """``"7.1"`` -> ``(7, 1)``, for comparing engine versions."""
    return tuple(int(part) for part in version.split("."))


def check_node_type(construct: str, prop: str, node_type: str) -> re.Match[str]:
    """Fail unless ``node_type`` looks like ``cache.<family>.<size>``; return the match."""
    match = NODE_TYPE_PATTERN.match(node_type)
    if match is None:
        raise PropValidationError(
            construct, prop, node_type, "allowed: a node type such as 'cache.r7g.large'"
        )
    return match


def check_engine_version(construct: str, engine: CacheEngine, version: str) -> None:
    if not _VERSION_PATTERN.match(version):
        raise PropValidationError(construct, "engine_version", version, "allowed: a version such as '7.1'")
    minimum = ".".join(str(part) for part in engine.minimum_version)
    require(
        version_tuple(version) >= engine.minimum_version,
        construct,
        "engine_version",
        version,
        f"allowed: {engine.name} {minimum} or newer (encryption in transit, at rest and AUTH)",
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

    #: Sandbox or production: sizes, snapshot retention and removal follow it.
    profile: DeploymentProfile
    #: The VPC; the subnet group uses its private isolated subnets unless ``vpc_subnets`` says otherwise.
    vpc: ec2.IVpc
    #: What the cache is for, shown in the console.
    description: str
    #: Subnets of the subnet group - the VPC's private isolated subnets by default.
    vpc_subnets: ec2.SubnetSelection | None = None
    #: Engine - Valkey by default.
    engine: CacheEngine = CacheEngine.VALKEY
    #: Engine version - the engine's :attr:`CacheEngine.default_version` by default (Valkey 8.0).
    engine_version: str | None = None
    #: Node type - ``cache.r7g.large`` in production, ``cache.t4g.micro`` in a sandbox by default.
    cache_node_type: str | None = None
    #: Read replicas of the primary node (0-5) - 2 in production, 1 in a sandbox by default.
    replicas: int | None = None
    #: Multi-AZ with automatic failover to a replica (needs at least one replica) - on by default.
    automatic_failover: bool = True
    #: Days of daily snapshots to keep (1-35) - 7 in production, 1 in a sandbox by default.
    snapshot_retention_days: int | None = None
    #: Daily snapshot window (UTC, ``hh:mm-hh:mm``) - ``03:00-04:00`` by default.
    snapshot_window: str = "03:00-04:00"
    #: Weekly maintenance window (UTC, ``ddd:hh:mm-ddd:hh:mm``) - ``sun:05:00-sun:06:00`` by default.
    maintenance_window: str = "sun:05:00-sun:06:00"
    #: TCP port (1-65535, not 6379) - 6380 by default (not the well-known 6379).
    port: int = DEFAULT_PORT
    #: Customer-managed key for data at rest and the AUTH token secret - a new key by default.
    encryption_key: kms.IKey | None = None


class CacheReplicationGroup(Construct):
    """Valkey or Redis OSS, cluster mode disabled: one primary node and up to five replicas.

    Secure by default in both profiles: encryption in transit (TLS required) and at rest with a
    customer-managed KMS key, an AUTH token generated in Secrets Manager (encrypted with the same
    key) and passed to ElastiCache as a dynamic reference, private subnets, and a security group
    that admits nobody until :meth:`grant_connect`. Durable: Multi-AZ with automatic failover, daily
    snapshots, and a final snapshot when deleted in production.

    Exposes ``resource`` (``CfnReplicationGroup``), ``auth_token`` (the secret), ``encryption_key``,
    ``subnet_group``, ``security_group``, ``connections``, ``slow_log``, ``endpoint_address``,
    ``endpoint_port`` and ``reader_endpoint_address``.
    """

    def __init__(self, scope: Construct, construct_id: str, props: CacheReplicationGroupProps) -> None:
        name = type(self).__name__
        require(
            isinstance(props.engine, CacheEngine),
            name,
            "engine",
            props.engine,
            "allowed: CacheEngine.VALKEY or CacheEngine.REDIS_OSS (Memcached has no replication: use "
            "MemcachedCluster)",
        )
        engine_version = props.engine_version or props.engine.default_version
        node_type = props.cache_node_type or (
            "cache.r7g.large" if props.profile.is_production else "cache.t4g.micro"
        )
        replicas = props.replicas if props.replicas is not None else (2 if props.profile.is_production else 1)
        retention = (
            props.snapshot_retention_days
            if props.snapshot_retention_days is not None
            else (7 if props.profile.is_production else 1)
        )
        _validate(name, props, engine_version, node_type, replicas, retention)
        super().__init__(scope, construct_id)

        self.engine = props.engine
        self.engine_version = engine_version
        self.cache_node_type = node_type
        self.replicas = replicas
        self.automatic_failover = props.automatic_failover
        self.port = props.port
        self.profile = props.profile
        self.region = Stack.of(self).region

        self.encryption_key: kms.IKey = props.encryption_key or create_key(
            self, "Key", description=f"Encrypts the ElastiCache cache {self.node.path}", profile=props.profile
        )
        self.auth_token = secretsmanager.Secret(
            self,
            "AuthToken",
            description=f"AUTH token of the ElastiCache cache {self.node.path}",
            encryption_key=self.encryption_key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=AUTH_TOKEN_LENGTH, exclude_punctuation=True, include_space=False
            ),
            removal_policy=props.profile.removal_policy,
        )
        acknowledge(
            self.auth_token,
            "AwsSolutions-SMG4",
            "An ElastiCache AUTH token is rotated with ModifyReplicationGroup (AuthTokenUpdateStrategy "
            "ROTATE, then SET) and no hosted Secrets Manager rotation exists for it; rotate it with that "
            "two-step procedure (see docs/building-blocks-elasticache.md).",
        )

        network = CacheNetwork(
            self,
            "Network",
            CacheNetworkProps(vpc=props.vpc, vpc_subnets=props.vpc_subnets),
            port=props.port,
            description=props.description,
        )
        self.subnet_group = network.subnet_group
        self.security_group = network.security_group
        self.connections = network.connections
        self.slow_log = create_log_group(self, "SlowLog", profile=props.profile)

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
            snapshot_retention_limit=retention,
            snapshot_window=props.snapshot_window,
            preferred_maintenance_window=props.maintenance_window,
            auto_minor_version_upgrade=True,
            log_delivery_configurations=slow_log_delivery(self.slow_log),
        )
        self.resource.apply_removal_policy(props.profile.snapshot_removal_policy)

        self.endpoint_address = self.resource.attr_primary_end_point_address
        self.endpoint_port = self.resource.attr_primary_end_point_port
        self.reader_endpoint_address = self.resource.attr_reader_end_point_address

    def grant_connect(self, peer: ec2.IConnectable, description: str = "Clients of the cache") -> None:
        """Let ``peer`` (a function, a security group...) open connections to the cache port."""
        self.connections.allow_default_port_from(peer, description)

    def grant_read_auth_token(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` read the AUTH token (includes decrypting it with the key)."""
        return self.auth_token.grant_read(grantee)


def _validate(
    name: str,
    props: CacheReplicationGroupProps,
    engine_version: str,
    node_type: str,
    replicas: int,
    retention: int,
) -> None:
    check_engine_version(name, props.engine, engine_version)
    check_node_type(name, "cache_node_type", node_type)
    check_range(name, "replicas", replicas, minimum=MIN_REPLICAS, maximum=MAX_REPLICAS)
    require(
        not props.automatic_failover or replicas >= 1,
        name,
        "replicas",
        replicas,
        "allowed: at least 1 with automatic_failover=True (failover promotes a replica; a single node "
        "has none)",
    )
    check_range(
        name,
        "snapshot_retention_days",
        retention,
        minimum=MIN_SNAPSHOT_RETENTION_DAYS,
        maximum=MAX_SNAPSHOT_RETENTION_DAYS,
    )
    require(
        bool(_SNAPSHOT_WINDOW.match(props.snapshot_window)),
        name,
        "snapshot_window",
        props.snapshot_window,
        "allowed: a UTC window such as '03:00-04:00'",
    )
    require(
        bool(MAINTENANCE_WINDOW_PATTERN.match(props.maintenance_window)),
        name,
        "maintenance_window",
        props.maintenance_window,
        "allowed: a UTC window such as 'sun:05:00-sun:06:00'",
    )
    check_range(name, "port", props.port, minimum=MIN_PORT, maximum=MAX_PORT)
    require(
        props.port != 6379,
        name,
        "port",
        props.port,
        "allowed: any port but 6379 (the well-known Valkey/Redis port)",
    )
