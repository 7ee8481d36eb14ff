"""Bad input is refused before anything is written: the directory item, the source and the target
are exactly as they were."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest

from dbpatterns.runtime.tenancy.catalog import Tier
from dbpatterns.runtime.tenancy.directory import DatabaseRecord, MoveRecord, TenantDirectory, utc_iso
from dbpatterns.runtime.tenancy.move.engine import MoveError
from tests.runtime.tenancy.move.conftest import (
    OTHER_POOL,
    POOL,
    STANDARD,
    TENANT,
    Fleet,
    MakeMover,
    seed,
)

pytestmark = pytest.mark.needs_server


def snapshot(table: Any, fleet: Fleet) -> tuple[Any, ...]:
    item = table.get_item(Key={"pk": f"tenant#{TENANT}"}, ConsistentRead=True).get("Item")
    return (
        item,
        {db: fleet.rows(db) for db in fleet.databases},
        {db: fleet.triggers(db) for db in fleet.databases},
    )


def start_elsewhere(directory: TenantDirectory) -> None:
    record = directory.get_tenant(TENANT)
    directory.start_move(
        record,
        MoveRecord(
            move_id="mv-other",
            source_database_id=POOL,
            target_database_id=STANDARD,
            source_tier=Tier.POOLED,
            target_tier=Tier.STANDARD,
            started_at=utc_iso(datetime.datetime.now(datetime.UTC)),
        ),
    )


def put_rows_on_target(fleet: Fleet) -> None:
    seed(fleet, STANDARD, projects=1, tasks=0)


@pytest.mark.parametrize(
    ("tenant", "target", "tier", "prepare", "message"),
    [
        ("t-nobody", STANDARD, None, None, "not in the tenant directory"),
        (TENANT, POOL, None, None, "source and target are the same"),
        (TENANT, "std-missing", None, None, "target database 'std-missing' is not in the tenant directory"),
        (TENANT, OTHER_POOL, Tier.STANDARD, None, "is pooled, not standard"),
        (TENANT, STANDARD, None, start_elsewhere, "already moving"),
        (TENANT, STANDARD, None, "rows", "already holds rows of tenant 't-42'"),
    ],
    ids=[
        "unknown-tenant",
        "same-database",
        "unknown-target",
        "wrong-tier",
        "already-moving",
        "target-has-rows",
    ],
)
def test_rejects_a_bad_move_and_changes_nothing(
    fleet: Fleet,
    make_mover: MakeMover,
    directory: TenantDirectory,
    table: Any,
    tenant: str,
    target: str,
    tier: Tier | None,
    prepare: Callable[[TenantDirectory], None] | str | None,
    message: str,
) -> None:
    seed(fleet)
    if prepare == "rows":
        put_rows_on_target(fleet)
    elif callable(prepare):
        prepare(directory)
    before = snapshot(table, fleet)

    with pytest.raises(MoveError, match=message):
        make_mover().migrate(tenant, target, target_tier=tier)

    assert snapshot(table, fleet) == before


def test_rejects_a_move_within_the_same_dedicated_tier(
    fleet: Fleet, make_mover: MakeMover, directory: TenantDirectory, table: Any
) -> None:
    seed(fleet)
    make_mover(grace=datetime.timedelta(0)).migrate(TENANT, STANDARD)
    make_mover().cleanup(TENANT)
    directory.put_database(
        DatabaseRecord(
            database_id="std-t-42-b",
            tier=Tier.STANDARD,
            writer_host="127.0.0.1",
            database_name="unused",
            db_user="unused",
            region="us-east-1",
        )
    )
    before = snapshot(table, fleet)

    with pytest.raises(MoveError, match="already standard"):
        make_mover().migrate(TENANT, "std-t-42-b")

    assert snapshot(table, fleet) == before


def test_rejects_a_new_move_while_the_previous_ones_rows_await_cleanup(
    fleet: Fleet, make_mover: MakeMover, table: Any
) -> None:
    seed(fleet)
    make_mover().migrate(TENANT, STANDARD)
    before = snapshot(table, fleet)

    with pytest.raises(MoveError, match="still has rows in 'pool-001'"):
        make_mover().migrate(TENANT, OTHER_POOL)

    assert snapshot(table, fleet) == before


def test_a_resume_or_rollback_without_a_move_is_refused(make_mover: MakeMover, fleet: Fleet) -> None:
    with pytest.raises(MoveError, match="no move to resume"):
        make_mover().resume(TENANT)
    with pytest.raises(MoveError, match="no move to roll back"):
        make_mover().rollback(TENANT)
    with pytest.raises(MoveError, match="no finished move awaiting cleanup"):
        make_mover().cleanup(TENANT)
