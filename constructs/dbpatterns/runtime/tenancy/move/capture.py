"""Change capture on the source database while a tenant moves: a trigger-fed change table, and the
write fence of the cutover.

Why triggers and not logical decoding: logical decoding needs ``wal_level = logical`` (on RDS the
``rds.logical_replication`` parameter and a reboot of a *shared* pooled instance), a replication slot
that retains WAL for the whole shard while it exists, and a decoder that sees every tenant's changes.
A trigger works on any PostgreSQL as it runs, is filtered to the moving tenant's rows at the source,
commits or rolls back *with* the write it records (nothing between the snapshot and the capture can
slip through), and gives the cutover a fence for free (below). The price: one extra insert per
changed row of the moving tenant while it moves, and a short ``SHARE ROW EXCLUSIVE`` lock per table
to create and drop the trigger. The AWS path uses DMS CDC, which decodes the WAL instead.

Objects, in the schema ``tenancy_move`` (the app role has no access; the trigger function is
``SECURITY DEFINER`` with a fixed ``search_path``):

- ``moves(move_id, tenant_id, frozen)``: one row per move in progress - the fence;
- ``changes(seq, move_id, table_name, key)``: the primary key (as JSON) of every row of the moving
  tenant inserted, updated or deleted since the trigger was created - "dirty keys", not row images;
- one trigger per tenant table and move, ``tenancy_move_<move_id>``, calling ``capture()``.

Catch-up (:func:`drain`) reads, in one ``REPEATABLE READ`` snapshot of the source, every pending
dirty key and the *current* source row of each; it upserts the rows that exist and deletes the keys
that do not on the target (parents first for upserts, children first for deletes), commits the
target, then deletes exactly the processed change rows in the same source snapshot. Replaying a key
twice is harmless (it copies the current state again), so a crash at any point loses nothing.

The fence: ``capture()`` locks the tenant's ``moves`` row ``FOR SHARE`` and raises SQLSTATE
``TMOVE`` when it is ``frozen``. :func:`freeze` sets ``frozen`` with an ``UPDATE``, which waits for
every transaction holding that share lock, i.e. for every write of the tenant already in flight. When
it returns, no write of the tenant can commit on the source any more, whatever a directory cache
says; the final :func:`drain` then sees every change. The fence stays until ``cleanup`` (or a
rollback), so after the flip a stale placement can still read the source, but never write to it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pg8000.native
from pg8000.native import identifier, literal

from dbpatterns.runtime.tenancy.move.rowcopy import delete_keys, insert_rows
from dbpatterns.runtime.tenancy.move.tables import TableInfo, transaction

CAPTURE_SCHEMA = "tenancy_move"
#: Serializes creating the capture objects when two moves start on one database ("tenmove").
SETUP_LOCK_KEY = 0x74656E6D6F7665

_SETUP = (
    f"CREATE SCHEMA IF NOT EXISTS {CAPTURE_SCHEMA}",
    f"REVOKE ALL ON SCHEMA {CAPTURE_SCHEMA} FROM PUBLIC",
    f"CREATE TABLE IF NOT EXISTS {CAPTURE_SCHEMA}.moves ("
    "move_id text PRIMARY KEY, tenant_id text NOT NULL, frozen boolean NOT NULL DEFAULT false, "
    "created_at timestamptz NOT NULL DEFAULT now())",
    f"CREATE TABLE IF NOT EXISTS {CAPTURE_SCHEMA}.changes ("
    "seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
    f"move_id text NOT NULL REFERENCES {CAPTURE_SCHEMA}.moves ON DELETE CASCADE, "
    "table_name text NOT NULL, key jsonb NOT NULL)",
    f"CREATE INDEX IF NOT EXISTS changes_by_move ON {CAPTURE_SCHEMA}.changes (move_id, seq)",
    f"""CREATE OR REPLACE FUNCTION {CAPTURE_SCHEMA}.capture() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    old_hit boolean := TG_OP IN ('UPDATE', 'DELETE') AND OLD.tenant_id = TG_ARGV[1];
    new_hit boolean := TG_OP IN ('INSERT', 'UPDATE') AND NEW.tenant_id = TG_ARGV[1];
    is_frozen boolean;
