"""HandlerFunction behaves like an aws-cdk L2: IGrantable, metric options, validated props."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Match, Template

from dbpatterns.common.function import HandlerFunction, HandlerFunctionProps, check_environment
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.validation import PropValidationError
from tests.support.synth import new_app

BASE: dict[str, Any] = {
    "handler": "dbpatterns.handlers.ledger.api.handler",
    "profile": DeploymentProfile.SANDBOX,
    "description": "Test function",
    "service_name": "test",
}


def build(stack: Stack, construct_id: str = "Fn", **overrides: Any) -> HandlerFunction:
    return HandlerFunction(stack, construct_id, HandlerFunctionProps(**{**BASE, **overrides}))


def test_is_grantable_so_grants_land_in_its_roles_managed_policy() -> None:
    stack = Stack(new_app(), "Grants")
    function = build(stack)
    table = dynamodb.TableV2(
        stack, "Table", partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING)
    )
    grant = table.grant_read_data(function)
    assert grant.success
    assert grant.principal_statements[0].actions.count("dynamodb:GetItem") == 1
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::IAM::Policy", 0)  # no inline policy (NIST/HIPAA IAMNoInlinePolicy)
    template.has_resource_properties(
        "AWS::IAM::ManagedPolicy",
        {
            "Roles": [{"Ref": Match.string_like_regexp("FnRole")}],
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Action": Match.array_with(["dynamodb:GetItem"])})]
                )
            },
        },
    )


def test_metrics_pass_their_options_through() -> None:
    function = build(Stack(new_app(), "Metrics"))
    metric = function.metric_errors(cloudwatch.MetricOptions(period=Duration.minutes(1), statistic="Maximum"))
    assert metric.metric_name == "Errors"
    assert metric.period.to_seconds() == 60
    assert metric.statistic == "Maximum"
    assert function.metric_throttles().metric_name == "Throttles"
    assert function.metric_duration().metric_name == "Duration"


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        (
            {"timeout": Duration.millis(1500)},
            r"timeout \(seconds\)=1.5; allowed: whole seconds from 1 to 900",
        ),
        ({"timeout": Duration.minutes(16)}, r"timeout \(seconds\)=960.0; allowed: whole seconds"),
        ({"timeout": 30}, r"timeout=30; allowed: a Duration"),
        ({"memory_size": 512.0}, r"memory_size=512.0; allowed: a whole number"),
        ({"description": "  "}, r"description='  '; allowed: a non-empty string"),
        ({"service_name": None}, r"service_name=None; required"),
        ({"profile": "sandbox"}, r"profile='sandbox'; allowed: a DeploymentProfile"),
        ({"runtime": lambda_.Runtime.NODEJS_22_X}, r"runtime='nodejs22.x'; allowed: a Python runtime"),
        (
            {"environment": {"POWERTOOLS_SERVICE_NAME": "other"}},
            r"environment=\['POWERTOOLS_SERVICE_NAME'\]; allowed: variables other than",
        ),
        ({"environment": {"RETRIES": 3}}, r"environment\['RETRIES'\]=3; allowed: string keys and string"),
    ],
)
def test_rejects_invalid_props_before_defining_anything(overrides: dict[str, Any], match: str) -> None:
    stack = Stack(new_app(), "Invalid")
    with pytest.raises(PropValidationError, match=rf"^HandlerFunction 'Invalid/Fn': invalid {match}"):
        build(stack, **overrides)
    assert stack.node.children == []


def test_check_environment_refuses_overriding_what_a_construct_sets() -> None:
    with pytest.raises(PropValidationError, match=r"environment=\['TABLE_NAME'\]; allowed: .*TABLE_NAME"):
        check_environment("X 'S/X'", {"TABLE_NAME": "mine", "LOG": "1"}, {"TABLE_NAME": "t"})
    check_environment("X 'S/X'", {"LOG": "1"}, {"TABLE_NAME": "t"})
