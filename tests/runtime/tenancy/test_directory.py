"""The runtime tenant directory on DynamoDB (moto): two-level records, a TTL cache, and no caching
of unknown tenants."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from dbpatterns.errors import PropValidationError
from dbpatterns.runtime.tenancy.catalog import Tier
from dbpatterns.runtime.tenancy.directory import (
    DatabaseRecord,
    TenantDirectory,
    TenantRecord,
    TenantStatus,
    UnknownTenantError,
)
from tests.runtime.tenancy.support import FakeClock

ACME_DB = DatabaseRecord(
    database_id="ent-acme",
    tier=Tier.ENTERPRISE,
    writer_host="ent-acme.cluster-abc.us-east-1.rds.amazonaws.com",
    reader_host="ent-acme.cluster-ro-abc.us-east-1.rds.amazonaws.com",
    database_name="app",
    db_user="tenancy_app",
    region="us-east-1",
    stack_name="DbPatterns-Tenant-acme",
)
POOL_DB = DatabaseRecord(
    database_id="pool-001",
    tier=Tier.POOLED,
    writer_host="pool-001.abc.us-east-1.rds.amazonaws.com",
    database_name="app",
    db_user="tenancy_app",
    region="us-east-1",
)


@pytest.fixture
def table() -> Iterator[Any]:
    with mock_aws():
        dynamodb = boto3.resource("dynamodb", region_name="us-east-1")
        created = dynamodb.create_table(
            TableName="tenant-directory",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield created


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def directory(table: Any, clock: FakeClock) -> TenantDirectory:
    directory = TenantDirectory(table, ttl_seconds=30, clock=clock)
    directory.put_database(ACME_DB)
    directory.put_database(POOL_DB)
    directory.put_tenant(TenantRecord(tenant_id="acme", tier=Tier.ENTERPRISE, database_id="ent-acme"))
    directory.put_tenant(TenantRecord(tenant_id="bluth", tier=Tier.POOLED, database_id="pool-001"))
    directory.put_tenant(TenantRecord(tenant_id="hooli", tier=Tier.POOLED, database_id="pool-001"))
    return directory


def test_a_tenant_resolves_to_its_database_record(directory: TenantDirectory) -> None:
    placement = directory.resolve("acme")

    assert placement.tenant == TenantRecord(tenant_id="acme", tier=Tier.ENTERPRISE, database_id="ent-acme")
    assert placement.database == ACME_DB


def test_lookups_within_the_ttl_are_served_from_the_cache_and_tenants_share_database_records(
    directory: TenantDirectory, clock: FakeClock
) -> None:
    directory.resolve("bluth")
    directory.resolve("bluth")
    clock.advance(29)
    directory.resolve("hooli")  # its tenant item is new; the shard's database item is cached

    assert directory.reads == 3


def test_a_change_is_seen_after_the_ttl(directory: TenantDirectory, table: Any, clock: FakeClock) -> None:
    directory.resolve("bluth")
    table.update_item(
        Key={"pk": "tenant#bluth"},
        UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": "suspended"},
    )
    assert directory.resolve("bluth").tenant.status is TenantStatus.ACTIVE

    clock.advance(30)

    assert directory.resolve("bluth").tenant.status is TenantStatus.SUSPENDED


def test_invalidate_forgets_a_tenant_at_once(directory: TenantDirectory) -> None:
    directory.resolve("acme")
    directory.invalidate("acme")
    directory.resolve("acme")

    assert directory.reads == 3  # tenant twice, database once


def test_an_unknown_tenant_is_not_cached_so_a_new_one_is_found_at_once(directory: TenantDirectory) -> None:
    with pytest.raises(UnknownTenantError, match="'initech'"):
        directory.resolve("initech")
    directory.put_tenant(TenantRecord(tenant_id="initech", tier=Tier.POOLED, database_id="pool-001"))

    assert directory.resolve("initech").database == POOL_DB


def test_a_tenant_whose_database_is_missing_is_reported(directory: TenantDirectory) -> None:
    directory.put_tenant(TenantRecord(tenant_id="globex", tier=Tier.STANDARD, database_id="std-globex"))

    with pytest.raises(UnknownTenantError, match="its database 'std-globex'"):
        directory.resolve("globex")


def test_put_tenant_never_overwrites_an_existing_tenant(directory: TenantDirectory) -> None:
    with pytest.raises(ClientError, match="ConditionalCheckFailed"):
        directory.put_tenant(TenantRecord(tenant_id="acme", tier=Tier.POOLED, database_id="pool-001"))

    assert directory.resolve("acme").tenant.tier is Tier.ENTERPRISE


def test_a_malformed_tenant_id_is_refused_before_any_read(directory: TenantDirectory) -> None:
    with pytest.raises(PropValidationError):
        directory.resolve("acme' OR 1=1")

    assert directory.reads == 0


def test_records_round_trip_through_their_items() -> None:
    assert DatabaseRecord.from_item(ACME_DB.to_item()) == ACME_DB
    assert DatabaseRecord.from_item(POOL_DB.to_item()) == POOL_DB
    tenant = TenantRecord(tenant_id="acme", tier=Tier.ENTERPRISE, database_id="ent-acme", version=7)
    assert TenantRecord.from_item(tenant.to_item()) == tenant


@pytest.mark.parametrize("ttl", [-1, 301])
def test_rejects_a_ttl_that_would_serve_stale_placements_too_long(table: Any, ttl: float) -> None:
    with pytest.raises(PropValidationError, match="ttl_seconds"):
        TenantDirectory(table, ttl_seconds=ttl)
