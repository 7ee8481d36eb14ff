"""Every ledger alarm reaches a person, watches what the handlers really publish, and has a dashboard."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

import dbpatterns.handlers.ledger as ledger_handlers
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.validation import PropValidationError
from dbpatterns.handlers.ledger import api
from stacks.config import AppConfig
from stacks.fintech_ledger_stack import FintechLedgerStack
from tests.ledger.helpers import function_named, resources_of
from tests.support.synth import new_app, stack_template_json

STACK = "DbPatterns-FintechLedger"
pytestmark = pytest.mark.synth
HANDLERS = {
    "api": "dbpatterns.handlers.ledger.api.handler",
    "queries": "dbpatterns.handlers.ledger.queries.handler",
    "sink": "dbpatterns.handlers.ledger.sink.handler",
    "fraud": "dbpatterns.handlers.ledger.fraud.handler",
    "replay": "dbpatterns.handlers.ledger.replay.handler",
    "redrive": "dbpatterns.handlers.ledger.redrive.handler",
}
HANDLER_SOURCES = "\n".join(path.read_text() for path in Path(ledger_handlers.__file__).parent.glob("*.py"))
#: The command API's refusal metrics are named from the refusal codes at run time.
REFUSAL_METRICS = {api._metric_name(code) for _, code in api._REFUSALS.values()}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return stack_template_json(STACK, DeploymentProfile.PRODUCTION)


def alarm_topic_of(template: dict[str, Any]) -> str:
    (topic,) = [
        name for name in resources_of(template, "AWS::SNS::Topic") if name.startswith("LedgerAlarmTopic")
    ]
    return topic


def alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: r["Properties"] for name, r in resources_of(template, "AWS::CloudWatch::Alarm").items()}


@pytest.mark.parametrize("profile", list(DeploymentProfile), ids=lambda p: p.value)
def test_every_alarm_notifies_the_alarm_topic_when_it_fires_and_recovers(profile: DeploymentProfile) -> None:
    template = stack_template_json(STACK, profile)
    topic = {"Ref": alarm_topic_of(template)}
    found = alarms(template)
    assert found
    silent = sorted(name for name, p in found.items() if p.get("AlarmActions") != [topic])
    unrecovered = sorted(name for name, p in found.items() if p.get("OKActions") != [topic])
    assert silent == [], f"alarms without an alarm action: {silent}"
    assert unrecovered == [], f"alarms without an OK action: {unrecovered}"


def _watched(template: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(namespace, metric, what it is about: a service, a function, a queue or the API) of every alarm."""
    functions = {
        name: key for key, handler in HANDLERS.items() for name in [function_named(template, handler)[0]]
    }
    queues = {name: name for name in resources_of(template, "AWS::SQS::Queue")}
    watched = set()
    for properties in alarms(template).values():
        dimensions = {d["Name"]: d["Value"] for d in properties["Dimensions"]}
        if "service" in dimensions:
            subject = dimensions["service"]
        elif "FunctionName" in dimensions:
            subject = functions[dimensions["FunctionName"]["Ref"]]
        elif "QueueName" in dimensions:
            queue = queues[dimensions["QueueName"]["Fn::GetAtt"][0]]
            subject = "dead-letters" if "DeadLetterQueue" in queue else "failures"
        else:
            subject = "api"
        watched.add((properties["Namespace"], properties["MetricName"], subject))
    return watched


def test_alarms_cover_the_queue_the_stream_every_function_and_the_integrity_metrics(
    template: dict[str, Any],
) -> None:
    watched = _watched(template)
    expected = {
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "failures"),
        ("AWS/SQS", "ApproximateAgeOfOldestMessage", "failures"),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "dead-letters"),
        ("AWS/SQS", "ApproximateAgeOfOldestMessage", "dead-letters"),
        ("AWS/Lambda", "IteratorAge", "sink"),
        ("AWS/Lambda", "IteratorAge", "fraud"),
        ("AWS/ApiGateway", "5XXError", "api"),
        ("DbPatterns", "UnexpectedStreamChanges", "ledger-sink"),
        ("DbPatterns", "EventStoreGaps", "ledger-sink"),
        ("DbPatterns", "ProjectionDrift", "ledger-sink"),
        ("DbPatterns", "ProjectionGapRepaired", "ledger-sink"),
        ("DbPatterns", "FraudAlertRepublished", "ledger-fraud"),
        ("DbPatterns", "FraudAlertsInFlight", "ledger-fraud"),
        ("DbPatterns", "UnfilteredCredits", "ledger-fraud"),
        ("DbPatterns", "RefusedConcurrentModification", "ledger-api"),
        *(("AWS/Lambda", metric, key) for key in HANDLERS for metric in ("Errors", "Throttles")),
    }
    assert watched == expected


