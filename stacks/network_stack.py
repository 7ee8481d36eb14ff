"""The one network of a region: every stack of this app in that region runs in its VPC."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from dbpatterns.common.network import IsolatedNetwork, IsolatedNetworkProps
from dbpatterns.common.profile import DeploymentProfile
from stacks.base import ReferenceStack


class NetworkStack(ReferenceStack):
    """One isolated VPC per region (the default "VPCs per Region" quota is 5, one of them the default
    VPC), with the interface endpoints the region's stacks need.

    Use cases stay apart inside it by security groups: each construct owns its groups and admits
    only the peers it names; nothing opens a port to the VPC's CIDR but the endpoints' HTTPS.
    Consumers reference ``network`` (its VPC and endpoints), so CloudFormation deploys this stack
    first and refuses to delete it while a consumer still imports from it. ``cidr`` is the VPC's
    block as a plain string (for peering routes and security-group rules in other regions); the
    regions' blocks do not overlap, so their VPCs can be peered.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        profile: DeploymentProfile,
        interface_endpoints: Mapping[str, ec2.InterfaceVpcEndpointAwsService],
        cidr: str = IsolatedNetworkProps.cidr,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.cidr = cidr
        self.network = IsolatedNetwork(
            self,
            "Network",
            IsolatedNetworkProps(profile=profile, cidr=cidr, interface_endpoints=interface_endpoints),
        )
