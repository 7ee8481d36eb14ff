"""Lambda functions for the handlers in ``dbpatterns.handlers``, with the defaults we want everywhere.

Every function gets: the newest Python runtime, arm64, X-Ray active tracing, JSON logs into its own
log group with an explicit retention and a KMS key (the stack's shared logs key unless you pass one),
Powertools for AWS Lambda (Python) from its public layer, and a role of its own with no AWS managed
policy for logging (it may write only to its log group) whose grants land in a customer-managed
policy (:class:`~dbpatterns.common.roles.ManagedPolicyRole`).

How a function is invoked decides what cdk-nag's framework packs expect (a DLQ or on-failure
destination for asynchronous invokes, reserved concurrency where it shields a downstream): the
constructs that wire a function answer ``LambdaDLQ``/``LambdaConcurrency`` for it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import jsii
from aws_cdk import Aws, Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from dbpatterns.common.assets import AssetFiles
from dbpatterns.common.logs import create_log_group
from dbpatterns.common.metrics import metric_kwargs
from dbpatterns.common.nag import acknowledge
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.roles import ManagedPolicyRole
from dbpatterns.common.validation import (
    check_instance,
    check_int,
    check_range,
    check_required,
    construct_label,
    require,
)

#: Newest Python runtime in aws-cdk-lib 2.275 (cdk-nag AwsSolutions-L1 wants the newest).
DEFAULT_RUNTIME = lambda_.Runtime.PYTHON_3_14
#: Account that publishes the Powertools for AWS Lambda (Python) layers in every commercial region.
POWERTOOLS_LAYER_ACCOUNT = "017000801446"
#: Layer version of ``AWSLambdaPowertoolsPythonV3-<runtime>-<arch>``; the same number in every region.
POWERTOOLS_LAYER_VERSION = 38

_PACKAGE_ROOT = Path(__file__).resolve().parent.parent  # .../dbpatterns
_RUNTIME_PARTS = ("__init__.py", "handlers", "runtime")
_CODE_MEMORY_LIMITS = (128, 10_240)
#: Lambda's timeout range in seconds.
MIN_TIMEOUT_SECONDS, MAX_TIMEOUT_SECONDS = 1, 900
#: Variables the construct sets itself: ``environment`` may not override them (use the props).
RESERVED_ENVIRONMENT = frozenset({"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE"})


@functools.cache
def handler_files() -> AssetFiles:
    """The runtime part of the package (never the CDK constructs), read and hashed once per process.

    The asset holds ``dbpatterns/__init__.py``, ``dbpatterns/handlers`` and ``dbpatterns/runtime``,
    so handler strings are module paths like ``dbpatterns.handlers.ledger.api.handler`` both here and
    when the library is pip-installed. No Docker: the code is pure Python and its third-party
    dependencies (Powertools, boto3) come from the Lambda runtime and the Powertools layer.
    """
    files: list[tuple[str, Path]] = []
    for part in _RUNTIME_PARTS:
        source = _PACKAGE_ROOT / part
        candidates = sorted(source.rglob("*")) if source.is_dir() else [source]
        for file in candidates:
            if file.is_file() and "__pycache__" not in file.parts and file.suffix != ".pyc":
                files.append((f"dbpatterns/{file.relative_to(_PACKAGE_ROOT).as_posix()}", file))
    return AssetFiles.of(files)


def handler_code() -> lambda_.AssetCode:
    """The Lambda asset shared by every handler in this library (one asset per app).

    Staged by copying the files into the cloud assembly (no temp folder); its hash is a digest of the
    files, so it is the same in every synth until a handler file changes.
    """
    return handler_files().code()


def powertools_layer_arn(runtime: lambda_.Runtime, architecture: lambda_.Architecture, version: int) -> str:
    """ARN of the public Powertools layer in the deploying region (resolved by CloudFormation)."""
    runtime_part = runtime.name.replace(".", "")  # python3.14 -> python314
    return (
        f"arn:{Aws.PARTITION}:lambda:{Aws.REGION}:{POWERTOOLS_LAYER_ACCOUNT}:layer:"
        f"AWSLambdaPowertoolsPythonV3-{runtime_part}-{architecture.name}:{version}"
    )


@dataclass(frozen=True, kw_only=True)
class HandlerFunctionProps:
    """Props of :class:`HandlerFunction`."""

    #: Dotted path of the handler inside the asset, e.g. ``dbpatterns.handlers.ledger.api.handler``.
    handler: str
    #: Sandbox or production: log retention and removal follow it.
    profile: DeploymentProfile
    #: What the function does, shown in the console.
    description: str
    #: Service name for Powertools logs, metrics and traces.
    service_name: str
    #: CloudWatch namespace for Powertools metrics - ``DbPatterns`` by default.
    metrics_namespace: str = "DbPatterns"
    #: Extra environment variables - none by default. ``POWERTOOLS_SERVICE_NAME`` and
    #: ``POWERTOOLS_METRICS_NAMESPACE`` come from ``service_name`` and ``metrics_namespace``.
    environment: Mapping[str, str] = field(default_factory=dict)
    #: Timeout (1 s to 15 minutes, whole seconds) - 30 seconds by default.
    timeout: Duration = field(default_factory=lambda: Duration.seconds(30))
    #: Memory in MB (128-10240) - 256 by default.
    memory_size: int = 256
    #: Reserved concurrency - none (the account's unreserved pool) by default.
    reserved_concurrent_executions: int | None = None
    #: VPC to run in - none by default. With a VPC, ``vpc_subnets`` defaults to private isolated subnets.
    vpc: ec2.IVpc | None = None
    #: Subnets in ``vpc`` - the private isolated subnets by default.
    vpc_subnets: ec2.SubnetSelection | None = None
    #: Security groups in ``vpc`` - a new one allowing all outbound by default.
    security_groups: Sequence[ec2.ISecurityGroup] = ()
    #: Runtime - the newest Python runtime by default.
    runtime: lambda_.Runtime = DEFAULT_RUNTIME
    #: Architecture - arm64 by default (cheaper per GB-second).
    architecture: lambda_.Architecture = lambda_.Architecture.ARM_64
    #: Powertools layer version - :data:`POWERTOOLS_LAYER_VERSION` by default.
    powertools_layer_version: int = POWERTOOLS_LAYER_VERSION
    #: Asset with the code - the library's own handler asset by default.
    code: lambda_.Code | None = None
    #: Extra layers, e.g. with a client library the runtime lacks - none by default.
    layers: Sequence[lambda_.ILayerVersion] = ()
    #: KMS key for the function's log group; its policy must admit CloudWatch Logs (see
    #: ``encryption.allow_cloudwatch_logs``) - the stack's shared logs key (``common.logs.stack_logs_key``)
    #: by default.
    log_encryption_key: kms.IKey | None = None


@jsii.implements(iam.IGrantable)
class HandlerFunction(Construct):
    """A Python Lambda function with tracing, JSON logs, Powertools and a least-privilege role.

    An ``iam.IGrantable``: pass it to any ``grant_*`` (its role receives the permissions). Exposes
    ``function``, ``role`` and ``log_group``, and ``metric_*`` helpers for Lambda's own metrics.
    """

    def __init__(self, scope: Construct, construct_id: str, props: HandlerFunctionProps) -> None:
        _validate(construct_label(type(self), scope, construct_id), props)
        super().__init__(scope, construct_id)
        #: Powertools service name: the ``service`` dimension of the handler's own metrics.
        self.service_name = props.service_name
        #: CloudWatch namespace of the handler's own (Powertools) metrics.
        self.metrics_namespace = props.metrics_namespace

        self.log_group: logs.LogGroup = create_log_group(
            self, "Logs", profile=props.profile, encryption_key=props.log_encryption_key
        )
        # Our own role: the default one carries the AWSLambdaBasicExecutionRole managed policy, which
        # may write to every log group in the account. This one may write only to its own.
        self.role = ManagedPolicyRole(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Execution role of {props.service_name}: {props.description}",
        )
        self.log_group.grant_write(self.role)
        if props.vpc is not None:
            self._allow_vpc_networking()

        layer = lambda_.LayerVersion.from_layer_version_arn(
            self,
            "Powertools",
            powertools_layer_arn(props.runtime, props.architecture, props.powertools_layer_version),
        )
        self.function = lambda_.Function(
            self,
            "Resource",
            runtime=props.runtime,
            architecture=props.architecture,
            code=props.code or handler_code(),
            handler=props.handler,
            description=props.description,
            role=self.role,
            timeout=props.timeout,
            memory_size=props.memory_size,
            reserved_concurrent_executions=props.reserved_concurrent_executions,
            tracing=lambda_.Tracing.ACTIVE,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=lambda_.ApplicationLogLevel.INFO,
            system_log_level_v2=lambda_.SystemLogLevel.WARN,
            log_group=self.log_group,
            # In construct-path order: CDK sorts layers that way only under the feature flag
            # @aws-cdk/aws-lambda:recognizeLayerVersion; sorted here, the order is the same without it.
            layers=sorted([layer, *props.layers], key=lambda version: version.node.path),
            vpc=props.vpc,
            vpc_subnets=(
                props.vpc_subnets or ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
            )
            if props.vpc is not None
            else None,
            security_groups=list(props.security_groups) or None,
            environment={
                "POWERTOOLS_SERVICE_NAME": props.service_name,
                "POWERTOOLS_METRICS_NAMESPACE": props.metrics_namespace,
                **props.environment,
            },
        )
        wildcard_reason = "X-Ray PutTraceSegments/PutTelemetryRecords (active tracing) "
        if props.vpc is not None:
            wildcard_reason += "and the EC2 network-interface actions Lambda needs to join the VPC "
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::*]",
            wildcard_reason + "do not support resource-level permissions.",
        )

    @property
    def grant_principal(self) -> iam.IPrincipal:
        """The execution role: what ``grant_*`` methods give permissions to."""
        return self.role

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """``lambda:InvokeFunction`` on this function (IAM only)."""
        return self.function.grant_invoke(grantee)

    def metric_errors(self, props: cloudwatch.MetricOptions | None = None) -> cloudwatch.Metric:
        """``Errors``: invocations that ended in a function error (sum over 5 minutes by default)."""
        return self.function.metric_errors(**metric_kwargs(props))

    def metric_throttles(self, props: cloudwatch.MetricOptions | None = None) -> cloudwatch.Metric:
        """``Throttles``: invocations refused for lack of concurrency."""
        return self.function.metric_throttles(**metric_kwargs(props))

    def metric_duration(self, props: cloudwatch.MetricOptions | None = None) -> cloudwatch.Metric:
        """``Duration`` of invocations (average over 5 minutes by default)."""
        return self.function.metric_duration(**metric_kwargs(props))

    def metric_invocations(self, props: cloudwatch.MetricOptions | None = None) -> cloudwatch.Metric:
        """``Invocations``."""
        return self.function.metric_invocations(**metric_kwargs(props))

    def metric_powertools(
        self, metric_name: str, props: cloudwatch.MetricOptions | None = None
    ) -> cloudwatch.Metric:
        """A metric the handler publishes itself with Powertools ``Metrics`` (EMF).

        Namespace ``metrics_namespace`` and dimension ``service`` = ``service_name``, as Powertools
        publishes them from ``POWERTOOLS_METRICS_NAMESPACE`` and ``POWERTOOLS_SERVICE_NAME``; the sum over
        5 minutes unless ``props`` says otherwise (the handlers publish counts).
        """
        options = metric_kwargs(props)
        dimensions = {"service": self.service_name, **options.pop("dimensions_map", {})}
        options.setdefault("statistic", cloudwatch.Stats.SUM)
        return cloudwatch.Metric(
            namespace=self.metrics_namespace, metric_name=metric_name, dimensions_map=dimensions, **options
        )

    def _allow_vpc_networking(self) -> None:
        """What Lambda needs to attach the function to the VPC, without the AWS managed policy."""
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    "ec2:CreateNetworkInterface",
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeSubnets",
                    "ec2:DeleteNetworkInterface",
                    "ec2:AssignPrivateIpAddresses",
                    "ec2:UnassignPrivateIpAddresses",
                ],
                resources=["*"],
            )
        )


def check_environment(
    construct: str, user_environment: Mapping[str, str], construct_environment: Mapping[str, str]
) -> None:
    """Fail when ``user_environment`` (a construct's ``environment`` prop) would override a variable
    that the construct sets itself (table names, endpoints): the function would silently use the wrong
    resource."""
    overridden = sorted(set(user_environment) & set(construct_environment))
    require(
        not overridden,
        construct,
        "environment",
        overridden,
        "allowed: variables the construct does not set itself: " + ", ".join(sorted(construct_environment)),
    )


def _validate(name: str, props: HandlerFunctionProps) -> None:
    for prop in ("handler", "profile", "description", "service_name"):
        check_required(name, prop, getattr(props, prop))
    check_instance(name, "profile", props.profile, DeploymentProfile)
    check_instance(name, "timeout", props.timeout, Duration)
    check_instance(name, "runtime", props.runtime, lambda_.Runtime)
    check_instance(name, "architecture", props.architecture, lambda_.Architecture)
    check_int(name, "memory_size", props.memory_size)
    check_int(name, "reserved_concurrent_executions", props.reserved_concurrent_executions, optional=True)
    check_int(name, "powertools_layer_version", props.powertools_layer_version)
    check_range(
        name, "memory_size", props.memory_size, minimum=_CODE_MEMORY_LIMITS[0], maximum=_CODE_MEMORY_LIMITS[1]
    )
    check_range(name, "reserved_concurrent_executions", props.reserved_concurrent_executions, minimum=1)
    check_range(name, "powertools_layer_version", props.powertools_layer_version, minimum=1)
    seconds = props.timeout.to_milliseconds() / 1000
    require(
        seconds == int(seconds) and MIN_TIMEOUT_SECONDS <= seconds <= MAX_TIMEOUT_SECONDS,
        name,
        "timeout (seconds)",
        seconds,
        f"allowed: whole seconds from {MIN_TIMEOUT_SECONDS} to {MAX_TIMEOUT_SECONDS} (Lambda's limit)",
    )
    for prop in ("description", "service_name", "metrics_namespace"):
        value = getattr(props, prop)
        require(
            isinstance(value, str) and value.strip() != "", name, prop, value, "allowed: a non-empty string"
        )
    require(
        props.runtime.family == lambda_.RuntimeFamily.PYTHON,
        name,
        "runtime",
        props.runtime.name,
        "allowed: a Python runtime (the handlers are Python)",
    )
    require(
        props.vpc is not None or (props.vpc_subnets is None and not props.security_groups),
        name,
        "vpc_subnets/security_groups",
        "given without vpc",
        "allowed: only together with vpc",
    )
    require(
        isinstance(props.handler, str) and "." in props.handler,
        name,
        "handler",
        props.handler,
        "allowed: a dotted path such as 'dbpatterns.handlers.ledger.api.handler'",
    )
    overridden = sorted(RESERVED_ENVIRONMENT & set(props.environment))
    require(
        not overridden,
        name,
        "environment",
        overridden,
        "allowed: variables other than those the construct sets; use service_name/metrics_namespace",
    )
    for key, value in props.environment.items():
        require(
            isinstance(key, str) and isinstance(value, str),
            name,
            f"environment[{key!r}]",
            value,
            "allowed: string keys and string values (Lambda environment variables are strings)",
        )
