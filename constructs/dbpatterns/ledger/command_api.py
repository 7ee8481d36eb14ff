"""The ledger's API: commands (``POST /accounts/{account_id}/transactions``, ``POST /transfers``) in front
of the writer function, and reads (``GET /accounts/{account_id}/balance`` and ``.../transactions``) in
front of a read-only query function."""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import Duration, Names
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from dbpatterns.common.api_logging import AccountCloudWatchRole
from dbpatterns.common.api_schema import json_schema
from dbpatterns.common.function import HandlerFunction, HandlerFunctionProps
from dbpatterns.common.metrics import metric_kwargs
from dbpatterns.common.nag import acknowledge
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.rest_api import check_throttling, create_rest_api
from dbpatterns.common.validation import check_instance, check_range, construct_label
from dbpatterns.common.web_acl import MAX_RATE_LIMIT as WAF_MAX_RATE_LIMIT
from dbpatterns.common.web_acl import MIN_RATE_LIMIT as WAF_MIN_RATE_LIMIT
from dbpatterns.common.web_acl import ApiWebAcl, ApiWebAclProps
from dbpatterns.handlers.ledger.schema import (
    HISTORY_QUERY_PARAMETERS,
    IDEMPOTENCY_KEY_HEADER,
    TRANSACTION_REQUEST_SCHEMA,
    TRANSFER_REQUEST_SCHEMA,
)
from dbpatterns.ledger.event_store import LedgerEventStore

#: The handler keeps idempotency records at least this long (DynamoDB TTL removes them later).
MIN_IDEMPOTENCY_TTL_SECONDS = 60
#: Paths of the methods, as API Gateway sees them.
TRANSACTIONS_PATH = "/accounts/{account_id}/transactions"
TRANSFERS_PATH = "/transfers"
BALANCE_PATH = "/accounts/{account_id}/balance"
#: Longest REST API name we generate (API Gateway allows more; names only need to differ in an app).
MAX_API_NAME_LENGTH = 128


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
    #: Key for the access and WAF log groups - the stack's shared logs key by default.
    log_encryption_key: kms.IKey | None = None