BEGIN
    IF NOT (coalesce(old_hit, false) OR coalesce(new_hit, false)) THEN
        RETURN NULL;
    END IF;
    SELECT m.frozen INTO is_frozen FROM {CAPTURE_SCHEMA}.moves m WHERE m.move_id = TG_ARGV[0] FOR SHARE;
    IF is_frozen IS NULL THEN
        RETURN NULL;
    END IF;
    IF is_frozen THEN
        RAISE EXCEPTION 'tenant % is being moved (%): writes are paused', TG_ARGV[1], TG_ARGV[0]
            USING ERRCODE = 'TMOVE', HINT = 'retry in a few seconds';
    END IF;
    IF coalesce(old_hit, false) THEN
        INSERT INTO {CAPTURE_SCHEMA}.changes (move_id, table_name, key)
        SELECT TG_ARGV[0], TG_TABLE_NAME, jsonb_object_agg(k, to_jsonb(OLD) -> k) FROM unnest(TG_ARGV[2:]) k;
    END IF;
    IF coalesce(new_hit, false) THEN
        INSERT INTO {CAPTURE_SCHEMA}.changes (move_id, table_name, key)
        SELECT TG_ARGV[0], TG_TABLE_NAME, jsonb_object_agg(k, to_jsonb(NEW) -> k) FROM unnest(TG_ARGV[2:]) k;
    END IF;
    RETURN NULL;
END
$fn$""",  # noqa: S608 - constants only
    f"REVOKE ALL ON FUNCTION {CAPTURE_SCHEMA}.capture() FROM PUBLIC",
)


class CaptureMissingError(RuntimeError):
    """The move's capture objects are gone from the source (rolled back elsewhere?): changes may have
    been missed, so the move cannot continue; roll it back."""


@dataclass(frozen=True)
class CaptureState:
    exists: bool
    frozen: bool
    triggers: int
    pending_changes: int


def trigger_name(move_id: str) -> str:
    return str(identifier(f"tenancy_move_{move_id}"))


def install(
    connection: pg8000.native.Connection,
    tables: Sequence[TableInfo],
    *,
    move_id: str,
    tenant_id: str,
    lock_timeout_seconds: float,
) -> None:
    """Create (or re-create, on resume) the capture for this move, unfrozen and with no pending
    changes. Call it *before* taking the copy's snapshot: every write committed after it returns is
    recorded."""
    with transaction(connection):
        connection.run(f"SET LOCAL lock_timeout = '{int(lock_timeout_seconds * 1000)}ms'")
        connection.run("SELECT pg_advisory_xact_lock(:k)", k=SETUP_LOCK_KEY)
        for statement in _SETUP:
            connection.run(statement)
        connection.run(
            f"INSERT INTO {CAPTURE_SCHEMA}.moves (move_id, tenant_id) VALUES (:m, :t) "  # noqa: S608
            "ON CONFLICT (move_id) DO UPDATE SET frozen = false",
            m=move_id,
            t=tenant_id,
        )
        connection.run(f"DELETE FROM {CAPTURE_SCHEMA}.changes WHERE move_id = :m", m=move_id)  # noqa: S608
        for table in tables:
            arguments = ", ".join(literal(v) for v in (move_id, tenant_id, *table.key))
            connection.run(f"DROP TRIGGER IF EXISTS {trigger_name(move_id)} ON {table.qualified}")
            connection.run(
                f"CREATE TRIGGER {trigger_name(move_id)} AFTER INSERT OR UPDATE OR DELETE "
                f"ON {table.qualified} FOR EACH ROW EXECUTE FUNCTION {CAPTURE_SCHEMA}.capture({arguments})"
            )


def state(connection: pg8000.native.Connection, move_id: str) -> CaptureState:
    with transaction(connection, read_only=True):
        if not connection.run("SELECT to_regclass(:t) IS NOT NULL", t=f"{CAPTURE_SCHEMA}.moves")[0][0]:
            return CaptureState(exists=False, frozen=False, triggers=0, pending_changes=0)
        row = connection.run(f"SELECT frozen FROM {CAPTURE_SCHEMA}.moves WHERE move_id = :m", m=move_id)  # noqa: S608
        triggers = connection.run(
            "SELECT count(*) FROM pg_trigger WHERE tgname = :n AND NOT tgisinternal",
            n=f"tenancy_move_{move_id}",
        )[0][0]
        pending = connection.run(
            f"SELECT count(DISTINCT (table_name, key)) FROM {CAPTURE_SCHEMA}.changes WHERE move_id = :m",  # noqa: S608
            m=move_id,
        )[0][0]
    return CaptureState(
        exists=bool(row), frozen=bool(row and row[0][0]), triggers=int(triggers), pending_changes=int(pending)
    )


def require_intact(connection: pg8000.native.Connection, move_id: str, tables: Sequence[TableInfo]) -> None:
    found = state(connection, move_id)
    if not found.exists or found.triggers != len(tables):
        raise CaptureMissingError(
            f"move {move_id}: the change capture on the source is incomplete ({found.triggers} of "
            f"{len(tables)} triggers, move row {'present' if found.exists else 'missing'}); changes may "
            "have been missed: roll the move back and start again"
        )


def freeze(connection: pg8000.native.Connection, move_id: str, *, lock_timeout_seconds: float) -> None:
    """Fence the tenant's writes on the source; returns once every write in flight has finished."""
    with transaction(connection):
        connection.run(f"SET LOCAL lock_timeout = '{int(lock_timeout_seconds * 1000)}ms'")
        connection.run(f"UPDATE {CAPTURE_SCHEMA}.moves SET frozen = true WHERE move_id = :m", m=move_id)  # noqa: S608
        if connection.row_count != 1:
            raise CaptureMissingError(f"move {move_id}: no fence row on the source; roll the move back")


