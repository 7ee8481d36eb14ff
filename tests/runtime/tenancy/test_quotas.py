"""Regional RDS quota warnings name the Service Quotas quota and say what to request."""

from __future__ import annotations

import pytest

from dbpatterns.runtime.tenancy.catalog import TenantCatalog, parse_catalog
from dbpatterns.runtime.tenancy.fleet import generate_fleet
from dbpatterns.runtime.tenancy.quotas import (
    CLUSTER_PARAMETER_GROUPS,
    FleetLayout,
    check_quotas,
    fleet_footprint,
)


def test_the_issue_fleet_of_1000_tenants_has_the_expected_shape() -> None:
    fleet = generate_fleet()

    assert len(fleet) == 1000
    assert len(fleet.shards) == 9
    assert max(fleet.shard_occupancy().values()) == 100


def test_the_1000_tenant_fleet_needs_more_db_instances_than_the_default_and_says_what_to_request() -> None:
    fleet = generate_fleet()

    warnings = {
        w.quota.name: w
        for w in check_quotas(
            fleet, FleetLayout(parameter_group_per_database=False, subnet_group_per_database=False)
        )
    }

    # 9 shards + 80 standard + 20 Aurora writers + 30 readers (10 clusters with 1, 10 with 2).
    assert set(warnings) == {"DB instances"}
    warning = warnings["DB instances"]
    assert (warning.needed, warning.limit, warning.request) == (139, 40, 180)
    assert (
        "Service Quotas > Amazon Relational Database Service > DB instances (quota code L-7B6409FD)"
        in warning.message
    )
    assert "request an increase to 180" in warning.message


def test_one_group_per_database_also_exceeds_the_parameter_and_subnet_group_quotas() -> None:
    warnings = {w.quota.name for w in check_quotas(generate_fleet())}

    assert warnings == {"DB instances", "Parameter groups", "DB subnet groups"}


def test_db_clusters_warn_past_40_enterprise_tenants_and_a_fixed_quota_says_it_cannot_be_raised() -> None:
    fleet = generate_fleet(pooled=0, standard=0, enterprise=60)

    warnings = {w.quota: w for w in check_quotas(fleet)}

    assert warnings[next(q for q in warnings if q.name == "DB clusters")].needed == 60
    fixed = warnings[CLUSTER_PARAMETER_GROUPS]
    assert "cannot be raised" in fixed.message
    assert "share groups" in fixed.message


def test_the_regions_actual_limits_replace_the_defaults() -> None:
    fleet = generate_fleet()
    layout = FleetLayout(parameter_group_per_database=False, subnet_group_per_database=False)

    assert check_quotas(fleet, layout, {"DB instances": 200}) == []
    assert [w.limit for w in check_quotas(fleet, layout, {"DB instances": 20})] == [20]


def test_a_small_catalog_fits_and_an_empty_shard_still_counts_as_an_instance() -> None:
    catalog = parse_catalog({"version": 1, "shards": [{"shard": 1}], "tenants": []})

    assert check_quotas(catalog) == []
    assert fleet_footprint(catalog).db_instances == 1
    assert fleet_footprint(TenantCatalog()).db_instances == 0


@pytest.mark.parametrize(("default_readers", "instances"), [(0, 4), (3, 7)])
def test_aurora_writers_and_readers_count_as_db_instances(default_readers: int, instances: int) -> None:
    # Two clusters: the first takes the default reader count, the second overrides it with 2.
    catalog = generate_fleet(pooled=0, standard=0, enterprise=2)

    footprint = fleet_footprint(catalog, FleetLayout(enterprise_readers=default_readers))

    assert (footprint.db_instances, footprint.db_clusters) == (instances, 2)


def test_a_planned_move_into_a_dedicated_tier_counts_the_new_database_while_both_run() -> None:
    tenants = [
        {"id": "bluth", "name": "Bluth", "tier": "pooled", "shard": 1, "move_to": {"tier": "standard"}},
        {"id": "initech", "name": "Initech", "tier": "standard", "move_to": {"tier": "pooled", "shard": 1}},
    ]
    catalog = parse_catalog({"version": 1, "shards": [{"shard": 1}], "tenants": tenants})

    # The shard, initech's instance and bluth's new one; initech's move reuses the shard.
    assert fleet_footprint(catalog).db_instances == 3


def test_a_standard_to_enterprise_move_and_a_retired_database_count_until_deleted() -> None:
    tenants = [
        {"id": "acme", "name": "Acme", "tier": "standard", "move_to": {"tier": "enterprise"}},
        {"id": "hooli", "name": "Hooli", "tier": "pooled", "shard": 1, "retired": {"tier": "enterprise"}},
    ]
    catalog = parse_catalog({"version": 1, "shards": [{"shard": 1}], "tenants": tenants})
    layout = FleetLayout(enterprise_readers=1)

    footprint = fleet_footprint(catalog, layout)

    # The shard and std-acme; ent-acme (planned) and hooli's retired ent-hooli, writer + 1 reader each.
    assert (footprint.db_instances, footprint.db_clusters) == (2 + 2 * 2, 2)
    forgotten = catalog.with_retired_forgotten("hooli")
    assert fleet_footprint(forgotten, layout).db_clusters == 1
