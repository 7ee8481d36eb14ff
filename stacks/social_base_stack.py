"""A secondary region's foundation for the social platform: data key, API Gateway logging role, peering.

Deployed before the global stack, which needs this region's key for the table replica and the
secret replicas. The VPC is the region's network stack's (one VPC per region).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from dbpatterns.common.api_logging import ApiGatewayCloudWatchRole
from dbpatterns.common.encryption import create_key
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.social.peering import VpcPeering, VpcPeeringProps
from stacks.base import ReferenceStack


class SocialBaseStack(ReferenceStack):
    """The region's data key, API Gateway's account-level logging role for this region, and peering
    from the region's VPC (``vpc``, whose block is ``cidr``) to the VPCs of earlier secondary regions.

    Exposes ``vpc``, ``cidr``, ``key`` and ``peerings`` (peer stack name -> :class:`VpcPeering`).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        profile: DeploymentProfile,
        vpc: ec2.IVpc,
        cidr: str,
        peers: Sequence[SocialBaseStack] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.vpc = vpc
        self.cidr = cidr
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
                VpcPeeringProps(vpc=vpc, peer_vpc=peer.vpc, peer_region=peer.region, peer_cidr=peer.cidr),
            )
