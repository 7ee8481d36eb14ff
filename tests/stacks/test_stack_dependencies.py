"""Every cross-stack reference orders the stacks.

CDK orders stacks by itself only for references it sees (tokens become exports, SSM-backed
cross-region readers). A reference by physical name — a replica naming its source instance, a
secondary naming a global cluster — is invisible to it: ``cdk deploy`` of the consumer alone, a
deployment with ``--concurrency`` > 1, or ``cdk destroy`` can then run in the wrong order. This test
reads the cloud assembly: whenever a stack's template mentions a physical name that another stack's
template defines, the consumer must depend (directly or through others) on the producer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from aws_cdk import cx_api

from dbpatterns.common.profile import DeploymentProfile
from tests.support.synth import synthesize

pytestmark = pytest.mark.synth

#: Properties that hold a resource's physical name, by which resources of other stacks can refer to it.
_NAME_PROPERTIES = {
    "DBInstanceIdentifier",
    "DBClusterIdentifier",
    "GlobalClusterIdentifier",
    "GlobalReplicationGroupIdSuffix",
    "ReplicationGroupId",
    "CacheClusterId",
    "ClusterName",
    "TableName",
    "BucketName",
    "QueueName",
    "TopicName",
    "FunctionName",
    "SecretName",
    "KeyAlias",
    "BackupVaultName",
}
#: Short names ("v1", "main") would match by accident; physical names here are longer.
_MIN_NAME_LENGTH = 8


def physical_names(template: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(logical ID, literal physical name) of each resource that sets one."""
    for logical_id, resource in template.get("Resources", {}).items():
        for prop, value in resource.get("Properties", {}).items():
            if prop in _NAME_PROPERTIES and isinstance(value, str) and len(value) >= _MIN_NAME_LENGTH:
                yield logical_id, value


def stack_dependencies(assembly: cx_api.CloudAssembly) -> dict[str, set[str]]:
    """Each stack's dependencies on other stacks, transitively."""
    stacks = {stack.stack_name: stack for stack in assembly.stacks}
    direct = {
        name: {dep.id for dep in stack.dependencies if dep.id in stacks} for name, stack in stacks.items()
    }
    closure: dict[str, set[str]] = {}

    def visit(name: str) -> set[str]:
        if name not in closure:
            closure[name] = set()
            for dep in direct[name]:
                closure[name] |= {dep, *visit(dep)}
        return closure[name]

    for name in stacks:
        visit(name)
    return closure


def unordered_references(templates: dict[str, dict[str, Any]], depends_on: dict[str, set[str]]) -> list[str]:
    """Each reference by physical name from one stack's template to another's without a dependency."""
    problems = []
    for producer, template in templates.items():
        for logical_id, name in physical_names(template):
            for consumer, other in templates.items():
                if consumer == producer or producer in depends_on[consumer]:
                    continue
                if name in json.dumps(other):
                    problems.append(
                        f"{consumer} names {producer}/{logical_id} ({name!r}) without depending on it"
                    )
    return problems


def test_reports_a_reference_by_physical_name_without_a_dependency() -> None:
    producer = {
        "Resources": {
            "Db": {"Type": "AWS::RDS::DBInstance", "Properties": {"DBInstanceIdentifier": "orders-primary"}}
        }
    }
    consumer = {
        "Resources": {
            "Replica": {
                "Type": "AWS::RDS::DBInstance",
                "Properties": {"SourceDBInstanceIdentifier": "arn:aws:rds:us-east-1:1:db:orders-primary"},
            }
        }
    }
    templates = {"Primary": producer, "Replica": consumer}
    assert unordered_references(templates, {"Primary": set(), "Replica": set()}) == [
        "Replica names Primary/Db ('orders-primary') without depending on it"
    ]
    assert unordered_references(templates, {"Primary": set(), "Replica": {"Primary"}}) == []


@pytest.mark.parametrize("profile", list(DeploymentProfile), ids=lambda p: p.value)
def test_every_stack_depends_on_the_stacks_whose_resources_it_names(profile: DeploymentProfile) -> None:
    assembly = synthesize(profile)
    templates = {stack.stack_name: stack.template for stack in assembly.stacks}
    assert unordered_references(templates, stack_dependencies(assembly)) == []
