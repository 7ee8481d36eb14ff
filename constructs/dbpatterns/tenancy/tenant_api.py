"""The example tenant API: API Gateway REST with a Cognito user pool authorizer on every method, in
front of a Lambda function in the VPC that reaches each tenant's database through the directory."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import jsii
from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from dbpatterns.common.api_logging import AccountCloudWatchRole
from dbpatterns.common.function import HandlerFunction, HandlerFunctionProps
from dbpatterns.common.interfaces import check_interface, check_subnet_selection, check_vpc
from dbpatterns.common.nag import acknowledge, acknowledge_framework_rule
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.rest_api import check_throttling, create_rest_api
from dbpatterns.common.validation import (
    check_instance,
    check_int,
    check_range,
    check_required,
    construct_label,
)
from dbpatterns.common.web_acl import MAX_RATE_LIMIT as WAF_MAX_RATE_LIMIT
from dbpatterns.common.web_acl import MIN_RATE_LIMIT as WAF_MIN_RATE_LIMIT
from dbpatterns.common.web_acl import ApiWebAcl, ApiWebAclProps
from dbpatterns.runtime.tenancy.ids import MAX_TENANT_ID_LENGTH, MIN_TENANT_ID_LENGTH
from dbpatterns.tenancy.ca_bundle import LAMBDA_BUNDLE_PATH
from dbpatterns.tenancy.directory_table import TenantDirectoryTable
from dbpatterns.tenancy.driver_layer import pg8000_layer, pg8000_layer_content

#: The database role the API logs in as (``dbpatterns.runtime.tenancy.migrate.DEFAULT_APP_ROLE``; a
#: test keeps the two equal without importing the driver here).
APP_DB_USER = "tenancy_app"
#: The user pool attribute that carries the caller's tenant; the handler reads the claim
#: ``custom:tenant_id`` (``dbpatterns.handlers.tenancy.api.TENANT_CLAIM``).
TENANT_ATTRIBUTE = "tenant_id"
#: Routes of ``dbpatterns.handlers.tenancy.api`` (path -> methods), all behind the authorizer.
ROUTES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "/projects": ("GET", "POST"),
        "/projects/{project_id}": ("DELETE",),
        "/projects/{project_id}/tasks": ("GET", "POST"),
        "/tasks/{task_id}": ("PATCH",),
        "/reports/projects": ("GET",),
    }
)
#: IAM's limit on the inline policies of one role, in characters without white space ("Role policy
#: size", IAM quotas). Each tenant database stack attaches one ``rds-db:connect`` statement for its
#: own resource id (193 characters); the role's own grants (logs, X-Ray, VPC, the directory) are a
#: managed policy outside that budget, so 40 such policies stay below it with room to spare (measured
#: by ``tests/tenancy/test_iam_budget.py``). Inline on purpose: IAM attaches at most 10 (20 on
#: request) managed policies to a role.
MAX_PER_DATABASE_GRANTS = 40
#: The function's reserved concurrency in production: each execution holds at most one connection per
#: database, so a tenant database sees at most this many from the API - a tenth of what the smallest
#: production class (db.m7g.large, ~900 for PostgreSQL) admits - while 100 executions of a ~50 ms
#: request still serve far more than the stage's default 100 requests per second. It leaves 900 of
#: the default 1,000 for the account's unreserved pool (minimum 100).
PRODUCTION_RESERVED_CONCURRENCY = 100


class ConnectScope(enum.Enum):
    """Where the API's ``rds-db:connect`` permission comes from."""

    PER_DATABASE = "per_database"
    """Each tenant database stack attaches a policy for its own resource id and ``tenancy_app`` only
    (least privilege; up to :data:`MAX_PER_DATABASE_GRANTS` databases per API role)."""

    ACCOUNT = "account"
    """One statement on the API role: ``dbuser:*/tenancy_app`` in this account and region (any
    database's ``tenancy_app`` user, which only tenant databases have). For fleets above
    :data:`MAX_PER_DATABASE_GRANTS` databases, where per-database policies would exceed IAM's
    10,240-character limit on a role's inline policies."""


