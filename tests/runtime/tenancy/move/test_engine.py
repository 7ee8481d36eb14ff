"""Moving a tenant between real databases: identical data under concurrent writes, a paused but
never lost write, rollback and resume after a crash, verification that catches a corrupted row."""

from __future__ import annotations

import datetime
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from dbpatterns.runtime.tenancy.access import TenantDataAccess, TenantMovingError
from dbpatterns.runtime.tenancy.catalog import Tier
from dbpatterns.runtime.tenancy.directory import TenantDirectory, TenantStatus
from dbpatterns.runtime.tenancy.move.engine import MoveEvent
from dbpatterns.runtime.tenancy.move.verify import VerificationError
from tests.runtime.tenancy.move.conftest import (
    NEIGHBOUR,
    POOL,
    STANDARD,
    TENANT,
    Fleet,
    MakeMover,
    seed,
)
from tests.runtime.tenancy.support import FakeClock

pytestmark = pytest.mark.needs_server


class CrashError(Exception):
    """Stands for the mover's process dying at a chosen step."""


def add_project(access: TenantDataAccess, name: str) -> uuid.UUID:
    project_id = uuid.uuid4()
    access.write(
        TENANT,
        lambda s: s.run(
            "INSERT INTO app.projects (project_id, name) VALUES (:p, :n) ON CONFLICT DO NOTHING",
            p=project_id,
            n=name,
        ),
        idempotent=True,
    )
    return project_id


def add_task(access: TenantDataAccess, project_id: uuid.UUID, title: str) -> None:
    access.write(
        TENANT,
        lambda s: s.run("INSERT INTO app.tasks (project_id, title) VALUES (:p, :t)", p=project_id, t=title),
        idempotent=False,
    )


def project_count(access: TenantDataAccess) -> int:
    return int(access.read(TENANT, lambda s: s.run("SELECT count(*) FROM app.projects"))[0][0])


def churn(access: TenantDataAccess, tag: str) -> None:
    """Inserts, an update, deletes (one cascading) - every kind of change the capture must carry."""
    project_id = add_project(access, f"new in {tag}")
    add_task(access, project_id, f"task added in {tag}")
    access.write(
        TENANT,
        lambda s: s.run(
            "UPDATE app.projects SET name = :n, status = 'archived' WHERE project_id = "
            "(SELECT project_id FROM app.projects WHERE name LIKE '%project%' ORDER BY project_id LIMIT 1)",
            n=f"renamed in {tag}",
        ),
        idempotent=True,
    )
    access.write(
        TENANT,
        lambda s: s.run(
            "DELETE FROM app.tasks WHERE task_id = (SELECT task_id FROM app.tasks ORDER BY task_id LIMIT 1)"
        ),
        idempotent=True,
    )
    access.write(  # cascades to the project's tasks
        TENANT,
        lambda s: s.run(
            "DELETE FROM app.projects WHERE project_id = (SELECT project_id FROM app.projects "
            "WHERE name LIKE '%project%' ORDER BY project_id DESC LIMIT 1)"
        ),
        idempotent=True,
    )


