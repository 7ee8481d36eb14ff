"""Redis goes away, hangs or misbehaves: reads are answered by PostgreSQL and no write is lost.

These tests run their own redis-server (or a listener that never answers) so they can stop it
without disturbing the machine's shared Redis.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
import redis
from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from dbpatterns.runtime.caching import (
    BreakerState,
    CacheClient,
    CacheFailure,
    CircuitBreaker,
    EntityCache,
    FailureKind,
)
from tests.runtime.caching.conftest import FakeClock, local_config
from tests.runtime.caching.products import ProductTable
from tests.runtime.caching.redis_process import RedisServerProcess, SilentListener

pytestmark = pytest.mark.needs_server

KEYS = [f"p{index}" for index in range(10)]


def make_catalog(port: int, clock: FakeClock, **client_options: object) -> EntityCache:
    client = CacheClient.from_config(
        local_config(port),
        breaker=CircuitBreaker(clock=clock),
        **client_options,  # type: ignore[arg-type]
    )
    return EntityCache(client, namespace="product", ttl_seconds=300)


def read_everything_and_check(catalog: EntityCache, products: ProductTable) -> None:
    """Every read must return exactly what PostgreSQL holds now."""
    for key in KEYS:
        assert catalog.get(key, products.load) == products.row(key), key


def test_every_read_is_answered_and_no_write_is_lost_when_redis_goes_away_mid_test(
    private_redis: RedisServerProcess, products: ProductTable, clock: FakeClock
) -> None:
    catalog = make_catalog(private_redis.port, clock)
    stats = catalog.client.stats
    for index, key in enumerate(KEYS):
        products.save(key, {"name": f"Item {index}", "price_cents": 100 + index})
    read_everything_and_check(catalog, products)  # populates the cache
    read_everything_and_check(catalog, products)  # served by the cache
    assert (stats.misses, stats.hits) == (10, 10)
    # The restarted server will load this snapshot, i.e. come back holding the pre-outage prices.
    private_redis.snapshot()

    private_redis.stop()
    loads_before_outage = products.loads
    repriced = {
        key: {"name": f"Item {index}", "price_cents": 500 + index} for index, key in enumerate(KEYS[:5])
    }
    for key, product in repriced.items():
        assert catalog.put(key, product, products.save) == product
    read_everything_and_check(catalog, products)

    assert {key: products.row(key) for key in repriced} == repriced
    assert products.loads - loads_before_outage == len(KEYS)
    assert stats.fallbacks == len(KEYS)
    assert stats.errors == 3  # then the breaker opened and the rest skipped the dead cache
    assert stats.short_circuits == len(repriced) + len(KEYS) - 3
    assert catalog.client.stale_keys == {catalog.redis_key(key) for key in repriced}

    private_redis.start()
    with private_redis.admin() as admin:
        assert admin.get(catalog.redis_key("p0")) == b'{"name":"Item 0","price_cents":100}', "no stale copy"
    clock.advance(catalog.client.breaker.reset_after_seconds)
    read_everything_and_check(catalog, products)

    assert catalog.client.breaker.state is BreakerState.CLOSED
    assert catalog.client.stale_keys == frozenset()
    assert stats.stale_keys_invalidated == len(repriced)
    loads_after_recovery = products.loads
    read_everything_and_check(catalog, products)
    assert products.loads == loads_after_recovery, "the cache serves again"


def test_open_breaker_skips_the_cache_until_the_reset_period_passes(
    private_redis: RedisServerProcess, products: ProductTable, clock: FakeClock
) -> None:
    catalog = make_catalog(private_redis.port, clock)
    breaker = catalog.client.breaker
    stats = catalog.client.stats
    products.save("p0", {"name": "Item", "price_cents": 100})
    private_redis.stop()

    for _ in range(breaker.failure_threshold):
        catalog.get("p0", products.load)
    assert stats.breaker_opened == 1
    for _ in range(10):
        catalog.get("p0", products.load)
    assert (stats.errors, stats.short_circuits) == (3, 10)

    clock.advance(breaker.reset_after_seconds)
    catalog.get("p0", products.load)  # the one trial request: still down, so open again
    catalog.get("p0", products.load)
    assert (stats.errors, stats.short_circuits, stats.breaker_opened) == (4, 11, 2)

    private_redis.start()
    clock.advance(breaker.reset_after_seconds)
    assert catalog.get("p0", products.load) == {"name": "Item", "price_cents": 100}
    assert breaker.state is BreakerState.CLOSED
    assert (stats.fallbacks, stats.misses) == (15, 1)


def test_without_a_breaker_every_read_tries_the_dead_cache(
    private_redis: RedisServerProcess, products: ProductTable
) -> None:
    client = CacheClient.from_config(local_config(private_redis.port), breaker=CircuitBreaker.disabled())
    catalog = EntityCache(client, namespace="product", ttl_seconds=300)
    products.save("p0", {"name": "Item", "price_cents": 100})
    private_redis.stop()

    for _ in range(10):
        assert catalog.get("p0", products.load) == {"name": "Item", "price_cents": 100}

    assert (client.stats.errors, client.stats.short_circuits, client.stats.fallbacks) == (10, 0, 10)


def test_hung_cache_times_out_quickly_and_reads_and_writes_go_to_the_database(
    silent_listener: SilentListener, products: ProductTable, clock: FakeClock
) -> None:
    failures: list[CacheFailure] = []
    client = CacheClient.from_config(
        local_config(silent_listener.port, socket_timeout_seconds=0.1, connect_timeout_seconds=0.1),
        breaker=CircuitBreaker(clock=clock),
        on_failure=failures.append,
    )
    catalog = EntityCache(client, namespace="product", ttl_seconds=300)
    products.save("p0", {"name": "Item", "price_cents": 100})

    started = time.monotonic()
    answer = catalog.get("p0", products.load)
    elapsed = time.monotonic() - started
    catalog.put("p0", {"name": "Item", "price_cents": 90}, products.save)

    assert answer == {"name": "Item", "price_cents": 100}
    # A generous bound: the point is 0.1 s, not redis-py's default of 5 s with ten retries.
    assert elapsed < 1.0
    assert products.row("p0") == {"name": "Item", "price_cents": 90}
    assert [(failure.operation, failure.kind) for failure in failures] == [
        ("get", FailureKind.UNAVAILABLE),
        ("write_through", FailureKind.UNAVAILABLE),
    ]
    assert all(isinstance(failure.error, redis.TimeoutError) for failure in failures)
    assert silent_listener.connections == 2, "one attempt per command: timeouts are not retried"
    assert client.stale_keys == {catalog.redis_key("p0")}


def test_failures_are_logged_and_can_be_emitted_as_powertools_metrics(
    private_redis: RedisServerProcess,
    products: ProductTable,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    metrics = Metrics(namespace="DbPatternsTests", service="caching")

    def emit_metric(failure: CacheFailure) -> None:
        metrics.add_metric(
            name=f"Cache{failure.kind.name.title().replace('_', '')}", unit=MetricUnit.Count, value=1
        )

    catalog = make_catalog(private_redis.port, clock, on_failure=emit_metric)
    products.save("p0", {"name": "Item", "price_cents": 100})
    private_redis.stop()

    try:
        with caplog.at_level(logging.INFO, logger="dbpatterns.runtime.caching"):
            for _ in range(5):
                catalog.get("p0", products.load)
        emitted: dict[str, Any] = dict(metrics.serialize_metric_set())
    finally:
        metrics.clear_metrics()

    assert emitted["CacheUnavailable"] == [1.0] * 3
    assert emitted["CacheShortCircuit"] == [1.0] * 2
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 3
    assert all(record.cache_key == catalog.redis_key("p0") for record in warnings)  # type: ignore[attr-defined]
    assert any("circuit breaker opened" in record.getMessage() for record in caplog.records)


def test_a_failing_hook_does_not_break_reads(
    private_redis: RedisServerProcess, products: ProductTable, clock: FakeClock
) -> None:
    def broken_hook(failure: CacheFailure) -> None:
        raise RuntimeError("metrics backend down")

    catalog = make_catalog(private_redis.port, clock, on_failure=broken_hook)
    products.save("p0", {"name": "Item", "price_cents": 100})
    private_redis.stop()

    assert catalog.get("p0", products.load) == {"name": "Item", "price_cents": 100}
    assert catalog.client.stats.errors == 1


def test_error_reply_falls_back_without_opening_the_breaker(
    cache_client: CacheClient, products: ProductTable, shared_redis: redis.Redis
) -> None:
    catalog = EntityCache(cache_client, namespace="product", ttl_seconds=300)
    products.save("p0", {"name": "Item", "price_cents": 100})
    shared_redis.hset(catalog.redis_key("p0"), "unexpected", "hash")  # GET now answers WRONGTYPE

    for _ in range(5):
        assert catalog.get("p0", products.load) == {"name": "Item", "price_cents": 100}

    assert cache_client.breaker.state is BreakerState.CLOSED
    assert (cache_client.stats.errors, cache_client.stats.fallbacks) == (5, 5)


def test_rejected_credentials_count_as_an_outage_and_reads_fall_back(
    private_redis: RedisServerProcess, products: ProductTable, clock: FakeClock
) -> None:
    with private_redis.admin() as admin:
        admin.acl_setuser("app", enabled=True, passwords=["+right"], keys=["product:*"], commands=["+@all"])
    products.save("p0", {"name": "Item", "price_cents": 100})
    allowed = CacheClient.from_config(local_config(private_redis.port, username="app", password="right"))
    refused = CacheClient.from_config(local_config(private_redis.port, username="app", password="wrong"))

    for client in (allowed, refused):
        catalog = EntityCache(client, namespace="product", ttl_seconds=300)
        assert catalog.get("p0", products.load) == {"name": "Item", "price_cents": 100}

    assert (allowed.stats.misses, allowed.stats.errors) == (1, 0)
    assert (refused.stats.fallbacks, refused.stats.errors) == (1, 1)


def test_keys_waiting_for_invalidation_are_capped(
    private_redis: RedisServerProcess, products: ProductTable
) -> None:
    client = CacheClient.from_config(
        local_config(private_redis.port), breaker=CircuitBreaker.disabled(), max_stale_keys=2
    )
    catalog = EntityCache(client, namespace="product", ttl_seconds=300)
    private_redis.stop()

    for key in ("p0", "p1", "p2"):
        catalog.put(key, {"name": "Item", "price_cents": 1}, products.save)

    assert client.stale_keys == {catalog.redis_key("p1"), catalog.redis_key("p2")}
    assert client.stats.stale_keys_dropped == 1
    assert products.row("p0") == {"name": "Item", "price_cents": 1}


def test_unexpected_client_error_falls_back_and_does_not_wedge_the_breaker(
    shared_redis: redis.Redis, key_prefix: str, products: ProductTable, clock: FakeClock
) -> None:
    """A client built with decode_responses=True chokes on binary data with UnicodeDecodeError."""
    decoding = redis.Redis(host="127.0.0.1", port=6379, decode_responses=True)
    breaker = CircuitBreaker(failure_threshold=1, clock=clock)
    client = CacheClient(decoding, key_prefix=key_prefix, breaker=breaker)
    catalog = EntityCache(client, namespace="product", ttl_seconds=300)
    products.save("p0", {"name": "Item", "price_cents": 100})
    shared_redis.set(catalog.redis_key("p0"), b"\xff\xfe")

    assert catalog.get("p0", products.load) == {"name": "Item", "price_cents": 100}
    clock.advance(breaker.reset_after_seconds)
    assert catalog.get("p0", products.load) == {"name": "Item", "price_cents": 100}  # the trial fails too
    assert (client.stats.errors, client.stats.breaker_opened) == (2, 2)

    shared_redis.delete(catalog.redis_key("p0"))
    clock.advance(breaker.reset_after_seconds)
    assert catalog.get("p0", products.load) == {"name": "Item", "price_cents": 100}
    assert breaker.state is BreakerState.CLOSED
    assert (client.stats.misses, client.stats.fallbacks) == (1, 2)
    decoding.close()
