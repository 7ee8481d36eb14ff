"""A DAX cluster in private subnets that caches reads of one DynamoDB table, over TLS only."""

from __future__ import annotations

from dataclasses import dataclass, field

import jsii
from aws_cdk import Duration
from aws_cdk import aws_dax as dax
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from constructs import Construct

from dbpatterns.common.network import select_subnet_ids
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.roles import ManagedPolicyRole
from dbpatterns.common.validation import (
    check_instance,
    check_int,
    check_one_of,
    check_range,
    check_required,
    construct_label,
    require,
)
from dbpatterns.dynamodb.table import DynamoTable

#: DAX accepts 1 to 11 nodes (one primary and up to ten read replicas).
MIN_NODES, MAX_NODES = 1, 11
#: Port of DAX's TLS endpoint (8111 is the plain-text one, never opened here).
TLS_PORT = 9111
#: Read actions of the DAX data plane (writes go straight to DynamoDB in this pattern).
READ_ACTIONS = ("dax:GetItem", "dax:BatchGetItem", "dax:Query", "dax:Scan")
#: Current-generation DAX node types (DAX developer guide, "Nodes" > node types; checked 2026-12).
NODE_TYPES = (
    "dax.t3.small",
    "dax.t3.medium",
    "dax.r5.large",
    "dax.r5.xlarge",
    "dax.r5.2xlarge",
    "dax.r5.4xlarge",
    "dax.r5.8xlarge",
    "dax.r5.12xlarge",
    "dax.r5.16xlarge",
    "dax.r5.24xlarge",
)
#: DAX keeps items and query results for 5 minutes unless a parameter group says otherwise; the
#: item cache also keeps negative answers (an item that was not there) for that long.
MAX_TTL = Duration.days(30)


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
    #: Node type (one of :data:`NODE_TYPES`) - ``dax.r5.large`` in production, ``dax.t3.small`` in a
    #: sandbox.
    node_type: str | None = None
    #: Subnets for the subnet group - the private isolated subnets by default.
    subnets: ec2.SubnetSelection | None = None
    #: How long DAX keeps an item it read, including the answer "no such item" (whole seconds, at
    #: least 1 s; DAX reads 0 as "never expire") - 5 seconds by default, set in a parameter group
    #: instead of DAX's 5 minutes. Nothing permanent may be decided from a cached answer; the TTL only
    #: bounds how long a stale price or a cached miss costs an extra DynamoDB call.
    item_ttl: Duration = field(default_factory=lambda: Duration.seconds(5))
    #: How long DAX keeps a query or scan result (whole seconds, at least 1 s) - 1 second by default.
    query_ttl: Duration = field(default_factory=lambda: Duration.seconds(1))


@jsii.implements(ec2.IConnectable)
class DaxCache(Construct):
    """DAX cluster with TLS endpoint encryption, server-side encryption and a table-scoped role.

    An ``ec2.IConnectable`` whose default port is the TLS port: admit clients with
    ``dax.connections.allow_default_port_from(client)``; nothing else reaches it. Grant the data
    actions with :meth:`grant_read` (IAM only). Exposes ``cluster``, ``security_group``, ``role``,
    ``parameter_group`` and ``endpoint_url`` (the ``daxs://`` discovery URL clients use).
    """

    def __init__(self, scope: Construct, construct_id: str, props: DaxCacheProps) -> None:
        node_count, node_type = _validate(construct_label(type(self), scope, construct_id), props)
        super().__init__(scope, construct_id)

        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=props.vpc,
            description="DAX cluster: TLS port from admitted clients only",
            allow_all_outbound=False,
        )
        # DAX reads through to DynamoDB on the service side; its nodes need no outbound rule of ours.
        self._connections = ec2.Connections(
            security_groups=[self.security_group], default_port=ec2.Port.tcp(TLS_PORT)
        )
        subnet_ids = select_subnet_ids(props.vpc, props.subnets)
        subnet_group = dax.CfnSubnetGroup(
            self, "SubnetGroup", subnet_ids=subnet_ids, description="DAX nodes in private isolated subnets"
        )
        self.parameter_group = dax.CfnParameterGroup(
            self,
            "ParameterGroup",
            description="Item and query cache TTLs set on purpose (DAX caches misses too)",
            parameter_name_values={
                "record-ttl-millis": str(int(props.item_ttl.to_milliseconds())),
                "query-ttl-millis": str(int(props.query_ttl.to_milliseconds())),
            },
        )

        self.role = ManagedPolicyRole(
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
            node_type=node_type,
            replication_factor=node_count,
            cluster_endpoint_encryption_type="TLS",
            sse_specification=dax.CfnCluster.SSESpecificationProperty(sse_enabled=True),
            subnet_group_name=subnet_group.ref,
            parameter_group_name=self.parameter_group.ref,
            security_group_ids=[self.security_group.security_group_id],
            description="Read-through cache of the flash-sale products table",
        )
        self.cluster.node.add_dependency(self.role)
        self.endpoint_url: str = self.cluster.attr_cluster_discovery_endpoint_url

    @property
    def connections(self) -> ec2.Connections:
        """Network access to the cluster; the default port is DAX's TLS port."""
        return self._connections

    @property
    def cluster_arn(self) -> str:
        return self.cluster.attr_arn

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """DAX read actions on this cluster only (IAM; network access goes through ``connections``)."""
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=list(READ_ACTIONS), resource_arns=[self.cluster_arn]
        )


def _validate(name: str, props: DaxCacheProps) -> tuple[int, str]:
    for prop in ("table", "vpc", "profile"):
        check_required(name, prop, getattr(props, prop))
    check_instance(name, "table", props.table, DynamoTable)
    check_instance(name, "profile", props.profile, DeploymentProfile)
    node_count = props.profile.pick(props.node_count, production=3, sandbox=1)
    check_int(name, "node_count", node_count)
    check_range(name, "node_count", node_count, minimum=MIN_NODES, maximum=MAX_NODES)
    node_type = props.profile.pick(props.node_type, production="dax.r5.large", sandbox="dax.t3.small")
    check_one_of(name, "node_type", node_type, NODE_TYPES)
    for prop in ("item_ttl", "query_ttl"):
        value = getattr(props, prop)
        check_instance(name, prop, value, Duration)
        seconds = value.to_milliseconds() / 1000
        require(
            seconds == int(seconds) and 1 <= seconds <= MAX_TTL.to_seconds(),
            name,
            f"{prop} (seconds)",
            seconds,
            "allowed: whole seconds from 1 s to 30 days",
        )
    return node_count, node_type
