"""What differs between database engines: TLS enforcement, log exports, replica and IAM-auth support.

RDS and Aurora constructs classify the engine object they receive (``rds.IInstanceEngine`` or
``rds.IClusterEngine``) into an :class:`EngineFamily` and read every engine-specific setting from here,
so the constructs themselves stay engine-agnostic.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from aws_cdk import aws_rds as rds

from dbpatterns.common.validation import PropValidationError, is_unresolved


class EngineFamily(enum.Enum):
    """The engine families the dbpatterns constructs know how to secure."""

    POSTGRES = "postgres"
    MYSQL = "mysql"
    MARIADB = "mariadb"
    ORACLE = "oracle"
    SQLSERVER = "sqlserver"
    AURORA_MYSQL = "aurora-mysql"
    AURORA_POSTGRES = "aurora-postgresql"

    @classmethod
    def of(cls, engine: rds.IInstanceEngine | rds.IClusterEngine) -> EngineFamily:
        """The family of ``engine`` (``oracle-ee``, ``sqlserver-se`` ... map to ORACLE, SQLSERVER)."""
        engine_type = engine.engine_type
        for family in cls:
            if engine_type == family.value or engine_type.startswith(f"{family.value}-"):
                # "aurora-mysql" starts with neither "mysql-" nor "postgres-", so no false match.
                return family
        raise ValueError(f"unknown engine type {engine_type!r}")

    @property
    def is_aurora(self) -> bool:
        return self in (EngineFamily.AURORA_MYSQL, EngineFamily.AURORA_POSTGRES)

    @property
    def is_mysql_compatible(self) -> bool:
        return self in (EngineFamily.MYSQL, EngineFamily.MARIADB, EngineFamily.AURORA_MYSQL)

    @property
    def max_read_replicas(self) -> int:
        """Read replicas per source instance (RDS quotas): 15, or 5 for Oracle and SQL Server."""
        return 5 if self in (EngineFamily.ORACLE, EngineFamily.SQLSERVER) else 15

    @property
    def supports_iam_authentication(self) -> bool:
        """IAM database authentication exists for MySQL, MariaDB and PostgreSQL (and Aurora)."""
        return self not in (EngineFamily.ORACLE, EngineFamily.SQLSERVER)

    @property
    def supports_replica_backups(self) -> bool:
        """Automated backups on a read replica: MySQL and MariaDB only."""
        return self in (EngineFamily.MYSQL, EngineFamily.MARIADB)

    @property
    def tls_parameters(self) -> Mapping[str, str]:
        """Parameter-group settings that refuse unencrypted connections.

        Oracle has no such parameter: it gets native network encryption through an option group
        (:data:`ORACLE_NETWORK_ENCRYPTION`) instead.
        """
        if self.is_mysql_compatible:
            return MappingProxyType({"require_secure_transport": "ON"})
        if self is EngineFamily.ORACLE:
            return MappingProxyType({})
        return MappingProxyType({"rds.force_ssl": "1"})

    @property
    def logging_parameters(self) -> Mapping[str, str]:
        """Parameter-group settings that make the exported logs worth reading."""
        if self is EngineFamily.AURORA_MYSQL:
            return MappingProxyType(
                {
                    "server_audit_logging": "1",
                    "server_audit_events": "CONNECT,QUERY_DCL,QUERY_DDL",
                    "slow_query_log": "1",
                    "long_query_time": "2",
                    "log_output": "FILE",
                }
            )
        if self in (EngineFamily.MYSQL, EngineFamily.MARIADB):
            return MappingProxyType({"slow_query_log": "1", "long_query_time": "2", "log_output": "FILE"})
        if self in (EngineFamily.POSTGRES, EngineFamily.AURORA_POSTGRES):
            # Log connections and statements slower than 2 s (the slow-query log of PostgreSQL).
            return MappingProxyType(
                {"log_connections": "1", "log_disconnections": "1", "log_min_duration_statement": "2000"}
            )
        return MappingProxyType({})

    @property
    def log_exports(self) -> tuple[str, ...]:
        """Logs exported to CloudWatch Logs (``EnableCloudwatchLogsExports``)."""
        return _LOG_EXPORTS[self]

    @property
    def default_port(self) -> int:
        """The engine's standard port (the constructs keep it; see ``acknowledge_default_port``)."""
        if self.is_mysql_compatible:
            return 3306
        return {EngineFamily.ORACLE: 1521, EngineFamily.SQLSERVER: 1433}.get(self, 5432)

    def known_versions(self) -> frozenset[str]:
        """Every full version aws-cdk-lib's version class for this family lists (its ``VER_*`` members)."""
        return _known_versions(self)


