"""Encryption gate: every resource holding data is encrypted at rest with a customer-managed key.

Walked (``template_walk.ENCRYPTED_TYPES``): S3 buckets, SQS queues, SNS topics, DynamoDB tables and
global tables (each replica), log groups, RDS instances and Aurora clusters (storage and Performance
Insights; a cluster member's storage is its cluster's), global clusters, ElastiCache replication
groups, serverless caches and cache clusters, DAX clusters, Secrets Manager secrets, backup vaults,
Kinesis streams and Cognito user pools. A customer-managed key is a ``Ref``/``GetAtt Arn`` of an
``AWS::KMS::Key`` of the same template or a literal key ARN - not an alias such as ``alias/aws/s3``,
not SSE-S3, not an AWS-owned or AWS-managed key.

Where a service cannot use a customer-managed key the exact fallback it uses is acknowledged, with
the AWS reason, under ``[[without_customer_managed_key]]`` in ``security_acknowledgments.toml``.

Not walked: what is created outside the templates (the log groups RDS creates for exported logs,
CDK's asset buckets), Lambda environment variables (encrypted with the Lambda service key), and
``AWS::ElastiCache::GlobalReplicationGroup`` (no data of its own; its members are walked).

Log groups are checked under their own test id: each has a customer-managed key (the stack's shared
logs key, ``dbpatterns.common.logs.stack_logs_key``, unless the construct was given one).
"""

from __future__ import annotations

import pytest

from dbpatterns.common.profile import DeploymentProfile
from tests.gates.acknowledgments import load, unexcepted_findings, unused_encryption_exceptions
from tests.gates.app_templates import app_templates
from tests.gates.template_walk import Templates, encryption_findings

EXCEPTIONS = load().without_customer_managed_key
LOG_GROUP = "AWS::Logs::LogGroup"

SCOPES = [
    pytest.param("data stores", id="data-stores"),
    pytest.param("log groups", id="log-groups"),
]


def _key(logical_id: str) -> dict[str, object]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def _replica_key(output: str) -> dict[str, object]:
    """A replica's key read from output ``output`` of the stack ``Replica`` in its region."""
    reference = {"StackName": "Replica", "OutputName": output, "Region": "eu-west-2"}
    return {"KMSMasterKeyId": {"Fn::GetStackOutput": reference}}


#: One resource per way of getting it wrong, and two that are right.
_FRAGMENT: Templates = {
    "Hand-Made": {
        "Resources": {
            "Key": {"Type": "AWS::KMS::Key", "Properties": {}},
            "PlainQueue": {"Type": "AWS::SQS::Queue", "Properties": {"SqsManagedSseEnabled": True}},
            "GoodQueue": {"Type": "AWS::SQS::Queue", "Properties": {"KmsMasterKeyId": _key("Key")}},
            "AwsKeyBucket": {
                "Type": "AWS::S3::Bucket",
                "Properties": {
                    "BucketEncryption": {
                        "ServerSideEncryptionConfiguration": [
                            {
                                "ServerSideEncryptionByDefault": {
                                    "SSEAlgorithm": "aws:kms",
                                    "KMSMasterKeyID": "alias/aws/s3",
                                }
                            }
                        ]
                    }
                },
            },
            "Table": {
                "Type": "AWS::DynamoDB::GlobalTable",
                "Properties": {
                    "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS"},
                    "Replicas": [
                        {"Region": "us-east-1", "SSESpecification": {"KMSMasterKeyId": _key("Key")}},
                        {"Region": "eu-west-1"},
                        {"Region": "eu-west-2", "SSESpecification": _replica_key("Key")},
                        {"Region": "eu-west-3", "SSESpecification": _replica_key("Name")},
                    ],
                },
            },
            "Database": {"Type": "AWS::RDS::DBInstance", "Properties": {"StorageEncrypted": True}},
            "Member": {
                "Type": "AWS::RDS::DBInstance",
                "Properties": {"DBClusterIdentifier": {"Ref": "Cluster"}, "EnablePerformanceInsights": True},
            },
            "Secret": {"Type": "AWS::SecretsManager::Secret", "Properties": {"KmsKeyId": _key("OtherKey")}},
            "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {}},
            "GoodLogs": {"Type": "AWS::Logs::LogGroup", "Properties": {"KmsKeyId": _key("Key")}},
        }
    },
    # A replica region's stack publishing its key (and something that is not a key).
    "Replica": {
        "Resources": {"ReplicaKey": {"Type": "AWS::KMS::Key", "Properties": {}}},
        "Outputs": {"Key": {"Value": _key("ReplicaKey")}, "Name": {"Value": {"Ref": "AWS::StackName"}}},
    },
}


@pytest.mark.synth
@pytest.mark.parametrize("scope", SCOPES)
@pytest.mark.parametrize("profile", list(DeploymentProfile), ids=lambda p: p.value)
def test_data_is_encrypted_with_customer_managed_keys(profile: DeploymentProfile, scope: str) -> None:
    findings = unexcepted_findings(encryption_findings(app_templates(profile)), EXCEPTIONS)
    in_scope = [f for f in findings if (f.resource_type == LOG_GROUP) == (scope == "log groups")]
    assert [str(f) for f in in_scope] == []


@pytest.mark.synth
def test_every_encryption_exception_still_matches_a_resource() -> None:
    findings = [f for profile in DeploymentProfile for f in encryption_findings(app_templates(profile))]
    assert unused_encryption_exceptions(findings, EXCEPTIONS) == []


def test_reports_every_resource_without_a_customer_managed_key() -> None:
    found = {(f.logical_id, f.detail) for f in encryption_findings(_FRAGMENT)}
    assert found == {
        ("PlainQueue", "KmsMasterKeyId: SQS-managed SSE"),
        (
            "AwsKeyBucket",
            "default encryption: key alias/aws/s3 is not a customer-managed key of this app",
        ),
        ("Table", "replica eu-west-1: AWS-managed key (aws/dynamodb)"),
        (
            "Table",
            'replica eu-west-3: key {"Fn::GetStackOutput":{"OutputName":"Name","Region":"eu-west-2",'
            '"StackName":"Replica"}} is not a customer-managed key of this app',
        ),
        ("Database", "storage: AWS-managed key (aws/rds)"),
        ("Member", "Performance Insights: AWS-managed key (aws/rds)"),
        (
            "Secret",
            'KmsKeyId: key {"Fn::GetAtt":["OtherKey","Arn"]} is not a customer-managed key of this app',
        ),
        ("Logs", "KmsKeyId: CloudWatch Logs' own key"),
    }


def test_an_exception_stops_matching_when_encryption_gets_weaker() -> None:
    dax = next(e for e in EXCEPTIONS if e.resource_type == "AWS::DAX::Cluster")
    unencrypted: Templates = {
        "DbPatterns-FlashSale": {
            "Resources": {"OrdersDax1": {"Type": "AWS::DAX::Cluster", "Properties": {"SSESpecification": {}}}}
        }
    }
    findings = encryption_findings(unencrypted)
    assert [f.detail for f in findings] == ["at rest: not encrypted"]
    assert unexcepted_findings(findings, [dax]) == findings


def test_fails_on_an_exception_that_matches_nothing() -> None:
    assert len(unused_encryption_exceptions(encryption_findings(_FRAGMENT), EXCEPTIONS)) == len(EXCEPTIONS)
