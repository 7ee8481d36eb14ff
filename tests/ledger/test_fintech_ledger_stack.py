"""The fintech ledger stack: what keeps history immutable, consumers bounded and the API closed."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.handlers.ledger.filters import FRAUD_FILTER_PATTERN
from dbpatterns.handlers.ledger.schema import IDEMPOTENCY_KEY_HEADER, TRANSACTION_REQUEST_SCHEMA
from tests.ledger.helpers import actions, function_role, logical_id_of_table, refers_to, statements_of
from tests.support.synth import stack_template, stack_template_json

STACK = "DbPatterns-FintechLedger"
pytestmark = pytest.mark.synth

WRITE_ACTIONS_THAT_CHANGE_HISTORY = {
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:PartiQLUpdate",
    "dynamodb:PartiQLDelete",
    "dynamodb:*",
}


@pytest.fixture(scope="module")
def production() -> Template:
    return stack_template(STACK, DeploymentProfile.PRODUCTION)


@pytest.fixture(scope="module")
def sandbox() -> Template:
    return stack_template(STACK, DeploymentProfile.SANDBOX)


@pytest.fixture(scope="module")
def production_json() -> dict[str, Any]:
    return stack_template_json(STACK, DeploymentProfile.PRODUCTION)


def test_writer_may_only_put_get_and_query_the_event_store(production_json: dict[str, Any]) -> None:
    events = logical_id_of_table(production_json, "account_id", "version")
    role = function_role(production_json, "dbpatterns.handlers.ledger.api.handler")

    on_events = [s for s in statements_of(production_json, role) if refers_to(s, events)]

    assert on_events, "the writer has no access to the event store"
    for statement in on_events:
        assert actions(statement) <= {"dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:Query"}, statement


def test_no_role_in_the_stack_may_update_or_delete_events(production_json: dict[str, Any]) -> None:
    events = logical_id_of_table(production_json, "account_id", "version")
    for resource in production_json["Resources"].values():
        if resource["Type"] not in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            continue
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
            if refers_to(statement, events):
                assert not actions(statement) & WRITE_ACTIONS_THAT_CHANGE_HISTORY, statement


def test_event_store_streams_new_images_and_has_pitr_and_deletion_protection_in_production(
    production: Template,
) -> None:
    production.has_resource_properties(
        "AWS::DynamoDB::GlobalTable",
        {
            "KeySchema": [
                {"AttributeName": "account_id", "KeyType": "HASH"},
                {"AttributeName": "version", "KeyType": "RANGE"},
            ],
            "AttributeDefinitions": Match.array_with([{"AttributeName": "version", "AttributeType": "N"}]),
            "StreamSpecification": {"StreamViewType": "NEW_IMAGE"},
            "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS"},
            "Replicas": [
                Match.object_like(
                    {
                        "DeletionProtectionEnabled": True,
                        "PointInTimeRecoverySpecification": {
                            "PointInTimeRecoveryEnabled": True,
                            "RecoveryPeriodInDays": 35,
                        },
                        "SSESpecification": {"KMSMasterKeyId": Match.any_value()},
                    }
                )
            ],
        },
    )


def test_every_ledger_table_has_pitr_and_deletion_protection_in_production(production: Template) -> None:
    tables = production.find_resources("AWS::DynamoDB::GlobalTable")
    assert len(tables) == 4  # events, idempotency, projection, alerts
    for table in tables.values():
        replica = table["Properties"]["Replicas"][0]
        assert replica["DeletionProtectionEnabled"] is True
        assert replica["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        assert table["DeletionPolicy"] == "Retain"


def test_sandbox_tables_can_be_deleted(sandbox: Template) -> None:
    for table in sandbox.find_resources("AWS::DynamoDB::GlobalTable").values():
        assert table["Properties"]["Replicas"][0]["DeletionProtectionEnabled"] is False
        assert table["DeletionPolicy"] == "Delete"


def test_idempotency_records_expire_by_ttl(production: Template) -> None:
    production.has_resource_properties(
        "AWS::DynamoDB::GlobalTable",
        {
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
        },
    )


def test_exactly_two_lambda_readers_on_the_event_store_stream(production_json: dict[str, Any]) -> None:
    events = logical_id_of_table(production_json, "account_id", "version")
    readers = [
        r
        for r in production_json["Resources"].values()
        if r["Type"] == "AWS::Lambda::EventSourceMapping"
        and r["Properties"]["EventSourceArn"] == {"Fn::GetAtt": [events, "StreamArn"]}
    ]
    assert len(readers) == 2


def test_fraud_mapping_filters_on_the_handlers_withdrawal_pattern(production: Template) -> None:
    production.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {"FilterCriteria": {"Filters": [{"Pattern": Match.serialized_json(FRAUD_FILTER_PATTERN)}]}},
    )


def test_sink_mapping_has_no_filter(production: Template) -> None:
    mappings = production.find_resources("AWS::Lambda::EventSourceMapping")
    unfiltered = [m for m in mappings.values() if "FilterCriteria" not in m["Properties"]]
    assert len(unfiltered) == 1


def test_both_mappings_bisect_retry_boundedly_and_report_item_failures(production: Template) -> None:
    mappings = production.find_resources(
        "AWS::Lambda::EventSourceMapping",
        {
            "Properties": {
                "StartingPosition": "TRIM_HORIZON",
                "BisectBatchOnFunctionError": True,
                "MaximumRetryAttempts": 5,
                "MaximumRecordAgeInSeconds": 3600,
                "ParallelizationFactor": 1,
                "FunctionResponseTypes": ["ReportBatchItemFailures"],
                "DestinationConfig": {
                    "OnFailure": {
                        "Destination": {"Fn::GetAtt": [Match.string_like_regexp("FailedRecords"), "Arn"]}
                    }
                },
            }
        },
    )
    assert len(mappings) == 2


def test_failure_queue_is_encrypted_with_a_customer_managed_key(production: Template) -> None:
    production.has_resource_properties(
        "AWS::SQS::Queue",
        {"KmsMasterKeyId": {"Fn::GetAtt": [Match.string_like_regexp("StreamConsumersKey"), "Arn"]}},
    )


def test_iterator_age_alarms_watch_both_consumers(production: Template) -> None:
    alarms = production.find_resources(
        "AWS::CloudWatch::Alarm", {"Properties": {"MetricName": "IteratorAge", "Namespace": "AWS/Lambda"}}
    )
    assert len(alarms) == 2


def test_audit_archive_locks_objects_in_compliance_mode_for_seven_years_in_production(
    production: Template,
) -> None:
    production.has_resource(
        "AWS::S3::Bucket",
        {
            "Properties": Match.object_like(
                {
                    "ObjectLockEnabled": True,
                    "ObjectLockConfiguration": {
                        "ObjectLockEnabled": "Enabled",
                        "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 2555}},
                    },
                    "VersioningConfiguration": {"Status": "Enabled"},
                    "BucketEncryption": {
                        "ServerSideEncryptionConfiguration": [
                            Match.object_like(
                                {
                                    "ServerSideEncryptionByDefault": Match.object_like(
                                        {"SSEAlgorithm": "aws:kms"}
                                    )
                                }
                            )
                        ]
                    },
                    "LoggingConfiguration": Match.object_like({"DestinationBucketName": Match.any_value()}),
                }
            ),
            "DeletionPolicy": "Retain",
        },
    )


def test_sandbox_archive_uses_governance_mode_so_it_can_be_cleaned_up(sandbox: Template) -> None:
    sandbox.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "ObjectLockConfiguration": {
                "ObjectLockEnabled": "Enabled",
                "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}},
            }
        },
    )


def test_both_buckets_refuse_plain_http(production: Template) -> None:
    policies = production.find_resources(
        "AWS::S3::BucketPolicy",
        {
            "Properties": {
                "PolicyDocument": {
                    "Statement": Match.array_with(
                        [
                            Match.object_like(
                                {"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
                            )
                        ]
                    )
                }
            }
        },
    )
    assert len(policies) == 2


def test_alert_topic_is_kms_encrypted_and_ssl_only(production: Template) -> None:
    production.has_resource_properties(
        "AWS::SNS::Topic",
        {"KmsMasterKeyId": {"Fn::GetAtt": [Match.string_like_regexp("StreamConsumersKey"), "Arn"]}},
    )
    production.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": "sns:Publish",
                                "Effect": "Deny",
                                "Principal": "*",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            }
        },
    )


def test_fraud_function_may_only_publish_to_the_topic(production_json: dict[str, Any]) -> None:
    role = function_role(production_json, "dbpatterns.handlers.ledger.fraud.handler")
    sns_actions = {
        a for s in statements_of(production_json, role) for a in actions(s) if a.startswith("sns:")
    }
    assert sns_actions == {"sns:Publish"}


def test_api_method_requires_iam_auth_a_valid_body_and_the_idempotency_header(production: Template) -> None:
    production.has_resource_properties(
        "AWS::ApiGateway::Method",
        {
            "HttpMethod": "POST",
            "AuthorizationType": "AWS_IAM",
            "RequestValidatorId": Match.any_value(),
            "RequestModels": {"application/json": Match.any_value()},
            "RequestParameters": {
                f"method.request.header.{IDEMPOTENCY_KEY_HEADER}": True,
                "method.request.path.account_id": True,
            },
            "Integration": Match.object_like({"Type": "AWS_PROXY"}),
        },
    )
    production.has_resource_properties(
        "AWS::ApiGateway::RequestValidator", {"ValidateRequestBody": True, "ValidateRequestParameters": True}
    )


def test_api_model_is_the_handlers_request_schema(production: Template) -> None:
    production.has_resource_properties(
        "AWS::ApiGateway::Model",
        {
            "ContentType": "application/json",
            "Schema": Match.object_like(
                {
                    "required": TRANSACTION_REQUEST_SCHEMA["required"],
                    "additionalProperties": False,
                    "properties": Match.object_like(
                        {"amount": {"type": "integer", "minimum": 1, "maximum": Match.any_value()}}
                    ),
                }
            ),
        },
    )


def test_api_stage_is_throttled_traced_logged_and_behind_waf(production: Template) -> None:
    production.has_resource_properties(
        "AWS::ApiGateway::Stage",
        {
            "TracingEnabled": True,
            "AccessLogSetting": Match.object_like({"DestinationArn": Match.any_value()}),
            "MethodSettings": [
                Match.object_like(
                    {
                        "LoggingLevel": "ERROR",
                        "DataTraceEnabled": False,
                        "ThrottlingRateLimit": 100,
                        "ThrottlingBurstLimit": 200,
                    }
                )
            ],
        },
    )
    production.resource_count_is("AWS::WAFv2::WebACLAssociation", 1)
    production.resource_count_is("AWS::WAFv2::LoggingConfiguration", 1)


def test_every_log_group_is_encrypted_with_a_customer_managed_key(production: Template) -> None:
    for log_group in production.find_resources("AWS::Logs::LogGroup").values():
        assert "KmsKeyId" in log_group["Properties"]
