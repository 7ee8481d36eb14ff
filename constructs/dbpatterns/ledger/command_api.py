"""The ledger's command API: ``POST /accounts/{account_id}/transactions`` in front of the writer function."""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from dbpatterns.common.api_logging import AccountCloudWatchRole
from dbpatterns.common.api_schema import json_schema
from dbpatterns.common.function import HandlerFunction, HandlerFunctionProps
from dbpatterns.common.nag import acknowledge
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.rest_api import check_throttling, create_rest_api
from dbpatterns.common.validation import check_instance, check_range
from dbpatterns.common.web_acl import MAX_RATE_LIMIT as WAF_MAX_RATE_LIMIT
from dbpatterns.common.web_acl import MIN_RATE_LIMIT as WAF_MIN_RATE_LIMIT
from dbpatterns.common.web_acl import ApiWebAcl, ApiWebAclProps
from dbpatterns.handlers.ledger.schema import IDEMPOTENCY_KEY_HEADER, TRANSACTION_REQUEST_SCHEMA
from dbpatterns.ledger.event_store import LedgerEventStore

#: The handler keeps idempotency records at least this long (DynamoDB TTL removes them later).
MIN_IDEMPOTENCY_TTL_SECONDS = 60
#: Path of the one method, as API Gateway sees it.
TRANSACTIONS_PATH = "/accounts/{account_id}/transactions"


@dataclass(frozen=True, kw_only=True)
class LedgerCommandApiProps:
    """Props of :class:`LedgerCommandApi`."""

    #: The tables the writer appends to.
    event_store: LedgerEventStore
    #: Sandbox or production: log retention and removal follow it.
    profile: DeploymentProfile
    #: Who sets API Gateway's account-level CloudWatch Logs role, which the stage's execution and
    #: access logs need: ``AccountCloudWatchRole.MANAGED_ELSEWHERE`` (another stack, your landing zone
    #: or once by hand) or ``AccountCloudWatchRole.CREATE`` (this stack sets it, retained on deletion).
    #: Required: in an account and region without the role the stage fails to deploy.
    account_cloud_watch_role: AccountCloudWatchRole
    #: Steady requests per second for the stage (1-10000) - 100 by default.
    rate_limit: int = 100
    #: Burst of requests for the stage (1-5000) - 200 by default.
    burst_limit: int = 200
    #: How long a used Idempotency-Key is honoured (at least 60 s) - 24 hours by default.
    idempotency_ttl: Duration = field(default_factory=lambda: Duration.hours(24))
    #: Requests one IP may send in 5 minutes before the web ACL blocks it - 1,000 by default.
    rate_limit_per_ip: int = 1_000
    #: Key for the access and WAF log groups - CloudWatch Logs' own encryption by default.
    log_encryption_key: kms.IKey | None = None


