"""The shared API Gateway account stack: one CloudWatch role for every REST API stage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk.assertions import Capture, Template

from dbpatterns.common.profile import DeploymentProfile
from tests.support.synth import stack_template, stack_template_json, synthesize

STACK = "DbPatterns-ApiGatewayAccount"
pytestmark = pytest.mark.synth


@pytest.fixture(scope="module")
def template() -> Template:
    return stack_template(STACK, DeploymentProfile.PRODUCTION)


def test_sets_the_account_cloudwatch_role_once(template: Template) -> None:
    role = Capture()
    template.resource_count_is("AWS::ApiGateway::Account", 1)
    template.has_resource_properties(
        "AWS::ApiGateway::Account", {"CloudWatchRoleArn": {"Fn::GetAtt": [role, "Arn"]}}
    )
    template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    {
                        "Action": "sts:AssumeRole",
                        "Effect": "Allow",
                        "Principal": {"Service": "apigateway.amazonaws.com"},
                    }
                ],
                "Version": "2012-10-17",
            }
        },
    )


@pytest.mark.parametrize("api_stack", ["DbPatterns-FlashSale", "DbPatterns-FintechLedger"])
def test_api_stacks_do_not_set_it_themselves_and_depend_on_it(api_stack: str) -> None:
    Template.from_json(stack_template_json(api_stack, DeploymentProfile.PRODUCTION)).resource_count_is(
        "AWS::ApiGateway::Account", 0
    )
    # Read the manifest: touching CloudArtifact.dependencies through jsii re-types the cached stack
    # artifacts as plain CloudArtifacts (no .template) for every later test in the process.
    manifest = json.loads(
        (Path(synthesize(DeploymentProfile.PRODUCTION).directory) / "manifest.json").read_text()
    )
    assert STACK in manifest["artifacts"][api_stack]["dependencies"]
