"""Fixtures for the caching tests: the shared Redis (one key prefix per test), the real PostgreSQL
(one table per test session), a private redis-server a test may stop, and a fake clock."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from psycopg import sql

from dbpatterns.runtime.caching import CacheClient, CacheConfig, CircuitBreaker, connect
from tests.runtime.caching.products import ProductTable
from tests.runtime.caching.redis_process import (
    RedisServerProcess,
    SilentListener,
    require_redis_server_binary,
)
from tests.support.servers import POSTGRES, REDIS, require_server

POSTGRES_CONNINFO = "host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=5"


class FakeClock:
    """A clock tests move by hand, so circuit-breaker and session lifetimes need no sleeping."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def local_config(port: int, **overrides: Any) -> CacheConfig:
    """Plain-text connection to a loopback server (production configs keep TLS on)."""
    return CacheConfig(host="127.0.0.1", port=port, tls=False, **overrides)


@pytest.fixture
def shared_redis() -> Iterator[redis.Redis]:
    require_server(REDIS)
    client = connect(local_config(REDIS[2], socket_timeout_seconds=2.0))
    yield client
    client.close()


@pytest.fixture
def key_prefix(shared_redis: redis.Redis) -> Iterator[str]:
    """A prefix no other test uses; every key under it is deleted afterwards (never FLUSHALL)."""
    prefix = f"test:caching:{uuid.uuid4().hex}:"
    yield prefix
    keys = list(shared_redis.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        shared_redis.delete(*keys)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def cache_client(shared_redis: redis.Redis, key_prefix: str, clock: FakeClock) -> CacheClient:
    return CacheClient(shared_redis, key_prefix=key_prefix, breaker=CircuitBreaker(clock=clock))


@pytest.fixture(scope="session")
def products_table_name() -> Iterator[str]:
    require_server(POSTGRES)
    name = f"caching_products_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_CONNINFO, autocommit=True) as conn:
        conn.execute(
            sql.SQL(
                "CREATE TABLE {} (id text PRIMARY KEY, name text NOT NULL, "
                "price_cents bigint NOT NULL CHECK (price_cents >= 0))"
            ).format(sql.Identifier(name))
        )
    yield name
    with psycopg.connect(POSTGRES_CONNINFO, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(name)))


@pytest.fixture
def products(products_table_name: str) -> Iterator[ProductTable]:
    with psycopg.connect(POSTGRES_CONNINFO, autocommit=True) as conn:
        conn.execute(sql.SQL("TRUNCATE {}").format(sql.Identifier(products_table_name)))
        yield ProductTable(conn, products_table_name)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServerProcess]:
    """A started redis-server of this test's own, on a free port; stopped afterwards."""
    server = RedisServerProcess(require_redis_server_binary(), tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def silent_listener() -> Iterator[SilentListener]:
    listener = SilentListener()
    yield listener
    listener.close()
