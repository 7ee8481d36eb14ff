"""A private PostgreSQL with TLS (its own throwaway CA), for the verify-full tests.

The machine's PostgreSQL on 5432 runs without TLS, so the TLS tests start their own server from the
installed binaries on a free loopback port, in a temporary folder owned by the ``postgres`` OS
user (the server refuses to run as root). Plain TCP is rejected by pg_hba; only ``hostssl`` with a
SCRAM password is accepted, as on RDS with ``rds.force_ssl=1``. The server certificate names only
``localhost``, so dialling ``127.0.0.1`` must fail host-name verification.
"""

from __future__ import annotations

import contextlib
import datetime
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.servers import in_ci

SERVER_NAME = "localhost"


def _require(condition: bool, message: str) -> None:
    if condition:
        return
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)


def postgres_bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    _require(bool(found), "PostgreSQL server binaries (initdb) are not installed")
    return Path(found[-1]).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_ca(common_name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = _key()
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, certificate


def make_server_certificate(
    ca_key: ec.EllipticCurvePrivateKey, ca: x509.Certificate, dns_name: str
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = _key()
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(dns_name))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(dns_name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return key, certificate


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


class TlsPostgres:
    """Start with :meth:`start`, stop with :meth:`stop`. ``ca_bundle`` trusts the server;
    ``other_ca_bundle`` is a valid CA that did not sign it."""

    def __init__(self, superuser_password: str) -> None:
        _require(os.geteuid() == 0, "starting a private server as the postgres OS user needs root")
        _require(shutil.which("runuser") is not None, "runuser is not installed")
        try:
            self._postgres = pwd.getpwnam("postgres")
        except KeyError:
            _require(False, "no 'postgres' OS user to run a private server as")
        self.bin = postgres_bin_dir()
        self.port = free_port()
        self.superuser_password = superuser_password
        self.workdir = Path(tempfile.mkdtemp(prefix="tenancy-tls-"))
        self.data = self.workdir / "data"
        self.ca_bundle = str(self.workdir / "ca.pem")
        self.other_ca_bundle = str(self.workdir / "other-ca.pem")
        self._started = False

    def _as_postgres(self, *argv: str) -> None:
        subprocess.run(  # noqa: S603 - fixed binaries of the PostgreSQL installation
            ["runuser", "-u", "postgres", "--", *argv],  # noqa: S607 - runuser from PATH (util-linux)
            check=True,
            capture_output=True,
            timeout=60,
        )

    def start(self) -> None:
        os.chown(self.workdir, self._postgres.pw_uid, self._postgres.pw_gid)
        self.workdir.chmod(0o755)
        ca_key, ca = make_ca("dbpatterns test CA")
        server_key, server_certificate = make_server_certificate(ca_key, ca, SERVER_NAME)
        Path(self.ca_bundle).write_bytes(_pem(ca))
        Path(self.other_ca_bundle).write_bytes(_pem(make_ca("some other CA")[1]))
        secrets = self.workdir / "tls"
        secrets.mkdir()
        (secrets / "server.crt").write_bytes(_pem(server_certificate))
        (secrets / "server.key").write_bytes(_key_pem(server_key))
        for path in (secrets, secrets / "server.crt", secrets / "server.key"):
            os.chown(path, self._postgres.pw_uid, self._postgres.pw_gid)
        (secrets / "server.key").chmod(0o600)
        self._as_postgres(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8"
        )
        (self.data / "pg_hba.conf").write_text(
            "local all all trust\n"
            "hostssl all all 127.0.0.1/32 scram-sha-256\n"
            "hostssl all all ::1/128 scram-sha-256\n"
            "host all all all reject\n"
        )
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"\nport = {self.port}\nlisten_addresses = 'localhost'\n"
                f"unix_socket_directories = '{self.workdir}'\nssl = on\n"
                f"ssl_cert_file = '{secrets / 'server.crt'}'\nssl_key_file = '{secrets / 'server.key'}'\n"
                "fsync = off\nsynchronous_commit = off\nmax_connections = 20\nshared_buffers = 16MB\n"
            )
        self._as_postgres(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.workdir / "server.log"),
            "-w",
            "start",
        )
        self._started = True
        with self.admin() as conn:
            conn.execute(f"ALTER ROLE postgres PASSWORD '{self.superuser_password}'")  # test-only secret

    def admin(self) -> psycopg.Connection[object]:
        """Superuser over the Unix socket (trust), for setting up and inspecting."""
        return psycopg.connect(
            host=str(self.workdir), port=self.port, user="postgres", dbname="postgres", autocommit=True
        )

    def stop(self) -> None:
        if self._started:
            with contextlib.suppress(subprocess.SubprocessError):
                self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.workdir, ignore_errors=True)
