"""Connection settings: TLS verify-full by default, plain text only on loopback, DSN parsing that
refuses modes which do not check the host name, and the lost-connection classifier."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import pytest
from pg8000.exceptions import DatabaseError, InterfaceError

from dbpatterns.errors import PropValidationError
from dbpatterns.runtime.tenancy.connection import (
    ConnectionSettings,
    TlsMode,
    is_connection_lost,
    settings_from_dsn,
    tls_context,
)

RDS_HOST = "pool-001.abc123.us-east-1.rds.amazonaws.com"


@pytest.fixture
def ca_bundle(tmp_path: Path) -> str:
    # Any valid PEM will do for building the context: use the system's CA file when it has one.
    system = ssl.get_default_verify_paths().cafile
    if system is None or not Path(system).exists():
        pytest.skip("no system CA file to stand in for the RDS bundle")
    return system


def test_verify_full_checks_the_chain_and_the_host_name(ca_bundle: str) -> None:
    settings = ConnectionSettings(host=RDS_HOST, database="app", user="tenancy_app", ca_bundle=ca_bundle)

    context = tls_context(settings)

    assert context is not None
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname is True
    assert context.minimum_version is ssl.TLSVersion.TLSv1_2


@pytest.mark.parametrize(
    ("changes", "prop"),
    [
        ({"tls": TlsMode.DISABLE}, "tls"),
        ({"ca_bundle": None}, "ca_bundle"),
        ({"port": 0}, "port"),
        ({"user": ""}, "user"),
        ({"application_name": "x" * 64}, "application_name"),
        ({"timeout_seconds": 0}, "timeout_seconds"),
    ],
)
def test_rejects_unsafe_or_impossible_settings(changes: dict[str, Any], prop: str) -> None:
    values: dict[str, Any] = {
        "host": RDS_HOST,
        "database": "app",
        "user": "u",
        "ca_bundle": "/ca.pem",
    } | changes

    with pytest.raises(PropValidationError) as caught:
        ConnectionSettings(**values)

    assert caught.value.prop == prop


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_plain_text_is_allowed_for_loopback_hosts(host: str) -> None:
    assert tls_context(ConnectionSettings(host=host, database="d", user="u", tls=TlsMode.DISABLE)) is None


def test_a_dsn_becomes_settings_with_tls_on_by_default() -> None:
    settings = settings_from_dsn(
        f"postgresql://master:s%40cret@{RDS_HOST}:5433/app?sslrootcert=/opt/ca.pem&connect_timeout=3"
    )

    assert (settings.host, settings.port, settings.database, settings.user) == (
        RDS_HOST,
        5433,
        "app",
        "master",
    )
    assert (settings.tls, settings.ca_bundle, settings.timeout_seconds) == (
        TlsMode.VERIFY_FULL,
        "/opt/ca.pem",
        3.0,
    )
    assert settings.password() == "s@cret"
    assert "s@cret" not in repr(settings)


@pytest.mark.parametrize(
    ("dsn", "prop"),
    [
        (f"postgresql://u@{RDS_HOST}/app?sslmode=require&sslrootcert=/ca.pem", "sslmode"),
        (f"postgresql://u@{RDS_HOST}/app?sslmode=verify-ca&sslrootcert=/ca.pem", "sslmode"),
        (f"postgresql://u@{RDS_HOST}/app?sslmode=disable", "tls"),
        (f"postgresql://u@{RDS_HOST}/app?options=-c%20row_security%3Doff", "options"),
        ("http://u@127.0.0.1/app", "scheme"),
    ],
)
def test_rejects_dsns_that_would_not_verify_the_server(dsn: str, prop: str) -> None:
    with pytest.raises(PropValidationError) as caught:
        settings_from_dsn(dsn)

    assert caught.value.prop == prop


@pytest.mark.parametrize(
    ("error", "lost"),
    [
        (InterfaceError("network error"), True),
        (ConnectionResetError(), True),
        (DatabaseError({"C": "57P01", "M": "terminating connection due to administrator command"}), True),
        (DatabaseError({"C": "08006", "M": "connection failure"}), True),
        (DatabaseError({"C": "23505", "M": "duplicate key"}), False),
        (DatabaseError({"C": "42501", "M": "new row violates row-level security policy"}), False),
        (DatabaseError({"C": "25006", "M": "read-only transaction"}), False),
        (ValueError("bug"), False),
    ],
)
def test_a_lost_connection_is_told_from_an_ordinary_sql_error(error: BaseException, lost: bool) -> None:
    assert is_connection_lost(error) is lost
