"""moto-backed fixtures for the social handler tests: the global table (one replica in moto), the
cursor secret, the handlers' environment, and a store per "region" sharing that table."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

import boto3  # type: ignore[import-untyped, unused-ignore]
import pytest
from moto import mock_aws

from dbpatterns.handlers.social import runtime
from dbpatterns.handlers.social.handles import HandleService
from dbpatterns.handlers.social.store import SocialStore, StoreConfig
from dbpatterns.handlers.social.timeline import TimelineLayout
from tests.handlers.ledger.support import FakeLambdaContext
from tests.handlers.social.support import REGIONS, TABLE, FakeClock, create_table


@cache
def _client(service: str) -> Any:
    """One client per service for the run (moto intercepts it under every mock)."""
    return boto3.client(service)


@dataclass
class SocialTable:
    client: Any
    name: str
    clock: FakeClock

    def store(self, region: str = "us-east-1", *, shards: int = 8, counter_shards: int = 1) -> SocialStore:
        """The store a handler in ``region`` would use (all regions share moto's one table)."""
        return SocialStore(
            self.client,
            StoreConfig(
                table=self.name,
                region=region,
                regions=REGIONS,
                counter_shards=counter_shards,
                timeline=TimelineLayout(shards=shards),
            ),
            clock=self.clock,
            sleep=lambda _seconds: None,
        )

    def handles(self, local_region: str = "us-east-1", *, home_client: Any = None) -> HandleService:
        return HandleService(
            home_client=home_client or self.client,
            local_client=self.client,
            table=self.name,
            home_region="us-east-1",
            local_region=local_region,
            clock=self.clock,
        )

    def item(self, pk: str, sk: str) -> dict[str, Any] | None:
        response = self.client.get_item(
            TableName=self.name, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True
        )
        item: dict[str, Any] | None = response.get("Item")
        return item


@pytest.fixture
def social(monkeypatch: pytest.MonkeyPatch) -> Iterator[SocialTable]:
    with mock_aws():
        client = _client("dynamodb")
        create_table(client)
        secret_arn = _client("secretsmanager").create_secret(
            Name="social-cursor-key", SecretString=secrets.token_urlsafe(48)
        )["ARN"]
        for name, value in {
            "SOCIAL_TABLE_NAME": TABLE,
            "SOCIAL_REGIONS": ",".join(REGIONS),
            "HOME_REGION": "us-east-1",
            "CURSOR_SECRET_ID": secret_arn,
        }.items():
            monkeypatch.setenv(name, value)
        for name in ("CACHE_READER_HOST", "HOME_DYNAMODB_ENDPOINT"):
            monkeypatch.delenv(name, raising=False)
        runtime.reset()
        yield SocialTable(client=client, name=TABLE, clock=FakeClock())
        runtime.reset()


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext(function_name="social-test")
