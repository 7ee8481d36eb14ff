"""create_log_group: a CMK on every log group, one shared key per stack unless the caller gives one."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk.assertions import Template

from dbpatterns.common.encryption import create_key
from dbpatterns.common.logs import LOGS_KEY_ID, create_log_group, stack_logs_key
from dbpatterns.common.profile import DeploymentProfile
from tests.support.synth import new_app

PROFILE = DeploymentProfile.SANDBOX


def test_log_groups_of_one_stack_share_one_key_at_the_stack_root() -> None:
    stack = Stack(new_app(), "Logs")
    first = create_log_group(stack, "First", profile=PROFILE)
    second = create_log_group(stack, "Second", profile=PROFILE)
    key = stack_logs_key(second, profile=PROFILE)
    assert first.node.scope is stack
    assert key.node.scope is stack
    assert key.node.id == LOGS_KEY_ID
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::KMS::Key", 1)
    template.all_resources_properties(
        "AWS::Logs::LogGroup",
        {"KmsKeyId": {"Fn::GetAtt": [stack.resolve(key.node.default_child.logical_id), "Arn"]}},  # type: ignore[union-attr]
    )


def test_each_stack_gets_its_own_logs_key() -> None:
    app = new_app()
    one, two = Stack(app, "One"), Stack(app, "Two")
    assert stack_logs_key(one, profile=PROFILE) is not stack_logs_key(two, profile=PROFILE)


def test_a_key_of_the_callers_own_replaces_the_shared_key() -> None:
    stack = Stack(new_app(), "OwnKey")
    key = create_key(stack, "Own", description="my logs", profile=PROFILE)
    create_log_group(stack, "Group", profile=PROFILE, encryption_key=key)
    assert stack.node.try_find_child(LOGS_KEY_ID) is None
    Template.from_stack(stack).resource_count_is("AWS::KMS::Key", 1)
