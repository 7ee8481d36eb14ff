"""Tier defaults per profile, overrides on top, and the fleet layout the quota check reads."""

from __future__ import annotations

import pytest

from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.rds.monitoring import supports_insights
from dbpatterns.runtime.tenancy.catalog import NO_OVERRIDES, DatabaseOverrides, Tier
from dbpatterns.runtime.tenancy.fleet import generate_fleet
from dbpatterns.runtime.tenancy.quotas import check_quotas
from dbpatterns.tenancy.tiers import database_settings, fleet_layout


@pytest.mark.parametrize("profile", list(DeploymentProfile), ids=lambda p: p.value)
def test_every_pooled_shard_default_has_performance_insights(profile: DeploymentProfile) -> None:
    settings = database_settings("shard", Tier.POOLED, NO_OVERRIDES, profile)
    assert supports_insights(settings.instance_type)


def test_overrides_win_over_the_profile_defaults() -> None:
    settings = database_settings(
        "acme",
        Tier.ENTERPRISE,
        DatabaseOverrides(instance_class="db.r8g.xlarge", readers=3, postgres_major_version=15),
        DeploymentProfile.SANDBOX,
    )
    assert (settings.instance_type.to_string(), settings.readers, settings.postgres_major_version) == (
        "r8g.xlarge",
        3,
        15,
    )
    assert settings.allocated_storage_gib is None
    assert settings.multi_az is None


def test_storage_ceiling_is_twice_the_initial_size_and_at_least_100_gib() -> None:
    small = database_settings("s", Tier.STANDARD, NO_OVERRIDES, DeploymentProfile.PRODUCTION)
    big = database_settings(
        "b", Tier.STANDARD, DatabaseOverrides(allocated_storage_gib=500), DeploymentProfile.PRODUCTION
    )
    assert (small.allocated_storage_gib, small.max_allocated_storage_gib) == (20, 100)
    assert (big.allocated_storage_gib, big.max_allocated_storage_gib) == (500, 1000)


def test_the_fleet_layout_shares_groups_so_only_instance_quotas_warn() -> None:
    warnings = check_quotas(generate_fleet(), fleet_layout(DeploymentProfile.PRODUCTION))
    assert {w.quota.name for w in warnings} == {"DB instances"}
    [instances] = warnings
    assert instances.needed == 9 + 80 + 20 + 20 + 10  # shards, standard, writers, 1 reader each + 10 extra
