"""The tenant catalog as code: which tenants exist, their tier, their shard and their overrides.

The catalog is a JSON file in the repository (``tenants.json`` at the root). JSON rather than YAML
because the standard library reads *and writes* it: the shard planner (``python -m
dbpatterns.runtime.tenancy.catalog_cli add ...``) rewrites the file, and the same parser runs in a
Lambda function without a third-party package. The schema, with every field::

    {
      "version": 1,                      # format version; only 1 exists
      "shard_capacity": 100,             # pooled tenants per shard, 1-100 (default 100)
      "shards": [                        # pooled shards, one RDS PostgreSQL instance each
        {"shard": 1},
        {"shard": 2, "overrides": {"instance_class": "db.m7g.xlarge"}}
      ],
      "tenants": [
        {"id": "acme", "name": "Acme Corp", "tier": "enterprise",
         "overrides": {"instance_class": "db.r7g.xlarge", "readers": 2, "postgres_major_version": 17}},
        {"id": "globex", "name": "Globex", "tier": "standard",
         "overrides": {"instance_class": "db.m7g.large", "allocated_storage_gib": 200}},
        {"id": "initech", "name": "Initech", "tier": "pooled", "shard": 1},
        {"id": "hooli", "name": "Hooli", "tier": "pooled", "shard": 1,
         "move_to": {"tier": "standard", "overrides": {"instance_class": "db.m7g.large"}}}
      ]
    }

Rules, each enforced with a :class:`~dbpatterns.errors.PropValidationError` that names the
tenant (or shard) and the field:

- ``id``: a slug (:mod:`dbpatterns.runtime.tenancy.ids`), unique in the catalog.
- ``tier``: ``pooled``, ``standard`` or ``enterprise``.
- pooled tenants name a declared ``shard`` and take no overrides (they share the shard's instance:
  size the shard instead); a shard holds at most ``shard_capacity`` tenants.
- standard tenants (their own RDS instance) may override ``instance_class`` (an RDS class),
  ``allocated_storage_gib`` (20-65536) and ``postgres_major_version``; ``readers`` is an enterprise
  feature.
- enterprise tenants (their own Aurora cluster) may override ``instance_class`` (a provisioned
  Aurora class: r-, x2g- or burstable t3/t4g medium/large), ``readers`` (0-15) and
  ``postgres_major_version``; ``allocated_storage_gib`` makes no sense (Aurora storage grows by itself).
- ``generation`` (optional, standard and enterprise only, default 1): which of the tenant's dedicated
  databases is its own. Generation 1 lives in the stack ``DbPatterns-Tenant-<id>``, generation N > 1
  in ``DbPatterns-Tenant-<id>--gen<N>`` (:func:`tenant_stack_name`), so a standard <-> enterprise move
  can hold the source and the target at once and the target keeps its stack after the move.
- ``move_to`` (optional) plans a tier move: ``{"tier": ..., "shard": ..., "overrides": {...}}``. The
  app then provisions the target database (a new ``std-<id>`` / ``ent-<id>``, or the existing shard)
  and the move's DMS replication; the tenant stays where ``tier``/``shard`` say until the move's flip,
  after which the operator writes the new tier in and drops ``move_to``
  (:meth:`TenantSpec.after_move`). The target is another database: a pooled target names a declared
  shard other than the tenant's own and must have room (tenants moving in count against the shard's
  capacity); a dedicated target takes the overrides of its tier, a pooled one none. A pooled
  tenant's new dedicated database is generation 1; a standard <-> enterprise move's target is the
  tenant's next generation (:attr:`TenantSpec.target_generation`).
- ``retired`` (optional): ``{"tier": ..., "generation": N}``, the dedicated database a completed move
  left (its stack left the app and is deleted by hand after the grace period). While it is recorded
  no move can be planned: a later target could reuse its database id (``std-<id>`` after standard ->
  enterprise -> standard) or its stack name while it still exists. The operator drops it once the
  stack is deleted (``catalog_cli forget-retired``).
- unknown fields are refused everywhere, so a typo never silently means "default".

Pooled tenants keep their shard for life: the file records it, and :mod:`.shards` only ever assigns
a shard to a *new* tenant (the lowest-numbered shard with room). Nothing here imports ``aws_cdk``:
the CDK app, the CLIs and the Lambda functions share this module.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from dbpatterns.errors import PropValidationError
from dbpatterns.runtime.tenancy.ids import check_tenant_id, is_tenant_id

CATALOG_FORMAT_VERSION = 1
#: Pooled tenants per shard (the issue's "up to 100 per shared RDS instance").
MAX_SHARD_CAPACITY = 100
#: PostgreSQL major versions the tiers may run. 15 is the floor: the schema's views use
#: ``security_invoker``, which PostgreSQL 15 introduced.
POSTGRES_MAJOR_VERSIONS = (15, 16, 17)
DEFAULT_POSTGRES_MAJOR_VERSION = 17
#: RDS general-purpose (gp3) storage limits, in GiB.
MIN_STORAGE_GIB, MAX_STORAGE_GIB = 20, 65_536
#: Aurora allows up to 15 reader instances per cluster.
MAX_AURORA_READERS = 15
MAX_DISPLAY_NAME_LENGTH = 100

_INSTANCE_CLASS = re.compile(r"^db\.([a-z][a-z0-9-]*)\.([a-z0-9]+)$")
#: Provisioned Aurora PostgreSQL instance families (Aurora has no db.m classes; burstable classes
#: only in medium and large, meant for development). ``db.serverless`` needs a capacity range the
#: catalog does not model yet, so it is not accepted here.
_AURORA_FAMILIES = re.compile(r"^(r[0-9]+[a-z]*|x2g)$")
_AURORA_BURSTABLE = frozenset({"db.t3.medium", "db.t3.large", "db.t4g.medium", "db.t4g.large"})
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
#: The stack of a tenant's first dedicated database; later generations add ``--gen<N>``.
TENANT_STACK_PREFIX = "DbPatterns-Tenant-"


class Tier(enum.Enum):
    """How a tenant's data is placed."""

    POOLED = "pooled"
    """Shares one RDS PostgreSQL instance (a shard) with up to 99 other tenants, isolated by RLS."""

    STANDARD = "standard"
    """Its own RDS PostgreSQL instance (Multi-AZ in production), automated backups and PITR."""

    ENTERPRISE = "enterprise"
    """Its own Aurora PostgreSQL cluster: a writer and readers for reporting, Multi-AZ."""


