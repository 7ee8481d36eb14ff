"""The directory custom resource on moto DynamoDB: register, update the tenant list, refuse to
contradict a tenant registered elsewhere, and clean up on Delete."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from dbpatterns.handlers.tenancy.directory_resource import on_event
from dbpatterns.runtime.tenancy.catalog import Tier
from dbpatterns.runtime.tenancy.directory import (
    DirectoryConflictError,
    MoveRecord,
    TenantDirectory,
    TenantRecord,
    UnknownTenantError,
)
from tests.runtime.tenancy.support import FakeLambdaContext

CONTEXT: Any = FakeLambdaContext()  # duck-typed stand-in for LambdaContext

TABLE = "tenant-directory"
POOL = {
    "database_id": "pool-001",
    "tier": "pooled",
    "writer_host": "pool-001.abc.us-east-1.rds.amazonaws.com",
    "port": "5432",
    "database_name": "app",
    "db_user": "tenancy_app",
    "region": "us-east-1",
    "stack_name": "DbPatterns-TenantPool-001",
}


@pytest.fixture
def table() -> Iterator[Any]:
    with mock_aws():
        dynamodb = boto3.resource("dynamodb", region_name="us-east-1")
        yield dynamodb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )


def event(request_type: str, tenants: list[str], old_tenants: list[str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "RequestType": request_type,
        "ResourceProperties": {"TableName": TABLE, "Database": POOL, "Tenants": tenants},
    }
    if request_type != "Create":
        body["PhysicalResourceId"] = "tenancy-directory:pool-001"
    if old_tenants is not None:
        body["OldResourceProperties"] = {"TableName": TABLE, "Database": POOL, "Tenants": old_tenants}
    return body


def test_create_registers_the_database_and_its_tenants(table: Any) -> None:
    response = on_event(event("Create", ["bluth", "hooli"]), CONTEXT)

    directory = TenantDirectory(table)
    assert response == {"PhysicalResourceId": "tenancy-directory:pool-001", "Data": {"TenantCount": "2"}}
    placement = directory.resolve("hooli")
    assert (placement.tenant.tier, placement.database.writer_host) == (Tier.POOLED, POOL["writer_host"])


def test_update_adds_new_tenants_and_removes_dropped_ones_without_touching_the_rest(table: Any) -> None:
    on_event(event("Create", ["bluth", "hooli"]), CONTEXT)
    table.update_item(
        Key={"pk": "tenant#bluth"}, UpdateExpression="SET version = :v", ExpressionAttributeValues={":v": 5}
    )

    on_event(event("Update", ["bluth", "pied-piper"], old_tenants=["bluth", "hooli"]), CONTEXT)

    directory = TenantDirectory(table)
    assert directory.resolve("pied-piper").database.database_id == "pool-001"
    assert directory.resolve("bluth").tenant.version == 5  # an existing record is left as it is
    with pytest.raises(UnknownTenantError):
        directory.resolve("hooli")


def test_a_tenant_registered_in_another_database_fails_the_deployment(table: Any) -> None:
    TenantDirectory(table).put_tenant(
        TenantRecord(tenant_id="hooli", tier=Tier.STANDARD, database_id="std-hooli")
    )

    with pytest.raises(DirectoryConflictError, match="'hooli' is registered in 'std-hooli', not 'pool-001'"):
        on_event(event("Create", ["bluth", "hooli"]), CONTEXT)


def test_delete_removes_the_database_and_only_the_tenants_still_pointing_at_it(table: Any) -> None:
    on_event(event("Create", ["bluth", "hooli"]), CONTEXT)
    # hooli has meanwhile moved to its own instance (issue 11's flip); its record must survive.
    table.update_item(
        Key={"pk": "tenant#hooli"},
        UpdateExpression="SET database_id = :d",
        ExpressionAttributeValues={":d": "std-hooli"},
    )

    response = on_event(event("Delete", ["bluth", "hooli"]), CONTEXT)

    assert response == {"PhysicalResourceId": "tenancy-directory:pool-001"}
    assert table.get_item(Key={"pk": "tenant#bluth"}).get("Item") is None
    assert table.get_item(Key={"pk": "tenant#hooli"})["Item"]["database_id"] == "std-hooli"
    assert table.get_item(Key={"pk": "database#pool-001"}).get("Item") is None


def test_a_move_target_and_the_catalog_edit_after_the_flip_deploy_without_conflict(table: Any) -> None:
    """The catalog's planned move: the target registers only its database; the tenant keeps resolving
    to its shard until the flip; after it, the edited catalog's deploy (the target lists the tenant, the
    shard no longer does) changes nothing of the tenant's record."""
    target = {
        **POOL,
        "database_id": "std-bluth",
        "tier": "standard",
        "writer_host": "std-bluth.abc.us-east-1.rds.amazonaws.com",
        "stack_name": "DbPatterns-Tenant-bluth",
    }

    def entry(
        request_type: str, database: dict[str, Any], tenants: list[str], old: list[str]
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "RequestType": request_type,
            "ResourceProperties": {"TableName": TABLE, "Database": database, "Tenants": tenants},
        }
        if request_type == "Update":
            body["PhysicalResourceId"] = f"tenancy-directory:{database['database_id']}"
            body["OldResourceProperties"] = {"TableName": TABLE, "Database": database, "Tenants": old}
        return body

    on_event(event("Create", ["bluth", "hooli"]), CONTEXT)
    on_event(entry("Create", target, [], []), CONTEXT)  # the planned move's target database
    directory = TenantDirectory(table)
    assert directory.resolve("bluth").database.database_id == "pool-001"
    assert directory.get_database("std-bluth") is not None

    record = directory.start_move(
        directory.get_tenant("bluth"),
        MoveRecord(
            move_id="m-1",
            source_database_id="pool-001",
            target_database_id="std-bluth",
            source_tier=Tier.POOLED,
            target_tier=Tier.STANDARD,
            started_at="2026-12-01T00:00:00Z",
        ),
    )
    for _ in range(3):
        record = directory.advance_move(record)
    flipped = directory.finish_move(record, cleanup_after=datetime.datetime(2026, 12, 2, tzinfo=datetime.UTC))

    on_event(entry("Update", target, ["bluth"], []), CONTEXT)  # catalog edited: bluth is standard
    on_event(event("Update", ["hooli"], old_tenants=["bluth", "hooli"]), CONTEXT)  # ... and off the shard

    after = directory.get_tenant("bluth")
    assert after == flipped
    assert (after.database_id, after.tier) == ("std-bluth", Tier.STANDARD)
    assert TenantDirectory(table).resolve("bluth").database.writer_host == target["writer_host"]


def test_dropping_a_tenant_that_is_still_moving_out_fails_before_anything_is_written(table: Any) -> None:
    """``complete-move`` before the flip: the shard's deploy would delete the moving tenant's item."""
    on_event(event("Create", ["bluth", "hooli"]), CONTEXT)
    directory = TenantDirectory(table)
    directory.start_move(
        directory.get_tenant("bluth"),
        MoveRecord(
            move_id="m-1",
            source_database_id="pool-001",
            target_database_id="std-bluth",
            source_tier=Tier.POOLED,
            target_tier=Tier.STANDARD,
            started_at="2026-12-01T00:00:00Z",
        ),
    )
    before = table.scan()["Items"]

    with pytest.raises(DirectoryConflictError, match="'bluth' is moving \\(copying\\) from 'pool-001'"):
        on_event(event("Update", ["pied-piper"], old_tenants=["bluth", "hooli"]), CONTEXT)

    assert table.scan()["Items"] == before