def test_a_move_under_writes_during_copy_and_catch_up_leaves_identical_data(
    fleet: Fleet,
    make_mover: MakeMover,
    make_access: Callable[..., TenantDataAccess],
    directory: TenantDirectory,
) -> None:
    seed(fleet)
    seed(fleet, tenant_id=NEIGHBOUR, projects=3)
    neighbour_before = fleet.rows(POOL, NEIGHBOUR)
    access = make_access()
    seen: list[tuple[str, int]] = []
    refused: list[str] = []

    def during(event: MoveEvent) -> None:
        if event.status.serves_reads:  # readable in every state of the move
            seen.append((event.status.value, project_count(access)))
        if event.kind == "copy" and event.table == "projects" and event.rows == 5:
            churn(access, "copy")
        if event.kind == "catch_up" and event.status is TenantStatus.CATCHING_UP and event.round == 1:
            churn(access, "catch-up")
        if event.kind == "fenced":
            try:
                add_project(access, "during cutover")
            except TenantMovingError:
                refused.append(event.status.value)

    report = make_mover(during).migrate(TENANT, STANDARD, target_tier=Tier.STANDARD)

    assert fleet.rows(STANDARD) == fleet.rows(POOL)
    names = {row[2] for row in fleet.rows(STANDARD)["projects"]}
    assert {"new in copy", "new in catch-up", "renamed in catch-up"} <= names
    assert "during cutover" not in names
    assert refused == ["cutover"]
    assert fleet.rows(STANDARD, NEIGHBOUR) == {"projects": [], "tasks": []}
    assert fleet.rows(POOL, NEIGHBOUR) == neighbour_before
    assert {state for state, _ in seen} >= {"copying", "catching_up", "cutover", "verifying"}
    assert all(count > 0 for _, count in seen)
    assert all(check.matches for check in report.checks)
    assert report.keys_replayed > 0
    assert report.write_pause_seconds > 0
    record = directory.get_tenant(TENANT)
    assert (record.status, record.database_id, record.tier, record.move) == (
        TenantStatus.ACTIVE,
        STANDARD,
        Tier.STANDARD,
        None,
    )
    assert record.previous is not None
    assert record.previous.database_id == POOL
    assert project_count(access) == len(fleet.rows(STANDARD)["projects"])


def test_no_acknowledged_write_is_lost_while_a_writer_runs_through_the_whole_move(
    fleet: Fleet, make_mover: MakeMover, make_access: Callable[..., TenantDataAccess]
) -> None:
    seed(fleet, projects=40)
    access = make_access()
    acknowledged: list[str] = []
    paused = 0
    stop = threading.Event()

    def writer() -> None:
        nonlocal paused
        n = 0
        while not stop.is_set():
            name = f"concurrent {n}"
            try:
                add_project(access, name)
            except TenantMovingError:
                paused += 1
                continue
            acknowledged.append(name)
            n += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        make_mover().migrate(TENANT, STANDARD)
        extra = len(acknowledged)
        deadline = time.monotonic() + 10
        while len(acknowledged) < extra + 5 and time.monotonic() < deadline:  # now writing to the target
            time.sleep(0.01)
    finally:
        stop.set()
        thread.join(timeout=30)

    on_target = {row[2] for row in fleet.rows(STANDARD)["projects"]}
    assert set(acknowledged) <= on_target
    assert len(fleet.rows(STANDARD)["projects"]) == 40 + len(acknowledged)


def test_a_stale_cached_placement_cannot_write_to_the_source_once_writes_are_paused(
    fleet: Fleet, make_mover: MakeMover, make_access: Callable[..., TenantDataAccess], table: Any
) -> None:
    seed(fleet, projects=2)
    clock = FakeClock()
    during_cutover = make_access(TenantDirectory(table, ttl_seconds=30, clock=clock))
    after_flip = make_access(TenantDirectory(table, ttl_seconds=30, clock=clock))
    for access in (during_cutover, after_flip):
        assert project_count(access) == 2  # both cache "active in pool-001" for 30 s
    outcomes: list[str] = []

    def during(event: MoveEvent) -> None:
        if event.kind == "fenced":
            try:
                add_project(during_cutover, "stale during cutover")
            except TenantMovingError as error:
                outcomes.append(error.status)

    make_mover(during).migrate(TENANT, STANDARD)
    add_project(after_flip, "stale after the flip")  # refused by the source's fence, re-resolved, written
    clock.advance(1.0)  # a record in a move state is cached for one second only
    add_project(during_cutover, "cached cutover expired")

    assert outcomes == ["cutover"]
    target, source = ({row[2] for row in fleet.rows(db)["projects"]} for db in (STANDARD, POOL))
    assert {"stale after the flip", "cached cutover expired"} <= target
    assert not {"stale during cutover", "stale after the flip", "cached cutover expired"} & source


