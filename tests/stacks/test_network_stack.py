"""One network per region, shared by every stack of the app in that region."""

from __future__ import annotations

import ipaddress
from collections import Counter

import pytest
from aws_cdk.assertions import Template

from dbpatterns.common.profile import DeploymentProfile
from stacks.app_builder import (
    NETWORK_CIDRS,
    PRIMARY_NETWORK_STACK_ID,
    SECONDARY_NETWORK_STACK_IDS,
    RegionalNetworks,
)
from stacks.config import AppConfig, Showcase
from tests.support.synth import new_app, synthesize

pytestmark = pytest.mark.synth

CONFIG = AppConfig()


@pytest.mark.parametrize("profile", list(DeploymentProfile), ids=lambda p: p.value)
def test_the_app_creates_at_most_one_vpc_per_region(profile: DeploymentProfile) -> None:
    # The default "VPCs per Region" quota is 5, and an account already has its default VPC.
    vpcs: Counter[str] = Counter()
    for stack in synthesize(profile).stacks:
        for resource in stack.template["Resources"].values():
            if resource["Type"] == "AWS::EC2::VPC":
                vpcs[f"{stack.environment.region}"] += 1
    assert vpcs
    assert max(vpcs.values()) == 1, vpcs


@pytest.mark.parametrize(
    ("profile", "azs"), [(DeploymentProfile.SANDBOX, 1), (DeploymentProfile.PRODUCTION, 3)]
)
def test_interface_endpoints_sit_in_one_az_in_a_sandbox_and_every_az_in_production(
    profile: DeploymentProfile, azs: int
) -> None:
    template = synthesize(profile).get_stack_by_name("DbPatterns-Network").template
    endpoints = [r for r in template["Resources"].values() if r["Type"] == "AWS::EC2::VPCEndpoint"]
    interface = [e for e in endpoints if e["Properties"].get("VpcEndpointType") == "Interface"]
    services = {str(e["Properties"]["ServiceName"]).rsplit(".", 1)[-1] for e in interface}
    assert services == {"secretsmanager", "sqs"}
    assert all(len(e["Properties"]["SubnetIds"]) == azs for e in interface)


def test_every_region_has_its_vpc_in_its_network_stack_with_a_block_of_its_own() -> None:
    # The social platform (on with every showcase) runs in all three regions and peers their VPCs,
    # which VPC peering refuses for overlapping blocks.
    blocks: dict[str, tuple[str, ipaddress.IPv4Network | ipaddress.IPv6Network]] = {}
    for stack in synthesize(DeploymentProfile.SANDBOX).stacks:
        for resource in stack.template["Resources"].values():
            if resource["Type"] == "AWS::EC2::VPC":
                blocks[stack.environment.region] = (
                    stack.stack_name,
                    ipaddress.ip_network(resource["Properties"]["CidrBlock"]),
                )
    assert blocks == {
        region: (stack_id, ipaddress.ip_network(cidr))
        for region, stack_id, cidr in zip(
            (CONFIG.primary_region, *CONFIG.secondary_regions),
            (PRIMARY_NETWORK_STACK_ID, *SECONDARY_NETWORK_STACK_IDS),
            NETWORK_CIDRS,
            strict=True,
        )
    }
    networks = [network for _, network in blocks.values()]
    assert not any(a.overlaps(b) for i, a in enumerate(networks) for b in networks[i + 1 :])
    # The primary VPC kept its block: changing it would replace the VPC and every database in it.
    assert blocks[CONFIG.primary_region][1] == ipaddress.ip_network("10.0.0.0/16")


@pytest.mark.parametrize(
    ("showcases", "services"),
    [(frozenset({Showcase.GLOBAL_CACHE}), set()), (frozenset({Showcase.SOCIAL}), {"secretsmanager"})],
    ids=["global-cache", "social"],
)
def test_secondary_networks_get_a_secrets_manager_endpoint_only_for_the_social_platform(
    showcases: frozenset[Showcase], services: set[str]
) -> None:
    # The social handlers read the cursor key and the cache AUTH token from their region's replicas.
    config = AppConfig(showcases=showcases)
    networks = RegionalNetworks(new_app(), config)
    stacks = [networks.stack(region) for region in config.secondary_regions]  # all before the synth
    for stack in stacks:
        template = Template.from_stack(stack).to_json()
        interface = [
            r
            for r in template["Resources"].values()
            if r["Type"] == "AWS::EC2::VPCEndpoint" and r["Properties"].get("VpcEndpointType") == "Interface"
        ]
        assert {str(e["Properties"]["ServiceName"]).rsplit(".", 1)[-1] for e in interface} == services
