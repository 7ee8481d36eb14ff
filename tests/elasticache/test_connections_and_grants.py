"""The ElastiCache constructs behave like aws-cdk L2s: network access through ``connections``
(``ec2.IConnectable``), ``grant_*`` for IAM only, ``Duration`` for snapshot retention."""

from __future__ import annotations

import pytest
from aws_cdk import Duration, Environment, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Match, Template

from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.elasticache import (
    CacheReplicationGroup,
    CacheReplicationGroupProps,
    MemcachedCluster,
    MemcachedClusterProps,
)
from tests.support.synth import new_app

pytestmark = pytest.mark.synth


@pytest.fixture
def stack_vpc() -> tuple[Stack, ec2.Vpc]:
    stack = Stack(new_app(), "Unit", env=Environment(account="123456789012", region="us-east-1"))
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        availability_zones=["us-east-1a", "us-east-1b"],
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="Isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        ],
    )
    return stack, vpc


def test_peers_reach_the_caches_through_their_connections(stack_vpc: tuple[Stack, ec2.Vpc]) -> None:
    stack, vpc = stack_vpc
    sessions = CacheReplicationGroup(
        stack,
        "Sessions",
        CacheReplicationGroupProps(profile=DeploymentProfile.SANDBOX, vpc=vpc, description="Sessions"),
    )
    pages = MemcachedCluster(
        stack, "Pages", MemcachedClusterProps(profile=DeploymentProfile.SANDBOX, vpc=vpc)
    )
    app = ec2.SecurityGroup(stack, "App", vpc=vpc, allow_all_outbound=False)
    # The peer side reads each cache's ``connections`` through jsii: both are ec2.IConnectable.
    app.connections.allow_to_default_port(sessions, "app to sessions")
    app.connections.allow_to_default_port(pages, "app to pages")
    template = Template.from_stack(stack)

    for port, description in ((6380, "app to sessions"), (11212, "app to pages")):
        template.has_resource_properties(
            "AWS::EC2::SecurityGroupIngress",
            {
                "Description": description,
                "FromPort": port,
                "ToPort": port,
                "SourceSecurityGroupId": {"Fn::GetAtt": [Match.string_like_regexp("^App"), "GroupId"]},
            },
        )
    assert not hasattr(sessions, "grant_connect")
    assert not hasattr(pages, "grant_connect")


def test_reading_the_auth_token_is_an_iam_grant_only(stack_vpc: tuple[Stack, ec2.Vpc]) -> None:
    stack, vpc = stack_vpc
    sessions = CacheReplicationGroup(
        stack,
        "Sessions",
        CacheReplicationGroupProps(
            profile=DeploymentProfile.SANDBOX,
            vpc=vpc,
            description="Sessions",
            snapshot_retention=Duration.days(3),
        ),
    )
    role = iam.Role(stack, "Reader", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    grant = sessions.grant_read_auth_token(role)
    template = Template.from_stack(stack)

    assert isinstance(grant, iam.Grant)
    assert template.find_resources("AWS::EC2::SecurityGroupIngress") == {}
    template.has_resource_properties("AWS::ElastiCache::ReplicationGroup", {"SnapshotRetentionLimit": 3})
