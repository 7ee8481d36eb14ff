"""REST API that validates orders and puts them straight onto an SQS queue (no Lambda in between)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_cdk import Aws
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from constructs import Construct

from dbpatterns.common.api_logging import AccountCloudWatchRole
from dbpatterns.common.api_schema import json_schema
from dbpatterns.common.nag import acknowledge
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.queue import SecureQueue
from dbpatterns.common.rest_api import check_throttling, create_rest_api
from dbpatterns.common.validation import check_instance, check_range
from dbpatterns.common.web_acl import MAX_RATE_LIMIT as WAF_MAX_RATE_LIMIT
from dbpatterns.common.web_acl import MIN_RATE_LIMIT as WAF_MIN_RATE_LIMIT
from dbpatterns.common.web_acl import ApiWebAcl, ApiWebAclProps

_SQS_MESSAGE_ID = "$input.path('$.SendMessageResponse.SendMessageResult.MessageId')"


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


class OrderIntakeApi(Construct):
    """``POST /orders``: IAM-authorized, API-key metered, schema-validated, straight to SQS.

    The response is ``202 Accepted`` with the SQS message id. The body's ``order_id`` is the client's
    idempotency key: a retried request enqueues the same order id again and the processor records
    it once. A WAFv2 web ACL (AWS managed rules, a per-IP rate limit) guards the stage. Exposes ``api``,
    ``api_key``, ``usage_plan``, ``access_logs``, ``web_acl`` and ``role``.
    """

    def __init__(self, scope: Construct, construct_id: str, props: OrderIntakeApiProps) -> None:
        name = type(self).__name__
        check_instance(
            name, "account_cloud_watch_role", props.account_cloud_watch_role, AccountCloudWatchRole
        )
        check_throttling(name, props.rate_limit, props.burst_limit)
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

        self.api, self.access_logs = create_rest_api(
            self,
            description="Flash-sale order intake: validates orders and buffers them in SQS",
            profile=props.profile,
            rate_limit=props.rate_limit,
            burst_limit=props.burst_limit,
            account_cloud_watch_role=props.account_cloud_watch_role,
        )
        self.role = iam.Role(
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
                request_templates={
                    "application/json": "Action=SendMessage&MessageBody=$util.urlEncode($input.body)"
                },
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
        orders = self.api.root.add_resource("orders")
        orders.add_method(
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
        acknowledge(
            orders,
            "AwsSolutions-COG4",
            "POST /orders uses IAM authorization (SigV4) instead of a Cognito user pool authorizer: the "
            "callers are backend services with IAM roles, not end users.",
        )

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """``execute-api:Invoke`` on ``POST /orders`` of the deployed stage only."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["execute-api:Invoke"],
            resource_arns=[
                self.api.arn_for_execute_api("POST", "/orders", self.api.deployment_stage.stage_name)
            ],
        )
