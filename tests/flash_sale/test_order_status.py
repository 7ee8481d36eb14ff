"""The flash sale's read side and the caller stamp: who sent an order, and reading it back."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Match, Template

from dbpatterns.common.api_logging import AccountCloudWatchRole
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.flash_sale.order_api import send_message_template
from dbpatterns.flash_sale.pipeline import FlashSaleOrderPipeline, FlashSaleOrderPipelineProps
from dbpatterns.handlers.flash_sale.identity import CALLER_ARN_ATTRIBUTE, CALLER_COGNITO_ATTRIBUTE
from stacks.config import AppConfig
from tests.support.synth import new_app, stack_template, stack_template_json

STACK = "DbPatterns-FlashSale"
STATUS_HANDLER = "dbpatterns.handlers.flash_sale.order_status.handler"
pytestmark = pytest.mark.synth


@pytest.fixture(scope="module")
def production() -> Template:
    return stack_template(STACK, DeploymentProfile.PRODUCTION)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return stack_template_json(STACK, DeploymentProfile.PRODUCTION)


def resources(template: dict[str, Any], kind: str) -> dict[str, Any]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def status_function(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (name, r)
        for name, r in resources(template, "AWS::Lambda::Function").items()
        if r["Properties"]["Handler"] == STATUS_HANDLER
    ]
    return found


# POST /orders stamps the caller


def test_post_request_template_stamps_the_callers_iam_identity(production: Template) -> None:
    production.has_resource_properties(
        "AWS::ApiGateway::Method",
        {
            "HttpMethod": "POST",
            "Integration": Match.object_like(
                {
                    "RequestTemplates": {
                        "application/json": Match.string_like_regexp(
                            r"^Action=SendMessage&MessageBody=\$util\.urlEncode\(\$input\.body\)"
                            r"&MessageAttribute\.1\.Name=caller_user_arn"
                            r"&MessageAttribute\.1\.Value\.DataType=String"
                            r"&MessageAttribute\.1\.Value\.StringValue=\$util\.urlEncode\(\$context\.identity\.userArn\)"
                            r"#if\(\"\$!context\.identity\.cognitoIdentityId\" != \"\"\)"
                            r"&MessageAttribute\.2\.Name=caller_cognito_identity_id"
                            r"&MessageAttribute\.2\.Value\.DataType=String"
                            r"&MessageAttribute\.2\.Value\.StringValue="
                            r"\$util\.urlEncode\(\$context\.identity\.cognitoIdentityId\)#end$"
                        )
                    }
                }
            ),
        },
    )


def test_stamped_attribute_names_are_the_ones_the_processor_reads() -> None:
    names = re.findall(r"MessageAttribute\.\d\.Name=([a-z_]+)", send_message_template())
    assert names == [CALLER_ARN_ATTRIBUTE, CALLER_COGNITO_ATTRIBUTE]


# GET /orders/{order_id}


def test_get_order_requires_iam_and_the_api_key_and_checks_the_path_parameter(
    template: dict[str, Any],
) -> None:
    (method,) = [
        m["Properties"]
        for m in resources(template, "AWS::ApiGateway::Method").values()
        if m["Properties"]["HttpMethod"] == "GET"
    ]
    assert method["AuthorizationType"] == "AWS_IAM"
    assert method["ApiKeyRequired"] is True
    assert method["RequestParameters"] == {"method.request.path.order_id": True}
    (validator,) = resources(template, "AWS::ApiGateway::RequestValidator").items()
    assert method["RequestValidatorId"] == {"Ref": validator[0]}
    assert validator[1]["Properties"]["ValidateRequestParameters"] is True
    assert method["Integration"]["Type"] == "AWS_PROXY"
    function_id, _ = status_function(template)
    assert {"Fn::GetAtt": [function_id, "Arn"]} in method["Integration"]["Uri"]["Fn::Join"][1]
    assert [r["StatusCode"] for r in method["MethodResponses"]] == ["200", "400", "403"]
    resource = template["Resources"][method["ResourceId"]["Ref"]]["Properties"]
    assert resource["PathPart"] == "{order_id}"


def test_get_order_has_a_throttle_below_the_stages(production: Template) -> None:
    production.has_resource_properties(
        "AWS::ApiGateway::Stage",
        {
            "MethodSettings": Match.array_with(
                [
                    Match.object_like({"ResourcePath": "/*", "ThrottlingRateLimit": 1000}),
                    {
                        "HttpMethod": "GET",
                        "ResourcePath": "/~1orders~1{order_id}",
                        "ThrottlingRateLimit": 500,
                        "ThrottlingBurstLimit": 1000,
                        "LoggingLevel": "ERROR",
                        "MetricsEnabled": True,
                        "DataTraceEnabled": False,
                    },
                ]
            )
        },
    )


def test_order_status_function_may_only_batch_get_orders(template: dict[str, Any]) -> None:
    _, function = status_function(template)
    role = function["Properties"]["Role"]["Fn::GetAtt"][0]
    statements = [
        s
        for policy_type in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
        for policy in resources(template, policy_type).values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    data_actions = {
        a
        for s in statements
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
        if a.startswith(("dynamodb:", "dax:", "sqs:", "s3:"))
    }
    assert data_actions == {"dynamodb:BatchGetItem"}
    (on_tables,) = [s for s in statements if s["Action"] == "dynamodb:BatchGetItem"]
    orders = function["Properties"]["Environment"]["Variables"]["ORDERS_TABLE_NAME"]["Ref"]
    assert on_tables["Resource"] == {"Fn::GetAtt": [orders, "Arn"]}


def test_order_status_function_runs_in_the_vpc_with_the_orders_table_and_its_service_name(
    template: dict[str, Any],
) -> None:
    _, function = status_function(template)
    properties = function["Properties"]
    assert properties["Timeout"] == 10
    assert properties["VpcConfig"]["SubnetIds"]
    variables = properties["Environment"]["Variables"]
    assert variables["POWERTOOLS_SERVICE_NAME"] == "flash-sale-order-status"
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "DbPatterns/FlashSale"
    tables = resources(template, "AWS::DynamoDB::GlobalTable")
    (orders,) = [
        name for name, t in tables.items() if t["Properties"]["KeySchema"][0]["AttributeName"] == "order_id"
    ]
    assert variables["ORDERS_TABLE_NAME"] == {"Ref": orders}
    assert "CUSTOMER_ROLE_NAMES" not in variables  # any role the API admits, as for the processor


def test_order_status_function_may_only_reach_https(template: dict[str, Any]) -> None:
    _, function = status_function(template)
    (group_ref,) = function["Properties"]["VpcConfig"]["SecurityGroupIds"]
    group = template["Resources"][group_ref["Fn::GetAtt"][0]]["Properties"]
    assert group["SecurityGroupEgress"] == [
        {
            "CidrIp": "0.0.0.0/0",
            "Description": "HTTPS to DynamoDB via the VPC endpoint",
            "FromPort": 443,
            "IpProtocol": "tcp",
            "ToPort": 443,
        }
    ]


def _pipeline(stack: Stack | None = None, **overrides: Any) -> tuple[Stack, FlashSaleOrderPipeline]:
    stack = stack or Stack(new_app(), "Reads", env=AppConfig().env())
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
            **overrides,
        ),
    )
    return stack, pipeline


def test_customer_roles_reach_the_order_status_function_too() -> None:
    stack = Stack(new_app(), "Roles", env=AppConfig().env())
    stack, _ = _pipeline(stack, customer_roles=[iam.Role.from_role_name(stack, "Shoppers", "shoppers")])
    Template.from_stack(stack).has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": STATUS_HANDLER,
            "Environment": {"Variables": Match.object_like({"CUSTOMER_ROLE_NAMES": "shoppers"})},
        },
    )


def test_grant_invoke_covers_placing_and_reading_orders() -> None:
    stack, pipeline = _pipeline()
    storefront = iam.Role(stack, "Storefront", assumed_by=iam.AccountRootPrincipal())
    pipeline.api.grant_invoke(storefront)
    policies = [
        p
        for name, p in Template.from_stack(stack).find_resources("AWS::IAM::Policy").items()
        if name.startswith("StorefrontDefaultPolicy")
    ]
    (statement,) = policies[0]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "execute-api:Invoke"
    assert sorted(r["Fn::Join"][1][-1] for r in statement["Resource"]) == ["/GET/orders/*", "/POST/orders"]
