"""A VPC for databases: private isolated subnets only, no NAT, endpoints instead of internet."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from aws_cdk import Fn, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from constructs import Construct

from dbpatterns.common.logs import create_log_group
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.roles import ManagedPolicyRole
from dbpatterns.common.validation import (
    PropValidationError,
    check_range,
    check_unique,
    construct_label,
    is_unresolved,
)

MAX_AZS = 6
#: How many AZs :class:`DeployTimeAzStack` answers with (every commercial region has at least three).
DEPLOY_TIME_AZ_COUNT = 3


def deploy_time_availability_zones(count: int = DEPLOY_TIME_AZ_COUNT) -> list[str]:
    """``Fn::Select [i, Fn::GetAZs ""]`` for ``i < count``: AZs CloudFormation picks in the deploying
    account, so synth needs no lookup and templates carry no AZ name (cfn-lint W3010)."""
    return [Fn.select(index, Fn.get_azs()) for index in range(count)]


class DeployTimeAzStack(Stack):
    """A ``Stack`` that answers its availability zones itself, with :func:`deploy_time_availability_zones`.

    ``ec2.Vpc`` always reads ``Stack.availability_zones``; in a stack with a concrete account and
    region that is a context lookup at synth (AWS credentials, ``cdk.context.json``), even when the
    VPC is given its AZs. Derive stacks that hold an :class:`IsolatedNetwork` from this class (or
    override ``availability_zones`` the same way in your own base class) to synthesize without it.
    """

    @property
    def availability_zones(self) -> list[str]:
        return deploy_time_availability_zones()


@dataclass(frozen=True, kw_only=True)
class IsolatedNetworkProps:
    """Props of :class:`IsolatedNetwork`."""

    #: Sandbox or production: sets the number of AZs and the flow-log retention.
    profile: DeploymentProfile
    #: Number of AZs (2-6) - 3 in production, 2 in a sandbox (the fewest an RDS, DAX or
    #: ElastiCache subnet group accepts).
    max_azs: int | None = None
    #: AZ names - the first ``max_azs`` AZs of the region, resolved by CloudFormation at deploy time.
    availability_zones: Sequence[str] = ()
    #: CIDR of the VPC - ``10.0.0.0/16`` by default.
    cidr: str = "10.0.0.0/16"
    #: NAT gateways - 0 by default: everything reaches AWS through VPC endpoints. With NAT the VPC
    #: also gets private subnets with egress.
    nat_gateways: int = 0
    #: Interface endpoints to add, by construct ID (e.g. ``{"Sqs": InterfaceVpcEndpointAwsService.SQS}``)
    #: - none by default. Gateway endpoints for DynamoDB and S3 are always added (they are free).
    interface_endpoints: Mapping[str, ec2.InterfaceVpcEndpointAwsService] = field(default_factory=dict)
    #: In how many AZs each interface endpoint has a network interface (1 to ``max_azs``; each costs
    #: by the hour) - every AZ in production, so losing an AZ keeps the endpoints; 1 in a sandbox.
    interface_endpoint_azs: int | None = None


class IsolatedNetwork(Construct):
    """VPC with private isolated subnets across AZs, gateway endpoints and VPC flow logs.

    Exposes ``vpc``, ``flow_log``, ``isolated_subnets`` (a selection for database subnet groups)
    and ``endpoint_security_group`` (admits HTTPS from inside the VPC to the interface endpoints).
    """

    def __init__(self, scope: Construct, construct_id: str, props: IsolatedNetworkProps) -> None:
        name = construct_label(type(self), scope, construct_id)
        _check_no_az_lookup(name, scope)
        max_azs = props.profile.pick(props.max_azs, production=3, sandbox=2)
        check_range(name, "max_azs", max_azs, minimum=2, maximum=MAX_AZS)
        endpoint_azs = props.profile.pick(props.interface_endpoint_azs, production=max_azs, sandbox=1)
        check_range(name, "interface_endpoint_azs", endpoint_azs, minimum=1, maximum=max_azs)
        check_range(name, "nat_gateways", props.nat_gateways, minimum=0, maximum=max_azs)
        check_unique(name, "interface_endpoints", [e.short_name for e in props.interface_endpoints.values()])
        if props.availability_zones and len(props.availability_zones) < 2:
            raise PropValidationError(
                name,
                "availability_zones",
                list(props.availability_zones),
                "allowed: at least 2 AZs (database subnet groups need two)",
            )
        super().__init__(scope, construct_id)

        # AZs as `Fn::Select [i, Fn::GetAZs ""]`: chosen by CloudFormation in the deploying account, so
        # synth needs no AWS lookup and templates carry no hard-coded AZ name (cfn-lint W3010).
        azs = list(props.availability_zones) or deploy_time_availability_zones(max_azs)

        subnets = [
            ec2.SubnetConfiguration(
                name="Isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=22
            )
        ]
        if props.nat_gateways:
            subnets += [
                ec2.SubnetConfiguration(name="Public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24),
                ec2.SubnetConfiguration(
                    name="Private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=22
                ),
            ]
        self.vpc = ec2.Vpc(
            self,
            "Resource",
            ip_addresses=ec2.IpAddresses.cidr(props.cidr),
            availability_zones=azs,
            nat_gateways=props.nat_gateways,
            subnet_configuration=subnets,
            gateway_endpoints={
                "DynamoDb": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.DYNAMODB),
                "S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3),
            },
            restrict_default_security_group=True,
        )
        self.isolated_subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)

        flow_log_group = create_log_group(self, "FlowLogs", profile=props.profile)
        flow_log_role = ManagedPolicyRole(
            self, "FlowLogRole", assumed_by=iam.ServicePrincipal("vpc-flow-logs.amazonaws.com")
        )
        self.flow_log = self.vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_log_group, flow_log_role),
            traffic_type=ec2.FlowLogTrafficType.ALL,
        )

        self.endpoint_security_group = ec2.SecurityGroup(
            self,
            "EndpointSecurityGroup",
            vpc=self.vpc,
            description="Interface endpoints: HTTPS from inside the VPC only",
            allow_all_outbound=False,
        )
        self.endpoint_security_group.add_ingress_rule(
            ec2.Peer.ipv4(props.cidr), ec2.Port.tcp(443), "HTTPS from the VPC"
        )
        self.interface_endpoints: dict[str, ec2.InterfaceVpcEndpoint] = {}
        endpoints = Construct(self, "Endpoints")
        endpoint_subnets = ec2.SubnetSelection(subnets=self.vpc.isolated_subnets[:endpoint_azs])
        for endpoint_id, service in props.interface_endpoints.items():
            endpoint = ec2.InterfaceVpcEndpoint(
                endpoints,
                endpoint_id,
                vpc=self.vpc,
                service=service,
                subnets=endpoint_subnets,
                security_groups=[self.endpoint_security_group],
                private_dns_enabled=True,
                open=False,  # the endpoint security group above already admits HTTPS from the VPC
            )
            self.interface_endpoints[endpoint_id] = endpoint


def _check_no_az_lookup(construct: str, scope: Construct) -> None:
    """Fail instead of letting ``ec2.Vpc`` look up the stack's AZs at synth.

    No lookup happens when the stack is environment-agnostic (CDK answers with ``Fn::GetAZs``), when
    its class answers ``availability_zones`` itself (:class:`DeployTimeAzStack`), or when the app's
    context already holds the answer (``cdk.json`` or ``cdk.context.json``).
    """
    stack = Stack.of(scope)
    if is_unresolved(stack.account) or is_unresolved(stack.region):
        return
    answered_by = next(klass for klass in type(stack).__mro__ if "availability_zones" in vars(klass))
    if not answered_by.__module__.startswith("aws_cdk"):
        return
    key = f"availability-zones:account={stack.account}:region={stack.region}"
    if stack.node.try_get_context(key) is not None:
        return
    raise PropValidationError(
        construct,
        "stack",
        stack.node.path,
        "allowed: a stack that needs no availability-zone lookup at synth (ec2.Vpc reads the stack's AZs, "
        "and a plain Stack with a concrete account and region looks them up with AWS credentials): "
        "derive the stack from dbpatterns.common.network.DeployTimeAzStack (AZs chosen by CloudFormation "
        "at deploy time) or override its availability_zones, or give the context key "
        f"{key!r} (cdk.json), or make the stack environment-agnostic",
    )


def select_subnet_ids(vpc: ec2.IVpc, selection: ec2.SubnetSelection | None = None) -> list[str]:
    """IDs of the subnets ``selection`` picks in ``vpc`` - its private isolated subnets by default.

    For L1 subnet groups (DAX, ElastiCache), which take IDs rather than a selection.
    """
    chosen = selection or ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
    return vpc.select_subnets(
        subnet_type=chosen.subnet_type,
        subnet_group_name=chosen.subnet_group_name,
        subnets=chosen.subnets,
        availability_zones=chosen.availability_zones,
        one_per_az=chosen.one_per_az,
    ).subnet_ids
