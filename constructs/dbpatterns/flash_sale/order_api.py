"""REST API that validates orders and puts them straight onto an SQS queue (no Lambda in between)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_cdk import Aws, Names
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from constructs import Construct

from dbpatterns.common.api_logging import AccountCloudWatchRole
from dbpatterns.common.api_schema import json_schema
from dbpatterns.common.function import HandlerFunction
from dbpatterns.common.metrics import metric_kwargs
from dbpatterns.common.nag import acknowledge
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.queue import SecureQueue
from dbpatterns.common.rest_api import check_throttling, create_rest_api
from dbpatterns.common.roles import ManagedPolicyRole
from dbpatterns.common.validation import check_instance, check_int, check_range, construct_label
from dbpatterns.common.web_acl import MAX_RATE_LIMIT as WAF_MAX_RATE_LIMIT
from dbpatterns.common.web_acl import MIN_RATE_LIMIT as WAF_MIN_RATE_LIMIT
from dbpatterns.common.web_acl import ApiWebAcl, ApiWebAclProps
from dbpatterns.handlers.flash_sale.identity import CALLER_ARN_ATTRIBUTE, CALLER_COGNITO_ATTRIBUTE

_SQS_MESSAGE_ID = "$input.path('$.SendMessageResponse.SendMessageResult.MessageId')"
#: Longest REST API name we generate (API Gateway allows more; names only need to differ in an app).
MAX_API_NAME_LENGTH = 128
#: Path of the read method, as API Gateway sees it.
ORDER_STATUS_PATH = "/orders/{order_id}"


def send_message_template() -> str:
    """The SQS query-API request: the body as the message, the caller's IAM identity as attributes.

    API Gateway fills ``$context.identity`` from the SigV4 signature it verified, so the processor can
    tell who sent an order without trusting the body. SQS refuses an empty attribute value, so the
    Cognito identity is added only when there is one. The attribute names are the ones the processor
    reads (``dbpatterns.handlers.flash_sale.identity``).
    """
    caller_arn = (
        f"&MessageAttribute.1.Name={CALLER_ARN_ATTRIBUTE}"
        "&MessageAttribute.1.Value.DataType=String"
        "&MessageAttribute.1.Value.StringValue=$util.urlEncode($context.identity.userArn)"
    )
    cognito = (
        '#if("$!context.identity.cognitoIdentityId" != "")'
        f"&MessageAttribute.2.Name={CALLER_COGNITO_ATTRIBUTE}"
        "&MessageAttribute.2.Value.DataType=String"
        "&MessageAttribute.2.Value.StringValue=$util.urlEncode($context.identity.cognitoIdentityId)"
        "#end"
    )
    return "Action=SendMessage&MessageBody=$util.urlEncode($input.body)" + caller_arn + cognito


@dataclass(frozen=True, kw_only=True)
class OrderIntakeApiProps:
    """Props of :class:`OrderIntakeApi`."""

    #: Queue the orders go to.
    queue: SecureQueue
    #: Draft-04 JSON Schema of a request body; invalid bodies get 400 and are never enqueued.
    request_schema: Mapping[str, Any]
    #: Sandbox or production: log retention follows it.
    profile: DeploymentProfile
    #: Who sets API Gateway's account-level CloudWatch Logs role, which the stage's execution and
    #: access logs need: ``AccountCloudWatchRole.MANAGED_ELSEWHERE`` (another stack, your landing zone
    #: or once by hand) or ``AccountCloudWatchRole.CREATE`` (this stack sets it, retained on deletion).
    #: Required: in an account and region without the role the stage fails to deploy.
    account_cloud_watch_role: AccountCloudWatchRole
    #: Steady requests per second for the stage - 1,000 by default.
    rate_limit: int = 1_000
    #: Burst of requests for the stage - 2,000 by default.
    burst_limit: int = 2_000
    #: Requests per day per API key in the usage plan - 1,000,000 by default.
    daily_quota: int = 1_000_000
    #: Requests one IP may send in 5 minutes before WAF blocks it - 300,000 (1,000/s) by default: the
    #: callers are a few storefront backends, so the limit is per backend, not per shopper.
    rate_limit_per_ip: int = 300_000
    #: Function answering ``GET /orders/{order_id}`` (Lambda proxy) - none by default, which leaves the
    #: API write-only.
    status_function: HandlerFunction | None = None
    #: Steady requests per second of ``GET /orders/{order_id}`` (below ``rate_limit``) - 500 by default,
    #: so clients polling for their orders cannot use up the stage's budget that order intake needs.
    status_rate_limit: int = 500
    #: Burst of ``GET /orders/{order_id}`` (below ``burst_limit``) - 1,000 by default.
    status_burst_limit: int = 1_000


class OrderIntakeApi(Construct):
    """``POST /orders``: IAM-authorized, API-key metered, schema-validated, straight to SQS; and, with a
    ``status_function``, ``GET /orders/{order_id}`` for the caller's own order.

    The POST response is ``202 Accepted`` with the SQS message id ("queued", not "placed"). The
    body's ``order_id`` is the client's idempotency key: a retried request enqueues the same order id
    again and the processor records it once. Each message carries the caller's IAM identity as message
    attributes, which the processor matches against the order's customer. A WAFv2 web ACL (AWS managed
    rules, a per-IP rate limit) guards the stage; the GET method has its own, lower throttle.

    Exposes ``api``, ``api_key``, ``usage_plan``, ``access_logs``, ``web_acl``, ``role``, ``orders``
    (the resource), ``submit_method`` and ``status_method`` (``None`` without a status function).
    """

    def __init__(self, scope: Construct, construct_id: str, props: OrderIntakeApiProps) -> None:
        name = construct_label(type(self), scope, construct_id)
        check_instance(
            name, "account_cloud_watch_role", props.account_cloud_watch_role, AccountCloudWatchRole
        )
        check_throttling(name, props.rate_limit, props.burst_limit)
        check_instance(name, "status_function", props.status_function, HandlerFunction, optional=True)
        for prop in ("status_rate_limit", "status_burst_limit"):
            check_int(name, prop, getattr(props, prop))
        check_range(
            name,
            "status_rate_limit",
            props.status_rate_limit,
            minimum=1,
            maximum=max(1, props.rate_limit - 1),
        )
        check_range(
            name,
            "status_burst_limit",
            props.status_burst_limit,
            minimum=1,
            maximum=max(1, props.burst_limit - 1),
        )
        check_range(
            name,
            "rate_limit_per_ip",
            props.rate_limit_per_ip,
            minimum=WAF_MIN_RATE_LIMIT,
            maximum=WAF_MAX_RATE_LIMIT,
        )
        check_range(name, "daily_quota", props.daily_quota, minimum=1)
        model_schema = json_schema(props.request_schema)  # validates the schema before anything exists
        super().__init__(scope, construct_id)

        status_throttle = {
            f"{ORDER_STATUS_PATH}/GET": apigw.ThrottleSettings(
                rate_limit=props.status_rate_limit, burst_limit=props.status_burst_limit
            )
        }
        self.api, self.access_logs = create_rest_api(
            self,
            description="Flash-sale order intake: validates orders and buffers them in SQS",
            profile=props.profile,
            rate_limit=props.rate_limit,
            burst_limit=props.burst_limit,
            account_cloud_watch_role=props.account_cloud_watch_role,
            method_throttling=status_throttle if props.status_function is not None else None,
            # Unique in the app: the API's metrics (and alarms) are keyed by its name.
            rest_api_name=Names.unique_resource_name(self, max_length=MAX_API_NAME_LENGTH),
            why_no_cache=(
                "POST /orders enqueues every order and GET /orders/{order_id} is polled for a status that "
                "changes within seconds; a stage cache would drop orders' effects or hide the change."
            ),
        )
        self.role = ManagedPolicyRole(
            self,
            "SqsRole",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            description="Lets the order API send messages to the order queue",
        )
        props.queue.grant_send_messages(self.role)

        validator = self.api.add_request_validator(
            "Validator", validate_request_body=True, validate_request_parameters=True
        )
        model = self.api.add_model("OrderRequest", content_type="application/json", schema=model_schema)
        integration = apigw.AwsIntegration(
            service="sqs",
            path=f"{Aws.ACCOUNT_ID}/{props.queue.queue.queue_name}",
            integration_http_method="POST",
            options=apigw.IntegrationOptions(
                credentials_role=self.role,
                passthrough_behavior=apigw.PassthroughBehavior.NEVER,
                request_parameters={
                    "integration.request.header.Content-Type": "'application/x-www-form-urlencoded'",
                    # SQS answers the query API in JSON when asked, so the response template can read it.
                    "integration.request.header.Accept": "'application/json'",
                },
                request_templates={"application/json": send_message_template()},
                integration_responses=[
                    apigw.IntegrationResponse(
                        status_code="202",
                        selection_pattern="2\\d{2}",
                        response_templates={
                            "application/json": json.dumps(
                                {
                                    "status": "queued",
                                    "message_id": _SQS_MESSAGE_ID,
                                }
                            )
                        },
                    ),
                    apigw.IntegrationResponse(
                        status_code="500",
                        selection_pattern="[45]\\d{2}",
                        response_templates={"application/json": '{"message": "order could not be queued"}'},
                    ),
                ],
            ),
        )
        self.orders = self.api.root.add_resource("orders")
        self.submit_method = self.orders.add_method(
            "POST",
            integration,
            authorization_type=apigw.AuthorizationType.IAM,
            api_key_required=True,
            request_validator=validator,
            request_models={"application/json": model},
            method_responses=[
                apigw.MethodResponse(status_code="202"),
                apigw.MethodResponse(status_code="500"),
            ],
        )
        acknowledge(
            self.submit_method,
            "AwsSolutions-COG4",
            "POST /orders uses IAM authorization (SigV4) instead of a Cognito user pool authorizer: the "
            "callers are backend services with IAM roles, not end users.",
        )
        self.status_method: apigw.Method | None = None
        if props.status_function is not None:
            self.status_method = self.orders.add_resource("{order_id}").add_method(
                "GET",
                apigw.LambdaIntegration(props.status_function.function, proxy=True),
                authorization_type=apigw.AuthorizationType.IAM,
                api_key_required=True,
                # Presence only: API Gateway cannot check a path parameter's pattern; the handler does.
                request_validator=validator,
                request_parameters={"method.request.path.order_id": True},
                method_responses=[
                    apigw.MethodResponse(status_code="200"),
                    apigw.MethodResponse(status_code="400"),
                    apigw.MethodResponse(status_code="403"),
                ],
            )
            acknowledge(
                self.status_method,
                "AwsSolutions-COG4",
                "GET /orders/{order_id} uses IAM authorization (SigV4) like POST /orders: the caller's IAM "
                "identity is what maps to a customer; the callers are backends and identity-pool roles.",
            )

        self.api_key = self.api.add_api_key("ApiKey", description="Key of the flash-sale storefront")
        self.usage_plan = self.api.add_usage_plan(
            "UsagePlan",
            description="Storefront: stage throttling plus a daily quota",
            throttle=apigw.ThrottleSettings(rate_limit=props.rate_limit, burst_limit=props.burst_limit),
            quota=apigw.QuotaSettings(limit=props.daily_quota, period=apigw.Period.DAY),
            api_stages=[apigw.UsagePlanPerApiStage(api=self.api, stage=self.api.deployment_stage)],
        )
        self.usage_plan.add_api_key(self.api_key)

        self.web_acl = ApiWebAcl(
            self,
            "WebAcl",
            ApiWebAclProps(
                stage=self.api.deployment_stage,
                api_name="orders-api",
                profile=props.profile,
                rate_limit_per_ip=props.rate_limit_per_ip,
            ),
        )

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """``execute-api:Invoke`` on ``POST /orders`` and, when the API has it, ``GET /orders/*`` of the
        deployed stage only (IAM; the caller also needs the API key)."""
        stage = self.api.deployment_stage.stage_name
        arns = [self.api.arn_for_execute_api("POST", "/orders", stage)]
        if self.status_method is not None:
            arns.append(self.api.arn_for_execute_api("GET", "/orders/*", stage))
        return iam.Grant.add_to_principal(grantee=grantee, actions=["execute-api:Invoke"], resource_arns=arns)

    def metric_server_error(self, props: cloudwatch.MetricOptions | None = None) -> cloudwatch.Metric:
        """``5XXError`` of the stage (all methods)."""
        return self.api.deployment_stage.metric_server_error(**metric_kwargs(props))

    def metric_client_error(self, props: cloudwatch.MetricOptions | None = None) -> cloudwatch.Metric:
        """``4XXError`` of the stage (all methods)."""
        return self.api.deployment_stage.metric_client_error(**metric_kwargs(props))

    def metric_count(self, props: cloudwatch.MetricOptions | None = None) -> cloudwatch.Metric:
        """``Count``: requests to the stage."""
        return self.api.deployment_stage.metric_count(**metric_kwargs(props))

    def metric_latency(self, props: cloudwatch.MetricOptions | None = None) -> cloudwatch.Metric:
        """``Latency``: from receiving a request to returning its response."""
        return self.api.deployment_stage.metric_latency(**metric_kwargs(props))
