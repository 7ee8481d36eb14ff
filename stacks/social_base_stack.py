"""A secondary region's foundation for the social platform: network, data key, API Gateway logging role.

Deployed before the global stack, which needs this region's key for the table replica and the
secret replicas, and this region's VPC to peer with.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from dbpatterns.common.api_logging import ApiGatewayCloudWatchRole
from dbpatterns.common.encryption import create_key
from dbpatterns.common.network import IsolatedNetwork, IsolatedNetworkProps
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.social.peering import VpcPeering, VpcPeeringProps
from stacks.base import ReferenceStack


class SocialBaseStack(ReferenceStack):
    """VPC (``cidr``, isolated subnets, Secrets Manager endpoint), the region's data key, API Gateway's
    account-level logging role for this region, and peering with earlier secondary regions.

    Exposes ``network``, ``cidr``, ``key`` and ``peerings`` (peer stack ID -> :class:`VpcPeering`).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        profile: DeploymentProfile,
        cidr: str,
        peers: Sequence[SocialBaseStack] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.cidr = cidr
        self.network = IsolatedNetwork(
            self,
            "Network",
            IsolatedNetworkProps(
                profile=profile,
                cidr=cidr,
                interface_endpoints={"SecretsManager": ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER},
            ),
        )
        self.key = create_key(
            self,
            "DataKey",
            description="Encrypts the social platform's data in this region: table replica, secret replicas",
            profile=profile,
        )
        # REST API execution logging needs the account's CloudWatch role in every region it runs in.
        self.api_gateway_account = ApiGatewayCloudWatchRole(self, "ApiGatewayAccount")
        self.peerings: dict[str, VpcPeering] = {}
        for index, peer in enumerate(peers):
            self.peerings[peer.stack_name] = VpcPeering(
                self,
                f"Peering{index}",
                VpcPeeringProps(
                    vpc=self.network.vpc,
                    peer_vpc=peer.network.vpc,
                    peer_region=peer.region,
                    peer_cidr=peer.cidr,
                ),
            )
