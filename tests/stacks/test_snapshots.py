"""One JSON snapshot per stack that ``build_stacks`` returns, and the logical IDs of stateful resources.

The stack list comes from the session's synth, so a new stack cannot be forgotten: it appears here
as a new snapshot. Asset hashes are masked so handler edits do not churn templates. After an intended
template change: ``make snapshot-update`` and review ``git diff tests/``.
"""

from __future__ import annotations

from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from dbpatterns.common.profile import DeploymentProfile
from tests.support.synth import mask_assets, synthesize

pytestmark = pytest.mark.synth

#: Resource types whose replacement loses data or breaks clients: a changed logical ID replaces them.
STATEFUL_TYPES = frozenset(
    {
        "AWS::DynamoDB::GlobalTable",
        "AWS::DynamoDB::Table",
        "AWS::RDS::DBInstance",
        "AWS::RDS::DBCluster",
        "AWS::RDS::GlobalCluster",
        "AWS::ElastiCache::ReplicationGroup",
        "AWS::ElastiCache::GlobalReplicationGroup",
        "AWS::ElastiCache::CacheCluster",
        "AWS::DAX::Cluster",
        "AWS::KMS::Key",
        "AWS::S3::Bucket",
        "AWS::SQS::Queue",
        "AWS::SecretsManager::Secret",
        "AWS::Backup::BackupVault",
        "AWS::Cognito::UserPool",
        "AWS::EC2::VPC",
    }
)


def _stack_names() -> list[str]:
    return sorted(stack.stack_name for stack in synthesize(DeploymentProfile.PRODUCTION).stacks)


@pytest.mark.parametrize("stack_name", _stack_names())
def test_template_matches_snapshot(stack_name: str, snapshot: SnapshotAssertion) -> None:
    template = synthesize(DeploymentProfile.PRODUCTION).get_stack_by_name(stack_name).template
    assert mask_assets(template) == snapshot(extension_class=JSONSnapshotExtension)


def _stateful(template: dict[str, Any]) -> dict[str, str]:
    return {
        logical_id: resource["Type"]
        for logical_id, resource in sorted(template["Resources"].items())
        if resource["Type"] in STATEFUL_TYPES
    }


@pytest.mark.parametrize("profile", list(DeploymentProfile), ids=lambda p: p.value)
def test_stateful_logical_ids_are_pinned(profile: DeploymentProfile, snapshot: SnapshotAssertion) -> None:
    """A renamed construct path changes a logical ID, and CloudFormation then replaces the resource
    (a new, empty table or database). This snapshot makes such a change a deliberate, reviewed one."""
    ids = {stack.stack_name: _stateful(stack.template) for stack in synthesize(profile).stacks}
    assert ids == snapshot(extension_class=JSONSnapshotExtension)
