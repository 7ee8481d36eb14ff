"""A synthetic fleet for benchmarks and scale tests: the issue's 1,000 tenants by default
(900 pooled, 80 standard, 20 enterprise), deterministic so two runs compare like with like."""

from __future__ import annotations

from dbpatterns.runtime.tenancy.catalog import (
    MAX_SHARD_CAPACITY,
    DatabaseOverrides,
    ShardSpec,
    TenantCatalog,
    TenantSpec,
    Tier,
    validate_catalog,
)


def generate_fleet(
    *, pooled: int = 900, standard: int = 80, enterprise: int = 20, shard_capacity: int = MAX_SHARD_CAPACITY
) -> TenantCatalog:
    """A valid catalog with the given number of tenants per tier.

    Pooled tenants fill shards in order (``free-0001`` .. in shard 1, and so on), which is what
    :func:`dbpatterns.runtime.tenancy.shards.add_tenant` would produce one tenant at a time. Every
    fifth standard tenant has a storage override and every other enterprise tenant two readers, so
    the overrides' code paths are exercised at scale too.
    """
    for name, count in (("pooled", pooled), ("standard", standard), ("enterprise", enterprise)):
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 99_999:
            raise ValueError(f"generate_fleet: {name}={count!r}; allowed: 0-99999 tenants")
    tenants: list[TenantSpec] = []
    for i in range(pooled):
        tenants.append(
            TenantSpec(
                tenant_id=f"free-{i + 1:05d}",
                display_name=f"Free tenant {i + 1}",
                tier=Tier.POOLED,
                shard=i // shard_capacity + 1,
            )
        )
    for i in range(standard):
        storage = 100 if i % 5 == 4 else None
        tenants.append(
            TenantSpec(
                tenant_id=f"growth-{i + 1:05d}",
                display_name=f"Growth tenant {i + 1}",
                tier=Tier.STANDARD,
                overrides=DatabaseOverrides(allocated_storage_gib=storage),
            )
        )
    for i in range(enterprise):
        readers = 2 if i % 2 == 1 else None
        tenants.append(
            TenantSpec(
                tenant_id=f"corp-{i + 1:05d}",
                display_name=f"Enterprise tenant {i + 1}",
                tier=Tier.ENTERPRISE,
                overrides=DatabaseOverrides(readers=readers),
            )
        )
    shard_count = -(-pooled // shard_capacity)
    catalog = TenantCatalog(
        shard_capacity=shard_capacity,
        shards=tuple(ShardSpec(shard=n) for n in range(1, shard_count + 1)),
        tenants=tuple(tenants),
    )
    validate_catalog(catalog, source="generated fleet")
    return catalog
