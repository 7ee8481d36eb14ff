"""TLS verify-full for real, against a private PostgreSQL with its own CA: the library and the
migration CLI connect only when the chain and the host name check out, and an IAM-style token
travels as the password inside TLS."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import pytest
from pg8000.exceptions import DatabaseError

from dbpatterns.runtime.tenancy.access import AccessConfig, TenantDataAccess
from dbpatterns.runtime.tenancy.auth import IamTokenProvider
from dbpatterns.runtime.tenancy.catalog import Tier
from dbpatterns.runtime.tenancy.connection import ConnectionSettings, TlsMode, open_connection
from dbpatterns.runtime.tenancy.directory import (
    Auth,
    DatabaseRecord,
    StaticDirectory,
    TenantPlacement,
    TenantRecord,
)
from dbpatterns.runtime.tenancy.migrate import main as migrate_main
from tests.runtime.tenancy.support import FakeClock
from tests.runtime.tenancy.tls_server import SERVER_NAME, TlsPostgres

pytestmark = pytest.mark.needs_server

SUPERUSER_PASSWORD = "local-only-superuser-secret"
APP_ROLE = "tenancy_app"
TOKEN = "pool-001.local:5432/?Action=connect&DBUser=tenancy_app&X-Amz-Signature=stand-in"


@pytest.fixture(scope="module")
def server() -> Iterator[TlsPostgres]:
    server = TlsPostgres(SUPERUSER_PASSWORD)
    server.start()
    yield server
    server.stop()


def settings(server: TlsPostgres, **changes: object) -> ConnectionSettings:
    values: dict[str, object] = {
        "host": SERVER_NAME,
        "port": server.port,
        "database": "postgres",
        "user": "postgres",
        "password": lambda: SUPERUSER_PASSWORD,
        "tls": TlsMode.VERIFY_FULL,
        "ca_bundle": server.ca_bundle,
    } | changes
    return ConnectionSettings(**values)  # type: ignore[arg-type]


def test_verify_full_connects_over_tls_when_chain_and_name_check_out(server: TlsPostgres) -> None:
    connection = open_connection(settings(server))
    try:
        (row,) = connection.run("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
    finally:
        connection.close()

    assert row[0] is True
    assert row[1] in {"TLSv1.2", "TLSv1.3"}


def test_a_certificate_for_another_name_is_refused(server: TlsPostgres) -> None:
    # The certificate names 'localhost' only; 127.0.0.1 is the same server under another name.
    with pytest.raises(ssl.SSLCertVerificationError, match=r"certificate is not valid for '127\.0\.0\.1'"):
        open_connection(settings(server, host="127.0.0.1"))


def test_a_server_certificate_from_another_ca_is_refused(server: TlsPostgres) -> None:
    with pytest.raises(ssl.SSLCertVerificationError, match="unable to get local issuer certificate"):
        open_connection(settings(server, ca_bundle=server.other_ca_bundle))


def test_the_server_refuses_plain_text(server: TlsPostgres) -> None:
    # TlsMode.DISABLE is allowed for loopback hosts; the server's pg_hba still says no.
    with pytest.raises(DatabaseError, match=r"pg_hba\.conf rejects connection"):
        open_connection(settings(server, tls=TlsMode.DISABLE, ca_bundle=None))


class LocalSigner:
    """Stands in for boto3's local SigV4 signing; the private server knows the token as a password."""

    def generate_db_auth_token(  # boto3's parameter names
        self,
        DBHostname: str,  # noqa: N803
        Port: int,  # noqa: N803
        DBUsername: str,  # noqa: N803
        Region: str | None = None,  # noqa: N803
    ) -> str:
        assert (DBHostname, DBUsername) == (SERVER_NAME, APP_ROLE)
        return TOKEN


def test_migrate_over_tls_then_the_library_reads_with_a_token_as_password(
    server: TlsPostgres, capsys: pytest.CaptureFixture[str]
) -> None:
    dsn = (
        f"postgresql://postgres:{SUPERUSER_PASSWORD}@{SERVER_NAME}:{server.port}/postgres"
        f"?sslrootcert={server.ca_bundle}"
    )
    assert migrate_main(["--dsn", dsn, "--app-role", APP_ROLE]) == 0
    assert "isolation preconditions hold" in capsys.readouterr().out
    with server.admin() as conn:  # RDS would accept the token through rds_iam; here it is the password
        conn.execute(f"ALTER ROLE {APP_ROLE} PASSWORD '{TOKEN}'")
    record = DatabaseRecord(
        database_id="pool-001",
        tier=Tier.POOLED,
        writer_host=SERVER_NAME,
        port=server.port,
        database_name="postgres",
        db_user=APP_ROLE,
        region="us-east-1",
        auth=Auth.IAM,
    )
    directory = StaticDirectory(
        {
            "acme": TenantPlacement(
                TenantRecord(tenant_id="acme", tier=Tier.POOLED, database_id="pool-001"), record
            )
        }
    )
    tokens = IamTokenProvider(LocalSigner(), region="us-east-1", clock=FakeClock())
    access = TenantDataAccess(directory, AccessConfig(ca_bundle=server.ca_bundle), token_provider=tokens)
    try:
        access.write(
            "acme", lambda s: s.run("INSERT INTO app.projects (name) VALUES ('over TLS')"), idempotent=False
        )
        rows = access.read(
            "acme",
            lambda s: s.run(
                "SELECT name, (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()) FROM app.projects"
            ),
        )
    finally:
        access.close()

    assert rows == [["over TLS", True]]
    assert tokens.signed == 1