@dataclass(frozen=True, kw_only=True)
class TenantApiProps:
    """Props of :class:`TenantApi`."""

    profile: DeploymentProfile
    """Sandbox or production: log retention, removal and the user pool's deletion protection follow it."""
    vpc: ec2.IVpc
    """The VPC of the tenant databases; the function runs in it."""
    directory: TenantDirectoryTable
    #: Who sets API Gateway's account-level CloudWatch role that stage logging needs (see
    #: ``dbpatterns.common.api_logging.AccountCloudWatchRole``).
    account_cloud_watch_role: AccountCloudWatchRole
    """The directory the function resolves tenants with."""
    vpc_subnets: ec2.SubnetSelection | None = None
    """Subnets of the function - the private isolated subnets by default."""
    driver_layer: lambda_.ILayerVersion | None = None
    """A layer with pg8000 (``dbpatterns.tenancy.driver_layer.pg8000_layer``) - a new one by default."""
    connect_scope: ConnectScope = ConnectScope.PER_DATABASE
    """How the function may log in to the databases - one policy per database by default."""
    rate_limit: int = 100
    """Steady requests per second for the stage (1-10000) - 100 by default."""
    burst_limit: int = 200
    """Burst of requests for the stage (1-5000) - 200 by default."""
    rate_limit_per_ip: int = 1_000
    """Requests one IP may send in 5 minutes before the web ACL blocks it - 1,000 by default."""
    reserved_concurrency: int | None = None
    """Reserved concurrency of the function, which bounds the connections it opens per database -
    :data:`PRODUCTION_RESERVED_CONCURRENCY` in production, none (the account's unreserved pool) in a
    sandbox, whose new account may have a concurrency quota of only 10 and could not deploy a
    reservation."""


