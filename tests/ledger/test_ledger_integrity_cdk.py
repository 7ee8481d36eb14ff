"""What the ledger's handlers need from the stack: the alerts table, the gap fill, the fraud limits,
the redrive, and an archive that refuses unconditional event writes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk.assertions import Match, Template

from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.handlers.ledger.alerts import CLAIM_SECONDS
from dbpatterns.handlers.ledger.tables import ALERTS_PARTITION_KEY
from dbpatterns.ledger import (
    AuditArchive,
    AuditArchiveProps,
    LedgerEventStore,
    LedgerEventStoreProps,
    LedgerStreamConsumers,
    LedgerStreamConsumersProps,
)
from stacks.config import AppConfig
from tests.ledger.helpers import (
    actions,
    actions_on,
    function_named,
    function_role,
    logical_id_of_table,
    resources_of,
    statements_of,
)
from tests.support.synth import new_app, stack_template, stack_template_json

STACK = "DbPatterns-FintechLedger"
SINK = "dbpatterns.handlers.ledger.sink.handler"
FRAUD = "dbpatterns.handlers.ledger.fraud.handler"
REDRIVE = "dbpatterns.handlers.ledger.redrive.handler"
pytestmark = pytest.mark.synth


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return stack_template_json(STACK, DeploymentProfile.PRODUCTION)


def variables(template: dict[str, Any], handler: str) -> dict[str, Any]:
    _, function = function_named(template, handler)
    result: dict[str, Any] = function["Properties"]["Environment"]["Variables"]
    return result


def logical_id(template: dict[str, Any], kind: str, prefix: str) -> str:
    (name,) = [name for name in resources_of(template, kind) if name.startswith(prefix)]
    return name


# The alerts table


def test_alerts_table_is_keyed_by_alert_id_without_ttl_with_pitr_and_the_tables_key(
    template: dict[str, Any],
) -> None:
    alerts = logical_id_of_table(template, ALERTS_PARTITION_KEY, None)
    events = logical_id_of_table(template, "account_id", "version")
    table = template["Resources"][alerts]
    assert "TimeToLiveSpecification" not in table["Properties"]
    replica = table["Properties"]["Replicas"][0]
    assert replica["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert replica["DeletionProtectionEnabled"] is True
    assert table["DeletionPolicy"] == "Retain"
    key_of = {
        name: template["Resources"][name]["Properties"]["Replicas"][0]["SSESpecification"]["KMSMasterKeyId"]
        for name in (alerts, events)
    }
    assert key_of[alerts] == key_of[events]


def test_fraud_function_records_alerts_once_and_never_deletes_them(template: dict[str, Any]) -> None:
    alerts = logical_id_of_table(template, ALERTS_PARTITION_KEY, None)
    assert actions_on(template, function_role(template, FRAUD), alerts) == {
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
    }
    assert variables(template, FRAUD)["ALERTS_TABLE_NAME"] == {"Ref": alerts}


def test_only_the_fraud_function_and_the_redrive_touch_the_alerts_table(template: dict[str, Any]) -> None:
    alerts = logical_id_of_table(template, ALERTS_PARTITION_KEY, None)
    roles = {
        ref["Ref"]
        for policy_type in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
        for policy in resources_of(template, policy_type).values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if f'"{alerts}"' in json.dumps(statement["Resource"])
        for ref in policy["Properties"]["Roles"]
    }
    assert roles == {function_role(template, FRAUD), function_role(template, REDRIVE)}


# Fraud limits in major units


def test_fraud_function_gets_the_limit_in_major_units(template: dict[str, Any]) -> None:
    fraud = variables(template, FRAUD)
    assert fraud["FRAUD_SINGLE_LIMIT_MAJOR"] == "10000"
    assert "FRAUD_SINGLE_LIMIT_MINOR" not in fraud
    assert "FRAUD_SINGLE_LIMITS_MAJOR" not in fraud  # no per-currency overrides by default


def test_per_currency_limits_are_rendered_sorted_as_json() -> None:
    stack = Stack(new_app(), "Limits", env=AppConfig().env())
    store = LedgerEventStore(stack, "Store", LedgerEventStoreProps(profile=DeploymentProfile.SANDBOX))
    archive = AuditArchive(stack, "Archive", AuditArchiveProps(profile=DeploymentProfile.SANDBOX))
    consumers = LedgerStreamConsumers(
        stack,
        "Consumers",
        LedgerStreamConsumersProps(
            event_store=store,
            archive=archive,
            profile=DeploymentProfile.SANDBOX,
            fraud_single_limit_major=5_000,
            fraud_single_limits_major={"JPY": 1_500_000, "BHD": 2_000},
        ),
    )
    expected = {
        "FRAUD_SINGLE_LIMIT_MAJOR": "5000",
        "FRAUD_SINGLE_LIMITS_MAJOR": '{"BHD": 2000, "JPY": 1500000}',
    }
    assert {k: consumers.fraud_environment[k] for k in expected} == expected
    Template.from_stack(stack).has_resource_properties(
        "AWS::Lambda::Function",
        {"Handler": FRAUD, "Environment": {"Variables": Match.object_like(expected)}},
    )


def test_alert_claim_outlasts_the_fraud_function(template: dict[str, Any]) -> None:
    # alerts.CLAIM_SECONDS must exceed the fraud timeout, or a running delivery loses its claim.
    _, fraud = function_named(template, FRAUD)
    assert fraud["Properties"]["Timeout"] < CLAIM_SECONDS


# The sink's gap fill


def test_sink_may_query_the_event_store_to_fill_gaps(template: dict[str, Any]) -> None:
    events = logical_id_of_table(template, "account_id", "version")
    assert actions_on(template, function_role(template, SINK), events) == {"dynamodb:Query"}
    assert variables(template, SINK)["EVENTS_TABLE_NAME"] == {"Ref": events}


# The redrive


def test_redrive_function_is_configured_like_the_command_line(template: dict[str, Any]) -> None:
    redrive = variables(template, REDRIVE)
    fraud = variables(template, FRAUD)
    failures = logical_id(template, "AWS::SQS::Queue", "LedgerStreamConsumersFailedRecordsF")
    assert redrive["FAILURE_QUEUE_URL"] == {"Ref": failures}
    for name in (
        "EVENTS_TABLE_NAME",
        "ALERTS_TABLE_NAME",
        "ALERT_TOPIC_ARN",
        "FRAUD_SINGLE_LIMIT_MAJOR",
        "FRAUD_VELOCITY_COUNT",
        "FRAUD_VELOCITY_WINDOW_MINUTES",
    ):
        assert redrive[name] == fraud[name], name
    assert set(redrive) >= {"PROJECTION_TABLE_NAME", "AUDIT_BUCKET_NAME"}
    _, function = function_named(template, REDRIVE)
    assert function["Properties"]["Timeout"] == 900


def test_redrive_consumes_the_failure_queue_and_its_dead_letters(template: dict[str, Any]) -> None:
    role = function_role(template, REDRIVE)
    failures = logical_id(template, "AWS::SQS::Queue", "LedgerStreamConsumersFailedRecordsF")
    dead_letters = logical_id(
        template, "AWS::SQS::Queue", "LedgerStreamConsumersFailedRecordsDeadLetterQueue"
    )
    for queue in (failures, dead_letters):
        assert actions_on(template, role, queue) == {"sqs:ReceiveMessage", "sqs:DeleteMessage"}
    queue_key = logical_id(template, "AWS::KMS::Key", "LedgerStreamConsumersKey")
    assert "kms:Decrypt" in actions_on(template, role, queue_key)


def test_redrive_reads_the_stream_and_may_decrypt_it(template: dict[str, Any]) -> None:
    role = function_role(template, REDRIVE)
    events = logical_id_of_table(template, "account_id", "version")
    stream_actions = {
        a
        for s in statements_of(template, role)
        if s["Resource"] == {"Fn::GetAtt": [events, "StreamArn"]}
        for a in actions(s)
    }
    assert stream_actions == {"dynamodb:GetShardIterator", "dynamodb:GetRecords"}
    table_key = logical_id(template, "AWS::KMS::Key", "LedgerEventStoreKey")
    assert "kms:Decrypt" in actions_on(template, role, table_key)


def test_redrive_repairs_like_replay_and_sweeps_pending_alerts(template: dict[str, Any]) -> None:
    role = function_role(template, REDRIVE)
    events = logical_id_of_table(template, "account_id", "version")
    projection = logical_id_of_table(template, "account_id", None)
    alerts = logical_id_of_table(template, ALERTS_PARTITION_KEY, None)
    assert actions_on(template, role, events) == {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan"}
    assert actions_on(template, role, projection) == {"dynamodb:PutItem"}
    assert actions_on(template, role, alerts) == {"dynamodb:Scan", "dynamodb:PutItem", "dynamodb:UpdateItem"}
    topic = logical_id(template, "AWS::SNS::Topic", "LedgerStreamConsumersFraudAlerts")
    assert actions_on(template, role, topic) == {"sns:Publish"}
    archive = logical_id(template, "AWS::S3::Bucket", "LedgerAuditArchive5")
    assert actions_on(template, role, archive) == {"s3:PutObject"}


# The archive's bucket policy


def test_archive_denies_event_writes_without_if_none_match(template: dict[str, Any]) -> None:
    archive = logical_id(template, "AWS::S3::Bucket", "LedgerAuditArchive5")
    stack_template(STACK, DeploymentProfile.PRODUCTION).has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "Bucket": {"Ref": archive},
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        {
                            "Sid": "DenyEventWritesWithoutIfNoneMatch",
                            "Effect": "Deny",
                            "Principal": {"AWS": "*"},
                            "Action": "s3:PutObject",
                            "Resource": {"Fn::Join": ["", [{"Fn::GetAtt": [archive, "Arn"]}, "/events/*"]]},
                            "Condition": {"Null": {"s3:if-none-match": "true"}},
                        }
                    ]
                )
            },
        },
    )


def test_archive_denies_unconditional_writes_in_the_sandbox_too() -> None:
    stack_template(STACK, DeploymentProfile.SANDBOX).has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {"Effect": "Deny", "Condition": {"Null": {"s3:if-none-match": "true"}}}
                        )
                    ]
                )
            }
        },
    )
