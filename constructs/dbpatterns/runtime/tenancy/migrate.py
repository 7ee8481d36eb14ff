"""Apply the tenant schema to one database: idempotent, versioned, all or nothing.

One run, in one transaction, holding an advisory lock so two runs (two deployments, or a retried
custom resource) cannot interleave:

1. ensure the roles exist with safe attributes (owner ``NOLOGIN``; app ``LOGIN``, no ``BYPASSRLS``,
   not a member of the owner; with ``iam_auth`` the app role is granted ``rds_iam``) and the app
   role's guard rails in this database (:data:`APP_ROLE_SETTINGS`: statement, idle-in-transaction
   and lock timeouts);
2. ensure the ledger (``tenancy_meta.schema_migrations``) and the ``app`` schema owned by the owner;
3. apply each migration not in the ledger yet, as the owner role, and record it with its checksum;
   an applied migration whose text has changed is an error, never a silent re-run;
4. verify the isolation preconditions (:func:`verify_isolation`) and commit - or roll everything back.

The same function runs from the command line against a local server and, in AWS, from a custom
resource Lambda function inside the VPC (connecting as the master user with TLS)::

    python -m dbpatterns.runtime.tenancy.migrate --dsn "postgresql://postgres@127.0.0.1/test?sslmode=disable"
    python -m dbpatterns.runtime.tenancy.migrate \\
        --dsn "postgresql://master@pool-001.xxxx.us-east-1.rds.amazonaws.com/app?sslrootcert=ca.pem" \\
        --password-env PGPASSWORD --iam-auth
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

import pg8000.native
from pg8000.native import identifier

from dbpatterns.errors import PropValidationError
from dbpatterns.runtime.tenancy.connection import ConnectionSettings, open_connection, settings_from_dsn
from dbpatterns.runtime.tenancy.schema import (
    APP_SCHEMA,
    META_SCHEMA,
    MIGRATIONS,
    TENANT_TABLES,
    TENANT_VIEWS,
    Migration,
)

DEFAULT_OWNER_ROLE = "tenancy_owner"
DEFAULT_APP_ROLE = "tenancy_app"
#: Advisory lock key shared by every migration run on a database ("tenancy" in ASCII).
MIGRATION_LOCK_KEY = 0x74656E616E6379
MIN_SERVER_VERSION = 150000
#: Guard rails for the app role in this database, so one tenant's runaway query or forgotten open
#: transaction cannot hold a pooled shard's resources (and locks) for everyone else.
APP_ROLE_SETTINGS = {
    "statement_timeout": "30s",
    "idle_in_transaction_session_timeout": "60s",
    "lock_timeout": "10s",
}
_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class MigrationError(RuntimeError):
    """The database is not in a state the migration can safely continue from; nothing was changed."""


@dataclass(frozen=True, kw_only=True)
class RoleNames:
    owner: str = DEFAULT_OWNER_ROLE
    app: str = DEFAULT_APP_ROLE

    def __post_init__(self) -> None:
        for prop in ("owner", "app"):
            value = getattr(self, prop)
            if not isinstance(value, str) or not _ROLE_NAME.fullmatch(value):
                raise PropValidationError(
                    "RoleNames", prop, value, "allowed: 1-63 lowercase letters, digits and underscores"
                )
        if self.owner == self.app:
            raise PropValidationError("RoleNames", "app", self.app, "must differ from the owner role")


@dataclass
class MigrationReport:
    applied: list[int] = field(default_factory=list)
    already_applied: list[int] = field(default_factory=list)
    roles_created: list[str] = field(default_factory=list)

    @property
    def schema_version(self) -> int:
        return max([*self.applied, *self.already_applied], default=0)


def migrate(
    connection: pg8000.native.Connection,
    *,
    roles: RoleNames | None = None,
    iam_auth: bool = False,
    migrations: Sequence[Migration] = MIGRATIONS,
) -> MigrationReport:
    """Bring the connected database to the newest schema; see the module docstring."""
    roles = roles or RoleNames()
    versions = [m.version for m in migrations]
    if versions != sorted(set(versions)):
        raise MigrationError(f"migration versions must be unique and ascending, got {versions}")
    server_version = int(connection.run("SHOW server_version_num")[0][0])
    if server_version < MIN_SERVER_VERSION:
        raise MigrationError(f"PostgreSQL {server_version} is too old: the schema needs 15 or newer")
    report = MigrationReport()
    connection.run("START TRANSACTION")
    try:
        connection.run("SELECT pg_advisory_xact_lock(:key)", key=MIGRATION_LOCK_KEY)
        _ensure_roles(connection, roles, iam_auth, report)
        _ensure_schemas(connection, roles)
        applied = {
            int(row[0]): str(row[1])
            for row in connection.run(f"SELECT version, checksum FROM {META_SCHEMA}.schema_migrations")  # noqa: S608
        }
        for migration in migrations:
            if migration.version in applied:
                if applied[migration.version] != migration.checksum:
                    raise MigrationError(
                        f"migration {migration.version} ({migration.name}) was applied with other text; "
                        "write a new migration instead of editing an applied one"
                    )
                report.already_applied.append(migration.version)
                continue
            _apply(connection, migration, roles)
            report.applied.append(migration.version)
        unknown = sorted(set(applied) - set(versions))
        if unknown:
            raise MigrationError(
                f"the database has migrations this code does not know: {unknown}; deploy newer code"
            )
        problems = verify_isolation(connection, roles)
        if problems:
            raise MigrationError("isolation preconditions do not hold: " + "; ".join(problems))
        connection.run("COMMIT")
    except BaseException:
        _rollback_quietly(connection)
        raise
    return report


def _rollback_quietly(connection: pg8000.native.Connection) -> None:
    """Roll back after a failure; a dead connection rolled back already (the server aborts it)."""
    with contextlib.suppress(Exception):  # the original error is what the caller needs to see
        connection.run("ROLLBACK")


def _ensure_roles(
    connection: pg8000.native.Connection, roles: RoleNames, iam_auth: bool, report: MigrationReport
) -> None:
    owner, app = identifier(roles.owner), identifier(roles.app)
    existing = {
        str(r[0])
        for r in connection.run(
            "SELECT rolname FROM pg_roles WHERE rolname IN (:o, :a)", o=roles.owner, a=roles.app
        )
    }
    if roles.owner not in existing:
        connection.run(f"CREATE ROLE {owner} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS")
        report.roles_created.append(roles.owner)
    if roles.app not in existing:
        connection.run(f"CREATE ROLE {app} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOINHERIT")
        report.roles_created.append(roles.app)
    # The migrating user creates objects as the owner (SET ROLE), so it must be a member of it.
    # On RDS the master user has CREATEROLE and may grant itself a role it created.
    if not connection.run("SELECT pg_has_role(current_user, :o, 'MEMBER')", o=roles.owner)[0][0]:
        connection.run(f"GRANT {owner} TO CURRENT_USER")
    database = identifier(str(connection.run("SELECT current_database()")[0][0]))
    for setting, value in APP_ROLE_SETTINGS.items():
        # Names and values are constants of this module; ALTER ROLE ... SET takes no parameters.
        connection.run(f"ALTER ROLE {app} IN DATABASE {database} SET {setting} = '{value}'")
    if iam_auth:
        if not connection.run("SELECT 1 FROM pg_roles WHERE rolname = 'rds_iam'"):
            raise MigrationError(
                "iam_auth requested but the role rds_iam does not exist (not an RDS/Aurora database?)"
            )
        connection.run(f"GRANT rds_iam TO {app}")


def _ensure_schemas(connection: pg8000.native.Connection, roles: RoleNames) -> None:
    owner, app = identifier(roles.owner), identifier(roles.app)
    connection.run(f"CREATE SCHEMA IF NOT EXISTS {META_SCHEMA}")
    connection.run(f"REVOKE ALL ON SCHEMA {META_SCHEMA} FROM PUBLIC")
    connection.run(
        f"CREATE TABLE IF NOT EXISTS {META_SCHEMA}.schema_migrations ("
        "version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, "
        "applied_at timestamptz NOT NULL DEFAULT now(), applied_by text NOT NULL DEFAULT current_user)"
    )
    connection.run(f"CREATE SCHEMA IF NOT EXISTS {APP_SCHEMA} AUTHORIZATION {owner}")
    connection.run(f"REVOKE ALL ON SCHEMA {APP_SCHEMA} FROM PUBLIC")
    connection.run(f"GRANT USAGE ON SCHEMA {APP_SCHEMA} TO {app}")


def _apply(connection: pg8000.native.Connection, migration: Migration, roles: RoleNames) -> None:
    connection.run(f"SET LOCAL ROLE {identifier(roles.owner)}")
    connection.run(f"SET LOCAL search_path TO {APP_SCHEMA}")
    for statement in migration.render(owner=identifier(roles.owner), app=identifier(roles.app)):
        connection.run(statement)
    connection.run("RESET ROLE")
    connection.run("RESET search_path")
    connection.run(
        f"INSERT INTO {META_SCHEMA}.schema_migrations (version, name, checksum) VALUES (:v, :n, :c)",  # noqa: S608
        v=migration.version,
        n=migration.name,
        c=migration.checksum,
    )


def verify_isolation(connection: pg8000.native.Connection, roles: RoleNames | None = None) -> list[str]:
    """Every reason the RLS guarantees would not hold for the app role; empty when they hold.

    Checked: the app role is not a superuser, has no ``BYPASSRLS`` and is not a member of the owner;
    every tenant table has RLS enabled and forced, is owned by the owner, has a policy, has a
    ``tenant_id`` column, and grants the app role no ``TRUNCATE``, ``REFERENCES`` or ``TRIGGER``;
    every tenant view runs with ``security_invoker``.
    """
    roles = roles or RoleNames()
    problems: list[str] = []
    rows = connection.run(
        "SELECT rolsuper, rolbypassrls, pg_has_role(:a, :o, 'MEMBER') FROM pg_roles WHERE rolname = :a",
        a=roles.app,
        o=roles.owner,
    )
    if not rows:
        return [f"app role {roles.app!r} does not exist"]
    superuser, bypass, member = rows[0]
    if superuser:
        problems.append(f"app role {roles.app!r} is a superuser")
    if bypass:
        problems.append(f"app role {roles.app!r} has BYPASSRLS")
    if member and not superuser:
        problems.append(f"app role {roles.app!r} is a member of the owner role {roles.owner!r}")
    for table in TENANT_TABLES:
        found = connection.run(
            "SELECT c.relrowsecurity, c.relforcerowsecurity, pg_get_userbyid(c.relowner), "
            "(SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid), "
            "EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id'), "
            "has_table_privilege(:a, c.oid, 'TRUNCATE'), has_table_privilege(:a, c.oid, 'REFERENCES'), "
            "has_table_privilege(:a, c.oid, 'TRIGGER') "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = :s AND c.relname = :t AND c.relkind = 'r'",
            a=roles.app,
            s=APP_SCHEMA,
            t=table,
        )
        if not found:
            problems.append(f"table {APP_SCHEMA}.{table} is missing")
            continue
        enabled, forced, owner, policies, has_tenant, truncate, references, trigger = found[0]
        name = f"{APP_SCHEMA}.{table}"
        if not enabled:
            problems.append(f"{name} does not enable row-level security")
        if not forced:
            problems.append(f"{name} does not force row-level security")
        if owner != roles.owner:
            problems.append(f"{name} is owned by {owner!r}, not {roles.owner!r}")
        if not policies:
            problems.append(f"{name} has no policy")
        if not has_tenant:
            problems.append(f"{name} has no tenant_id column")
        for granted, privilege in ((truncate, "TRUNCATE"), (references, "REFERENCES"), (trigger, "TRIGGER")):
            if granted and not superuser:
                problems.append(f"app role may {privilege} {name}")
    for view in TENANT_VIEWS:
        options = connection.run(
            "SELECT c.reloptions FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = :s AND c.relname = :v AND c.relkind = 'v'",
            s=APP_SCHEMA,
            v=view,
        )
        if not options:
            problems.append(f"view {APP_SCHEMA}.{view} is missing")
        elif "security_invoker=true" not in (options[0][0] or []):
            problems.append(f"view {APP_SCHEMA}.{view} is not security_invoker")
    return problems


# ------------------------------------------------------------------------------------------- the CLI


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dbpatterns.runtime.tenancy.migrate", description="Apply the tenant schema and RLS."
    )
    parser.add_argument(
        "--dsn", required=True, help="postgresql://user@host:port/db?sslmode=...&sslrootcert=..."
    )
    parser.add_argument("--password-env", help="read the password from this environment variable")
    parser.add_argument("--owner-role", default=DEFAULT_OWNER_ROLE)
    parser.add_argument("--app-role", default=DEFAULT_APP_ROLE)
    parser.add_argument("--iam-auth", action="store_true", help="GRANT rds_iam to the app role (RDS/Aurora)")
    args = parser.parse_args(argv)
    try:
        roles = RoleNames(owner=args.owner_role, app=args.app_role)
        password_env = args.password_env

        def password() -> str | None:
            return os.environ.get(password_env) if password_env else None

        settings: ConnectionSettings = settings_from_dsn(
            args.dsn, password=password if password_env else None, application_name="dbpatterns-migrate"
        )
        connection = open_connection(settings)
        try:
            report = migrate(connection, roles=roles, iam_auth=args.iam_auth)
        finally:
            connection.close()
    except (PropValidationError, MigrationError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    target = f"{settings.host}:{settings.port}/{settings.database}"
    print(
        f"{target}: schema version {report.schema_version}; applied {report.applied or 'nothing'}; "
        f"already there {report.already_applied or 'nothing'}; roles created {report.roles_created or 'none'}"
    )
    print("isolation preconditions hold (RLS enabled and forced, app role not owner, no BYPASSRLS)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
