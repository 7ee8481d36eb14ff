"""Tenant-scoped database access: tenant id -> directory -> the right database, one transaction at a
time, with the tenant context set inside the transaction and failover handled honestly.

    access = TenantDataAccess(directory, AccessConfig(ca_bundle="/opt/rds/global-bundle.pem"),
                              token_provider=IamTokenProvider.from_boto3("us-east-1"))
    projects = access.read("acme", lambda s: s.run("SELECT project_id, name FROM app.projects"))
    access.write("acme", lambda s: s.run("INSERT INTO app.projects (project_id, name) VALUES (:id, :n) "
                                         "ON CONFLICT DO NOTHING", id=project_id, n="Roadmap"),
                 idempotent=True)
    report = access.report("acme", lambda s: s.run("SELECT * FROM app.project_summary"))

What happens in one call:

1. the directory gives the tenant's placement (pooled shard, standard RDS instance or enterprise
   Aurora cluster) and status; a suspended or provisioning tenant is refused;
2. the endpoint: the writer for ``read`` and ``write``; for ``report`` the Aurora reader endpoint
   when the tenant has one (enterprise), else the writer;
3. a pooled connection to that endpoint (opened with an IAM token and TLS verify-full; a new writer
   connection checks ``pg_is_in_recovery()`` so a stale DNS answer after a failover is not used);
4. ``START TRANSACTION`` (``READ ONLY`` for reads and reports), then in the same round trip
   ``set_config('app.tenant_id', $1, true)`` and ``set_config('application_name', 'tenant:<id>', true)``:
   both are transaction-local, so the next transaction on this connection - maybe another
   tenant's - starts with no context (no rows) and the connection's own name;
5. your function runs with a :class:`TenantSession`; then ``COMMIT``.

When the connection is lost (terminated backend, failover, network):

- before your function ran: nothing was executed, so the call is retried on a new connection, for
  every kind of work (that is not repeating anything);
- while your function ran or during ``COMMIT``: idempotent work (``read``, ``report``,
  ``write(..., idempotent=True)``) is retried with jittered backoff, at most ``max_attempts`` times
  in all; a non-idempotent write is **never** retried: :class:`WriteInterruptedError` reports whether
  it certainly did not commit (lost before ``COMMIT`` was sent: the server rolled it back) or the
  outcome is unknown (lost during ``COMMIT``: it may have committed). Make writes idempotent with
  client-chosen keys (``ON CONFLICT DO NOTHING``) to get retries.

SQL errors (constraint violations, a policy refusing a row) roll back and are raised unchanged.

While a tenant moves between databases (:mod:`.move`), reads are served from the source throughout;
writes are served until the move's cutover and then refused with :class:`TenantMovingError`
(retryable: the API answers 503 with ``Retry-After``) until the flip. The directory cache is not
trusted for that: the source database itself refuses the tenant's writes from the cutover on (the
move's capture trigger raises SQLSTATE ``TMOVE``), so a container whose cached record still says
``active`` cannot write behind the mover's back. On ``TMOVE`` the library forgets the cached record
and resolves the tenant once more: after the flip the write goes to the new database at once; during
the cutover it raises :class:`TenantMovingError`. The refused transaction was rolled back, so
repeating it is safe even for a non-idempotent write.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import pg8000.native

from dbpatterns.errors import PropValidationError
from dbpatterns.runtime.tenancy.auth import IamTokenProvider
from dbpatterns.runtime.tenancy.connection import (
    DEFAULT_TIMEOUT_SECONDS,
    ConnectionSettings,
    TlsMode,
    is_connection_lost,
    is_loopback,
    open_connection,
    sqlstate,
)
from dbpatterns.runtime.tenancy.directory import Auth, TenantPlacement, TenantResolver
from dbpatterns.runtime.tenancy.schema import TENANT_SETTING

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

#: Prefix of the transaction-local application_name: ``tenant:acme`` in pg_stat_activity and in
#: Performance Insights' "application" dimension.
APPLICATION_NAME_PREFIX = "tenant:"
MAX_ATTEMPTS_LIMIT = 10
MAX_BACKOFF_SECONDS = 30.0
#: SQLSTATE read_only_sql_transaction.
READ_ONLY_TRANSACTION = "25006"
#: SQLSTATE raised by a move's fence on the source database (see :mod:`.move.capture`).
TENANT_MOVING_SQLSTATE = "TMOVE"


class Intent(enum.Enum):
    READ = "read"
    WRITE = "write"
    REPORT = "report"


class Outcome(enum.Enum):
    NOT_APPLIED = "not_applied"
    """The connection was lost before COMMIT was sent: the server rolled the transaction back."""
    UNKNOWN = "unknown"
    """The connection was lost while COMMIT was in flight: the write may or may not have committed."""


class TenantUnavailableError(RuntimeError):
    """The tenant exists but its status does not allow this kind of work now."""

    def __init__(self, tenant_id: str, status: str, intent: Intent) -> None:
        self.tenant_id, self.status, self.intent = tenant_id, status, intent
        super().__init__(f"tenant {tenant_id!r} is {status}; {intent.value} refused")


class TenantMovingError(TenantUnavailableError):
    """The tenant is at the end of a move (cutover, verifying): writes are paused for a moment.

    Retryable: nothing was written; try again after a short pause (the API sends 503 + Retry-After)."""

    retryable = True

    def __init__(self, tenant_id: str, status: str) -> None:
        super().__init__(tenant_id, status, Intent.WRITE)


class DatabaseUnavailableError(RuntimeError):
    """Idempotent work failed on every attempt because the connection kept being lost."""

    def __init__(self, tenant_id: str, endpoint: str, attempts: int, cause: BaseException) -> None:
        self.tenant_id, self.endpoint, self.attempts = tenant_id, endpoint, attempts
        super().__init__(
            f"tenant {tenant_id!r}: {endpoint} unreachable after {attempts} attempt(s): {cause!r}"
        )


class WriteInterruptedError(RuntimeError):
    """A non-idempotent write lost its connection after it started; it was not retried."""

    def __init__(self, tenant_id: str, endpoint: str, outcome: Outcome, cause: BaseException) -> None:
        self.tenant_id, self.endpoint, self.outcome = tenant_id, endpoint, outcome
        advice = (
            "it did not commit; retrying is safe"
            if outcome is Outcome.NOT_APPLIED
            else "it may have committed; check before repeating it"
        )
        super().__init__(
            f"tenant {tenant_id!r}: write on {endpoint} interrupted ({outcome.value}): {advice}: {cause!r}"
        )


@dataclass(frozen=True, kw_only=True)
class AccessConfig:
    """How the library connects. The defaults are the AWS ones: TLS verify-full with IAM tokens."""

    tls: TlsMode = TlsMode.VERIFY_FULL
    ca_bundle: str | None = None
    """The RDS CA bundle (``global-bundle.pem``), required with TLS."""
    service_name: str = "dbpatterns"
    """The connection's own application_name, shown while no transaction is running."""
    max_attempts: int = 3
    """Attempts for idempotent work (1-10), the first included."""
    backoff_base_seconds: float = 0.1
    backoff_max_seconds: float = 2.0
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    max_idle_connections_per_endpoint: int = 2

    def __post_init__(self) -> None:
        if isinstance(self.max_attempts, bool) or not 1 <= self.max_attempts <= MAX_ATTEMPTS_LIMIT:
            raise PropValidationError(
                "AccessConfig", "max_attempts", self.max_attempts, f"allowed: 1-{MAX_ATTEMPTS_LIMIT}"
            )
        if not 0 <= self.backoff_base_seconds <= self.backoff_max_seconds <= MAX_BACKOFF_SECONDS:
            raise PropValidationError(
                "AccessConfig",
                "backoff_base_seconds/backoff_max_seconds",
                (self.backoff_base_seconds, self.backoff_max_seconds),
                f"allowed: 0 <= base <= max <= {MAX_BACKOFF_SECONDS}",
            )
        if self.max_idle_connections_per_endpoint < 0:
            raise PropValidationError(
                "AccessConfig",
                "max_idle_connections_per_endpoint",
                self.max_idle_connections_per_endpoint,
                "allowed: 0 or more",
            )


