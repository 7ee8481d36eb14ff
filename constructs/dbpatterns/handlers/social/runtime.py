"""Settings from the environment and the services built from them, once per execution environment.

Environment variables (the regional API construct sets them all):

========================  ===========================================================================
``SOCIAL_TABLE_NAME``     the global table (same name in every region)
``SOCIAL_REGIONS``        every replica region, comma-separated (counter shards of all are summed)
``HOME_REGION``           where handle claims are written (:mod:`~dbpatterns.handlers.social.handles`)
``HOME_DYNAMODB_ENDPOINT``  optional: the home VPC's DynamoDB interface endpoint (https://vpce-...),
                          reached over VPC peering; unset in the home region itself
``CURSOR_SECRET_ID``      Secrets Manager secret (local replica) holding the cursor signing key
``TIMELINE_SHARDS``, ``TIMELINE_BUCKET_SECONDS``, ``COUNTER_SHARDS``: the key layout (defaults 8, 86400, 1)
``SESSION_IDLE_SECONDS``, ``SESSION_ABSOLUTE_SECONDS``: session lifetimes (defaults 1800, 604800)
``CACHE_READER_HOST``     optional: this region's replication group reader endpoint; without it,
                          sessions live in the table only
``CACHE_PORT``            the cache port (6380)
``CACHE_PRIMARY_HOST``, ``CACHE_PRIMARY_REGION``: the deployed primary (overridable, see topology)
``CACHE_AUTH_SECRET_ID``  Secrets Manager secret (local replica) with the cache AUTH token
``CACHE_TLS``             ``false`` only for a local test server (default ``true``)
========================  ===========================================================================
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

import boto3  # type: ignore[import-untyped, unused-ignore]

from dbpatterns.handlers.social import aws
from dbpatterns.handlers.social.cursor import CursorCodec
from dbpatterns.handlers.social.feed import TimelineReader
from dbpatterns.handlers.social.handles import HandleService
from dbpatterns.handlers.social.sessions import (
    DEFAULT_ABSOLUTE_SECONDS,
    DEFAULT_IDLE_SECONDS,
    SESSION_NAMESPACE,
    GlobalSessions,
    SessionRecords,
)
from dbpatterns.handlers.social.store import SocialStore, StoreConfig
from dbpatterns.handlers.social.timeline import DEFAULT_BUCKET_SECONDS, DEFAULT_SHARDS, TimelineLayout
from dbpatterns.handlers.social.topology import CacheEndpoint, PrimaryLocator
from dbpatterns.runtime.caching import CacheClient, CacheConfig, CacheFailure, SessionStore

CACHE_KEY_PREFIX: Final = "social:"
#: The primary may be an ocean away: round trips of up to ~230 ms, so its timeouts are longer.
PRIMARY_SOCKET_TIMEOUT_SECONDS: Final = 1.0
PRIMARY_CONNECT_TIMEOUT_SECONDS: Final = 1.5


class ConfigurationError(RuntimeError):
    """A required environment variable is missing or invalid."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CacheSettings:
    reader_host: str
    port: int
    primary: CacheEndpoint
    auth_secret_id: str | None
    tls: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    table: str
    region: str
    regions: tuple[str, ...]
    home_region: str
    home_endpoint: str | None
    cursor_secret_id: str
    timeline: TimelineLayout
    counter_shards: int
    idle_seconds: int
    absolute_seconds: int
    cache: CacheSettings | None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        def required(name: str) -> str:
            value = env.get(name, "").strip()
            if not value:
                raise ConfigurationError(f"environment variable {name} is not set")
            return value

        def integer(name: str, default: int) -> int:
            raw = env.get(name, "").strip()
            try:
                return int(raw) if raw else default
            except ValueError:
                raise ConfigurationError(f"environment variable {name}={raw!r} is not an integer") from None

        region = required("AWS_REGION")
        regions = tuple(part.strip() for part in required("SOCIAL_REGIONS").split(",") if part.strip())
        home_region = required("HOME_REGION")
        for name, value in (("AWS_REGION", region), ("HOME_REGION", home_region)):
            if value not in regions:
                raise ConfigurationError(f"{name}={value!r} is not among SOCIAL_REGIONS {list(regions)}")
        cache_settings = None
        reader = env.get("CACHE_READER_HOST", "").strip()
        if reader:
            port = integer("CACHE_PORT", 6380)
            cache_settings = CacheSettings(
                reader_host=reader,
                port=port,
                primary=CacheEndpoint(
                    region=required("CACHE_PRIMARY_REGION"), host=required("CACHE_PRIMARY_HOST"), port=port
                ),
                auth_secret_id=env.get("CACHE_AUTH_SECRET_ID", "").strip() or None,
                tls=env.get("CACHE_TLS", "true").strip().lower() != "false",
            )
        try:
            return cls(
                table=required("SOCIAL_TABLE_NAME"),
                region=region,
                regions=regions,
                home_region=home_region,
                home_endpoint=env.get("HOME_DYNAMODB_ENDPOINT", "").strip() or None,
                cursor_secret_id=required("CURSOR_SECRET_ID"),
                timeline=TimelineLayout(
                    shards=integer("TIMELINE_SHARDS", DEFAULT_SHARDS),
                    bucket_seconds=integer("TIMELINE_BUCKET_SECONDS", DEFAULT_BUCKET_SECONDS),
                ),
                counter_shards=integer("COUNTER_SHARDS", 1),
                idle_seconds=integer("SESSION_IDLE_SECONDS", DEFAULT_IDLE_SECONDS),
                absolute_seconds=integer("SESSION_ABSOLUTE_SECONDS", DEFAULT_ABSOLUTE_SECONDS),
                cache=cache_settings,
            )
        except ValueError as error:
            raise ConfigurationError(str(error)) from None


