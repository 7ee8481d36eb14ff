"""The PostgreSQL versions the tenancy tiers run, one pinned minor per major version.

The catalog chooses a *major* version per database (``overrides.postgres_major_version``: 15, 16 or
17, default 17); the minor is pinned here, in one table, so every database of a major runs the same
minor and one parameter group per major fits them all. The pins are the newest minors aws-cdk-lib
2.275 lists in ``rds.PostgresEngineVersion`` / ``rds.AuroraPostgresEngineVersion`` (read
2026-12-01); ``auto_minor_version_upgrade`` moves instances forward in their maintenance window
between pins. To move a pin: pick a newer ``VER_`` member, synth, and deploy the shard and tenant
stacks (each applies the minor upgrade in its maintenance window).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from aws_cdk import aws_rds as rds

from dbpatterns.runtime.tenancy.catalog import DEFAULT_POSTGRES_MAJOR_VERSION, POSTGRES_MAJOR_VERSIONS

#: RDS for PostgreSQL (pooled shards and standard tenants), by major version.
RDS_POSTGRES_VERSIONS: Mapping[int, rds.PostgresEngineVersion] = MappingProxyType(
    {
        15: rds.PostgresEngineVersion.VER_15_17,
        16: rds.PostgresEngineVersion.VER_16_13,
        17: rds.PostgresEngineVersion.VER_17_9,
    }
)
#: Aurora PostgreSQL (enterprise tenants), by major version.
AURORA_POSTGRES_VERSIONS: Mapping[int, rds.AuroraPostgresEngineVersion] = MappingProxyType(
    {
        15: rds.AuroraPostgresEngineVersion.VER_15_17,
        16: rds.AuroraPostgresEngineVersion.VER_16_13,
        17: rds.AuroraPostgresEngineVersion.VER_17_9,
    }
)

assert tuple(RDS_POSTGRES_VERSIONS) == tuple(AURORA_POSTGRES_VERSIONS) == POSTGRES_MAJOR_VERSIONS


def major_version(value: int | None) -> int:
    """``value``, or the catalog's default major version."""
    return DEFAULT_POSTGRES_MAJOR_VERSION if value is None else value


def instance_engine(major: int) -> rds.IInstanceEngine:
    """RDS for PostgreSQL at the pinned minor of ``major``."""
    return rds.DatabaseInstanceEngine.postgres(version=RDS_POSTGRES_VERSIONS[major])


def cluster_engine(major: int) -> rds.IClusterEngine:
    """Aurora PostgreSQL at the pinned minor of ``major``."""
    return rds.DatabaseClusterEngine.aurora_postgres(version=AURORA_POSTGRES_VERSIONS[major])
