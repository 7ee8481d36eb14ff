"""Inter-region VPC peering: how a region's handlers reach the cache primary and the home table.

A global datastore's secondaries are read-only, so session writes cross regions to the primary's
endpoint, and handle claims cross to the home region's DynamoDB interface endpoint. Both are private
addresses in another region's VPC: peering connects the VPCs without NAT or internet routes.
Peering is not transitive, so every pair of regions is peered (three connections for three regions,
which also serves a failover that makes a secondary the primary). The CIDRs must not overlap.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from dbpatterns.common.validation import check_required, construct_label, is_unresolved, require


@dataclass(frozen=True, kw_only=True)
class VpcPeeringProps:
    """Props of :class:`VpcPeering`."""

    #: The requester VPC, in this stack's region.
    vpc: ec2.IVpc
    #: The accepter VPC (in ``peer_region``; same account: accepted without a role).
    peer_vpc: ec2.IVpc
    #: The accepter's region.
    peer_region: str
    #: The accepter VPC's CIDR, routed through the connection from ``vpc``'s isolated subnets.
    peer_cidr: str


class VpcPeering(Construct):
    """A peering connection requested from ``vpc`` to a VPC in another region of the same account,
    with routes to the peer's CIDR in ``vpc``'s isolated subnets. The accepter side adds its routes
    with :class:`PeerRoutes`. Exposes ``connection`` and ``connection_id``."""

    def __init__(self, scope: Construct, construct_id: str, props: VpcPeeringProps) -> None:
        name = construct_label(type(self), scope, construct_id)
        for prop in ("vpc", "peer_vpc", "peer_region", "peer_cidr"):
            check_required(name, prop, getattr(props, prop))
        region = Stack.of(scope).region
        require(
            is_unresolved(region) or region != props.peer_region,
            name,
            "peer_region",
            props.peer_region,
            "allowed: another region than the stack's (same-region peering needs no region)",
        )
        super().__init__(scope, construct_id)
        self.connection = ec2.CfnVPCPeeringConnection(
            self,
            "Resource",
            vpc_id=props.vpc.vpc_id,
            peer_vpc_id=props.peer_vpc.vpc_id,
            peer_region=props.peer_region,
        )
        self.connection_id = self.connection.ref
        PeerRoutes(self, "Routes", vpc=props.vpc, peer_cidr=props.peer_cidr, connection_id=self.connection_id)


class PeerRoutes(Construct):
    """Routes from a VPC's isolated subnets to ``peer_cidr`` through a peering connection."""

    def __init__(
        self, scope: Construct, construct_id: str, *, vpc: ec2.IVpc, peer_cidr: str, connection_id: str
    ) -> None:
        super().__init__(scope, construct_id)
        for index, subnet in enumerate(vpc.isolated_subnets):
            ec2.CfnRoute(
                self,
                f"Route{index}",
                route_table_id=subnet.route_table.route_table_id,
                destination_cidr_block=peer_cidr,
                vpc_peering_connection_id=connection_id,
            )
