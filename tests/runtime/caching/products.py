"""The database side of the caching tests: a products table in the real PostgreSQL.

``ProductTable`` offers the loader, writer and deleter that ``EntityCache`` expects and counts how
often each reaches the database, so tests can prove that a cache hit does not.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

Product = dict[str, Any]


class ProductTable:
    def __init__(self, conn: psycopg.Connection[Any], table: str) -> None:
        self._conn = conn
        self._table = sql.Identifier(table)
        self.loads = 0
        self.writes = 0

    def load(self, key: str) -> Product | None:
        """Loader: one SELECT by primary key."""
        self.loads += 1
        return self.row(key)

    def save(self, key: str, product: Product) -> Product:
        """Writer: upsert, returning the row as stored (the CHECK rejects negative prices)."""
        self.writes += 1
        query = sql.SQL(
            "INSERT INTO {} (id, name, price_cents) VALUES (%s, %s, %s) "
            "ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, price_cents = EXCLUDED.price_cents "
            "RETURNING name, price_cents"
        ).format(self._table)
        with self._conn.cursor(row_factory=dict_row) as cur:
            cur.execute(query, (key, product["name"], product["price_cents"]))
            stored = cur.fetchone()
        assert stored is not None
        return stored

    def remove(self, key: str) -> None:
        """Deleter."""
        self.writes += 1
        self._conn.execute(sql.SQL("DELETE FROM {} WHERE id = %s").format(self._table), (key,))

    def row(self, key: str) -> Product | None:
        """What the database holds, without counting as a load (for assertions)."""
        with self._conn.cursor(row_factory=dict_row) as cur:
            cur.execute(sql.SQL("SELECT name, price_cents FROM {} WHERE id = %s").format(self._table), (key,))
            return cur.fetchone()
