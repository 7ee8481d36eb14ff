"""The social platform's session cache: the ElastiCache global datastore, wired for the regional stacks.

All cache wiring of use case 2 is here, in two small functions over today's ``dbpatterns.elasticache``
API (``CacheReplicationGroup``, ``CacheGlobalDatastore``, ``CacheSecondaryReplicationGroup``), so a
change to that API (``grant_connect`` -> ``connections``, ``Duration`` props) is adapted in one place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from constructs import Construct

from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.elasticache.global_datastore import (
    GLOBAL_NODE_TYPE_PRODUCTION,
    GLOBAL_NODE_TYPE_SANDBOX,
    CacheGlobalDatastore,
    CacheGlobalDatastoreProps,
)
from dbpatterns.elasticache.replication_group import (
    CacheEngine,
    CacheReplicationGroup,
    CacheReplicationGroupProps,
)
from dbpatterns.elasticache.secondary import (
    CacheSecondaryReplicationGroup,
    CacheSecondaryReplicationGroupProps,
)


@dataclass(frozen=True)
class SessionCache:
    """What a region's handlers need to know about the session cache in that region."""

    reader_endpoint: str
    primary_endpoint: str
    port: int
    connections: ec2.Connections


def add_primary_session_cache(
    scope: Construct,
    *,
    profile: DeploymentProfile,
    vpc: ec2.IVpc,
    key: kms.IKey,
    secondary_keys: Mapping[str, kms.IKey],
    peer_cidrs: Sequence[str],
) -> tuple[CacheGlobalDatastore, SessionCache]:
    """The primary replication group (Valkey, Multi-AZ, TLS, AUTH, ``key`` at rest) and the global
    datastore over ``secondary_keys``' regions. The AUTH token secret is replicated to each of those
    regions under that region's key (the handlers there read it locally), and the group admits the
    other regions' VPCs (``peer_cidrs``) on its port: sessions are written to the primary from every
    region over VPC peering."""
    group = CacheReplicationGroup(
        scope,
        "SessionCache",
        CacheReplicationGroupProps(
            profile=profile,
            vpc=vpc,
            description="Social sessions, primary of the global datastore",
            engine=CacheEngine.VALKEY,
            # A global datastore refuses t-family nodes: the smallest accepted size in a sandbox.
            cache_node_type=GLOBAL_NODE_TYPE_PRODUCTION
            if profile.is_production
            else GLOBAL_NODE_TYPE_SANDBOX,
            encryption_key=key,
        ),
    )
    global_datastore = CacheGlobalDatastore(
        scope,
        "GlobalSessionCache",
        CacheGlobalDatastoreProps(primary=group, secondary_regions=list(secondary_keys)),
    )
    for region, replica_key in secondary_keys.items():
        group.auth_token.add_replica_region(region, replica_key)
    for cidr in peer_cidrs:
        group.connections.allow_default_port_from(ec2.Peer.ipv4(cidr), "Social handlers in a peered region")
    return global_datastore, SessionCache(
        reader_endpoint=group.reader_endpoint_address,
        primary_endpoint=group.endpoint_address,
        port=group.port,
        connections=group.connections,
    )


def add_secondary_session_cache(
    scope: Construct,
    *,
    profile: DeploymentProfile,
    vpc: ec2.IVpc,
    global_datastore: CacheGlobalDatastore,
    peer_cidrs: Sequence[str],
) -> SessionCache:
    """This region's read-only copy of the global datastore. It admits the other regions' VPCs too:
    after ``FailoverGlobalReplicationGroup`` promotes it, they write their sessions here."""
    group = CacheSecondaryReplicationGroup(
        scope,
        "SessionCache",
        CacheSecondaryReplicationGroupProps(global_datastore=global_datastore, profile=profile, vpc=vpc),
    )
    for cidr in peer_cidrs:
        group.connections.allow_default_port_from(ec2.Peer.ipv4(cidr), "Social handlers in a peered region")
    return SessionCache(
        reader_endpoint=group.reader_endpoint_address,
        primary_endpoint=global_datastore.primary.endpoint_address,
        port=global_datastore.primary.port,
        connections=group.connections,
    )