@dataclass(frozen=True, kw_only=True)
class DatabaseOverrides:
    """Per-database deviations from the tier defaults (the defaults depend on the deployment profile
    and are decided by the stacks). ``None`` everywhere means "the tier default"."""

    instance_class: str | None = None
    """DB instance class such as ``db.m7g.large``. Default: the tier's class for the profile."""

    allocated_storage_gib: int | None = None
    """Initial RDS storage in GiB (20-65536). Default: the tier's size. Not for Aurora."""

    postgres_major_version: int | None = None
    """PostgreSQL major version (15, 16 or 17). Default: :data:`DEFAULT_POSTGRES_MAJOR_VERSION`."""

    readers: int | None = None
    """Aurora reader instances for reporting (0-15). Default: the tier's count. Aurora only."""

    def is_empty(self) -> bool:
        return all(value is None for value in self.as_dict().values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "instance_class": self.instance_class,
            "allocated_storage_gib": self.allocated_storage_gib,
            "postgres_major_version": self.postgres_major_version,
            "readers": self.readers,
        }


NO_OVERRIDES = DatabaseOverrides()


@dataclass(frozen=True, kw_only=True)
class TierMove:
    """A planned move of a tenant to another database (the catalog's ``move_to``)."""

    tier: Tier
    """The tier the tenant moves to."""

    shard: int | None = None
    """A move to the pooled tier: the declared shard that takes the tenant. ``None`` otherwise."""

    overrides: DatabaseOverrides = NO_OVERRIDES
    """A move to a dedicated tier: the new database's deviations from the tier defaults - none by
    default. Becomes the tenant's ``overrides`` when the move is completed."""


@dataclass(frozen=True, kw_only=True)
class RetiredDatabase:
    """A dedicated database a completed move left (the catalog's ``retired``): out of the app, still in
    the account until its stack is deleted by hand."""

    tier: Tier
    """Standard or enterprise."""

    generation: int = 1
    """Its generation: its stack is ``tenant_stack_name(tenant_id, generation)``."""


@dataclass(frozen=True, kw_only=True)
class ShardSpec:
    """A pooled shard: one RDS PostgreSQL instance shared by up to ``shard_capacity`` tenants."""

    shard: int
    """Shard number, 1 or more; never reused for another instance while the shard exists."""

    overrides: DatabaseOverrides = NO_OVERRIDES
    """Size of this shard's instance, e.g. a bigger class for a busy shard."""

    @property
    def database_id(self) -> str:
        """The runtime directory's key for this shard's database (``pool-001``)."""
        return pool_database_id(self.shard)


