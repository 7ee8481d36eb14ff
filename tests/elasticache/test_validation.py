"""Bad props fail with a PropValidationError naming the prop, before any resource is defined."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.validation import PropValidationError
from dbpatterns.elasticache import (
    CacheEngine,
    CacheGlobalDatastore,
    CacheGlobalDatastoreProps,
    CacheReplicationGroup,
    CacheReplicationGroupProps,
    CacheSecondaryReplicationGroup,
    CacheSecondaryReplicationGroupProps,
    MemcachedCluster,
    MemcachedClusterProps,
)

PRODUCTION = DeploymentProfile.PRODUCTION


def _stack(app: App, stack_id: str, region: str) -> tuple[Stack, ec2.Vpc]:
    stack = Stack(app, stack_id, env=Environment(account="123456789012", region=region))
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        availability_zones=[f"{region}a", f"{region}b"],
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="Isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        ],
    )
    return stack, vpc


@pytest.fixture(scope="module")
def primary_region() -> tuple[App, Stack, ec2.Vpc]:
    app = App()
    stack, vpc = _stack(app, "Primary", "us-east-1")
    return app, stack, vpc


@pytest.fixture(scope="module")
def global_datastore(primary_region: tuple[App, Stack, ec2.Vpc]) -> CacheGlobalDatastore:
    _, stack, vpc = primary_region
    primary = CacheReplicationGroup(
        stack, "GlobalPrimary", _group_props(vpc, cache_node_type="cache.r7g.large")
    )
    return CacheGlobalDatastore(
        stack,
        "Global",
        CacheGlobalDatastoreProps(primary=primary, secondary_regions=["eu-west-1", "ap-southeast-1"]),
    )


def _group_props(vpc: ec2.IVpc, **overrides: Any) -> CacheReplicationGroupProps:
    props = CacheReplicationGroupProps(profile=PRODUCTION, vpc=vpc, description="Test cache")
    return replace(props, **overrides)


def _empty_scope(stack: Stack) -> Construct:
    """A fresh scope: after a failed constructor it must still have no children."""
    return Construct(stack, f"Scope{len(stack.node.children)}")


def _assert_nothing_defined(scope: Construct) -> None:
    assert scope.node.children == []


# CacheReplicationGroup
def test_rejects_automatic_failover_with_a_single_cache_node(
    primary_region: tuple[App, Stack, ec2.Vpc],
) -> None:
    _, stack, vpc = primary_region
    scope = _empty_scope(stack)
    with pytest.raises(
        PropValidationError, match=r"invalid replicas=0; allowed: at least 1 with automatic_failover"
    ):
        CacheReplicationGroup(scope, "Cache", _group_props(vpc, replicas=0, automatic_failover=True))
    _assert_nothing_defined(scope)


@pytest.mark.parametrize("replicas", [-1, 6])
def test_rejects_replicas_outside_zero_to_five(
    primary_region: tuple[App, Stack, ec2.Vpc], replicas: int
) -> None:
    _, stack, vpc = primary_region
    scope = _empty_scope(stack)
    with pytest.raises(PropValidationError, match=rf"invalid replicas={replicas}; allowed: 0 to 5"):
        CacheReplicationGroup(scope, "Cache", _group_props(vpc, replicas=replicas))
    _assert_nothing_defined(scope)


@pytest.mark.parametrize("days", [0, 36])
def test_rejects_snapshot_retention_outside_one_to_thirty_five_days(
    primary_region: tuple[App, Stack, ec2.Vpc], days: int
) -> None:
    _, stack, vpc = primary_region
    scope = _empty_scope(stack)
    with pytest.raises(
        PropValidationError, match=rf"invalid snapshot_retention_days={days}; allowed: 1 to 35"
    ):
        CacheReplicationGroup(scope, "Cache", _group_props(vpc, snapshot_retention_days=days))
    _assert_nothing_defined(scope)


def test_rejects_an_engine_that_is_not_a_replication_group_engine(
    primary_region: tuple[App, Stack, ec2.Vpc],
) -> None:
    _, stack, vpc = primary_region
    scope = _empty_scope(stack)
    with pytest.raises(PropValidationError, match=r"invalid engine='memcached'.*use MemcachedCluster"):
        CacheReplicationGroup(scope, "Cache", _group_props(vpc, engine="memcached"))
    _assert_nothing_defined(scope)


def test_rejects_a_redis_version_without_encryption_in_transit(
    primary_region: tuple[App, Stack, ec2.Vpc],
) -> None:
    _, stack, vpc = primary_region
    scope = _empty_scope(stack)
    with pytest.raises(
        PropValidationError, match=r"invalid engine_version='3.2.4'; allowed: REDIS_OSS 3.2.6"
    ):
        CacheReplicationGroup(
            scope, "Cache", _group_props(vpc, engine=CacheEngine.REDIS_OSS, engine_version="3.2.4")
        )
    _assert_nothing_defined(scope)


def test_rejects_the_well_known_port(primary_region: tuple[App, Stack, ec2.Vpc]) -> None:
    _, stack, vpc = primary_region
    scope = _empty_scope(stack)
    with pytest.raises(PropValidationError, match=r"invalid port=6379"):
        CacheReplicationGroup(scope, "Cache", _group_props(vpc, port=6379))
    _assert_nothing_defined(scope)


def test_rejects_a_malformed_node_type(primary_region: tuple[App, Stack, ec2.Vpc]) -> None:
    _, stack, vpc = primary_region
    scope = _empty_scope(stack)
    with pytest.raises(PropValidationError, match=r"invalid cache_node_type='r7g.large'"):
        CacheReplicationGroup(scope, "Cache", _group_props(vpc, cache_node_type="r7g.large"))
    _assert_nothing_defined(scope)


# CacheGlobalDatastore
def test_rejects_more_than_two_global_datastore_secondaries(
    primary_region: tuple[App, Stack, ec2.Vpc],
) -> None:
    _, stack, vpc = primary_region
    primary = CacheReplicationGroup(
        stack, "ThreeRegionsPrimary", _group_props(vpc, cache_node_type="cache.r7g.large")
    )
    scope = _empty_scope(stack)
    with pytest.raises(PropValidationError, match=r"invalid secondary_regions=.*allowed: at most 2 regions"):
        CacheGlobalDatastore(
            scope,
            "Global",
            CacheGlobalDatastoreProps(
                primary=primary, secondary_regions=["eu-west-1", "ap-southeast-1", "us-west-2"]
            ),
        )
    _assert_nothing_defined(scope)


def test_rejects_a_global_datastore_built_on_memcached(primary_region: tuple[App, Stack, ec2.Vpc]) -> None:
    _, stack, vpc = primary_region
    memcached = MemcachedCluster(stack, "Memcached", MemcachedClusterProps(profile=PRODUCTION, vpc=vpc))
    scope = _empty_scope(stack)
    with pytest.raises(
        PropValidationError, match=r"invalid primary='MemcachedCluster'.*Memcached has no replication"
    ):
        CacheGlobalDatastore(
            scope,
            "Global",
            CacheGlobalDatastoreProps(primary=memcached, secondary_regions=["eu-west-1"]),  # type: ignore[arg-type]
        )
    _assert_nothing_defined(scope)


def test_rejects_a_global_datastore_on_a_t_family_node(primary_region: tuple[App, Stack, ec2.Vpc]) -> None:
    _, stack, vpc = primary_region
    primary = CacheReplicationGroup(
        stack, "SmallPrimary", _group_props(vpc, cache_node_type="cache.t4g.medium")
    )
    scope = _empty_scope(stack)
    with pytest.raises(PropValidationError, match=r"invalid primary.cache_node_type='cache.t4g.medium'"):
        CacheGlobalDatastore(
            scope, "Global", CacheGlobalDatastoreProps(primary=primary, secondary_regions=[])
        )
    _assert_nothing_defined(scope)


def test_rejects_a_global_datastore_on_redis_older_than_5_0_6(
    primary_region: tuple[App, Stack, ec2.Vpc],
) -> None:
    _, stack, vpc = primary_region
    primary = CacheReplicationGroup(
        stack,
        "OldPrimary",
        _group_props(
            vpc, engine=CacheEngine.REDIS_OSS, engine_version="5.0.5", cache_node_type="cache.r5.large"
        ),
    )
    scope = _empty_scope(stack)
    with pytest.raises(
        PropValidationError, match=r"invalid primary.engine_version='5.0.5'; allowed: REDIS_OSS 5.0.6"
    ):
        CacheGlobalDatastore(
            scope, "Global", CacheGlobalDatastoreProps(primary=primary, secondary_regions=[])
        )
    _assert_nothing_defined(scope)


def test_rejects_the_primary_region_as_a_secondary_region(primary_region: tuple[App, Stack, ec2.Vpc]) -> None:
    _, stack, vpc = primary_region
    primary = CacheReplicationGroup(
        stack, "SameRegionPrimary", _group_props(vpc, cache_node_type="cache.r7g.large")
    )
    scope = _empty_scope(stack)
    with pytest.raises(PropValidationError, match=r"allowed: regions other than the primary's \(us-east-1\)"):
        CacheGlobalDatastore(
            scope, "Global", CacheGlobalDatastoreProps(primary=primary, secondary_regions=["us-east-1"])
        )
    _assert_nothing_defined(scope)


# CacheSecondaryReplicationGroup
def test_rejects_a_secondary_in_a_region_the_global_datastore_does_not_list(
    primary_region: tuple[App, Stack, ec2.Vpc], global_datastore: CacheGlobalDatastore
) -> None:
    app, _, _ = primary_region
    stack, vpc = _stack(app, "Oregon", "us-west-2")
    scope = _empty_scope(stack)
    with pytest.raises(PropValidationError, match=r"invalid region='us-west-2'; allowed: one of the global"):
        CacheSecondaryReplicationGroup(
            scope,
            "Secondary",
            CacheSecondaryReplicationGroupProps(
                global_datastore=global_datastore, profile=PRODUCTION, vpc=vpc
            ),
        )
    _assert_nothing_defined(scope)


def test_rejects_a_second_secondary_in_the_same_region(
    primary_region: tuple[App, Stack, ec2.Vpc], global_datastore: CacheGlobalDatastore
) -> None:
    app, _, _ = primary_region
    stack, vpc = _stack(app, "Sydney", "ap-southeast-1")
    props = CacheSecondaryReplicationGroupProps(
        global_datastore=global_datastore, profile=PRODUCTION, vpc=vpc
    )
    CacheSecondaryReplicationGroup(stack, "First", props)
    scope = _empty_scope(stack)
    with pytest.raises(
        PropValidationError, match=r"invalid region='ap-southeast-1'; allowed: one secondary per region"
    ):
        CacheSecondaryReplicationGroup(scope, "Second", props)
    _assert_nothing_defined(scope)


def test_rejects_a_secondary_without_a_replica_when_the_primary_fails_over(
    primary_region: tuple[App, Stack, ec2.Vpc], global_datastore: CacheGlobalDatastore
) -> None:
    app, _, _ = primary_region
    stack, vpc = _stack(app, "Ireland", "eu-west-1")
    scope = _empty_scope(stack)
    with pytest.raises(
        PropValidationError, match=r"invalid replicas=0; allowed: at least 1 \(the secondary inherits"
    ):
        CacheSecondaryReplicationGroup(
            scope,
            "Secondary",
            CacheSecondaryReplicationGroupProps(
                global_datastore=global_datastore, profile=PRODUCTION, vpc=vpc, replicas=0
            ),
        )
    _assert_nothing_defined(scope)


# MemcachedCluster
def test_rejects_memcached_older_than_1_6_12_which_has_no_encryption_in_transit(
    primary_region: tuple[App, Stack, ec2.Vpc],
) -> None:
    _, stack, vpc = primary_region
    scope = _empty_scope(stack)
    with pytest.raises(
        PropValidationError, match=r"invalid engine_version='1.6.6'; allowed: 1.6.12 or newer"
    ):
        MemcachedCluster(
            scope, "Memcached", MemcachedClusterProps(profile=PRODUCTION, vpc=vpc, engine_version="1.6.6")
        )
    _assert_nothing_defined(scope)


@pytest.mark.parametrize("nodes", [0, 41])
def test_rejects_memcached_node_counts_outside_one_to_forty(
    primary_region: tuple[App, Stack, ec2.Vpc], nodes: int
) -> None:
    _, stack, vpc = primary_region
    scope = _empty_scope(stack)
    with pytest.raises(PropValidationError, match=rf"invalid nodes={nodes}; allowed: 1 to 40"):
        MemcachedCluster(scope, "Memcached", MemcachedClusterProps(profile=PRODUCTION, vpc=vpc, nodes=nodes))
    _assert_nothing_defined(scope)
