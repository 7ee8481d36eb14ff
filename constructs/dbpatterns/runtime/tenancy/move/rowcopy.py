"""Copying one tenant's rows between databases, and deleting them.

The copy reads the source in one ``REPEATABLE READ`` transaction (one snapshot for every table, so
the copy is consistent across the foreign key) through a cursor, ``batch_rows`` at a time, and writes
the target in one transaction: an interrupted copy leaves nothing on the target. Rows travel as
``to_jsonb(row)`` text and are rebuilt with ``jsonb_populate_recordset(NULL::table, ...)`` on the
target, so every column type PostgreSQL can render as JSON round-trips without per-type code (uuid,
numeric, timestamptz to the microsecond, booleans, text with any characters).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

import pg8000.native

from dbpatterns.runtime.tenancy.move.tables import TableInfo, transaction

CURSOR = "tenancy_move_copy"


def copy_tenant_rows(
    source: pg8000.native.Connection,
    target: pg8000.native.Connection,
    tables: Sequence[TableInfo],
    tenant_id: str,
    *,
    batch_rows: int,
    progress: Callable[[TableInfo, int], None],
) -> dict[str, int]:
    """Copy every row of ``tenant_id``; returns rows copied per table. ``progress(table, rows so far)``
    is called after each batch (and may raise to abort: nothing is committed on the target)."""
    copied: dict[str, int] = {}
    with (
        transaction(source, tenant_id=tenant_id, repeatable_read=True, read_only=True),
        transaction(target, tenant_id=tenant_id),
    ):
        for table in tables:
            copied[table.name] = 0
            source.run(
                # Names come from the catalog, the id is a validated slug quoted as a literal.
                f"DECLARE {CURSOR} NO SCROLL CURSOR FOR SELECT to_jsonb(x)::text FROM "  # noqa: S608
                f"(SELECT {table.column_list()} FROM {table.qualified} "
                f"WHERE {table.tenant_filter(tenant_id)}) x"
            )
            while True:
                batch = source.run(f"FETCH {int(batch_rows)} FROM {CURSOR}")
                if not batch:
                    break
                insert_rows(target, table, [str(row[0]) for row in batch])
                copied[table.name] += len(batch)
                progress(table, copied[table.name])
            source.run(f"CLOSE {CURSOR}")
            if not copied[table.name]:
                progress(table, 0)  # an empty table is reported too
    return copied


def insert_rows(
    target: pg8000.native.Connection, table: TableInfo, rows: Sequence[str], *, upsert: bool = False
) -> None:
    """Insert rows given as JSON objects (text); with ``upsert`` an existing key is overwritten."""
    if not rows:
        return
    conflict = ""
    if upsert:
        others = [c for c in table.columns if c not in table.key]
        action = (
            "DO UPDATE SET " + ", ".join(f"{c} = EXCLUDED.{c}" for c in _quoted(others))
            if others
            else "DO NOTHING"
        )
        conflict = f" ON CONFLICT ({table.key_list()}) {action}"
    target.run(
        f"INSERT INTO {table.qualified} ({table.column_list()}) SELECT {table.column_list()} "  # noqa: S608
        f"FROM jsonb_populate_recordset(NULL::{table.qualified}, CAST(:rows AS jsonb)){conflict}",
        rows="[" + ",".join(rows) + "]",
    )


def delete_keys(
    target: pg8000.native.Connection, table: TableInfo, keys: Sequence[dict[str, object]]
) -> None:
    """Delete the rows with these primary keys (JSON objects of the key columns)."""
    if not keys:
        return
    match = " AND ".join(f"t.{c} = k.{c}" for c in _quoted(table.key))
    target.run(
        f"DELETE FROM {table.qualified} t "  # noqa: S608
        f"USING jsonb_populate_recordset(NULL::{table.qualified}, CAST(:keys AS jsonb)) k WHERE {match}",
        keys=json.dumps(list(keys)),
    )


def delete_tenant_rows(
    connection: pg8000.native.Connection, tables: Sequence[TableInfo], tenant_id: str
) -> dict[str, int]:
    """Delete every row of ``tenant_id`` (children first), inside the caller's transaction."""
    deleted: dict[str, int] = {}
    for table in reversed(tables):
        connection.run(f"DELETE FROM {table.qualified} WHERE tenant_id = :t", t=tenant_id)  # noqa: S608
        deleted[table.name] = int(connection.row_count)
    return deleted


def count_tenant_rows(
    connection: pg8000.native.Connection, tables: Sequence[TableInfo], tenant_id: str
) -> dict[str, int]:
    with transaction(connection, tenant_id=tenant_id, read_only=True):
        counts = {}
        for table in tables:
            sql = f"SELECT count(*) FROM {table.qualified} WHERE tenant_id = :t"  # noqa: S608
            counts[table.name] = int(connection.run(sql, t=tenant_id)[0][0])
        return counts


def _quoted(columns: Sequence[str]) -> list[str]:
    return [pg8000.native.identifier(c) for c in columns]
