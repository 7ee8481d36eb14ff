"""An EntityCache in front of DynamoDB (through moto) and the real Redis.

DynamoDB returns numbers as Decimal; the cache stores whole numbers as JSON integers, and every
read path (miss, hit, outage) returns the same form, so callers never see Decimal on one request
and int on the next.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import boto3  # type: ignore[import-untyped, unused-ignore]
import pytest
from moto import mock_aws

from dbpatterns.runtime.caching import CacheClient, CircuitBreaker, EntityCache
from tests.runtime.caching.conftest import FakeClock, local_config
from tests.runtime.caching.redis_process import RedisServerProcess

pytestmark = pytest.mark.needs_server


class Accounts:
    """Loader and writer backed by a DynamoDB table keyed on ``pk``."""

    def __init__(self, table: Any) -> None:
        self._table = table
        self.loads = 0

    def load(self, key: str) -> dict[str, Any] | None:
        self.loads += 1
        item: dict[str, Any] | None = self._table.get_item(Key={"pk": key}).get("Item")
        return item

    def save(self, key: str, account: dict[str, Any]) -> dict[str, Any]:
        item = {"pk": key, **account}
        self._table.put_item(Item=item)
        return item


@pytest.fixture
def accounts() -> Iterator[Accounts]:
    with mock_aws():
        table = boto3.resource("dynamodb", region_name="us-east-1").create_table(
            TableName="accounts",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield Accounts(table)


def test_hit_and_miss_return_the_same_json_form_of_a_dynamodb_item(
    cache_client: CacheClient, accounts: Accounts
) -> None:
    balances = EntityCache(cache_client, namespace="account", ttl_seconds=60)
    accounts.save("a1", {"owner": "Ana", "balance_cents": 12_345})

    miss = balances.get("a1", accounts.load)
    hit = balances.get("a1", accounts.load)

    assert miss == hit == {"pk": "a1", "owner": "Ana", "balance_cents": 12_345}
    assert miss is not None
    assert hit is not None
    assert type(miss["balance_cents"]) is type(hit["balance_cents"]) is int
    assert accounts.loads == 1


def test_write_through_to_dynamodb_survives_a_cache_outage(
    private_redis: RedisServerProcess, accounts: Accounts, clock: FakeClock
) -> None:
    client = CacheClient.from_config(local_config(private_redis.port), breaker=CircuitBreaker(clock=clock))
    balances = EntityCache(client, namespace="account", ttl_seconds=60)
    accounts.save("a1", {"owner": "Ana", "balance_cents": 100})
    balances.get("a1", accounts.load)
    private_redis.stop()

    balances.put("a1", {"owner": "Ana", "balance_cents": 250}, accounts.save)

    assert accounts.load("a1") == {"pk": "a1", "owner": "Ana", "balance_cents": Decimal(250)}
    assert balances.get("a1", accounts.load) == {"pk": "a1", "owner": "Ana", "balance_cents": 250}
    assert client.stats.fallbacks == 1


def test_rejects_a_fractional_decimal_instead_of_rounding_it(cache_client: CacheClient) -> None:
    rates = EntityCache(cache_client, namespace="rate", ttl_seconds=60)

    with pytest.raises(TypeError, match=r"Decimal\('0.125'\).*whole number"):
        rates.get("eur", lambda key: {"rate": Decimal("0.125")})
