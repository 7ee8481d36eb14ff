"""Row-level security on the real PostgreSQL, tested as the application role outside the library:
what the database itself guarantees, whatever client connects."""

from __future__ import annotations

import io
from typing import Any

import psycopg
import pytest
from psycopg import errors

from tests.runtime.tenancy.conftest import TENANT_A, TENANT_B, Seed, TenancyDatabase

pytestmark = pytest.mark.needs_server


def as_tenant(conn: psycopg.Connection[Any], tenant: str | None) -> None:
    """Start a transaction and set the tenant context the way the library does (bound parameter)."""
    if tenant is not None:
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", (tenant,))


def scalar(conn: psycopg.Connection[Any], query: str, params: tuple[Any, ...] = ()) -> Any:
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return row[0]


TENANT_QUERIES = {
    "projects": "SELECT tenant_id FROM app.projects",
    "tasks": "SELECT tenant_id FROM app.tasks",
    "join": "SELECT t.tenant_id FROM app.tasks t JOIN app.projects p USING (tenant_id, project_id)",
    "join without the tenant key": (
        "SELECT p.tenant_id FROM app.tasks t JOIN app.projects p ON p.project_id = t.project_id"
    ),
    "view": "SELECT tenant_id FROM app.project_summary",
    "subquery": "SELECT tenant_id FROM app.projects WHERE project_id IN (SELECT project_id FROM app.tasks)",
}


@pytest.mark.parametrize("query", TENANT_QUERIES.values(), ids=TENANT_QUERIES.keys())
def test_a_tenant_reads_only_its_own_rows(db: TenancyDatabase, seeded: Seed, query: str) -> None:
    with db.app() as conn:
        as_tenant(conn, TENANT_A)
        tenants = {row[0] for row in conn.execute(query)}

    assert tenants == {TENANT_A}


def test_the_view_aggregates_only_the_tenants_own_tasks(db: TenancyDatabase, seeded: Seed) -> None:
    with db.app() as conn:
        as_tenant(conn, TENANT_B)
        rows = conn.execute("SELECT project_id, task_count, open_hours FROM app.project_summary").fetchall()

    assert rows == [(seeded.projects[TENANT_B], 2, 4)]


def test_asking_for_another_tenants_rows_by_id_finds_nothing(db: TenancyDatabase, seeded: Seed) -> None:
    with db.app() as conn:
        as_tenant(conn, TENANT_A)
        found = conn.execute(
            "SELECT * FROM app.projects WHERE tenant_id = %s OR project_id = %s",
            (TENANT_B, seeded.projects[TENANT_B]),
        ).fetchall()

    assert found == []


def test_a_tenant_cannot_update_or_delete_another_tenants_rows(db: TenancyDatabase, seeded: Seed) -> None:
    with db.app() as conn:
        as_tenant(conn, TENANT_A)
        updated = conn.execute(
            "UPDATE app.projects SET name = 'pwned' WHERE tenant_id = %s", (TENANT_B,)
        ).rowcount
        deleted_tasks = conn.execute("DELETE FROM app.tasks WHERE tenant_id = %s", (TENANT_B,)).rowcount
        deleted_all = conn.execute(
            "DELETE FROM app.projects WHERE project_id = %s", (seeded.projects[TENANT_B],)
        ).rowcount

    assert (updated, deleted_tasks, deleted_all) == (0, 0, 0)
    with db.admin() as admin:
        assert (
            scalar(admin, "SELECT name FROM app.projects WHERE tenant_id = %s", (TENANT_B,))
            == "tenant-b roadmap"
        )
        assert scalar(admin, "SELECT count(*) FROM app.tasks WHERE tenant_id = %s", (TENANT_B,)) == 2


def test_a_tenant_cannot_hand_its_row_to_another_tenant(db: TenancyDatabase, seeded: Seed) -> None:
    with db.app() as conn:
        as_tenant(conn, TENANT_A)
        with pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
            conn.execute("UPDATE app.projects SET tenant_id = %s", (TENANT_B,))


