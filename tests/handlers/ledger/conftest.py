"""moto-backed resources for the ledger tests: the three tables, the audit bucket, the alert topic."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any

import boto3  # type: ignore[import-untyped, unused-ignore]
import pytest
from botocore.config import Config  # type: ignore[import-untyped, unused-ignore]
from moto import mock_aws

from dbpatterns.handlers.ledger.store import LedgerTables
from tests.handlers.ledger.support import FakeLambdaContext

EVENTS_TABLE = "ledger-events"
IDEMPOTENCY_TABLE = "ledger-idempotency"
PROJECTION_TABLE = "ledger-balances"
AUDIT_BUCKET = "ledger-audit-archive"
ALERTS_TABLE = "ledger-fraud-alerts"

FRAUD_SINGLE_LIMIT_MAJOR = 1_000
FRAUD_SINGLE_LIMIT_MINOR = FRAUD_SINGLE_LIMIT_MAJOR * 100
"""The limit in cents of a two-decimal currency (EUR, the tests' usual currency)."""
FRAUD_VELOCITY_COUNT = 3
FRAUD_VELOCITY_WINDOW_MINUTES = 10


@dataclass
class Ledger:
    dynamodb: Any
    s3: Any
    sqs: Any
    sns: Any
    streams: Any
    topic_arn: str
    queue_url: str
    failure_queue_url: str
    """The stream mappings' on-failure destination."""
    events_table: str = EVENTS_TABLE
    idempotency_table: str = IDEMPOTENCY_TABLE
    projection_table: str = PROJECTION_TABLE
    bucket: str = AUDIT_BUCKET
    alerts_table: str = ALERTS_TABLE

    @property
    def stream_arn(self) -> str:
        return str(self.dynamodb.describe_table(TableName=self.events_table)["Table"]["LatestStreamArn"])

    @property
    def tables(self) -> LedgerTables:
        return LedgerTables(events=self.events_table, idempotency=self.idempotency_table)

    def event_items(self, account_id: str) -> list[dict[str, Any]]:
        response = self.dynamodb.query(
            TableName=self.events_table,
            KeyConditionExpression="account_id = :a",
            ExpressionAttributeValues={":a": {"S": account_id}},
            ConsistentRead=True,
        )
        return list(response["Items"])

    def projection_item(self, account_id: str) -> dict[str, Any] | None:
        response = self.dynamodb.get_item(
            TableName=self.projection_table, Key={"account_id": {"S": account_id}}, ConsistentRead=True
        )
        item: dict[str, Any] | None = response.get("Item")
        return item

    def alert_record(self, alert_id: str) -> dict[str, Any] | None:
        response = self.dynamodb.get_item(
            TableName=self.alerts_table, Key={"alert_id": {"S": alert_id}}, ConsistentRead=True
        )
        item: dict[str, Any] | None = response.get("Item")
        return item

    def alerts(self) -> list[dict[str, Any]]:
        """Every SNS notification delivered to the test queue so far (SNS envelopes)."""
        notifications: list[dict[str, Any]] = []
        while True:
            response = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10)
            messages = response.get("Messages", [])
            if not messages:
                return notifications
            for message in messages:
                notifications.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])


@cache
def _client(service: str) -> Any:
    """One client per service for the whole run: building a client costs ~50 ms, and moto (imported
    above) intercepts every client while a mock is active, whichever mock it was created under.
    moto 5.2 answers DynamoDB Streams only on the regional endpoint, not on botocore's account-based
    one (``{account}.streams-ddb...``), so that client keeps to the regional endpoint."""
    if service == "dynamodbstreams":
        return boto3.client(service, config=Config(account_id_endpoint_mode="disabled"))
    return boto3.client(service)


def create_ledger(monkeypatch: pytest.MonkeyPatch) -> Ledger:
    """Create the resources inside an active moto mock and point the handlers' env vars at them."""
    dynamodb = _client("dynamodb")
    dynamodb.create_table(
        TableName=EVENTS_TABLE,
        KeySchema=[
            {"AttributeName": "account_id", "KeyType": "HASH"},
            {"AttributeName": "version", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "account_id", "AttributeType": "S"},
            {"AttributeName": "version", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    dynamodb.create_table(
        TableName=IDEMPOTENCY_TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.update_time_to_live(
        TableName=IDEMPOTENCY_TABLE, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
    )
    dynamodb.create_table(
        TableName=PROJECTION_TABLE,
        KeySchema=[{"AttributeName": "account_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "account_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )

    dynamodb.create_table(
        TableName=ALERTS_TABLE,
        KeySchema=[{"AttributeName": "alert_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "alert_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )

    s3 = _client("s3")
    s3.create_bucket(Bucket=AUDIT_BUCKET, ObjectLockEnabledForBucket=True)
    s3.put_object_lock_configuration(
        Bucket=AUDIT_BUCKET,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 1}},
        },
    )

    sns = _client("sns")
    sqs = _client("sqs")
    topic_arn = sns.create_topic(Name="ledger-fraud-alerts")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="ledger-fraud-alerts-test")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    failure_queue_url = sqs.create_queue(QueueName="ledger-stream-failures")["QueueUrl"]

    for name, value in {
        "EVENTS_TABLE_NAME": EVENTS_TABLE,
        "IDEMPOTENCY_TABLE_NAME": IDEMPOTENCY_TABLE,
        "PROJECTION_TABLE_NAME": PROJECTION_TABLE,
        "AUDIT_BUCKET_NAME": AUDIT_BUCKET,
        "ALERT_TOPIC_ARN": topic_arn,
        "ALERTS_TABLE_NAME": ALERTS_TABLE,
        "FAILURE_QUEUE_URL": failure_queue_url,
        "FRAUD_SINGLE_LIMIT_MAJOR": str(FRAUD_SINGLE_LIMIT_MAJOR),
        "FRAUD_VELOCITY_COUNT": str(FRAUD_VELOCITY_COUNT),
        "FRAUD_VELOCITY_WINDOW_MINUTES": str(FRAUD_VELOCITY_WINDOW_MINUTES),
    }.items():
        monkeypatch.setenv(name, value)
    return Ledger(
        dynamodb=dynamodb,
        s3=s3,
        sqs=sqs,
        sns=sns,
        streams=_client("dynamodbstreams"),
        topic_arn=topic_arn,
        queue_url=queue_url,
        failure_queue_url=failure_queue_url,
    )


@contextmanager
def mocked_ledger(monkeypatch: pytest.MonkeyPatch) -> Iterator[Ledger]:
    """A fresh moto account holding the ledger's resources (state is reset on every mock start).

    The handlers' cached clients are kept across tests for speed; ``mock_aws`` intercepts them too.
    """
    with mock_aws():
        yield create_ledger(monkeypatch)


@pytest.fixture
def ledger(monkeypatch: pytest.MonkeyPatch) -> Iterator[Ledger]:
    with mocked_ledger(monkeypatch) as resources:
        yield resources


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()
