"""API Gateway's account-level CloudWatch role, which REST API execution and access logging need.

The role is one setting per account and region (``AWS::ApiGateway::Account``): a stage that writes
execution or access logs to CloudWatch Logs fails to deploy ("CloudWatch Logs role ARN must be set in
account settings to enable logging") until it is set. When each API sets it
(``RestApi(cloud_watch_role=True)``), stacks overwrite each other's setting and deleting one stack
deletes the role the setting still points to. So the API constructs here never set it silently: they
take an :class:`AccountCloudWatchRole` saying who does.
"""

from __future__ import annotations

import enum

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from constructs import Construct

from dbpatterns.common.nag import acknowledge

PUSH_TO_CLOUDWATCH_POLICY = "service-role/AmazonAPIGatewayPushToCloudWatchLogs"
#: ID of the role construct :attr:`AccountCloudWatchRole.CREATE` adds once per stack, at its root.
STACK_ROLE_ID = "ApiGatewayCloudWatchRole"


class AccountCloudWatchRole(enum.Enum):
    """Who sets API Gateway's CloudWatch Logs role for the account and region an API deploys into."""

    #: Another part of your deployment sets it: a stack of its own with :class:`ApiGatewayCloudWatchRole`
    #: (as this repo's ``DbPatterns-ApiGatewayAccount``; make the API stacks depend on it), your landing
    #: zone, or once by hand (API Gateway console, Settings). The API construct defines nothing for it.
    MANAGED_ELSEWHERE = "managed_elsewhere"
    #: The API's stack sets it: one :class:`ApiGatewayCloudWatchRole` per stack, shared by every API of
    #: the library in that stack, which the stages depend on. Role and setting are RETAINED when the
    #: stack is deleted, so other APIs in the account keep logging. Use it in one stack per account
    #: and region: two stacks setting it overwrite each other.
    CREATE = "create"


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

    @classmethod
    def of_stack(cls, scope: Construct) -> ApiGatewayCloudWatchRole:
        """The one role of ``scope``'s stack for :attr:`AccountCloudWatchRole.CREATE`, added on first use.

        Retained on stack deletion: the account setting outlives the stack that made it.
        """
        stack = Stack.of(scope)
        existing = stack.node.try_find_child(STACK_ROLE_ID)
        if isinstance(existing, ApiGatewayCloudWatchRole):
            return existing
        created = cls(stack, STACK_ROLE_ID)
        created.role.apply_removal_policy(RemovalPolicy.RETAIN)
        created.account.apply_removal_policy(RemovalPolicy.RETAIN)
        return created