class Services:
    """Everything a handler uses, wired from :class:`Settings`."""

    def __init__(self, settings: Settings, *, local_client: Any = None, home_client: Any = None) -> None:
        self.settings = settings
        self.local_client = local_client if local_client is not None else aws.dynamodb()
        if home_client is None:
            home_client = (
                self.local_client
                if settings.home_region == settings.region
                else aws.dynamodb(settings.home_region, settings.home_endpoint)
            )
        self.home_client = home_client
        self.store = SocialStore(
            self.local_client,
            StoreConfig(
                table=settings.table,
                region=settings.region,
                regions=settings.regions,
                counter_shards=settings.counter_shards,
                timeline=settings.timeline,
            ),
        )
        self.handles = HandleService(
            home_client=self.home_client,
            local_client=self.local_client,
            table=settings.table,
            home_region=settings.home_region,
            local_region=settings.region,
        )
        self.timeline = TimelineReader(
            self.local_client,
            settings.table,
            settings.timeline,
            executor=ThreadPoolExecutor(max_workers=min(settings.timeline.shards, 16)),
        )
        self._lock = threading.Lock()
        self._cursors: CursorCodec | None = None
        self._primary_stores: dict[CacheEndpoint, SessionStore] = {}
        self.locator: PrimaryLocator | None = None
        local_cache: CacheClient | None = None
        if settings.cache is not None:
            self.locator = PrimaryLocator(self.local_client, settings.table, settings.cache.primary)
            local_cache = CacheClient.from_config(
                self._cache_config(settings.cache.reader_host, settings.cache.port, primary=False),
                key_prefix=CACHE_KEY_PREFIX,
            )
        self.sessions = GlobalSessions(
            records=SessionRecords(self.local_client, settings.table, settings.region),
            local=local_cache,
            primary=self.primary_sessions,
            idle_seconds=settings.idle_seconds,
            absolute_seconds=settings.absolute_seconds,
        )

    def cursors(self) -> CursorCodec:
        with self._lock:
            if self._cursors is None:
                self._cursors = CursorCodec(secret_string(self.settings.cursor_secret_id).encode("utf-8"))
            return self._cursors

    def primary_sessions(self) -> SessionStore | None:
        """The session store on the current cache primary (rebuilt when a failover moved it)."""
        if self.locator is None or self.settings.cache is None:
            return None
        endpoint = self.locator.current()
        with self._lock:
            store = self._primary_stores.get(endpoint)
            if store is None:
                locator = self.locator
                client = CacheClient.from_config(
                    self._cache_config(endpoint.host, endpoint.port, primary=True),
                    key_prefix=CACHE_KEY_PREFIX,
                    on_failure=lambda _failure: _on_primary_failure(locator, _failure),
                )
                store = SessionStore(
                    client,
                    idle_timeout_seconds=self.settings.idle_seconds,
                    absolute_timeout_seconds=self.settings.absolute_seconds,
                    namespace=SESSION_NAMESPACE,
                )
                self._primary_stores[endpoint] = store
            return store

    def _cache_config(self, host: str, port: int, *, primary: bool) -> CacheConfig:
        cache_settings = self.settings.cache
        assert cache_settings is not None
        password = secret_string(cache_settings.auth_secret_id) if cache_settings.auth_secret_id else None
        config = CacheConfig(
            host=host,
            port=port,
            tls=cache_settings.tls,
            password=password,
            client_name=f"social-{self.settings.region}",
        )
        if not primary:
            return config
        return dataclasses.replace(
            config,
            socket_timeout_seconds=PRIMARY_SOCKET_TIMEOUT_SECONDS,
            connect_timeout_seconds=PRIMARY_CONNECT_TIMEOUT_SECONDS,
        )


def _on_primary_failure(locator: PrimaryLocator, _failure: CacheFailure) -> None:
    """A failed write to the primary may mean a failover moved it: look up the override again soon."""
    locator.invalidate()


@cache
def _secrets_client() -> Any:
    return boto3.client("secretsmanager")


_SECRETS: dict[str, tuple[float, str]] = {}
_SECRET_MAX_AGE_SECONDS: Final = 3_600.0


def secret_string(secret_id: str) -> str:
    """A secret's value from this region's replica, cached for an hour per execution environment."""
    cached = _SECRETS.get(secret_id)
    if cached is not None and time.monotonic() - cached[0] < _SECRET_MAX_AGE_SECONDS:
        return cached[1]
    value = str(_secrets_client().get_secret_value(SecretId=secret_id)["SecretString"])
    _SECRETS[secret_id] = (time.monotonic(), value)
    return value


_SERVICES: Services | None = None
_SERVICES_LOCK = threading.Lock()


def services() -> Services:
    """The services of this execution environment, built on first use."""
    global _SERVICES
    with _SERVICES_LOCK:
        if _SERVICES is None:
            _SERVICES = Services(Settings.from_env())
        return _SERVICES


def reset(replacement: Services | None = None) -> None:
    """Drop (or replace) the cached services and clients: tests call it after starting a mock."""
    global _SERVICES
    with _SERVICES_LOCK:
        _SERVICES = replacement
    _SECRETS.clear()
    _secrets_client.cache_clear()
    aws.clear_clients()
