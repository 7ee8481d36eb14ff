"""Does the fleet fit the default regional RDS quotas? If not, which quota to raise, and to what.

Counted per region, from the catalog:

- **DB instances** (Service Quotas code ``L-7B6409FD``, default 40, adjustable): one per pooled shard,
  one per standard tenant (a Multi-AZ instance deployment's standby does not count), and for each
  enterprise tenant its Aurora writer plus readers - Aurora instances count against this quota too.
  A planned move's new dedicated database and a ``retired`` one (until deleted) count as well.
- **DB clusters** (``L-952B80B8``, default 40, adjustable): one Aurora cluster per enterprise tenant.
- **Parameter groups** (default 50, adjustable), **DB cluster parameter groups** (default 50, *not*
  adjustable) and **DB subnet groups** (default 50, adjustable): depend on whether each database gets
  its own group (as ``dbpatterns.rds.RdsInstance`` and ``dbpatterns.aurora.AuroraCluster`` do today)
  or shares one per tier and engine version. :class:`FleetLayout` says which.
- **Total storage for all DB instances** (default 100,000 GiB, adjustable).

Source: "Quotas and constraints for Amazon RDS" in the RDS user guide (CHAP_Limits). Quotas are per
account *and* region; ``ap-south-1`` has lower defaults for some (20 DB instances), so pass the
region's actual values (``aws service-quotas get-service-quota``) when you know them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from dbpatterns.runtime.tenancy.catalog import (
    DEFAULT_POSTGRES_MAJOR_VERSION,
    TenantCatalog,
    TenantSpec,
    Tier,
)


@dataclass(frozen=True)
class Quota:
    name: str
    """The quota's name in the Service Quotas console (service "Amazon Relational Database Service")."""
    default: int
    adjustable: bool
    code: str | None = None
    """Service Quotas code, where we are sure of it."""


DB_INSTANCES = Quota("DB instances", 40, adjustable=True, code="L-7B6409FD")
DB_CLUSTERS = Quota("DB clusters", 40, adjustable=True, code="L-952B80B8")
PARAMETER_GROUPS = Quota("Parameter groups", 50, adjustable=True)
CLUSTER_PARAMETER_GROUPS = Quota("DB cluster parameter groups", 50, adjustable=False)
SUBNET_GROUPS = Quota("DB subnet groups", 50, adjustable=True)
TOTAL_STORAGE_GIB = Quota("Total storage for all DB instances", 100_000, adjustable=True)

ALL_QUOTAS = (
    DB_INSTANCES,
    DB_CLUSTERS,
    PARAMETER_GROUPS,
    CLUSTER_PARAMETER_GROUPS,
    SUBNET_GROUPS,
    TOTAL_STORAGE_GIB,
)

#: Headroom suggested above the computed need: room for replacements (a blue/green deployment or a
#: restore-and-swap briefly doubles an instance) and the next onboarding wave.
HEADROOM = 0.25


@dataclass(frozen=True, kw_only=True)
class FleetLayout:
    """What one database costs in RDS resources; the stacks decide it, the quota check reads it.

    The defaults describe the building blocks as they are: every database gets its own parameter
    group and subnet group, standard and pooled instances start at 20 GiB, and an enterprise cluster
    has one reader.
    """

    parameter_group_per_database: bool = True
    """Each RDS instance and Aurora cluster has its own (cluster) parameter group. When False, one per
    tier and PostgreSQL major version is shared."""

    subnet_group_per_database: bool = True
    """Each database has its own DB subnet group. When False, one shared group for the fleet."""

    enterprise_readers: int = 1
    """Aurora readers of an enterprise tenant without a ``readers`` override."""

    pooled_storage_gib: int = 20
    standard_storage_gib: int = 20
    """Initial storage of an RDS instance without an ``allocated_storage_gib`` override."""


@dataclass(frozen=True)
class FleetFootprint:
    db_instances: int
    db_clusters: int
    parameter_groups: int
    cluster_parameter_groups: int
    subnet_groups: int
    storage_gib: int

    def need(self, quota: Quota) -> int:
        return {
            DB_INSTANCES: self.db_instances,
            DB_CLUSTERS: self.db_clusters,
            PARAMETER_GROUPS: self.parameter_groups,
            CLUSTER_PARAMETER_GROUPS: self.cluster_parameter_groups,
            SUBNET_GROUPS: self.subnet_groups,
            TOTAL_STORAGE_GIB: self.storage_gib,
        }[quota]


