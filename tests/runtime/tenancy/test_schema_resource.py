"""The schema custom resource: Create and Update migrate with the master secret from Secrets
Manager (moto), Delete leaves the database alone; refusals fail the deployment before connecting."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from dbpatterns.errors import PropValidationError
from dbpatterns.handlers.tenancy.schema_resource import SCHEMA_VERSION, on_event
from dbpatterns.runtime.tenancy.migrate import MigrationError
from tests.runtime.tenancy.conftest import HOST, PORT, TenancyDatabase
from tests.runtime.tenancy.support import FakeLambdaContext

CONTEXT: Any = FakeLambdaContext()  # duck-typed stand-in for LambdaContext

pytestmark = pytest.mark.needs_server


@pytest.fixture
def secret_arn() -> Iterator[str]:
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="us-east-1")
        # The local server trusts loopback connections; in AWS this is the RDS-managed master secret.
        arn = client.create_secret(
            Name="master", SecretString=json.dumps({"username": "postgres", "password": ""})
        )
        yield str(arn["ARN"])


def event(request_type: str, database: TenancyDatabase, secret_arn: str, **extra: Any) -> dict[str, Any]:
    properties = {
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:provider",
        "Host": HOST,
        "Port": str(PORT),
        "Database": database.name,
        "MasterSecretArn": secret_arn,
        "IamAuth": "false",
        "OwnerRole": database.roles.owner,
        "AppRole": database.roles.app,
        "SchemaVersion": SCHEMA_VERSION,
    } | extra
    body: dict[str, Any] = {"RequestType": request_type, "ResourceProperties": properties}
    if request_type != "Create":
        body["PhysicalResourceId"] = f"tenancy-schema:{HOST}:{PORT}/{database.name}"
    return body


def tables(database: TenancyDatabase) -> set[str]:
    with database.admin() as conn:
        return {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'app'")}


def test_create_update_and_delete(
    fresh_database: TenancyDatabase, secret_arn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TLS_MODE", "disable")

    created = on_event(event("Create", fresh_database, secret_arn), CONTEXT)
    updated = on_event(event("Update", fresh_database, secret_arn), CONTEXT)
    deleted = on_event(event("Delete", fresh_database, secret_arn), CONTEXT)

    physical = f"tenancy-schema:{HOST}:{PORT}/{fresh_database.name}"
    assert created == {
        "PhysicalResourceId": physical,
        "Data": {"SchemaVersion": "1", "AppRole": fresh_database.roles.app},
    }
    assert updated["PhysicalResourceId"] == physical
    assert deleted == {"PhysicalResourceId": physical}
    assert tables(fresh_database) == {"projects", "tasks"}  # Delete kept the data


def test_iam_auth_on_a_server_without_rds_iam_fails_the_deployment_and_changes_nothing(
    fresh_database: TenancyDatabase, secret_arn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TLS_MODE", "disable")

    with pytest.raises(MigrationError, match="rds_iam"):
        on_event(event("Create", fresh_database, secret_arn, IamAuth="true"), CONTEXT)

    assert tables(fresh_database) == set()


def test_without_a_ca_bundle_the_default_verify_full_refuses_before_connecting(
    fresh_database: TenancyDatabase, secret_arn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TLS_MODE", raising=False)
    monkeypatch.delenv("RDS_CA_BUNDLE", raising=False)

    with pytest.raises(PropValidationError, match="ca_bundle"):
        on_event(event("Create", fresh_database, secret_arn), CONTEXT)


def test_plain_text_to_a_remote_host_is_refused(
    secret_arn: str, fresh_database: TenancyDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TLS_MODE", "disable")

    with pytest.raises(PropValidationError, match="loopback"):
        on_event(
            event("Create", fresh_database, secret_arn, Host="pool-001.abc.us-east-1.rds.amazonaws.com"),
            CONTEXT,
        )
