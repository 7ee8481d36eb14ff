"""One network per region, shared by every stack of the app in that region."""

from __future__ import annotations

from collections import Counter

import pytest

from dbpatterns.common.profile import DeploymentProfile
from tests.support.synth import synthesize

pytestmark = pytest.mark.synth


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