@dataclass(frozen=True, kw_only=True)
class TenantSpec:
    """One tenant as the catalog file declares it."""

    tenant_id: str
    """Slug (see :mod:`dbpatterns.runtime.tenancy.ids`); also the ``tenant_id`` column value."""

    display_name: str
    """Human-readable name, 1-100 characters."""

    tier: Tier
    """Where the tenant's data lives."""

    shard: int | None = None
    """Pooled tenants: the shard that holds their rows. ``None`` for the other tiers."""

    overrides: DatabaseOverrides = NO_OVERRIDES
    """Standard and enterprise tenants: deviations from the tier defaults."""

    move_to: TierMove | None = None
    """A planned move to another database - none by default."""

    generation: int = 1
    """Standard and enterprise tenants: which of their dedicated databases is theirs (its stack is
    :func:`tenant_stack_name`) - 1, the first, by default. Pooled tenants: always 1."""

    retired: RetiredDatabase | None = None
    """The dedicated database a completed move left, until the operator drops it - none by default."""

    @property
    def database_id(self) -> str:
        """The runtime directory's key for the database holding this tenant's rows."""
        return database_id_of(self.tenant_id, self.tier, self.shard)

    @property
    def target_database_id(self) -> str | None:
        """The directory's key of the planned move's target database, ``None`` without a move."""
        if self.move_to is None:
            return None
        return database_id_of(self.tenant_id, self.move_to.tier, self.move_to.shard)

    @property
    def stack_name(self) -> str | None:
        """The stack of a standard / enterprise tenant's database; ``None`` for a pooled tenant."""
        if self.tier is Tier.POOLED:
            return None
        return tenant_stack_name(self.tenant_id, self.generation)

    @property
    def target_generation(self) -> int | None:
        """The generation of the planned move's new dedicated database: the next one after a standard
        <-> enterprise move, the first for a pooled tenant's; ``None`` without a move or for a pooled
        target."""
        if self.move_to is None or self.move_to.tier is Tier.POOLED:
            return None
        return self.generation + 1 if self.tier is not Tier.POOLED else 1

    def after_move(self) -> TenantSpec:
        """This tenant once its planned move has flipped: the target's tier, shard, overrides and
        generation, no ``move_to``, and its old dedicated database (if any) as ``retired``.
        ``ValueError`` without a planned move."""
        if self.move_to is None:
            raise ValueError(f"tenant {self.tenant_id!r} has no planned move")
        move = self.move_to
        retired = (
            self.retired
            if self.tier is Tier.POOLED
            else RetiredDatabase(tier=self.tier, generation=self.generation)
        )
        return replace(
            self,
            tier=move.tier,
            shard=move.shard,
            overrides=move.overrides,
            generation=self.target_generation or 1,
            move_to=None,
            retired=retired,
        )


def tenant_stack_name(tenant_id: str, generation: int = 1) -> str:
    """``DbPatterns-Tenant-acme`` for generation 1 (every tenant's first dedicated database),
    ``DbPatterns-Tenant-acme--gen2`` for the next. A tenant id never holds two hyphens in a row, so
    ``--gen<N>`` never names another tenant's stack (``acme-gen2`` and ``acme-2`` are valid ids), not
    even on a case-insensitive file system (``cdk.out`` file names)."""
    if generation == 1:
        return f"{TENANT_STACK_PREFIX}{tenant_id}"
    return f"{TENANT_STACK_PREFIX}{tenant_id}--gen{generation}"


def database_id_of(tenant_id: str, tier: Tier, shard: int | None) -> str:
    """``pool-001`` for a pooled tenant of shard 1, ``std-<id>`` / ``ent-<id>`` for dedicated ones."""
    if tier is Tier.POOLED:
        if shard is None:
            raise ValueError(f"pooled tenant {tenant_id!r} has no shard")
        return pool_database_id(shard)
    prefix = "std" if tier is Tier.STANDARD else "ent"
    return f"{prefix}-{tenant_id}"


def pool_database_id(shard: int) -> str:
    """``pool-001`` for shard 1: sortable, and a valid RDS identifier."""
    return f"pool-{shard:03d}"


