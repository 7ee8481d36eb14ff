"""The migration step on a real PostgreSQL: idempotent, versioned, all or nothing, and it refuses to
leave a database whose isolation preconditions do not hold."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from dbpatterns.errors import PropValidationError
from dbpatterns.runtime.tenancy.migrate import (
    MigrationError,
    MigrationReport,
    RoleNames,
    main,
    migrate,
    verify_isolation,
)
from dbpatterns.runtime.tenancy.schema import MIGRATIONS, Migration
from tests.runtime.tenancy.conftest import HOST, PORT, TenancyDatabase, migrated

pytestmark = pytest.mark.needs_server


def run_migrate(database: TenancyDatabase, **kwargs: object) -> MigrationReport:
    connection = database.pg8000_admin()
    try:
        return migrate(connection, roles=database.roles, **kwargs)  # type: ignore[arg-type]
    finally:
        connection.close()


def ledger(database: TenancyDatabase) -> list[tuple[int, str]]:
    with database.admin() as conn:
        return [
            (int(v), str(n))
            for v, n in conn.execute("SELECT version, name FROM tenancy_meta.schema_migrations")
        ]


def role_exists(database: TenancyDatabase, role: str) -> bool:
    with database.admin() as conn:
        return conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone() is not None


def test_a_fresh_database_gets_roles_schema_and_ledger_and_a_second_run_changes_nothing(
    fresh_database: TenancyDatabase,
) -> None:
    first = run_migrate(fresh_database)
    second = run_migrate(fresh_database)

    assert (first.applied, first.already_applied, first.schema_version) == ([1], [], 1)
    assert first.roles_created == [fresh_database.roles.owner, fresh_database.roles.app]
    assert (second.applied, second.already_applied, second.roles_created) == ([], [1], [])
    assert ledger(fresh_database) == [(1, MIGRATIONS[0].name)]


def test_the_app_role_can_log_in_and_is_neither_owner_nor_bypassrls(fresh_database: TenancyDatabase) -> None:
    run_migrate(fresh_database)

    with fresh_database.app() as conn:
        row = conn.execute(
            "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb, "
            "pg_has_role(current_user, %s, 'MEMBER') FROM pg_roles WHERE rolname = current_user",
            (fresh_database.roles.owner,),
        ).fetchone()

    assert row == (False, False, False, False, False)


def test_the_app_role_gets_timeouts_in_this_database_so_one_tenant_cannot_hold_a_shard(
    fresh_database: TenancyDatabase,
) -> None:
    run_migrate(fresh_database)

    with fresh_database.app() as conn:
        settings = {
            name: conn.execute(f"SHOW {name}").fetchone()[0]  # type: ignore[index]
            for name in ("statement_timeout", "idle_in_transaction_session_timeout", "lock_timeout")
        }

    assert settings == {
        "statement_timeout": "30s",
        "idle_in_transaction_session_timeout": "1min",
        "lock_timeout": "10s",
    }


def test_an_applied_migration_whose_text_changed_is_refused_and_nothing_changes(
    fresh_database: TenancyDatabase,
) -> None:
    run_migrate(fresh_database)
    edited = (replace(MIGRATIONS[0], statements=(*MIGRATIONS[0].statements, "SELECT 1")),)

    with pytest.raises(MigrationError, match="applied with other text"):
        run_migrate(fresh_database, migrations=edited)

    assert ledger(fresh_database) == [(1, MIGRATIONS[0].name)]


def test_a_new_migration_is_applied_once_after_the_existing_ones(fresh_database: TenancyDatabase) -> None:
    run_migrate(fresh_database)
    newer = (*MIGRATIONS, Migration(2, "comment", ("COMMENT ON TABLE app.projects IS 'tenant projects'",)))

    report = run_migrate(fresh_database, migrations=newer)

    assert (report.applied, report.already_applied) == ([2], [1])
    with fresh_database.admin() as conn:
        owner = conn.execute("SELECT obj_description('app.projects'::regclass, 'pg_class')").fetchone()
    assert owner == ("tenant projects",)


def test_a_database_with_a_migration_this_code_does_not_know_is_refused(
    fresh_database: TenancyDatabase,
) -> None:
    newer = (*MIGRATIONS, Migration(2, "future", ("SELECT 1",)))
    run_migrate(fresh_database, migrations=newer)

    with pytest.raises(MigrationError, match=r"does not know: \[2\]"):
        run_migrate(fresh_database)


def test_a_failing_migration_rolls_everything_back_roles_included(fresh_database: TenancyDatabase) -> None:
    broken = (*MIGRATIONS, Migration(2, "broken", ("CREATE TABLE app.projects (x int)",)))

    with pytest.raises(Exception, match="already exists"):
        run_migrate(fresh_database, migrations=broken)

    assert not role_exists(fresh_database, fresh_database.roles.app)
    with fresh_database.admin() as conn:
        assert conn.execute("SELECT to_regclass('app.projects')").fetchone() == (None,)


def test_iam_auth_outside_rds_is_refused_before_anything_is_created(fresh_database: TenancyDatabase) -> None:
    with pytest.raises(MigrationError, match="rds_iam does not exist"):
        run_migrate(fresh_database, iam_auth=True)

    assert not role_exists(fresh_database, fresh_database.roles.owner)


def test_two_concurrent_runs_apply_the_schema_once(fresh_database: TenancyDatabase) -> None:
    reports: list[MigrationReport] = []
    failures: list[BaseException] = []

    def run() -> None:
        try:
            reports.append(run_migrate(fresh_database))
        except BaseException as error:  # collected and asserted below
            failures.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert failures == []
    assert sorted(len(r.applied) for r in reports) == [0, 1]
    assert ledger(fresh_database) == [(1, MIGRATIONS[0].name)]


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        ("ALTER TABLE app.tasks NO FORCE ROW LEVEL SECURITY", "app.tasks does not force row-level security"),
        (
            "ALTER TABLE app.projects DISABLE ROW LEVEL SECURITY",
            "app.projects does not enable row-level security",
        ),
        ("GRANT TRUNCATE ON app.tasks TO {app}", "app role may TRUNCATE app.tasks"),
        ("ALTER ROLE {app} BYPASSRLS", "has BYPASSRLS"),
        ("GRANT {owner} TO {app}", "is a member of the owner role"),
        ("ALTER VIEW app.project_summary RESET (security_invoker)", "is not security_invoker"),
        ("DROP POLICY tenant_isolation ON app.projects", "app.projects has no policy"),
        ("ALTER TABLE app.projects OWNER TO postgres", "is owned by 'postgres'"),
    ],
)
def test_verify_isolation_names_each_broken_precondition_and_migrate_refuses_to_commit(
    fresh_database: TenancyDatabase, damage: str, problem: str
) -> None:
    migrated(fresh_database)
    roles = fresh_database.roles
    with fresh_database.admin() as conn:
        conn.execute(damage.format(app=f'"{roles.app}"', owner=f'"{roles.owner}"'))
    connection = fresh_database.pg8000_admin()
    try:
        problems = verify_isolation(connection, roles)
        with pytest.raises(MigrationError, match="isolation preconditions do not hold"):
            migrate(connection, roles=roles)
    finally:
        connection.close()

    assert any(problem in p for p in problems), problems


def test_the_migrated_session_database_passes_the_isolation_check(tenancy_db: TenancyDatabase) -> None:
    connection = tenancy_db.pg8000_admin()
    try:
        assert verify_isolation(connection, tenancy_db.roles) == []
    finally:
        connection.close()


def test_the_cli_migrates_and_reports(
    fresh_database: TenancyDatabase, capsys: pytest.CaptureFixture[str]
) -> None:
    dsn = f"postgresql://postgres@{HOST}:{PORT}/{fresh_database.name}?sslmode=disable"
    roles = ["--owner-role", fresh_database.roles.owner, "--app-role", fresh_database.roles.app]

    assert main(["--dsn", dsn, *roles]) == 0
    assert main(["--dsn", dsn, *roles]) == 0

    out = capsys.readouterr().out
    assert "schema version 1; applied [1]" in out
    assert "applied nothing; already there [1]" in out
    assert "isolation preconditions hold" in out


@pytest.mark.parametrize(
    ("dsn", "message"),
    [
        ("postgresql://postgres@db.example.com/app?sslmode=disable", "loopback"),
        ("postgresql://postgres@db.example.com/app", "ca_bundle"),
        ("postgresql://postgres@db.example.com/app?sslmode=require", "verify-full"),
        ("mysql://root@127.0.0.1/app", "postgresql://"),
    ],
)
def test_the_cli_refuses_unsafe_or_wrong_connection_strings_before_connecting(
    dsn: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--dsn", dsn]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "bad", [{"owner": "Owner"}, {"app": "x; DROP TABLE y"}, {"owner": "same", "app": "same"}]
)
def test_role_names_are_identifiers_never_sql(bad: dict[str, str]) -> None:
    with pytest.raises(PropValidationError):
        RoleNames(**bad)
