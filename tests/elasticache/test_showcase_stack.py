"""The primary region's ElastiCache stack: every security and durability property, in both profiles."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Capture, Match, Template

from dbpatterns.common.profile import DeploymentProfile
from tests.support.synth import stack_template, stack_template_json

STACK = "DbPatterns-ElastiCacheShowcase"
REPLICATION_GROUP = "AWS::ElastiCache::ReplicationGroup"

pytestmark = pytest.mark.synth


@pytest.fixture(scope="module", params=list(DeploymentProfile), ids=lambda p: p.value)
def profile(request: pytest.FixtureRequest) -> DeploymentProfile:
    result: DeploymentProfile = request.param
    return result


@pytest.fixture(scope="module")
def template(profile: DeploymentProfile) -> Template:
    return stack_template(STACK, profile)


@pytest.fixture(scope="module")
def template_json(profile: DeploymentProfile) -> dict[str, Any]:
    return stack_template_json(STACK, profile)


def _only(template_json: dict[str, Any], resource_type: str) -> tuple[str, dict[str, Any]]:
    found = [(k, v) for k, v in template_json["Resources"].items() if v["Type"] == resource_type]
    assert len(found) == 1, f"expected one {resource_type}, found {[k for k, _ in found]}"
    return found[0]


def test_replication_group_runs_valkey_with_cluster_mode_disabled(template: Template) -> None:
    template.has_resource_properties(
        REPLICATION_GROUP, {"Engine": "valkey", "EngineVersion": "8.0", "ClusterMode": "disabled"}
    )


def test_replication_group_has_replicas_across_azs_with_automatic_failover(
    template: Template, profile: DeploymentProfile
) -> None:
    template.has_resource_properties(
        REPLICATION_GROUP,
        {
            "NumCacheClusters": 3 if profile.is_production else 2,
            "AutomaticFailoverEnabled": True,
            "MultiAZEnabled": True,
        },
    )


def test_global_datastore_primary_uses_a_node_type_global_datastores_accept(
    template: Template, profile: DeploymentProfile
) -> None:
    expected = "cache.r7g.large" if profile.is_production else "cache.m6g.large"
    template.has_resource_properties(REPLICATION_GROUP, {"CacheNodeType": expected})


def test_replication_group_encrypts_in_transit_and_at_rest_with_its_customer_managed_key(
    template: Template, template_json: dict[str, Any]
) -> None:
    key = Capture()
    template.has_resource_properties(
        REPLICATION_GROUP,
        {"TransitEncryptionEnabled": True, "AtRestEncryptionEnabled": True, "KmsKeyId": {"Ref": key}},
    )
    assert template_json["Resources"][key.as_string()]["Type"] == "AWS::KMS::Key"
    template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})


def test_auth_token_is_a_secrets_manager_dynamic_reference_never_plaintext(
    template_json: dict[str, Any],
) -> None:
    _, group = _only(template_json, REPLICATION_GROUP)
    auth = group["Properties"]["AuthToken"]
    parts = auth["Fn::Join"][1]
    assert parts[0] == "{{resolve:secretsmanager:"
    secret_id = parts[1]["Ref"]
    assert template_json["Resources"][secret_id]["Type"] == "AWS::SecretsManager::Secret"
    assert parts[2] == ":SecretString:::}}"


def test_auth_token_secret_is_generated_without_characters_elasticache_refuses_and_uses_the_key(
    template: Template, template_json: dict[str, Any]
) -> None:
    _, group = _only(template_json, REPLICATION_GROUP)
    template.has_resource_properties(
        "AWS::SecretsManager::Secret",
        {
            "GenerateSecretString": {"PasswordLength": 64, "ExcludePunctuation": True, "IncludeSpace": False},
            "KmsKeyId": {"Fn::GetAtt": [group["Properties"]["KmsKeyId"]["Ref"], "Arn"]},
        },
    )


def test_replication_group_keeps_daily_snapshots(template: Template, profile: DeploymentProfile) -> None:
    template.has_resource_properties(
        REPLICATION_GROUP,
        {"SnapshotRetentionLimit": 15 if profile.is_production else 1, "SnapshotWindow": "03:00-04:00"},
    )


def test_replication_group_takes_a_final_snapshot_only_in_production(
    template_json: dict[str, Any], profile: DeploymentProfile
) -> None:
    _, group = _only(template_json, REPLICATION_GROUP)
    expected = "Snapshot" if profile.is_production else "Delete"
    assert group["DeletionPolicy"] == expected
    assert group["UpdateReplacePolicy"] == expected


def test_caches_listen_on_non_default_ports(template: Template) -> None:
    template.has_resource_properties(REPLICATION_GROUP, {"Port": 6380})
    template.has_resource_properties("AWS::ElastiCache::CacheCluster", {"Port": 11212})


def test_subnet_groups_use_only_isolated_subnets(template_json: dict[str, Any]) -> None:
    groups = [v for v in template_json["Resources"].values() if v["Type"] == "AWS::ElastiCache::SubnetGroup"]
    assert len(groups) == 2
    for group in groups:
        # The subnets are the region network's, referenced across stacks.
        subnet_ids = [json.dumps(ref) for ref in group["Properties"]["SubnetIds"]]
        assert len(subnet_ids) >= 2
        assert all("IsolatedSubnet" in subnet for subnet in subnet_ids), subnet_ids
    types = {v["Type"] for v in template_json["Resources"].values()}
    assert "AWS::EC2::InternetGateway" not in types
    assert "AWS::EC2::NatGateway" not in types


def test_replication_group_and_memcached_are_placed_in_their_subnet_groups(template: Template) -> None:
    template.has_resource_properties(
        REPLICATION_GROUP, {"CacheSubnetGroupName": {"Ref": Match.string_like_regexp("SessionCache")}}
    )
    template.has_resource_properties(
        "AWS::ElastiCache::CacheCluster",
        {"CacheSubnetGroupName": {"Ref": Match.string_like_regexp("PageCache")}},
    )


def test_cache_security_groups_admit_only_granted_security_groups(template_json: dict[str, Any]) -> None:
    resources = template_json["Resources"]
    cache_groups = [
        k
        for k in resources
        if "NetworkSecurityGroup" in k and resources[k]["Type"] == "AWS::EC2::SecurityGroup"
    ]
    assert len(cache_groups) == 2
    for group in cache_groups:
        assert "SecurityGroupIngress" not in resources[group]["Properties"]
    rules = [
        v["Properties"]
        for v in resources.values()
        if v["Type"] == "AWS::EC2::SecurityGroupIngress"
        and v["Properties"]["GroupId"]["Fn::GetAtt"][0] in cache_groups
    ]
    assert len(rules) == 2
    for rule in rules:
        assert "CidrIp" not in rule
        assert "CidrIpv6" not in rule
        assert "SourceSecurityGroupId" in rule


def test_granted_clients_reach_each_cache_on_its_port_only(template: Template) -> None:
    for port in (6380, 11212):
        template.has_resource_properties(
            "AWS::EC2::SecurityGroupIngress",
            {
                "IpProtocol": "tcp",
                "FromPort": port,
                "ToPort": port,
                "SourceSecurityGroupId": {
                    "Fn::GetAtt": [Match.string_like_regexp("CacheClients"), "GroupId"]
                },
            },
        )
        template.has_resource_properties(
            "AWS::EC2::SecurityGroupEgress",
            {
                "FromPort": port,
                "ToPort": port,
                "GroupId": {"Fn::GetAtt": [Match.string_like_regexp("CacheClients"), "GroupId"]},
            },
        )


def test_slow_log_is_delivered_to_a_log_group_with_retention(template: Template) -> None:
    template.has_resource_properties(
        REPLICATION_GROUP,
        {
            "LogDeliveryConfigurations": [
                Match.object_like(
                    {"LogType": "slow-log", "DestinationType": "cloudwatch-logs", "LogFormat": "json"}
                )
            ]
        },
    )


def test_global_datastore_lists_only_the_primary_group_at_creation(
    template: Template, template_json: dict[str, Any]
) -> None:
    group_id, _ = _only(template_json, REPLICATION_GROUP)
    template.has_resource_properties(
        "AWS::ElastiCache::GlobalReplicationGroup",
        {
            "Members": [
                {
                    "ReplicationGroupId": {"Ref": group_id},
                    "ReplicationGroupRegion": "us-east-1",
                    "Role": "PRIMARY",
                }
            ],
            "GlobalReplicationGroupIdSuffix": Match.string_like_regexp("^[a-z][a-z0-9-]+$"),
        },
    )


def test_global_datastore_id_is_published_for_the_secondary_regions(template_json: dict[str, Any]) -> None:
    global_id, _ = _only(template_json, "AWS::ElastiCache::GlobalReplicationGroup")
    published = [o["Value"] for o in template_json.get("Outputs", {}).values()]
    assert {"Ref": global_id} in published


def test_memcached_is_encrypted_in_transit_without_persistence(
    template: Template, template_json: dict[str, Any], profile: DeploymentProfile
) -> None:
    template.has_resource_properties(
        "AWS::ElastiCache::CacheCluster",
        {
            "Engine": "memcached",
            "EngineVersion": "1.6.22",
            "TransitEncryptionEnabled": True,
            "NumCacheNodes": 3 if profile.is_production else 1,
            "AZMode": "cross-az" if profile.is_production else "single-az",
            "SnapshotRetentionLimit": Match.absent(),
        },
    )
    _, cluster = _only(template_json, "AWS::ElastiCache::CacheCluster")
    assert cluster["DeletionPolicy"] == "Delete"


def test_global_datastore_is_deleted_with_the_stack_while_the_primary_keeps_its_data(
    template_json: dict[str, Any], profile: DeploymentProfile
) -> None:
    _, global_group = _only(template_json, "AWS::ElastiCache::GlobalReplicationGroup")
    _, primary = _only(template_json, REPLICATION_GROUP)
    assert global_group["DeletionPolicy"] == "Delete"
    assert primary["DeletionPolicy"] == ("Snapshot" if profile.is_production else "Delete")
