"""Onboarding a tenant changes only its own stack and the catalog.

The test catalog minus one tenant of each tier (the enterprise tenant gone entirely, the standard
tenant on PostgreSQL 16 - the only database of that version - gone, one pooled tenant fewer) is
synthesized next to the full one: the shared stack's template must be identical, the shard's template
must differ only in its tenant list, and the two new tenants simply add their stacks. Both without the
sample tier move (whose replication reads outputs of its two databases); planning a move leaves the
shared stack unchanged too.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from dbpatterns.common.profile import DeploymentProfile
from tests.tenancy.support import (
    CATALOG_DOCUMENT,
    ENTERPRISE,
    MOVE,
    POOL,
    SHARED,
    STANDARD,
    Synthesized,
    synthesized,
)

pytestmark = pytest.mark.synth


@pytest.fixture(scope="module")
def before() -> Synthesized:
    document: dict[str, Any] = copy.deepcopy(CATALOG_DOCUMENT)
    document["tenants"] = [t for t in document["tenants"] if t["id"] not in ("acme", "initech", "vandelay")]
    return synthesized(DeploymentProfile.PRODUCTION, json.dumps(document), nag=False, moves=False)


@pytest.fixture(scope="module")
def after() -> Synthesized:
    return synthesized(DeploymentProfile.PRODUCTION, nag=False, moves=False)


def test_the_shared_stack_does_not_change(before: Synthesized, after: Synthesized) -> None:
    assert before.templates[SHARED] == after.templates[SHARED]


def test_planning_a_move_leaves_the_shared_stack_unchanged(
    after: Synthesized, production: Synthesized
) -> None:
    assert set(production.templates) - set(after.templates) == {MOVE}
    assert after.templates[SHARED] == production.templates[SHARED]


def test_the_shard_changes_only_in_its_tenant_list(before: Synthesized, after: Synthesized) -> None:
    old, new = before.templates[POOL], after.templates[POOL]
    registration = next(k for k, r in new["Resources"].items() if r["Type"] == "Custom::TenantDirectoryEntry")
    assert old["Resources"][registration]["Properties"]["Tenants"] == ["bluth"]
    assert new["Resources"][registration]["Properties"]["Tenants"] == ["bluth", "vandelay"]
    old["Resources"][registration]["Properties"]["Tenants"] = ["bluth", "vandelay"]
    assert old == new


def test_new_dedicated_tenants_only_add_their_stacks(before: Synthesized, after: Synthesized) -> None:
    assert set(after.templates) - set(before.templates) == {STANDARD, ENTERPRISE}
