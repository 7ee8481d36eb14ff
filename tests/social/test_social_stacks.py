"""The social platform's stacks: global table, cache, regional app tier, DNS, and how they connect."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from dbpatterns.common.profile import DeploymentProfile
from stacks.app_builder import NETWORK_CIDRS, build_stacks
from stacks.config import AppConfig, Showcase
from tests.social.support import resources, synthesize, template
from tests.support.synth import new_app, tenant_catalog

pytestmark = pytest.mark.synth

SANDBOX, PRODUCTION = DeploymentProfile.SANDBOX, DeploymentProfile.PRODUCTION
PRIMARY_CIDR, SECONDARY1_CIDR, SECONDARY2_CIDR = NETWORK_CIDRS
GLOBAL = "DbPatterns-SocialGlobal"
REGION_STACKS = {
    "DbPatterns-SocialRegion-Primary": "us-east-1",
    "DbPatterns-SocialRegion-Secondary1": "eu-west-1",
    "DbPatterns-SocialRegion-Secondary2": "ap-southeast-1",
}


@pytest.mark.parametrize(
    ("showcases", "expected"),
    [
        (None, set()),
        (
            frozenset({Showcase.SOCIAL}),
            {
                "DbPatterns-NetworkSecondary1",
                "DbPatterns-NetworkSecondary2",
                "DbPatterns-SocialBase-Secondary1",
                "DbPatterns-SocialBase-Secondary2",
                GLOBAL,
                *REGION_STACKS,
            },
        ),
    ],
    ids=["default-sandbox", "social"],
)
def test_a_sandbox_builds_the_platform_only_with_its_showcase(
    showcases: frozenset[Showcase] | None, expected: set[str]
) -> None:
    # Six cache.m6g.large nodes over three regions: far above a sandbox's budget unless asked for.
    config = AppConfig(profile=SANDBOX, showcases=showcases)
    names = {stack.stack_name for stack in build_stacks(new_app(), config, tenant_catalog())}
    prefixes = ("DbPatterns-Social", "DbPatterns-NetworkSecondary")
    assert {name for name in names if name.startswith(prefixes)} == expected


def global_table(profile: DeploymentProfile) -> dict[str, Any]:
    (table,) = resources(template(GLOBAL, profile), "AWS::DynamoDB::GlobalTable").values()
    properties: dict[str, Any] = table["Properties"]
    return properties


@pytest.mark.parametrize("profile", list(DeploymentProfile), ids=lambda p: p.value)
def test_the_table_has_a_replica_with_its_own_key_and_pitr_in_every_region(
    profile: DeploymentProfile,
) -> None:
    replicas = {replica["Region"]: replica for replica in global_table(profile)["Replicas"]}

    assert set(replicas) == {"us-east-1", "eu-west-1", "ap-southeast-1"}
    for replica in replicas.values():
        assert replica["PointInTimeRecoverySpecification"] == {
            "PointInTimeRecoveryEnabled": True,
            "RecoveryPeriodInDays": 35,
        }
        assert replica["DeletionProtectionEnabled"] is profile.is_production
        assert "KMSMasterKeyId" in replica["SSESpecification"]
    # Each secondary replica uses the key of its own region's base stack.
    for region, stack in (("eu-west-1", "Secondary1"), ("ap-southeast-1", "Secondary2")):
        key = json.dumps(replicas[region]["SSESpecification"]["KMSMasterKeyId"])
        assert f"DbPatterns-SocialBase-{stack}" in key


def test_the_table_is_one_global_table_with_a_sparse_timeline_index_and_ttl() -> None:
    table = global_table(SANDBOX)
    assert [k["AttributeName"] for k in table["KeySchema"]] == ["pk", "sk"]
    (index,) = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "Timeline"
    assert [k["AttributeName"] for k in index["KeySchema"]] == ["tl_pk", "tl_sk"]
    assert index["Projection"] == {"ProjectionType": "ALL"}
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    # Global tables replicate through the table's stream, so replicas force one on; every region's
    # stream then carries all regions' writes (see the store module on origin_region).
    assert table["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}


def test_the_global_table_is_retained_in_production_and_removed_in_a_sandbox() -> None:
    for profile, policy in ((PRODUCTION, "Retain"), (SANDBOX, "Delete")):
        (table,) = resources(template(GLOBAL, profile), "AWS::DynamoDB::GlobalTable").values()
        assert table["DeletionPolicy"] == policy


def test_the_session_cache_is_a_global_datastore_with_a_secondary_in_each_region() -> None:
    global_template = Template.from_json(template(GLOBAL, PRODUCTION))
    global_template.resource_count_is("AWS::ElastiCache::GlobalReplicationGroup", 1)
    global_template.has_resource_properties(
        "AWS::ElastiCache::ReplicationGroup",
        {"Engine": "valkey", "TransitEncryptionEnabled": True, "AtRestEncryptionEnabled": True, "Port": 6380},
    )
    for stack in ("DbPatterns-SocialRegion-Secondary1", "DbPatterns-SocialRegion-Secondary2"):
        Template.from_json(template(stack, PRODUCTION)).has_resource_properties(
            "AWS::ElastiCache::ReplicationGroup", {"GlobalReplicationGroupId": Match.any_value()}
        )


def test_the_auth_token_and_the_cursor_key_are_replicated_under_each_regions_key() -> None:
    secrets = resources(template(GLOBAL, SANDBOX), "AWS::SecretsManager::Secret")
    assert len(secrets) == 2
    for secret in secrets.values():
        replicas = {replica["Region"]: replica for replica in secret["Properties"]["ReplicaRegions"]}
        assert set(replicas) == {"eu-west-1", "ap-southeast-1"}
        assert all("KmsKeyId" in replica for replica in replicas.values())


def _network_stack_of(vpc_id: Any) -> str:
    """The stack whose output ``vpc_id`` reads (the social stacks reference the networks' VPCs)."""
    stack: str = vpc_id["Fn::GetStackOutput"]["StackName"]
    return stack


def test_every_pair_of_regions_is_peered_and_routed() -> None:
    peerings = resources(template(GLOBAL, SANDBOX), "AWS::EC2::VPCPeeringConnection")
    assert sorted(
        (
            _network_stack_of(p["Properties"]["VpcId"]),
            p["Properties"]["PeerRegion"],
            _network_stack_of(p["Properties"]["PeerVpcId"]),
        )
        for p in peerings.values()
    ) == [
        ("DbPatterns-Network", "ap-southeast-1", "DbPatterns-NetworkSecondary2"),
        ("DbPatterns-Network", "eu-west-1", "DbPatterns-NetworkSecondary1"),
    ]
    (between,) = resources(
        template("DbPatterns-SocialBase-Secondary2", SANDBOX), "AWS::EC2::VPCPeeringConnection"
    ).values()
    assert between["Properties"]["PeerRegion"] == "eu-west-1"
    assert _network_stack_of(between["Properties"]["VpcId"]) == "DbPatterns-NetworkSecondary2"
    assert _network_stack_of(between["Properties"]["PeerVpcId"]) == "DbPatterns-NetworkSecondary1"
    # The accepters route back: Secondary1 to the primary and to Secondary2, Secondary2 to the primary.
    routes = {
        stack: sorted(
            r["Properties"]["DestinationCidrBlock"]
            for r in resources(template(stack, SANDBOX), "AWS::EC2::Route").values()
        )
        for stack in REGION_STACKS
    }
    assert routes["DbPatterns-SocialRegion-Secondary1"] == [PRIMARY_CIDR] * 2 + [SECONDARY2_CIDR] * 2
    assert routes["DbPatterns-SocialRegion-Secondary2"] == [PRIMARY_CIDR] * 2


def test_the_home_table_endpoint_admits_only_the_other_regions_on_443() -> None:
    global_template = template(GLOBAL, SANDBOX)
    (endpoint,) = [
        r
        for r in resources(global_template, "AWS::EC2::VPCEndpoint").values()
        if r["Properties"].get("VpcEndpointType") == "Interface"
        and "dynamodb" in json.dumps(r["Properties"]["ServiceName"])
    ]
    assert endpoint["Properties"]["PrivateDnsEnabled"] is False
    group = global_template["Resources"][endpoint["Properties"]["SecurityGroupIds"][0]["Fn::GetAtt"][0]]
    ingress = group["Properties"]["SecurityGroupIngress"]
    assert sorted((rule["CidrIp"], rule["FromPort"]) for rule in ingress) == [
        (SECONDARY1_CIDR, 443),
        (SECONDARY2_CIDR, 443),
    ]


@pytest.mark.parametrize(("stack", "region"), list(REGION_STACKS.items()))
def test_each_region_runs_five_handler_groups_in_its_vpc_on_the_local_replica(
    stack: str, region: str
) -> None:
    functions = resources(template(stack, SANDBOX), "AWS::Lambda::Function")
    handlers = sorted(f["Properties"]["Handler"] for f in functions.values())
    assert handlers == [
        f"dbpatterns.handlers.social.{module}.handler"
        for module in ("graph", "health", "posts", "profiles", "session_api")
    ]
    for function in functions.values():
        properties = function["Properties"]
        assert "VpcConfig" in properties
        env = properties["Environment"]["Variables"]
        assert env["SOCIAL_REGIONS"] == "us-east-1,eu-west-1,ap-southeast-1"
        assert env["HOME_REGION"] == "us-east-1"
        assert env["CACHE_PRIMARY_REGION"] == "us-east-1"
        assert ("HOME_DYNAMODB_ENDPOINT" in env) is (region != "us-east-1")


def test_a_secondary_writes_handle_claims_to_the_home_table_only() -> None:
    policies = resources(template("DbPatterns-SocialRegion-Secondary1", SANDBOX), "AWS::IAM::ManagedPolicy")
    (profiles,) = [p for name, p in policies.items() if name.startswith("ApiProfilesRole")]
    statements = profiles["Properties"]["PolicyDocument"]["Statement"]
    writes = [s for s in statements if "dynamodb:PutItem" in json.dumps(s["Action"])]
    assert len(writes) == 1
    resource = json.dumps(writes[0]["Resource"])
    assert "us-east-1" in resource
    assert "eu-west-1" not in resource


@pytest.mark.parametrize(("stack", "region"), list(REGION_STACKS.items()))
def test_each_region_has_a_health_check_and_outputs_its_url_without_a_domain(stack: str, region: str) -> None:
    region_template = Template.from_json(template(stack, SANDBOX))
    region_template.has_resource_properties(
        "AWS::Route53::HealthCheck",
        {
            "HealthCheckConfig": Match.object_like(
                {"Type": "HTTPS", "ResourcePath": "/v1/health", "Port": 443, "FailureThreshold": 3}
            )
        },
    )
    region_template.resource_count_is("AWS::Route53::RecordSet", 0)
    outputs = region_template.to_json()["Outputs"]
    assert {"ApiUrl", "HealthCheckId"} <= set(outputs)


@pytest.mark.parametrize(("stack", "region"), list(REGION_STACKS.items()))
def test_with_a_domain_each_region_adds_a_latency_record_tied_to_its_health_check(
    stack: str, region: str
) -> None:
    region_template = Template.from_json(template(stack, SANDBOX, with_domain=True))
    region_template.has_resource_properties(
        "AWS::Route53::RecordSet",
        {
            "Name": "api.social.example.com.",
            "Type": "A",
            "Region": region,
            "SetIdentifier": region,
            "HealthCheckId": Match.any_value(),
            "AliasTarget": Match.any_value(),
        },
    )
    region_template.has_resource_properties(
        "AWS::ApiGateway::DomainName", {"DomainName": "api.social.example.com", "SecurityPolicy": "TLS_1_2"}
    )
    # us-east-1 was given a certificate ARN; the others validate a new one in the hosted zone.
    region_template.resource_count_is(
        "AWS::CertificateManager::Certificate", 0 if region == "us-east-1" else 1
    )


def test_cross_region_references_resolve_to_outputs_of_stacks_deployed_earlier() -> None:
    assembly = synthesize(SANDBOX)
    stacks = {stack.stack_name: stack for stack in assembly.stacks}
    for name, stack in stacks.items():
        text = json.dumps(stack.template)
        assert "${Token[" not in text, name
        depends = {dependency.id for dependency in stack.dependencies}
        for match in re.finditer(r'"Fn::GetStackOutput": \{([^}]*)\}', text):
            reference = json.loads("{" + match.group(1) + "}")
            producer = stacks[reference["StackName"]]
            assert producer.environment.region == reference["Region"], (name, reference)
            assert reference["OutputName"] in producer.template["Outputs"], (name, reference)
            assert producer.stack_name in depends, (name, producer.stack_name)


def test_the_stacks_deploy_in_the_order_the_services_need() -> None:
    stacks = {stack.stack_name: stack for stack in synthesize(SANDBOX).stacks}

    def depends(consumer: str) -> set[str]:
        return {dependency.id for dependency in stacks[consumer].dependencies}

    assert {"DbPatterns-SocialBase-Secondary1", "DbPatterns-SocialBase-Secondary2"} <= depends(GLOBAL)
    for stack in REGION_STACKS:
        assert GLOBAL in depends(stack)
    # ElastiCache adds one region to a global datastore at a time.
    assert "DbPatterns-SocialRegion-Secondary1" in depends("DbPatterns-SocialRegion-Secondary2")