_LOG_EXPORTS: Mapping[EngineFamily, tuple[str, ...]] = MappingProxyType(
    {
        EngineFamily.POSTGRES: ("postgresql", "upgrade"),
        EngineFamily.MYSQL: ("error", "slowquery"),
        EngineFamily.MARIADB: ("error", "slowquery"),
        EngineFamily.ORACLE: ("alert", "audit", "listener", "trace"),
        EngineFamily.SQLSERVER: ("agent", "error"),
        # All four, as cdk-nag AwsSolutions-RDS16 asks; the general log stays off until you enable it.
        EngineFamily.AURORA_MYSQL: ("audit", "error", "general", "slowquery"),
        EngineFamily.AURORA_POSTGRES: ("postgresql",),
    }
)

#: Oracle: native network encryption required on every connection (there is no TLS parameter).
ORACLE_NETWORK_ENCRYPTION = rds.OptionConfiguration(
    name="NATIVE_NETWORK_ENCRYPTION",
    settings={
        "SQLNET.ENCRYPTION_SERVER": "REQUIRED",
        "SQLNET.ENCRYPTION_TYPES_SERVER": "AES256",
        "SQLNET.CRYPTO_CHECKSUM_SERVER": "REQUIRED",
        "SQLNET.CRYPTO_CHECKSUM_TYPES_SERVER": "SHA256",
    },
)


#: aws-cdk-lib's version class of each family and the attribute holding a member's full version.
_VERSION_CLASSES: Mapping[EngineFamily, tuple[Any, str]] = MappingProxyType(
    {
        EngineFamily.POSTGRES: (rds.PostgresEngineVersion, "postgres_full_version"),
        EngineFamily.MYSQL: (rds.MysqlEngineVersion, "mysql_full_version"),
        EngineFamily.MARIADB: (rds.MariaDbEngineVersion, "mariadb_full_version"),
        EngineFamily.ORACLE: (rds.OracleEngineVersion, "oracle_full_version"),
        EngineFamily.SQLSERVER: (rds.SqlServerEngineVersion, "sql_server_full_version"),
        EngineFamily.AURORA_MYSQL: (rds.AuroraMysqlEngineVersion, "aurora_mysql_full_version"),
        EngineFamily.AURORA_POSTGRES: (rds.AuroraPostgresEngineVersion, "aurora_postgres_full_version"),
    }
)


@functools.cache
def _known_versions(family: EngineFamily) -> frozenset[str]:
    version_class, attribute = _VERSION_CLASSES[family]
    return frozenset(
        str(getattr(getattr(version_class, name), attribute))
        for name in dir(version_class)
        if name.startswith("VER_")
    )


def check_engine(
    construct: str, engine: object, *, aurora: bool, prop: str = "engine"
) -> tuple[EngineFamily, str]:
    """The family and full version of ``engine``, or a :class:`PropValidationError` saying what to pass.

    Refuses strings (``"postgres"``), an instance engine where a cluster engine is needed and back, an
    engine without a pinned version (the constructs' parameter groups need its major version, and an
    unpinned engine lets CloudFormation pick a different version on every new deployment) and a
    version aws-cdk-lib does not list in its version class (a typo, or a version this aws-cdk-lib
    predates: upgrade aws-cdk-lib to use it).
    """
    kind = (
        "an Aurora MySQL or Aurora PostgreSQL engine (rds.DatabaseClusterEngine.aurora_mysql/aurora_postgres)"
        if aurora
        else "a MySQL, MariaDB, PostgreSQL, Oracle or SQL Server engine (rds.DatabaseInstanceEngine)"
    )
    engine_type = getattr(engine, "engine_type", None)
    if not isinstance(engine_type, str):
        raise PropValidationError(construct, prop, engine, f"allowed: {kind}")
    try:
        family = EngineFamily.of(engine)  # type: ignore[arg-type]
    except ValueError:
        family = None
    if family is None or family.is_aurora != aurora:
        raise PropValidationError(construct, prop, engine_type, f"allowed: {kind}")
    version = getattr(engine, "engine_version", None)
    if version is None or version.full_version is None:
        raise PropValidationError(
            construct,
            prop,
            f"{engine_type} without a version",
            f"allowed: {kind} with a pinned version, "
            f"e.g. version={_VERSION_CLASSES[family][0].__name__}.VER_...",
        )
    full_version = str(version.full_version)
    if not is_unresolved(full_version) and full_version not in family.known_versions():
        raise PropValidationError(
            construct,
            prop,
            f"{engine_type} {full_version}",
            f"allowed: a version listed in aws-cdk-lib's rds.{_VERSION_CLASSES[family][0].__name__} "
            "(a newer one needs a newer aws-cdk-lib)",
        )
    return family, full_version
