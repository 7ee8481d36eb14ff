"""DynamoTable replicas (a global table): a key per replica region, checked before anything is defined."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Template

from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.validation import PropValidationError
from dbpatterns.dynamodb import DynamoTable, DynamoTableProps, TableEncryption, TableReplica

ACCOUNT = "123456789012"
KEY = dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING)


def stacks() -> tuple[Stack, kms.Key, kms.Key]:
    app = App(context={"@aws-cdk/core:defaultCrossStackReferences": "weak"})
    eu = Stack(app, "Eu", env=Environment(account=ACCOUNT, region="eu-west-1"))
    ap = Stack(app, "Ap", env=Environment(account=ACCOUNT, region="ap-southeast-1"))
    us = Stack(app, "Us", env=Environment(account=ACCOUNT, region="us-east-1"))
    return us, kms.Key(eu, "Key"), kms.Key(ap, "Key")


def props(**changes: Any) -> DynamoTableProps:
    return DynamoTableProps(partition_key=KEY, profile=DeploymentProfile.PRODUCTION, **changes)


def test_each_replica_is_encrypted_with_its_own_regions_key_and_keeps_pitr() -> None:
    us, eu_key, ap_key = stacks()
    DynamoTable(
        us,
        "Table",
        props(
            replicas=[
                TableReplica(region="eu-west-1", encryption_key=eu_key),
                TableReplica(region="ap-southeast-1", encryption_key=ap_key),
            ]
        ),
    )
    replicas = Template.from_stack(us).find_resources("AWS::DynamoDB::GlobalTable")
    (table,) = replicas.values()
    by_region = {replica["Region"]: replica for replica in table["Properties"]["Replicas"]}
    assert set(by_region) == {"us-east-1", "eu-west-1", "ap-southeast-1"}
    for region in ("eu-west-1", "ap-southeast-1"):
        assert "Fn::GetStackOutput" in str(by_region[region]["SSESpecification"]["KMSMasterKeyId"])
        assert by_region[region]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        assert by_region[region]["DeletionProtectionEnabled"] is True


@pytest.mark.parametrize(
    ("replicas", "prop"),
    [
        (lambda eu, ap: [TableReplica(region="us-east-1", encryption_key=eu)], "replicas[].region"),
        (lambda eu, ap: [TableReplica(region="eu-west-1")], "replicas[eu-west-1].encryption_key"),
        (
            lambda eu, ap: [TableReplica(region="eu-west-1", encryption_key=ap)],
            "replicas[eu-west-1].encryption_key",
        ),
        (
            lambda eu, ap: [TableReplica(region="eu-west-1", encryption_key=eu)] * 2,
            "replicas[].region",
        ),
        (lambda eu, ap: [TableReplica(region="Europe", encryption_key=eu)], "replicas[].region"),
        (lambda eu, ap: ["eu-west-1"], "replicas[]"),
    ],
)
def test_rejects_a_bad_replica(replicas: Any, prop: str) -> None:
    us, eu_key, ap_key = stacks()
    with pytest.raises(PropValidationError) as raised:
        DynamoTable(us, "Table", props(replicas=replicas(eu_key, ap_key)))
    assert raised.value.prop == prop
    assert us.node.try_find_child("Table") is None


def test_rejects_a_replica_key_with_an_aws_owned_table_key() -> None:
    us, eu_key, _ = stacks()
    with pytest.raises(PropValidationError, match="AWS_OWNED"):
        DynamoTable(
            us,
            "Table",
            props(
                encryption=TableEncryption.AWS_OWNED,
                replicas=[TableReplica(region="eu-west-1", encryption_key=eu_key)],
            ),
        )


def test_rejects_replicas_in_an_environment_agnostic_stack() -> None:
    stack = Stack(App(), "Agnostic")
    with pytest.raises(PropValidationError, match="concrete region"):
        DynamoTable(
            stack,
            "Table",
            props(encryption=TableEncryption.AWS_OWNED, replicas=[TableReplica(region="eu-west-1")]),
        )
