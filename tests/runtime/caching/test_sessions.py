"""The session store with sliding expiry, against the real Redis."""

from __future__ import annotations

import time

import pytest
import redis

from dbpatterns.runtime.caching import CacheClient, CacheUnavailableError, CircuitBreaker, SessionStore
from tests.runtime.caching.conftest import FakeClock, local_config
from tests.runtime.caching.redis_process import RedisServerProcess

pytestmark = pytest.mark.needs_server


@pytest.fixture
def sessions(cache_client: CacheClient, clock: FakeClock) -> SessionStore:
    return SessionStore(cache_client, idle_timeout_seconds=2, absolute_timeout_seconds=60, clock=clock)


def test_created_session_can_be_read_back(sessions: SessionStore, shared_redis: redis.Redis) -> None:
    created = sessions.create({"user_id": "u-1", "roles": ["buyer"]})

    read = sessions.get(created.session_id)

    assert read == created
    assert read is not None
    assert read.data == {"user_id": "u-1", "roles": ["buyer"]}
    assert 0 < shared_redis.pttl(sessions.redis_key(created.session_id)) <= 2_000


def test_reading_a_session_extends_its_idle_timeout(
    sessions: SessionStore, shared_redis: redis.Redis
) -> None:
    session = sessions.create({"user_id": "u-1"})
    key = sessions.redis_key(session.session_id)
    shared_redis.pexpire(key, 300)  # as if the session had been idle for 1.7 s

    assert sessions.get(session.session_id) is not None

    assert shared_redis.pttl(key) > 1_500


def test_idle_session_expires(sessions: SessionStore, shared_redis: redis.Redis) -> None:
    session = sessions.create({"user_id": "u-1"})
    shared_redis.pexpire(sessions.redis_key(session.session_id), 1)
    time.sleep(0.01)

    assert sessions.get(session.session_id) is None


def test_session_past_its_absolute_lifetime_is_refused_and_deleted(
    sessions: SessionStore, shared_redis: redis.Redis, clock: FakeClock
) -> None:
    session = sessions.create({"user_id": "u-1"})
    clock.advance(59)
    assert sessions.get(session.session_id) is not None

    clock.advance(1)

    assert sessions.get(session.session_id) is None
    assert shared_redis.exists(sessions.redis_key(session.session_id)) == 0


def test_update_replaces_data_and_keeps_the_creation_time(sessions: SessionStore, clock: FakeClock) -> None:
    session = sessions.create({"cart": []})
    clock.advance(10)

    assert sessions.update(session.session_id, {"cart": ["sku-1"]}) is True

    updated = sessions.get(session.session_id)
    assert updated is not None
    assert (updated.data, updated.created_at) == ({"cart": ["sku-1"]}, session.created_at)


def test_logout_deletes_the_session(sessions: SessionStore, shared_redis: redis.Redis) -> None:
    session = sessions.create({"user_id": "u-1"})

    assert sessions.delete(session.session_id) is True

    assert sessions.get(session.session_id) is None
    assert sessions.delete(session.session_id) is False


def test_update_after_logout_does_not_bring_the_session_back(
    sessions: SessionStore, shared_redis: redis.Redis
) -> None:
    session = sessions.create({"user_id": "u-1"})
    sessions.delete(session.session_id)

    assert sessions.update(session.session_id, {"user_id": "u-1"}) is False
    assert shared_redis.exists(sessions.redis_key(session.session_id)) == 0


def test_session_ids_are_random_and_never_stored_in_clear(
    sessions: SessionStore, shared_redis: redis.Redis, key_prefix: str
) -> None:
    ids = {sessions.create({"n": index}).session_id for index in range(5)}

    keys = {key.decode() for key in shared_redis.scan_iter(match=f"{key_prefix}*")}
    assert len(ids) == 5
    assert all(len(session_id) >= 43 for session_id in ids)  # 32 random bytes, base64url
    assert len(keys) == 5
    assert not any(session_id in key for key in keys for session_id in ids)


def test_fails_with_a_clear_error_when_the_cache_is_unavailable(
    private_redis: RedisServerProcess, clock: FakeClock
) -> None:
    client = CacheClient.from_config(local_config(private_redis.port), breaker=CircuitBreaker(clock=clock))
    sessions = SessionStore(client, idle_timeout_seconds=60)
    session = sessions.create({"user_id": "u-1"})
    private_redis.stop()

    with pytest.raises(CacheUnavailableError, match=r"session_get of .* failed \(unavailable\)"):
        sessions.get(session.session_id)
    with pytest.raises(CacheUnavailableError, match="session_delete"):
        sessions.delete(session.session_id)
    with pytest.raises(CacheUnavailableError, match="session_create"):
        sessions.create({"user_id": "u-2"})
    assert client.stats.errors == 3


@pytest.mark.parametrize(
    ("idle", "absolute", "message"),
    [
        (0, None, "idle_timeout_seconds is 0; allowed: at least 0.001"),
        (60, 30, "absolute_timeout_seconds is 30; allowed: None or at least idle_timeout_seconds \\(60\\)"),
    ],
)
def test_rejects_invalid_timeouts(
    cache_client: CacheClient, idle: float, absolute: float | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        SessionStore(cache_client, idle_timeout_seconds=idle, absolute_timeout_seconds=absolute)