def test_a_tenant_cannot_insert_rows_for_another_tenant(db: TenancyDatabase) -> None:
    with db.app() as conn:
        as_tenant(conn, TENANT_A)
        with pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
            conn.execute("INSERT INTO app.projects (tenant_id, name) VALUES (%s, 'sneaky')", (TENANT_B,))


def test_a_tenant_cannot_attach_a_task_to_another_tenants_project(db: TenancyDatabase, seeded: Seed) -> None:
    # A foreign-key check ignores RLS; the composite key (tenant_id, project_id) keeps it inside the tenant.
    with db.app() as conn:
        as_tenant(conn, TENANT_A)
        with pytest.raises(errors.ForeignKeyViolation):
            conn.execute(
                "INSERT INTO app.tasks (project_id, title) VALUES (%s, 'probe')", (seeded.projects[TENANT_B],)
            )


def test_the_same_project_id_in_two_tenants_does_not_collide_or_reveal_anything(
    db: TenancyDatabase, seeded: Seed
) -> None:
    with db.app() as conn:
        as_tenant(conn, TENANT_A)
        conn.execute(
            "INSERT INTO app.projects (project_id, name) VALUES (%s, 'mine')", (seeded.projects[TENANT_B],)
        )
        count = scalar(conn, "SELECT count(*) FROM app.projects")

    assert count == 2


def test_copy_to_exports_only_the_tenants_rows(db: TenancyDatabase, seeded: Seed) -> None:
    with db.app() as conn:
        as_tenant(conn, TENANT_A)
        table_dump = io.BytesIO()
        with conn.cursor().copy("COPY app.tasks (tenant_id, title) TO STDOUT") as copy:
            for block in copy:
                table_dump.write(block)
        query_dump = io.BytesIO()
        with conn.cursor().copy("COPY (SELECT tenant_id FROM app.project_summary) TO STDOUT") as copy:
            for block in copy:
                query_dump.write(block)

    assert sorted(table_dump.getvalue().decode().splitlines()) == [
        "tenant-a\ttenant-a task 0",
        "tenant-a\ttenant-a task 1",
    ]
    assert query_dump.getvalue().decode().splitlines() == ["tenant-a"]


def test_copy_from_is_refused_so_bulk_loads_go_through_the_policies(db: TenancyDatabase) -> None:
    with db.app() as conn:
        as_tenant(conn, TENANT_A)
        copy_from = conn.cursor().copy("COPY app.projects (tenant_id, name) FROM STDIN")
        with pytest.raises(errors.FeatureNotSupported, match="row-level security"), copy_from as copy:
            copy.write_row((TENANT_B, "bulk"))


# ------------------------------------------------------------------- missing or malformed context


@pytest.mark.parametrize("query", TENANT_QUERIES.values(), ids=TENANT_QUERIES.keys())
def test_without_tenant_context_nothing_is_visible(db: TenancyDatabase, seeded: Seed, query: str) -> None:
    with db.app() as conn:
        assert conn.execute(query).fetchall() == []


def test_after_a_transaction_local_context_expires_nothing_is_visible(
    db: TenancyDatabase, seeded: Seed
) -> None:
    with db.app() as conn:
        as_tenant(conn, TENANT_A)
        assert scalar(conn, "SELECT count(*) FROM app.projects") == 1
        conn.commit()
        # The setting is now '' (not NULL) for the rest of the session: still no rows.
        assert scalar(conn, "SELECT current_setting('app.tenant_id', true)") == ""
        assert scalar(conn, "SELECT count(*) FROM app.projects") == 0


