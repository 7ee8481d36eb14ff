"""Sessions on the cache (real Redis) with the table as fallback: sliding expiry, the global
datastore's read-only copies, and what happens when either cache goes away."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from dbpatterns.handlers.social import keys
from dbpatterns.handlers.social.errors import SessionStoreUnavailableError
from dbpatterns.handlers.social.sessions import GlobalSessions, SessionRecords, digest
from dbpatterns.runtime.caching import (
    BreakerState,
    CacheClient,
    CacheConfig,
    CacheUnavailableError,
    CircuitBreaker,
    SessionStore,
    connect,
)
from tests.handlers.social.conftest import SocialTable
from tests.handlers.social.support import FakeClock
from tests.runtime.caching.redis_process import RedisServerProcess, require_redis_server_binary
from tests.support.servers import REDIS, require_server

pytestmark = pytest.mark.needs_server

IDLE = 600
ABSOLUTE = 3_600
USER = "01J00000000000000000000USR"


def client_for(port: int, prefix: str, clock: FakeClock) -> CacheClient:
    config = CacheConfig(host="127.0.0.1", port=port, tls=False, socket_timeout_seconds=0.5)
    return CacheClient(connect(config), key_prefix=prefix, breaker=CircuitBreaker(clock=clock))


@dataclass
class Deployment:
    """One region's view: its local copy, the primary, the table - and the servers behind them."""

    sessions: GlobalSessions
    primary: SessionStore
    local: CacheClient
    clock: FakeClock
    social: SocialTable

    def key(self, token: str) -> str:
        return self.primary.redis_key(token)

    def record(self, token: str) -> dict[str, object] | None:
        return self.social.item(keys.session_pk(digest(token)), keys.SESSION_SK)


def deploy(social: SocialTable, *, local_port: int, primary_port: int, prefix: str) -> Deployment:
    clock = FakeClock()
    primary = SessionStore(
        client_for(primary_port, prefix, clock),
        idle_timeout_seconds=IDLE,
        absolute_timeout_seconds=ABSOLUTE,
        namespace="session",
        clock=clock,
    )
    local = client_for(local_port, prefix, clock)
    sessions = GlobalSessions(
        records=SessionRecords(social.client, social.name, "eu-west-1"),
        local=local,
        primary=lambda: primary,
        idle_seconds=IDLE,
        absolute_seconds=ABSOLUTE,
        clock=clock,
    )
    return Deployment(sessions, primary, local, clock, social)


@pytest.fixture
def prefix() -> Iterator[str]:
    require_server(REDIS)
    value = f"test:social:{uuid.uuid4().hex}:"
    yield value
    shared = redis.Redis(host="127.0.0.1", port=REDIS[2])
    stale = list(shared.scan_iter(match=f"{value}*", count=1000))
    if stale:
        shared.delete(*stale)
    shared.close()


@pytest.fixture
def single_region(social: SocialTable, prefix: str) -> Deployment:
    """The primary region: local copy and primary are the same server (the shared Redis)."""
    return deploy(social, local_port=REDIS[2], primary_port=REDIS[2], prefix=prefix)


@pytest.fixture
def primary_server(tmp_path: Path) -> Iterator[RedisServerProcess]:
    server = RedisServerProcess(require_redis_server_binary(), tmp_path / "primary")
    (tmp_path / "primary").mkdir()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def replica_server(tmp_path: Path, primary_server: RedisServerProcess) -> Iterator[RedisServerProcess]:
    """A read-only replica of the primary, like a global datastore's secondary group."""
    (tmp_path / "replica").mkdir()
    server = RedisServerProcess(require_redis_server_binary(), tmp_path / "replica")
    server.start()
    try:
        with primary_server.admin() as primary_admin:
            primary_admin.config_set("repl-diskless-sync-delay", 0)  # full sync at once, not after 5 s
        with server.admin() as admin:
            admin.replicaof("127.0.0.1", primary_server.port)
            deadline = time.monotonic() + 5
            while admin.info("replication").get("master_link_status") != "up":
                assert time.monotonic() < deadline, "the replica did not connect to its primary"
                time.sleep(0.02)
        yield server
    finally:
        server.stop()


def wait_replicated(replica: RedisServerProcess, key: str, present: bool = True) -> None:
    deadline = time.monotonic() + 5
    with replica.admin() as admin:
        while bool(admin.exists(key)) != present:
            assert time.monotonic() < deadline, f"{key} did not replicate"
            time.sleep(0.01)


# ---------------------------------------------------------------- the primary region (shared Redis)


def test_login_stores_the_session_in_the_cache_and_the_table(single_region: Deployment) -> None:
    token, expires_at = single_region.sessions.login(USER)

    principal = single_region.sessions.authenticate(token)

    assert principal is not None
    assert (principal.user_id, principal.source) == (USER, "cache")
    assert expires_at == single_region.clock.now + IDLE
    record = single_region.record(token)
    assert record is not None
    assert token not in str(record)  # the table holds the token's hash, never the token


def test_a_read_slides_the_expiry_only_when_half_the_idle_time_is_gone(single_region: Deployment) -> None:
    token, _ = single_region.sessions.login(USER)
    key = single_region.key(token)
    shared = single_region.primary.client.redis

    shared.pexpire(key, 400_000)  # 200 s of 600 gone: more than half left, no write
    single_region.sessions.authenticate(token)
    assert shared.pttl(key) <= 400_000

    shared.pexpire(key, 250_000)  # 350 s gone: less than half left, slide on the primary
    single_region.clock.advance(350)
    principal = single_region.sessions.authenticate(token)
    assert principal is not None
    assert shared.pttl(key) > 590_000
    record = single_region.record(token)
    assert record is not None
    assert record["session_expires_at"] == {"N": str(int(single_region.clock.now + IDLE))}


