"""The RDS showcase and its cross-region replica: templates from the session-wide synth."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk.assertions import Template

from dbpatterns.common.profile import DeploymentProfile
from tests.support.synth import isolated_vpc_stack, stack_template_json

SHOWCASE = "DbPatterns-RdsShowcase"
REPLICA = "DbPatterns-RdsReplica"


def rds_templates(profile: DeploymentProfile) -> dict[str, dict[str, Any]]:
    """Both stacks as the app builds them (same IDs, regions and props)."""
    return {name: stack_template_json(name, profile) for name in (SHOWCASE, REPLICA)}


@pytest.fixture(scope="session")
def production() -> Template:
    return Template.from_json(stack_template_json(SHOWCASE, DeploymentProfile.PRODUCTION))


@pytest.fixture(scope="session")
def sandbox() -> Template:
    return Template.from_json(stack_template_json(SHOWCASE, DeploymentProfile.SANDBOX))


@pytest.fixture(scope="session")
def replica_production() -> Template:
    return Template.from_json(stack_template_json(REPLICA, DeploymentProfile.PRODUCTION))


@pytest.fixture
def vpc_stack() -> tuple[Stack, ec2.Vpc]:
    return isolated_vpc_stack()
