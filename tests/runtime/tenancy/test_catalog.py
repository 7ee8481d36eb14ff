"""The catalog file's rules: every refusal names the tenant (or shard) and the field."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dbpatterns.errors import PropValidationError
from dbpatterns.runtime.tenancy.catalog import (
    DatabaseOverrides,
    RetiredDatabase,
    TenantCatalog,
    Tier,
    TierMove,
    catalog_to_dict,
    dump_catalog,
    load_catalog,
    parse_catalog,
    tenant_stack_name,
)
from dbpatterns.runtime.tenancy.ids import is_tenant_id

REPO_ROOT = Path(__file__).resolve().parents[3]

VALID: dict[str, Any] = {
    "version": 1,
    "shard_capacity": 3,
    "shards": [{"shard": 1}, {"shard": 2, "overrides": {"instance_class": "db.m7g.xlarge"}}],
    "tenants": [
        {
            "id": "acme",
            "name": "Acme",
            "tier": "enterprise",
            "overrides": {"readers": 2, "instance_class": "db.r7g.large"},
        },
        {"id": "globex", "name": "Globex", "tier": "standard", "overrides": {"allocated_storage_gib": 200}},
        {"id": "initech", "name": "Initech", "tier": "pooled", "shard": 1},
        {"id": "hooli", "name": "Hooli", "tier": "pooled", "shard": 2},
    ],
}


def with_tenant(index: int, **changes: Any) -> dict[str, Any]:
    document = copy.deepcopy(VALID)
    document["tenants"][index].update(changes)
    return document


def refusal(document: Any) -> PropValidationError:
    with pytest.raises(PropValidationError) as caught:
        parse_catalog(document, source="t.json")
    return caught.value


def test_a_valid_document_becomes_typed_frozen_entries() -> None:
    catalog = parse_catalog(VALID)

    acme = catalog.get("acme")
    assert acme.tier is Tier.ENTERPRISE
    assert acme.overrides == DatabaseOverrides(readers=2, instance_class="db.r7g.large")
    assert acme.database_id == "ent-acme"
    assert catalog.get("globex").database_id == "std-globex"
    assert catalog.get("initech").database_id == "pool-001"
    assert catalog.shard_occupancy() == {1: 1, 2: 1}
    with pytest.raises(AttributeError):
        acme.tier = Tier.POOLED  # type: ignore[misc]


def test_the_repository_sample_catalog_is_valid_and_has_every_tier() -> None:
    catalog = load_catalog(REPO_ROOT / "tenants.json")

    assert {tier: len(catalog.of_tier(tier)) >= 2 for tier in Tier} == dict.fromkeys(Tier, True)


def test_rejects_a_duplicate_tenant_id_naming_it() -> None:
    document = with_tenant(1, id="acme")

    error = refusal(document)

    assert (error.prop, error.value) == ("id", "acme")
    assert "tenant 'acme'" in str(error)
    assert "unique" in str(error)


@pytest.mark.parametrize(
    "bad_id", ["Acme", "ac", "a" * 41, "1acme", "acme-", "ac--me", "ac_me", "acme\n", "x' OR 1=1", 7]
)
def test_rejects_a_tenant_id_that_is_not_a_slug(bad_id: Any) -> None:
    error = refusal(with_tenant(0, id=bad_id))

    assert error.prop == "id"
    assert error.value == bad_id
    assert "tenants[0]" in error.construct


def test_rejects_an_unknown_tier_naming_the_tenant_and_the_allowed_tiers() -> None:
    error = refusal(with_tenant(2, tier="gold"))

    assert (error.construct, error.prop, error.value) == (
        "tenant catalog 't.json' tenant 'initech'",
        "tier",
        "gold",
    )
    assert "'pooled', 'standard', 'enterprise'" in str(error)


@pytest.mark.parametrize(
    ("index", "overrides", "prop", "reason"),
    [
        (2, {"instance_class": "db.m7g.large"}, "overrides.instance_class", "pooled tenants share"),
        (1, {"readers": 1}, "overrides.readers", "enterprise tier"),
        (0, {"allocated_storage_gib": 100}, "overrides.allocated_storage_gib", "Aurora storage grows"),
        (0, {"instance_class": "db.m7g.large"}, "overrides.instance_class", "no db.m classes"),
        (0, {"instance_class": "db.serverless"}, "overrides.instance_class", "db.serverless is not modelled"),
        (1, {"instance_class": "db.serverless"}, "overrides.instance_class", "Aurora class"),
        (1, {"instance_class": "m7g.large"}, "overrides.instance_class", "such as 'db.m7g.large'"),
        (1, {"allocated_storage_gib": 10}, "overrides.allocated_storage_gib", "20 to 65536"),
        (1, {"allocated_storage_gib": 20.5}, "overrides.allocated_storage_gib", "whole number"),
        (1, {"postgres_major_version": 14}, "overrides.postgres_major_version", "15, 16, 17"),
        (0, {"readers": 16}, "overrides.readers", "0 to 15"),
        (0, {"readers": True}, "overrides.readers", "whole number"),
        (1, {"instance_type": "db.m7g.large"}, "overrides.instance_type", "unknown field"),
    ],
)
def test_rejects_overrides_that_make_no_sense_for_the_tier(
    index: int, overrides: dict[str, Any], prop: str, reason: str
) -> None:
    document = copy.deepcopy(VALID)
    document["tenants"][index]["overrides"] = overrides
    tenant_id = document["tenants"][index]["id"]

    error = refusal(document)

    assert error.prop == prop
    assert f"tenant {tenant_id!r}" in error.construct
    assert reason in str(error)


def test_rejects_a_pooled_tenant_without_a_recorded_shard_and_says_how_to_add_one() -> None:
    document = copy.deepcopy(VALID)
    del document["tenants"][2]["shard"]

    error = refusal(document)

    assert (error.prop, error.value) == ("shard", None)
    assert "catalog_cli add" in str(error)


def test_rejects_a_shard_that_is_not_declared() -> None:
    error = refusal(with_tenant(2, shard=9))

    assert (error.prop, error.value) == ("shard", 9)
    assert "declared under 'shards' (1, 2)" in str(error)


def test_rejects_a_shard_on_a_dedicated_tenant() -> None:
    error = refusal(with_tenant(1, shard=1))

    assert error.prop == "shard"
    assert "standard tenant has its own database" in str(error)


def test_rejects_a_shard_over_capacity_listing_its_tenants() -> None:
    document = copy.deepcopy(VALID)
    document["tenants"] += [
        {"id": f"extra-{n}", "name": f"Extra {n}", "tier": "pooled", "shard": 1} for n in range(3)
    ]

    error = refusal(document)

    assert error.construct == "tenant catalog 't.json' shard 1"
    assert error.prop == "tenants"
    assert "4 tenants (initech, extra-0, extra-1, extra-2)" in str(error)
    assert "shard_capacity=3" in str(error)


@pytest.mark.parametrize(
    ("change", "prop"),
    [
        ({"shard_capacity": 101}, "shard_capacity"),
        ({"shard_capacity": 0}, "shard_capacity"),
        ({"version": 2}, "version"),
        ({"tenant": []}, "tenant"),
        ({"shards": [{"shard": 1}, {"shard": 1}]}, "shard"),
        ({"shards": [{"shard": 1, "overrides": {"readers": 1}}, {"shard": 2}]}, "overrides.readers"),
        ({"tenants": {"acme": {}}}, "tenants"),
    ],
)
def test_rejects_bad_top_level_fields(change: dict[str, Any], prop: str) -> None:
    document = copy.deepcopy(VALID)
    document.update(change)

    assert refusal(document).prop == prop


@pytest.mark.parametrize("name", ["", "   ", "x" * 101, "tab\there", None, 5])
def test_rejects_a_bad_display_name(name: Any) -> None:
    error = refusal(with_tenant(1, name=name))

    assert (error.construct, error.prop) == ("tenant catalog 't.json' tenant 'globex'", "name")


def test_rejects_invalid_json_with_its_position(tmp_path: Path) -> None:
    path = tmp_path / "tenants.json"
    path.write_text('{"version": 1,\n "tenants": [}', encoding="utf-8")

    with pytest.raises(PropValidationError) as caught:
        load_catalog(path)

    assert caught.value.value == "line 2 column 14"


def test_dump_writes_one_tenant_per_line_and_reads_back_equal(tmp_path: Path) -> None:
    catalog = parse_catalog(VALID)

    text = dump_catalog(catalog)

    assert sum('"id":' in line for line in text.splitlines()) == len(catalog)
    assert parse_catalog(json.loads(text)) == catalog
    assert json.loads(text) == catalog_to_dict(catalog)


_tenant_ids = st.from_regex(r"[a-z][a-z0-9]{2,8}(-[a-z0-9]{1,4})?", fullmatch=True)


@settings(max_examples=100, deadline=None)
@given(
    ids=st.lists(_tenant_ids, min_size=1, max_size=30, unique=True),
    tiers=st.lists(st.sampled_from(list(Tier)), min_size=30, max_size=30),
    readers=st.lists(st.one_of(st.none(), st.integers(0, 15)), min_size=30, max_size=30),
)
def test_any_valid_catalog_survives_a_round_trip(
    ids: list[str], tiers: list[Tier], readers: list[int | None]
) -> None:
    tenants = []
    for n, tenant_id in enumerate(ids):
        entry: dict[str, Any] = {"id": tenant_id, "name": tenant_id.title(), "tier": tiers[n].value}
        if tiers[n] is Tier.POOLED:
            entry["shard"] = 1 + n % 2
        elif tiers[n] is Tier.ENTERPRISE and readers[n] is not None:
            entry["overrides"] = {"readers": readers[n]}
        tenants.append(entry)
    catalog = parse_catalog({"version": 1, "shards": [{"shard": 1}, {"shard": 2}], "tenants": tenants})

    assert parse_catalog(json.loads(dump_catalog(catalog))) == catalog
    assert all(is_tenant_id(t.tenant_id) for t in catalog)


def test_a_catalog_built_in_code_is_held_to_the_same_rules() -> None:
    catalog = parse_catalog(VALID)

    with pytest.raises(PropValidationError, match="unique"):
        catalog.with_tenants([*catalog.tenants, catalog.get("acme")])
    assert isinstance(catalog, TenantCatalog)


# ------------------------------------------------------------------------------------ planned moves


def test_a_planned_move_names_the_target_database_and_reads_back_equal() -> None:
    document = with_tenant(2, move_to={"tier": "standard", "overrides": {"allocated_storage_gib": 100}})
    document["tenants"][0]["move_to"] = {"tier": "pooled", "shard": 2}

    catalog = parse_catalog(document)

    initech = catalog.get("initech")
    assert initech.move_to == TierMove(
        tier=Tier.STANDARD, overrides=DatabaseOverrides(allocated_storage_gib=100)
    )
    assert (initech.database_id, initech.target_database_id) == ("pool-001", "std-initech")
    assert catalog.get("acme").target_database_id == "pool-002"
    assert catalog.get("globex").target_database_id is None
    assert [t.tenant_id for t in catalog.planned_moves()] == ["acme", "initech"]
    assert [t.tenant_id for t in catalog.moving_in(2)] == ["acme"]
    assert catalog.shard_occupancy() == {1: 1, 2: 1}
    assert catalog.shard_load() == {1: 1, 2: 2}
    assert parse_catalog(json.loads(dump_catalog(catalog))) == catalog


def test_completing_a_move_takes_the_targets_tier_shard_and_overrides() -> None:
    catalog = parse_catalog(with_tenant(1, move_to={"tier": "pooled", "shard": 2}))

    done = catalog.with_move_completed("globex").get("globex")

    assert (done.tier, done.shard, done.overrides, done.move_to) == (
        Tier.POOLED,
        2,
        DatabaseOverrides(),
        None,
    )
    assert done.database_id == "pool-002"


def test_completing_or_cancelling_needs_a_planned_move_of_a_known_tenant() -> None:
    catalog = parse_catalog(VALID)

    with pytest.raises(PropValidationError, match="no planned move"):
        catalog.with_move_completed("acme")
    with pytest.raises(PropValidationError, match="no such tenant"):
        catalog.with_move("nobody", None)
    planned = catalog.with_move("initech", TierMove(tier=Tier.ENTERPRISE))
    assert planned.with_move("initech", None) == catalog


@pytest.mark.parametrize(
    ("index", "move_to", "prop", "reason"),
    [
        # the same database
        (1, {"tier": "standard"}, "move_to.tier", "already on its own standard database std-globex"),
        (0, {"tier": "enterprise"}, "move_to.tier", "already on its own enterprise database"),
        (2, {"tier": "pooled", "shard": 1}, "move_to.shard", "already lives on shard 1"),
        # shards
        (2, {"tier": "pooled"}, "move_to.shard", "names its target shard"),
        (1, {"tier": "pooled", "shard": 3}, "move_to.shard", "declared under 'shards' (1, 2)"),
        (1, {"tier": "pooled", "shard": 0}, "move_to.shard", "at least 1"),
        (2, {"tier": "standard", "shard": 2}, "move_to.shard", "only a move to the pooled tier"),
        # overrides of the target tier
        (
            1,
            {"tier": "pooled", "shard": 1, "overrides": {"instance_class": "db.m7g.large"}},
            "overrides.instance_class",
            "pooled tenants share",
        ),
        (2, {"tier": "standard", "overrides": {"readers": 1}}, "overrides.readers", "enterprise tier"),
        (
            2,
            {"tier": "enterprise", "overrides": {"allocated_storage_gib": 100}},
            "overrides.allocated_storage_gib",
            "Aurora storage grows",
        ),
        (
            2,
            {"tier": "enterprise", "overrides": {"instance_class": "db.m7g.large"}},
            "overrides.instance_class",
            "no db.m classes",
        ),
        (2, {"tier": "standard", "overrides": {"size": 1}}, "overrides.size", "unknown field"),
        # shape
        (2, {"tier": "gold"}, "move_to.tier", "'pooled', 'standard', 'enterprise'"),
        (2, {}, "move_to.tier", "'pooled', 'standard', 'enterprise'"),
        (2, {"tier": "standard", "when": "now"}, "move_to.when", "unknown field"),
        (2, "standard", "move_to", "a JSON object"),
    ],
)
def test_rejects_a_move_the_fleet_cannot_provision(index: int, move_to: Any, prop: str, reason: str) -> None:
    document = with_tenant(index, move_to=move_to)
    tenant_id = document["tenants"][index]["id"]

    error = refusal(document)

    assert error.prop == prop
    assert f"tenant {tenant_id!r}" in error.construct
    assert reason in str(error)


def test_rejects_a_move_into_a_full_shard_naming_the_tenant_moving_in() -> None:
    document = with_tenant(1, move_to={"tier": "pooled", "shard": 1})
    document["tenants"] += [
        {"id": f"extra-{n}", "name": f"Extra {n}", "tier": "pooled", "shard": 1} for n in range(2)
    ]

    error = refusal(document)

    assert error.construct == "tenant catalog 't.json' shard 1"
    assert "4 tenants (initech, extra-0, extra-1; moving in: globex)" in str(error)


def test_a_move_built_in_code_is_held_to_the_same_rules() -> None:
    catalog = parse_catalog(VALID)

    with pytest.raises(PropValidationError, match="already on its own standard database"):
        catalog.with_move("globex", TierMove(tier=Tier.STANDARD))
    with pytest.raises(PropValidationError, match=r"move_to\.shard"):
        catalog.with_move("initech", TierMove(tier=Tier.POOLED, shard=9))


# ------------------------------------------------- standard <-> enterprise: generations and retired


def test_a_standard_tenant_plans_enterprise_as_its_next_generation() -> None:
    catalog = parse_catalog(with_tenant(1, move_to={"tier": "enterprise", "overrides": {"readers": 1}}))

    globex = catalog.get("globex")
    assert (globex.generation, globex.stack_name) == (1, "DbPatterns-Tenant-globex")
    assert (globex.target_database_id, globex.target_generation) == ("ent-globex", 2)
    done = catalog.with_move_completed("globex").get("globex")
    assert (done.tier, done.overrides, done.generation, done.move_to) == (
        Tier.ENTERPRISE,
        DatabaseOverrides(readers=1),
        2,
        None,
    )
    assert done.retired == RetiredDatabase(tier=Tier.STANDARD, generation=1)
    assert (done.database_id, done.stack_name) == ("ent-globex", "DbPatterns-Tenant-globex--gen2")


def test_an_enterprise_tenant_moves_back_to_standard_once_its_retired_database_is_forgotten() -> None:
    upgraded = parse_catalog(with_tenant(1, move_to={"tier": "enterprise"})).with_move_completed("globex")

    with pytest.raises(PropValidationError, match=r"retired standard database std-globex \(stack Db"):
        upgraded.with_move("globex", TierMove(tier=Tier.STANDARD))
    forgotten = upgraded.with_retired_forgotten("globex")
    back = forgotten.with_move("globex", TierMove(tier=Tier.STANDARD)).get("globex")

    assert (back.target_database_id, back.target_generation) == ("std-globex", 3)
    done = back.after_move()
    assert (done.tier, done.generation, done.retired) == (
        Tier.STANDARD,
        3,
        RetiredDatabase(tier=Tier.ENTERPRISE, generation=2),
    )


def test_a_pooled_tenants_new_database_is_generation_1_and_a_dedicated_source_is_retired() -> None:
    catalog = parse_catalog(with_tenant(2, move_to={"tier": "standard"}))
    upgraded = catalog.get("initech")
    assert upgraded.target_generation == 1
    assert upgraded.after_move().stack_name == "DbPatterns-Tenant-initech"
    assert upgraded.after_move().retired is None

    consolidated = parse_catalog(
        with_tenant(0, generation=4, move_to={"tier": "pooled", "shard": 1})
    ).with_move_completed("acme")

    acme = consolidated.get("acme")
    assert (acme.tier, acme.shard, acme.generation, acme.stack_name) == (Tier.POOLED, 1, 1, None)
    assert acme.retired == RetiredDatabase(tier=Tier.ENTERPRISE, generation=4)
    assert acme.target_generation is None


def test_generation_and_retired_read_back_equal_and_default_to_absent() -> None:
    document = with_tenant(0, generation=3, retired={"tier": "standard", "generation": 2})
    catalog = parse_catalog(document)

    assert catalog.get("acme").stack_name == "DbPatterns-Tenant-acme--gen3"
    assert parse_catalog(json.loads(dump_catalog(catalog))) == catalog
    entries = {t["id"]: t for t in catalog_to_dict(catalog)["tenants"]}
    assert (entries["acme"]["generation"], entries["acme"]["retired"]) == (
        3,
        {"tier": "standard", "generation": 2},
    )
    assert "generation" not in entries["globex"]
    assert "retired" not in entries["globex"]


def test_a_later_generation_never_takes_another_tenants_stack_name() -> None:
    # "acme-2" and "acme-gen2" are valid tenant ids; "--" never appears in one.
    later = tenant_stack_name("acme", 2)
    assert later == "DbPatterns-Tenant-acme--gen2"
    assert later.lower() not in {tenant_stack_name("acme-2").lower(), tenant_stack_name("acme-gen2").lower()}
    assert tenant_stack_name("acme") == "DbPatterns-Tenant-acme"


@pytest.mark.parametrize(
    ("index", "changes", "prop", "reason"),
    [
        (1, {"generation": 0}, "generation", "at least 1"),
        (1, {"generation": "2"}, "generation", "a whole number"),
        (1, {"generation": True}, "generation", "a whole number"),
        (2, {"generation": 2}, "generation", "only standard and enterprise tenants"),
        (1, {"retired": "standard"}, "retired", "a JSON object"),
        (1, {"retired": {"tier": "pooled"}}, "retired.tier", "'standard', 'enterprise'"),
        (1, {"retired": {"tier": "enterprise", "generation": 0}}, "retired.generation", "at least 1"),
        (1, {"retired": {"tier": "enterprise", "when": 1}}, "retired.when", "unknown field"),
        (1, {"retired": {"tier": "standard", "generation": 2}}, "retired", "its database id nor its stack"),
        (1, {"retired": {"tier": "enterprise"}}, "retired", "its database id nor its stack"),
        (
            2,
            {"retired": {"tier": "standard"}, "move_to": {"tier": "pooled", "shard": 2}},
            "move_to",
            "forget-retired",
        ),
    ],
)
def test_rejects_a_bad_generation_or_retired_database(
    index: int, changes: dict[str, Any], prop: str, reason: str
) -> None:
    document = with_tenant(index, **changes)
    tenant_id = document["tenants"][index]["id"]

    error = refusal(document)

    assert error.prop == prop
    assert f"tenant {tenant_id!r}" in error.construct
    assert reason in str(error)


def test_forgetting_needs_a_retired_database() -> None:
    with pytest.raises(PropValidationError, match="no retired database"):
        parse_catalog(VALID).with_retired_forgotten("acme")
