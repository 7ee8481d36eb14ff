"""Connection settings for the cache and the factory that turns them into a redis-py client.

The defaults suit an ElastiCache (Redis OSS or Valkey) replication group with in-transit
encryption: TLS on, certificates verified, and socket timeouts short enough that a sick cache
costs a request a fraction of a second instead of redis-py's default five seconds (plus retries).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

import redis
from redis.backoff import NoBackoff
from redis.maint_notifications import MaintNotificationsConfig
from redis.retry import Retry

MIN_PORT = 1
MAX_PORT = 65535
MAX_TIMEOUT_SECONDS = 10.0
MAX_RETRIES = 3


@dataclass(frozen=True, kw_only=True)
class CacheConfig:
    """Where the cache is and how to talk to it.

    Build one from the environment of your Lambda function (endpoint address and port from the
    construct's outputs, the AUTH token from Secrets Manager) and pass it to :func:`connect`.
    """

    host: str
    """Primary endpoint address of the replication group (or ``127.0.0.1`` for local tests)."""

    port: int = 6379
    """TCP port. Default: 6379."""

    tls: bool = True
    """Encrypt in transit and verify the server certificate. Default: on, as ElastiCache with
    in-transit encryption requires. Turn it off only for a local server on the loopback address."""

    username: str | None = None
    """RBAC user name. Default: none (the ``default`` user, or AUTH token only)."""

    password: str | None = field(default=None, repr=False)
    """AUTH token or RBAC password. Default: none. Never shown in ``repr``; refused without TLS
    unless the host is a loopback address, so a token never crosses a network in clear text."""

    db: int = 0
    """Logical database number. Default: 0 (ElastiCache cluster mode disabled supports others)."""

    socket_timeout_seconds: float = 0.1
    """How long one command may wait for its reply before the cache counts as unavailable and the
    caller falls back to the database. Default: 0.1 s (loopback and in-VPC replies take ~1 ms)."""

    connect_timeout_seconds: float = 0.2
    """How long opening a connection (TCP and TLS handshake) may take. Default: 0.2 s."""

    retries_on_connection_error: int = 1
    """Immediate retries when a pooled connection turns out to be closed, typically after a Lambda
    execution environment was frozen. Timeouts are never retried: a slow cache should cost one
    timeout, not several. Default: 1, at most 3."""

    client_name: str | None = None
    """Name shown by ``CLIENT LIST`` on the server, handy to find your function's connections.
    Default: none."""

    def __post_init__(self) -> None:
        if not self.host:
            raise ValueError("CacheConfig.host is empty; give the cache endpoint address")
        if not MIN_PORT <= self.port <= MAX_PORT:
            raise ValueError(f"CacheConfig.port is {self.port}; allowed: {MIN_PORT}-{MAX_PORT}")
        if self.db < 0:
            raise ValueError(f"CacheConfig.db is {self.db}; allowed: 0 or more")
        for name, value in (
            ("socket_timeout_seconds", self.socket_timeout_seconds),
            ("connect_timeout_seconds", self.connect_timeout_seconds),
        ):
            if not 0 < value <= MAX_TIMEOUT_SECONDS:
                raise ValueError(
                    f"CacheConfig.{name} is {value}; allowed: more than 0 and at most "
                    f"{MAX_TIMEOUT_SECONDS} seconds (a cache that answers slower than that is down)"
                )
        if not 0 <= self.retries_on_connection_error <= MAX_RETRIES:
            raise ValueError(
                f"CacheConfig.retries_on_connection_error is {self.retries_on_connection_error}; "
                f"allowed: 0-{MAX_RETRIES}"
            )
        if self.password is not None and not self.tls and not _is_loopback(self.host):
            raise ValueError(
                f"CacheConfig.password is set with tls=False for host {self.host!r}; allowed: a password "
                "only with tls=True (or a loopback host), so the AUTH token is never sent in clear text"
            )


def connect(config: CacheConfig) -> redis.Redis:
    """Create a redis-py client for ``config``; no connection is opened until the first command.

    Create it once per Lambda execution environment (at module level or in a cached function),
    so warm invocations reuse the connection.
    """
    return redis.Redis(
        host=config.host,
        port=config.port,
        db=config.db,
        username=config.username,
        password=config.password,
        ssl=config.tls,
        socket_timeout=config.socket_timeout_seconds,
        socket_connect_timeout=config.connect_timeout_seconds,
        # redis-py 8 retries up to 10 times with backoff by default, which turns one dead cache
        # into seconds of waiting. Retry only a dropped connection, once, without sleeping.
        retry=Retry(NoBackoff(), config.retries_on_connection_error, (redis.ConnectionError,)),
        # Maintenance push notifications may relax timeouts to 10 s during a failover; the point
        # of this client is short timeouts, and ElastiCache does not send them.
        maint_notifications_config=MaintNotificationsConfig(enabled=False),
        client_name=config.client_name,
        decode_responses=False,
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
