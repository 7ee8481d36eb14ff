"""One region's app tier: REST API, one Lambda function per handler group, health check, latency record."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from aws_cdk import Aws, Duration, Fn, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as targets
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from dbpatterns.common.api_logging import AccountCloudWatchRole
from dbpatterns.common.api_schema import json_schema
from dbpatterns.common.function import HandlerFunction, HandlerFunctionProps
from dbpatterns.common.nag import acknowledge, acknowledge_framework_rule
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.rest_api import STAGE_NAME, check_throttling, create_rest_api
from dbpatterns.common.validation import (
    check_instance,
    check_int,
    check_range,
    check_required,
    construct_label,
    is_unresolved,
    require,
)
from dbpatterns.common.web_acl import MAX_RATE_LIMIT as WAF_MAX_RATE_LIMIT
from dbpatterns.common.web_acl import MIN_RATE_LIMIT as WAF_MIN_RATE_LIMIT
from dbpatterns.common.web_acl import ApiWebAcl, ApiWebAclProps
from dbpatterns.handlers.social import keys, schema
from dbpatterns.handlers.social.timeline import MAX_SHARDS

#: Read-only actions every function needs on the local replica (reads, session records, topology).
_READ: Final = ("dynamodb:GetItem", "dynamodb:Query", "dynamodb:BatchGetItem", "dynamodb:DescribeTable")
#: Actions a write inside a transaction needs (IAM authorizes each item's operation).
_WRITE: Final = (
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:ConditionCheckItem",
)
_KMS_READ: Final = ("kms:Decrypt", "kms:DescribeKey")
_KMS_WRITE: Final = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey")
_DAY_SECONDS: Final = 86_400


@dataclass(frozen=True, kw_only=True)
class HomeRegionAccess:
    """How handlers outside the home region write handle claims there (registration, handle change)."""

    #: The home region (where every handle claim is written).
    region: str
    #: The global table, defined in the home region's stack.
    table: dynamodb.ITableV2
    #: The table's key in the home region.
    encryption_key: kms.IKey
    #: URL of the home VPC's DynamoDB interface endpoint (``https://vpce-....dynamodb.<region>.vpce.amazonaws.com``),
    #: reached over VPC peering.
    endpoint_url: str


@dataclass(frozen=True, kw_only=True)
class SessionCacheAccess:
    """The session cache as this region's handlers see it (see ``dbpatterns.handlers.social.sessions``)."""

    #: Reader endpoint address of this region's replication group (local reads).
    reader_endpoint: str
    #: Address of the global datastore's primary endpoint (writes; in another region for secondaries).
    primary_endpoint: str
    #: The primary's region.
    primary_region: str
    #: The cache port.
    port: int
    #: The AUTH token secret, as replicated into this region.
    auth_token: secretsmanager.ISecret
    #: The key encrypting ``auth_token`` in this region.
    auth_token_key: kms.IKey
    #: The local replication group's network access (the handlers are admitted on ``port``).
    connections: ec2.Connections


@dataclass(frozen=True, kw_only=True)
class ApiDomain:
    """A custom domain answered by the nearest healthy region (Route 53 latency records)."""

    #: The name clients use, the same in every region, e.g. ``api.social.example.com``.
    domain_name: str
    #: The public hosted zone holding ``domain_name``.
    hosted_zone: route53.IHostedZone
    #: A certificate for ``domain_name`` in this stack's region - a new DNS-validated one by default.
    certificate: acm.ICertificate | None = None


