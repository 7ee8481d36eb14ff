"""Adding and removing tenants without ever moving another one.

Stability comes from the catalog itself: each pooled tenant's shard is written in the file, and
nothing here changes an existing tenant's entry. A new pooled tenant goes to the lowest-numbered
declared shard with room (so holes left by departed tenants are refilled before a shard is added);
when every shard is full a new shard is declared with the next number. Removing a tenant removes its
entry only; its shard stays declared (an empty shard's database is deleted only when an operator
removes the shard from the file, never as a side effect of offboarding).

Why not consistent hashing: it keeps most tenants in place but not all (adding a shard moves about
1/N of them) and cannot promise a capacity bound without a recorded exception list - which is this
design with extra steps. A moved pooled tenant means copying its rows between databases, so "never"
is the only acceptable number.
"""

from __future__ import annotations

from dbpatterns.errors import PropValidationError
from dbpatterns.runtime.tenancy.catalog import (
    NO_OVERRIDES,
    DatabaseOverrides,
    ShardSpec,
    TenantCatalog,
    TenantSpec,
    Tier,
)


def shard_with_room(catalog: TenantCatalog) -> int | None:
    """The lowest-numbered declared shard holding fewer than ``shard_capacity`` tenants (counting the
    planned moves into it), if any."""
    occupancy = catalog.shard_load()
    for shard in sorted(occupancy):
        if occupancy[shard] < catalog.shard_capacity:
            return shard
    return None


def add_tenant(
    catalog: TenantCatalog,
    *,
    tenant_id: str,
    display_name: str,
    tier: Tier,
    overrides: DatabaseOverrides = NO_OVERRIDES,
) -> TenantCatalog:
    """A new catalog with the tenant appended (pooled tenants get a shard); others are untouched.

    Raises :class:`PropValidationError` for a duplicate id or anything the catalog rules refuse.
    """
    if tenant_id in catalog:
        raise PropValidationError(
            f"tenant catalog: tenant {tenant_id!r}",
            "id",
            tenant_id,
            "tenant ids must be unique in the catalog",
        )
    shards = list(catalog.shards)
    shard: int | None = None
    if tier is Tier.POOLED:
        shard = shard_with_room(catalog)
        if shard is None:
            shard = max((s.shard for s in shards), default=0) + 1
            shards.append(ShardSpec(shard=shard))
    tenant = TenantSpec(
        tenant_id=tenant_id, display_name=display_name, tier=tier, shard=shard, overrides=overrides
    )
    return catalog.with_tenants([*catalog.tenants, tenant], shards)


def remove_tenant(catalog: TenantCatalog, tenant_id: str) -> TenantCatalog:
    """A new catalog without ``tenant_id``; every other entry and every shard stays as it was."""
    if tenant_id not in catalog:
        raise PropValidationError(
            f"tenant catalog: tenant {tenant_id!r}", "id", tenant_id, "no such tenant in the catalog"
        )
    return catalog.with_tenants([t for t in catalog.tenants if t.tenant_id != tenant_id])