class LedgerCommandApi(Construct):
    """REST API with IAM (SigV4) authorization, a schema-validated body and a required
    ``Idempotency-Key`` header, proxying to the command function that appends to the event store.

    API Gateway refuses unsigned requests (403), bodies that break the request schema and requests
    without the header (400) before Lambda runs; the handler checks the same contract again.
    The stage is throttled, traced, logs errors per method and writes JSON access logs.

    A WAFv2 web ACL (:class:`ApiWebAcl`) filters known-bad requests and rate-limits each IP.

    Exposes ``api``, ``function`` (:class:`HandlerFunction`), ``access_logs``, ``web_acl`` and
    ``transactions`` (the resource); ``grant_invoke`` lets a caller's role sign requests for the method.
    """

    def __init__(self, scope: Construct, construct_id: str, props: LedgerCommandApiProps) -> None:
        name = type(self).__name__
        check_instance(
            name, "account_cloud_watch_role", props.account_cloud_watch_role, AccountCloudWatchRole
        )
        check_throttling(name, props.rate_limit, props.burst_limit)
        check_range(
            name,
            "idempotency_ttl (seconds)",
            props.idempotency_ttl.to_seconds(),
            minimum=MIN_IDEMPOTENCY_TTL_SECONDS,
        )
        check_range(
            name,
            "rate_limit_per_ip",
            props.rate_limit_per_ip,
            minimum=WAF_MIN_RATE_LIMIT,
            maximum=WAF_MAX_RATE_LIMIT,
        )
        model_schema = json_schema(TRANSACTION_REQUEST_SCHEMA)
        super().__init__(scope, construct_id)

        store = props.event_store
        self.function = HandlerFunction(
            self,
            "Handler",
            HandlerFunctionProps(
                handler="dbpatterns.handlers.ledger.api.handler",
                profile=props.profile,
                description="Validates a deposit or withdrawal and appends it to the event store",
                service_name="ledger-api",
                environment={
                    "EVENTS_TABLE_NAME": store.events.table.table_name,
                    "IDEMPOTENCY_TABLE_NAME": store.idempotency.table.table_name,
                    "IDEMPOTENCY_TTL_SECONDS": str(int(props.idempotency_ttl.to_seconds())),
                },
                log_encryption_key=props.log_encryption_key,
                timeout=Duration.seconds(10),
            ),
        )
        store.grant_append(self.function.function)

        self.api, self.access_logs = create_rest_api(
            self,
            description="Event-sourced ledger: record deposits and withdrawals",
            profile=props.profile,
            rate_limit=props.rate_limit,
            burst_limit=props.burst_limit,
            account_cloud_watch_role=props.account_cloud_watch_role,
            log_encryption_key=props.log_encryption_key,
        )
        validator = self.api.add_request_validator(
            "RequestValidator", validate_request_body=True, validate_request_parameters=True
        )
        model = self.api.add_model("TransactionRequest", content_type="application/json", schema=model_schema)
        accounts = self.api.root.add_resource("accounts")
        account = accounts.add_resource("{account_id}")
        self.transactions = account.add_resource("transactions")
        self.transactions.add_method(
            "POST",
            apigw.LambdaIntegration(self.function.function, proxy=True),
            authorization_type=apigw.AuthorizationType.IAM,
            request_validator=validator,
            request_models={"application/json": model},
            request_parameters={
                "method.request.path.account_id": True,
                f"method.request.header.{IDEMPOTENCY_KEY_HEADER}": True,
            },
        )

        self.web_acl = ApiWebAcl(
            self,
            "WebAcl",
            ApiWebAclProps(
                stage=self.api.deployment_stage,
                api_name="ledger-api",
                profile=props.profile,
                rate_limit_per_ip=props.rate_limit_per_ip,
                log_encryption_key=props.log_encryption_key,
            ),
        )

        acknowledge(
            self.transactions,
            "AwsSolutions-COG4",
            "The method uses IAM authorization (SigV4) instead of a Cognito user pool authorizer: its "
            "callers are the bank's backend services with IAM roles, not end users.",
        )
        stage = self.api.deployment_stage
        acknowledge(
            stage,
            "PCI.DSS.321-APIGWCacheEnabledAndEncrypted",
            "The only method is a POST command whose result must never come from a cache: every request "
            "either appends an event or returns the stored result of its Idempotency-Key.",
        )
        acknowledge(
            stage,
            "PCI.DSS.321-APIGWSSLEnabled",
            "A client certificate authenticates API Gateway to an HTTP backend; the backend here is a "
            "Lambda proxy integration invoked through the Lambda API with IAM, so there is no TLS hop "
            "for a client certificate to protect.",
        )

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """``execute-api:Invoke`` on ``POST /accounts/*/transactions`` of the deployed stage only."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["execute-api:Invoke"],
            resource_arns=[
                self.api.arn_for_execute_api(
                    "POST", "/accounts/*/transactions", self.api.deployment_stage.stage_name
                )
            ],
        )