@dataclass(frozen=True, kw_only=True)
class SocialRegionalApiProps:
    """Props of :class:`SocialRegionalApi`."""

    #: Sandbox or production: log retention and removal follow it.
    profile: DeploymentProfile
    #: The region's VPC: the functions run in its isolated subnets to reach the cache.
    vpc: ec2.IVpc
    #: Who sets API Gateway's account-level CloudWatch role that stage logging needs (see
    #: ``dbpatterns.common.api_logging.AccountCloudWatchRole``).
    account_cloud_watch_role: AccountCloudWatchRole
    #: The global table's replica in this region (e.g. ``TableV2.from_table_attributes``), with the
    #: ``Timeline`` index among its global indexes.
    table: dynamodb.ITableV2
    #: The key that encrypts the replica in this region.
    table_key: kms.IKey
    #: Every replica region (the handlers sum every region's counter shards).
    regions: Sequence[str]
    #: Where handle claims go; None in the home region itself.
    home: HomeRegionAccess | None
    #: The cursor-signing key secret, as replicated into this region.
    cursor_secret: secretsmanager.ISecret
    #: The key encrypting ``cursor_secret`` in this region.
    cursor_secret_key: kms.IKey
    #: The session cache - none (sessions in the table only) by default.
    cache: SessionCacheAccess | None = None
    #: Custom domain with a latency record - none (clients use the regional URL) by default.
    domain: ApiDomain | None = None
    #: Steady requests per second of the stage (1-10000) - 1,000 by default.
    rate_limit: int = 1_000
    #: Burst of the stage (1-5000) - 2,000 by default.
    burst_limit: int = 2_000
    #: Requests one IP may send in 5 minutes before WAF blocks it - 3,000 by default.
    rate_limit_per_ip: int = 3_000
    #: Memory of each function in MB: Lambda's CPU share grows with it, and a request's own time is
    #: mostly SDK CPU (1,769 MB = one full vCPU) - 1,769 by default.
    memory_size: int = 1_769
    #: Timeline shards (1-64): see ``dbpatterns.handlers.social.timeline`` - 8 by default.
    timeline_shards: int = 8
    #: Timeline bucket (whole minutes dividing a day) - 1 day by default.
    timeline_bucket: Duration = field(default_factory=lambda: Duration.days(1))
    #: Counter shards per region and entity (1-32) - 1 by default.
    counter_shards: int = 1
    #: A session unused this long expires (sliding) - 30 minutes by default.
    session_idle: Duration = field(default_factory=lambda: Duration.minutes(30))
    #: No session lives longer than this - 7 days by default.
    session_absolute: Duration = field(default_factory=lambda: Duration.days(7))


@dataclass(frozen=True)
class _Group:
    module: str
    description: str
    local: tuple[str, ...]
    home: tuple[str, ...] = ()


_GROUPS: Final = {
    "Profiles": _Group(
        "profiles",
        "Registers users and reads and changes profiles (handle claims go to the home region)",
        (*_READ, "dynamodb:UpdateItem"),
        home=("dynamodb:GetItem", *_WRITE),
    ),
    "Posts": _Group(
        "posts",
        "Publishes posts and reads posts, author timelines and the global feed",
        (*_READ, "dynamodb:PutItem", "dynamodb:UpdateItem"),
    ),
    "Graph": _Group("graph", "Likes and follows, idempotent per user, counted per region", _READ + _WRITE),
    "Sessions": _Group(
        "session_api",
        "Signs users in and out and refreshes sessions",
        (*_READ, "dynamodb:PutItem", "dynamodb:UpdateItem"),
        home=("dynamodb:GetItem",),
    ),
    "Health": _Group(
        "health", "Answers Route 53 health checks from the local table replica", ("dynamodb:GetItem",)
    ),
}

#: (path, method, handler group, request model or None, authenticated by a session)
_ROUTES: Final = (
    ("/users", "POST", "Profiles", "RegisterRequest", False),
    ("/users/{user_id}", "GET", "Profiles", None, False),
    ("/users/{user_id}", "PATCH", "Profiles", "ProfileUpdateRequest", True),
    ("/users/{user_id}/posts", "GET", "Posts", None, False),
    ("/users/{user_id}/follow", "PUT", "Graph", None, True),
    ("/users/{user_id}/follow", "DELETE", "Graph", None, True),
    ("/posts", "POST", "Posts", "PostRequest", True),
    ("/posts/{post_id}", "GET", "Posts", None, False),
    ("/posts/{post_id}/like", "PUT", "Graph", None, True),
    ("/posts/{post_id}/like", "DELETE", "Graph", None, True),
    ("/feed", "GET", "Posts", None, False),
    ("/sessions", "POST", "Sessions", "LoginRequest", False),
    ("/sessions", "DELETE", "Sessions", None, True),
    ("/sessions/refresh", "POST", "Sessions", None, True),
    ("/health", "GET", "Health", None, False),
)


