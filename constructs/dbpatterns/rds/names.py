"""Names RDS and Aurora constrain: the master user name and the name of the database to create.

Rules, from the RDS API reference (``CreateDBInstance``/``CreateDBCluster``, ``MasterUsername`` and
``DBName``/``DatabaseName``; botocore 1.44.8 service model, read 2026-12-01):

- RDS master user: 1-16 letters, digits or underscores, starting with a letter;
- Aurora master user: 1-16 letters or digits, starting with a letter;
- database name: starting with a letter, then letters, digits or underscores; at most 64 characters
  (MySQL, MariaDB, Aurora MySQL) or 63 (PostgreSQL, Aurora PostgreSQL); Oracle: the SID, at most
  8 characters and not ``null``; SQL Server: no database name at all;
- neither may be "a word reserved by the database engine".

The reserved words below are the ones we can source; RDS may refuse others. ``rdsadmin`` (every
engine) and ``admin`` (PostgreSQL and Aurora PostgreSQL) were checked against CloudFormation by the
cfn-lint project (aws-cloudformation/cfn-lint#4425); the PostgreSQL words are the keywords the
PostgreSQL 17 manual (Appendix C) marks "reserved", and role names PostgreSQL itself refuses
(``public``, ``none``, any ``pg_`` prefix). Database names also may not be one of the databases the
engine always has (``postgres``, ``template0``, ``template1``; ``mysql``, ``sys``,
``information_schema``, ``performance_schema``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

from dbpatterns.common.validation import PropValidationError, is_unresolved
from dbpatterns.rds.engines import EngineFamily

MAX_MASTER_USERNAME_LENGTH = 16

_POSTGRES_FAMILIES = (EngineFamily.POSTGRES, EngineFamily.AURORA_POSTGRES)

_RDS_USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_AURORA_USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
_DATABASE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_ORACLE_SID = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")

#: PostgreSQL's reserved key words (PostgreSQL 17 documentation, Appendix C, "reserved" and not
#: usable as a function or type name either).
# fmt: off
POSTGRES_RESERVED = frozenset((
    "all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric", "both", "case",
    "cast", "check", "collate", "column", "constraint", "create", "current_catalog", "current_date",
    "current_role", "current_time", "current_timestamp", "current_user", "default", "deferrable", "desc",
    "distinct", "do", "else", "end", "except", "false", "fetch", "for", "foreign", "from", "grant",
    "group", "having", "in", "initially", "intersect", "into", "lateral", "leading", "limit",
    "localtime", "localtimestamp", "not", "null", "offset", "on", "only", "or", "order", "placing",
    "primary", "references", "returning", "select", "session_user", "some", "symmetric", "system_user",
    "table", "then", "to", "trailing", "true", "union", "unique", "user", "using", "variadic", "when",
    "where", "window", "with",
))
# fmt: on

_RDS_USERS = frozenset({"rdsadmin"})

#: Master user names refused per family (compared in lower case).
RESERVED_USERNAMES: Mapping[EngineFamily, frozenset[str]] = MappingProxyType(
    {
        EngineFamily.POSTGRES: _RDS_USERS | POSTGRES_RESERVED | {"admin", "public", "none"},
        EngineFamily.AURORA_POSTGRES: _RDS_USERS | POSTGRES_RESERVED | {"admin", "public", "none"},
        EngineFamily.MYSQL: _RDS_USERS,
        EngineFamily.MARIADB: _RDS_USERS,
        EngineFamily.AURORA_MYSQL: _RDS_USERS,
        EngineFamily.ORACLE: _RDS_USERS | {"sys", "system"},
        EngineFamily.SQLSERVER: _RDS_USERS | {"sa"},
    }
)

_MYSQL_DATABASES = frozenset({"mysql", "sys", "information_schema", "performance_schema"})
_POSTGRES_DATABASES = POSTGRES_RESERVED | {"postgres", "template0", "template1", "rdsadmin"}

#: Database names refused per family (compared in lower case).
RESERVED_DATABASE_NAMES: Mapping[EngineFamily, frozenset[str]] = MappingProxyType(
    {
        EngineFamily.POSTGRES: _POSTGRES_DATABASES,
        EngineFamily.AURORA_POSTGRES: _POSTGRES_DATABASES,
        EngineFamily.MYSQL: _MYSQL_DATABASES,
        EngineFamily.MARIADB: _MYSQL_DATABASES,
        EngineFamily.AURORA_MYSQL: _MYSQL_DATABASES,
        EngineFamily.ORACLE: frozenset({"null"}),
        EngineFamily.SQLSERVER: frozenset(),
    }
)


def _text(construct: str, prop: str, value: object) -> str:
    if not isinstance(value, str):
        raise PropValidationError(construct, prop, value, "allowed: a string")
    return value


def check_master_username(construct: str, family: EngineFamily, value: object, prop: str) -> None:
    """Refuse a master user name RDS (or Aurora) would refuse at deploy time."""
    name = _text(construct, prop, value)
    if is_unresolved(name):
        return
    if family.is_aurora:
        pattern, chars = _AURORA_USERNAME, "letters and digits"
    else:
        pattern, chars = _RDS_USERNAME, "letters, digits and underscores"
    if not pattern.match(name) or len(name) > MAX_MASTER_USERNAME_LENGTH:
        raise PropValidationError(
            construct,
            prop,
            name,
            f"allowed: 1-{MAX_MASTER_USERNAME_LENGTH} {chars}, starting with a letter",
        )
    lowered = name.lower()
    if lowered in RESERVED_USERNAMES[family] or (family in _POSTGRES_FAMILIES and lowered.startswith("pg_")):
        raise PropValidationError(
            construct, prop, name, f"allowed: a name that is not reserved by {family.value} (e.g. 'dbadmin')"
        )


def check_database_name(construct: str, family: EngineFamily, value: object, prop: str) -> None:
    """Refuse a database name RDS (or Aurora) would refuse; ``None`` (no database) always passes."""
    if value is None:
        return
    name = _text(construct, prop, value)
    if is_unresolved(name):
        return
    if family is EngineFamily.SQLSERVER:
        raise PropValidationError(
            construct, prop, name, "allowed: None for SQL Server (RDS creates no database on it)"
        )
    if family is EngineFamily.ORACLE:
        pattern, maximum, rule = _ORACLE_SID, 8, "1-8 letters and digits, starting with a letter (the SID)"
    else:
        maximum = 63 if family in _POSTGRES_FAMILIES else 64
        pattern, rule = _DATABASE_NAME, f"1-{maximum} letters, digits and underscores, starting with a letter"
    if not pattern.match(name) or len(name) > maximum:
        raise PropValidationError(construct, prop, name, f"allowed: {rule}")
    if name.lower() in RESERVED_DATABASE_NAMES[family]:
        raise PropValidationError(
            construct,
            prop,
            name,
            f"allowed: a name that is not reserved by {family.value} and not one of its built-in databases",
        )
