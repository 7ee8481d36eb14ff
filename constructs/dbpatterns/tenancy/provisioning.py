"""The deploy-time side of the tenant fleet: the schema migration and the directory registration,
as two custom-resource providers shared by every tenant database stack of a region."""

from __future__ import annotations

from dataclasses import dataclass

import jsii
from aws_cdk import CfnElement, Duration, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr
from constructs import Construct

from dbpatterns.common.function import HandlerFunction, HandlerFunctionProps
from dbpatterns.common.interfaces import check_interface, check_subnet_selection, check_vpc
from dbpatterns.common.logs import create_log_group
from dbpatterns.common.nag import acknowledge, acknowledge_framework_rule
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.roles import ManagedPolicyRole
from dbpatterns.common.validation import check_instance, check_required, construct_label
from dbpatterns.tenancy.ca_bundle import LAMBDA_BUNDLE_PATH
from dbpatterns.tenancy.directory_table import TenantDirectoryTable
from dbpatterns.tenancy.driver_layer import pg8000_layer, pg8000_layer_content

#: Custom resource types, as they appear in the tenant database stacks' templates.
SCHEMA_RESOURCE_TYPE = "Custom::TenantSchema"
DIRECTORY_RESOURCE_TYPE = "Custom::TenantDirectoryEntry"
#: Migrations are small DDL batches; the timeout also covers a database that just finished booting.
SCHEMA_TIMEOUT = Duration.minutes(5)
DIRECTORY_TIMEOUT = Duration.minutes(1)
LAMBDA_PRINCIPAL = iam.ServicePrincipal("lambda.amazonaws.com")


@dataclass(frozen=True, kw_only=True)
class TenantProvisioningProps:
    """Props of :class:`TenantProvisioning`."""

    profile: DeploymentProfile
    """Sandbox or production: log retention and removal follow it."""
    vpc: ec2.IVpc
    """The VPC of the tenant databases (the schema function connects to them)."""
    directory: TenantDirectoryTable
    """The directory the registration function writes."""
    vpc_subnets: ec2.SubnetSelection | None = None
    """Subnets of the functions - the private isolated subnets by default."""
    driver_layer: lambda_.ILayerVersion | None = None
    """A layer with pg8000 (``dbpatterns.tenancy.driver_layer.pg8000_layer``) - a new one by default."""