@dataclass(frozen=True)
class QuotaWarning:
    quota: Quota
    needed: int
    limit: int

    @property
    def request(self) -> int:
        """What to ask for: the need plus :data:`HEADROOM`, rounded up to a multiple of 10."""
        return int(math.ceil(self.needed * (1 + HEADROOM) / 10.0) * 10)

    @property
    def message(self) -> str:
        head = f"RDS quota {self.quota.name!r}: the fleet needs {self.needed}, the region allows {self.limit}"
        if not self.quota.adjustable:
            return (
                f"{head}; this quota cannot be raised: share groups between databases "
                "(FleetLayout.parameter_group_per_database=False) or split the fleet across regions/accounts"
            )
        code = f" (quota code {self.quota.code})" if self.quota.code else ""
        return (
            f"{head}; request an increase to {self.request} in Service Quotas > Amazon Relational Database "
            f"Service > {self.quota.name}{code} before deploying"
        )


def fleet_footprint(catalog: TenantCatalog, layout: FleetLayout | None = None) -> FleetFootprint:
    layout = layout or FleetLayout()
    pooled_shards = catalog.shards  # an empty shard still has its instance
    # A planned move into a dedicated tier adds that tenant's new database while the old one still
    # runs (a move into the pooled tier reuses an existing shard).
    targets = [t.after_move() for t in catalog.planned_moves()]
    # A retired database (left by a completed move) runs until its stack is deleted by hand; the
    # catalog no longer knows its overrides, so it counts at the tier defaults.
    targets += [
        TenantSpec(tenant_id=t.tenant_id, display_name=t.display_name, tier=t.retired.tier)
        for t in catalog
        if t.retired is not None
    ]
    standard = [*catalog.of_tier(Tier.STANDARD), *(t for t in targets if t.tier is Tier.STANDARD)]
    enterprise = [*catalog.of_tier(Tier.ENTERPRISE), *(t for t in targets if t.tier is Tier.ENTERPRISE)]
    readers = sum(
        layout.enterprise_readers if t.overrides.readers is None else t.overrides.readers for t in enterprise
    )
    rds_databases = len(pooled_shards) + len(standard)
    if layout.parameter_group_per_database:
        parameter_groups = rds_databases
        cluster_parameter_groups = len(enterprise)
    else:
        # One group per PostgreSQL major version, shared by the pooled and standard instances (their
        # settings are the same); one cluster group per major version for the Aurora clusters.
        rds_versions = {_major(s.overrides.postgres_major_version) for s in pooled_shards}
        rds_versions |= {_major(t.overrides.postgres_major_version) for t in standard}
        parameter_groups = len(rds_versions)
        cluster_parameter_groups = len({_major(t.overrides.postgres_major_version) for t in enterprise})
    storage = sum(s.overrides.allocated_storage_gib or layout.pooled_storage_gib for s in pooled_shards)
    storage += sum(t.overrides.allocated_storage_gib or layout.standard_storage_gib for t in standard)
    return FleetFootprint(
        db_instances=rds_databases + len(enterprise) + readers,
        db_clusters=len(enterprise),
        parameter_groups=parameter_groups,
        cluster_parameter_groups=cluster_parameter_groups,
        subnet_groups=(rds_databases + len(enterprise)) if layout.subnet_group_per_database else 1,
        storage_gib=storage,
    )


def check_quotas(
    catalog: TenantCatalog,
    layout: FleetLayout | None = None,
    limits: Mapping[str, int] | None = None,
) -> list[QuotaWarning]:
    """One warning per quota the fleet exceeds. ``limits`` maps quota names to the region's actual
    values (default: the AWS defaults)."""
    footprint = fleet_footprint(catalog, layout)
    given = dict(limits or {})
    warnings = []
    for quota in ALL_QUOTAS:
        limit = given.get(quota.name, quota.default)
        needed = footprint.need(quota)
        if needed > limit:
            warnings.append(QuotaWarning(quota, needed, limit))
    return warnings


def _major(version: int | None) -> int:
    return DEFAULT_POSTGRES_MAJOR_VERSION if version is None else version
