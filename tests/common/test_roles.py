"""ManagedPolicyRole: grants land in one customer-managed policy, never an inline one."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Template

from dbpatterns.common.roles import ManagedPolicyRole
from tests.support.synth import new_app


def test_grants_land_in_one_managed_policy_attached_to_the_role() -> None:
    stack = Stack(new_app(), "Roles")
    role = ManagedPolicyRole(stack, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    queue = sqs.Queue(stack, "Queue")
    assert role.policy is None
    queue.grant_send_messages(role)
    queue.grant_consume_messages(role)
    role.add_to_policy(iam.PolicyStatement(actions=["xray:PutTraceSegments"], resources=["*"]))

    template = Template.from_stack(stack)
    template.resource_count_is("AWS::IAM::Policy", 0)
    template.resource_count_is("AWS::IAM::ManagedPolicy", 1)
    ((name, policy),) = template.find_resources("AWS::IAM::ManagedPolicy").items()
    assert name.startswith("RolePolicy")
    ((attached,),) = [[role["Ref"] for role in policy["Properties"]["Roles"]]]
    assert attached.startswith("Role")
    actions = {
        action
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    }
    assert {"sqs:SendMessage", "sqs:ReceiveMessage", "xray:PutTraceSegments"} <= actions


def test_an_unused_role_has_no_policy() -> None:
    stack = Stack(new_app(), "Unused")
    ManagedPolicyRole(stack, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    Template.from_stack(stack).resource_count_is("AWS::IAM::ManagedPolicy", 0)