@dataclass(frozen=True, kw_only=True)
class TenantCatalog:
    """The validated catalog. Build it with :func:`parse_catalog` / :func:`load_catalog` (which check
    every rule) or with :mod:`.shards` (which keeps them)."""

    shard_capacity: int = MAX_SHARD_CAPACITY
    shards: tuple[ShardSpec, ...] = ()
    tenants: tuple[TenantSpec, ...] = ()
    _by_id: Mapping[str, TenantSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {t.tenant_id: t for t in self.tenants})

    def __len__(self) -> int:
        return len(self.tenants)

    def __iter__(self) -> Iterator[TenantSpec]:
        return iter(self.tenants)

    def __contains__(self, tenant_id: object) -> bool:
        return tenant_id in self._by_id

    def get(self, tenant_id: str) -> TenantSpec:
        """The tenant with ``tenant_id``; ``KeyError`` when it is not in the catalog."""
        return self._by_id[tenant_id]

    def of_tier(self, tier: Tier) -> tuple[TenantSpec, ...]:
        return tuple(t for t in self.tenants if t.tier is tier)

    def shard_members(self, shard: int) -> tuple[TenantSpec, ...]:
        return tuple(t for t in self.tenants if t.tier is Tier.POOLED and t.shard == shard)

    def planned_moves(self) -> tuple[TenantSpec, ...]:
        """The tenants with a ``move_to``, in catalog order."""
        return tuple(t for t in self.tenants if t.move_to is not None)

    def moving_in(self, shard: int) -> tuple[TenantSpec, ...]:
        """Tenants of other databases with a planned move into ``shard``."""
        return tuple(
            t
            for t in self.planned_moves()
            if t.move_to is not None and t.move_to.tier is Tier.POOLED and t.move_to.shard == shard
        )

    def shard_load(self) -> dict[int, int]:
        """Tenants per declared shard counting the planned moves into it (the room a new tenant has)."""
        load = self.shard_occupancy()
        for tenant in self.planned_moves():
            move = tenant.move_to
            if move is not None and move.tier is Tier.POOLED and move.shard is not None:
                load[move.shard] = load.get(move.shard, 0) + 1
        return load

    def shard_occupancy(self) -> dict[int, int]:
        """Tenants per declared shard (empty shards included, with 0)."""
        counts = {s.shard: 0 for s in self.shards}
        for tenant in self.tenants:
            if tenant.tier is Tier.POOLED and tenant.shard is not None:
                counts[tenant.shard] = counts.get(tenant.shard, 0) + 1
        return counts

    def shard(self, number: int) -> ShardSpec:
        for spec in self.shards:
            if spec.shard == number:
                return spec
        raise KeyError(number)

    def with_tenants(
        self, tenants: Sequence[TenantSpec], shards: Sequence[ShardSpec] | None = None
    ) -> TenantCatalog:
        """A copy with other tenants (and shards), validated like a parsed file."""
        candidate = replace(
            self, tenants=tuple(tenants), shards=tuple(self.shards if shards is None else shards)
        )
        validate_catalog(candidate, source="catalog")
        return candidate

    def with_move(self, tenant_id: str, move: TierMove | None) -> TenantCatalog:
        """A copy where ``tenant_id`` plans ``move`` (``None``: cancels its planned move)."""
        tenant = self._existing(tenant_id)
        return self._with_tenant(replace(tenant, move_to=move))

    def with_move_completed(self, tenant_id: str) -> TenantCatalog:
        """A copy where ``tenant_id``'s planned move has happened (:meth:`TenantSpec.after_move`):
        what the operator writes once the move's flip made the target the tenant's database."""
        tenant = self._existing(tenant_id)
        if tenant.move_to is None:
            raise PropValidationError(
                f"tenant catalog: tenant {tenant_id!r}", "move_to", None, "the tenant has no planned move"
            )
        return self._with_tenant(tenant.after_move())

    def with_retired_forgotten(self, tenant_id: str) -> TenantCatalog:
        """A copy where ``tenant_id`` no longer records a ``retired`` database: what the operator
        writes once that database's stack is deleted."""
        tenant = self._existing(tenant_id)
        if tenant.retired is None:
            raise PropValidationError(
                f"tenant catalog: tenant {tenant_id!r}", "retired", None, "the tenant has no retired database"
            )
        return self._with_tenant(replace(tenant, retired=None))

    def _existing(self, tenant_id: str) -> TenantSpec:
        if tenant_id not in self:
            raise PropValidationError(
                f"tenant catalog: tenant {tenant_id!r}", "id", tenant_id, "no such tenant in the catalog"
            )
        return self.get(tenant_id)

    def _with_tenant(self, changed: TenantSpec) -> TenantCatalog:
        return self.with_tenants([changed if t.tenant_id == changed.tenant_id else t for t in self.tenants])


# --------------------------------------------------------------------------------------------- parsing


def load_catalog(path: str | Path) -> TenantCatalog:
    """Read and validate the catalog file at ``path``."""
    source = Path(path)
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise PropValidationError(
            f"tenant catalog {source.name!r}",
            "file",
            f"line {error.lineno} column {error.colno}",
            f"valid JSON: {error.msg}",
        ) from None
    return parse_catalog(data, source=source.name)


def parse_catalog(data: Any, *, source: str = "tenants.json") -> TenantCatalog:
    """Turn the decoded JSON document into a :class:`TenantCatalog`, checking every rule."""
    where = f"tenant catalog {source!r}"
    _require_mapping(data, where, "document")
    _refuse_unknown(data, {"version", "shard_capacity", "shards", "tenants"}, where)
    version = data.get("version")
    if version != CATALOG_FORMAT_VERSION:
        raise PropValidationError(where, "version", version, f"allowed: {CATALOG_FORMAT_VERSION}")
    capacity = data.get("shard_capacity", MAX_SHARD_CAPACITY)
    _check_whole_number(capacity, where, "shard_capacity", 1, MAX_SHARD_CAPACITY)

    raw_shards = data.get("shards", [])
    _require_list(raw_shards, where, "shards")
    shards = tuple(_parse_shard(raw, f"{where} shards[{index}]") for index, raw in enumerate(raw_shards))

    raw_tenants = data.get("tenants")
    _require_list(raw_tenants, where, "tenants")
    tenants = tuple(_parse_tenant(raw, where, index) for index, raw in enumerate(raw_tenants))

    catalog = TenantCatalog(shard_capacity=capacity, shards=shards, tenants=tenants)
    validate_catalog(catalog, source=source)
    return catalog


