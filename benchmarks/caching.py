"""Measure the caching patterns on this machine: cache hits vs PostgreSQL reads, and reads during outages.

Run from the repository root with the local PostgreSQL (127.0.0.1:5432, db ``test``) and Redis
(127.0.0.1:6379) up and ``redis-server`` on PATH::

    .venv/bin/python benchmarks/caching.py [--reads 2000] [--outage-reads 300] [--hung-reads 30]

Everything runs on the loopback interface, so absolute figures are lower bounds for a VPC; the
ratios and the outage behaviour are what to read. The script creates two uniquely named tables
and one key prefix, and removes them (and its private redis-server) when it ends.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
import redis
from psycopg import sql
from psycopg.rows import dict_row

from dbpatterns.runtime.caching import CacheClient, CacheConfig, CircuitBreaker, EntityCache, Loader

POSTGRES_CONNINFO = "host=127.0.0.1 port=5432 user=postgres dbname=test"
SHARED_REDIS_PORT = 6379
PRODUCTS = 100
ORDER_LINES = 200_000
MAX_READS = 100_000

Row = dict[str, Any]


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def print_header() -> None:
    figures = " ".join(f"{name:>8}" for name in ("p50", "p95", "p99", "max", "mean"))
    print(f"{'scenario (latency in ms)':<52} {'reads':>6} {figures}")


def measure(name: str, reads: int, read: Callable[[int], object]) -> None:
    """Time ``reads`` calls of ``read`` and print p50/p95/p99/max/mean in milliseconds."""
    samples: list[float] = []
    for index in range(reads):
        started = time.perf_counter()
        read(index)
        samples.append((time.perf_counter() - started) * 1000)
    figures = [percentile(samples, 0.50), percentile(samples, 0.95), percentile(samples, 0.99), max(samples)]
    print(f"{name:<52} {reads:>6} " + " ".join(f"{f:>8.3f}" for f in [*figures, statistics.fmean(samples)]))


def product_key(index: int) -> str:
    return f"p{index % PRODUCTS}"


@dataclass(frozen=True)
class Database:
    """Two loaders over the same PostgreSQL connection: a cheap one and one that does real work."""

    product: Loader[Row]
    """SELECT of one product by primary key."""
    sales_summary: Loader[Row]
    """Aggregate over ORDER_LINES unindexed order lines: a report-style query worth caching."""


@contextmanager
def database() -> Iterator[Database]:
    suffix = uuid.uuid4().hex[:12]
    products = sql.Identifier(f"bench_products_{suffix}")
    lines = sql.Identifier(f"bench_order_lines_{suffix}")
    with psycopg.connect(POSTGRES_CONNINFO, autocommit=True) as conn:
        try:
            conn.execute(
                sql.SQL("CREATE TABLE {} (id text PRIMARY KEY, name text, price_cents bigint)").format(
                    products
                )
            )
            conn.execute(
                sql.SQL(
                    "INSERT INTO {} SELECT 'p' || n, 'Product ' || n, 100 + n "
                    "FROM generate_series(0, %s) AS n"
                ).format(products),
                (PRODUCTS - 1,),
            )
            conn.execute(sql.SQL("CREATE TABLE {} (product_id text, quantity int)").format(lines))
            conn.execute(
                sql.SQL(
                    "INSERT INTO {} SELECT 'p' || (n %% %s), 1 + n %% 5 FROM generate_series(1, %s) AS n"
                ).format(lines),
                (PRODUCTS, ORDER_LINES),
            )
            conn.execute(sql.SQL("ANALYZE {}").format(lines))
            product_query = sql.SQL("SELECT name, price_cents FROM {} WHERE id = %s").format(products)
            summary_query = sql.SQL(
                "SELECT count(*) AS orders, sum(quantity) AS units FROM {} WHERE product_id = %s"
            ).format(lines)

            def run(query: sql.Composed, key: str) -> Row | None:
                with conn.cursor(row_factory=dict_row) as cur:
                    cur.execute(query, (key,))
                    return cur.fetchone()

            yield Database(
                product=lambda key: run(product_query, key),
                sales_summary=lambda key: run(summary_query, key),
            )
        finally:
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}, {}").format(products, lines))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def stopped_redis_port() -> Iterator[int]:
    """Start a private redis-server, then stop it: its port now refuses connections."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not on PATH")
    port = free_port()
    with tempfile.TemporaryDirectory() as workdir:
        args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        process = subprocess.Popen(  # noqa: S603 - our own arguments and the binary shutil.which found
            [*args, "--daemonize", "no", "--dir", workdir], stdout=subprocess.DEVNULL
        )
        try:
            with redis.Redis(port=port, socket_timeout=1) as admin:
                for _ in range(250):
                    try:
                        admin.ping()
                        break
                    except redis.ConnectionError:
                        time.sleep(0.02)
        finally:
            process.terminate()
            process.wait(timeout=5)
        yield port


