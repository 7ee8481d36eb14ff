"""IsolatedNetwork never makes synth look availability zones up: a documented choice, tested per case."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk.assertions import Template

from dbpatterns.common.network import (
    DeployTimeAzStack,
    IsolatedNetwork,
    IsolatedNetworkProps,
    deploy_time_availability_zones,
)
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.validation import PropValidationError

pytestmark = pytest.mark.synth
ENV = Environment(account="123456789012", region="eu-west-1")
AZ_KEY = "availability-zones:account=123456789012:region=eu-west-1"


def _network(stack: Stack, profile: DeploymentProfile = DeploymentProfile.SANDBOX) -> IsolatedNetwork:
    return IsolatedNetwork(stack, "Network", IsolatedNetworkProps(profile=profile))


def _missing_context(app: App) -> list[Any]:
    manifest = json.loads((Path(app.synth().directory) / "manifest.json").read_text())
    missing: list[Any] = manifest.get("missing", [])
    return missing


def _subnet_azs(stack: Stack) -> list[Any]:
    subnets = Template.from_stack(stack).find_resources("AWS::EC2::Subnet")
    return [subnet["Properties"]["AvailabilityZone"] for subnet in subnets.values()]


def test_rejects_a_plain_stack_with_a_concrete_environment_and_says_what_to_do(tmp_path: Path) -> None:
    stack = Stack(App(outdir=str(tmp_path)), "Plain", env=ENV)
    with pytest.raises(PropValidationError) as failure:
        _network(stack)
    message = str(failure.value)
    assert message.startswith("IsolatedNetwork 'Plain/Network': invalid stack='Plain'")
    assert "DeployTimeAzStack" in message
    assert repr(AZ_KEY) in message
    assert stack.node.children == []


def test_deploy_time_az_stack_synthesizes_without_lookups(tmp_path: Path) -> None:
    app = App(outdir=str(tmp_path))
    stack = DeployTimeAzStack(app, "DeployTime", env=ENV)
    _network(stack, DeploymentProfile.PRODUCTION)
    assert _missing_context(app) == []
    assert _subnet_azs(stack) == [{"Fn::Select": [i, {"Fn::GetAZs": ""}]} for i in range(3)]


def test_a_stack_of_the_users_own_that_answers_its_azs_needs_no_lookup(tmp_path: Path) -> None:
    class OwnBaseStack(Stack):
        @property
        def availability_zones(self) -> list[str]:
            return deploy_time_availability_zones()

    app = App(outdir=str(tmp_path))
    _network(OwnBaseStack(app, "Own", env=ENV))
    assert _missing_context(app) == []


def test_az_names_from_the_apps_context_are_used_without_a_lookup(tmp_path: Path) -> None:
    app = App(outdir=str(tmp_path), context={AZ_KEY: ["eu-west-1a", "eu-west-1b", "eu-west-1c"]})
    stack = Stack(app, "FromContext", env=ENV)
    IsolatedNetwork(
        stack,
        "Network",
        IsolatedNetworkProps(
            profile=DeploymentProfile.SANDBOX, availability_zones=["eu-west-1a", "eu-west-1b"]
        ),
    )
    assert _missing_context(app) == []
    assert sorted(_subnet_azs(stack)) == ["eu-west-1a", "eu-west-1b"]


def test_an_environment_agnostic_stack_gets_deploy_time_azs(tmp_path: Path) -> None:
    app = App(outdir=str(tmp_path))
    stack = Stack(app, "Agnostic")
    _network(stack, DeploymentProfile.PRODUCTION)
    assert _missing_context(app) == []
    assert len(_subnet_azs(stack)) == 3
