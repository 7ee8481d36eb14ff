"""A Memcached cluster for the simple-cache case."""

from __future__ import annotations

from dataclasses import dataclass

import jsii
from aws_cdk import RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticache as elasticache
from constructs import Construct

from dbpatterns.common.interfaces import check_subnet_selection, check_vpc
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.validation import (
    check_instance,
    check_int,
    check_range,
    check_required,
    construct_label,
)
from dbpatterns.common.windows import ELASTICACHE_MIN_WINDOW_MINUTES, check_windows
from dbpatterns.elasticache.network import CacheNetwork, CacheNetworkProps
from dbpatterns.elasticache.replication_group import DEFAULT_MAINTENANCE_WINDOW, check_port
from dbpatterns.elasticache.supported import MEMCACHED, check_engine_version, check_node_type

#: Memcached listens on 11211 by default; cdk-nag AwsSolutions-AEC5 asks for another port.
DEFAULT_MEMCACHED_PORT = 11212
DEFAULT_MEMCACHED_VERSION = "1.6.22"
#: Nodes per Memcached cluster ("Memcached clusters contain from 1 to 60 nodes", ElastiCache User
#: Guide, "Managing clusters", read 2026-12-01).
MIN_NODES, MAX_NODES = 1, 60


@dataclass(frozen=True, kw_only=True)
class MemcachedClusterProps:
    """Props of :class:`MemcachedCluster`."""

    profile: DeploymentProfile
    """Sandbox or production: sizes follow it."""
    vpc: ec2.IVpc
    """The VPC; the subnet group uses its private isolated subnets unless ``vpc_subnets`` says otherwise."""
    vpc_subnets: ec2.SubnetSelection | None = None
    """Subnets of the subnet group - the VPC's private isolated subnets by default."""
    engine_version: str = DEFAULT_MEMCACHED_VERSION
    """Memcached version with encryption in transit (1.6.12, 1.6.17 or 1.6.22) - 1.6.22 by default."""
    cache_node_type: str | None = None
    """Node type, a current-generation type - ``cache.r7g.large`` in production, ``cache.t4g.micro`` in
    a sandbox by default."""
    nodes: int | None = None
    """Nodes (1-60); keys are spread across them by the client - 3 in production, 1 in a sandbox by
    default."""
    port: int = DEFAULT_MEMCACHED_PORT
    """TCP port (1-65535, not 11211) - 11212 by default."""
    maintenance_window: str = DEFAULT_MAINTENANCE_WINDOW
    """Weekly maintenance window (UTC, days in lower case, at least 60 minutes) - ``sun:05:00-sun:06:00``."""


@jsii.implements(ec2.IConnectable)
class MemcachedCluster(Construct):
    """Memcached on ElastiCache: a plain, multi-threaded key-value cache.

    Memcached keeps no data: there is **no persistence** (no snapshots, nothing survives a node
    restart or replacement) and **no failover** (no replicas; a failed node's keys are simply lost
    and refilled from the database by the application). Use it only for data you can recompute;
    use :class:`~dbpatterns.elasticache.replication_group.CacheReplicationGroup` for anything that
    must survive a node failure. Memcached also has no AUTH token on ElastiCache: access is limited
    by the security group (``connections.allow_default_port_from(peer)``). Traffic is encrypted in
    transit (TLS, Memcached 1.6.12+); nodes are spread across AZs when there is more than one.

    Exposes ``resource`` (``CfnCacheCluster``), ``subnet_group``, ``security_group``,
    ``connections`` (``ec2.IConnectable``), ``endpoint_address`` and ``endpoint_port`` (the
    configuration endpoint).
    """

    def __init__(self, scope: Construct, construct_id: str, props: MemcachedClusterProps) -> None:
        label = construct_label(type(self), scope, construct_id)
        check_instance(label, "profile", props.profile, DeploymentProfile)
        check_required(label, "vpc", props.vpc)
        check_vpc(label, props.vpc)
        check_subnet_selection(label, props.vpc_subnets)
        profile = props.profile
        node_type = profile.pick(
            props.cache_node_type, production="cache.r7g.large", sandbox="cache.t4g.micro"
        )
        nodes = profile.pick(props.nodes, production=3, sandbox=1)
        version = check_engine_version(label, MEMCACHED, props.engine_version)
        check_node_type(label, "cache_node_type", node_type, engine=MEMCACHED, version=version)
        check_int(label, "nodes", nodes)
        check_range(label, "nodes", nodes, minimum=MIN_NODES, maximum=MAX_NODES)
        check_windows(
            label,
            backup_window=None,
            maintenance_window=props.maintenance_window,
            maintenance_prop="maintenance_window",
            min_minutes=ELASTICACHE_MIN_WINDOW_MINUTES,
            lowercase_days=True,
        )
        check_port(label, props.port, well_known=11211)
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
        self._connections = network.connections

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

    @property
    def connections(self) -> ec2.Connections:
        """Network access to the cluster (its security group, the Memcached port)."""
        return self._connections