@contextmanager
def hung_port() -> Iterator[int]:
    """A port whose kernel accepts connections that nobody ever answers (a hung cache node)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        yield listener.getsockname()[1]


def direct_read(loader: Loader[Row]) -> Callable[[int], object]:
    return lambda index: loader(product_key(index))


def cached_read(cache: EntityCache, loader: Loader[Row]) -> Callable[[int], object]:
    return lambda index: cache.get(product_key(index), loader)


def entity_cache(port: int, breaker: CircuitBreaker, namespace: str, prefix: str = "") -> EntityCache:
    config = CacheConfig(host="127.0.0.1", port=port, tls=False)
    client = CacheClient.from_config(config, key_prefix=prefix, breaker=breaker)
    return EntityCache(client, namespace=namespace, ttl_seconds=300)


def healthy_cache(db: Database, reads: int) -> None:
    prefix = f"bench:caching:{uuid.uuid4().hex}:"
    shared = redis.Redis(port=SHARED_REDIS_PORT)
    try:
        for namespace, loader, label in (
            ("product", db.product, "product by primary key"),
            ("summary", db.sales_summary, f"sales summary over {ORDER_LINES:,} rows"),
        ):
            cache = entity_cache(SHARED_REDIS_PORT, CircuitBreaker(), namespace, prefix)
            count = reads if namespace == "product" else min(reads, 300)
            measure(f"PostgreSQL: {label}", count, direct_read(loader))
            for index in range(PRODUCTS):
                cache.get(product_key(index), loader)
            measure(f"cache hit: {label}", count, cached_read(cache, loader))
            assert cache.client.stats.errors == 0

        products = entity_cache(SHARED_REDIS_PORT, CircuitBreaker(), "product", prefix)

        def miss(index: int) -> object:
            products.invalidate(product_key(index))
            return products.get(product_key(index), db.product)

        measure("cache miss: DEL, GET, PostgreSQL read, SET", reads, miss)
        assert products.client.stats.misses == reads
    finally:
        keys = list(shared.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            shared.delete(*keys)
        shared.close()


def outage(scenario: str, port: int, db: Database, reads: int) -> None:
    for label, breaker in (("breaker on", CircuitBreaker()), ("breaker off", CircuitBreaker.disabled())):
        cache = entity_cache(port, breaker, "product")
        measure(f"{scenario}, {label}", reads, cached_read(cache, db.product))
        stats = cache.client.stats
        assert stats.fallbacks == reads, "every read must be answered by PostgreSQL"
        print(f"{'':<4}answered by PostgreSQL: {stats.fallbacks}, cache attempts that failed: {stats.errors}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reads", type=int, default=2000, help="reads per healthy-cache scenario")
    parser.add_argument(
        "--outage-reads", type=int, default=300, help="reads while the cache refuses connections"
    )
    parser.add_argument(
        "--hung-reads", type=int, default=30, help="reads while the cache hangs (0.1 s timeout)"
    )
    args = parser.parse_args()
    for name in ("reads", "outage_reads", "hung_reads"):
        if not 1 <= getattr(args, name) <= MAX_READS:
            parser.error(f"--{name.replace('_', '-')} must be between 1 and {MAX_READS}")
    # Each failed cache command logs a warning; the figures are what this script is for.
    logging.getLogger("dbpatterns.runtime.caching").setLevel(logging.CRITICAL)

    print_header()
    with database() as db:
        healthy_cache(db, args.reads)
        with stopped_redis_port() as port:
            outage("cache refuses connections", port, db, args.outage_reads)
        with hung_port() as port:
            outage("cache hangs (0.1 s socket timeout)", port, db, args.hung_reads)


if __name__ == "__main__":
    main()
