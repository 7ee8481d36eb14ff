"""Fixtures for the tenancy tests on the machine's PostgreSQL.

Each test session creates its own database and its own owner/app roles (random suffix), applies the
schema with the real migration code, and drops all of it afterwards, so parallel sessions and other
suites never see each other's tables or roles. Tests that damage the schema on purpose get a fresh
database of their own (``fresh_database``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pg8000.native
import psycopg
import pytest
from psycopg import sql

from dbpatterns.runtime.tenancy.access import AccessConfig, TenantDataAccess
from dbpatterns.runtime.tenancy.catalog import Tier
from dbpatterns.runtime.tenancy.connection import TlsMode
from dbpatterns.runtime.tenancy.directory import (
    Auth,
    DatabaseRecord,
    StaticDirectory,
    TenantPlacement,
    TenantRecord,
    TenantStatus,
)
from dbpatterns.runtime.tenancy.migrate import RoleNames, migrate
from tests.support.servers import POSTGRES, require_server

HOST, PORT = POSTGRES[1], POSTGRES[2]
ADMIN_USER = "postgres"
ADMIN_DB = "test"


@dataclass(frozen=True)
class TenancyDatabase:
    name: str
    roles: RoleNames

    def conninfo(self, user: str | None = None) -> str:
        return f"host={HOST} port={PORT} dbname={self.name} user={user or ADMIN_USER} connect_timeout=5"

    def admin(self) -> psycopg.Connection[Any]:
        """A superuser connection (bypasses RLS: for seeding and inspecting)."""
        return psycopg.connect(self.conninfo(), autocommit=True)

    def app(self) -> psycopg.Connection[Any]:
        """A connection as the application role (RLS applies), outside the library."""
        return psycopg.connect(self.conninfo(self.roles.app), autocommit=False)

    def pg8000_admin(self) -> pg8000.native.Connection:
        return pg8000.native.Connection(user=ADMIN_USER, host=HOST, port=PORT, database=self.name)


def create_database(prefix: str = "tenancy") -> TenancyDatabase:
    suffix = uuid.uuid4().hex[:10]
    database = TenancyDatabase(
        name=f"{prefix}_{suffix}",
        roles=RoleNames(owner=f"{prefix}_owner_{suffix}", app=f"{prefix}_app_{suffix}"),
    )
    with psycopg.connect(
        f"host={HOST} port={PORT} dbname={ADMIN_DB} user={ADMIN_USER} connect_timeout=5", autocommit=True
    ) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database.name)))
    return database


def drop_database(database: TenancyDatabase) -> None:
    with psycopg.connect(
        f"host={HOST} port={PORT} dbname={ADMIN_DB} user={ADMIN_USER} connect_timeout=5", autocommit=True
    ) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database.name)))
        for role in (database.roles.app, database.roles.owner):
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def migrated(database: TenancyDatabase) -> TenancyDatabase:
    connection = database.pg8000_admin()
    try:
        migrate(connection, roles=database.roles)
    finally:
        connection.close()
    return database


@pytest.fixture(scope="session")
def tenancy_db() -> Iterator[TenancyDatabase]:
    require_server(POSTGRES)
    database = migrated(create_database())
    yield database
    drop_database(database)


@pytest.fixture
def fresh_database() -> Iterator[TenancyDatabase]:
    """An empty database and unused role names, dropped after the test."""
    require_server(POSTGRES)
    database = create_database("tenancyfresh")
    yield database
    drop_database(database)


@pytest.fixture
def db(tenancy_db: TenancyDatabase) -> TenancyDatabase:
    """The session database with empty tenant tables."""
    with tenancy_db.admin() as conn:
        conn.execute("TRUNCATE app.tasks, app.projects")
    return tenancy_db


@dataclass(frozen=True)
class Seed:
    """Two tenants with a project and two tasks each; ids known to the tests."""

    projects: dict[str, uuid.UUID]
    tasks: dict[str, list[uuid.UUID]]


TENANT_A, TENANT_B = "tenant-a", "tenant-b"


@pytest.fixture
def seeded(db: TenancyDatabase) -> Seed:
    projects: dict[str, uuid.UUID] = {}
    tasks: dict[str, list[uuid.UUID]] = {}
    with db.admin() as conn:
        for tenant in (TENANT_A, TENANT_B):
            project_id = uuid.uuid4()
            projects[tenant] = project_id
            conn.execute(
                "INSERT INTO app.projects (tenant_id, project_id, name) VALUES (%s, %s, %s)",
                (tenant, project_id, f"{tenant} roadmap"),
            )
            tasks[tenant] = []
            for n in range(2):
                task_id = uuid.uuid4()
                tasks[tenant].append(task_id)
                conn.execute(
                    "INSERT INTO app.tasks (tenant_id, task_id, project_id, title, estimate_hours) "
                    "VALUES (%s, %s, %s, %s, %s)",
                    (tenant, task_id, project_id, f"{tenant} task {n}", 2),
                )
    return Seed(projects, tasks)


def placement(database: TenancyDatabase, tenant_id: str, **changes: Any) -> TenantPlacement:
    """Every tenant of the tests lives in the session database (a pooled shard), trust auth."""
    record = DatabaseRecord(
        database_id="pool-001",
        tier=Tier.POOLED,
        writer_host=changes.pop("writer_host", HOST),
        reader_host=changes.pop("reader_host", None),
        port=PORT,
        database_name=database.name,
        db_user=database.roles.app,
        region="us-east-1",
        auth=Auth.TRUST,
    )
    tenant = TenantRecord(
        tenant_id=tenant_id,
        tier=Tier.POOLED,
        database_id="pool-001",
        status=changes.pop("status", TenantStatus.ACTIVE),
    )
    assert not changes, f"unknown placement changes {changes}"
    return TenantPlacement(tenant, record)


LOCAL_CONFIG = AccessConfig(tls=TlsMode.DISABLE, service_name="dbpatterns-tests", backoff_base_seconds=0.0)


@pytest.fixture
def make_access(db: TenancyDatabase) -> Iterator[Callable[..., TenantDataAccess]]:
    """Build a TenantDataAccess over the session database; closed after the test."""
    created: list[TenantDataAccess] = []

    def factory(
        tenants: tuple[str, ...] = (TENANT_A, TENANT_B), config: AccessConfig = LOCAL_CONFIG, **kwargs: Any
    ) -> TenantDataAccess:
        directory = StaticDirectory({t: placement(db, t) for t in tenants})
        kwargs.setdefault("sleep", lambda _seconds: None)
        access = TenantDataAccess(directory, config, **kwargs)
        created.append(access)
        return access

    yield factory
    for access in created:
        access.close()
