"""Alarms and the dashboard of the flash-sale pipeline: every alarm notifies the alarm topic."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_sns as sns
from constructs import Construct

from dbpatterns.common.alarms import MetricRule, alarm_on_function, alarm_on_metric, alarm_on_rules
from dbpatterns.common.function import HandlerFunction
from dbpatterns.common.queue import SecureQueue
from dbpatterns.common.validation import check_instance, check_required, construct_label
from dbpatterns.flash_sale.order_api import OrderIntakeApi

ONE_MINUTE = Duration.minutes(1)

#: The processor's failure metrics (namespace ``DbPatterns/FlashSale``, dimension ``service``) that
#: raise an alarm; the names are the handler's (``dbpatterns.handlers.flash_sale.processor``).
PROCESSOR_RULES = (
    MetricRule(
        metric_name="FailedOrderMessages",
        meaning="orders fail with DynamoDB errors, access denied or bad product data and are heading "
        "for the dead-letter queue; see the processor's logs.",
        period=ONE_MINUTE,
        evaluation_periods=3,
    ),
    MetricRule(
        metric_name="MalformedOrderMessages",
        meaning="messages without a valid order or caller: something writes to the queue around the "
        "API, or the API stopped stamping the caller.",
    ),
    MetricRule(
        metric_name="OrderIdConflicts",
        meaning="a client reused an order id for a different order (a client bug, or abuse); the "
        "conflict is recorded and visible to the caller.",
    ),
    MetricRule(
        metric_name="CustomerMismatches",
        meaning="a caller ordered for another customer: a storefront bug or an impersonation attempt.",
    ),
    MetricRule(
        metric_name="VisibilityChangeFailures",
        meaning="transient failures could not be backed off (SQS endpoint or permission missing); "
        "those messages wait their full visibility timeout.",
    ),
    MetricRule(
        metric_name="ProductCacheBypassed",
        meaning="the DAX circuit breaker is open (DAX down or hanging); orders still flow, read from "
        "DynamoDB.",
        period=ONE_MINUTE,
        evaluation_periods=3,
    ),
    MetricRule(
        metric_name="ProductCacheFailures",
        meaning="DAX reads fail or time out.",
        threshold=10,
    ),
    MetricRule(
        metric_name="TransientOrderFailures",
        meaning="sustained contention on a hot item: lower max_concurrency or shard the stock counter.",
        threshold=100,
        period=ONE_MINUTE,
        evaluation_periods=5,
    ),
)
#: The order-status function's metric that raises an alarm.
ORDER_STATUS_RULES = (
    MetricRule(
        metric_name="OrderStatusForbidden",
        meaning="callers whose IAM identity maps to no customer (wrong role, customer_roles or session "
        "names).",
    ),
)
#: Counts shown on the dashboard only (expected in small numbers, or business volume).
PROCESSOR_OUTCOMES = ("OrdersAccepted", "OrdersRejected", "DuplicateOrderMessages", "OrderIdConflicts")
PROCESSOR_CACHE = ("ProductCacheMisses", "StalePriceRetries", "ProductCacheBypassed", "ProductCacheFailures")
PROCESSOR_FAILURES = (
    "FailedOrderMessages",
    "MalformedOrderMessages",
    "CustomerMismatches",
    "TransientOrderFailures",
    "TransientBackoffs",
    "VisibilityChangeFailures",
)
ORDER_STATUS_COUNTS = (
    "OrderStatusReads",
    "OrderStatusPending",
    "OrderStatusForbidden",
    "OrderStatusMalformed",
)


@dataclass(frozen=True, kw_only=True)
class FlashSaleMonitoringProps:
    """Props of :class:`FlashSaleMonitoring`."""

    #: The order processor.
    processor: HandlerFunction
    #: The function behind ``GET /orders/{order_id}``.
    order_status: HandlerFunction
    #: The order queue (its own alarms are already in it; shown on the dashboard).
    queue: SecureQueue
    #: The order API.
    api: OrderIntakeApi
    #: Topic every alarm notifies, on ALARM and on OK.
    alarm_topic: sns.ITopic


class FlashSaleMonitoring(Construct):
    """Alarms on both functions (errors, throttles, the handlers' failure metrics) and the API's 5XX,
    and one dashboard with intake, processing, failures and latency.

    Exposes ``alarms`` (those defined here) and ``dashboard``.
    """

    def __init__(self, scope: Construct, construct_id: str, props: FlashSaleMonitoringProps) -> None:
        name = construct_label(type(self), scope, construct_id)
        for prop in ("processor", "order_status", "queue", "api", "alarm_topic"):
            check_required(name, prop, getattr(props, prop))
        check_instance(name, "processor", props.processor, HandlerFunction)
        check_instance(name, "order_status", props.order_status, HandlerFunction)
        super().__init__(scope, construct_id)
        topic = props.alarm_topic

        processor = Construct(self, "Processor")
        order_status = Construct(self, "OrderStatus")
        api = Construct(self, "Api")
        self.alarms: list[cloudwatch.Alarm] = [
            *alarm_on_function(processor, props.processor, alarm_topic=topic),
            *alarm_on_rules(processor, props.processor, PROCESSOR_RULES, alarm_topic=topic),
            *alarm_on_function(order_status, props.order_status, alarm_topic=topic),
            *alarm_on_rules(order_status, props.order_status, ORDER_STATUS_RULES, alarm_topic=topic),
            alarm_on_metric(
                api,
                "ServerErrors",
                metric=props.api.metric_server_error(
                    cloudwatch.MetricOptions(period=ONE_MINUTE, statistic=cloudwatch.Stats.SUM)
                ),
                threshold=0,
                evaluation_periods=3,
                datapoints_to_alarm=2,
                description="Order API answers 5XX: POST /orders could not queue orders (SQS) or "
                "GET /orders/{order_id} failed; see the API's access and execution logs.",
                alarm_topic=topic,
            ),
        ]
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            default_interval=Duration.hours(3),
            widgets=_widgets(props, self.alarms),
        )


def _counts(function: HandlerFunction, names: tuple[str, ...]) -> list[cloudwatch.IMetric]:
    return [
        function.metric_powertools(name, cloudwatch.MetricOptions(period=ONE_MINUTE, label=name))
        for name in names
    ]


def _graph(
    title: str, left: list[cloudwatch.IMetric], right: list[cloudwatch.IMetric] | None = None
) -> cloudwatch.GraphWidget:
    return cloudwatch.GraphWidget(title=title, left=left, right=right or [], width=8, height=6)


def _widgets(
    props: FlashSaleMonitoringProps, alarms: list[cloudwatch.Alarm]
) -> list[list[cloudwatch.IWidget]]:
    minute_sum = cloudwatch.MetricOptions(period=ONE_MINUTE, statistic=cloudwatch.Stats.SUM)
    minute_max = cloudwatch.MetricOptions(period=ONE_MINUTE, statistic=cloudwatch.Stats.MAXIMUM)
    p99 = cloudwatch.MetricOptions(period=ONE_MINUTE, statistic=cloudwatch.Stats.percentile(99))
    p50 = cloudwatch.MetricOptions(period=ONE_MINUTE, statistic=cloudwatch.Stats.percentile(50))
    queue, api, processor, status = props.queue, props.api, props.processor, props.order_status
    every_alarm = [*queue.alarms, *alarms]
    return [
        [cloudwatch.TextWidget(markdown="## Intake: API and order queue", width=24, height=1)],
        [
            _graph("API requests", [api.metric_count(minute_sum)], [api.metric_client_error(minute_sum)]),
            _graph(
                "Orders queued / waiting",
                [queue.metric_number_of_messages_sent(minute_sum)],
                [queue.metric_approximate_number_of_messages_visible(minute_max)],
            ),
            _graph("Order status reads", _counts(status, ORDER_STATUS_COUNTS)),
        ],
        [cloudwatch.TextWidget(markdown="## Processing", width=24, height=1)],
        [
            _graph("Order outcomes", _counts(processor, PROCESSOR_OUTCOMES)),
            _graph("Product reads (DAX)", _counts(processor, PROCESSOR_CACHE)),
            _graph(
                "Processor invocations",
                [processor.metric_invocations(minute_sum)],
                [processor.metric_throttles(minute_sum)],
            ),
        ],
        [cloudwatch.TextWidget(markdown="## Failures", width=24, height=1)],
        [
            _graph("Processor failures", _counts(processor, PROCESSOR_FAILURES)),
            _graph(
                "Dead letters and errors",
                [queue.metric_dead_letter_messages_visible(minute_max)],
                [
                    processor.metric_errors(minute_sum),
                    status.metric_errors(minute_sum),
                    api.metric_server_error(minute_sum),
                ],
            ),
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=every_alarm, width=8, height=6),
        ],
        [cloudwatch.TextWidget(markdown="## Latency", width=24, height=1)],
        [
            _graph("API latency (p50, p99)", [api.metric_latency(p50), api.metric_latency(p99)]),
            _graph(
                "Function duration (p99)",
                [processor.metric_duration(p99), status.metric_duration(p99)],
            ),
            _graph(
                "Oldest queued order (s)",
                [queue.metric_approximate_age_of_oldest_message(minute_max)],
            ),
        ],
    ]
