"""A Memcached cluster for the simple-cache case."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticache as elasticache
from constructs import Construct

from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.validation import PropValidationError, check_range, require
from dbpatterns.elasticache.network import CacheNetwork, CacheNetworkProps
from dbpatterns.elasticache.replication_group import (
    MAINTENANCE_WINDOW_PATTERN,
    check_node_type,
    version_tuple,
)

#: Memcached listens on 11211 by default; cdk-nag AwsSolutions-AEC5 asks for another port.
DEFAULT_MEMCACHED_PORT = 11212
#: Oldest Memcached version with encryption in transit on ElastiCache.
MIN_TLS_VERSION = (1, 6, 12)
DEFAULT_MEMCACHED_VERSION = "1.6.22"
MIN_NODES, MAX_NODES = 1, 40


@dataclass(frozen=True, kw_only=True)
class MemcachedClusterProps:
    """Props of :class:`MemcachedCluster`."""

    #: Sandbox or production: sizes follow it.
    profile: DeploymentProfile
    #: The VPC; the subnet group uses its private isolated subnets unless ``vpc_subnets`` says otherwise.
    vpc: ec2.IVpc
    #: Subnets of the subnet group - the VPC's private isolated subnets by default.
    vpc_subnets: ec2.SubnetSelection | None = None
    #: Memcached version (1.6.12 or newer, for encryption in transit) - 1.6.22 by default.
    engine_version: str = DEFAULT_MEMCACHED_VERSION
    #: Node type - ``cache.r7g.large`` in production, ``cache.t4g.micro`` in a sandbox by default.
    cache_node_type: str | None = None
    #: Nodes (1-40); keys are spread across them by the client - 3 in production, 1 in a sandbox by default.
    nodes: int | None = None
    #: TCP port (1-65535, not 11211) - 11212 by default.
    port: int = DEFAULT_MEMCACHED_PORT
    #: Weekly maintenance window (UTC) - ``sun:05:00-sun:06:00`` by default.
    maintenance_window: str = "sun:05:00-sun:06:00"


class MemcachedCluster(Construct):
    """Memcached on ElastiCache: a plain, multi-threaded key-value cache.

    Memcached keeps no data: there is **no persistence** (no snapshots, nothing survives a node
    restart or replacement) and **no failover** (no replicas; a failed node's keys are simply lost
    and refilled from the database by the application). Use it only for data you can recompute;
    use :class:`~dbpatterns.elasticache.replication_group.CacheReplicationGroup` for anything that
    must survive a node failure. Memcached also has no AUTH token on ElastiCache: access is limited
    by the security group (:meth:`grant_connect`). Traffic is encrypted in transit (TLS, Memcached
    1.6.12+); nodes are spread across AZs when there is more than one.

    Exposes ``resource`` (``CfnCacheCluster``), ``subnet_group``, ``security_group``,
    ``connections``, ``endpoint_address`` and ``endpoint_port`` (the configuration endpoint).
    """

    def __init__(self, scope: Construct, construct_id: str, props: MemcachedClusterProps) -> None:
        name = type(self).__name__
        node_type = props.cache_node_type or (
            "cache.r7g.large" if props.profile.is_production else "cache.t4g.micro"
        )
        nodes = props.nodes if props.nodes is not None else (3 if props.profile.is_production else 1)
        check_node_type(name, "cache_node_type", node_type)
        check_range(name, "nodes", nodes, minimum=MIN_NODES, maximum=MAX_NODES)
        try:
            version = version_tuple(props.engine_version)
        except ValueError:
            raise PropValidationError(
                name, "engine_version", props.engine_version, "allowed: a version such as '1.6.22'"
            ) from None
        require(
            version >= MIN_TLS_VERSION,
            name,
            "engine_version",
            props.engine_version,
            "allowed: 1.6.12 or newer (older Memcached versions have no encryption in transit)",
        )
        require(
            bool(MAINTENANCE_WINDOW_PATTERN.match(props.maintenance_window)),
            name,
            "maintenance_window",
            props.maintenance_window,
            "allowed: a UTC window such as 'sun:05:00-sun:06:00'",
        )
        check_range(name, "port", props.port, minimum=1, maximum=65535)
        require(props.port != 11211, name, "port", props.port, "allowed: any port but 11211")
        super().__init__(scope, construct_id)

        network = CacheNetwork(
            self,
            "Network",
            CacheNetworkProps(vpc=props.vpc, vpc_subnets=props.vpc_subnets),
            port=props.port,
            description="Memcached cluster",
        )
        self.subnet_group = network.subnet_group
        self.security_group = network.security_group
        self.connections = network.connections

        self.resource = elasticache.CfnCacheCluster(
            self,
            "Resource",
            engine="memcached",
            engine_version=props.engine_version,
            cache_node_type=node_type,
            num_cache_nodes=nodes,
            az_mode="cross-az" if nodes > 1 else "single-az",
            port=props.port,
            transit_encryption_enabled=True,
            cache_subnet_group_name=self.subnet_group.ref,
            vpc_security_group_ids=[self.security_group.security_group_id],
            preferred_maintenance_window=props.maintenance_window,
            auto_minor_version_upgrade=True,
        )
        # Nothing to keep: Memcached holds only recomputable data and cannot be snapshotted.
        self.resource.apply_removal_policy(RemovalPolicy.DESTROY)
        self.endpoint_address = self.resource.attr_configuration_endpoint_address
        self.endpoint_port = self.resource.attr_configuration_endpoint_port

    def grant_connect(self, peer: ec2.IConnectable, description: str = "Clients of the cache") -> None:
        """Let ``peer`` open connections to the Memcached port."""
        self.connections.allow_default_port_from(peer, description)