@pytest.mark.parametrize(
    "context",
    [
        None,
        "",
        "Tenant-A",
        "tenant-a ",
        "tenant-a,tenant-b",
        "x' OR '1'='1",
        "tenant-a' --",
        "%",
        "*",
        "a" * 41,
    ],
    ids=repr,
)
def test_missing_or_malformed_context_gives_no_rows_and_refuses_writes(
    db: TenancyDatabase, seeded: Seed, context: str | None
) -> None:
    with db.app() as conn:
        as_tenant(conn, context)
        assert scalar(conn, "SELECT count(*) FROM app.projects") == 0
        assert conn.execute("UPDATE app.projects SET name = 'x'").rowcount == 0
        assert conn.execute("DELETE FROM app.tasks").rowcount == 0
        conn.execute("SAVEPOINT before_insert")
        with pytest.raises((errors.InsufficientPrivilege, errors.CheckViolation, errors.NotNullViolation)):
            conn.execute("INSERT INTO app.projects (name) VALUES ('orphan')")
        conn.execute("ROLLBACK TO SAVEPOINT before_insert")
        with pytest.raises((errors.InsufficientPrivilege, errors.CheckViolation)):
            conn.execute("INSERT INTO app.projects (tenant_id, name) VALUES ('tenant-a', 'forged')")

    with db.admin() as admin:
        assert scalar(admin, "SELECT count(*) FROM app.projects") == 2


# ------------------------------------------------------------------- what the app role cannot do


@pytest.mark.parametrize(
    ("statement", "error"),
    [
        ("ALTER TABLE app.projects DISABLE ROW LEVEL SECURITY", errors.InsufficientPrivilege),
        ("ALTER TABLE app.projects NO FORCE ROW LEVEL SECURITY", errors.InsufficientPrivilege),
        ("DROP POLICY tenant_isolation ON app.projects", errors.InsufficientPrivilege),
        ("CREATE POLICY open ON app.projects USING (true)", errors.InsufficientPrivilege),
        ("TRUNCATE app.tasks", errors.InsufficientPrivilege),
        ("ALTER VIEW app.project_summary SET (security_invoker = false)", errors.InsufficientPrivilege),
        ("CREATE TABLE app.shadow (tenant_id text)", errors.InsufficientPrivilege),
    ],
)
def test_the_app_role_cannot_switch_isolation_off(
    db: TenancyDatabase, statement: str, error: type[Exception]
) -> None:
    with db.app() as conn, pytest.raises(error):
        conn.execute(statement)


def test_the_app_role_cannot_become_the_owner_or_grant_itself_bypassrls(db: TenancyDatabase) -> None:
    with db.app() as conn:
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute(f'SET ROLE "{db.roles.owner}"')
        conn.rollback()
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute(f'ALTER ROLE "{db.roles.app}" BYPASSRLS')
        conn.rollback()
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute(f'GRANT "{db.roles.owner}" TO "{db.roles.app}"')


def test_row_security_off_makes_queries_fail_instead_of_bypassing(db: TenancyDatabase, seeded: Seed) -> None:
    with db.app() as conn:
        conn.execute("SET row_security = off")
        with pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
            conn.execute("SELECT * FROM app.projects")


def test_even_the_owner_role_sees_nothing_without_context(db: TenancyDatabase, seeded: Seed) -> None:
    # FORCE ROW LEVEL SECURITY: the table owner obeys the policies too.
    with db.admin() as admin:
        admin.execute("BEGIN")
        admin.execute(f'SET LOCAL ROLE "{db.roles.owner}"')
        assert scalar(admin, "SELECT count(*) FROM app.projects") == 0
        admin.execute("SELECT set_config('app.tenant_id', %s, true)", (TENANT_A,))
        assert scalar(admin, "SELECT count(*) FROM app.projects") == 1
        admin.execute("ROLLBACK")


def test_a_tenant_id_value_is_data_never_sql(db: TenancyDatabase, seeded: Seed) -> None:
    injection = "tenant-a' OR tenant_id <> '"
    with db.app() as conn:
        as_tenant(conn, injection)
        assert scalar(conn, "SELECT current_setting('app.tenant_id', true)") == injection
        assert scalar(conn, "SELECT count(*) FROM app.projects") == 0
    with db.admin() as admin:
        assert scalar(admin, "SELECT count(*) FROM app.projects WHERE tenant_id = %s", (TENANT_A,)) == 1


def test_the_tenant_id_column_refuses_values_that_are_not_slugs(db: TenancyDatabase) -> None:
    with db.admin() as admin, pytest.raises(errors.CheckViolation):
        admin.execute("INSERT INTO app.projects (tenant_id, name) VALUES (%s, 'x')", ("Bad Id",))
