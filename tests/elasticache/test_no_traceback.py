"""No prop value ends in a jsii JavaScript traceback: a wrong value in any prop of the ElastiCache
constructs either works or raises PropValidationError before anything is defined."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from aws_cdk import App, Duration, Environment, Stack
from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.validation import PropValidationError
from dbpatterns.elasticache import (
    CacheGlobalDatastore,
    CacheGlobalDatastoreProps,
    CacheReplicationGroup,
    CacheReplicationGroupProps,
    CacheSecondaryReplicationGroup,
    CacheSecondaryReplicationGroupProps,
    MemcachedCluster,
    MemcachedClusterProps,
)

WRONG_VALUES = (None, "x", 1.5, True, -1, Duration.seconds(1), "cache.t4g.micro", ["eu-west-1"])
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
def regions() -> dict[str, tuple[Stack, ec2.Vpc]]:
    app = App()
    return {region: _stack(app, region, region) for region in ("us-east-1", "eu-west-1")}


@pytest.fixture(scope="module")
def global_datastore(regions: dict[str, tuple[Stack, ec2.Vpc]]) -> CacheGlobalDatastore:
    stack, vpc = regions["us-east-1"]
    primary = CacheReplicationGroup(
        stack,
        "Primary",
        CacheReplicationGroupProps(
            profile=PRODUCTION, vpc=vpc, description="Sessions", cache_node_type="cache.r7g.large"
        ),
    )
    return CacheGlobalDatastore(
        stack, "Global", CacheGlobalDatastoreProps(primary=primary, secondary_regions=["eu-west-1"])
    )


def _cases(props_class: type) -> list[tuple[str, Any]]:
    return [(field.name, value) for field in dataclasses.fields(props_class) for value in WRONG_VALUES]


def _works_or_refuses(stack: Stack, construct: Any, props: Any) -> None:
    scope = Construct(stack, f"Scope{len(stack.node.children)}")
    try:
        construct(scope, "Subject", props)
    except PropValidationError:
        assert scope.node.children == []


@pytest.mark.parametrize(("prop", "value"), _cases(CacheReplicationGroupProps))
def test_a_replication_group_prop_works_or_is_refused(
    regions: dict[str, tuple[Stack, ec2.Vpc]], prop: str, value: Any
) -> None:
    stack, vpc = regions["us-east-1"]
    props = CacheReplicationGroupProps(profile=PRODUCTION, vpc=vpc, description="Sessions")
    _works_or_refuses(stack, CacheReplicationGroup, dataclasses.replace(props, **{prop: value}))


@pytest.mark.parametrize(("prop", "value"), _cases(MemcachedClusterProps))
def test_a_memcached_prop_works_or_is_refused(
    regions: dict[str, tuple[Stack, ec2.Vpc]], prop: str, value: Any
) -> None:
    stack, vpc = regions["us-east-1"]
    props = MemcachedClusterProps(profile=PRODUCTION, vpc=vpc)
    _works_or_refuses(stack, MemcachedCluster, dataclasses.replace(props, **{prop: value}))


@pytest.mark.parametrize(("prop", "value"), _cases(CacheGlobalDatastoreProps))
def test_a_global_datastore_prop_works_or_is_refused(
    global_datastore: CacheGlobalDatastore, prop: str, value: Any
) -> None:
    props = CacheGlobalDatastoreProps(primary=global_datastore.primary, secondary_regions=["eu-west-1"])
    stack = Stack.of(global_datastore)
    _works_or_refuses(stack, CacheGlobalDatastore, dataclasses.replace(props, **{prop: value}))


@pytest.mark.parametrize(("prop", "value"), _cases(CacheSecondaryReplicationGroupProps))
def test_a_secondary_prop_works_or_is_refused(
    regions: dict[str, tuple[Stack, ec2.Vpc]], global_datastore: CacheGlobalDatastore, prop: str, value: Any
) -> None:
    stack, vpc = regions["eu-west-1"]
    props = CacheSecondaryReplicationGroupProps(
        global_datastore=global_datastore, profile=PRODUCTION, vpc=vpc
    )
    _works_or_refuses(stack, CacheSecondaryReplicationGroup, dataclasses.replace(props, **{prop: value}))
