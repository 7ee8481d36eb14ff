"""Bad props fail with a PropValidationError naming the prop, before any resource is defined."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from aws_cdk import App, Duration, Environment, Stack
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
        PropValidationError,
        match=rf"invalid snapshot_retention='Duration.days\({days}\)'; "
        r"allowed: Duration.days\(1\) to Duration.days\(35\), in whole days",
    ):
        CacheReplicationGroup(scope, "Cache", _group_props(vpc, snapshot_retention=Duration.days(days)))
    _assert_nothing_defined(scope)


def test_rejects_snapshot_retention_in_part_days(primary_region: tuple[App, Stack, ec2.Vpc]) -> None:
    _, stack, vpc = primary_region
    scope = _empty_scope(stack)
    with pytest.raises(PropValidationError, match=r"invalid snapshot_retention='Duration.hours\(12\)'"):
        CacheReplicationGroup(scope, "Cache", _group_props(vpc, snapshot_retention=Duration.hours(12)))
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
        PropValidationError, match=r"invalid engine_version='3.2.4'; allowed: Redis OSS 4.0.10, 5.0.6, "
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
            vpc, engine=CacheEngine.REDIS_OSS, engine_version="4.0.10", cache_node_type="cache.r5.large"
        ),
    )
    scope = _empty_scope(stack)
    with pytest.raises(
        PropValidationError, match=r"invalid primary.engine_version='4.0.10'; allowed: REDIS_OSS 5.0.6"
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
        PropValidationError,
        match=r"invalid engine_version='1.6.6'; allowed: Memcached 1.6.12, 1.6.17, 1.6.22",
    ):
        MemcachedCluster(
            scope, "Memcached", MemcachedClusterProps(profile=PRODUCTION, vpc=vpc, engine_version="1.6.6")
        )
    _assert_nothing_defined(scope)


@pytest.mark.parametrize("nodes", [0, 61])
def test_rejects_memcached_node_counts_outside_one_to_sixty(
    primary_region: tuple[App, Stack, ec2.Vpc], nodes: int
) -> None:
    _, stack, vpc = primary_region
    scope = _empty_scope(stack)
    with pytest.raises(PropValidationError, match=rf"invalid nodes={nodes}; allowed: 1 to 60"):
        MemcachedCluster(scope, "Memcached", MemcachedClusterProps(profile=PRODUCTION, vpc=vpc, nodes=nodes))
    _assert_nothing_defined(scope)


# Node types, engine versions, descriptions, windows and types (CacheReplicationGroup)
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"cache_node_type": "cache.x9.large"},
            r"invalid cache_node_type='cache.x9.large'; allowed: a current",
        ),
        ({"cache_node_type": "cache.r7g.huge"}, r"invalid cache_node_type='cache.r7g.huge'"),
        (
            {"cache_node_type": "cache.t2.micro"},
            r"invalid cache_node_type='cache.t2.micro'; allowed: a current",
        ),
        ({"cache_node_type": "cache.r6gd.xlarge"}, r"r6gd nodes need DataTieringEnabled"),
        (
            {"engine": CacheEngine.REDIS_OSS, "engine_version": "6.0", "cache_node_type": "cache.m7g.large"},
            r"invalid cache_node_type='cache.m7g.large'; allowed with Redis OSS 6.0: .*needs Redis OSS 6.2",
        ),
        (
            {"engine": CacheEngine.REDIS_OSS, "engine_version": "7.1", "cache_node_type": "cache.m8g.large"},
            r"invalid cache_node_type='cache.m8g.large'; allowed: a node type that runs Redis OSS",
        ),
        ({"cache_node_type": 7}, r"invalid cache_node_type=7"),
        ({"engine_version": "7.3"}, r"invalid engine_version='7.3'; allowed: Valkey 7.2, 8.0, 8.1"),
        ({"engine_version": 8.0}, r"invalid engine_version=8.0; allowed: Valkey"),
        ({"engine": "valkey"}, r"invalid engine='valkey'; allowed: CacheEngine.VALKEY"),
        ({"description": ""}, r"invalid description=''; allowed: a non-empty description"),
        ({"description": "   "}, r"invalid description='   '; allowed: a non-empty description"),
        ({"description": "Sessions <prod>"}, r"invalid description='Sessions <prod>'; allowed: at most 200"),
        ({"replicas": 1.0}, r"invalid replicas=1.0; allowed: a whole number"),
        ({"port": "6380"}, r"invalid port='6380'; allowed: a whole number"),
        ({"automatic_failover": 1}, r"invalid automatic_failover=1; allowed: a bool"),
        ({"snapshot_retention": 7}, r"invalid snapshot_retention=7; allowed: a Duration"),
        ({"snapshot_window": "03:00-03:30"}, r"invalid snapshot_window='03:00-03:30'; .*at least 60 minutes"),
        (
            {"maintenance_window": "Sun:05:00-Sun:06:00"},
            r"invalid maintenance_window='Sun:05:00-Sun:06:00'; .*lower case",
        ),
        (
            {"maintenance_window": "sun:05:00-sun:05:45"},
            r"invalid maintenance_window='sun:05:00-sun:05:45'; allowed: a window of at least 60 minutes",
        ),
        (
            {"snapshot_window": "04:30-05:30", "maintenance_window": "sun:05:00-sun:06:00"},
            r"invalid snapshot_window/maintenance_window='04:30-05:30 / sun:05:00-sun:06:00'; "
            r"allowed: windows that do not overlap",
        ),
    ],
)
def test_rejects_replication_group_props_aws_would_refuse(
    primary_region: tuple[App, Stack, ec2.Vpc], overrides: dict[str, Any], message: str
) -> None:
    _, stack, vpc = primary_region
    scope = _empty_scope(stack)
    with pytest.raises(PropValidationError, match=message):
        CacheReplicationGroup(scope, "Cache", _group_props(vpc, **overrides))
    _assert_nothing_defined(scope)


def test_errors_name_the_construct_path(primary_region: tuple[App, Stack, ec2.Vpc]) -> None:
    _, stack, vpc = primary_region
    scope = _empty_scope(stack)
    with pytest.raises(PropValidationError, match=rf"^CacheReplicationGroup '{scope.node.path}/Sessions': "):
        CacheReplicationGroup(scope, "Sessions", _group_props(vpc, replicas=9))
    _assert_nothing_defined(scope)


def test_rejects_secondary_regions_given_as_one_string(primary_region: tuple[App, Stack, ec2.Vpc]) -> None:
    _, stack, vpc = primary_region
    primary = CacheReplicationGroup(
        stack, "StringRegionsPrimary", _group_props(vpc, cache_node_type="cache.r7g.large")
    )
    scope = _empty_scope(stack)
    with pytest.raises(PropValidationError, match=r"invalid secondary_regions='eu-west-1'; allowed: a list"):
        CacheGlobalDatastore(
            scope, "Global", CacheGlobalDatastoreProps(primary=primary, secondary_regions="eu-west-1")
        )
    _assert_nothing_defined(scope)


def test_rejects_an_empty_global_datastore_description(primary_region: tuple[App, Stack, ec2.Vpc]) -> None:
    _, stack, vpc = primary_region
    primary = CacheReplicationGroup(
        stack, "DescribedPrimary", _group_props(vpc, cache_node_type="cache.r7g.large")
    )
    scope = _empty_scope(stack)
    with pytest.raises(PropValidationError, match=r"invalid description=''; allowed: a non-empty"):
        CacheGlobalDatastore(
            scope, "Global", CacheGlobalDatastoreProps(primary=primary, secondary_regions=[], description="")
        )
    _assert_nothing_defined(scope)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"cache_node_type": "cache.r6gd.xlarge"},
            r"invalid cache_node_type='cache.r6gd.xlarge'; allowed: a node",
        ),
        ({"maintenance_window": "sun:05:00-sun:05:30"}, r"at least 60 minutes"),
        ({"port": 11211}, r"invalid port=11211; allowed: any port but 11211"),
        ({"nodes": 2.0}, r"invalid nodes=2.0; allowed: a whole number"),
    ],
)
def test_rejects_memcached_props_aws_would_refuse(
    primary_region: tuple[App, Stack, ec2.Vpc], overrides: dict[str, Any], message: str
) -> None:
    _, stack, vpc = primary_region
    scope = _empty_scope(stack)
    with pytest.raises(PropValidationError, match=message):
        MemcachedCluster(scope, "Memcached", MemcachedClusterProps(profile=PRODUCTION, vpc=vpc, **overrides))
    _assert_nothing_defined(scope)
