"""The runtime tenant directory: where each tenant's rows live, read from DynamoDB with a short cache.

Two kinds of items in one table (partition key ``pk``, string):

- ``database#pool-001`` / ``database#std-globex`` / ``database#ent-acme`` - a **database record**:
  writer endpoint, reader endpoint (Aurora only), port, database name, IAM user, region, the stack
  that owns it. Written by that database's stack at deploy time (phase 2: a custom resource).
- ``tenant#globex`` - a **tenant record**: tier, the database id holding its rows, status, a version.
  Written when the tenant is onboarded; moving a tenant between tiers (issue 11) walks the item
  through the move states below, one conditional update per step.

Two levels rather than copying the endpoint into every tenant item: a shard's endpoint changes in
one item, and a tier move flips one attribute. Lookups read both items (consistent reads) and cache
each for ``ttl_seconds`` (30 by default), so a warm Lambda environment does not call DynamoDB per
request, and a change is seen within the TTL. Unknown tenants are not cached (a tenant onboarded a
second ago is found at once). A tenant in a move state is cached for at most
``moving_ttl_seconds`` (1 by default), so the flip at the end of a move is seen within a second by
every container that has already seen the move start.

The move contract (shared with the AWS path, whose Step Functions state machine writes the same
item with DynamoDB ``UpdateItem``; keep both in step)::

    ACTIVE(src) --start--> COPYING --> CATCHING_UP --> CUTOVER --> VERIFYING --flip--> ACTIVE(target)
        ^                     |             |              |            |
        +------------------ rollback (from any of the four move states) -+

- statuses: ``active``, ``provisioning``, ``suspended`` and the move states ``copying``,
  ``catching_up``, ``cutover``, ``verifying``. Reads are served in ``active`` and every move state;
  writes in ``active``, ``copying`` and ``catching_up`` only. In ``cutover`` and ``verifying`` a
  write is refused with a *retryable* error (``TenantMovingError``; the API answers 503 with
  ``Retry-After``).
- while moving the item carries a map ``move``: ``{"move_id", "source_database_id",
  "target_database_id", "source_tier", "target_tier", "started_at"}`` (strings; ``started_at`` is
  ISO-8601 UTC).
- every transition is ONE conditional ``UpdateItem`` with the condition
  ``#status = :expected AND version = :v`` that sets ``status`` and ``version = :v + 1``:

  - start (``active`` -> ``copying``): also ``attribute_not_exists(move)`` in the condition; SETs
    ``move``;
  - ``copying`` -> ``catching_up`` -> ``cutover`` -> ``verifying``: status and version only;
  - flip (``verifying`` -> ``active``): SETs ``database_id`` = target, ``tier`` = target tier and
    ``previous = {"database_id", "tier", "move_id", "cleanup_after"}`` (the source, kept until its
    rows are deleted after the grace period), REMOVEs ``move``;
  - rollback (any move state -> ``active``): REMOVEs ``move``; ``database_id`` is unchanged.
  - cleanup (after the source rows are deleted): ``active`` -> ``active`` with ``version + 1``,
    REMOVEs ``previous`` (condition also ``previous.move_id = :m``).

A failed condition raises :class:`MoveConflictError` (someone else moved the item on: a concurrent
mover, an operator's rollback) and nothing is written.
"""

from __future__ import annotations

import datetime
import enum
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

from dbpatterns.errors import PropValidationError
from dbpatterns.runtime.tenancy.catalog import Tier
from dbpatterns.runtime.tenancy.ids import check_tenant_id

DEFAULT_TTL_SECONDS = 30.0
#: How long a tenant record in a move state is cached: the flip must be seen quickly.
DEFAULT_MOVING_TTL_SECONDS = 1.0
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
    COPYING = "copying"
    """Moving: the rows are being copied to the target; the source serves reads and writes."""
    CATCHING_UP = "catching_up"
    """Moving: changes made during the copy are replayed on the target; the source serves everything."""
    CUTOVER = "cutover"
    """Moving: writes are paused (refused, retryable) while the last changes reach the target."""
    VERIFYING = "verifying"
    """Moving: both sides are compared table by table; writes still paused, reads from the source."""

    @property
    def serves_reads(self) -> bool:
        return self in _SERVES_READS

    @property
    def serves_writes(self) -> bool:
        return self in _SERVES_WRITES

    @property
    def is_moving(self) -> bool:
        return self in MOVE_STATES

    @property
    def pauses_writes(self) -> bool:
        """Writes are refused only for a moment and should be retried (the end of a move)."""
        return self in (TenantStatus.CUTOVER, TenantStatus.VERIFYING)