def validate_catalog(catalog: TenantCatalog, *, source: str = "catalog") -> None:
    """The rules that span entries: unique ids and shards, declared shards, shard capacity, and the
    per-tier rules (again, so a catalog built in code is held to the same rules as a file)."""
    where = f"tenant catalog {source!r}"
    _check_whole_number(catalog.shard_capacity, where, "shard_capacity", 1, MAX_SHARD_CAPACITY)
    declared: set[int] = set()
    for spec in catalog.shards:
        shard_where = f"{where} shard {spec.shard}"
        _check_whole_number(spec.shard, shard_where, "shard", 1, None)
        if spec.shard in declared:
            raise PropValidationError(shard_where, "shard", spec.shard, "shard numbers must be unique")
        declared.add(spec.shard)
        _check_overrides(spec.overrides, shard_where, Tier.POOLED, is_shard=True)

    seen: set[str] = set()
    for tenant in catalog.tenants:
        tenant_where = f"{where} tenant {tenant.tenant_id!r}"
        check_tenant_id(tenant.tenant_id, where=f"{where} tenant", prop="id")
        if tenant.tenant_id in seen:
            raise PropValidationError(
                tenant_where, "id", tenant.tenant_id, "tenant ids must be unique in the catalog"
            )
        seen.add(tenant.tenant_id)
        _check_display_name(tenant.display_name, tenant_where)
        if not isinstance(tenant.tier, Tier):
            raise PropValidationError(tenant_where, "tier", tenant.tier, _TIER_RULE)
        _check_tenant_shard(tenant, tenant_where, declared)
        _check_overrides(tenant.overrides, tenant_where, tenant.tier, is_shard=False)
        _check_generation(tenant, tenant_where)
        if tenant.retired is not None:
            _check_retired(tenant, tenant_where)
        if tenant.move_to is not None:
            _check_move(tenant, tenant_where, declared)

    for shard, count in sorted(catalog.shard_load().items()):
        if count > catalog.shard_capacity:
            members = ", ".join(t.tenant_id for t in catalog.shard_members(shard))
            incoming = catalog.moving_in(shard)
            if incoming:
                members += "; moving in: " + ", ".join(t.tenant_id for t in incoming)
            raise PropValidationError(
                f"{where} shard {shard}",
                "tenants",
                f"{count} tenants ({members})",
                f"allowed: at most shard_capacity={catalog.shard_capacity} pooled tenants per shard",
            )


_TIER_RULE = "allowed: " + ", ".join(repr(t.value) for t in Tier)
_DEDICATED_TIER_RULE = "allowed: 'standard', 'enterprise' (a tenant's own database)"


def _parse_tenant(raw: Any, where: str, index: int) -> TenantSpec:
    entry_where = f"{where} tenants[{index}]"
    _require_mapping(raw, entry_where, "tenant")
    raw_id = raw.get("id")
    # Name the tenant in every later message once its id is known to be a slug.
    tenant_where = f"{where} tenant {raw_id!r}" if is_tenant_id(raw_id) else entry_where
    _refuse_unknown(
        raw, {"id", "name", "tier", "shard", "overrides", "move_to", "generation", "retired"}, tenant_where
    )
    tenant_id = check_tenant_id(raw_id, where=entry_where, prop="id")
    raw_tier = raw.get("tier")
    try:
        tier = Tier(raw_tier)
    except ValueError:
        raise PropValidationError(tenant_where, "tier", raw_tier, _TIER_RULE) from None
    display_name = raw.get("name")
    _check_display_name(display_name, tenant_where)
    shard = raw.get("shard")
    if shard is not None:
        _check_whole_number(shard, tenant_where, "shard", 1, None)
    overrides = _parse_overrides(raw.get("overrides"), tenant_where)
    raw_move = raw.get("move_to")
    move_to = None if raw_move is None else _parse_move(raw_move, tenant_where)
    generation = raw.get("generation", 1)
    _check_whole_number(generation, tenant_where, "generation", 1, None)
    raw_retired = raw.get("retired")
    retired = None if raw_retired is None else _parse_retired(raw_retired, tenant_where)
    return TenantSpec(
        tenant_id=tenant_id,
        display_name=display_name,
        tier=tier,
        shard=shard,
        overrides=overrides,
        move_to=move_to,
        generation=generation,
        retired=retired,
    )


def _parse_retired(raw: Any, where: str) -> RetiredDatabase:
    _require_mapping(raw, where, "retired")
    _refuse_unknown(raw, {"tier", "generation"}, where, prefix="retired.")
    raw_tier = raw.get("tier")
    try:
        tier = Tier(raw_tier)
    except ValueError:
        raise PropValidationError(where, "retired.tier", raw_tier, _DEDICATED_TIER_RULE) from None
    generation = raw.get("generation", 1)
    _check_whole_number(generation, where, "retired.generation", 1, None)
    return RetiredDatabase(tier=tier, generation=generation)


