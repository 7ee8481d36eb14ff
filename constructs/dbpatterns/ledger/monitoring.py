"""Alarms and the dashboard of the ledger: every alarm notifies the alarm topic."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_sns as sns
from constructs import Construct

from dbpatterns.common.alarms import MetricRule, alarm_on_function, alarm_on_metric, alarm_on_rules
from dbpatterns.common.function import HandlerFunction
from dbpatterns.common.validation import check_instance, check_required, construct_label
from dbpatterns.ledger.command_api import LedgerCommandApi
from dbpatterns.ledger.stream_consumers import LedgerStreamConsumers

ONE_MINUTE = Duration.minutes(1)

#: The sink's metrics that raise an alarm (namespace ``DbPatterns``, dimension ``service=ledger-sink``).
SINK_RULES = (
    MetricRule(
        metric_name="UnexpectedStreamChanges",
        meaning="a MODIFY or REMOVE reached the event store's stream: history was changed outside the "
        "ledger. Find the keys in the sink's logs and compare with replay's hash-chain check.",
        period=ONE_MINUTE,
    ),
    MetricRule(
        metric_name="EventStoreGaps",
        meaning="the event store lacks a version, so the sink cannot project that account; its records "
        "fail and reach the failure queue. Run replay on the account.",
        period=ONE_MINUTE,
    ),
    MetricRule(
        metric_name="ProjectionDrift",
        meaning="a projected balance differs from the event's balance_after: the projection was "
        "changed outside the sink. Rebuild it with replay.",
        period=ONE_MINUTE,
    ),
    MetricRule(
        metric_name="ProjectionGapRepaired",
        meaning="gaps are filled from the event store at a sustained rate: stream records are being "
        "discarded or delayed. Look at the failure queue and the iterator age.",
        threshold=10,
        evaluation_periods=5,
        datapoints_to_alarm=3,
    ),
)
#: The fraud function's metrics that raise an alarm (``service=ledger-fraud``).
FRAUD_RULES = (
    MetricRule(
        metric_name="FraudAlertRepublished",
        meaning="an alert was published again after a failed or dead delivery: subscribers may see a "
        "repeat (they drop it by alert_id).",
        period=ONE_MINUTE,
    ),
    MetricRule(
        metric_name="FraudAlertsInFlight",
        meaning="deliveries keep finding another delivery's live claim on an alert (a stuck claim); "
        "the redrive republishes PENDING alerts.",
        period=ONE_MINUTE,
        evaluation_periods=5,
        datapoints_to_alarm=3,
    ),
    MetricRule(
        metric_name="UnfilteredCredits",
        meaning="a credit reached the fraud function: the mapping's filter is wrong.",
        period=ONE_MINUTE,
    ),
)
#: The command function's metric that raises an alarm (``service=ledger-api``).
API_RULES = (
    MetricRule(
        metric_name="RefusedConcurrentModification",
        meaning="commands keep losing the version race on hot accounts (409 after three attempts) for "
        "five minutes: clients retry into contention.",
        threshold=5,
        period=ONE_MINUTE,
        evaluation_periods=5,
    ),
)
#: Counts shown on the dashboard.
API_COUNTS = (
    "TransactionsAccepted",
    "TransfersAccepted",
    "IdempotentReplays",
    "ConcurrencyRetries",
    "MalformedRequests",
    "RefusedInsufficientFunds",
    "RefusedCurrencyMismatch",
    "RefusedIdempotencyKeyReused",
    "RefusedConcurrentModification",
)
QUERY_COUNTS = ("BalanceReads", "HistoryReads", "UnknownAccountReads", "MalformedRequests")
SINK_COUNTS = (
    "ProjectionApplied",
    "ProjectionDuplicates",
    "EventsArchived",
    "ArchiveDuplicates",
    "ProjectionGapRepaired",
    "ProjectionVersionsFilled",
)
FRAUD_COUNTS = ("WithdrawalsChecked", "FraudAlerts", "FraudAlertDuplicates", "FraudAlertsInFlight")
INTEGRITY_COUNTS = ("UnexpectedStreamChanges", "EventStoreGaps", "ProjectionDrift")


@dataclass(frozen=True, kw_only=True)
class LedgerMonitoringProps:
    """Props of :class:`LedgerMonitoring`."""

    #: The API and its two functions.
    api: LedgerCommandApi
    #: The stream consumers (their iterator-age and failure-queue alarms are already in them).
    consumers: LedgerStreamConsumers
    #: The operator-run functions.
    replay: HandlerFunction
    #: The failure queue's redrive.
    redrive: HandlerFunction
    #: Topic every alarm notifies, on ALARM and on OK.
    alarm_topic: sns.ITopic


class LedgerMonitoring(Construct):
    """Errors and throttles of all six functions, the handlers' integrity and failure metrics, the
    API's 5XX, and one dashboard with intake, processing, failures and latency.

    Exposes ``alarms`` (those defined here) and ``dashboard``.
    """

    def __init__(self, scope: Construct, construct_id: str, props: LedgerMonitoringProps) -> None:
        name = construct_label(type(self), scope, construct_id)
        for prop in ("api", "consumers", "replay", "redrive", "alarm_topic"):
            check_required(name, prop, getattr(props, prop))
        check_instance(name, "api", props.api, LedgerCommandApi)
        check_instance(name, "consumers", props.consumers, LedgerStreamConsumers)
        super().__init__(scope, construct_id)
        topic = props.alarm_topic
        consumers, api = props.consumers, props.api

        alarms: list[cloudwatch.Alarm] = []
        for scope_id, function, rules in (
            ("Commands", api.function, API_RULES),
            ("Queries", api.queries, ()),
            ("Sink", consumers.sink, SINK_RULES),
            ("Fraud", consumers.fraud, FRAUD_RULES),
            ("Replay", props.replay, ()),
            ("Redrive", props.redrive, ()),
        ):
            function_scope = Construct(self, scope_id)
            alarms += alarm_on_function(function_scope, function, alarm_topic=topic)
            alarms += alarm_on_rules(function_scope, function, rules, alarm_topic=topic)
        alarms.append(
            alarm_on_metric(
                Construct(self, "Api"),
                "ServerErrors",
                metric=api.metric_server_error(
                    cloudwatch.MetricOptions(period=ONE_MINUTE, statistic=cloudwatch.Stats.SUM)
                ),
                threshold=0,
                evaluation_periods=3,
                datapoints_to_alarm=2,
                description="Ledger API answers 5XX (function errors, throttles or timeouts); see the API's "
                "access logs and the functions' logs.",
                alarm_topic=topic,
            )
        )
        self.alarms = alarms
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            default_interval=Duration.hours(3),
            widgets=_widgets(props, [*consumers.alarms, *alarms]),
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


def _widgets(props: LedgerMonitoringProps, alarms: list[cloudwatch.Alarm]) -> list[list[cloudwatch.IWidget]]:
    minute_sum = cloudwatch.MetricOptions(period=ONE_MINUTE, statistic=cloudwatch.Stats.SUM)
    minute_max = cloudwatch.MetricOptions(period=ONE_MINUTE, statistic=cloudwatch.Stats.MAXIMUM)
    p99 = cloudwatch.MetricOptions(period=ONE_MINUTE, statistic=cloudwatch.Stats.percentile(99))
    p50 = cloudwatch.MetricOptions(period=ONE_MINUTE, statistic=cloudwatch.Stats.percentile(50))
    api, consumers = props.api, props.consumers
    sink, fraud, failures = consumers.sink, consumers.fraud, consumers.failures
    functions = (api.function, api.queries, sink, fraud, props.replay, props.redrive)
    return [
        [cloudwatch.TextWidget(markdown="## Intake: commands and reads", width=24, height=1)],
        [
            _graph("API requests", [api.metric_count(minute_sum)], [api.metric_client_error(minute_sum)]),
            _graph("Commands", _counts(api.function, API_COUNTS)),
            _graph("Reads", _counts(api.queries, QUERY_COUNTS)),
        ],
        [cloudwatch.TextWidget(markdown="## Processing: stream consumers", width=24, height=1)],
        [
            _graph("Sink: archive and projection", _counts(sink, SINK_COUNTS)),
            _graph("Fraud detection", _counts(fraud, FRAUD_COUNTS)),
            _graph(
                "Iterator age (ms)",
                [
                    function.function.metric(
                        "IteratorAge", statistic=cloudwatch.Stats.MAXIMUM, period=ONE_MINUTE
                    )
                    for function in (sink, fraud)
                ],
            ),
        ],
        [cloudwatch.TextWidget(markdown="## Failures", width=24, height=1)],
        [
            _graph(
                "Failure queue (redrive) and its dead letters",
                [
                    failures.metric_approximate_number_of_messages_visible(minute_max),
                    failures.metric_dead_letter_messages_visible(minute_max),
                ],
            ),
            _graph(
                "Integrity and errors",
                _counts(sink, INTEGRITY_COUNTS),
                [
                    *(function.metric_errors(minute_sum) for function in functions),
                    api.metric_server_error(minute_sum),
                ],
            ),
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=alarms, width=8, height=6),
        ],
        [cloudwatch.TextWidget(markdown="## Latency", width=24, height=1)],
        [
            _graph("API latency (p50, p99)", [api.metric_latency(p50), api.metric_latency(p99)]),
            _graph(
                "API functions duration (p99)",
                [api.function.metric_duration(p99), api.queries.metric_duration(p99)],
            ),
            _graph("Consumers duration (p99)", [sink.metric_duration(p99), fraud.metric_duration(p99)]),
        ],
    ]
