"""No prop value ends in a jsii JavaScript traceback: a wrong value in any prop of the RDS constructs
either works or raises PropValidationError before anything is defined."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_rds as rds
from constructs import Construct

from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.validation import PropValidationError
from dbpatterns.rds.instance import RdsInstance, RdsInstanceProps
from dbpatterns.rds.read_replica import RdsReadReplica, RdsReadReplicaProps
from tests.support.synth import isolated_vpc_stack

#: Values of the wrong type or range for almost any prop.
WRONG_VALUES = (None, "x", 1.5, True, -1, Duration.seconds(1), ec2.InstanceType("t4g.micro"))
POSTGRES = rds.DatabaseInstanceEngine.postgres(version=rds.PostgresEngineVersion.VER_17_6)


@pytest.fixture(scope="module")
def source() -> RdsInstance:
    stack, vpc = isolated_vpc_stack()
    return RdsInstance(
        stack, "Source", RdsInstanceProps(engine=POSTGRES, profile=DeploymentProfile.SANDBOX, vpc=vpc)
    )


def _cases(props_class: type) -> list[tuple[str, Any]]:
    return [(field.name, value) for field in dataclasses.fields(props_class) for value in WRONG_VALUES]


def _works_or_refuses(stack: Stack, construct: Any, props: Any) -> None:
    scope = Construct(stack, f"Scope{len(stack.node.children)}")
    try:
        construct(scope, "Subject", props)
    except PropValidationError:
        assert scope.node.children == []


@pytest.mark.parametrize(("prop", "value"), _cases(RdsInstanceProps))
def test_an_instance_prop_works_or_is_refused(source: RdsInstance, prop: str, value: Any) -> None:
    props = RdsInstanceProps(engine=POSTGRES, profile=DeploymentProfile.SANDBOX, vpc=source.vpc)
    _works_or_refuses(Stack.of(source), RdsInstance, dataclasses.replace(props, **{prop: value}))


@pytest.mark.parametrize(("prop", "value"), _cases(RdsReadReplicaProps))
def test_a_replica_prop_works_or_is_refused(source: RdsInstance, prop: str, value: Any) -> None:
    props = RdsReadReplicaProps(source=source, vpc=source.vpc)
    _works_or_refuses(Stack.of(source), RdsReadReplica, dataclasses.replace(props, **{prop: value}))
