"""The secondary regions of the global datastore: one stack each, joining by the global datastore's ID."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match

from dbpatterns.common.profile import DeploymentProfile
from tests.support.synth import stack_template, stack_template_json, synthesize

PRIMARY = "DbPatterns-ElastiCacheShowcase"
SECONDARIES = {
    "DbPatterns-ElastiCacheSecondary1": "eu-west-1",
    "DbPatterns-ElastiCacheSecondary2": "ap-southeast-1",
}

pytestmark = pytest.mark.synth


@pytest.mark.parametrize("profile", list(DeploymentProfile), ids=lambda p: p.value)
def test_one_secondary_stack_per_secondary_region_in_that_region(profile: DeploymentProfile) -> None:
    assembly = synthesize(profile)
    for name, region in SECONDARIES.items():
        assert assembly.get_stack_by_name(name).environment.region == region


@pytest.mark.parametrize("profile", list(DeploymentProfile), ids=lambda p: p.value)
def test_secondaries_deploy_after_the_primary_one_region_at_a_time(profile: DeploymentProfile) -> None:
    # Read the manifest: touching CloudArtifact.dependencies through jsii would re-type the cached
    # stack artifacts as plain CloudArtifacts for every later test of the session.
    manifest = json.loads((Path(synthesize(profile).directory) / "manifest.json").read_text())
    artifacts = manifest["artifacts"]
    assert PRIMARY in artifacts["DbPatterns-ElastiCacheSecondary1"]["dependencies"]
    assert "DbPatterns-ElastiCacheSecondary1" in artifacts["DbPatterns-ElastiCacheSecondary2"]["dependencies"]


@pytest.mark.parametrize("stack_name", list(SECONDARIES))
@pytest.mark.parametrize("profile", list(DeploymentProfile), ids=lambda p: p.value)
def test_secondary_joins_the_global_datastore_by_its_id(stack_name: str, profile: DeploymentProfile) -> None:
    primary = stack_template_json(PRIMARY, profile)
    global_id = next(
        k for k, v in primary["Resources"].items() if v["Type"] == "AWS::ElastiCache::GlobalReplicationGroup"
    )
    output = next(name for name, o in primary["Outputs"].items() if o["Value"] == {"Ref": global_id})
    stack_template(stack_name, profile).has_resource_properties(
        "AWS::ElastiCache::ReplicationGroup",
        {
            "GlobalReplicationGroupId": {
                "Fn::GetStackOutput": {"StackName": PRIMARY, "Region": "us-east-1", "OutputName": output}
            }
        },
    )


@pytest.mark.parametrize("stack_name", list(SECONDARIES))
@pytest.mark.parametrize("profile", list(DeploymentProfile), ids=lambda p: p.value)
def test_secondary_omits_what_the_global_datastore_dictates(
    stack_name: str, profile: DeploymentProfile
) -> None:
    stack_template(stack_name, profile).has_resource_properties(
        "AWS::ElastiCache::ReplicationGroup",
        {
            key: Match.absent()
            for key in (
                "Engine",
                "EngineVersion",
                "CacheNodeType",
                "AtRestEncryptionEnabled",
                "TransitEncryptionEnabled",
                "AuthToken",
                "AutomaticFailoverEnabled",
                "MultiAZEnabled",
            )
        },
    )


@pytest.mark.parametrize("stack_name", list(SECONDARIES))
@pytest.mark.parametrize("profile", list(DeploymentProfile), ids=lambda p: p.value)
def test_secondary_has_a_replica_to_fail_over_to_and_its_own_snapshots(
    stack_name: str, profile: DeploymentProfile
) -> None:
    stack_template(stack_name, profile).has_resource_properties(
        "AWS::ElastiCache::ReplicationGroup",
        {
            "NumCacheClusters": 3 if profile.is_production else 2,
            "SnapshotRetentionLimit": 15 if profile.is_production else 1,
            "Port": 6380,
        },
    )


@pytest.mark.parametrize("stack_name", list(SECONDARIES))
def test_secondary_runs_in_its_own_isolated_subnets_behind_a_closed_security_group(stack_name: str) -> None:
    template: dict[str, Any] = stack_template_json(stack_name, DeploymentProfile.PRODUCTION)
    resources = template["Resources"]
    subnet_group = next(v for v in resources.values() if v["Type"] == "AWS::ElastiCache::SubnetGroup")
    # The subnets are the region network's, referenced across stacks.
    assert all("IsolatedSubnet" in json.dumps(ref) for ref in subnet_group["Properties"]["SubnetIds"])
    ingress = [v["Properties"] for v in resources.values() if v["Type"] == "AWS::EC2::SecurityGroupIngress"]
    cache_ingress = [rule for rule in ingress if rule.get("FromPort") == 6380]
    assert len(cache_ingress) == 1
    assert "CidrIp" not in cache_ingress[0]
    assert "CacheReaders" in cache_ingress[0]["SourceSecurityGroupId"]["Fn::GetAtt"][0]


@pytest.mark.parametrize("stack_name", list(SECONDARIES))
def test_secondary_encrypts_at_rest_with_a_customer_managed_key_of_its_own_region(stack_name: str) -> None:
    template: dict[str, Any] = stack_template_json(stack_name, DeploymentProfile.PRODUCTION)
    resources = template["Resources"]
    group = next(v for v in resources.values() if v["Type"] == "AWS::ElastiCache::ReplicationGroup")
    key_ref = group["Properties"]["KmsKeyId"]["Ref"]
    assert resources[key_ref]["Type"] == "AWS::KMS::Key"
    assert resources[key_ref]["Properties"]["EnableKeyRotation"] is True
