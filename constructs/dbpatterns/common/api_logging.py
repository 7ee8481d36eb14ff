"""API Gateway's account-level CloudWatch role, which REST API execution logging needs.

The role is one setting per account and region (``AWS::ApiGateway::Account``). When each API sets it
(``RestApi(cloud_watch_role=True)``), stacks overwrite each other's setting and deleting one stack
deletes the role the setting still points to. Define it once, in a stack of its own that the API
stacks depend on.
"""

from __future__ import annotations

from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from constructs import Construct

from dbpatterns.common.nag import acknowledge

PUSH_TO_CLOUDWATCH_POLICY = "service-role/AmazonAPIGatewayPushToCloudWatchLogs"


class ApiGatewayCloudWatchRole(Construct):
    """Sets the account's API Gateway CloudWatch Logs role. Exposes ``role`` and ``account``."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            description="Lets API Gateway write REST API execution and access logs to CloudWatch Logs",
            managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(PUSH_TO_CLOUDWATCH_POLICY)],
        )
        acknowledge(
            self.role,
            f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/{PUSH_TO_CLOUDWATCH_POLICY}]",
            "API Gateway's account-level logging role: AWS documents this managed policy for it, and the "
            "service writes to log groups it names itself, so no narrower resource list exists.",
        )
        self.account = apigw.CfnAccount(self, "Resource", cloud_watch_role_arn=self.role.role_arn)