def drain(
    source: pg8000.native.Connection,
    target: pg8000.native.Connection,
    tables: Sequence[TableInfo],
    *,
    move_id: str,
    tenant_id: str,
) -> int:
    """Bring the target up to one snapshot of the source for every dirty key; returns the number of
    distinct keys applied (0: nothing was pending)."""
    by_name = {t.name: t for t in tables}
    with transaction(source, tenant_id=tenant_id, repeatable_read=True):
        pending = source.run(
            f"SELECT DISTINCT table_name, key::text FROM {CAPTURE_SCHEMA}.changes WHERE move_id = :m",  # noqa: S608
            m=move_id,
        )
        if not pending:
            return 0
        keys: dict[str, list[dict[str, object]]] = {}
        for table_name, key in pending:
            keys.setdefault(str(table_name), []).append(json.loads(str(key)))
        present: dict[str, list[str]] = {}
        absent: dict[str, list[dict[str, object]]] = {}
        for name, table_keys in keys.items():
            table = by_name[name]
            rows = source.run(
                f"SELECT to_jsonb(x)::text FROM (SELECT {table.column_list()} FROM {table.qualified} "  # noqa: S608
                f"WHERE tenant_id = :t AND ({table.key_list()}) IN (SELECT {table.key_list()} FROM "
                f"jsonb_populate_recordset(NULL::{table.qualified}, CAST(:keys AS jsonb)))) x",
                t=tenant_id,
                keys=json.dumps(table_keys),
            )
            present[name] = [str(r[0]) for r in rows]
            found = {_key_of(json.loads(r), table.key) for r in present[name]}
            absent[name] = [k for k in table_keys if _key_of(k, table.key) not in found]
        with transaction(target, tenant_id=tenant_id):
            for table in tables:
                insert_rows(target, table, present.get(table.name, []), upsert=True)
            for table in reversed(tables):
                delete_keys(target, table, absent.get(table.name, []))
        # Only the change rows this snapshot saw: later ones (and any committed out of seq order)
        # stay for the next round.
        source.run(f"DELETE FROM {CAPTURE_SCHEMA}.changes WHERE move_id = :m", m=move_id)  # noqa: S608
    return len(pending)


def remove(connection: pg8000.native.Connection, tables: Sequence[TableInfo], *, move_id: str) -> None:
    """Drop the move's triggers and its fence and change rows (rollback, or cleanup after a flip)."""
    with transaction(connection):
        if not connection.run("SELECT to_regclass(:t) IS NOT NULL", t=f"{CAPTURE_SCHEMA}.moves")[0][0]:
            return
        for table in tables:
            connection.run(f"DROP TRIGGER IF EXISTS {trigger_name(move_id)} ON {table.qualified}")
        connection.run(f"DELETE FROM {CAPTURE_SCHEMA}.moves WHERE move_id = :m", m=move_id)  # noqa: S608


def _key_of(row: dict[str, object], key: Sequence[str]) -> str:
    return json.dumps([row.get(column) for column in key])