def _parse_move(raw: Any, where: str) -> TierMove:
    _require_mapping(raw, where, "move_to")
    _refuse_unknown(raw, {"tier", "shard", "overrides"}, where, prefix="move_to.")
    raw_tier = raw.get("tier")
    try:
        tier = Tier(raw_tier)
    except ValueError:
        raise PropValidationError(where, "move_to.tier", raw_tier, _TIER_RULE) from None
    shard = raw.get("shard")
    if shard is not None:
        _check_whole_number(shard, where, "move_to.shard", 1, None)
    overrides = _parse_overrides(raw.get("overrides"), f"{where} move_to")
    return TierMove(tier=tier, shard=shard, overrides=overrides)


def _parse_shard(raw: Any, where: str) -> ShardSpec:
    _require_mapping(raw, where, "shard")
    _refuse_unknown(raw, {"shard", "overrides"}, where)
    number = raw.get("shard")
    _check_whole_number(number, where, "shard", 1, None)
    return ShardSpec(
        shard=number, overrides=_parse_overrides(raw.get("overrides"), f"{where} (shard {number})")
    )


def _parse_overrides(raw: Any, where: str) -> DatabaseOverrides:
    if raw is None:
        return NO_OVERRIDES
    _require_mapping(raw, where, "overrides")
    _refuse_unknown(raw, set(NO_OVERRIDES.as_dict()), where, prefix="overrides.")
    return DatabaseOverrides(
        instance_class=raw.get("instance_class"),
        allocated_storage_gib=raw.get("allocated_storage_gib"),
        postgres_major_version=raw.get("postgres_major_version"),
        readers=raw.get("readers"),
    )


# ------------------------------------------------------------------------------------------ the rules


def _check_tenant_shard(tenant: TenantSpec, where: str, declared: set[int]) -> None:
    if tenant.tier is not Tier.POOLED:
        if tenant.shard is not None:
            raise PropValidationError(
                where,
                "shard",
                tenant.shard,
                f"only pooled tenants have a shard; a {tenant.tier.value} tenant has its own database",
            )
        return
    if tenant.shard is None:
        raise PropValidationError(
            where,
            "shard",
            None,
            "a pooled tenant needs its shard recorded (a shard never changes once given); add tenants with "
            "`python -m dbpatterns.runtime.tenancy.catalog_cli add`, which picks the lowest shard with room",
        )
    if tenant.shard not in declared:
        shown = ", ".join(str(s) for s in sorted(declared)) or "none"
        raise PropValidationError(
            where, "shard", tenant.shard, f"allowed: a shard declared under 'shards' ({shown})"
        )


def _check_move(tenant: TenantSpec, where: str, declared: set[int]) -> None:
    """``move_to``: a tier, another database that the catalog can provision, overrides of its tier."""
    move = tenant.move_to
    if not isinstance(move, TierMove):
        raise PropValidationError(where, "move_to", move, "allowed: a TierMove (tier, shard, overrides)")
    if not isinstance(move.tier, Tier):
        raise PropValidationError(where, "move_to.tier", move.tier, _TIER_RULE)
    if move.tier is Tier.POOLED:
        if move.shard is None:
            raise PropValidationError(
                where,
                "move_to.shard",
                None,
                "a move to the pooled tier names its target shard (a shard declared under 'shards')",
            )
        _check_whole_number(move.shard, where, "move_to.shard", 1, None)
        if move.shard not in declared:
            shown = ", ".join(str(s) for s in sorted(declared)) or "none"
            raise PropValidationError(
                where, "move_to.shard", move.shard, f"allowed: a shard declared under 'shards' ({shown})"
            )
    elif move.shard is not None:
        raise PropValidationError(
            where,
            "move_to.shard",
            move.shard,
            f"only a move to the pooled tier names a shard; a {move.tier.value} tenant has its own database",
        )
    if tenant.tier is not Tier.POOLED and move.tier is tenant.tier:
        raise PropValidationError(
            where,
            "move_to.tier",
            move.tier.value,
            f"the tenant is already on its own {tenant.tier.value} database {tenant.database_id}: a move "
            "needs another database (change its size with overrides instead)",
        )
    if tenant.tier is Tier.POOLED and move.tier is Tier.POOLED and move.shard == tenant.shard:
        raise PropValidationError(
            where,
            "move_to.shard",
            move.shard,
            f"the tenant already lives on shard {tenant.shard}: a move needs another database",
        )
    if tenant.retired is not None:
        retired = tenant.retired
        raise PropValidationError(
            where,
            "move_to",
            f"{tenant.tier.value} -> {move.tier.value}",
            f"the tenant's retired {retired.tier.value} database "
            f"{database_id_of(tenant.tenant_id, retired.tier, None)} (stack "
            f"{tenant_stack_name(tenant.tenant_id, retired.generation)}) may still exist, and a new target "
            "could reuse its database id or stack; delete that stack (after the move's "
            "previous.cleanup_after), then `catalog_cli forget-retired`, then plan the move",
        )
    if not isinstance(move.overrides, DatabaseOverrides):
        raise PropValidationError(where, "move_to.overrides", move.overrides, "allowed: DatabaseOverrides")
    _check_overrides(move.overrides, f"{where} move_to", move.tier, is_shard=False)


