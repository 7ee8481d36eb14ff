"""Lazy loading and write-through against the real Redis and PostgreSQL."""

from __future__ import annotations

import psycopg
import pytest
import redis

from dbpatterns.runtime.caching import CacheClient, EntityCache
from tests.runtime.caching.products import Product, ProductTable

pytestmark = pytest.mark.needs_server

KETTLE: Product = {"name": "Kettle", "price_cents": 2999}


@pytest.fixture
def catalog(cache_client: CacheClient) -> EntityCache:
    return EntityCache(cache_client, namespace="product", ttl_seconds=60, ttl_jitter=0)


def test_miss_loads_from_database_and_caches_with_ttl(
    catalog: EntityCache, products: ProductTable, shared_redis: redis.Redis
) -> None:
    products.save("p1", KETTLE)

    assert catalog.get("p1", products.load) == KETTLE

    assert products.loads == 1
    assert shared_redis.get(catalog.redis_key("p1")) == b'{"name":"Kettle","price_cents":2999}'
    assert 59_000 < shared_redis.pttl(catalog.redis_key("p1")) <= 60_000
    assert catalog.client.stats.misses == 1


def test_hit_is_served_without_touching_the_database(catalog: EntityCache, products: ProductTable) -> None:
    products.save("p1", KETTLE)
    catalog.get("p1", products.load)

    answers = [catalog.get("p1", products.load) for _ in range(5)]

    assert answers == [KETTLE] * 5
    assert products.loads == 1
    assert catalog.client.stats.as_dict() == {
        "hits": 5,
        "misses": 1,
        "fallbacks": 0,
        "errors": 0,
        "short_circuits": 0,
        "breaker_opened": 0,
        "stale_keys_invalidated": 0,
        "stale_keys_dropped": 0,
    }


def test_jitter_spreads_ttls_below_the_configured_bound(
    cache_client: CacheClient, products: ProductTable, shared_redis: redis.Redis
) -> None:
    jittered = EntityCache(cache_client, namespace="product", ttl_seconds=100, ttl_jitter=0.5)
    for index in range(20):
        products.save(f"p{index}", KETTLE)
        jittered.get(f"p{index}", products.load)

    ttls = [shared_redis.pttl(jittered.redis_key(f"p{index}")) for index in range(20)]

    assert all(49_000 <= ttl <= 100_000 for ttl in ttls)
    assert len(set(ttls)) > 10


def test_missing_record_is_not_cached_by_default(catalog: EntityCache, products: ProductTable) -> None:
    assert catalog.get("nope", products.load) is None
    assert catalog.get("nope", products.load) is None

    assert products.loads == 2


def test_missing_record_is_negatively_cached_when_enabled(
    cache_client: CacheClient, products: ProductTable, shared_redis: redis.Redis
) -> None:
    catalog = EntityCache(cache_client, namespace="product", ttl_seconds=60, negative_ttl_seconds=5)

    assert catalog.get("nope", products.load) is None
    assert catalog.get("nope", products.load) is None

    assert products.loads == 1
    assert 0 < shared_redis.pttl(catalog.redis_key("nope")) <= 5_000


def test_write_through_updates_database_and_cache(
    catalog: EntityCache, products: ProductTable, shared_redis: redis.Redis
) -> None:
    products.save("p1", KETTLE)
    catalog.get("p1", products.load)
    cheaper = {"name": "Kettle", "price_cents": 2499}

    assert catalog.put("p1", cheaper, products.save) == cheaper

    assert products.row("p1") == cheaper
    assert shared_redis.get(catalog.redis_key("p1")) == b'{"name":"Kettle","price_cents":2499}'
    assert 59_000 < shared_redis.pttl(catalog.redis_key("p1")) <= 60_000
    assert catalog.get("p1", products.load) == cheaper
    assert products.loads == 1


def test_fails_write_through_without_touching_the_cache_when_the_database_refuses(
    catalog: EntityCache, products: ProductTable, shared_redis: redis.Redis
) -> None:
    products.save("p1", KETTLE)
    catalog.get("p1", products.load)

    with pytest.raises(psycopg.errors.CheckViolation):
        catalog.put("p1", {"name": "Kettle", "price_cents": -1}, products.save)

    assert products.row("p1") == KETTLE
    assert shared_redis.get(catalog.redis_key("p1")) == b'{"name":"Kettle","price_cents":2999}'


def test_writer_returning_none_invalidates_instead_of_caching(
    catalog: EntityCache, products: ProductTable, shared_redis: redis.Redis
) -> None:
    products.save("p1", KETTLE)
    catalog.get("p1", products.load)

    def save_without_result(key: str, product: Product) -> None:
        products.save(key, product)

    assert catalog.put("p1", {"name": "Kettle", "price_cents": 1}, save_without_result) is None

    assert shared_redis.exists(catalog.redis_key("p1")) == 0
    assert catalog.get("p1", products.load) == {"name": "Kettle", "price_cents": 1}


def test_delete_removes_the_record_from_database_and_cache(
    catalog: EntityCache, products: ProductTable, shared_redis: redis.Redis
) -> None:
    products.save("p1", KETTLE)
    catalog.get("p1", products.load)

    catalog.delete("p1", products.remove)

    assert products.row("p1") is None
    assert shared_redis.exists(catalog.redis_key("p1")) == 0
    assert catalog.get("p1", products.load) is None


def test_loading_does_not_overwrite_a_value_written_meanwhile(
    catalog: EntityCache, products: ProductTable
) -> None:
    """A reader that loaded the old row must not replace what a concurrent writer just cached."""
    products.save("p1", KETTLE)
    newer = {"name": "Kettle", "price_cents": 1999}

    def load_while_someone_writes(key: str) -> Product | None:
        old = products.load(key)
        catalog.put(key, newer, products.save)
        return old

    assert catalog.get("p1", load_while_someone_writes) == KETTLE
    assert catalog.get("p1", products.load) == newer


def test_entry_that_is_not_json_is_reloaded_from_the_database(
    catalog: EntityCache, products: ProductTable, shared_redis: redis.Redis
) -> None:
    products.save("p1", KETTLE)
    shared_redis.set(catalog.redis_key("p1"), b"\x80 not json")

    assert catalog.get("p1", products.load) == KETTLE
    assert shared_redis.get(catalog.redis_key("p1")) == b'{"name":"Kettle","price_cents":2999}'


def test_rejects_a_value_json_cannot_represent(catalog: EntityCache) -> None:
    with pytest.raises(TypeError, match="cannot cache a set"):
        catalog.get("p1", lambda key: {"tags": {"a", "b"}})


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("namespace", "", "namespace is empty"),
        ("ttl_seconds", 0, "ttl_seconds is 0; allowed: at least 0.001"),
        ("ttl_jitter", 1.0, "ttl_jitter is 1.0; allowed"),
        ("negative_ttl_seconds", -1, "negative_ttl_seconds is -1; allowed"),
    ],
)
def test_rejects_invalid_settings(cache_client: CacheClient, field: str, value: object, message: str) -> None:
    settings: dict[str, object] = {"namespace": "product", "ttl_seconds": 60, field: value}
    with pytest.raises(ValueError, match=message):
        EntityCache(cache_client, **settings)  # type: ignore[arg-type]