def test_handler_metric_alarms_use_the_namespace_service_and_names_the_handlers_publish(
    template: dict[str, Any],
) -> None:
    environments = [
        function_named(template, handler)[1]["Properties"]["Environment"]["Variables"]
        for handler in HANDLERS.values()
    ]
    published = {
        (env["POWERTOOLS_METRICS_NAMESPACE"], env["POWERTOOLS_SERVICE_NAME"]) for env in environments
    }
    custom = [p for p in alarms(template).values() if not p["Namespace"].startswith("AWS/")]
    assert len(custom) == 8
    for properties in custom:
        (dimension,) = properties["Dimensions"]
        assert dimension["Name"] == "service"
        assert (properties["Namespace"], dimension["Value"]) in published
        name = properties["MetricName"]
        assert f'name="{name}"' in HANDLER_SOURCES or name in REFUSAL_METRICS, name
        assert properties["Statistic"] == "Sum"


def test_an_event_store_change_alarms_at_the_first_occurrence(template: dict[str, Any]) -> None:
    Template.from_json(template).has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "UnexpectedStreamChanges",
            "Threshold": 0,
            "ComparisonOperator": "GreaterThanThreshold",
            "EvaluationPeriods": 1,
            "Period": 60,
            "TreatMissingData": "notBreaching",
        },
    )


def test_gap_repairs_alarm_only_when_sustained(template: dict[str, Any]) -> None:
    Template.from_json(template).has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "ProjectionGapRepaired",
            "Threshold": 10,
            "Period": 300,
            "EvaluationPeriods": 5,
            "DatapointsToAlarm": 3,
        },
    )


def test_failure_queue_alarms_at_the_first_message_and_before_the_stream_trims_it(
    template: dict[str, Any],
) -> None:
    by_metric = {
        p["MetricName"]: p
        for p in alarms(template).values()
        if p["Namespace"] == "AWS/SQS" and "DeadLetter" not in json.dumps(p["Dimensions"])
    }
    assert by_metric["ApproximateNumberOfMessagesVisible"]["Threshold"] == 0
    assert by_metric["ApproximateAgeOfOldestMessage"]["Threshold"] == 12 * 3600
    assert "redrive" in by_metric["ApproximateNumberOfMessagesVisible"]["AlarmDescription"]


def test_alarm_topic_is_encrypted_tls_only_and_admits_cloudwatch_alarms(template: dict[str, Any]) -> None:
    topic = alarm_topic_of(template)
    properties = template["Resources"][topic]["Properties"]
    key = properties["KmsMasterKeyId"]["Fn::GetAtt"][0]
    key_statements = template["Resources"][key]["Properties"]["KeyPolicy"]["Statement"]
    (for_alarms,) = [
        s for s in key_statements if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert for_alarms["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert for_alarms["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert ":alarm:*" in json.dumps(for_alarms["Condition"]["ArnLike"]["aws:SourceArn"])
    (policy,) = [
        r
        for r in resources_of(template, "AWS::SNS::TopicPolicy").values()
        if r["Properties"]["Topics"] == [{"Ref": topic}]
    ]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in statements
    )
    (cloudwatch,) = [s for s in statements if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]
    assert cloudwatch["Action"] == "sns:Publish"
    assert cloudwatch["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert ":alarm:*" in json.dumps(cloudwatch["Condition"]["ArnLike"]["aws:SourceArn"])


def test_no_email_is_subscribed_unless_asked(template: dict[str, Any]) -> None:
    assert resources_of(template, "AWS::SNS::Subscription") == {}


def test_dashboard_shows_intake_processing_failures_and_latency(template: dict[str, Any]) -> None:
    (dashboard,) = resources_of(template, "AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for section in ("Intake", "Processing", "Failures", "Latency"):
        assert f"## {section}" in body
    for metric in (
        "IteratorAge",
        "ProjectionGapRepaired",
        "FraudAlerts",
        "BalanceReads",
        "Latency",
        "5XXError",
    ):
        assert metric in body, metric


def test_stack_subscribes_the_alarm_email() -> None:
    stack = FintechLedgerStack(
        new_app(),
        "Ledger",
        env=AppConfig().env(),
        profile=DeploymentProfile.SANDBOX,
        alarm_email="ledger-oncall@example.com",
    )
    template = Template.from_stack(stack)
    (topic,) = [
        name for name in template.find_resources("AWS::SNS::Topic") if name.startswith("LedgerAlarmTopic")
    ]
    template.has_resource_properties(
        "AWS::SNS::Subscription",
        {"Protocol": "email", "Endpoint": "ledger-oncall@example.com", "TopicArn": {"Ref": topic}},
    )


@pytest.mark.parametrize(
    "email", ["oncall", "oncall@example", "on call@example.com", "a@b.c@example.com", ""]
)
def test_rejects_an_alarm_email_that_is_not_an_address(email: str) -> None:
    app = new_app()
    with pytest.raises(
        PropValidationError,
        match="^" + re.escape(f"FintechLedgerStack 'Ledger': invalid alarm_email={email!r}"),
    ):
        FintechLedgerStack(
            app, "Ledger", env=AppConfig().env(), profile=DeploymentProfile.SANDBOX, alarm_email=email
        )
    assert app.node.children == []
