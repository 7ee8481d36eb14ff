"""Every flash-sale alarm reaches a person, watches what the handlers really publish, and has a dashboard."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template

from dbpatterns.common.api_logging import AccountCloudWatchRole
from dbpatterns.common.network import IsolatedNetwork
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.validation import PropValidationError
from dbpatterns.flash_sale.pipeline import FlashSaleOrderPipeline, FlashSaleOrderPipelineProps
from dbpatterns.handlers.flash_sale import order_status, processor
from stacks.config import AppConfig
from stacks.flash_sale_stack import FlashSaleStack
from stacks.network_stack import NetworkStack
from tests.support.synth import new_app, stack_template_json

STACK = "DbPatterns-FlashSale"
pytestmark = pytest.mark.synth
#: Every count metric the two handlers publish (constants of the processor; literals of order_status).
PUBLISHED = (
    {
        ("flash-sale-processor", value)
        for name, value in vars(processor).items()
        if name.endswith("_METRIC") and isinstance(value, str)
    }
    | {("flash-sale-processor", name) for name in processor._READ_SOURCE_METRICS.values()}
    | {
        ("flash-sale-order-status", name)
        for name in re.findall(r'add_metric\(name="([A-Za-z]+)"', Path(order_status.__file__).read_text())
    }
)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return stack_template_json(STACK, DeploymentProfile.PRODUCTION)


def resources(template: dict[str, Any], kind: str) -> dict[str, Any]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: r["Properties"] for name, r in resources(template, "AWS::CloudWatch::Alarm").items()}


def alarm_topic_of(template: dict[str, Any]) -> str:
    (topic,) = [
        name for name in resources(template, "AWS::SNS::Topic") if name.startswith("OrdersAlarmTopic")
    ]
    return topic


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


def test_alarms_cover_the_queues_both_functions_the_api_and_the_failure_metrics(
    template: dict[str, Any],
) -> None:
    functions = {
        name: r["Properties"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]
        for name, r in resources(template, "AWS::Lambda::Function").items()
        if "Environment" in r["Properties"]
    }
    watched = set()
    for properties in alarms(template).values():
        dimensions = {d["Name"]: d["Value"] for d in properties["Dimensions"]}
        if "service" in dimensions:
            subject = dimensions["service"]
        elif "FunctionName" in dimensions:
            subject = functions[dimensions["FunctionName"]["Ref"]]
        elif "QueueName" in dimensions:
            subject = "dead-letters" if "DeadLetter" in dimensions["QueueName"]["Fn::GetAtt"][0] else "orders"
        else:
            subject = "api"
        watched.add((properties["MetricName"], subject))
    processor_rules = {
        "FailedOrderMessages",
        "MalformedOrderMessages",
        "OrderIdConflicts",
        "CustomerMismatches",
        "VisibilityChangeFailures",
        "ProductCacheBypassed",
        "ProductCacheFailures",
        "TransientOrderFailures",
    }
    assert watched == {
        ("ApproximateNumberOfMessagesVisible", "dead-letters"),
        ("ApproximateAgeOfOldestMessage", "dead-letters"),
        ("ApproximateAgeOfOldestMessage", "orders"),
        ("5XXError", "api"),
        ("OrderStatusForbidden", "flash-sale-order-status"),
        *((metric, "flash-sale-processor") for metric in processor_rules),
        *(
            (metric, service)
            for service in ("flash-sale-processor", "flash-sale-order-status")
            for metric in ("Errors", "Throttles")
        ),
    }


def test_handler_metric_alarms_use_the_names_namespace_and_service_the_handlers_publish(
    template: dict[str, Any],
) -> None:
    custom = [p for p in alarms(template).values() if not p["Namespace"].startswith("AWS/")]
    assert len(custom) == 9
    for properties in custom:
        assert properties["Namespace"] == "DbPatterns/FlashSale"
        (dimension,) = properties["Dimensions"]
        assert dimension["Name"] == "service"
        assert (dimension["Value"], properties["MetricName"]) in PUBLISHED
        assert properties["Statistic"] == "Sum"


@pytest.mark.parametrize(
    ("metric", "threshold", "period", "periods"),
    [
        ("FailedOrderMessages", 0, 60, 3),
        ("MalformedOrderMessages", 0, 300, 1),
        ("ProductCacheBypassed", 0, 60, 3),
        ("ProductCacheFailures", 10, 300, 1),
        ("TransientOrderFailures", 100, 60, 5),
        ("OrderStatusForbidden", 0, 300, 1),
    ],
)
def test_failure_metrics_alarm_as_the_handler_notes_say(
    template: dict[str, Any], metric: str, threshold: int, period: int, periods: int
) -> None:
    (properties,) = [p for p in alarms(template).values() if p["MetricName"] == metric]
    assert (properties["Threshold"], properties["Period"], properties["EvaluationPeriods"]) == (
        threshold,
        period,
        periods,
    )
    assert properties["ComparisonOperator"] == "GreaterThanThreshold"
    assert properties["TreatMissingData"] == "notBreaching"


def test_api_errors_are_watched_on_this_apis_own_name(template: dict[str, Any]) -> None:
    (api,) = resources(template, "AWS::ApiGateway::RestApi").values()
    (properties,) = [p for p in alarms(template).values() if p["MetricName"] == "5XXError"]
    dimensions = {d["Name"]: d["Value"] for d in properties["Dimensions"]}
    assert dimensions["ApiName"] == api["Properties"]["Name"]
    assert api["Properties"]["Name"] != "Resource"  # the default every API here would share


def test_alarm_topic_is_encrypted_with_its_own_key_and_refuses_plain_http(template: dict[str, Any]) -> None:
    topic = alarm_topic_of(template)
    key = template["Resources"][topic]["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0]
    assert key.startswith("OrdersAlarmTopicKey")  # not the orders key: CloudWatch may use this one
    (policy,) = [
        r
        for r in resources(template, "AWS::SNS::TopicPolicy").values()
        if r["Properties"]["Topics"] == [{"Ref": topic}]
    ]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in statements
    )
    assert any(s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"} for s in statements)


def test_dashboard_shows_intake_processing_failures_and_latency(template: dict[str, Any]) -> None:
    (dashboard,) = resources(template, "AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for section in ("Intake", "Processing", "Failures", "Latency"):
        assert f"## {section}" in body
    for metric in (
        "NumberOfMessagesSent",
        "OrdersAccepted",
        "FailedOrderMessages",
        "Latency",
        "OrderStatusReads",
    ):
        assert metric in body, metric


def _network(app: App) -> IsolatedNetwork:
    return NetworkStack(
        app, "Network", env=AppConfig().env(), profile=DeploymentProfile.SANDBOX, interface_endpoints={}
    ).network


def test_stack_subscribes_the_alarm_email() -> None:
    app = new_app()
    stack = FlashSaleStack(
        app,
        "Flash",
        env=AppConfig().env(),
        profile=DeploymentProfile.SANDBOX,
        network=_network(app),
        alarm_email="ops@example.com",
    )
    Template.from_stack(stack).has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "ops@example.com"}
    )


def test_rejects_an_alarm_email_that_is_not_an_address() -> None:
    app = new_app()
    network = _network(app)
    with pytest.raises(PropValidationError, match=r"^FlashSaleStack 'Flash': invalid alarm_email='ops@'"):
        FlashSaleStack(
            app,
            "Flash",
            env=AppConfig().env(),
            profile=DeploymentProfile.SANDBOX,
            network=network,
            alarm_email="ops@",
        )
    assert [child.node.id for child in app.node.children] == ["Network"]


def test_a_pipeline_given_a_topic_creates_none_and_notifies_it() -> None:
    stack = Stack(new_app(), "OwnTopic", env=AppConfig().env())
    topic = sns.Topic(stack, "Ops")
    vpc = ec2.Vpc.from_vpc_attributes(
        stack, "Vpc", vpc_id="vpc-1", availability_zones=["a", "b"], isolated_subnet_ids=["s-1", "s-2"]
    )
    pipeline = FlashSaleOrderPipeline(
        stack,
        "Pipeline",
        FlashSaleOrderPipelineProps(
            profile=DeploymentProfile.SANDBOX,
            vpc=vpc,
            account_cloud_watch_role=AccountCloudWatchRole.MANAGED_ELSEWHERE,
            alarm_topic=topic,
        ),
    )
    assert pipeline.alarm_topic is topic
    assert pipeline.node.try_find_child("AlarmTopic") is None
    found = Template.from_stack(stack).find_resources("AWS::CloudWatch::Alarm")
    assert len(found) == len(pipeline.alarms) == 17
    topic_id = stack.get_logical_id(topic.node.default_child)  # type: ignore[arg-type]
    for alarm in found.values():
        assert alarm["Properties"]["AlarmActions"] == alarm["Properties"]["OKActions"] == [{"Ref": topic_id}]
