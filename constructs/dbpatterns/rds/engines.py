"""What differs between database engines: TLS enforcement, log exports, replica and IAM-auth support.

RDS and Aurora constructs classify the engine object they receive (``rds.IInstanceEngine`` or
``rds.IClusterEngine``) into an :class:`EngineFamily` and read every engine-specific setting from here,
so the constructs themselves stay engine-agnostic.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType

from aws_cdk import aws_rds as rds


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
