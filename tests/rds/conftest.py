"""The RDS showcase and its cross-region replica stack, synthesized once per profile with cdk-nag."""

from __future__ import annotations

import functools
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk.assertions import Template

from dbpatterns.common.profile import DeploymentProfile
from stacks.app_builder import add_compliance_checks
from stacks.config import AppConfig
from stacks.rds_replica_stack import RdsReplicaStack
from stacks.rds_showcase_stack import RdsShowcaseStack
from tests.support.synth import new_app

SHOWCASE = "DbPatterns-RdsShowcase"
REPLICA = "DbPatterns-RdsReplica"


@functools.cache
def rds_templates(profile: DeploymentProfile) -> dict[str, dict[str, Any]]:
    """Both stacks as the app builds them (same IDs, regions and props); nag findings fail here."""
    app = new_app()
    config = AppConfig(profile=profile)
    showcase = RdsShowcaseStack(app, SHOWCASE, env=config.env(), profile=profile)
    RdsReplicaStack(
        app, REPLICA, env=config.env(config.secondary_regions[0]), profile=profile, source=showcase.database
    )
    add_compliance_checks(app)
    assembly = app.synth()
    return {name: assembly.get_stack_by_name(name).template for name in (SHOWCASE, REPLICA)}


@pytest.fixture(scope="session")
def production() -> Template:
    return Template.from_json(rds_templates(DeploymentProfile.PRODUCTION)[SHOWCASE])


@pytest.fixture(scope="session")
def sandbox() -> Template:
    return Template.from_json(rds_templates(DeploymentProfile.SANDBOX)[SHOWCASE])


@pytest.fixture(scope="session")
def replica_production() -> Template:
    return Template.from_json(rds_templates(DeploymentProfile.PRODUCTION)[REPLICA])


@pytest.fixture
def vpc_stack() -> tuple[Stack, ec2.Vpc]:
    """A bare stack with an isolated VPC for construct-level tests (no synth)."""
    app = new_app()
    stack = Stack(app, "Unit", env=AppConfig().env())
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        max_azs=2,
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="Isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        ],
    )
    return stack, vpc