class SocialRegionalApi(Construct):
    """API Gateway (REST, regional, WAF, throttled, access-logged) in front of one function per handler
    group, all reading and writing the local table replica; a Route 53 health check on ``GET /health``;
    and, with a domain, a custom domain name and a latency record that Route 53 withdraws when the
    health check fails.

    Every function runs in the VPC's isolated subnets in one security group (admitted by the local
    cache), with IAM scoped to the actions of its group. Exposes ``api``, ``functions`` (by group),
    ``security_group``, ``health_check``, ``url`` (the regional stage URL), ``domain`` and ``record``
    (None without a domain).
    """

    def __init__(self, scope: Construct, construct_id: str, props: SocialRegionalApiProps) -> None:
        name = construct_label(type(self), scope, construct_id)
        region = Stack.of(scope).region
        _validate(name, props, region)
        models = {model: json_schema(document) for model, document in schema.BODY_SCHEMAS.items()}
        super().__init__(scope, construct_id)

        self.security_group = ec2.SecurityGroup(
            self,
            "HandlerSecurityGroup",
            vpc=props.vpc,
            description="Social handlers: reach the cache (here and at the primary) and the home table",
            allow_all_outbound=True,
        )
        if props.cache is not None:
            # The rule lives here, not in the cache's stack (which may be the one this stack depends on).
            for index, cache_group in enumerate(props.cache.connections.security_groups):
                ec2.CfnSecurityGroupIngress(
                    self,
                    f"CacheIngress{index}",
                    group_id=cache_group.security_group_id,
                    ip_protocol="tcp",
                    from_port=props.cache.port,
                    to_port=props.cache.port,
                    source_security_group_id=self.security_group.security_group_id,
                    description="Social handlers of this region",
                )

        environment = _environment(props, region)
        self.functions: dict[str, HandlerFunction] = {}
        for group_id, group in _GROUPS.items():
            function = HandlerFunction(
                self,
                group_id,
                HandlerFunctionProps(
                    handler=f"dbpatterns.handlers.social.{group.module}.handler",
                    profile=props.profile,
                    description=group.description,
                    service_name=f"social-{group.module.replace('_', '-')}",
                    metrics_namespace="DbPatterns/Social",
                    environment=environment,
                    timeout=Duration.seconds(10),
                    memory_size=props.memory_size,
                    vpc=props.vpc,
                    security_groups=[self.security_group],
                ),
            )
            self._grant(function, group, props)
            acknowledge_framework_rule(
                function.function,
                "LambdaDLQ",
                f"Invoked synchronously by API Gateway (Lambda proxy) for the {group_id} routes: a failure "
                "is a 5xx to the client, who retries; no asynchronous event is left to keep.",
            )
            acknowledge_framework_rule(
                function.function,
                "LambdaConcurrency",
                "Its downstreams, the on-demand table replica and the session cache (tens of thousands of "
                "connections), need no shielding; the stage throttle bounds invocations, and a reservation "
                "would take from the region's unreserved pool.",
            )
            self.functions[group_id] = function

        self.api, self.access_logs = create_rest_api(
            self,
            description="Global social platform, regional endpoint",
            profile=props.profile,
            rate_limit=props.rate_limit,
            burst_limit=props.burst_limit,
            account_cloud_watch_role=props.account_cloud_watch_role,
            why_no_cache=(
                "Timelines, profiles and sessions are per caller and change with every post and follow; the "
                "ElastiCache session cache already serves the hot reads, with invalidation."
            ),
        )
        validator = self.api.add_request_validator(
            "RequestValidator", validate_request_body=True, validate_request_parameters=True
        )
        api_models = {
            model: self.api.add_model(model, content_type="application/json", schema=converted)
            for model, converted in models.items()
        }
        integrations = {
            group_id: apigw.LambdaIntegration(function.function, proxy=True)
            for group_id, function in self.functions.items()
        }
        for path, method, group_id, model, authenticated in _ROUTES:
            resource = self.api.root.resource_for_path(path)
            added = resource.add_method(
                method,
                integrations[group_id],
                authorization_type=apigw.AuthorizationType.NONE,
                request_validator=validator,
                request_models={"application/json": api_models[model]} if model else None,
            )
            _acknowledge_method(added, authenticated)

        self.web_acl = ApiWebAcl(
            self,
            "WebAcl",
            ApiWebAclProps(
                stage=self.api.deployment_stage,
                api_name="social-api",
                profile=props.profile,
                rate_limit_per_ip=props.rate_limit_per_ip,
            ),
        )
        self.url = self.api.url
        host = Fn.join("", [self.api.rest_api_id, ".execute-api.", Aws.REGION, ".", Aws.URL_SUFFIX])
        self.health_check = route53.HealthCheck(
            self,
            "HealthCheck",
            type=route53.HealthCheckType.HTTPS,
            fqdn=host,
            port=443,
            resource_path=f"/{STAGE_NAME}/health",
            request_interval=Duration.seconds(10),
            failure_threshold=3,
            measure_latency=True,
        )
        self.domain: apigw.DomainName | None = None
        self.record: route53.ARecord | None = None
        if props.domain is not None:
            self._add_domain(props.domain, region)

    def _grant(self, function: HandlerFunction, group: _Group, props: SocialRegionalApiProps) -> None:
        local_actions = list(dict.fromkeys(group.local + (group.home if props.home is None else ())))
        iam.Grant.add_to_principal(
            grantee=function, actions=local_actions, resource_arns=[props.table.table_arn]
        )
        if "dynamodb:Query" in local_actions:  # the feed reads the one index, named: no index/* wildcard
            iam.Grant.add_to_principal(
                grantee=function,
                actions=["dynamodb:Query"],
                resource_arns=[f"{props.table.table_arn}/index/{keys.TIMELINE_INDEX}"],
            )
        writes = any(action in _WRITE for action in local_actions)
        props.table_key.grant(function, *(_KMS_WRITE if writes else _KMS_READ))
        if props.home is not None and group.home:
            # Identity policies only: the table and key live in another region's stack, whose resource
            # policies cannot name this stack's role (and need not: the key policy trusts the account).
            home_writes = any(action in _WRITE for action in group.home)
            iam.Grant.add_to_principal(
                grantee=function, actions=list(group.home), resource_arns=[props.home.table.table_arn]
            )
            iam.Grant.add_to_principal(
                grantee=function,
                actions=list(_KMS_WRITE if home_writes else _KMS_READ),
                resource_arns=[props.home.encryption_key.key_arn],
            )
        # Identity policies only (Secret.grant_read would also edit the key policy of a key that may live
        # in the stack this one depends on, a cycle).
        secrets = [props.cursor_secret.secret_arn]
        keys_ = [props.cursor_secret_key]
        if props.cache is not None:
            secrets.append(props.cache.auth_token.secret_arn)
            keys_.append(props.cache.auth_token_key)
        iam.Grant.add_to_principal(
            grantee=function,
            actions=["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
            resource_arns=secrets,
        )
        for key in dict.fromkeys(keys_):
            key.grant(function, "kms:Decrypt")

    def _add_domain(self, domain: ApiDomain, region: str) -> None:
        certificate = domain.certificate or acm.Certificate(
            self,
            "Certificate",
            domain_name=domain.domain_name,
            validation=acm.CertificateValidation.from_dns(domain.hosted_zone),
        )
        self.domain = apigw.DomainName(
            self,
            "DomainName",
            domain_name=domain.domain_name,
            certificate=certificate,
            endpoint_type=apigw.EndpointType.REGIONAL,
            security_policy=apigw.SecurityPolicy.TLS_1_2,
            mapping=self.api,
        )
        self.record = route53.ARecord(
            self,
            "LatencyRecord",
            zone=domain.hosted_zone,
            record_name=domain.domain_name,
            target=route53.RecordTarget.from_alias(targets.ApiGatewayDomain(self.domain)),
            region=region,
            set_identifier=region,
            health_check=self.health_check,
        )


def _environment(props: SocialRegionalApiProps, region: str) -> Mapping[str, str]:
    environment = {
        "SOCIAL_TABLE_NAME": props.table.table_name,
        "SOCIAL_REGIONS": ",".join(props.regions),
        "HOME_REGION": props.home.region if props.home is not None else region,
        "CURSOR_SECRET_ID": props.cursor_secret.secret_arn,
        "TIMELINE_SHARDS": str(props.timeline_shards),
        "TIMELINE_BUCKET_SECONDS": str(int(props.timeline_bucket.to_seconds())),
        "COUNTER_SHARDS": str(props.counter_shards),
        "SESSION_IDLE_SECONDS": str(int(props.session_idle.to_seconds())),
        "SESSION_ABSOLUTE_SECONDS": str(int(props.session_absolute.to_seconds())),
    }
    if props.home is not None:
        environment["HOME_DYNAMODB_ENDPOINT"] = props.home.endpoint_url
    if props.cache is not None:
        environment.update(
            {
                "CACHE_READER_HOST": props.cache.reader_endpoint,
                "CACHE_PRIMARY_HOST": props.cache.primary_endpoint,
                "CACHE_PRIMARY_REGION": props.cache.primary_region,
                "CACHE_PORT": str(props.cache.port),
                "CACHE_AUTH_SECRET_ID": props.cache.auth_token.secret_arn,
            }
        )
    return environment


def _acknowledge_method(method: apigw.Method, authenticated: bool) -> None:
    if authenticated:
        reason = (
            "Authenticated in the handler with the caller's session token (Authorization: Bearer), checked "
            "against the region's cache copy in ~1 ms; an API Gateway authorizer would add a second Lambda "
            "invocation to a 50 ms budget, and Cognito would replace the platform's own sign-in."
        )
    else:
        reason = (
            "Public by design: sign-up, sign-in, public profiles and posts, the global feed and the Route 53 "
            "health check are read or called before a user has a session. WAF and stage throttling guard it."
        )
    acknowledge(method, "AwsSolutions-APIG4", reason)
    acknowledge(method, "AwsSolutions-COG4", reason)


def _validate(name: str, props: SocialRegionalApiProps, region: str) -> None:
    for prop in ("profile", "vpc", "table", "table_key", "regions", "cursor_secret", "cursor_secret_key"):
        check_required(name, prop, getattr(props, prop))
    check_instance(name, "profile", props.profile, DeploymentProfile)
    for prop in ("timeline_bucket", "session_idle", "session_absolute"):
        check_instance(name, prop, getattr(props, prop), Duration)
    for prop in (
        "rate_limit",
        "burst_limit",
        "rate_limit_per_ip",
        "memory_size",
        "timeline_shards",
        "counter_shards",
    ):
        check_int(name, prop, getattr(props, prop))
    check_throttling(name, props.rate_limit, props.burst_limit)
    check_range(
        name,
        "rate_limit_per_ip",
        props.rate_limit_per_ip,
        minimum=WAF_MIN_RATE_LIMIT,
        maximum=WAF_MAX_RATE_LIMIT,
    )
    check_range(name, "timeline_shards", props.timeline_shards, minimum=1, maximum=MAX_SHARDS)
    check_range(name, "counter_shards", props.counter_shards, minimum=1, maximum=32)
    bucket = props.timeline_bucket.to_seconds()
    require(
        bucket >= 60 and bucket % 60 == 0 and _DAY_SECONDS % bucket == 0,
        name,
        "timeline_bucket (seconds)",
        bucket,
        "allowed: whole minutes that divide a day (e.g. 1 day, 1 hour)",
    )
    idle, absolute = props.session_idle.to_seconds(), props.session_absolute.to_seconds()
    check_range(name, "session_idle (seconds)", idle, minimum=60, maximum=_DAY_SECONDS)
    require(
        absolute >= idle,
        name,
        "session_absolute (seconds)",
        absolute,
        f"allowed: at least session_idle ({idle})",
    )
    regions = list(props.regions)
    require(
        is_unresolved(region) or region in regions,
        name,
        "regions",
        regions,
        f"allowed: a list that includes this stack's region ({region})",
    )
    if props.home is not None:
        require(
            props.home.region in regions and props.home.region != region,
            name,
            "home.region",
            props.home.region,
            f"allowed: another region of {regions}; pass home=None in the home region itself",
        )
    if props.domain is not None:
        zone = props.domain.hosted_zone.zone_name
        domain = props.domain.domain_name
        require(
            is_unresolved(zone) or is_unresolved(domain) or f".{domain}".endswith(f".{zone.rstrip('.')}"),
            name,
            "domain.domain_name",
            domain,
            f"allowed: a name inside the hosted zone {zone!r}",
        )
    if props.cache is not None:
        require(
            props.cache.primary_region in regions,
            name,
            "cache.primary_region",
            props.cache.primary_region,
            f"allowed: one of {regions}",
        )