class TenantSession:
    """One transaction of one tenant. ``run`` binds parameters (``:name``); SQL text never holds values."""

    def __init__(self, connection: pg8000.native.Connection, tenant_id: str, intent: Intent) -> None:
        self._connection = connection
        self.tenant_id = tenant_id
        self.intent = intent

    def run(self, sql: str, **params: Any) -> list[list[Any]]:
        rows = self._connection.run(sql, **params)
        return [list(row) for row in rows] if rows is not None else []

    def copy_out(self, sql: str, stream: Any) -> None:
        """``COPY ... TO STDOUT`` into ``stream`` (a binary or text file object); RLS applies."""
        self._connection.run(sql, stream=stream)

    @property
    def row_count(self) -> int:
        return int(self._connection.row_count)


@dataclass(frozen=True)
class _Endpoint:
    host: str
    port: int
    database: str
    user: str
    auth: Auth
    writer: bool

    def __str__(self) -> str:
        return f"{self.host}:{self.port}/{self.database}"


class _Lost(Exception):  # noqa: N818 - internal signal, not an error type callers see
    def __init__(self, cause: BaseException, *, work_started: bool, committing: bool) -> None:
        super().__init__(repr(cause))
        self.cause, self.work_started, self.committing = cause, work_started, committing


class _Fenced(Exception):  # noqa: N818 - internal signal: the source database refused a moving tenant's write
    pass