MOVE_STATES = frozenset(
    {TenantStatus.COPYING, TenantStatus.CATCHING_UP, TenantStatus.CUTOVER, TenantStatus.VERIFYING}
)
_SERVES_READS = MOVE_STATES | {TenantStatus.ACTIVE}
_SERVES_WRITES = frozenset({TenantStatus.ACTIVE, TenantStatus.COPYING, TenantStatus.CATCHING_UP})
#: The forward steps of a move between start and flip.
MOVE_STEPS: Mapping[TenantStatus, TenantStatus] = {
    TenantStatus.COPYING: TenantStatus.CATCHING_UP,
    TenantStatus.CATCHING_UP: TenantStatus.CUTOVER,
    TenantStatus.CUTOVER: TenantStatus.VERIFYING,
}


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


def utc_iso(moment: datetime.datetime) -> str:
    """ISO-8601 in UTC with a ``Z`` (``2026-12-01T16:33:30.123456Z``), as the AWS path writes it."""
    return moment.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")


def parse_utc(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(datetime.UTC)


@dataclass(frozen=True, kw_only=True)
class MoveRecord:
    """The ``move`` map of a tenant item while it moves (see the module docstring)."""

    move_id: str
    source_database_id: str
    target_database_id: str
    source_tier: Tier
    target_tier: Tier
    started_at: str
    """ISO-8601 UTC."""

    def to_item(self) -> dict[str, str]:
        return {
            "move_id": self.move_id,
            "source_database_id": self.source_database_id,
            "target_database_id": self.target_database_id,
            "source_tier": self.source_tier.value,
            "target_tier": self.target_tier.value,
            "started_at": self.started_at,
        }

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> MoveRecord:
        return cls(
            move_id=str(item["move_id"]),
            source_database_id=str(item["source_database_id"]),
            target_database_id=str(item["target_database_id"]),
            source_tier=Tier(item["source_tier"]),
            target_tier=Tier(item["target_tier"]),
            started_at=str(item["started_at"]),
        )


@dataclass(frozen=True, kw_only=True)
class PreviousPlacement:
    """The ``previous`` map after a flip: where the tenant's old rows still are, until cleanup."""

    database_id: str
    tier: Tier
    move_id: str
    cleanup_after: str
    """ISO-8601 UTC; the source rows are deleted by ``move cleanup`` only after this moment."""

    def to_item(self) -> dict[str, str]:
        return {
            "database_id": self.database_id,
            "tier": self.tier.value,
            "move_id": self.move_id,
            "cleanup_after": self.cleanup_after,
        }

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> PreviousPlacement:
        return cls(
            database_id=str(item["database_id"]),
            tier=Tier(item["tier"]),
            move_id=str(item["move_id"]),
            cleanup_after=str(item["cleanup_after"]),
        )


@dataclass(frozen=True, kw_only=True)
class TenantRecord:
    tenant_id: str
    tier: Tier
    database_id: str
    status: TenantStatus = TenantStatus.ACTIVE
    version: int = 1
    move: MoveRecord | None = None
    """Set while the tenant moves (a move state), absent otherwise."""
    previous: PreviousPlacement | None = None
    """Set by a flip until the source rows are cleaned up."""

    def __post_init__(self) -> None:
        check_tenant_id(self.tenant_id, where="TenantRecord", prop="tenant_id")

    def to_item(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "pk": f"{TENANT_PREFIX}{self.tenant_id}",
            "kind": "tenant",
            "tier": self.tier.value,
            "database_id": self.database_id,
            "status": self.status.value,
            "version": self.version,
        }
        if self.move is not None:
            item["move"] = self.move.to_item()
        if self.previous is not None:
            item["previous"] = self.previous.to_item()
        return item

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> TenantRecord:
        move = item.get("move")
        previous = item.get("previous")
        return cls(
            tenant_id=str(item["pk"]).removeprefix(TENANT_PREFIX),
            tier=Tier(item["tier"]),
            database_id=str(item["database_id"]),
            status=TenantStatus(item["status"]),
            version=int(item["version"]),
            move=MoveRecord.from_item(move) if isinstance(move, Mapping) else None,
            previous=PreviousPlacement.from_item(previous) if isinstance(previous, Mapping) else None,
        )


@dataclass(frozen=True)
class TenantPlacement:
    """A tenant and the database holding its rows: everything needed to connect."""

    tenant: TenantRecord
    database: DatabaseRecord


class TenantResolver(Protocol):
    def resolve(self, tenant_id: str) -> TenantPlacement: ...

    def invalidate(self, tenant_id: str | None = None) -> None:
        """Forget what is cached about ``tenant_id`` (the data layer learned it moved)."""


class DynamoTable(Protocol):
    """The part of a boto3 ``Table`` resource the directory uses."""

    def get_item(self, **kwargs: Any) -> Mapping[str, Any]: ...

    def put_item(self, **kwargs: Any) -> Mapping[str, Any]: ...

    def delete_item(self, **kwargs: Any) -> Mapping[str, Any]: ...

    def update_item(self, **kwargs: Any) -> Mapping[str, Any]: ...


class MoveConflictError(RuntimeError):
    """A move transition's condition failed: the item is not in the state (or version) expected."""


class TenantDirectory:
    """Resolves tenant ids through the DynamoDB directory table, with a TTL cache."""

    def __init__(
        self,
        table: DynamoTable,
        *,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        moving_ttl_seconds: float = DEFAULT_MOVING_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 <= ttl_seconds <= MAX_TTL_SECONDS:
            raise PropValidationError(
                "TenantDirectory",
                "ttl_seconds",
                ttl_seconds,
                f"allowed: 0-{MAX_TTL_SECONDS:.0f} (a stale entry would outlive a tenant's move)",
            )
        if not 0 <= moving_ttl_seconds <= MAX_TTL_SECONDS:
            raise PropValidationError(
                "TenantDirectory",
                "moving_ttl_seconds",
                moving_ttl_seconds,
                f"allowed: 0-{MAX_TTL_SECONDS:.0f}",
            )
        self._table = table
        self._ttl = ttl_seconds
        self._moving_ttl = min(ttl_seconds, moving_ttl_seconds)
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
        if entry is None:
            return None
        value, stored = entry
        moving = isinstance(value, TenantRecord) and value.status.is_moving
        if self._clock() - stored < (self._moving_ttl if moving else self._ttl):
            return value
        return None

    # ------------------------------------------------------------------------ the move state machine

    def get_tenant(self, tenant_id: str) -> TenantRecord:
        """The tenant item read now (consistent, not cached); :class:`UnknownTenantError` if absent."""
        check_tenant_id(tenant_id, where="TenantDirectory.get_tenant", prop="tenant_id")
        item = self._get(f"{TENANT_PREFIX}{tenant_id}")
        if item is None:
            raise UnknownTenantError(tenant_id)
        return TenantRecord.from_item(item)

    def get_database(self, database_id: str) -> DatabaseRecord | None:
        item = self._get(f"{DATABASE_PREFIX}{database_id}")
        return DatabaseRecord.from_item(item) if item is not None else None

    def start_move(self, record: TenantRecord, move: MoveRecord) -> TenantRecord:
        """``active`` -> ``copying`` with the ``move`` map; the condition refuses a second mover."""
        if record.status is not TenantStatus.ACTIVE:
            raise MoveConflictError(f"tenant {record.tenant_id!r} is {record.status.value}, not active")
        self._transition(
            record,
            "SET #status = :next, version = :v + :one, #move = :move",
            extra_condition=" AND attribute_not_exists(#move)",
            names={"#move": "move"},
            values={":next": TenantStatus.COPYING.value, ":move": move.to_item()},
        )
        return replace(record, status=TenantStatus.COPYING, version=record.version + 1, move=move)

    def advance_move(self, record: TenantRecord) -> TenantRecord:
        """One forward step: ``copying`` -> ``catching_up`` -> ``cutover`` -> ``verifying``."""
        following = MOVE_STEPS.get(record.status)
        if following is None:
            raise MoveConflictError(
                f"tenant {record.tenant_id!r} is {record.status.value}: no forward move step from there"
            )
        self._transition(
            record, "SET #status = :next, version = :v + :one", values={":next": following.value}
        )
        return replace(record, status=following, version=record.version + 1)

    def finish_move(self, record: TenantRecord, *, cleanup_after: datetime.datetime) -> TenantRecord:
        """The flip, ``verifying`` -> ``active`` on the target database, in one conditional write."""
        move = record.move
        if record.status is not TenantStatus.VERIFYING or move is None:
            raise MoveConflictError(
                f"tenant {record.tenant_id!r} is {record.status.value}; only a verified move can flip"
            )
        previous = PreviousPlacement(
            database_id=record.database_id,
            tier=record.tier,
            move_id=move.move_id,
            cleanup_after=utc_iso(cleanup_after),
        )
        self._transition(
            record,
            "SET #status = :next, version = :v + :one, database_id = :db, tier = :tier, previous = :prev "
            "REMOVE #move",
            names={"#move": "move"},
            values={
                ":next": TenantStatus.ACTIVE.value,
                ":db": move.target_database_id,
                ":tier": move.target_tier.value,
                ":prev": previous.to_item(),
            },
        )
        return replace(
            record,
            status=TenantStatus.ACTIVE,
            version=record.version + 1,
            database_id=move.target_database_id,
            tier=move.target_tier,
            move=None,
            previous=previous,
        )

    def abort_move(self, record: TenantRecord) -> TenantRecord:
        """Rollback: any move state -> ``active`` on the source (``database_id`` unchanged)."""
        if not record.status.is_moving:
            raise MoveConflictError(f"tenant {record.tenant_id!r} is {record.status.value}, not moving")
        self._transition(
            record,
            "SET #status = :next, version = :v + :one REMOVE #move",
            names={"#move": "move"},
            values={":next": TenantStatus.ACTIVE.value},
        )
        return replace(record, status=TenantStatus.ACTIVE, version=record.version + 1, move=None)

    def clear_previous(self, record: TenantRecord) -> TenantRecord:
        """After cleanup: forget the old placement (``active``, ``version + 1``, REMOVE ``previous``)."""
        if record.status is not TenantStatus.ACTIVE or record.previous is None:
            raise MoveConflictError(f"tenant {record.tenant_id!r} has no previous placement to clear")
        self._transition(
            record,
            "SET #status = :next, version = :v + :one REMOVE previous",
            extra_condition=" AND previous.move_id = :m",
            values={":next": TenantStatus.ACTIVE.value, ":m": record.previous.move_id},
        )
        return replace(record, version=record.version + 1, previous=None)

    def _transition(
        self,
        record: TenantRecord,
        update: str,
        *,
        extra_condition: str = "",
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any],
    ) -> None:
        try:
            self._table.update_item(
                Key={"pk": f"{TENANT_PREFIX}{record.tenant_id}"},
                UpdateExpression=update,
                ConditionExpression="#status = :expected AND version = :v" + extra_condition,
                ExpressionAttributeNames={"#status": "status", **(names or {})},
                ExpressionAttributeValues={
                    ":expected": record.status.value,
                    ":v": record.version,
                    ":one": 1,
                    **values,
                },
            )
        except Exception as error:
            if _error_code(error) == "ConditionalCheckFailedException":
                raise MoveConflictError(
                    f"tenant {record.tenant_id!r} is no longer {record.status.value} at version "
                    f"{record.version}: another mover or an operator changed it; nothing was written"
                ) from None
            raise
        finally:
            self.invalidate(record.tenant_id)

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

    def invalidate(self, tenant_id: str | None = None) -> None:
        """Nothing is cached."""
