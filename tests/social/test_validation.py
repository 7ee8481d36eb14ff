"""Bad props of the social constructs fail with a PropValidationError naming the construct and prop,
before anything is defined."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from aws_cdk import App, Duration, Environment, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_secretsmanager as secretsmanager

from dbpatterns.common.api_logging import AccountCloudWatchRole
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.validation import PropValidationError
from dbpatterns.social import (
    ApiDomain,
    SocialRegionalApi,
    SocialRegionalApiProps,
    VpcPeering,
    VpcPeeringProps,
)
from stacks.app_builder import RegionalNetworks
from stacks.config import AppConfig
from stacks.network_stack import NetworkStack
from stacks.social_app import build_social_stacks

REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-1")


@pytest.fixture(scope="module")
def regional() -> tuple[Stack, SocialRegionalApiProps]:
    stack = Stack(App(), "Social", env=Environment(account="123456789012", region="eu-west-1"))
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        availability_zones=["eu-west-1a", "eu-west-1b"],
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="Isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        ],
    )
    key = kms.Key(stack, "Key")
    props = SocialRegionalApiProps(
        profile=DeploymentProfile.SANDBOX,
        vpc=vpc,
        account_cloud_watch_role=AccountCloudWatchRole.MANAGED_ELSEWHERE,
        table=dynamodb.TableV2.from_table_name(stack, "Table", "social"),
        table_key=key,
        regions=REGIONS,
        home=None,
        cursor_secret=secretsmanager.Secret.from_secret_name_v2(stack, "Cursor", "cursor"),
        cursor_secret_key=key,
    )
    return stack, props


@pytest.mark.parametrize(
    ("changes", "prop"),
    [
        ({"timeline_shards": 0}, "timeline_shards"),
        ({"timeline_shards": 65}, "timeline_shards"),
        ({"timeline_shards": 8.0}, "timeline_shards"),
        ({"counter_shards": 33}, "counter_shards"),
        ({"timeline_bucket": Duration.minutes(7)}, "timeline_bucket (seconds)"),
        ({"timeline_bucket": Duration.seconds(30)}, "timeline_bucket (seconds)"),
        ({"session_idle": Duration.seconds(10)}, "session_idle (seconds)"),
        ({"session_absolute": Duration.minutes(10)}, "session_absolute (seconds)"),
        ({"rate_limit": 0}, "rate_limit"),
        ({"rate_limit_per_ip": 5}, "rate_limit_per_ip"),
        ({"regions": ("us-east-1", "ap-southeast-1")}, "regions"),
        ({"profile": "sandbox"}, "profile"),
        ({"timeline_bucket": 3600}, "timeline_bucket"),
    ],
)
def test_rejects_bad_regional_api_props_naming_the_construct_and_prop(
    regional: tuple[Stack, SocialRegionalApiProps], changes: dict[str, Any], prop: str
) -> None:
    stack, props = regional
    before = len(stack.node.children)
    with pytest.raises(PropValidationError) as raised:
        SocialRegionalApi(stack, "Api", replace(props, **changes))
    assert raised.value.prop == prop
    assert "'Social/Api'" in str(raised.value)
    assert len(stack.node.children) == before  # nothing was defined


def test_rejects_peering_within_one_region() -> None:
    stack = Stack(App(), "Peer", env=Environment(account="123456789012", region="eu-west-1"))
    vpc = ec2.Vpc(stack, "Vpc", availability_zones=["eu-west-1a", "eu-west-1b"], nat_gateways=0)
    with pytest.raises(PropValidationError, match="peer_region"):
        VpcPeering(
            stack,
            "Peering",
            VpcPeeringProps(vpc=vpc, peer_vpc=vpc, peer_region="eu-west-1", peer_cidr="10.1.0.0/16"),
        )


@pytest.mark.parametrize("secondaries", [(), ("eu-west-1", "ap-southeast-1", "eu-central-1")])
def test_the_platform_needs_one_or_two_secondary_regions(secondaries: tuple[str, ...]) -> None:
    app = App()
    config = AppConfig(secondary_regions=secondaries)
    with pytest.raises(PropValidationError, match="secondary_regions"):
        build_social_stacks(app, config, networks=RegionalNetworks(app, config).stack)
    assert app.node.children == []


def test_rejects_regional_networks_whose_blocks_overlap() -> None:
    app = App()
    config = AppConfig()
    networks = {
        region: NetworkStack(
            app,
            f"Network{index}",
            env=config.env(region),
            profile=DeploymentProfile.SANDBOX,
            interface_endpoints={},
            cidr=cidr,
        )
        for index, (region, cidr) in enumerate(
            zip(REGIONS, ("10.0.0.0/16", "10.1.0.0/16", "10.0.128.0/17"), strict=True)
        )
    }
    with pytest.raises(PropValidationError, match=r"network CIDRs.*10\.0\.128\.0/17.*non-overlapping"):
        build_social_stacks(app, config, networks=networks.__getitem__)
    assert sorted(child.node.id for child in app.node.children) == ["Network0", "Network1", "Network2"]


def test_rejects_a_domain_outside_its_hosted_zone(regional: tuple[Stack, SocialRegionalApiProps]) -> None:
    stack, props = regional
    zone = route53.HostedZone.from_hosted_zone_attributes(
        stack, "Zone", hosted_zone_id="Z0123456789ABCDEFGHIJ", zone_name="example.com"
    )
    with pytest.raises(PropValidationError, match=r"domain\.domain_name"):
        SocialRegionalApi(
            stack, "Api", replace(props, domain=ApiDomain(domain_name="api.example.org", hosted_zone=zone))
        )