@jsii.implements(ec2.IConnectable, iam.IGrantable)
class TenantApi(Construct):
    """REST API (``v1`` stage, throttled, traced, access-logged, WAF) for tenant-scoped CRUD.

    Every method uses a Cognito user pool authorizer; the tenant is the immutable user attribute
    ``custom:tenant_id`` (set when an operator creates the user; self sign-up is off and no app client
    may write it), never a path or body value. The function (``dbpatterns.handlers.tenancy.api.handler``)
    runs in the VPC with its own security group (HTTPS to the VPC endpoints; each tenant database
    admits it on its port through ``connections``) and may only read the directory.

    ``ec2.IConnectable`` and ``iam.IGrantable`` (the function's role). Exposes ``api``, ``function``,
    ``user_pool``, ``user_pool_client``, ``authorizer``, ``access_logs``, ``web_acl``,
    ``security_group`` and ``connect_scope``.
    """

    def __init__(self, scope: Construct, construct_id: str, props: TenantApiProps) -> None:
        label = construct_label(type(self), scope, construct_id)
        _validate(label, props)
        driver = pg8000_layer_content(label, props.driver_layer)
        super().__init__(scope, construct_id)
        self.connect_scope = props.connect_scope
        profile = props.profile

        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=props.vpc,
            description="Tenant API function: HTTPS to the VPC endpoints, PostgreSQL to the tenant databases",
            allow_all_outbound=False,
        )
        self.security_group.add_egress_rule(
            ec2.Peer.any_ipv4(),
            ec2.Port.tcp(443),
            "HTTPS to AWS APIs through the VPC endpoints (isolated subnets: no other route)",
        )
        self._connections = self.security_group.connections

        reserved_concurrency = props.reserved_concurrency or (
            PRODUCTION_RESERVED_CONCURRENCY if profile.is_production else None
        )
        self.function = HandlerFunction(
            self,
            "Handler",
            HandlerFunctionProps(
                handler="dbpatterns.handlers.tenancy.api.handler",
                profile=profile,
                description="Tenant-scoped projects and tasks: directory, IAM token, the tenant's database",
                service_name="tenant-api",
                environment={
                    "TENANT_DIRECTORY_TABLE": props.directory.table_name,
                    "RDS_CA_BUNDLE": LAMBDA_BUNDLE_PATH,
                },
                timeout=Duration.seconds(15),
                memory_size=512,
                reserved_concurrent_executions=reserved_concurrency,
                vpc=props.vpc,
                vpc_subnets=props.vpc_subnets,
                security_groups=[self.security_group],
                layers=[pg8000_layer(self, "Pg8000", props.driver_layer, driver)],
            ),
        )
        props.directory.grant_lookup(self.function)
        acknowledge_framework_rule(
            self.function.function,
            "LambdaDLQ",
            "Invoked synchronously by API Gateway for tenant CRUD: a failure is a 5xx to the client, and "
            "the transaction it ran in the tenant database rolled back; nothing is left to queue.",
        )
        if reserved_concurrency is None:
            acknowledge_framework_rule(
                self.function.function,
                "LambdaConcurrency",
                "Sandbox: no reservation, so a new account (concurrency quota as low as 10) can deploy; "
                "the stage throttle bounds the connections instead. Production reserves concurrency.",
            )
        if props.connect_scope is ConnectScope.ACCOUNT:
            self._grant_connect_to_every_tenant_database()

        self.user_pool = cognito.UserPool(
            self,
            "Users",
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(email=True),
            standard_attributes=cognito.StandardAttributes(
                email=cognito.StandardAttribute(required=True, mutable=True)
            ),
            custom_attributes={
                TENANT_ATTRIBUTE: cognito.StringAttribute(
                    min_len=MIN_TENANT_ID_LENGTH, max_len=MAX_TENANT_ID_LENGTH, mutable=False
                )
            },
            mfa=cognito.Mfa.REQUIRED,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=Duration.days(3),
            ),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            feature_plan=cognito.FeaturePlan.PLUS,
            standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION,
            deletion_protection=profile.deletion_protection,
            removal_policy=profile.removal_policy,
        )
        self.user_pool_client = self.user_pool.add_client(
            "WebClient",
            auth_flows=cognito.AuthFlow(user_srp=True),
            prevent_user_existence_errors=True,
            generate_secret=False,
            read_attributes=cognito.ClientAttributes()
            .with_standard_attributes(email=True)
            .with_custom_attributes(TENANT_ATTRIBUTE),
            # Deliberately without custom:tenant_id: a user can never choose or change their tenant.
            write_attributes=cognito.ClientAttributes().with_standard_attributes(email=True),
        )
        self.authorizer = apigw.CognitoUserPoolsAuthorizer(
            self,
            "Authorizer",
            cognito_user_pools=[self.user_pool],
            identity_source="method.request.header.Authorization",
        )

        self.api, self.access_logs = create_rest_api(
            self,
            description="Example tenant API: projects and tasks of the caller's tenant",
            profile=profile,
            rate_limit=props.rate_limit,
            burst_limit=props.burst_limit,
            account_cloud_watch_role=props.account_cloud_watch_role,
            why_no_cache=(
                "Every response is one tenant's projects and tasks, changed by each write; a stage cache "
                "keyed by path could serve stale rows, or one tenant's rows to another."
            ),
        )
        validator = self.api.add_request_validator("RequestValidator", validate_request_parameters=True)
        acknowledge(
            self.api,
            "AwsSolutions-APIG2",
            "API Gateway validates every method's path parameters (the validator above); JSON bodies are "
            "validated by the handler, which answers 400 listing every problem, so the request contract "
            "lives in one place (dbpatterns.handlers.tenancy.projects) instead of two that could drift.",
        )
        integration = apigw.LambdaIntegration(self.function.function, proxy=True)
        self.methods: list[apigw.Method] = []
        for path, methods in ROUTES.items():
            resource = self.api.root.resource_for_path(path)
            parameters = {
                f"method.request.path.{part[1:-1]}": True for part in path.split("/") if part.startswith("{")
            }
            for method in methods:
                self.methods.append(
                    resource.add_method(
                        method,
                        integration,
                        authorizer=self.authorizer,
                        authorization_type=apigw.AuthorizationType.COGNITO,
                        request_validator=validator,
                        request_parameters=parameters or None,
                    )
                )

        self.web_acl = ApiWebAcl(
            self,
            "WebAcl",
            ApiWebAclProps(
                stage=self.api.deployment_stage,
                api_name="tenant-api",
                profile=profile,
                rate_limit_per_ip=props.rate_limit_per_ip,
            ),
        )

    @property
    def connections(self) -> ec2.Connections:
        """The function's security group (a database admits it with ``allow_default_port_from``)."""
        return self._connections

    @property
    def grant_principal(self) -> iam.IPrincipal:
        """The function's role."""
        return self.function.role

    @property
    def role(self) -> iam.IRole:
        """The function's role: tenant database stacks attach their ``rds-db:connect`` policy to it."""
        return self.function.role

    def _grant_connect_to_every_tenant_database(self) -> None:
        arn = Stack.of(self).format_arn(
            service="rds-db",
            resource="dbuser",
            resource_name=f"*/{APP_DB_USER}",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        self.function.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["rds-db:connect"], resources=[arn])
        )
        # cdk-nag shows the ARN as the template has it: literal in a stack with a concrete
        # environment, with pseudo parameters otherwise.
        resolved = Stack.of(self).resolve(arn)
        shown = (
            resolved
            if isinstance(resolved, str)
            else f"arn:<AWS::Partition>:rds-db:<AWS::Region>:<AWS::AccountId>:dbuser:*/{APP_DB_USER}"
        )
        acknowledge(
            self.function.role,
            f"AwsSolutions-IAM5[Resource::{shown}]",
            "connect_scope=ACCOUNT: the API serves every tenant database of the fleet, more than IAM's "
            "10,240-character inline-policy limit can list by resource id; the statement is still limited "
            f"to the {APP_DB_USER} user, which only tenant databases have, in this account and region.",
        )


def _validate(label: str, props: TenantApiProps) -> None:
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
    check_instance(label, "connect_scope", props.connect_scope, ConnectScope)
    for prop in ("rate_limit", "burst_limit", "rate_limit_per_ip"):
        check_int(label, prop, getattr(props, prop))
    check_throttling(label, props.rate_limit, props.burst_limit)
    check_range(
        label,
        "rate_limit_per_ip",
        props.rate_limit_per_ip,
        minimum=WAF_MIN_RATE_LIMIT,
        maximum=WAF_MAX_RATE_LIMIT,
    )
    check_int(label, "reserved_concurrency", props.reserved_concurrency, optional=True)
    check_range(label, "reserved_concurrency", props.reserved_concurrency, minimum=1)
