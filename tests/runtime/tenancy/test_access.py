"""The tenant data-access library against the real PostgreSQL: context per transaction, routing,
application_name, status checks, and tenant ids that never reach SQL."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from typing import Any

import pg8000.native
import pytest
from pg8000.exceptions import DatabaseError

from dbpatterns.errors import PropValidationError
from dbpatterns.runtime.tenancy.access import (
    AccessConfig,
    Intent,
    TenantDataAccess,
    TenantSession,
    TenantUnavailableError,
)
from dbpatterns.runtime.tenancy.connection import ConnectionSettings, open_connection
from dbpatterns.runtime.tenancy.directory import StaticDirectory, TenantStatus, UnknownTenantError
from tests.runtime.tenancy.conftest import LOCAL_CONFIG, TENANT_A, TENANT_B, Seed, TenancyDatabase, placement

pytestmark = pytest.mark.needs_server

MakeAccess = Callable[..., TenantDataAccess]


def project_tenants(session: TenantSession) -> set[str]:
    return {row[0] for row in session.run("SELECT tenant_id FROM app.projects")}


def test_each_call_sees_only_its_tenants_rows_over_one_shared_connection(
    seeded: Seed, make_access: MakeAccess
) -> None:
    access = make_access()

    seen = [access.read(tenant, project_tenants) for tenant in (TENANT_A, TENANT_B, TENANT_A)]

    assert seen == [{TENANT_A}, {TENANT_B}, {TENANT_A}]
    assert access.connections_opened == 1


def test_the_context_does_not_outlive_the_transaction(
    seeded: Seed, make_access: MakeAccess, db: TenancyDatabase
) -> None:
    opened: list[pg8000.native.Connection] = []

    def connect(settings: ConnectionSettings) -> pg8000.native.Connection:
        opened.append(open_connection(settings))
        return opened[-1]

    access = make_access(connect=connect)
    access.read(TENANT_A, project_tenants)

    # The very connection the library used, now idle in its pool: no tenant, its own name.
    connection = opened[0]
    assert connection.run(
        "SELECT current_setting('app.tenant_id', true), current_setting('application_name')"
    ) == [["", "dbpatterns-tests"]]
    assert connection.run("SELECT count(*) FROM app.projects") == [[0]]


def test_writes_are_stamped_with_the_tenant_without_the_caller_naming_it(
    db: TenancyDatabase, make_access: MakeAccess
) -> None:
    access = make_access()
    project_id = uuid.uuid4()

    access.write(
        TENANT_A,
        lambda s: s.run("INSERT INTO app.projects (project_id, name) VALUES (:p, 'Launch')", p=project_id),
        idempotent=False,
    )

    with db.admin() as admin:
        assert admin.execute(
            "SELECT tenant_id FROM app.projects WHERE project_id = %s", (project_id,)
        ).fetchall() == [(TENANT_A,)]


def test_application_name_carries_the_tenant_while_its_transaction_runs(
    db: TenancyDatabase, make_access: MakeAccess
) -> None:
    access = make_access()

    def look(session: TenantSession) -> tuple[str, str]:
        pid = session.run("SELECT pg_backend_pid()")[0][0]
        with db.admin() as admin:  # what pg_stat_activity (and so Performance Insights) shows
            row = admin.execute(
                "SELECT application_name FROM pg_stat_activity WHERE pid = %s", (pid,)
            ).fetchone()
        assert row is not None
        return row[0], session.run("SELECT current_setting('application_name')")[0][0]

    assert access.read(TENANT_B, look) == ("tenant:tenant-b", "tenant:tenant-b")


def test_reads_and_reports_are_read_only_transactions(seeded: Seed, make_access: MakeAccess) -> None:
    access = make_access()

    for call in (access.read, access.report):
        with pytest.raises(DatabaseError, match="read-only transaction"):
            call(TENANT_A, lambda s: s.run("DELETE FROM app.tasks"))

    assert access.read(TENANT_A, lambda s: s.run("SELECT count(*) FROM app.tasks")) == [[2]]
    assert access.retries == 0


def test_a_sql_error_rolls_back_and_is_raised_unchanged_and_the_connection_is_reused(
    seeded: Seed, make_access: MakeAccess
) -> None:
    access = make_access()

    def insert_then_fail(session: TenantSession) -> None:
        session.run("INSERT INTO app.projects (name) VALUES ('half done')")
        session.run("INSERT INTO app.projects (name) VALUES ('')")  # CHECK violation

    with pytest.raises(DatabaseError, match="projects_name_check"):
        access.write(TENANT_A, insert_then_fail, idempotent=False)

    assert access.read(TENANT_A, lambda s: s.run("SELECT count(*) FROM app.projects")) == [[1]]
    assert access.connections_opened == 1


def test_reports_go_to_the_reader_endpoint_and_reads_to_the_writer(seeded: Seed, db: TenancyDatabase) -> None:
    hosts: list[str] = []

    def connect(settings: ConnectionSettings) -> pg8000.native.Connection:
        hosts.append(settings.host)
        return open_connection(settings)

    # Two names for the same local server stand in for the Aurora writer and reader endpoints.
    directory = StaticDirectory(
        {TENANT_A: placement(db, TENANT_A, writer_host="127.0.0.1", reader_host="localhost")}
    )
    access = TenantDataAccess(directory, LOCAL_CONFIG, connect=connect)
    try:
        access.report(TENANT_A, project_tenants)
        access.read(TENANT_A, project_tenants)
        access.write(
            TENANT_A, lambda s: s.run("UPDATE app.projects SET status = 'archived'"), idempotent=True
        )
    finally:
        access.close()

    assert hosts == ["localhost", "127.0.0.1"]


def test_without_a_reader_reports_use_the_writer(seeded: Seed, make_access: MakeAccess) -> None:
    access = make_access()

    rows = access.report(TENANT_B, lambda s: s.run("SELECT task_count FROM app.project_summary"))

    assert rows == [[2]]


def test_copy_out_through_the_library_exports_only_the_tenant(seeded: Seed, make_access: MakeAccess) -> None:
    access = make_access()
    buffer = io.BytesIO()

    access.report(TENANT_A, lambda s: s.copy_out("COPY app.tasks (tenant_id) TO STDOUT", buffer))

    assert buffer.getvalue().decode().splitlines() == [TENANT_A, TENANT_A]


@pytest.mark.parametrize(
    "tenant_id", ["tenant-a' OR '1'='1", "TENANT-A", "tenant-a;--", "", "a" * 41, "tenant a"]
)
def test_a_tenant_id_that_is_not_a_slug_is_refused_before_any_connection(
    seeded: Seed, make_access: MakeAccess, tenant_id: str
) -> None:
    access = make_access()

    with pytest.raises(PropValidationError):
        access.read(tenant_id, project_tenants)

    assert access.connections_opened == 0


def test_an_unknown_tenant_is_refused(make_access: MakeAccess) -> None:
    with pytest.raises(UnknownTenantError, match="tenant-z"):
        make_access().read("tenant-z", project_tenants)


@pytest.mark.parametrize("status", [TenantStatus.SUSPENDED, TenantStatus.PROVISIONING])
@pytest.mark.parametrize("intent", list(Intent))
def test_a_tenant_that_is_not_active_is_refused_before_connecting(
    db: TenancyDatabase, status: TenantStatus, intent: Intent
) -> None:
    access = TenantDataAccess(
        StaticDirectory({TENANT_A: placement(db, TENANT_A, status=status)}), LOCAL_CONFIG
    )
    calls: dict[Intent, Callable[[], Any]] = {
        Intent.READ: lambda: access.read(TENANT_A, project_tenants),
        Intent.REPORT: lambda: access.report(TENANT_A, project_tenants),
        Intent.WRITE: lambda: access.write(TENANT_A, project_tenants, idempotent=True),
    }

    with pytest.raises(TenantUnavailableError, match=status.value):
        calls[intent]()

    assert access.connections_opened == 0


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"max_attempts": 0}, "max_attempts"),
        ({"max_attempts": 11}, "max_attempts"),
        ({"backoff_base_seconds": 3.0, "backoff_max_seconds": 2.0}, "backoff_base_seconds"),
        ({"max_idle_connections_per_endpoint": -1}, "idle"),
    ],
)
def test_rejects_a_bad_access_config(config: dict[str, Any], message: str) -> None:
    with pytest.raises(PropValidationError, match=message):
        AccessConfig(**config)
