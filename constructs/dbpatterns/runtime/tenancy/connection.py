"""Opening PostgreSQL connections with pg8000 (pure Python, so it runs in Lambda without a layer of
compiled code), and telling a lost connection from an ordinary SQL error.

TLS is on by default and verifies the server like libpq's ``sslmode=verify-full``: the certificate
must chain to the CA bundle you give (the RDS global bundle in AWS) and name the host you dialled.
It may be switched off only for a loopback host (the local test server), the same rule the cache
client follows. The password is a callable, so an IAM auth token is generated (or taken from the
cache) for every new connection, never stored in the settings.
"""

from __future__ import annotations

import enum
import ipaddress
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pg8000.native
from pg8000.exceptions import DatabaseError, InterfaceError

from dbpatterns.errors import PropValidationError

#: Connect and socket timeouts: a dead endpoint should cost seconds, not the OS default minutes.
DEFAULT_TIMEOUT_SECONDS = 10.0
#: PostgreSQL truncates application_name to NAMEDATALEN - 1 bytes.
MAX_APPLICATION_NAME_LENGTH = 63

#: SQLSTATEs that mean "this connection (or this server's role) is gone; open another one":
#: admin_shutdown / crash_shutdown / cannot_connect_now (57P01-57P03: pg_terminate_backend, a
#: failover or a reboot) and the connection_exception class 08. (A read-only error, 25006, in a
#: read-write transaction also means "wrong server" after an Aurora failover; the data-access layer
#: decides that, because in a read-only transaction it is an ordinary error.)
CONNECTION_LOST_SQLSTATES = frozenset(
    {"57P01", "57P02", "57P03", "08000", "08001", "08003", "08004", "08006", "08007"}
)


class TlsMode(enum.Enum):
    VERIFY_FULL = "verify-full"
    """Encrypt, verify the chain against the CA bundle and the host name (RDS, Aurora)."""
    DISABLE = "disable"
    """Plain text; refused for anything but a loopback host."""


def _no_password() -> str | None:
    return None


@dataclass(frozen=True, kw_only=True)
class ConnectionSettings:
    """Where a database is and how to log in. Build one per endpoint; connections are opened by
    :func:`open_connection`."""

    host: str
    """Endpoint DNS name (never a resolved address: after a failover the name points elsewhere)."""

    port: int = 5432
    database: str
    user: str
    password: Callable[[], str | None] = field(default=_no_password, repr=False, compare=False)
    """Called for every new connection: an IAM token provider, a secret reader, or a constant."""

    tls: TlsMode = TlsMode.VERIFY_FULL
    ca_bundle: str | None = None
    """PEM file with the CA certificates (e.g. the RDS ``global-bundle.pem``). Required for
    ``VERIFY_FULL``; the system trust store does not hold the RDS CAs."""

    application_name: str = "dbpatterns"
    """Shown in ``pg_stat_activity`` and Performance Insights; 63 characters at most."""

    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS

    def __post_init__(self) -> None:
        where = f"ConnectionSettings for {self.host!r}"
        if not self.host:
            raise PropValidationError(where, "host", self.host, "required: the endpoint's DNS name")
        if isinstance(self.port, bool) or not isinstance(self.port, int) or not 1 <= self.port <= 65535:
            raise PropValidationError(where, "port", self.port, "allowed: 1-65535")
        for prop in ("database", "user"):
            if not getattr(self, prop):
                raise PropValidationError(where, prop, getattr(self, prop), "required")
        if not isinstance(self.tls, TlsMode):
            raise PropValidationError(where, "tls", self.tls, "allowed: a TlsMode")
        if self.tls is TlsMode.DISABLE and not is_loopback(self.host):
            raise PropValidationError(
                where,
                "tls",
                self.tls.value,
                "TLS may be disabled only for a loopback host (a local test server)",
            )
        if self.tls is TlsMode.VERIFY_FULL and not self.ca_bundle:
            raise PropValidationError(
                where,
                "ca_bundle",
                self.ca_bundle,
                "required with verify-full: the RDS CA bundle (global-bundle.pem)",
            )
        if len(self.application_name.encode()) > MAX_APPLICATION_NAME_LENGTH:
            raise PropValidationError(
                where,
                "application_name",
                self.application_name,
                f"at most {MAX_APPLICATION_NAME_LENGTH} bytes",
            )
        if not 0 < self.timeout_seconds <= 300:
            raise PropValidationError(
                where, "timeout_seconds", self.timeout_seconds, "allowed: more than 0, at most 300"
            )