class TenantDataAccess:
    """The data-access entry point; create one per process (Lambda execution environment) and reuse it."""

    def __init__(
        self,
        directory: TenantResolver,
        config: AccessConfig | None = None,
        *,
        token_provider: IamTokenProvider | None = None,
        connect: Callable[[ConnectionSettings], pg8000.native.Connection] = open_connection,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._directory = directory
        self._config = config or AccessConfig()
        self._tokens = token_provider
        self._connect = connect
        self._sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._idle: dict[_Endpoint, list[pg8000.native.Connection]] = {}
        self._lock = threading.Lock()
        self.connections_opened = 0
        self.retries = 0

    # -------------------------------------------------------------------------------- public API

    def read(self, tenant_id: str, work: Callable[[TenantSession], _T]) -> _T:
        """Run ``work`` in a read-only transaction on the tenant's writer (read-your-writes); retried."""
        return self._execute(tenant_id, Intent.READ, work, idempotent=True)

    def report(self, tenant_id: str, work: Callable[[TenantSession], _T]) -> _T:
        """Run ``work`` read-only on the reader endpoint when the tenant has one; retried."""
        return self._execute(tenant_id, Intent.REPORT, work, idempotent=True)

    def write(self, tenant_id: str, work: Callable[[TenantSession], _T], *, idempotent: bool) -> _T:
        """Run ``work`` in a read-write transaction on the writer. Say whether running it twice is
        harmless: only then is it retried after a lost connection."""
        return self._execute(tenant_id, Intent.WRITE, work, idempotent=idempotent)

    def close(self) -> None:
        with self._lock:
            pools, self._idle = self._idle, {}
        for connections in pools.values():
            for connection in connections:
                _close_quietly(connection)

    # -------------------------------------------------------------------------------- internals

    def _execute(
        self, tenant_id: str, intent: Intent, work: Callable[[TenantSession], _T], *, idempotent: bool
    ) -> _T:
        fenced_before = False
        while True:
            try:
                return self._execute_on(
                    self._placement(tenant_id, intent), tenant_id, intent, work, idempotent
                )
            except _Fenced:
                # The source refused the write: the cached placement predates the move's cutover.
                self._directory.invalidate(tenant_id)
                if fenced_before:
                    raise TenantMovingError(tenant_id, "moving") from None
                fenced_before = True

    def _placement(self, tenant_id: str, intent: Intent) -> TenantPlacement:
        placement = self._directory.resolve(tenant_id)
        status = placement.tenant.status
        allowed = status.serves_writes if intent is Intent.WRITE else status.serves_reads
        if not allowed:
            if intent is Intent.WRITE and status.pauses_writes:
                raise TenantMovingError(tenant_id, status.value)
            raise TenantUnavailableError(tenant_id, status.value, intent)
        return placement

    def _execute_on(
        self,
        placement: TenantPlacement,
        tenant_id: str,
        intent: Intent,
        work: Callable[[TenantSession], _T],
        idempotent: bool,
    ) -> _T:
        endpoint = self._endpoint(placement, intent)
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._attempt(endpoint, tenant_id, intent, work)
            except _Lost as lost:
                # After a failover or restart every idle connection to the endpoint is dead too.
                self._discard_idle(endpoint)
                if lost.work_started and not idempotent:
                    outcome = Outcome.UNKNOWN if lost.committing else Outcome.NOT_APPLIED
                    logger.warning(
                        "non-idempotent write not retried",
                        extra={"tenant_id": tenant_id, "endpoint": str(endpoint), "outcome": outcome.value},
                    )
                    raise WriteInterruptedError(tenant_id, str(endpoint), outcome, lost.cause) from lost.cause
                if attempt >= self._config.max_attempts:
                    raise DatabaseUnavailableError(
                        tenant_id, str(endpoint), attempt, lost.cause
                    ) from lost.cause
                self.retries += 1
                delay = self._backoff(attempt)
                logger.info(
                    "connection lost; retrying",
                    extra={
                        "tenant_id": tenant_id,
                        "endpoint": str(endpoint),
                        "attempt": attempt,
                        "delay": delay,
                    },
                )
                self._sleep(delay)

    def _attempt(
        self, endpoint: _Endpoint, tenant_id: str, intent: Intent, work: Callable[[TenantSession], _T]
    ) -> _T:
        try:
            connection = self._checkout(endpoint)
        except Exception as error:
            if is_connection_lost(error):
                raise _Lost(error, work_started=False, committing=False) from error
            raise
        work_started = committing = False
        try:
            begin = "START TRANSACTION READ ONLY" if intent is not Intent.WRITE else "START TRANSACTION"
            connection.run(begin)
            connection.run(
                "SELECT set_config(:setting, :tenant, true), set_config('application_name', :app_name, true)",
                setting=TENANT_SETTING,
                tenant=tenant_id,
                app_name=f"{APPLICATION_NAME_PREFIX}{tenant_id}",
            )
            work_started = True
            result = work(TenantSession(connection, tenant_id, intent))
            committing = True
            connection.run("COMMIT")
        except Exception as error:
            if is_connection_lost(error) or (
                intent is Intent.WRITE and sqlstate(error) == READ_ONLY_TRANSACTION
            ):
                # 25006 in a read-write transaction: the "writer" is a replica now (failover, stale DNS).
                _close_quietly(connection)
                raise _Lost(error, work_started=work_started, committing=committing) from error
            self._rollback_or_discard(connection, endpoint)
            if sqlstate(error) == TENANT_MOVING_SQLSTATE:
                raise _Fenced from error
            raise
        self._checkin(endpoint, connection)
        return result

    def _endpoint(self, placement: TenantPlacement, intent: Intent) -> _Endpoint:
        database = placement.database
        use_reader = intent is Intent.REPORT and database.reader_host is not None
        host = database.reader_host if use_reader and database.reader_host else database.writer_host
        return _Endpoint(
            host, database.port, database.database_name, database.db_user, database.auth, not use_reader
        )

    def _checkout(self, endpoint: _Endpoint) -> pg8000.native.Connection:
        with self._lock:
            idle = self._idle.get(endpoint)
            if idle:
                return idle.pop()
        connection = self._connect(self._settings(endpoint))
        self.connections_opened += 1
        if endpoint.writer:
            try:
                in_recovery = connection.run("SELECT pg_is_in_recovery()")[0][0]
            except Exception:
                _close_quietly(connection)
                raise
            if in_recovery:
                # The writer name still resolves to a reader (DNS not updated after a failover yet).
                _close_quietly(connection)
                raise pg8000.native.InterfaceError(f"{endpoint} answered as a read-only replica")
        return connection

    def _checkin(self, endpoint: _Endpoint, connection: pg8000.native.Connection) -> None:
        with self._lock:
            idle = self._idle.setdefault(endpoint, [])
            if len(idle) < self._config.max_idle_connections_per_endpoint:
                idle.append(connection)
                return
        _close_quietly(connection)

    def _discard_idle(self, endpoint: _Endpoint) -> None:
        with self._lock:
            idle = self._idle.pop(endpoint, [])
        for connection in idle:
            _close_quietly(connection)

    def _rollback_or_discard(self, connection: pg8000.native.Connection, endpoint: _Endpoint) -> None:
        try:
            connection.run("ROLLBACK")
        except Exception:  # a connection that cannot roll back is not reused
            _close_quietly(connection)
            return
        self._checkin(endpoint, connection)

    def _settings(self, endpoint: _Endpoint) -> ConnectionSettings:
        password: Callable[[], str | None]
        if endpoint.auth is Auth.IAM:
            if self._tokens is None:
                raise RuntimeError(f"{endpoint} uses IAM authentication but no token_provider was given")
            password = self._tokens.password_for(host=endpoint.host, port=endpoint.port, user=endpoint.user)
        else:
            if not is_loopback(endpoint.host):
                raise RuntimeError(f"{endpoint}: trust authentication is allowed only for a loopback host")
            password = _no_password

        return ConnectionSettings(
            host=endpoint.host,
            port=endpoint.port,
            database=endpoint.database,
            user=endpoint.user,
            password=password,
            tls=self._config.tls,
            ca_bundle=self._config.ca_bundle,
            application_name=self._config.service_name,
            timeout_seconds=self._config.timeout_seconds,
        )

    def _backoff(self, attempt: int) -> float:
        ceiling = min(
            self._config.backoff_max_seconds, self._config.backoff_base_seconds * 2 ** (attempt - 1)
        )
        return self._rng.uniform(0, ceiling)


def _no_password() -> str | None:
    return None


def _close_quietly(connection: pg8000.native.Connection) -> None:
    # Closing a dead socket may fail; there is nothing to save.
    with contextlib.suppress(Exception):
        connection.close()
