"""ElastiCache building blocks in the primary region: a Valkey replication group that is the primary
of a global datastore, the global datastore itself, and a Memcached cluster."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from dbpatterns.common.network import IsolatedNetwork
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.elasticache.global_datastore import (
    GLOBAL_NODE_TYPE_PRODUCTION,
    GLOBAL_NODE_TYPE_SANDBOX,
    CacheGlobalDatastore,
    CacheGlobalDatastoreProps,
)
from dbpatterns.elasticache.memcached import MemcachedCluster, MemcachedClusterProps
from dbpatterns.elasticache.replication_group import (
    CacheEngine,
    CacheReplicationGroup,
    CacheReplicationGroupProps,
)
from stacks.base import ReferenceStack


class ElastiCacheShowcaseStack(ReferenceStack):
    """Primary region: network, the global datastore's primary group, the global datastore, Memcached.

    Deploy this stack first; each ``ElastiCacheSecondaryStack`` joins the global datastore after it.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        profile: DeploymentProfile,
        network: IsolatedNetwork,
        secondary_regions: Sequence[str],
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.network = network
        vpc = network.vpc
        global_datastore = bool(secondary_regions)

        self.sessions = CacheReplicationGroup(
            self,
            "SessionCache",
            CacheReplicationGroupProps(
                profile=profile,
                vpc=vpc,
                description="Valkey session cache"
                + (", primary of a global datastore" if global_datastore else ""),
                engine=CacheEngine.VALKEY,
                # A global datastore refuses t-family nodes: the smallest accepted size in a sandbox.
                cache_node_type=profile.pick(
                    None, production=GLOBAL_NODE_TYPE_PRODUCTION, sandbox=GLOBAL_NODE_TYPE_SANDBOX
                )
                if global_datastore
                else None,
            ),
        )
        self.global_datastore = (
            CacheGlobalDatastore(
                self,
                "GlobalSessionCache",
                CacheGlobalDatastoreProps(primary=self.sessions, secondary_regions=secondary_regions),
            )
            if global_datastore
            else None
        )
        self.memcached = MemcachedCluster(self, "PageCache", MemcachedClusterProps(profile=profile, vpc=vpc))

        # The application's functions would join this security group to reach both caches.
        self.clients = ec2.SecurityGroup(
            self,
            "CacheClients",
            vpc=vpc,
            description="Application clients of the caches",
            allow_all_outbound=False,
        )
        self.sessions.connections.allow_default_port_from(self.clients, "Clients of the cache")
        self.memcached.connections.allow_default_port_from(self.clients, "Clients of the cache")