@jsii.implements(ec2.IConnectable)
class TenantProvisioning(Construct):
    """Two functions in the VPC behind two ``custom_resources.Provider`` s:

    - **schema** (``dbpatterns.handlers.tenancy.schema_resource.on_event``): connects to a database
      as its master user (RDS-managed secret, TLS verify-full against the bundled RDS CAs) and applies
      the tenant schema and its row-level security, idempotently;
    - **directory** (``dbpatterns.handlers.tenancy.directory_resource.on_event``): writes the
      database's record and its tenants into the directory table.

    Both share one security group, which may only open HTTPS (to the VPC endpoints) by itself; each
    tenant database admits it on its port through ``connections`` (``ec2.IConnectable``). A database
    lets ``schema_role`` read its master secret with a resource policy in its own stack, so adding a
    database never changes this construct. Exposes ``schema_function``, ``directory_function``,
    ``schema_provider``, ``directory_provider``, ``schema_service_token``, ``directory_service_token``
    and ``security_group``.
    """

    def __init__(self, scope: Construct, construct_id: str, props: TenantProvisioningProps) -> None:
        label = construct_label(type(self), scope, construct_id)
        check_instance(label, "profile", props.profile, DeploymentProfile)
        check_required(label, "vpc", props.vpc)
        check_vpc(label, props.vpc)
        check_subnet_selection(label, props.vpc_subnets)
        check_instance(label, "directory", props.directory, TenantDirectoryTable)
        check_interface(
            label,
            "driver_layer",
            props.driver_layer,
            "lambda.ILayerVersion",
            ("layer_version_arn",),
            optional=True,
        )
        driver = pg8000_layer_content(label, props.driver_layer)
        super().__init__(scope, construct_id)

        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=props.vpc,
            description="Tenant schema and directory custom resources: HTTPS to the VPC endpoints, "
            "PostgreSQL to the databases that admit them",
            allow_all_outbound=False,
        )
        self.security_group.add_egress_rule(
            ec2.Peer.any_ipv4(),
            ec2.Port.tcp(443),
            "HTTPS to AWS APIs through the VPC endpoints (isolated subnets: no other route)",
        )
        self._connections = self.security_group.connections
        layer = pg8000_layer(self, "Pg8000", props.driver_layer, driver)

        self.schema_function = HandlerFunction(
            self,
            "SchemaFunction",
            HandlerFunctionProps(
                handler="dbpatterns.handlers.tenancy.schema_resource.on_event",
                profile=props.profile,
                description="Applies the tenant schema and row-level security to a tenant database",
                service_name="tenancy-schema",
                environment={"RDS_CA_BUNDLE": LAMBDA_BUNDLE_PATH},
                timeout=SCHEMA_TIMEOUT,
                vpc=props.vpc,
                vpc_subnets=props.vpc_subnets,
                security_groups=[self.security_group],
                layers=[layer],
            ),
        )
        self.directory_function = HandlerFunction(
            self,
            "DirectoryFunction",
            HandlerFunctionProps(
                handler="dbpatterns.handlers.tenancy.directory_resource.on_event",
                profile=props.profile,
                description="Registers a tenant database and its tenants in the tenant directory",
                service_name="tenancy-directory",
                timeout=DIRECTORY_TIMEOUT,
                vpc=props.vpc,
                vpc_subnets=props.vpc_subnets,
                security_groups=[self.security_group],
            ),
        )
        props.directory.grant_register(self.directory_function)
        for function in (self.schema_function, self.directory_function):
            acknowledge_framework_rule(
                function.function,
                "LambdaDLQ",
                "Invoked synchronously by the custom-resource provider framework during a deployment: a "
                "failure fails the tenant database's stack update, which rolls back; nothing is queued.",
            )
            acknowledge_framework_rule(
                function.function,
                "LambdaConcurrency",
                "Runs once per tenant database and deployment, so it never crowds the database; a "
                "reservation would hold account concurrency idle between deployments.",
            )

        self.schema_provider = self._provider(
            "SchemaProvider",
            self.schema_function,
            create_log_group(self, "SchemaProviderLogs", profile=props.profile),
            ManagedPolicyRole(self, "SchemaProviderRole", assumed_by=LAMBDA_PRINCIPAL),
        )
        self.directory_provider = self._provider(
            "DirectoryProvider",
            self.directory_function,
            create_log_group(self, "DirectoryProviderLogs", profile=props.profile),
            ManagedPolicyRole(self, "DirectoryProviderRole", assumed_by=LAMBDA_PRINCIPAL),
        )
        self.schema_service_token: str = self.schema_provider.service_token
        self.directory_service_token: str = self.directory_provider.service_token

    @property
    def connections(self) -> ec2.Connections:
        """The functions' security group (a database admits it with ``allow_default_port_from``)."""
        return self._connections

    @property
    def schema_role(self) -> iam.IRole:
        """The schema function's role: a database's secret and key policies name it."""
        return self.schema_function.role

    def _provider(
        self, construct_id: str, function: HandlerFunction, log_group: logs.LogGroup, role: ManagedPolicyRole
    ) -> cr.Provider:
        """CDK's provider framework for ``function``, with a role of ours: its grants land in a managed
        policy, and it may write only to ``log_group`` (no AWS managed logging policy)."""
        log_group.grant_write(role)
        provider = cr.Provider(
            self,
            construct_id,
            on_event_handler=function.function,
            log_group=log_group,
            framework_on_event_role=role,
        )
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::<{_logical_id(function)}.Arn>:*]",
            "The framework may invoke every version and alias of exactly one function, ours; aws-cdk-lib "
            "writes the ':*' so a new version needs no policy change.",
        )
        framework = provider.node.find_child("framework-onEvent")
        acknowledge_framework_rule(
            framework,
            "LambdaInsideVPC",
            "aws-cdk-lib's provider framework answers CloudFormation through a pre-signed S3 URL and calls "
            "our function through the Lambda API; the isolated subnets have no route to either.",
        )
        acknowledge_framework_rule(
            framework,
            "LambdaDLQ",
            "Invoked by CloudFormation for one custom-resource event: a failure is reported back to the "
            "stack, which rolls back; there is no event left to keep for a retry.",
        )
        acknowledge_framework_rule(
            framework,
            "LambdaConcurrency",
            "Runs only while CloudFormation deploys a tenant database, one event per resource; reserving "
            "concurrency would take from the account's pool and protect nothing downstream.",
        )
        return provider


def _logical_id(function: HandlerFunction) -> str:
    """The function's logical ID, as cdk-nag names its ARN in a finding (``<LogicalId.Arn>``)."""
    resource = function.function.node.default_child
    assert isinstance(resource, CfnElement)
    return str(Stack.of(function).get_logical_id(resource))
