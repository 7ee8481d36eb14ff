"""The tenant schema and its row-level security, as versioned migrations.

Every database of the fleet (pooled shard, standard instance, enterprise cluster) gets the same
schema, so a tenant can move between tiers without a schema change, and a dedicated database keeps
RLS as a second wall behind the network and IAM.

Roles (names configurable, so tests can use throwaway ones):

- **owner** (``tenancy_owner``): ``NOLOGIN``; owns the schema, tables and views. Nobody logs in as it.
- **app** (``tenancy_app``): ``LOGIN``, not the owner, not a member of the owner, no ``BYPASSRLS``,
  no ``SUPERUSER``/``CREATEROLE``/``CREATEDB``. It has ``SELECT, INSERT, UPDATE, DELETE`` on the
  tenant tables and ``SELECT`` on the views - no ``TRUNCATE`` (which ignores RLS), no
  ``REFERENCES``, no ``TRIGGER``. In AWS it logs in with IAM database authentication only
  (``GRANT rds_iam``) and has no password.

Isolation, table by table:

- every tenant table has ``tenant_id`` (a domain with the slug CHECK of
  :mod:`dbpatterns.runtime.tenancy.ids`), defaulting to the session's tenant context;
- ``ENABLE`` + ``FORCE ROW LEVEL SECURITY`` (``FORCE`` makes the owner obey the policies too);
- one policy ``USING`` and ``WITH CHECK`` ``tenant_id = current_setting('app.tenant_id', true)``:
  without context the setting is NULL (or ``''`` after a transaction-local value expired), which
  matches no row and satisfies no CHECK - no rows, no writes;
- keys and foreign keys include ``tenant_id``: a foreign-key check runs without RLS, so a
  single-column key would let tenant A attach a task to tenant B's project (and learn that the id
  exists); with ``(tenant_id, project_id)`` the reference can only point inside the tenant;
- views are ``security_invoker`` (PostgreSQL 15+), so the caller's policies apply inside them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from dbpatterns.runtime.tenancy.ids import MAX_TENANT_ID_LENGTH, MIN_TENANT_ID_LENGTH, TENANT_ID_REGEX

#: The schema with the tenant tables, and the one with the migration ledger (app has no access).
APP_SCHEMA = "app"
META_SCHEMA = "tenancy_meta"
#: The custom setting that carries the tenant of the current transaction.
TENANT_SETTING = "app.tenant_id"
#: The tables and views that hold tenant rows (the isolation check walks these).
TENANT_TABLES = ("projects", "tasks")
TENANT_VIEWS = ("project_summary",)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]
    """SQL templates; ``{owner}`` and ``{app}`` are replaced by the quoted role names. They run as the
    owner role, inside the schema ``app``, in one transaction with the ledger entry."""

    @property
    def checksum(self) -> str:
        """SHA-256 of the templates: an applied migration whose text changed is refused, not re-run."""
        digest = hashlib.sha256()
        for statement in self.statements:
            digest.update(statement.encode())
            digest.update(b"\x00")
        return digest.hexdigest()

    def render(self, *, owner: str, app: str) -> list[str]:
        return [statement.format(owner=owner, app=app) for statement in self.statements]


_TENANT_CONTEXT = f"current_setting('{TENANT_SETTING}', true)"
_ISOLATION = f"tenant_id = {_TENANT_CONTEXT}"


def _rls(table: str) -> tuple[str, ...]:
    return (
        f"ALTER TABLE app.{table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE app.{table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY tenant_isolation ON app.{table} FOR ALL TO PUBLIC "
        f"USING ({_ISOLATION}) WITH CHECK ({_ISOLATION})",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON app.{table} TO {{app}}",
    )


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        version=1,
        name="tenant tables with row-level security",
        statements=(
            f"CREATE DOMAIN app.tenant_id AS text CHECK (VALUE ~ '{TENANT_ID_REGEX}' "
            f"AND length(VALUE) BETWEEN {MIN_TENANT_ID_LENGTH} AND {MAX_TENANT_ID_LENGTH})",
            f"""CREATE TABLE app.projects (
                tenant_id app.tenant_id NOT NULL DEFAULT {_TENANT_CONTEXT},
                project_id uuid NOT NULL DEFAULT gen_random_uuid(),
                name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
                status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
                created_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (tenant_id, project_id)
            )""",
            f"""CREATE TABLE app.tasks (
                tenant_id app.tenant_id NOT NULL DEFAULT {_TENANT_CONTEXT},
                task_id uuid NOT NULL DEFAULT gen_random_uuid(),
                project_id uuid NOT NULL,
                title text NOT NULL CHECK (length(title) BETWEEN 1 AND 500),
                done boolean NOT NULL DEFAULT false,
                estimate_hours numeric(6, 2) CHECK (estimate_hours >= 0),
                created_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (tenant_id, task_id),
                FOREIGN KEY (tenant_id, project_id)
                    REFERENCES app.projects (tenant_id, project_id) ON DELETE CASCADE
            )""",
            "CREATE INDEX tasks_by_project ON app.tasks (tenant_id, project_id)",
            *_rls("projects"),
            *_rls("tasks"),
            """CREATE VIEW app.project_summary WITH (security_invoker = true) AS
                SELECT p.tenant_id, p.project_id, p.name, p.status,
                       count(t.task_id) AS task_count,
                       count(t.task_id) FILTER (WHERE t.done) AS done_count,
                       coalesce(sum(t.estimate_hours) FILTER (WHERE NOT t.done), 0) AS open_hours
                FROM app.projects p
                LEFT JOIN app.tasks t ON t.tenant_id = p.tenant_id AND t.project_id = p.project_id
                GROUP BY p.tenant_id, p.project_id, p.name, p.status""",
            "GRANT SELECT ON app.project_summary TO {app}",
        ),
    ),
)