def test_a_copy_killed_halfway_rolls_back_with_nothing_left_on_the_target(
    fleet: Fleet, make_mover: MakeMover, directory: TenantDirectory
) -> None:
    seed(fleet)
    before = fleet.rows(POOL)
    version = directory.get_tenant(TENANT).version

    def crash(event: MoveEvent) -> None:
        if event.kind == "copy" and event.table == "tasks" and event.rows >= 10:
            raise CrashError

    with pytest.raises(CrashError):
        make_mover(crash).migrate(TENANT, STANDARD)

    record = directory.get_tenant(TENANT)
    assert (record.status, record.database_id, record.move, record.version) == (
        TenantStatus.ACTIVE,
        POOL,
        None,
        version + 2,  # start, rollback
    )
    assert fleet.rows(STANDARD) == {"projects": [], "tasks": []}
    assert fleet.rows(POOL) == before
    assert fleet.triggers(POOL) == []


def test_a_copy_killed_halfway_resumes_without_a_lost_or_duplicated_row(
    fleet: Fleet,
    make_mover: MakeMover,
    make_access: Callable[..., TenantDataAccess],
    directory: TenantDirectory,
) -> None:
    seed(fleet)
    access = make_access()

    def crash(event: MoveEvent) -> None:
        if event.kind == "copy" and event.table == "tasks" and event.rows >= 10:
            churn(access, "before the crash")
            raise CrashError

    with pytest.raises(CrashError):
        make_mover(crash).migrate(TENANT, STANDARD, rollback_on_failure=False)
    assert directory.get_tenant(TENANT).status is TenantStatus.COPYING
    churn(access, "between crash and resume")  # the tenant stays writable

    report = make_mover().resume(TENANT)

    assert fleet.rows(STANDARD) == fleet.rows(POOL)
    assert sum(report.copied.values()) == sum(len(rows) for rows in fleet.rows(POOL).values())
    assert directory.get_tenant(TENANT).database_id == STANDARD


def test_a_crash_during_catch_up_resumes_from_the_catalog_state(
    fleet: Fleet,
    make_mover: MakeMover,
    make_access: Callable[..., TenantDataAccess],
    directory: TenantDirectory,
) -> None:
    seed(fleet)
    access = make_access()

    def crash(event: MoveEvent) -> None:
        if event.kind == "state" and event.status is TenantStatus.CATCHING_UP:
            churn(access, "after copy")
            raise CrashError

    with pytest.raises(CrashError):
        make_mover(crash).migrate(TENANT, STANDARD, rollback_on_failure=False)
    churn(access, "while interrupted")

    make_mover().resume(TENANT)

    assert fleet.rows(STANDARD) == fleet.rows(POOL)
    assert directory.get_tenant(TENANT).status is TenantStatus.ACTIVE


def test_a_corrupted_row_on_the_target_fails_verification_and_rolls_back(
    fleet: Fleet, make_mover: MakeMover, directory: TenantDirectory
) -> None:
    seed(fleet)
    before = fleet.rows(POOL)

    def corrupt(event: MoveEvent) -> None:
        if event.kind == "state" and event.status is TenantStatus.VERIFYING:
            with fleet.admin(STANDARD) as conn:
                conn.execute(
                    "UPDATE app.tasks SET title = 'bit rot' WHERE task_id = "
                    "(SELECT task_id FROM app.tasks ORDER BY task_id LIMIT 1)"
                )

    with pytest.raises(VerificationError) as raised:
        make_mover(corrupt).migrate(TENANT, STANDARD)

    assert [c.table for c in raised.value.checks if not c.matches] == ["tasks"]
    failed = next(c for c in raised.value.checks if not c.matches)
    assert failed.source.rows == failed.target.rows
    assert failed.source.checksum != failed.target.checksum
    record = directory.get_tenant(TENANT)
    assert (record.status, record.database_id, record.move) == (TenantStatus.ACTIVE, POOL, None)
    assert fleet.rows(STANDARD) == {"projects": [], "tasks": []}
    assert fleet.rows(POOL) == before
    assert fleet.triggers(POOL) == []


