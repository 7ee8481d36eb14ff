"""The engine versions this repo's stacks pin, in one table (checked 2026-12-01).

A minor version that RDS stops offering makes a fresh deployment fail, so pins move forward on
purpose, here only. Sources:

- Aurora MySQL: "Long-term support (LTS) and beta releases for Amazon Aurora MySQL" in the Aurora
  User Guide (AuroraMySQL.Update.SpecialVersions) lists 3.10.* and 3.04.* as the LTS releases; 3.10
  is the newer one (released 2025-07-31, MySQL 8.0.42), pinned at its newest patch in aws-cdk-lib.
- RDS for PostgreSQL and Aurora PostgreSQL: the newest minor of the major that aws-cdk-lib 2.275
  lists (release calendars in the RDS and Aurora user guides). To move a pin: pick a newer member of the
aws-cdk-lib enum, run ``make test`` (a test checks every pin is one of the enum's members) and deploy
to a sandbox first; engine upgrades happen in the maintenance window.
"""

from __future__ import annotations

from aws_cdk import aws_rds as rds

#: RDS for PostgreSQL 17 (the showcase instance and its replicas).
RDS_POSTGRES = rds.PostgresEngineVersion.VER_17_9
#: Aurora MySQL 3.10, a long-term-support minor (MySQL 8.0.42 compatible); supports Serverless v2
#: auto-pause (3.08 and later) and backtrack (Aurora MySQL 3).
AURORA_MYSQL = rds.AuroraMysqlEngineVersion.VER_3_10_4
#: Aurora PostgreSQL 16 (the global database showcase); auto-pause needs 16.3 or later.
AURORA_POSTGRES = rds.AuroraPostgresEngineVersion.VER_16_13

#: Every pin, by name, for the test that checks each against aws-cdk-lib's enums.
PINNED = {
    "RDS_POSTGRES": (rds.PostgresEngineVersion, RDS_POSTGRES),
    "AURORA_MYSQL": (rds.AuroraMysqlEngineVersion, AURORA_MYSQL),
    "AURORA_POSTGRES": (rds.AuroraPostgresEngineVersion, AURORA_POSTGRES),
}
