"""The tenant tables as the mover sees them: columns, key and the order foreign keys impose.

Read from the catalog of each database (``pg_attribute``, ``pg_index``) rather than hard-coded, so a
new migration that adds a column is moved without touching this package. Tables are taken in the
order of :data:`~dbpatterns.runtime.tenancy.schema.TENANT_TABLES` (parents first): rows are inserted
in that order and deleted in the reverse one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pg8000.native
from pg8000.native import identifier, literal

from dbpatterns.runtime.tenancy.schema import APP_SCHEMA, TENANT_SETTING, TENANT_TABLES


class SchemaMismatchError(RuntimeError):
    """A tenant table is missing, or differs between the source and the target database."""


@dataclass(frozen=True)
class TableInfo:
    name: str
    columns: tuple[str, ...]
    types: tuple[str, ...]
    key: tuple[str, ...]

    @property
    def qualified(self) -> str:
        return f"{identifier(APP_SCHEMA)}.{identifier(self.name)}"

    def column_list(self, prefix: str = "") -> str:
        return ", ".join(prefix + identifier(c) for c in self.columns)

    def key_list(self, prefix: str = "") -> str:
        return ", ".join(prefix + identifier(c) for c in self.key)

    def tenant_filter(self, tenant_id: str) -> str:
        """``tenant_id = '<id>'`` for statements that take no parameters (``DECLARE``); the id is a
        validated slug and is quoted as a literal anyway."""
        return f"tenant_id = {literal(tenant_id)}"


def describe_tables(
    connection: pg8000.native.Connection, tables: Sequence[str] = TENANT_TABLES
) -> tuple[TableInfo, ...]:
    described = []
    for name in tables:
        qualified = f"{APP_SCHEMA}.{name}"
        columns = connection.run(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
            "WHERE a.attrelid = to_regclass(:q) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
            q=qualified,
        )
        if not columns:
            raise SchemaMismatchError(f"table {qualified} is missing (apply the tenant schema first)")
        key = connection.run(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a "
            "ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
            "WHERE i.indrelid = to_regclass(:q) AND i.indisprimary "
            "ORDER BY array_position(i.indkey::int2[], a.attnum)",
            q=qualified,
        )
        if not key:
            raise SchemaMismatchError(f"table {qualified} has no primary key; it cannot be moved by key")
        described.append(
            TableInfo(
                name=name,
                columns=tuple(str(c[0]) for c in columns),
                types=tuple(str(c[1]) for c in columns),
                key=tuple(str(k[0]) for k in key),
            )
        )
    return tuple(described)


def check_same_tables(source: Sequence[TableInfo], target: Sequence[TableInfo]) -> None:
    """Both databases must hold the same columns, types and keys (the same schema version)."""
    for mine, theirs in zip(source, target, strict=True):
        source_columns = dict(zip(mine.columns, mine.types, strict=True))
        target_columns = dict(zip(theirs.columns, theirs.types, strict=True))
        if source_columns != target_columns or set(mine.key) != set(theirs.key):
            raise SchemaMismatchError(
                f"table {APP_SCHEMA}.{mine.name} differs: source {source_columns} key {list(mine.key)}, "
                f"target {target_columns} key {list(theirs.key)}; migrate both databases to the same "
                "schema version"
            )


@contextlib.contextmanager
def transaction(
    connection: pg8000.native.Connection,
    *,
    tenant_id: str | None = None,
    repeatable_read: bool = False,
    read_only: bool = False,
) -> Iterator[pg8000.native.Connection]:
    """One transaction with the tenant context set (RLS applies even to a non-superuser owner), in UTC,
    committed on success and rolled back on any error."""
    mode = " ISOLATION LEVEL REPEATABLE READ" if repeatable_read else ""
    connection.run(f"START TRANSACTION{mode}{' READ ONLY' if read_only else ''}")
    try:
        connection.run("SET LOCAL TimeZone = 'UTC'")
        if tenant_id is not None:
            connection.run("SELECT set_config(:s, :t, true)", s=TENANT_SETTING, t=tenant_id)
        yield connection
    except BaseException:
        with contextlib.suppress(Exception):  # the original error is what matters
            connection.run("ROLLBACK")
        raise
    connection.run("COMMIT")