def test_an_idle_session_expires(single_region: Deployment) -> None:
    token, _ = single_region.sessions.login(USER)
    single_region.primary.client.redis.pexpire(single_region.key(token), 1)
    single_region.clock.advance(IDLE + 1)
    time.sleep(0.01)

    assert single_region.sessions.authenticate(token) is None


def test_a_session_never_outlives_its_absolute_limit(single_region: Deployment) -> None:
    token, _ = single_region.sessions.login(USER)
    for _ in range(ABSOLUTE // 300):  # active every 5 minutes
        single_region.clock.advance(300)
        single_region.sessions.authenticate(token)

    assert single_region.sessions.authenticate(token) is None


def test_logout_ends_the_session_in_cache_and_table(single_region: Deployment) -> None:
    token, _ = single_region.sessions.login(USER)

    single_region.sessions.logout(token)

    assert single_region.sessions.authenticate(token) is None
    assert single_region.primary.client.redis.exists(single_region.key(token)) == 0


def test_sessions_survive_the_loss_of_the_cache_data(single_region: Deployment) -> None:
    token, _ = single_region.sessions.login(USER)
    single_region.primary.client.redis.delete(single_region.key(token))  # a flushed or replaced node

    principal = single_region.sessions.authenticate(token)

    assert principal is not None
    assert (principal.user_id, principal.source) == (USER, "table")


def test_refresh_slides_on_the_primary(single_region: Deployment) -> None:
    token, _ = single_region.sessions.login(USER)
    shared = single_region.primary.client.redis
    shared.pexpire(single_region.key(token), 100_000)

    assert single_region.sessions.refresh(token) is not None
    assert shared.pttl(single_region.key(token)) > 590_000


# ---------------------------------------------------------------- a secondary region (private servers)


def test_a_secondary_reads_its_read_only_copy_and_writes_to_the_primary(
    social: SocialTable, prefix: str, primary_server: RedisServerProcess, replica_server: RedisServerProcess
) -> None:
    region = deploy(social, local_port=replica_server.port, primary_port=primary_server.port, prefix=prefix)
    token, _ = region.sessions.login(USER)
    wait_replicated(replica_server, region.key(token))

    principal = region.sessions.authenticate(token)
    assert principal is not None
    assert principal.source == "cache"

    # Sliding writes to the primary; the copy follows by replication, never by a write of ours.
    with primary_server.admin() as primary_admin:
        primary_admin.pexpire(region.key(token), 100_000)
    region.clock.advance(500)
    assert region.sessions.authenticate(token) is not None
    with primary_server.admin() as primary_admin:
        assert primary_admin.pttl(region.key(token)) > 590_000
    with replica_server.admin() as replica_admin, pytest.raises(redis.ReadOnlyError):
        replica_admin.set(region.key(token), b"x")


def test_a_session_not_yet_replicated_is_found_on_the_primary(
    social: SocialTable, prefix: str, primary_server: RedisServerProcess, tmp_path: Path
) -> None:
    lagging = RedisServerProcess(require_redis_server_binary(), tmp_path)  # a copy that has not caught up
    lagging.start()
    try:
        region = deploy(social, local_port=lagging.port, primary_port=primary_server.port, prefix=prefix)
        token, _ = region.sessions.login(USER)

        principal = region.sessions.authenticate(token)

        assert principal is not None
        assert principal.source == "cache-primary"
    finally:
        lagging.stop()


def test_with_the_primary_down_login_and_reads_keep_working_from_the_table(
    social: SocialTable, prefix: str, primary_server: RedisServerProcess, replica_server: RedisServerProcess
) -> None:
    region = deploy(social, local_port=replica_server.port, primary_port=primary_server.port, prefix=prefix)
    before, _ = region.sessions.login(USER)
    wait_replicated(replica_server, region.key(before))
    primary_server.stop()  # the primary's region fails

    after, _ = region.sessions.login(USER)  # the session lives in the table only

    assert region.sessions.authenticate(after) is not None
    existing = region.sessions.authenticate(before)  # still served by the local copy
    assert existing is not None
    assert existing.source == "cache"


def test_a_logout_while_the_primary_is_down_answers_503_and_still_holds(
    social: SocialTable, prefix: str, primary_server: RedisServerProcess, replica_server: RedisServerProcess
) -> None:
    region = deploy(social, local_port=replica_server.port, primary_port=primary_server.port, prefix=prefix)
    token, _ = region.sessions.login(USER)
    wait_replicated(replica_server, region.key(token))
    primary_server.stop()

    with pytest.raises(SessionStoreUnavailableError, match="logout is recorded"):
        region.sessions.logout(token)

    # The local copy still holds the session. Once the primary's breaker has opened (three failed
    # calls in a row), reads check the table's tombstone, so the recorded logout holds.
    for _ in range(2):
        with pytest.raises(CacheUnavailableError):
            region.primary.get(token)
    assert region.primary.client.breaker.state is BreakerState.OPEN
    assert region.sessions.authenticate(token) is None


def test_with_the_local_copy_down_sessions_are_checked_against_the_table(
    social: SocialTable, prefix: str, primary_server: RedisServerProcess, tmp_path: Path
) -> None:
    local = RedisServerProcess(require_redis_server_binary(), tmp_path)
    local.start()
    try:
        region = deploy(social, local_port=local.port, primary_port=primary_server.port, prefix=prefix)
        token, _ = region.sessions.login(USER)
    finally:
        local.stop()

    principal = region.sessions.authenticate(token)

    assert principal is not None
    assert principal.source == "table"