def tls_context(settings: ConnectionSettings) -> ssl.SSLContext | None:
    """The SSL context for ``settings``: chain and host name verified, TLS 1.2 or newer."""
    if settings.tls is TlsMode.DISABLE:
        return None
    context = ssl.create_default_context(cafile=settings.ca_bundle)
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def open_connection(settings: ConnectionSettings) -> pg8000.native.Connection:
    """A new connection (autocommit until you send ``START TRANSACTION``)."""
    return pg8000.native.Connection(
        user=settings.user,
        host=settings.host,
        port=settings.port,
        database=settings.database,
        password=settings.password(),
        # pg8000 reads ssl_context=None as "try TLS without verifying" (libpq's prefer); pass False
        # for plain text and a verifying context otherwise, so the mode is exactly what was asked.
        ssl_context=tls_context(settings) or False,
        timeout=settings.timeout_seconds,
        application_name=settings.application_name,
        tcp_keepalive=True,
    )


def sqlstate(error: BaseException) -> str | None:
    """The SQLSTATE of a pg8000 ``DatabaseError``, if it carries one."""
    if isinstance(error, DatabaseError) and error.args and isinstance(error.args[0], dict):
        code = error.args[0].get("C")
        return str(code) if code is not None else None
    return None


def is_connection_lost(error: BaseException) -> bool:
    """True when ``error`` means the connection is unusable (closed socket, terminated backend,
    failover) rather than that the statement was wrong."""
    if isinstance(error, InterfaceError | OSError | ssl.SSLError):
        return True
    return sqlstate(error) in CONNECTION_LOST_SQLSTATES


def settings_from_dsn(
    dsn: str,
    *,
    password: Callable[[], str | None] | None = None,
    application_name: str = "dbpatterns",
) -> ConnectionSettings:
    """Parse ``postgresql://user[:password]@host[:port]/database[?sslmode=...&sslrootcert=...]``.

    ``sslmode`` may be ``verify-full`` (the default) or ``disable`` (loopback hosts only); anything
    in between (``require``, ``verify-ca``) is refused because it does not check the host name.
    """
    parts = urlsplit(dsn)
    where = "dsn"
    if parts.scheme not in {"postgresql", "postgres"}:
        raise PropValidationError(where, "scheme", parts.scheme, "allowed: postgresql://")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    unknown = sorted(set(query) - {"sslmode", "sslrootcert", "connect_timeout"})
    if unknown:
        raise PropValidationError(
            where, unknown[0], query[unknown[0]], "allowed: sslmode, sslrootcert, connect_timeout"
        )
    mode = query.get("sslmode", TlsMode.VERIFY_FULL.value)
    try:
        tls = TlsMode(mode)
    except ValueError:
        raise PropValidationError(
            where, "sslmode", mode, "allowed: 'verify-full' or 'disable' (loopback only)"
        ) from None
    inline_password = unquote(parts.password) if parts.password is not None else None
    if password is None:

        def password() -> str | None:
            return inline_password

    extra: dict[str, Any] = {}
    if "connect_timeout" in query:
        extra["timeout_seconds"] = float(query["connect_timeout"])
    return ConnectionSettings(
        host=parts.hostname or "",
        port=parts.port or 5432,
        database=unquote(parts.path.lstrip("/")) or "postgres",
        user=unquote(parts.username or "postgres"),
        password=password,
        tls=tls,
        ca_bundle=query.get("sslrootcert"),
        application_name=application_name,
        **extra,
    )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
