"""The runtime tenant directory: where each tenant's rows live, read from DynamoDB with a short cache.

Two kinds of items in one table (partition key ``pk``, string):

- ``database#pool-001`` / ``database#std-globex`` / ``database#ent-acme`` - a **database record**:
  writer endpoint, reader endpoint (Aurora only), port, database name, IAM user, region, the stack
  that owns it. Written by that database's stack at deploy time (phase 2: a custom resource).
- ``tenant#globex`` - a **tenant record**: tier, the database id holding its rows, status, a version.
  Written when the tenant is onboarded; moving a tenant between tiers (issue 11) is one conditional
  update of this item (new ``database_id``, ``version + 1``).

Two levels rather than copying the endpoint into every tenant item: a shard's endpoint changes in
one item, and a tier move flips one attribute. Lookups read both items (consistent reads) and cache
each for ``ttl_seconds`` (30 by default), so a warm Lambda environment does not call DynamoDB per
request, and a change is seen within the TTL. Unknown tenants are not cached (a tenant onboarded a
second ago is found at once).
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from dbpatterns.errors import PropValidationError
from dbpatterns.runtime.tenancy.catalog import Tier
from dbpatterns.runtime.tenancy.ids import check_tenant_id

DEFAULT_TTL_SECONDS = 30.0
MAX_TTL_SECONDS = 300.0
TENANT_PREFIX = "tenant#"
DATABASE_PREFIX = "database#"


class TenantStatus(enum.Enum):
    ACTIVE = "active"
    """Reads and writes are served."""
    PROVISIONING = "provisioning"
    """Its database is being created or migrated; nothing is served yet."""
    SUSPENDED = "suspended"
    """Switched off by an operator (unpaid, abuse); nothing is served, nothing is deleted."""

    @property
    def serves_reads(self) -> bool:
        return self is TenantStatus.ACTIVE

    @property
    def serves_writes(self) -> bool:
        return self is TenantStatus.ACTIVE


class Auth(enum.Enum):
    IAM = "iam"
    """IAM database authentication (tokens from :mod:`.auth`); TLS required."""
    TRUST = "trust"
    """No password (a local test server with trust authentication); loopback hosts only."""


class UnknownTenantError(LookupError):
    """No tenant (or no database for it) with this id in the directory."""

    def __init__(self, tenant_id: str, detail: str = "not in the tenant directory") -> None:
        self.tenant_id = tenant_id
        super().__init__(f"tenant {tenant_id!r}: {detail}")


@dataclass(frozen=True, kw_only=True)
class DatabaseRecord:
    database_id: str
    tier: Tier
    writer_host: str
    reader_host: str | None = None
    port: int = 5432
    database_name: str
    db_user: str
    region: str
    auth: Auth = Auth.IAM
    stack_name: str | None = None

    def to_item(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "pk": f"{DATABASE_PREFIX}{self.database_id}",
            "kind": "database",
            "tier": self.tier.value,
            "writer_host": self.writer_host,
            "port": self.port,
            "database_name": self.database_name,
            "db_user": self.db_user,
            "region": self.region,
            "auth": self.auth.value,
        }
        if self.reader_host:
            item["reader_host"] = self.reader_host
        if self.stack_name:
            item["stack_name"] = self.stack_name
        return item

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> DatabaseRecord:
        return cls(
            database_id=str(item["pk"]).removeprefix(DATABASE_PREFIX),
            tier=Tier(item["tier"]),
            writer_host=str(item["writer_host"]),
            reader_host=str(item["reader_host"]) if item.get("reader_host") else None,
            port=int(item["port"]),
            database_name=str(item["database_name"]),
            db_user=str(item["db_user"]),
            region=str(item["region"]),
            auth=Auth(item.get("auth", Auth.IAM.value)),
            stack_name=str(item["stack_name"]) if item.get("stack_name") else None,
        )


@dataclass(frozen=True, kw_only=True)
class TenantRecord:
    tenant_id: str
    tier: Tier
    database_id: str
    status: TenantStatus = TenantStatus.ACTIVE
    version: int = 1

    def __post_init__(self) -> None:
        check_tenant_id(self.tenant_id, where="TenantRecord", prop="tenant_id")

    def to_item(self) -> dict[str, Any]:
        return {
            "pk": f"{TENANT_PREFIX}{self.tenant_id}",
            "kind": "tenant",
            "tier": self.tier.value,
            "database_id": self.database_id,
            "status": self.status.value,
            "version": self.version,
        }

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> TenantRecord:
        return cls(
            tenant_id=str(item["pk"]).removeprefix(TENANT_PREFIX),
            tier=Tier(item["tier"]),
            database_id=str(item["database_id"]),
            status=TenantStatus(item["status"]),
            version=int(item["version"]),
        )


@dataclass(frozen=True)
class TenantPlacement:
    """A tenant and the database holding its rows: everything needed to connect."""

    tenant: TenantRecord
    database: DatabaseRecord


class TenantResolver(Protocol):
    def resolve(self, tenant_id: str) -> TenantPlacement: ...


class DynamoTable(Protocol):
    """The part of a boto3 ``Table`` resource the directory uses."""

    def get_item(self, **kwargs: Any) -> Mapping[str, Any]: ...

    def put_item(self, **kwargs: Any) -> Mapping[str, Any]: ...

    def delete_item(self, **kwargs: Any) -> Mapping[str, Any]: ...


class TenantDirectory:
    """Resolves tenant ids through the DynamoDB directory table, with a TTL cache."""

    def __init__(
        self,
        table: DynamoTable,
        *,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 <= ttl_seconds <= MAX_TTL_SECONDS:
            raise PropValidationError(
                "TenantDirectory",
                "ttl_seconds",
                ttl_seconds,
                f"allowed: 0-{MAX_TTL_SECONDS:.0f} (a stale entry would outlive a tenant's move)",
            )
        self._table = table
        self._ttl = ttl_seconds
        self._clock = clock
        self._tenants: dict[str, tuple[TenantRecord, float]] = {}
        self._databases: dict[str, tuple[DatabaseRecord, float]] = {}
        self._lock = threading.Lock()
        self.reads = 0
        """DynamoDB GetItem calls made (tests count them)."""

    def resolve(self, tenant_id: str) -> TenantPlacement:
        check_tenant_id(tenant_id, where="TenantDirectory.resolve", prop="tenant_id")
        tenant = self._cached(self._tenants, tenant_id)
        if tenant is None:
            item = self._get(f"{TENANT_PREFIX}{tenant_id}")
            if item is None:
                raise UnknownTenantError(tenant_id)
            tenant = TenantRecord.from_item(item)
            self._store(self._tenants, tenant_id, tenant)
        database = self._cached(self._databases, tenant.database_id)
        if database is None:
            item = self._get(f"{DATABASE_PREFIX}{tenant.database_id}")
            if item is None:
                raise UnknownTenantError(
                    tenant_id, f"its database {tenant.database_id!r} is not in the directory"
                )
            database = DatabaseRecord.from_item(item)
            self._store(self._databases, tenant.database_id, database)
        return TenantPlacement(tenant, database)

    def invalidate(self, tenant_id: str | None = None) -> None:
        """Forget one tenant (or everything), e.g. after the data layer reported a moved tenant."""
        with self._lock:
            if tenant_id is None:
                self._tenants.clear()
                self._databases.clear()
            else:
                self._tenants.pop(tenant_id, None)

    def put_database(self, record: DatabaseRecord) -> None:
        self._table.put_item(Item=record.to_item())

    def put_tenant(self, record: TenantRecord) -> None:
        """Create a tenant record; refuses to overwrite one (a move is a conditional update, not a put)."""
        self._table.put_item(Item=record.to_item(), ConditionExpression="attribute_not_exists(pk)")

    def register_tenant(self, record: TenantRecord) -> bool:
        """Create the tenant record unless it exists. True when created, False when it already points
        at the same database; :class:`DirectoryConflictError` when it points at another one (a
        deployment never moves a tenant: moves are conditional updates of their own)."""
        try:
            self.put_tenant(record)
        except Exception as error:
            if _error_code(error) != "ConditionalCheckFailedException":
                raise
            item = self._get(f"{TENANT_PREFIX}{record.tenant_id}")
            existing = TenantRecord.from_item(item) if item else None
            if existing is not None and existing.database_id == record.database_id:
                return False
            where = existing.database_id if existing else "nowhere"
            raise DirectoryConflictError(
                f"tenant {record.tenant_id!r} is registered in {where!r}, not {record.database_id!r}; "
                "finish or roll back its move before deploying"
            ) from None
        return True

    def deregister_tenant(self, tenant_id: str, database_id: str) -> bool:
        """Delete the tenant record if it still points at ``database_id``; True when deleted."""
        try:
            self._table.delete_item(
                Key={"pk": f"{TENANT_PREFIX}{tenant_id}"},
                ConditionExpression="database_id = :d",
                ExpressionAttributeValues={":d": database_id},
            )
        except Exception as error:
            if _error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        self.invalidate(tenant_id)
        return True

    def remove_database(self, database_id: str) -> None:
        self._table.delete_item(Key={"pk": f"{DATABASE_PREFIX}{database_id}"})
        with self._lock:
            self._databases.pop(database_id, None)

    def _get(self, key: str) -> Mapping[str, Any] | None:
        self.reads += 1
        response = self._table.get_item(Key={"pk": key}, ConsistentRead=True)
        item = response.get("Item")
        return item if item else None

    def _cached(self, cache: Mapping[str, tuple[Any, float]], key: str) -> Any:
        with self._lock:
            entry = cache.get(key)
        if entry is not None and self._clock() - entry[1] < self._ttl:
            return entry[0]
        return None

    def _store(self, cache: dict[str, tuple[Any, float]], key: str, value: Any) -> None:
        with self._lock:
            cache[key] = (value, self._clock())


class DirectoryConflictError(RuntimeError):
    """The directory and the deployment disagree about where a tenant lives."""


def _error_code(error: BaseException) -> str | None:
    """The AWS error code of a botocore ``ClientError`` (without importing botocore here)."""
    response = getattr(error, "response", None)
    if isinstance(response, Mapping):
        code = response.get("Error", {}).get("Code")
        return str(code) if code is not None else None
    return None


class StaticDirectory:
    """A fixed mapping of placements, for local runs and tests without DynamoDB."""

    def __init__(self, placements: Mapping[str, TenantPlacement]) -> None:
        self._placements = dict(placements)

    def resolve(self, tenant_id: str) -> TenantPlacement:
        check_tenant_id(tenant_id, where="StaticDirectory.resolve", prop="tenant_id")
        try:
            return self._placements[tenant_id]
        except KeyError:
            raise UnknownTenantError(tenant_id) from None
