"""No prop value ends in a jsii JavaScript traceback: a wrong value in any prop of the Aurora
constructs either works or raises PropValidationError before anything is defined."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from aws_cdk import App, Duration, Environment, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_rds as rds
from constructs import Construct

from dbpatterns.aurora import (
    AuroraClone,
    AuroraCloneProps,
    AuroraCluster,
    AuroraClusterProps,
    AuroraGlobalSecondary,
    AuroraGlobalSecondaryProps,
)
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.validation import PropValidationError

WRONG_VALUES = (None, "x", 1.5, True, -1, Duration.seconds(1), ec2.InstanceType("t4g.micro"))
POSTGRES = rds.DatabaseClusterEngine.aurora_postgres(version=rds.AuroraPostgresEngineVersion.VER_16_9)


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
def primary() -> AuroraCluster:
    stack, vpc = _stack(App(), "Primary", "us-east-1")
    return AuroraCluster(
        stack,
        "Catalog",
        AuroraClusterProps(engine=POSTGRES, profile=DeploymentProfile.SANDBOX, vpc=vpc, global_database=True),
    )


@pytest.fixture(scope="module")
def secondary_region(primary: AuroraCluster) -> tuple[Stack, ec2.Vpc, kms.Key]:
    stack, vpc = _stack(primary.node.root, "Secondary", "eu-west-1")  # type: ignore[arg-type]
    return stack, vpc, kms.Key(stack, "Key")


def _cases(props_class: type) -> list[tuple[str, Any]]:
    return [(field.name, value) for field in dataclasses.fields(props_class) for value in WRONG_VALUES]


def _works_or_refuses(stack: Stack, construct: Any, props: Any) -> None:
    scope = Construct(stack, f"Scope{len(stack.node.children)}")
    try:
        construct(scope, "Subject", props)
    except PropValidationError:
        assert scope.node.children == []


@pytest.mark.parametrize(("prop", "value"), _cases(AuroraClusterProps))
def test_a_cluster_prop_works_or_is_refused(primary: AuroraCluster, prop: str, value: Any) -> None:
    vpc: ec2.IVpc = Stack.of(primary).node.find_child("Vpc")  # type: ignore[assignment]
    props = AuroraClusterProps(engine=POSTGRES, profile=DeploymentProfile.SANDBOX, vpc=vpc)
    _works_or_refuses(Stack.of(primary), AuroraCluster, dataclasses.replace(props, **{prop: value}))


@pytest.mark.parametrize(("prop", "value"), _cases(AuroraCloneProps))
def test_a_clone_prop_works_or_is_refused(primary: AuroraCluster, prop: str, value: Any) -> None:
    props = AuroraCloneProps(source=primary)
    _works_or_refuses(Stack.of(primary), AuroraClone, dataclasses.replace(props, **{prop: value}))


@pytest.mark.parametrize(("prop", "value"), _cases(AuroraGlobalSecondaryProps))
def test_a_global_secondary_prop_works_or_is_refused(
    primary: AuroraCluster, secondary_region: tuple[Stack, ec2.Vpc, kms.Key], prop: str, value: Any
) -> None:
    stack, vpc, key = secondary_region
    props = AuroraGlobalSecondaryProps(primary=primary, vpc=vpc, encryption_key=key)
    # One secondary per region: the first valid one takes eu-west-1, later valid ones are refused.
    _works_or_refuses(stack, AuroraGlobalSecondary, dataclasses.replace(props, **{prop: value}))