def _check_generation(tenant: TenantSpec, where: str) -> None:
    _check_whole_number(tenant.generation, where, "generation", 1, None)
    if tenant.tier is Tier.POOLED and tenant.generation != 1:
        raise PropValidationError(
            where,
            "generation",
            tenant.generation,
            "only standard and enterprise tenants have a generation (of their own database); a pooled "
            "tenant's next dedicated database is generation 1",
        )


def _check_retired(tenant: TenantSpec, where: str) -> None:
    retired = tenant.retired
    if not isinstance(retired, RetiredDatabase):
        raise PropValidationError(where, "retired", retired, "allowed: a RetiredDatabase (tier, generation)")
    if retired.tier not in (Tier.STANDARD, Tier.ENTERPRISE):
        shown = retired.tier.value if isinstance(retired.tier, Tier) else retired.tier
        raise PropValidationError(where, "retired.tier", shown, _DEDICATED_TIER_RULE)
    _check_whole_number(retired.generation, where, "retired.generation", 1, None)
    retired_id = database_id_of(tenant.tenant_id, retired.tier, None)
    retired_stack = tenant_stack_name(tenant.tenant_id, retired.generation)
    if retired_id == tenant.database_id or retired_stack == tenant.stack_name:
        raise PropValidationError(
            where,
            "retired",
            f"{retired.tier.value} generation {retired.generation}",
            f"a retired database is another than the tenant's own {tenant.database_id} "
            f"({tenant.stack_name}): neither its database id nor its stack may be the same",
        )


def _check_overrides(overrides: DatabaseOverrides, where: str, tier: Tier, *, is_shard: bool) -> None:
    if tier is Tier.POOLED and not is_shard:
        if not overrides.is_empty():
            given = {k: v for k, v in overrides.as_dict().items() if v is not None}
            first = next(iter(given))
            raise PropValidationError(
                where,
                f"overrides.{first}",
                given[first],
                "pooled tenants share their shard's instance and take no overrides; size the shard "
                "(shards[].overrides) or move the tenant to the standard tier",
            )
        return
    aurora = tier is Tier.ENTERPRISE
    if overrides.instance_class is not None:
        _check_instance_class(overrides.instance_class, where, aurora=aurora)
    if overrides.allocated_storage_gib is not None:
        if aurora:
            raise PropValidationError(
                where,
                "overrides.allocated_storage_gib",
                overrides.allocated_storage_gib,
                "not for enterprise tenants: Aurora storage grows automatically (up to 128 TiB)",
            )
        _check_whole_number(
            overrides.allocated_storage_gib,
            where,
            "overrides.allocated_storage_gib",
            MIN_STORAGE_GIB,
            MAX_STORAGE_GIB,
        )
    if overrides.postgres_major_version is not None and (
        isinstance(overrides.postgres_major_version, bool)
        or overrides.postgres_major_version not in POSTGRES_MAJOR_VERSIONS
    ):
        raise PropValidationError(
            where,
            "overrides.postgres_major_version",
            overrides.postgres_major_version,
            "allowed: " + ", ".join(str(v) for v in POSTGRES_MAJOR_VERSIONS),
        )
    if overrides.readers is not None:
        if not aurora:
            what = "a pooled shard" if is_shard else "a standard tenant"
            raise PropValidationError(
                where,
                "overrides.readers",
                overrides.readers,
                f"not for {what}: reporting readers come with the enterprise tier (Aurora reader endpoint)",
            )
        _check_whole_number(overrides.readers, where, "overrides.readers", 0, MAX_AURORA_READERS)


def _check_instance_class(value: Any, where: str, *, aurora: bool) -> None:
    prop = "overrides.instance_class"
    if value == "db.serverless":
        detail = (
            "Aurora Serverless v2 needs a capacity range the catalog does not model yet (db.serverless is "
            "not modelled); choose a provisioned class"
            if aurora
            else "db.serverless is an Aurora class; RDS needs e.g. 'db.m7g.large'"
        )
        raise PropValidationError(where, prop, value, detail)
    match = _INSTANCE_CLASS.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise PropValidationError(where, prop, value, "allowed: a DB instance class such as 'db.m7g.large'")
    family = match.group(1)
    if aurora:
        if value in _AURORA_BURSTABLE or _AURORA_FAMILIES.fullmatch(family):
            return
        raise PropValidationError(
            where,
            prop,
            value,
            "allowed for Aurora PostgreSQL: a memory-optimized class (db.r6g, db.r7g, db.r8g, db.x2g, ...) "
            "or db.t3/db.t4g medium or large; Aurora has no db.m classes, and db.serverless is not modelled",
        )


