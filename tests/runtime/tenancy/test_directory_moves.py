"""The move contract on the directory item (moto): one conditional UpdateItem per transition, a
concurrent mover loses without writing anything, old items without move attributes still load."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from dbpatterns.runtime.tenancy.catalog import Tier
from dbpatterns.runtime.tenancy.directory import (
    DatabaseRecord,
    MoveConflictError,
    MoveRecord,
    TenantDirectory,
    TenantRecord,
    TenantStatus,
)
from tests.runtime.tenancy.support import FakeClock

MOVE = MoveRecord(
    move_id="mv-1",
    source_database_id="pool-001",
    target_database_id="std-globex",
    source_tier=Tier.POOLED,
    target_tier=Tier.STANDARD,
    started_at="2026-12-01T16:00:00Z",
)
LATER = datetime.datetime(2026, 12, 2, 16, 0, tzinfo=datetime.UTC)


@pytest.fixture
def table() -> Iterator[Any]:
    with mock_aws():
        dynamodb = boto3.resource("dynamodb", region_name="us-east-1")
        yield dynamodb.create_table(
            TableName="tenant-directory",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )


@pytest.fixture
def directory(table: Any) -> TenantDirectory:
    directory = TenantDirectory(table, ttl_seconds=0)
    directory.put_tenant(TenantRecord(tenant_id="globex", tier=Tier.POOLED, database_id="pool-001"))
    return directory


def item(table: Any) -> dict[str, Any]:
    return dict(table.get_item(Key={"pk": "tenant#globex"}, ConsistentRead=True)["Item"])


def test_a_move_walks_the_states_and_the_flip_rewrites_the_placement_in_one_write(
    directory: TenantDirectory, table: Any
) -> None:
    record = directory.start_move(directory.get_tenant("globex"), MOVE)
    assert item(table)["move"] == {
        "move_id": "mv-1",
        "source_database_id": "pool-001",
        "target_database_id": "std-globex",
        "source_tier": "pooled",
        "target_tier": "standard",
        "started_at": "2026-12-01T16:00:00Z",
    }
    statuses = [record.status]
    while record.status is not TenantStatus.VERIFYING:
        record = directory.advance_move(record)
        statuses.append(record.status)
        assert directory.get_tenant("globex") == record

    finished = directory.finish_move(record, cleanup_after=LATER)

    assert [s.value for s in statuses] == ["copying", "catching_up", "cutover", "verifying"]
    stored = item(table)
    assert "move" not in stored
    assert {k: stored[k] for k in ("status", "database_id", "tier", "version")} == {
        "status": "active",
        "database_id": "std-globex",
        "tier": "standard",
        "version": 6,
    }
    assert stored["previous"] == {
        "database_id": "pool-001",
        "tier": "pooled",
        "move_id": "mv-1",
        "cleanup_after": "2026-12-02T16:00:00Z",
    }
    assert directory.get_tenant("globex") == finished


@pytest.mark.parametrize("steps", [0, 1, 2, 3])
def test_a_rollback_from_any_move_state_restores_the_source(
    directory: TenantDirectory, table: Any, steps: int
) -> None:
    record = directory.start_move(directory.get_tenant("globex"), MOVE)
    for _ in range(steps):
        record = directory.advance_move(record)

    directory.abort_move(record)

    stored = item(table)
    assert "move" not in stored
    assert (stored["status"], stored["database_id"], stored["version"]) == ("active", "pool-001", 3 + steps)


def test_a_concurrent_mover_loses_and_writes_nothing(directory: TenantDirectory, table: Any) -> None:
    both_read = directory.get_tenant("globex")
    directory.start_move(both_read, MOVE)
    before = item(table)

    with pytest.raises(MoveConflictError, match="another mover"):
        directory.start_move(both_read, MoveRecord(**{**MOVE.__dict__, "move_id": "mv-2"}))

    assert item(table) == before


def test_a_step_from_a_stale_version_is_refused(directory: TenantDirectory, table: Any) -> None:
    copying = directory.start_move(directory.get_tenant("globex"), MOVE)
    directory.abort_move(copying)  # an operator rolled the move back meanwhile
    before = item(table)

    with pytest.raises(MoveConflictError):
        directory.advance_move(copying)

    assert item(table) == before


def test_a_second_start_is_refused_by_the_condition_even_with_the_current_version(
    directory: TenantDirectory, table: Any
) -> None:
    copying = directory.start_move(directory.get_tenant("globex"), MOVE)
    # A record claiming "active" at the current version, as a buggy writer might build it.
    forged = TenantRecord(
        tenant_id="globex", tier=Tier.POOLED, database_id="pool-001", version=copying.version
    )

    with pytest.raises(MoveConflictError):
        directory.start_move(forged, MOVE)


def test_cleanup_clears_the_previous_placement(directory: TenantDirectory, table: Any) -> None:
    record = directory.start_move(directory.get_tenant("globex"), MOVE)
    for _ in range(3):
        record = directory.advance_move(record)
    record = directory.finish_move(record, cleanup_after=LATER)

    directory.clear_previous(record)

    assert "previous" not in item(table)
    assert item(table)["version"] == 7


def test_an_item_written_before_moves_existed_still_loads(table: Any) -> None:
    table.put_item(
        Item={
            "pk": "tenant#hooli",
            "kind": "tenant",
            "tier": "pooled",
            "database_id": "pool-001",
            "status": "active",
            "version": 4,
        }
    )

    record = TenantDirectory(table).get_tenant("hooli")

    assert (record.move, record.previous, record.version) == (None, None, 4)


def test_moving_states_serve_reads_and_pause_writes_only_at_the_end() -> None:
    assert {s.value for s in TenantStatus if s.serves_reads} == {
        "active",
        "copying",
        "catching_up",
        "cutover",
        "verifying",
    }
    assert {s.value for s in TenantStatus if s.serves_writes} == {"active", "copying", "catching_up"}
    assert {s.value for s in TenantStatus if s.pauses_writes} == {"cutover", "verifying"}


def test_a_record_in_a_move_state_is_cached_for_one_second_only(
    directory: TenantDirectory, table: Any
) -> None:
    directory.put_database(
        DatabaseRecord(
            database_id="pool-001",
            tier=Tier.POOLED,
            writer_host="h",
            database_name="app",
            db_user="tenancy_app",
            region="us-east-1",
        )
    )
    clock = FakeClock()
    cached = TenantDirectory(table, ttl_seconds=30, clock=clock)
    directory.start_move(directory.get_tenant("globex"), MOVE)
    assert cached.resolve("globex").tenant.status is TenantStatus.COPYING
    reads = cached.reads

    clock.advance(0.5)
    cached.resolve("globex")
    assert cached.reads == reads
    clock.advance(0.6)
    cached.resolve("globex")
    assert cached.reads == reads + 1
