"""Where an ElastiCache cache runs: its subnet group and a security group closed until granted."""

from __future__ import annotations

from dataclasses import dataclass

import jsii
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticache as elasticache
from constructs import Construct

from dbpatterns.common.network import select_subnet_ids


@dataclass(frozen=True, kw_only=True)
class CacheNetworkProps:
    """Where a cache runs. Shared by the replication group, its secondaries and Memcached."""

    #: The VPC.
    vpc: ec2.IVpc
    #: Subnets of the subnet group - the VPC's private isolated subnets by default.
    vpc_subnets: ec2.SubnetSelection | None = None


@jsii.implements(ec2.IConnectable)
class CacheNetwork(Construct):
    """A cache subnet group in private subnets and a security group that admits nobody until granted.

    Exposes ``subnet_group`` (``CfnSubnetGroup``), ``security_group`` and ``connections``.
    """

    def __init__(
        self, scope: Construct, construct_id: str, props: CacheNetworkProps, *, port: int, description: str
    ) -> None:
        super().__init__(scope, construct_id)
        self.subnet_group = elasticache.CfnSubnetGroup(
            self,
            "SubnetGroup",
            description=f"Private subnets of {description}",
            subnet_ids=select_subnet_ids(props.vpc, props.vpc_subnets),
        )
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=props.vpc,
            description=f"{description}: admits only the peers granted access",
            allow_all_outbound=False,
        )
        self._connections = ec2.Connections(
            security_groups=[self.security_group], default_port=ec2.Port.tcp(port)
        )

    @property
    def connections(self) -> ec2.Connections:
        """Network access to the cache (the security group, the cache port)."""
        return self._connections
