"""The flash-sale order pipeline: API -> SQS buffer -> Lambda processor -> DAX -> DynamoDB."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from aws_cdk import Duration, Fn, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sns as sns
from constructs import Construct

from dbpatterns.common.alarm_topic import AlarmTopic, AlarmTopicProps, check_email_address
from dbpatterns.common.api_logging import AccountCloudWatchRole
from dbpatterns.common.encryption import create_key
from dbpatterns.common.function import HandlerFunction, HandlerFunctionProps, check_environment
from dbpatterns.common.layers import PinnedDistribution, VerifiedLayerContent
from dbpatterns.common.nag import acknowledge, acknowledge_framework_rule
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.queue import SecureQueue, SecureQueueProps
from dbpatterns.common.validation import (
    PropValidationError,
    check_concrete_region,
    check_instance,
    check_int,
    check_range,
    check_required,
    construct_label,
    require,
)
from dbpatterns.dynamodb.table import DynamoTable, DynamoTableProps, check_warm_throughput
from dbpatterns.flash_sale.dax_cache import DaxCache, DaxCacheProps
from dbpatterns.flash_sale.monitoring import FlashSaleMonitoring, FlashSaleMonitoringProps
from dbpatterns.flash_sale.order_api import OrderIntakeApi, OrderIntakeApiProps
from dbpatterns.handlers.flash_sale import settings
from dbpatterns.handlers.flash_sale.schema import ORDER_REQUEST_SCHEMA

HANDLER = "dbpatterns.handlers.flash_sale.processor.handler"
ORDER_STATUS_HANDLER = "dbpatterns.handlers.flash_sale.order_status.handler"
#: Powertools namespace of both flash-sale functions' own metrics.
METRICS_NAMESPACE = "DbPatterns/FlashSale"
#: SQS event source limits: batch size 1-10,000 (above 10 needs a batching window), window <= 300 s,
#: maximum concurrency 2-1,000.
MAX_BATCH_SIZE, MAX_BATCH_WITHOUT_WINDOW, MAX_WINDOW_SECONDS = 10_000, 10, 300
MIN_CONCURRENCY, MAX_CONCURRENCY = 2, 1_000
#: AWS's advice for a Lambda consumer: visibility timeout at least six times the function timeout.
VISIBILITY_TIMEOUT_FACTOR = 6
#: The DAX client (PyPI amazon-dax-client, pure Python) and its two pure-Python dependencies, copied
#: into a layer from the installed ``dax`` extra of this library (botocore comes with the runtime).
#: ``code_sha256`` is ``dbpatterns.common.layers.code_digest`` of each version's files from PyPI.
DAX_CLIENT_DISTRIBUTIONS = (
    PinnedDistribution(
        name="amazon-dax-client",
        version="2.1.0",
        code_sha256="b4137724e10e1c41ae3251db85db18150009bdaca127bee8df6dec6872708c5c",
    ),
    PinnedDistribution(
        name="antlr4-python3-runtime",
        version="4.13.2",
        code_sha256="5b15f5172ac71c4c6ba6de623ef1d0490ddea4aba55ad203bedc519fac927834",
    ),
    PinnedDistribution(
        name="six",
        version="1.17.0",
        code_sha256="6c01669461ea20344bfcf5730d4f36b6f7eb383069978bced32d0e9ebbb2a24b",
    ),
)
#: The library extra that installs :data:`DAX_CLIENT_DISTRIBUTIONS`.
DAX_CLIENT_EXTRA = "dax"
#: amazon-dax-client 2.1.0 declares support up to Python 3.13, so its function runs on 3.13.
DAX_CLIENT_RUNTIME = lambda_.Runtime.PYTHON_3_13


@dataclass(frozen=True, kw_only=True)
class FlashSaleOrderPipelineProps:
    """Props of :class:`FlashSaleOrderPipeline`."""

    #: Sandbox or production: removal, DAX size and warm throughput follow it.
    profile: DeploymentProfile
    #: VPC for the processor and DAX: private isolated subnets with the DynamoDB gateway endpoint, and
    #: a way to SQS (an SQS interface endpoint, or NAT) for the processor's visibility backoffs; without
    #: one, a message that failed for a transient reason waits out its whole visibility timeout.
    vpc: ec2.IVpc
    #: Who sets API Gateway's account-level CloudWatch Logs role, which the API stage's execution and
    #: access logs need: ``AccountCloudWatchRole.MANAGED_ELSEWHERE`` (another stack, your landing zone
    #: or once by hand) or ``AccountCloudWatchRole.CREATE`` (this stack sets it, retained on deletion).
    #: Required: in an account and region without the role the stage fails to deploy.
    account_cloud_watch_role: AccountCloudWatchRole
    #: Messages per processor invocation (1-10,000; above 10 needs ``max_batching_window``) - 10.
    batch_size: int = 10
    #: How long SQS gathers a batch (0-300 s) - 1 second by default.
    max_batching_window: Duration = field(default_factory=lambda: Duration.seconds(1))
    #: Most concurrent processor invocations the queue may drive (2-1,000) - 20 by default. The spike
    #: waits in the queue instead of overwhelming the table.
    max_concurrency: int = 20
    #: Processor timeout - 30 seconds by default.
    function_timeout: Duration = field(default_factory=lambda: Duration.seconds(30))
    #: Queue visibility timeout - 6 x the function timeout + the batching window by default (AWS's
    #: advice, plus the time messages wait hidden while a batch is gathered; less is refused).
    visibility_timeout: Duration | None = None
    #: Deliveries before a message goes to the dead-letter queue - 10 by default. Transient failures
    #: come back within seconds (the processor shortens their visibility), so 5 receives could be used
    #: up by a 15-second conflict storm; 10 cover about four minutes of backoff.
    max_receive_count: int = 10
    #: Units of one product one customer may buy over all their accepted orders (1-1,000,000) - 10, the
    #: largest single order the API accepts. Set 1 or 2 for a scarce drop.
    max_units_per_customer: int = settings.DEFAULT_MAX_UNITS_PER_CUSTOMER
    #: Whether each order must carry its caller's IAM identity (stamped by the API) and name that caller
    #: as its customer - on by default. Turn it off only for producers other than this API.
    require_caller_identity: bool = True
    #: Roles whose sessions are customers (the session name is the customer id) - any role the API
    #: admits by default.
    customer_roles: Sequence[iam.IRole] = ()
    #: DAX nodes (1-11) - 3 in production, 1 in a sandbox. ``None`` keeps the default; there is always DAX.
    dax_node_count: int | None = None
    #: Pre-warmed throughput of the orders table for a known sale - none by default. A new on-demand
    #: table already serves 12,000 reads/s and 4,000 writes/s at once; give more than that (sized
    #: with ``dbpatterns.capacity``) only for a bigger spike, as pre-warming has a one-time cost.
    orders_warm_throughput: dynamodb.WarmThroughput | None = None
    #: Stage steady rate (requests/s) - 1,000 by default.
    api_rate_limit: int = 1_000
    #: Stage burst - 2,000 by default.
    api_burst_limit: int = 2_000
    #: Steady requests per second of ``GET /orders/{order_id}`` (below ``api_rate_limit``) - 500 by
    #: default, so polling clients cannot use up the budget order intake needs.
    order_status_rate_limit: int = 500
    #: Burst of ``GET /orders/{order_id}`` (below ``api_burst_limit``) - 1,000 by default.
    order_status_burst_limit: int = 1_000
    #: Topic every alarm of the pipeline notifies (ALARM and OK) - a new :class:`AlarmTopic` (KMS, TLS
    #: only) by default. A topic of your own that is KMS-encrypted must let CloudWatch use its key and
    #: publish to it (``AlarmTopic`` does both). Give this or ``alarm_email``, not both.
    alarm_topic: sns.ITopic | None = None
    #: Email address the new alarm topic sends notifications to (after the address confirms) - none
    #: by default. Only without ``alarm_topic``.
    alarm_email: str | None = None
    #: Extra processor environment (e.g. Powertools log level) - none by default.
    environment: Mapping[str, str] = field(default_factory=dict)


class FlashSaleOrderPipeline(Construct):
    """Orders come in through an IAM-authorized API, wait in an encrypted SQS buffer, and are placed
    by a Lambda processor with one DynamoDB transaction each, reading product data through DAX.

    Callers read their orders back with ``GET /orders/{order_id}`` (the ``order_status`` function,
    strongly consistent reads of the orders table, the caller's own orders only). Every alarm (queue,
    functions, the handlers' failure metrics, API 5XX) notifies ``alarm_topic``; ``dashboard`` shows
    intake, processing, failures and latency.

    Exposes ``api`` (:class:`OrderIntakeApi`), ``queue`` (:class:`SecureQueue`), ``processor`` and
    ``order_status`` (:class:`HandlerFunction`), ``event_source``, ``dax`` (:class:`DaxCache`),
    ``orders`` and ``products`` (:class:`DynamoTable`), ``key`` (the KMS key of the queue and tables),
    ``alarm_topic``, ``alarms`` (every alarm of the pipeline) and ``dashboard``.
    """

    def __init__(self, scope: Construct, construct_id: str, props: FlashSaleOrderPipelineProps) -> None:
        name = construct_label(type(self), scope, construct_id)
        visibility_timeout = _validate(name, props)
        check_concrete_region(
            name,
            scope,
            "stack",
            Stack.of(scope).node.path,
            because="its DynamoDB tables use a customer-managed KMS key, which TableV2 renders per region",
        )
        dax_client = VerifiedLayerContent.of(DAX_CLIENT_DISTRIBUTIONS, construct=name, extra=DAX_CLIENT_EXTRA)
        super().__init__(scope, construct_id)

        self.key = create_key(
            self, "Key", description="Flash-sale orders, products and order queue", profile=props.profile
        )
        self.alarm_topic: sns.ITopic = props.alarm_topic or (
            AlarmTopic(
                self,
                "AlarmTopic",
                AlarmTopicProps(
                    profile=props.profile, email=props.alarm_email, display_name="Flash-sale alarms"
                ),
            ).topic
        )
        string = dynamodb.AttributeType.STRING
        self.orders = DynamoTable(
            self,
            "Orders",
            DynamoTableProps(
                profile=props.profile,
                partition_key=dynamodb.Attribute(name="order_id", type=string),
                encryption_key=self.key,
                warm_throughput=props.orders_warm_throughput,
            ),
        )
        self.products = DynamoTable(
            self,
            "Products",
            DynamoTableProps(
                profile=props.profile,
                partition_key=dynamodb.Attribute(name="product_id", type=string),
                encryption_key=self.key,
            ),
        )

        self.queue = SecureQueue(
            self,
            "Queue",
            SecureQueueProps(
                encryption_key=self.key,
                visibility_timeout=visibility_timeout,
                max_receive_count=props.max_receive_count,
                alarm_topic=self.alarm_topic,
                removal_policy=props.profile.removal_policy,
            ),
        )

        processor_sg = ec2.SecurityGroup(
            self,
            "ProcessorSecurityGroup",
            vpc=props.vpc,
            allow_all_outbound=False,
            description="Flash-sale processor: DAX and DynamoDB (HTTPS) only",
        )
        # HTTPS to AWS APIs; with only isolated subnets the one way out is the DynamoDB gateway endpoint.
        processor_sg.add_egress_rule(
            ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to DynamoDB via the VPC endpoint"
        )
        self.dax = DaxCache(
            self,
            "Dax",
            DaxCacheProps(
                table=self.products, vpc=props.vpc, profile=props.profile, node_count=props.dax_node_count
            ),
        )

        dax_layer = dax_client.layer(
            self,
            "DaxClientLayer",
            description="amazon-dax-client and its pure-Python dependencies",
            compatible_runtimes=[DAX_CLIENT_RUNTIME],
        )
        self.processor = HandlerFunction(
            self,
            "Processor",
            HandlerFunctionProps(
                handler=HANDLER,
                profile=props.profile,
                description="Places flash-sale orders from the queue: one DynamoDB transaction per order",
                service_name="flash-sale-processor",
                metrics_namespace=METRICS_NAMESPACE,
                runtime=DAX_CLIENT_RUNTIME,
                layers=[dax_layer],
                timeout=props.function_timeout,
                vpc=props.vpc,
                security_groups=[processor_sg],
                environment={**self._processor_environment(props), **props.environment},
            ),
        )
        acknowledge(
            self.processor.function,
            "AwsSolutions-L1",
            "Runs Python 3.13, not the newest runtime: amazon-dax-client 2.1.0, the DAX client this "
            "function loads, declares support up to Python 3.13.",
        )
        self.dax.connections.allow_default_port_from(self.processor.function, "Flash-sale processor over TLS")
        self.dax.grant_read(self.processor.role)
        # Exactly what the order transaction, the per-customer counter and the rejection record need.
        self.orders.grant(self.processor.role, "dynamodb:PutItem", "dynamodb:UpdateItem")
        self.products.grant(self.processor.role, "dynamodb:UpdateItem", "dynamodb:GetItem")

        self.event_source = sources.SqsEventSource(
            self.queue.queue,
            batch_size=props.batch_size,
            max_batching_window=props.max_batching_window,
            max_concurrency=props.max_concurrency,
            report_batch_item_failures=True,
        )
        self.processor.function.add_event_source(self.event_source)
        acknowledge_framework_rule(
            self.processor.function,
            "LambdaDLQ",
            "Triggered by the order queue's event source mapping: an order that keeps failing moves to the "
            "queue's own dead-letter queue; a function DLQ covers asynchronous invokes only.",
        )
        acknowledge_framework_rule(
            self.processor.function,
            "LambdaConcurrency",
            "The event source mapping's maximum concurrency (max_concurrency) bounds the processor and so "
            "the DAX connections; a reservation below it would throttle polls and burn receive counts.",
        )

        self.order_status = self._order_status_function(props)

        self.api = OrderIntakeApi(
            self,
            "Api",
            OrderIntakeApiProps(
                queue=self.queue,
                request_schema=ORDER_REQUEST_SCHEMA,
                profile=props.profile,
                rate_limit=props.api_rate_limit,
                burst_limit=props.api_burst_limit,
                account_cloud_watch_role=props.account_cloud_watch_role,
                status_function=self.order_status,
                status_rate_limit=props.order_status_rate_limit,
                status_burst_limit=props.order_status_burst_limit,
            ),
        )
        self.monitoring = FlashSaleMonitoring(
            self,
            "Monitoring",
            FlashSaleMonitoringProps(
                processor=self.processor,
                order_status=self.order_status,
                queue=self.queue,
                api=self.api,
                alarm_topic=self.alarm_topic,
            ),
        )
        self.dashboard = self.monitoring.dashboard
        self.alarms: list[cloudwatch.Alarm] = [*self.queue.alarms, *self.monitoring.alarms]

    def _order_status_function(self, props: FlashSaleOrderPipelineProps) -> HandlerFunction:
        """``GET /orders/{order_id}``: strongly consistent BatchGetItem on the orders table, nothing else."""
        security_group = ec2.SecurityGroup(
            self,
            "OrderStatusSecurityGroup",
            vpc=props.vpc,
            allow_all_outbound=False,
            description="Flash-sale order status: DynamoDB (HTTPS) only",
        )
        security_group.add_egress_rule(
            ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to DynamoDB via the VPC endpoint"
        )
        environment = {settings.ORDERS_TABLE_ENV: self.orders.table.table_name}
        if props.customer_roles:
            environment[settings.CUSTOMER_ROLE_NAMES_ENV] = _role_names(props.customer_roles)
        function = HandlerFunction(
            self,
            "OrderStatus",
            HandlerFunctionProps(
                handler=ORDER_STATUS_HANDLER,
                profile=props.profile,
                description="Answers GET /orders/{order_id} with the caller's own order or PENDING",
                service_name="flash-sale-order-status",
                metrics_namespace=METRICS_NAMESPACE,
                timeout=Duration.seconds(10),
                vpc=props.vpc,
                security_groups=[security_group],
                environment=environment,
            ),
        )
        self.orders.grant(function, "dynamodb:BatchGetItem")
        acknowledge_framework_rule(
            function.function,
            "LambdaDLQ",
            "Invoked synchronously by API Gateway for GET /orders/{order_id}: a failure is a 5xx to the "
            "polling client, and a read has nothing to redeliver.",
        )
        acknowledge_framework_rule(
            function.function,
            "LambdaConcurrency",
            "Reads on-demand DynamoDB only, which needs no shielding; the method's own throttle bounds the "
            "polling, and a reservation would take from the account's unreserved pool.",
        )
        return function

    def _processor_environment(self, props: FlashSaleOrderPipelineProps) -> dict[str, str]:
        environment = {
            settings.ORDERS_TABLE_ENV: self.orders.table.table_name,
            settings.PRODUCTS_TABLE_ENV: self.products.table.table_name,
            settings.ORDER_QUEUE_URL_ENV: self.queue.queue.queue_url,
            settings.DAX_ENDPOINT_ENV: self.dax.endpoint_url,
            settings.MAX_UNITS_PER_CUSTOMER_ENV: str(props.max_units_per_customer),
            settings.REQUIRE_CALLER_IDENTITY_ENV: "true" if props.require_caller_identity else "false",
        }
        if props.customer_roles:
            environment[settings.CUSTOMER_ROLE_NAMES_ENV] = _role_names(props.customer_roles)
        return environment


def _role_names(roles: Sequence[iam.IRole]) -> str:
    """``CUSTOMER_ROLE_NAMES``: the roles' names, comma-separated (resolved at deploy time)."""
    return Fn.join(",", [role.role_name for role in roles])


#: Variables the pipeline sets on its functions; ``environment`` may not override them.
PROCESSOR_ENVIRONMENT_KEYS = dict.fromkeys(
    (
        settings.ORDERS_TABLE_ENV,
        settings.PRODUCTS_TABLE_ENV,
        settings.ORDER_QUEUE_URL_ENV,
        settings.DAX_ENDPOINT_ENV,
        settings.MAX_UNITS_PER_CUSTOMER_ENV,
        settings.REQUIRE_CALLER_IDENTITY_ENV,
        settings.CUSTOMER_ROLE_NAMES_ENV,
    ),
    "",
)


def _validate(name: str, props: FlashSaleOrderPipelineProps) -> Duration:
    for prop in ("profile", "vpc"):
        check_required(name, prop, getattr(props, prop))
    check_instance(name, "profile", props.profile, DeploymentProfile)
    for prop in ("max_batching_window", "function_timeout"):
        check_instance(name, prop, getattr(props, prop), Duration)
    check_instance(name, "visibility_timeout", props.visibility_timeout, Duration, optional=True)
    for prop in (
        "batch_size",
        "max_concurrency",
        "max_receive_count",
        "api_rate_limit",
        "api_burst_limit",
        "order_status_rate_limit",
        "order_status_burst_limit",
    ):
        check_int(name, prop, getattr(props, prop))
    require(
        props.alarm_topic is None or hasattr(props.alarm_topic, "topic_arn"),
        name,
        "alarm_topic",
        props.alarm_topic,
        "allowed: an sns.ITopic",
    )
    check_email_address(name, "alarm_email", props.alarm_email)
    if props.alarm_topic is not None and props.alarm_email is not None:
        raise PropValidationError(
            name,
            "alarm_email",
            props.alarm_email,
            "allowed: only without alarm_topic (subscribe the address to your own topic instead)",
        )
    check_range(
        name,
        "order_status_rate_limit",
        props.order_status_rate_limit,
        minimum=1,
        maximum=max(1, props.api_rate_limit - 1),
    )
    check_range(
        name,
        "order_status_burst_limit",
        props.order_status_burst_limit,
        minimum=1,
        maximum=max(1, props.api_burst_limit - 1),
    )
    check_int(name, "dax_node_count", props.dax_node_count, optional=True)
    check_int(name, "max_units_per_customer", props.max_units_per_customer)
    check_range(
        name,
        "max_units_per_customer",
        props.max_units_per_customer,
        minimum=1,
        maximum=settings.MAX_UNITS_PER_CUSTOMER_CEILING,
    )
    check_instance(name, "require_caller_identity", props.require_caller_identity, bool)
    check_environment(name, props.environment, PROCESSOR_ENVIRONMENT_KEYS)
    check_warm_throughput(name, props.orders_warm_throughput, prop="orders_warm_throughput")
    check_instance(name, "account_cloud_watch_role", props.account_cloud_watch_role, AccountCloudWatchRole)
    window = props.max_batching_window.to_seconds()
    check_range(name, "batch_size", props.batch_size, minimum=1, maximum=MAX_BATCH_SIZE)
    check_range(name, "max_batching_window (seconds)", window, minimum=0, maximum=MAX_WINDOW_SECONDS)
    if props.batch_size > MAX_BATCH_WITHOUT_WINDOW and window == 0:
        raise PropValidationError(
            name,
            "batch_size",
            props.batch_size,
            f"allowed: at most {MAX_BATCH_WITHOUT_WINDOW} without a max_batching_window",
        )
    check_range(
        name, "max_concurrency", props.max_concurrency, minimum=MIN_CONCURRENCY, maximum=MAX_CONCURRENCY
    )
    check_range(name, "dax_node_count", props.dax_node_count, minimum=1, maximum=11)
    function_seconds = props.function_timeout.to_seconds()
    check_range(name, "function_timeout (seconds)", function_seconds, minimum=1, maximum=900)
    minimum_visibility = VISIBILITY_TIMEOUT_FACTOR * function_seconds + window
    visibility = props.visibility_timeout or Duration.seconds(minimum_visibility)
    if visibility.to_seconds() < minimum_visibility:
        raise PropValidationError(
            name,
            "visibility_timeout (seconds)",
            visibility.to_seconds(),
            f"allowed: at least {VISIBILITY_TIMEOUT_FACTOR} x function_timeout + max_batching_window = "
            f"{minimum_visibility:g} s, so a message is not redelivered while a batch is gathered or an "
            "invocation still works on it",
        )
    return visibility
