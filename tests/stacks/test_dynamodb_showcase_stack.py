"""The DynamoDB showcase stack: durable, encrypted tables in both profiles."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Capture, Match, Template

from dbpatterns.common.profile import DeploymentProfile
from tests.support.synth import stack_template

STACK = "DbPatterns-DynamoDbShowcase"
pytestmark = pytest.mark.synth


@pytest.fixture(scope="module")
def production() -> Template:
    return stack_template(STACK, DeploymentProfile.PRODUCTION)


@pytest.fixture(scope="module")
def sandbox() -> Template:
    return stack_template(STACK, DeploymentProfile.SANDBOX)


def test_tables_keep_35_days_of_point_in_time_recovery(production: Template) -> None:
    production.resource_properties_count_is(
        "AWS::DynamoDB::GlobalTable",
        {
            "Replicas": [
                Match.object_like(
                    {
                        "PointInTimeRecoverySpecification": {
                            "PointInTimeRecoveryEnabled": True,
                            "RecoveryPeriodInDays": 35,
                        }
                    }
                )
            ]
        },
        2,
    )


def test_tables_are_encrypted_with_their_own_rotating_customer_managed_key(production: Template) -> None:
    key = Capture()
    production.has_resource_properties(
        "AWS::DynamoDB::GlobalTable",
        {
            "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS"},
            "Replicas": [
                Match.object_like({"SSESpecification": {"KMSMasterKeyId": {"Fn::GetAtt": [key, "Arn"]}}})
            ],
        },
    )
    assert production.to_json()["Resources"][key.as_string()]["Properties"]["EnableKeyRotation"] is True


def test_production_tables_are_retained_and_deletion_protected(production: Template) -> None:
    tables = production.find_resources("AWS::DynamoDB::GlobalTable")
    assert len(tables) == 2
    for table in tables.values():
        assert table["DeletionPolicy"] == "Retain"
        assert table["UpdateReplacePolicy"] == "Retain"
        assert table["Properties"]["Replicas"][0]["DeletionProtectionEnabled"] is True
    for key in production.find_resources("AWS::KMS::Key").values():
        assert key["DeletionPolicy"] == "Retain"


def test_sandbox_tables_are_removed_with_the_stack_but_stay_encrypted(sandbox: Template) -> None:
    for table in sandbox.find_resources("AWS::DynamoDB::GlobalTable").values():
        assert table["DeletionPolicy"] == "Delete"
        assert table["Properties"]["Replicas"][0]["DeletionProtectionEnabled"] is False
        assert table["Properties"]["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS"}
        assert table["Properties"]["Replicas"][0]["PointInTimeRecoverySpecification"][
            "PointInTimeRecoveryEnabled"
        ]


def test_sessions_table_has_indexes_ttl_and_a_stream(production: Template) -> None:
    production.has_resource_properties(
        "AWS::DynamoDB::GlobalTable",
        {
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [
                {"AttributeName": "user_id", "KeyType": "HASH"},
                {"AttributeName": "session_id", "KeyType": "RANGE"},
            ],
            "GlobalSecondaryIndexes": [Match.object_like({"IndexName": "by-device"})],
            "LocalSecondaryIndexes": [Match.object_like({"IndexName": "by-last-seen"})],
            "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
            "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
            "Replicas": [Match.object_like({"ContributorInsightsSpecification": {"Enabled": True}})],
        },
    )


def test_provisioned_table_is_sized_by_the_capacity_planner_and_auto_scales(production: Template) -> None:
    # 10 KB items, 100 eventually consistent reads/s -> 150 RCU; 5 writes/s of 10 KB -> 50 WCU.
    production.has_resource_properties(
        "AWS::DynamoDB::GlobalTable",
        {
            "BillingMode": "PROVISIONED",
            "WriteProvisionedThroughputSettings": {
                "WriteCapacityAutoScalingSettings": Match.object_like(
                    {
                        "MinCapacity": 50,
                        "MaxCapacity": 200,
                        "TargetTrackingScalingPolicyConfiguration": {"TargetValue": 70},
                    }
                )
            },
            "Replicas": [
                Match.object_like(
                    {
                        "ReadProvisionedThroughputSettings": {
                            "ReadCapacityAutoScalingSettings": Match.object_like(
                                {"MinCapacity": 150, "MaxCapacity": 600}
                            )
                        }
                    }
                )
            ],
        },
    )


def test_table_logical_ids_are_stable(production: Template) -> None:
    # Renaming a stateful resource's logical ID replaces the table: pin them.
    assert set(production.find_resources("AWS::DynamoDB::GlobalTable")) == {
        "UserSessions44CA5334",
        "ProductCatalog04CC73BC",
    }


def test_sandbox_provisioned_floor_is_one_unit_and_contributor_insights_is_off(sandbox: Template) -> None:
    # An idle sandbox pays for its capacity floor: 1 unit each, auto scaling up to the planner's figures.
    sandbox.has_resource_properties(
        "AWS::DynamoDB::GlobalTable",
        {
            "BillingMode": "PROVISIONED",
            "WriteProvisionedThroughputSettings": {
                "WriteCapacityAutoScalingSettings": Match.object_like({"MinCapacity": 1, "MaxCapacity": 50})
            },
        },
    )
    for table in sandbox.find_resources("AWS::DynamoDB::GlobalTable").values():
        for replica in table["Properties"]["Replicas"]:
            assert "ContributorInsightsSpecification" not in replica
