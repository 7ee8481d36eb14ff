"""Per-table verification of a move: row count and an order-independent checksum, computed in SQL on
both databases while the tenant's writes are fenced.

The checksum is the sum, as ``numeric`` (no overflow), of the first 64 bits of ``md5`` of each row's
text (``ROW(col, ...)::text``, columns in the same named order on both sides). A sum rather than an
XOR so that a duplicated row changes it; any changed value, missing or extra row changes it with
overwhelming probability. The row text is rendered with fixed settings (UTC, ISO dates, shortest
exact floats) so both servers print the same values the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pg8000.native

from dbpatterns.runtime.tenancy.move.tables import TableInfo, transaction

_RENDERING = (
    "SET LOCAL DateStyle = 'ISO, YMD'",
    "SET LOCAL IntervalStyle = 'iso_8601'",
    "SET LOCAL extra_float_digits = 1",
    "SET LOCAL bytea_output = 'hex'",
)


@dataclass(frozen=True)
class Fingerprint:
    rows: int
    checksum: str


@dataclass(frozen=True)
class TableCheck:
    table: str
    source: Fingerprint
    target: Fingerprint

    @property
    def matches(self) -> bool:
        return self.source == self.target


class VerificationError(RuntimeError):
    """The target does not hold exactly the source's rows; the move is rolled back."""

    def __init__(self, checks: Sequence[TableCheck]) -> None:
        self.checks = tuple(checks)
        failed = [
            f"{c.table}: source {c.source.rows} rows / {c.source.checksum}, "
            f"target {c.target.rows} rows / {c.target.checksum}"
            for c in self.checks
            if not c.matches
        ]
        super().__init__("verification failed: " + "; ".join(failed))


def fingerprints(
    connection: pg8000.native.Connection, tables: Sequence[TableInfo], tenant_id: str
) -> dict[str, Fingerprint]:
    with transaction(connection, tenant_id=tenant_id, repeatable_read=True, read_only=True):
        for setting in _RENDERING:
            connection.run(setting)
        found = {}
        for table in tables:
            rows, checksum = connection.run(
                "SELECT count(*), coalesce(sum(('x' || substr(md5(ROW("  # noqa: S608 - names from the catalog
                f"{table.column_list()})::text), 1, 16))::bit(64)::bigint::numeric), 0)::text "
                f"FROM {table.qualified} WHERE tenant_id = :t",
                t=tenant_id,
            )[0]
            found[table.name] = Fingerprint(int(rows), str(checksum))
    return found


def compare(
    source: pg8000.native.Connection,
    target: pg8000.native.Connection,
    tables: Sequence[TableInfo],
    tenant_id: str,
) -> list[TableCheck]:
    mine, theirs = fingerprints(source, tables, tenant_id), fingerprints(target, tables, tenant_id)
    return [TableCheck(t.name, mine[t.name], theirs[t.name]) for t in tables]
