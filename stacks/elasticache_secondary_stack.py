"""A secondary region of the ElastiCache global datastore: a replication group in that region's network."""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from dbpatterns.common.network import IsolatedNetwork
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.elasticache.global_datastore import CacheGlobalDatastore
from dbpatterns.elasticache.secondary import (
    CacheSecondaryReplicationGroup,
    CacheSecondaryReplicationGroupProps,
)
from stacks.base import ReferenceStack


class ElastiCacheSecondaryStack(ReferenceStack):
    """Read-only copy of the global datastore in this stack's region (deploy after the primary stack)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        profile: DeploymentProfile,
        network: IsolatedNetwork,
        global_datastore: CacheGlobalDatastore,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.network = network
        self.sessions = CacheSecondaryReplicationGroup(
            self,
            "SessionCache",
            CacheSecondaryReplicationGroupProps(
                global_datastore=global_datastore, profile=profile, vpc=self.network.vpc
            ),
        )
        self.readers = ec2.SecurityGroup(
            self,
            "CacheReaders",
            vpc=self.network.vpc,
            description="Application readers of the regional cache copy",
            allow_all_outbound=False,
        )
        self.sessions.connections.allow_default_port_from(self.readers, "Readers of the cache")