def test_an_operator_rollback_of_an_interrupted_move_restores_the_source(
    fleet: Fleet,
    make_mover: MakeMover,
    make_access: Callable[..., TenantDataAccess],
    directory: TenantDirectory,
) -> None:
    seed(fleet)

    def crash(event: MoveEvent) -> None:
        if event.kind == "fenced":
            raise CrashError

    with pytest.raises(CrashError):
        make_mover(crash).migrate(TENANT, STANDARD, rollback_on_failure=False)
    assert directory.get_tenant(TENANT).status is TenantStatus.CUTOVER

    make_mover().rollback(TENANT)

    add_project(make_access(), "after rollback")  # fence gone: the source takes writes again
    assert directory.get_tenant(TENANT).database_id == POOL
    assert fleet.rows(STANDARD) == {"projects": [], "tasks": []}
    assert fleet.triggers(POOL) == []


def test_cleanup_waits_for_the_grace_period_then_deletes_only_the_tenants_old_rows(
    fleet: Fleet, make_mover: MakeMover, directory: TenantDirectory
) -> None:
    seed(fleet)
    seed(fleet, tenant_id=NEIGHBOUR, projects=2)
    neighbour = fleet.rows(POOL, NEIGHBOUR)
    mover = make_mover(grace=datetime.timedelta(hours=1))
    mover.migrate(TENANT, STANDARD)

    with pytest.raises(Exception, match="grace period"):
        mover.cleanup(TENANT)
    later = make_mover(now=lambda: datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=2))
    deleted = later.cleanup(TENANT)

    assert deleted == {"tasks": 36, "projects": 12}
    assert fleet.rows(POOL) == {"projects": [], "tasks": []}
    assert fleet.rows(POOL, NEIGHBOUR) == neighbour
    assert fleet.triggers(POOL) == []
    assert directory.get_tenant(TENANT).previous is None


def test_a_dedicated_tenant_consolidates_back_into_a_pooled_shard(
    fleet: Fleet, make_mover: MakeMover, directory: TenantDirectory
) -> None:
    seed(fleet)
    make_mover(grace=datetime.timedelta(0)).migrate(TENANT, STANDARD)
    make_mover().cleanup(TENANT)
    moved = fleet.rows(STANDARD)

    report = make_mover().migrate(TENANT, POOL, target_tier=Tier.POOLED)

    assert fleet.rows(POOL) == moved
    assert (report.source_tier, report.target_tier) == (Tier.STANDARD, Tier.POOLED)
    assert directory.get_tenant(TENANT).tier is Tier.POOLED


def test_a_tenant_without_rows_moves_and_verifies(
    fleet: Fleet, make_mover: MakeMover, directory: TenantDirectory
) -> None:
    seed(fleet, tenant_id=NEIGHBOUR, projects=2)

    report = make_mover().migrate(TENANT, STANDARD)

    assert [(c.table, c.source.rows, c.target.rows, c.matches) for c in report.checks] == [
        ("projects", 0, 0, True),
        ("tasks", 0, 0, True),
    ]
    assert directory.get_tenant(TENANT).database_id == STANDARD


def test_a_move_interrupted_during_cutover_resumes_to_the_flip(
    fleet: Fleet,
    make_mover: MakeMover,
    make_access: Callable[..., TenantDataAccess],
    directory: TenantDirectory,
) -> None:
    seed(fleet)
    access = make_access()

    def crash(event: MoveEvent) -> None:
        if event.kind == "fenced":
            raise CrashError

    with pytest.raises(CrashError):
        make_mover(crash).migrate(TENANT, STANDARD, rollback_on_failure=False)
    with pytest.raises(TenantMovingError):  # still paused while nobody drives the move
        add_project(access, "while interrupted")
    assert project_count(access) == 12  # but readable

    report = make_mover().resume(TENANT)

    assert all(check.matches for check in report.checks)
    assert fleet.rows(STANDARD) == fleet.rows(POOL)
    assert directory.get_tenant(TENANT).status is TenantStatus.ACTIVE
