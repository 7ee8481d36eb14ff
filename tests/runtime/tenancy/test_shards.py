"""Shard assignment: stable (adding or removing a tenant never moves another one) and bounded
(no shard above its capacity), proven over random onboarding/offboarding sequences."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dbpatterns.errors import PropValidationError
from dbpatterns.runtime.tenancy.catalog import TenantCatalog, Tier, parse_catalog
from dbpatterns.runtime.tenancy.shards import add_tenant, remove_tenant, shard_with_room

_operations = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.sampled_from(list(Tier))),
        st.tuples(st.just("remove"), st.integers(min_value=0, max_value=10_000)),
    ),
    max_size=120,
)


@settings(max_examples=150, deadline=None)
@given(capacity=st.integers(min_value=1, max_value=5), operations=_operations)
def test_no_tenant_ever_moves_and_no_shard_overflows(
    capacity: int, operations: list[tuple[str, object]]
) -> None:
    catalog = TenantCatalog(shard_capacity=capacity)
    serial = 0
    for kind, argument in operations:
        before = {t.tenant_id: (t.tier, t.shard) for t in catalog}
        if kind == "add":
            assert isinstance(argument, Tier)
            serial += 1
            new_id = f"tenant-{serial}"
            room = shard_with_room(catalog)
            catalog = add_tenant(catalog, tenant_id=new_id, display_name=new_id, tier=argument)
            added = catalog.get(new_id)
            if argument is Tier.POOLED:
                # The lowest shard with room, or a brand-new shard numbered after every existing one.
                expected = (
                    room if room is not None else max((s.shard for s in catalog.shards[:-1]), default=0) + 1
                )
                assert added.shard == expected
            else:
                assert added.shard is None
        elif before:
            victim = sorted(before)[int(str(argument)) % len(before)]
            catalog = remove_tenant(catalog, victim)
            assert victim not in catalog
        after = {t.tenant_id: (t.tier, t.shard) for t in catalog}
        assert {k: after[k] for k in before if k in after} == {k: v for k, v in before.items() if k in after}
        assert all(count <= capacity for count in catalog.shard_occupancy().values())


def test_a_hole_left_by_a_departed_tenant_is_refilled_before_a_new_shard_is_declared() -> None:
    catalog = TenantCatalog(shard_capacity=2)
    for name in ("a-one", "a-two", "a-three"):
        catalog = add_tenant(catalog, tenant_id=name, display_name=name, tier=Tier.POOLED)
    assert [t.shard for t in catalog] == [1, 1, 2]

    catalog = remove_tenant(catalog, "a-one")
    catalog = add_tenant(catalog, tenant_id="a-four", display_name="Four", tier=Tier.POOLED)

    assert catalog.get("a-four").shard == 1
    assert [s.shard for s in catalog.shards] == [1, 2]


def test_removing_the_last_tenant_of_a_shard_keeps_the_shard_declared() -> None:
    catalog = add_tenant(
        TenantCatalog(shard_capacity=1), tenant_id="solo", display_name="Solo", tier=Tier.POOLED
    )

    catalog = remove_tenant(catalog, "solo")

    assert catalog.shard_occupancy() == {1: 0}


def test_rejects_adding_an_existing_tenant_and_removing_an_unknown_one() -> None:
    catalog = add_tenant(TenantCatalog(), tenant_id="acme", display_name="Acme", tier=Tier.STANDARD)

    with pytest.raises(PropValidationError, match="unique"):
        add_tenant(catalog, tenant_id="acme", display_name="Acme again", tier=Tier.POOLED)
    with pytest.raises(PropValidationError, match="no such tenant"):
        remove_tenant(catalog, "globex")


def test_rejects_an_invalid_new_tenant_without_changing_anything() -> None:
    catalog = TenantCatalog()

    with pytest.raises(PropValidationError) as caught:
        add_tenant(catalog, tenant_id="Bad Id", display_name="Bad", tier=Tier.POOLED)

    assert caught.value.prop == "id"
    assert len(catalog) == 0
    assert catalog.shards == ()


def test_a_new_pooled_tenant_does_not_take_a_place_a_planned_move_reserved() -> None:
    catalog = parse_catalog(
        {
            "version": 1,
            "shard_capacity": 2,
            "shards": [{"shard": 1}],
            "tenants": [
                {"id": "bluth", "name": "Bluth", "tier": "pooled", "shard": 1},
                {
                    "id": "initech",
                    "name": "Initech",
                    "tier": "standard",
                    "move_to": {"tier": "pooled", "shard": 1},
                },
            ],
        }
    )

    added = add_tenant(catalog, tenant_id="umbrella", display_name="Umbrella", tier=Tier.POOLED)

    assert added.get("umbrella").shard == 2
