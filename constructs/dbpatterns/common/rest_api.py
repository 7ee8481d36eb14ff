"""REST APIs with the stage settings every API here uses."""

from __future__ import annotations

from collections.abc import Mapping

import jsii
from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk.interfaces.aws_apigateway import IStageRef
from constructs import Construct

from dbpatterns.common.api_logging import AccountCloudWatchRole, ApiGatewayCloudWatchRole
from dbpatterns.common.logs import create_log_group
from dbpatterns.common.nag import acknowledge_framework_rule
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.validation import check_range

#: API Gateway's default account-level ceilings for a stage (requests per second / burst).
MAX_RATE_LIMIT, MAX_BURST_LIMIT = 10_000, 5_000
STAGE_NAME = "v1"


def check_throttling(construct: str, rate_limit: int, burst_limit: int) -> None:
    """Fail unless the stage limits are within API Gateway's account-level ceilings."""
    check_range(construct, "rate_limit", rate_limit, minimum=1, maximum=MAX_RATE_LIMIT)
    check_range(construct, "burst_limit", burst_limit, minimum=1, maximum=MAX_BURST_LIMIT)


@jsii.implements(apigw.IAccessLogDestination)
class _LogGroupDestination:
    """A log group as access-log destination, named by its ARN without the trailing ``:*``.

    ``apigw.LogGroupLogDestination`` renders that ARN only when the app sets the feature flag
    ``@aws-cdk/aws-apigateway:logGroupDestinationArnWithoutWildcard`` (``cdk init`` does) and the
    log group's ``Arn`` attribute otherwise; this gives the same template either way.
    """

    def __init__(self, log_group: logs.ILogGroup) -> None:
        self._log_group = log_group

    def bind(self, stage: IStageRef) -> apigw.AccessLogDestinationConfig:
        return apigw.AccessLogDestinationConfig(
            destination_arn=Stack.of(self._log_group).format_arn(
                service="logs",
                resource="log-group",
                resource_name=self._log_group.log_group_name,
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            )
        )


def create_rest_api(
    scope: Construct,
    *,
    description: str,
    profile: DeploymentProfile,
    rate_limit: int,
    burst_limit: int,
    account_cloud_watch_role: AccountCloudWatchRole,
    log_encryption_key: kms.IKey | None = None,
    method_throttling: Mapping[str, apigw.ThrottleSettings] | None = None,
    rest_api_name: str | None = None,
    why_no_cache: str = "",
) -> tuple[apigw.RestApi, logs.LogGroup]:
    """A regional REST API whose ``v1`` stage throttles, traces and logs; returns it and its access logs.

    Call it from the construct that owns the API: it defines ``Resource`` (the API, so the construct
    is the API's scope in the tree) and ``AccessLogs`` in ``scope``.

    Access logs are JSON with caller, IP and status; execution logs carry errors only and never
    request bodies (``data_trace_enabled=False``), which hold customer data. Both need the account's
    API Gateway CloudWatch role, set once per account and region: ``account_cloud_watch_role`` says
    whether someone else sets it or this stack does (:class:`AccountCloudWatchRole`).

    ``method_throttling`` gives single methods, keyed ``"/path/METHOD"``, a throttle of their own (e.g.
    a lower one for a polled GET); their logging, metrics and tracing stay those of the stage.
    ``rest_api_name`` names the API - the construct ID ``Resource`` by default, which every API
    built here would share: give a name when its metrics (dimension ``ApiName``) are alarmed on.

    The stage has no response cache: ``why_no_cache`` says why this API must not have one (it
    acknowledges the compliance packs' ``APIGWCacheEnabledAndEncrypted`` on the stage; without it the
    finding stands). Nor a client certificate: the integrations here are Lambda and AWS services
    (``APIGWSSLEnabled`` is acknowledged; add an HTTP backend and you need one).
    """
    access_logs = create_log_group(scope, "AccessLogs", profile=profile, encryption_key=log_encryption_key)
    method_options = {
        path: apigw.MethodDeploymentOptions(
            throttling_rate_limit=throttle.rate_limit,
            throttling_burst_limit=throttle.burst_limit,
            logging_level=apigw.MethodLoggingLevel.ERROR,
            metrics_enabled=True,
            data_trace_enabled=False,
        )
        for path, throttle in (method_throttling or {}).items()
    }
    api = apigw.RestApi(
        scope,
        "Resource",
        rest_api_name=rest_api_name,
        description=description,
        endpoint_types=[apigw.EndpointType.REGIONAL],
        cloud_watch_role=False,
        deploy_options=apigw.StageOptions(
            stage_name=STAGE_NAME,
            throttling_rate_limit=rate_limit,
            throttling_burst_limit=burst_limit,
            tracing_enabled=True,
            logging_level=apigw.MethodLoggingLevel.ERROR,
            metrics_enabled=True,
            data_trace_enabled=False,
            method_options=method_options or None,
            access_log_destination=_LogGroupDestination(access_logs),
            access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                caller=True,
                http_method=True,
                ip=True,
                protocol=True,
                request_time=True,
                resource_path=True,
                response_length=True,
                status=True,
                user=True,
            ),
        ),
    )
    stage = api.deployment_stage.node.default_child
    assert stage is not None  # apigw.Stage always defines its CfnStage
    acknowledge_framework_rule(
        stage,
        "APIGWSSLEnabled",
        "Every integration of this API is a Lambda function or an AWS service called with SigV4 over "
        "TLS; a client certificate authenticates API Gateway to an HTTP backend, which it has none of.",
    )
    if why_no_cache:
        acknowledge_framework_rule(stage, "APIGWCacheEnabledAndEncrypted", why_no_cache)
    if account_cloud_watch_role is AccountCloudWatchRole.CREATE:
        # The stage's logging settings are refused until the account has the role.
        api.deployment_stage.node.add_dependency(ApiGatewayCloudWatchRole.of_stack(scope).account)
    return api, access_logs
