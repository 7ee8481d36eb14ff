"""A tier move planned in the catalog (``move_to``): the app provisions the target database and the
move's replication; once the move has flipped and the operator writes the new tier in, the redeploy
changes nothing of the tenant's new database but its directory resource's tenant list.

A pooled tenant (bluth, shard 1) upgrades to a standard and to an enterprise database, each synthesized
twice: with the move planned, and after ``complete-move`` (``TenantCatalog.with_move_completed``).
So does a dedicated tenant moving between its own databases (standard -> enterprise from generation
1, enterprise -> standard from generation 2), whose target is its next generation's stack.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.runtime.tenancy.catalog import catalog_to_dict
from stacks.tenancy_stacks import database_count, move_stack_id, pool_stack_id, tenant_stack_id
from tests.tenancy.support import Synthesized, catalog_of, synthesized

pytestmark = pytest.mark.synth

POOL = pool_stack_id(1)
TARGET = tenant_stack_id("bluth")
MOVE = move_stack_id("bluth")
DIRECTORY_ENTRY = "Custom::TenantDirectoryEntry"

#: The upgrades under test: the target tier and the overrides the catalog gives the new database.
UPGRADES: dict[str, dict[str, Any]] = {
    "standard": {"tier": "standard", "overrides": {"allocated_storage_gib": 100}},
    "enterprise": {"tier": "enterprise", "overrides": {"readers": 1}},
}
DATABASE_IDS = {"standard": "std-bluth", "enterprise": "ent-bluth"}


def _planned(target: str) -> dict[str, Any]:
    return {
        "version": 1,
        "shards": [{"shard": 1}],
        "tenants": [
            {"id": "bluth", "name": "Bluth", "tier": "pooled", "shard": 1, "move_to": UPGRADES[target]},
            {"id": "vandelay", "name": "Vandelay", "tier": "pooled", "shard": 1},
        ],
    }


def _completed(target: str) -> dict[str, Any]:
    return catalog_to_dict(catalog_of(_planned(target)).with_move_completed("bluth"))


@pytest.fixture(scope="module", params=sorted(UPGRADES))
def upgrade(request: pytest.FixtureRequest) -> tuple[str, Synthesized, Synthesized]:
    target: str = request.param
    planned = synthesized(DeploymentProfile.PRODUCTION, json.dumps(_planned(target)), nag=False)
    completed = synthesized(DeploymentProfile.PRODUCTION, json.dumps(_completed(target)), nag=False)
    return target, planned, completed


def _entry(template: dict[str, Any]) -> dict[str, Any]:
    (entry,) = [r for r in template["Resources"].values() if r["Type"] == DIRECTORY_ENTRY]
    properties: dict[str, Any] = entry["Properties"]
    return properties


def test_completing_the_move_writes_the_target_tier_and_drops_move_to() -> None:
    tenant = next(t for t in _completed("standard")["tenants"] if t["id"] == "bluth")
    assert tenant == {
        "id": "bluth",
        "name": "Bluth",
        "tier": "standard",
        "overrides": {"allocated_storage_gib": 100},
    }


def test_a_planned_upgrade_adds_the_target_stack_and_the_move_stack(
    upgrade: tuple[str, Synthesized, Synthesized],
) -> None:
    _, planned, _ = upgrade
    assert {TARGET, MOVE, POOL} <= set(planned.templates)
    assert {POOL, TARGET} <= planned.dependencies(MOVE)


def test_the_target_registers_its_database_but_not_the_moving_tenant(
    upgrade: tuple[str, Synthesized, Synthesized],
) -> None:
    target, planned, _ = upgrade
    entry = _entry(planned.templates[TARGET])
    assert entry["Tenants"] == []
    assert entry["Database"]["database_id"] == DATABASE_IDS[target]
    assert entry["Database"]["tier"] == target
    # The tenant still lives on (and is registered by) its shard until the flip.
    assert _entry(planned.templates[POOL])["Tenants"] == ["bluth", "vandelay"]


def test_the_move_replicates_from_the_shard_to_the_new_database(
    upgrade: tuple[str, Synthesized, Synthesized],
) -> None:
    target, planned, _ = upgrade
    (config,) = [
        r for r in planned.templates[MOVE]["Resources"].values() if r["Type"] == "AWS::DMS::ReplicationConfig"
    ]
    identifier = config["Properties"]["ReplicationConfigIdentifier"]
    assert identifier == f"tenant-move-bluth-pool-001-to-{DATABASE_IDS[target]}"


def test_after_the_catalog_edit_the_new_database_keeps_its_stack_and_every_resource(
    upgrade: tuple[str, Synthesized, Synthesized],
) -> None:
    _, planned, completed = upgrade
    before, after = planned.templates[TARGET], completed.templates[TARGET]
    assert _entry(before)["Tenants"] == []
    assert _entry(after)["Tenants"] == ["bluth"]
    before_resources = copy.deepcopy(before["Resources"])
    _entry({"Resources": before_resources})["Tenants"] = ["bluth"]
    # Same logical IDs, types and properties: the redeploy only registers the tenant.
    assert before_resources == after["Resources"]
    assert before.get("Description") == after.get("Description")


def test_after_the_catalog_edit_the_move_stack_is_gone_and_the_shard_lets_the_tenant_go(
    upgrade: tuple[str, Synthesized, Synthesized],
) -> None:
    _, planned, completed = upgrade
    assert MOVE not in completed.templates
    assert _entry(completed.templates[POOL])["Tenants"] == ["vandelay"]
    before = copy.deepcopy(planned.templates[POOL]["Resources"])
    _entry({"Resources": before})["Tenants"] = ["vandelay"]
    assert before == completed.templates[POOL]["Resources"]


def test_a_planned_upgrades_new_database_counts_against_the_per_database_grants() -> None:
    planned = catalog_of(_planned("standard"))

    assert database_count(planned) == 2  # shard 1 and std-bluth
    assert database_count(catalog_of(_completed("standard"))) == 2
    assert database_count(planned.with_move("bluth", None)) == 1


# ------------------------------------------------------------- standard <-> enterprise (generations)

#: Moves between a tenant's own databases: (source tier, source generation) -> target tier, with the
#: stacks before and after and the overrides of the new database.
SWAPS: dict[str, dict[str, Any]] = {
    "standard-to-enterprise": {
        "tenant": {"tier": "standard", "overrides": {"allocated_storage_gib": 50}},
        "move_to": {"tier": "enterprise", "overrides": {"readers": 1}},
        "source": (tenant_stack_id("bluth"), "std-bluth"),
        "target": (tenant_stack_id("bluth", 2), "ent-bluth"),
    },
    "enterprise-to-standard": {
        "tenant": {"tier": "enterprise", "generation": 2},
        "move_to": {"tier": "standard", "overrides": {"instance_class": "db.m7g.large"}},
        "source": (tenant_stack_id("bluth", 2), "ent-bluth"),
        "target": (tenant_stack_id("bluth", 3), "std-bluth"),
    },
}


def _swap_planned(name: str) -> dict[str, Any]:
    swap = SWAPS[name]
    bluth = {"id": "bluth", "name": "Bluth", **swap["tenant"], "move_to": swap["move_to"]}
    return {
        "version": 1,
        "shards": [{"shard": 1}],
        "tenants": [bluth, {"id": "vandelay", "name": "Vandelay", "tier": "pooled", "shard": 1}],
    }


def _swap_completed(name: str) -> dict[str, Any]:
    return catalog_to_dict(catalog_of(_swap_planned(name)).with_move_completed("bluth"))


@pytest.fixture(scope="module", params=sorted(SWAPS))
def swap(request: pytest.FixtureRequest) -> tuple[str, Synthesized, Synthesized]:
    name: str = request.param
    planned = synthesized(DeploymentProfile.PRODUCTION, json.dumps(_swap_planned(name)), nag=False)
    completed = synthesized(DeploymentProfile.PRODUCTION, json.dumps(_swap_completed(name)), nag=False)
    return name, planned, completed


def test_completing_a_swap_writes_the_next_generation_and_retires_the_source() -> None:
    tenant = next(t for t in _swap_completed("enterprise-to-standard")["tenants"] if t["id"] == "bluth")
    assert tenant == {
        "id": "bluth",
        "name": "Bluth",
        "tier": "standard",
        "overrides": {"instance_class": "db.m7g.large"},
        "generation": 3,
        "retired": {"tier": "enterprise", "generation": 2},
    }


def test_a_planned_swap_runs_the_source_and_the_target_in_their_own_stacks(
    swap: tuple[str, Synthesized, Synthesized],
) -> None:
    name, planned, _ = swap
    (source_stack, source_id), (target_stack, target_id) = SWAPS[name]["source"], SWAPS[name]["target"]
    assert {source_stack, target_stack, MOVE} <= set(planned.templates)
    assert {source_stack, target_stack} <= planned.dependencies(MOVE)
    assert _entry(planned.templates[source_stack])["Database"]["database_id"] == source_id
    assert _entry(planned.templates[source_stack])["Tenants"] == ["bluth"]
    target = _entry(planned.templates[target_stack])
    assert (target["Database"]["database_id"], target["Tenants"]) == (target_id, [])
    assert target["Database"]["stack_name"] == target_stack


def test_the_swap_replicates_from_the_old_dedicated_database_to_the_new(
    swap: tuple[str, Synthesized, Synthesized],
) -> None:
    name, planned, _ = swap
    (config,) = [
        r for r in planned.templates[MOVE]["Resources"].values() if r["Type"] == "AWS::DMS::ReplicationConfig"
    ]
    source_id, target_id = SWAPS[name]["source"][1], SWAPS[name]["target"][1]
    assert (
        config["Properties"]["ReplicationConfigIdentifier"] == f"tenant-move-bluth-{source_id}-to-{target_id}"
    )


def test_after_the_swap_the_new_database_keeps_its_stack_and_every_resource(
    swap: tuple[str, Synthesized, Synthesized],
) -> None:
    name, planned, completed = swap
    target_stack = SWAPS[name]["target"][0]
    before, after = planned.templates[target_stack], completed.templates[target_stack]
    assert _entry(after)["Tenants"] == ["bluth"]
    before_resources = copy.deepcopy(before["Resources"])
    _entry({"Resources": before_resources})["Tenants"] = ["bluth"]
    assert before_resources == after["Resources"]
    # Same logical IDs, types and properties: the redeploy only registers the tenant (outputs only
    # the move stack read may go: weak references).
    assert before.get("Description") == after.get("Description")


def test_after_the_swap_the_source_and_move_stacks_leave_the_app(
    swap: tuple[str, Synthesized, Synthesized],
) -> None:
    name, planned, completed = swap
    source_stack = SWAPS[name]["source"][0]
    assert set(planned.templates) - set(completed.templates) == {source_stack, MOVE}
    assert set(completed.templates) <= set(planned.templates)