class LedgerCommandApi(Construct):
    """REST API with IAM (SigV4) authorization for the ledger's commands and reads.

    Commands (``POST /accounts/{account_id}/transactions``, ``POST /transfers``) need a body that
    matches the request schema and an ``Idempotency-Key`` header and go to the command function,
    which appends to the event store. Reads (``GET /accounts/{account_id}/balance``,
    ``GET /accounts/{account_id}/transactions``) go to a separate query function whose role can only
    read. API Gateway refuses unsigned requests (403), bodies that break the schema and requests
    without a required header or path parameter (400) before Lambda runs; the handlers check the
    same contract again, and every query-string value. The stage is throttled, traced, logs errors
    per method and writes JSON access logs.

    A WAFv2 web ACL (:class:`ApiWebAcl`) filters known-bad requests and rate-limits each IP.

    Exposes ``api``, ``function`` (the command :class:`HandlerFunction`), ``queries`` (the query
    function), ``access_logs``, ``web_acl`` and the resources ``transactions``, ``transfers`` and
    ``balance``; ``grant_invoke_commands`` and ``grant_read`` let a caller's role sign requests for the
    commands or the reads (``grant_invoke``: both).
    """

    def __init__(self, scope: Construct, construct_id: str, props: LedgerCommandApiProps) -> None:
        name = construct_label(type(self), scope, construct_id)
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
        transfer_schema = json_schema(TRANSFER_REQUEST_SCHEMA)
        super().__init__(scope, construct_id)

        store = props.event_store
        self.function = HandlerFunction(
            self,
            "Handler",
            HandlerFunctionProps(
                handler="dbpatterns.handlers.ledger.api.handler",
                profile=props.profile,
                description="Validates a deposit, withdrawal or transfer and appends it to the event store",
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
        # Reads get a function of their own, so the read path has no write permission at all.
        self.queries = HandlerFunction(
            self,
            "Queries",
            HandlerFunctionProps(
                handler="dbpatterns.handlers.ledger.queries.handler",
                profile=props.profile,
                description="Answers balance and history reads from the projection and the event store",
                service_name="ledger-queries",
                environment={
                    "EVENTS_TABLE_NAME": store.events.table.table_name,
                    "PROJECTION_TABLE_NAME": store.projection.table.table_name,
                },
                log_encryption_key=props.log_encryption_key,
                timeout=Duration.seconds(10),
            ),
        )
        store.events.grant(self.queries, "dynamodb:GetItem", "dynamodb:Query")
        store.grant_read_projection(self.queries)

        self.api, self.access_logs = create_rest_api(
            self,
            description="Event-sourced ledger: record deposits, withdrawals and transfers; read balances",
            profile=props.profile,
            rate_limit=props.rate_limit,
            burst_limit=props.burst_limit,
            account_cloud_watch_role=props.account_cloud_watch_role,
            log_encryption_key=props.log_encryption_key,
            # Unique in the app: the API's metrics (and alarms) are keyed by its name.
            rest_api_name=Names.unique_resource_name(self, max_length=MAX_API_NAME_LENGTH),
            why_no_cache=(
                "Commands must never be answered from a cache (each appends an event or returns its "
                "Idempotency-Key's stored result); balances and histories must be current (a client "
                "reads its own transfer back), and every caller is authorized by IAM per request: a "
                "stage cache would serve stale balances."
            ),
        )
        validator = self.api.add_request_validator(
            "RequestValidator", validate_request_body=True, validate_request_parameters=True
        )
        model = self.api.add_model("TransactionRequest", content_type="application/json", schema=model_schema)
        transfer_model = self.api.add_model(
            "TransferRequest", content_type="application/json", schema=transfer_schema
        )
        commands = apigw.LambdaIntegration(self.function.function, proxy=True)
        reads = apigw.LambdaIntegration(self.queries.function, proxy=True)
        idempotency_key = f"method.request.header.{IDEMPOTENCY_KEY_HEADER}"
        account_id = "method.request.path.account_id"

        accounts = self.api.root.add_resource("accounts")
        account = accounts.add_resource("{account_id}")
        self.transactions = account.add_resource("transactions")
        self.transactions_method = self.transactions.add_method(
            "POST",
            commands,
            authorization_type=apigw.AuthorizationType.IAM,
            request_validator=validator,
            request_models={"application/json": model},
            request_parameters={account_id: True, idempotency_key: True},
        )
        self.transfers = self.api.root.add_resource("transfers")
        self.transfers_method = self.transfers.add_method(
            "POST",
            commands,
            authorization_type=apigw.AuthorizationType.IAM,
            request_validator=validator,
            request_models={"application/json": transfer_model},
            request_parameters={idempotency_key: True},
        )
        self.balance = account.add_resource("balance")
        self.balance_method = self.balance.add_method(
            "GET",
            reads,
            authorization_type=apigw.AuthorizationType.IAM,
            request_validator=validator,
            request_parameters={account_id: True},
        )
        # Declared optional: API Gateway checks only presence; the handler checks each value and
        # refuses unknown or repeated parameters.
        self.history_method = self.transactions.add_method(
            "GET",
            reads,
            authorization_type=apigw.AuthorizationType.IAM,
            request_validator=validator,
            request_parameters={
                account_id: True,
                **{f"method.request.querystring.{name}": False for name in HISTORY_QUERY_PARAMETERS},
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

        for method in (
            self.transactions_method,
            self.transfers_method,
            self.balance_method,
            self.history_method,
        ):
            acknowledge(
                method,
                "AwsSolutions-COG4",
                "The method uses IAM authorization (SigV4) instead of a Cognito user pool authorizer: its "
                "callers are the bank's backend services with IAM roles, not end users.",
            )

    def grant_invoke_commands(self, grantee: iam.IGrantable) -> iam.Grant:
        """``execute-api:Invoke`` on ``POST /accounts/*/transactions`` and ``POST /transfers`` of the
        deployed stage only: moving money."""
        return self._grant_execute(grantee, [("POST", "/accounts/*/transactions"), ("POST", TRANSFERS_PATH)])

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """``execute-api:Invoke`` on ``GET /accounts/*/balance`` and ``GET /accounts/*/transactions``
        only: a read-only client cannot move money."""
        return self._grant_execute(
            grantee, [("GET", "/accounts/*/balance"), ("GET", "/accounts/*/transactions")]
        )

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Every method of the API: :meth:`grant_invoke_commands` and :meth:`grant_read`."""
        return self.grant_invoke_commands(grantee).combine(self.grant_read(grantee))

    def _grant_execute(self, grantee: iam.IGrantable, methods: list[tuple[str, str]]) -> iam.Grant:
        stage = self.api.deployment_stage.stage_name
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["execute-api:Invoke"],
            resource_arns=[self.api.arn_for_execute_api(method, path, stage) for method, path in methods],
        )

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
