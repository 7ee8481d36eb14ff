"""Fixtures for moving tenants: two real databases on the machine's PostgreSQL (a pooled shard and a
tenant's standard database, same schema, same throwaway roles) and the tenant directory on moto.

The databases live for the module; each test starts with empty tenant tables and a fresh directory.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import psycopg
import pytest
from moto import mock_aws
from psycopg import sql

from dbpatterns.runtime.tenancy.access import TenantDataAccess
from dbpatterns.runtime.tenancy.catalog import Tier
from dbpatterns.runtime.tenancy.directory import Auth, DatabaseRecord, TenantDirectory, TenantRecord
from dbpatterns.runtime.tenancy.migrate import RoleNames
from dbpatterns.runtime.tenancy.move.cli import admin_connector
from dbpatterns.runtime.tenancy.move.engine import MoveEvent, MoveSettings, TenantMover
from tests.runtime.tenancy.conftest import (
    ADMIN_DB,
    ADMIN_USER,
    HOST,
    LOCAL_CONFIG,
    PORT,
    TenancyDatabase,
    migrated,
)
from tests.support.servers import POSTGRES, require_server

TENANT, NEIGHBOUR = "t-42", "t-neighbour"
POOL, STANDARD, OTHER_POOL = "pool-001", "std-t-42", "pool-002"
TABLE_NAME = "tenant-directory"


@dataclass(frozen=True)
class Fleet:
    databases: dict[str, TenancyDatabase]

    def admin(self, database_id: str) -> psycopg.Connection[Any]:
        return self.databases[database_id].admin()

    def rows(self, database_id: str, tenant_id: str = TENANT) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of the tenant, per table, in key order (as the superuser: RLS bypassed)."""
        with self.admin(database_id) as conn:
            return {
                "projects": conn.execute(
                    "SELECT * FROM app.projects WHERE tenant_id = %s ORDER BY project_id", (tenant_id,)
                ).fetchall(),
                "tasks": conn.execute(
                    "SELECT * FROM app.tasks WHERE tenant_id = %s ORDER BY task_id", (tenant_id,)
                ).fetchall(),
            }

    def triggers(self, database_id: str) -> list[str]:
        with self.admin(database_id) as conn:
            return [
                str(r[0])
                for r in conn.execute(
                    "SELECT tgname FROM pg_trigger WHERE tgname LIKE 'tenancy_move_%%' AND NOT tgisinternal"
                ).fetchall()
            ]


def _admin_conninfo() -> str:
    return f"host={HOST} port={PORT} dbname={ADMIN_DB} user={ADMIN_USER} connect_timeout=5"


@pytest.fixture(scope="module")
def fleet_databases() -> Iterator[Fleet]:
    require_server(POSTGRES)
    suffix = uuid.uuid4().hex[:10]
    roles = RoleNames(owner=f"move_owner_{suffix}", app=f"move_app_{suffix}")
    databases = {
        database_id: TenancyDatabase(f"move_{database_id.replace('-', '_')}_{suffix}", roles)
        for database_id in (POOL, STANDARD, OTHER_POOL)
    }
    with psycopg.connect(_admin_conninfo(), autocommit=True) as conn:
        for database in databases.values():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database.name)))
    try:
        for database in databases.values():
            migrated(database)
        yield Fleet(databases)
    finally:
        with psycopg.connect(_admin_conninfo(), autocommit=True) as conn:
            for database in databases.values():
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database.name))
                )
            for role in (roles.app, roles.owner):
                conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


@pytest.fixture
def fleet(fleet_databases: Fleet) -> Fleet:
    for database in fleet_databases.databases.values():
        with database.admin() as conn:
            conn.execute("TRUNCATE app.tasks, app.projects")
            if conn.execute("SELECT to_regclass('tenancy_move.moves')").fetchone() != (None,):
                for name, table in conn.execute(
                    "SELECT t.tgname, c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                    "WHERE t.tgname LIKE 'tenancy_move_%%' AND NOT t.tgisinternal"
                ).fetchall():
                    conn.execute(
                        sql.SQL("DROP TRIGGER {} ON app.{}").format(
                            sql.Identifier(name), sql.Identifier(table)
                        )
                    )
                conn.execute("DELETE FROM tenancy_move.moves")
    return fleet_databases


def database_record(fleet: Fleet, database_id: str) -> DatabaseRecord:
    tier = Tier.STANDARD if database_id.startswith("std-") else Tier.POOLED
    database = fleet.databases[database_id]
    return DatabaseRecord(
        database_id=database_id,
        tier=tier,
        writer_host=HOST,
        port=PORT,
        database_name=database.name,
        db_user=database.roles.app,
        region="us-east-1",
        auth=Auth.TRUST,
    )


@pytest.fixture
def table(fleet: Fleet) -> Iterator[Any]:
    with mock_aws():
        dynamodb = boto3.resource("dynamodb", region_name="us-east-1")
        created = dynamodb.create_table(
            TableName=TABLE_NAME,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        admin = TenantDirectory(created, ttl_seconds=0)
        for database_id in fleet.databases:
            admin.put_database(database_record(fleet, database_id))
        for tenant_id in (TENANT, NEIGHBOUR):
            admin.put_tenant(TenantRecord(tenant_id=tenant_id, tier=Tier.POOLED, database_id=POOL))
        yield created


@pytest.fixture
def directory(table: Any) -> TenantDirectory:
    """The mover's view: no cache."""
    return TenantDirectory(table, ttl_seconds=0)


def seed(
    fleet: Fleet, database_id: str = POOL, tenant_id: str = TENANT, projects: int = 12, tasks: int = 3
) -> None:
    with fleet.admin(database_id) as conn:
        for p in range(projects):
            project_id = uuid.uuid4()
            conn.execute(
                "INSERT INTO app.projects (tenant_id, project_id, name) VALUES (%s, %s, %s)",
                (tenant_id, project_id, f"{tenant_id} project {p} 'quoted' \\ ünï"),
            )
            for t in range(tasks):
                conn.execute(
                    "INSERT INTO app.tasks (tenant_id, project_id, title, estimate_hours, done) "
                    "VALUES (%s, %s, %s, %s, %s)",
                    (tenant_id, project_id, f"task {t}", t * 1.25, t % 2 == 0),
                )


MakeMover = Callable[..., TenantMover]


@pytest.fixture
def make_mover(directory: TenantDirectory) -> MakeMover:
    def factory(
        progress: Callable[[MoveEvent], None] | None = None,
        *,
        now: Callable[[], datetime.datetime] | None = None,
        **settings: Any,
    ) -> TenantMover:
        settings.setdefault("batch_rows", 5)
        settings.setdefault("settle_seconds", 0)
        extra: dict[str, Any] = {"now": now} if now else {}
        return TenantMover(
            directory,
            admin_connector(ADMIN_USER, None, None),
            MoveSettings(**settings),
            progress=progress,
            **extra,
        )

    return factory


@pytest.fixture
def make_access(table: Any) -> Iterator[Callable[..., TenantDataAccess]]:
    created: list[TenantDataAccess] = []

    def factory(directory: TenantDirectory | None = None) -> TenantDataAccess:
        access = TenantDataAccess(directory or TenantDirectory(table, ttl_seconds=0), LOCAL_CONFIG)
        created.append(access)
        return access

    yield factory
    for access in created:
        access.close()
