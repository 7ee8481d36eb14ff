"""A DAX cluster in private subnets that caches reads of one DynamoDB table, over TLS only."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_dax as dax
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from constructs import Construct

from dbpatterns.common.network import select_subnet_ids
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.validation import check_range
from dbpatterns.dynamodb.table import DynamoTable

#: DAX accepts 1 to 11 nodes (one primary and up to ten read replicas).
MIN_NODES, MAX_NODES = 1, 11
#: Port of DAX's TLS endpoint (8111 is the plain-text one, never opened here).
TLS_PORT = 9111
#: Read actions of the DAX data plane (writes go straight to DynamoDB in this pattern).
READ_ACTIONS = ("dax:GetItem", "dax:BatchGetItem", "dax:Query", "dax:Scan")


@dataclass(frozen=True, kw_only=True)
class DaxCacheProps:
    """Props of :class:`DaxCache`."""

    #: The table whose reads DAX caches.
    table: DynamoTable
    #: VPC of the cluster; its private isolated subnets hold the nodes.
    vpc: ec2.IVpc
    #: Sandbox or production: sets the default node count and type.
    profile: DeploymentProfile
    #: Nodes (1-11) - 3 in production (spread over AZs: losing one AZ keeps the cache), 1 in a sandbox.
    node_count: int | None = None
    #: Node type - ``dax.r5.large`` in production, ``dax.t3.small`` in a sandbox.
    node_type: str | None = None
    #: Subnets for the subnet group - the private isolated subnets by default.
    subnets: ec2.SubnetSelection | None = None


class DaxCache(Construct):
    """DAX cluster with TLS endpoint encryption, server-side encryption and a table-scoped role.

    Only peers you admit with :meth:`allow_from` reach it, on the TLS port. Exposes ``cluster``,
    ``security_group``, ``role`` and ``endpoint_url`` (the ``daxs://`` discovery URL clients use).
    """

    def __init__(self, scope: Construct, construct_id: str, props: DaxCacheProps) -> None:
        node_count = (
            props.node_count if props.node_count is not None else (3 if props.profile.is_production else 1)
        )
        check_range(type(self).__name__, "node_count", node_count, minimum=MIN_NODES, maximum=MAX_NODES)
        super().__init__(scope, construct_id)

        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=props.vpc,
            description="DAX cluster: TLS port from admitted clients only",
            allow_all_outbound=False,
        )
        # DAX reads through to DynamoDB on the service side; its nodes need no outbound rule of ours.
        subnet_ids = select_subnet_ids(props.vpc, props.subnets)
        subnet_group = dax.CfnSubnetGroup(
            self, "SubnetGroup", subnet_ids=subnet_ids, description="DAX nodes in private isolated subnets"
        )

        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("dax.amazonaws.com"),
            description="Lets DAX read the cached table on behalf of its clients",
        )
        # Read-only: this pattern writes to DynamoDB directly, never through DAX.
        props.table.grant(
            self.role,
            "dynamodb:GetItem",
            "dynamodb:BatchGetItem",
            "dynamodb:Query",
            "dynamodb:Scan",
            "dynamodb:DescribeTable",
        )

        self.cluster = dax.CfnCluster(
            self,
            "Resource",
            iam_role_arn=self.role.role_arn,
            node_type=props.node_type or ("dax.r5.large" if props.profile.is_production else "dax.t3.small"),
            replication_factor=node_count,
            cluster_endpoint_encryption_type="TLS",
            sse_specification=dax.CfnCluster.SSESpecificationProperty(sse_enabled=True),
            subnet_group_name=subnet_group.ref,
            security_group_ids=[self.security_group.security_group_id],
            description="Read-through cache of the flash-sale products table",
        )
        self.cluster.node.add_dependency(self.role)
        self.endpoint_url: str = self.cluster.attr_cluster_discovery_endpoint_url

    @property
    def cluster_arn(self) -> str:
        return self.cluster.attr_arn

    def allow_from(self, peer: ec2.IConnectable, description: str) -> None:
        """Admit ``peer`` on the TLS port (and only that port)."""
        for group in peer.connections.security_groups:
            self.security_group.add_ingress_rule(group, ec2.Port.tcp(TLS_PORT), description)
            group.add_egress_rule(self.security_group, ec2.Port.tcp(TLS_PORT), "To the DAX cluster over TLS")

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """DAX read actions on this cluster only."""
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=list(READ_ACTIONS), resource_arns=[self.cluster_arn]
        )
