"""What each tier's database looks like per deployment profile, and the catalog's overrides on top.

=================  ===================================  =====================================
tier               sandbox                              production
=================  ===================================  =====================================
pooled shard       db.t4g.medium, Single-AZ, 20 GiB     db.m7g.large, Multi-AZ, 100 GiB
standard tenant    db.t4g.micro, Single-AZ, 20 GiB      db.m7g.large, Multi-AZ, 20 GiB
enterprise tenant  Aurora db.t4g.medium writer +        Aurora db.r7g.large writer +
                   1 reader                             1 reader (another AZ)
=================  ===================================  =====================================

Every tier keeps 7 days of automated backups with point-in-time restore, in both profiles; storage
autoscales up to twice the initial size (at least 100 GiB). The sandbox pooled shard is a
``db.t4g.medium`` rather than a micro: Performance Insights / Database Insights - the noisy-neighbour
view every pooled instance must have - does not run on t-class micro and small instances. The
sandbox is removable (no deletion protection, DESTROY), production snapshots and protects; that part
is decided by the RDS and Aurora constructs from the same profile.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aws_cdk import aws_ec2 as ec2

from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.validation import PropValidationError
from dbpatterns.rds.shared import check_instance_type
from dbpatterns.runtime.tenancy.catalog import MAX_STORAGE_GIB, DatabaseOverrides, Tier
from dbpatterns.runtime.tenancy.quotas import FleetLayout
from dbpatterns.tenancy.engines import major_version

#: Storage autoscaling ceiling: twice the initial size, at least this much.
MIN_STORAGE_CEILING_GIB = 100
#: Aurora readers an enterprise tenant gets without a ``readers`` override (its reporting endpoint).
DEFAULT_ENTERPRISE_READERS = 1

_CLASS = re.compile(r"^db\.(?P<name>[a-z0-9-]+\.[a-z0-9]+)$")


def _instance(name: str) -> ec2.InstanceType:
    return ec2.InstanceType(name)


@dataclass(frozen=True)
class TierDefaults:
    """The profile's defaults for one tier (``None`` where the tier has no such setting)."""

    instance_class: str
    multi_az: bool | None
    allocated_storage_gib: int | None
    readers: int | None


_DEFAULTS: dict[tuple[Tier, DeploymentProfile], TierDefaults] = {
    (Tier.POOLED, DeploymentProfile.SANDBOX): TierDefaults("db.t4g.medium", False, 20, None),
    (Tier.POOLED, DeploymentProfile.PRODUCTION): TierDefaults("db.m7g.large", True, 100, None),
    (Tier.STANDARD, DeploymentProfile.SANDBOX): TierDefaults("db.t4g.micro", False, 20, None),
    (Tier.STANDARD, DeploymentProfile.PRODUCTION): TierDefaults("db.m7g.large", True, 20, None),
    (Tier.ENTERPRISE, DeploymentProfile.SANDBOX): TierDefaults(
        "db.t4g.medium", None, None, DEFAULT_ENTERPRISE_READERS
    ),
    (Tier.ENTERPRISE, DeploymentProfile.PRODUCTION): TierDefaults(
        "db.r7g.large", None, None, DEFAULT_ENTERPRISE_READERS
    ),
}


def tier_defaults(tier: Tier, profile: DeploymentProfile) -> TierDefaults:
    return _DEFAULTS[(tier, profile)]


@dataclass(frozen=True)
class DatabaseSettings:
    """A tenant database's settings once the profile's defaults and the catalog's overrides are
    combined."""

    tier: Tier
    instance_type: ec2.InstanceType
    postgres_major_version: int
    multi_az: bool | None
    """RDS only (``None`` for Aurora, which places its reader in another AZ)."""
    allocated_storage_gib: int | None
    """RDS only."""
    max_allocated_storage_gib: int | None
    """RDS only: the storage autoscaling ceiling."""
    readers: int | None
    """Aurora only."""


def database_settings(
    where: str, tier: Tier, overrides: DatabaseOverrides, profile: DeploymentProfile
) -> DatabaseSettings:
    """The settings of a database of ``tier``; errors name ``where`` and the override field."""
    defaults = tier_defaults(tier, profile)
    instance_class = overrides.instance_class or defaults.instance_class
    match = _CLASS.fullmatch(instance_class) if isinstance(instance_class, str) else None
    if match is None:
        raise PropValidationError(
            where,
            "overrides.instance_class",
            instance_class,
            "allowed: a DB instance class such as 'db.m7g.large'",
        )
    name = match.group("name")
    # The catalog checked the shape of the class; aws-cdk-lib must also know its family and size.
    check_instance_type(where, _instance(name), "overrides.instance_class")
    storage = ceiling = None
    if tier is not Tier.ENTERPRISE:
        storage = overrides.allocated_storage_gib or defaults.allocated_storage_gib
        assert storage is not None
        ceiling = min(MAX_STORAGE_GIB, max(MIN_STORAGE_CEILING_GIB, 2 * storage))
        if ceiling <= storage:
            raise PropValidationError(
                where,
                "overrides.allocated_storage_gib",
                storage,
                f"allowed: at most {MAX_STORAGE_GIB - 1} (storage autoscaling needs room above it)",
            )
    readers = None
    if tier is Tier.ENTERPRISE:
        readers = defaults.readers if overrides.readers is None else overrides.readers
    return DatabaseSettings(
        tier=tier,
        instance_type=_instance(name),
        postgres_major_version=major_version(overrides.postgres_major_version),
        multi_az=defaults.multi_az,
        allocated_storage_gib=storage,
        max_allocated_storage_gib=ceiling,
        readers=readers,
    )


def fleet_layout(profile: DeploymentProfile) -> FleetLayout:
    """What the tenancy stacks build, for :func:`dbpatterns.runtime.tenancy.quotas.check_quotas`: groups
    shared per major version, one shared subnet group, and the profile's default sizes."""
    pooled = tier_defaults(Tier.POOLED, profile)
    standard = tier_defaults(Tier.STANDARD, profile)
    enterprise = tier_defaults(Tier.ENTERPRISE, profile)
    assert pooled.allocated_storage_gib is not None
    assert standard.allocated_storage_gib is not None
    assert enterprise.readers is not None
    return FleetLayout(
        parameter_group_per_database=False,
        subnet_group_per_database=False,
        enterprise_readers=enterprise.readers,
        pooled_storage_gib=pooled.allocated_storage_gib,
        standard_storage_gib=standard.allocated_storage_gib,
    )
