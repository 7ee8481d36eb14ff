"""The API constructs say who sets API Gateway's account CloudWatch role; they never set it silently."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk.assertions import Template
from constructs import Construct

from dbpatterns.common.api_logging import STACK_ROLE_ID, AccountCloudWatchRole
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.rest_api import create_rest_api
from dbpatterns.common.validation import PropValidationError
from dbpatterns.flash_sale.order_api import OrderIntakeApi, OrderIntakeApiProps

pytestmark = pytest.mark.synth


def _stack_with_apis(role: AccountCloudWatchRole, count: int) -> Template:
    stack = Stack(App(), "Apis")
    for index in range(count):
        owner = Construct(stack, f"Api{index}")
        api, _ = create_rest_api(
            owner,
            description="test",
            profile=DeploymentProfile.SANDBOX,
            rate_limit=10,
            burst_limit=10,
            account_cloud_watch_role=role,
        )
        api.root.add_method("GET", apigw.MockIntegration())
    return Template.from_stack(stack)


def _stages(template: Template) -> dict[str, Any]:
    return dict(template.find_resources("AWS::ApiGateway::Stage"))


def test_managed_elsewhere_defines_no_account_setting() -> None:
    template = _stack_with_apis(AccountCloudWatchRole.MANAGED_ELSEWHERE, 1)
    template.resource_count_is("AWS::ApiGateway::Account", 0)
    assert all("DependsOn" not in stage for stage in _stages(template).values())


def test_create_sets_it_once_per_stack_retained_and_every_stage_waits_for_it() -> None:
    template = _stack_with_apis(AccountCloudWatchRole.CREATE, 2)
    accounts = template.find_resources("AWS::ApiGateway::Account")
    assert len(accounts) == 1
    ((account_id, account),) = accounts.items()
    assert account_id.startswith(STACK_ROLE_ID)
    assert account["DeletionPolicy"] == "Retain"
    role_id = account["Properties"]["CloudWatchRoleArn"]["Fn::GetAtt"][0]
    assert template.to_json()["Resources"][role_id]["DeletionPolicy"] == "Retain"
    stages = _stages(template)
    assert len(stages) == 2
    assert all(account_id in stage["DependsOn"] for stage in stages.values())


def test_rejects_a_string_instead_of_the_enum() -> None:
    stack = Stack(App(), "Strings")
    props = OrderIntakeApiProps(
        queue=None,  # type: ignore[arg-type]  # never used: validation fails first
        request_schema={},
        profile=DeploymentProfile.SANDBOX,
        account_cloud_watch_role="create",  # type: ignore[arg-type]
    )
    with pytest.raises(
        PropValidationError, match=r"account_cloud_watch_role='create'; allowed: a AccountCloudWatchRole"
    ):
        OrderIntakeApi(stack, "Api", props)
    assert stack.node.children == []