def _check_display_name(value: Any, where: str) -> None:
    if (
        not isinstance(value, str)
        or not value.strip()
        or len(value) > MAX_DISPLAY_NAME_LENGTH
        or _CONTROL_CHARACTERS.search(value)
    ):
        raise PropValidationError(
            where,
            "name",
            value,
            f"allowed: 1-{MAX_DISPLAY_NAME_LENGTH} printable characters, not only spaces",
        )


def _check_whole_number(value: Any, where: str, prop: str, minimum: int, maximum: int | None) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise PropValidationError(where, prop, value, "allowed: a whole number")
    if value < minimum or (maximum is not None and value > maximum):
        allowed = (
            f"allowed: {minimum} to {maximum}" if maximum is not None else f"allowed: at least {minimum}"
        )
        raise PropValidationError(where, prop, value, allowed)


def _require_mapping(value: Any, where: str, what: str) -> None:
    if not isinstance(value, Mapping):
        raise PropValidationError(where, what, value, "allowed: a JSON object")


def _require_list(value: Any, where: str, prop: str) -> None:
    if not isinstance(value, list):
        raise PropValidationError(where, prop, value, "allowed: a JSON array")


def _refuse_unknown(raw: Mapping[str, Any], known: set[str], where: str, *, prefix: str = "") -> None:
    unknown = sorted(set(raw) - known)
    if unknown:
        raise PropValidationError(
            where,
            f"{prefix}{unknown[0]}",
            raw[unknown[0]],
            "unknown field; allowed: " + ", ".join(sorted(known)),
        )


# ------------------------------------------------------------------------------------------- writing


def catalog_to_dict(catalog: TenantCatalog) -> dict[str, Any]:
    """The JSON document for ``catalog`` (fields at their defaults are left out)."""
    document: dict[str, Any] = {"version": CATALOG_FORMAT_VERSION}
    if catalog.shard_capacity != MAX_SHARD_CAPACITY:
        document["shard_capacity"] = catalog.shard_capacity
    document["shards"] = [_shard_to_dict(s) for s in catalog.shards]
    document["tenants"] = [_tenant_to_dict(t) for t in catalog.tenants]
    return document


def dump_catalog(catalog: TenantCatalog) -> str:
    """Deterministic JSON text: one tenant per line, so a diff shows exactly who was added."""
    document = catalog_to_dict(catalog)
    lines = ["{", f'  "version": {document["version"]},']
    if "shard_capacity" in document:
        lines.append(f'  "shard_capacity": {document["shard_capacity"]},')
    lines.append(_json_list("shards", document["shards"]) + ",")
    lines.append(_json_list("tenants", document["tenants"]))
    lines.append("}")
    return "\n".join(lines) + "\n"


def save_catalog(catalog: TenantCatalog, path: str | Path) -> None:
    Path(path).write_text(dump_catalog(catalog), encoding="utf-8")


def _json_list(name: str, items: list[dict[str, Any]]) -> str:
    if not items:
        return f'  "{name}": []'
    body = ",\n".join("    " + json.dumps(item, ensure_ascii=False) for item in items)
    return f'  "{name}": [\n{body}\n  ]'


def _shard_to_dict(spec: ShardSpec) -> dict[str, Any]:
    entry: dict[str, Any] = {"shard": spec.shard}
    if not spec.overrides.is_empty():
        entry["overrides"] = _overrides_to_dict(spec.overrides)
    return entry


def _tenant_to_dict(tenant: TenantSpec) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": tenant.tenant_id, "name": tenant.display_name, "tier": tenant.tier.value}
    if tenant.shard is not None:
        entry["shard"] = tenant.shard
    if not tenant.overrides.is_empty():
        entry["overrides"] = _overrides_to_dict(tenant.overrides)
    if tenant.generation != 1:
        entry["generation"] = tenant.generation
    if tenant.retired is not None:
        entry["retired"] = {"tier": tenant.retired.tier.value, "generation": tenant.retired.generation}
    if tenant.move_to is not None:
        move: dict[str, Any] = {"tier": tenant.move_to.tier.value}
        if tenant.move_to.shard is not None:
            move["shard"] = tenant.move_to.shard
        if not tenant.move_to.overrides.is_empty():
            move["overrides"] = _overrides_to_dict(tenant.move_to.overrides)
        entry["move_to"] = move
    return entry


def _overrides_to_dict(overrides: DatabaseOverrides) -> dict[str, Any]:
    return {k: v for k, v in overrides.as_dict().items() if v is not None}
