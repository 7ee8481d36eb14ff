"""Building the tenancy stacks the way ``stacks/app_builder.py`` will: a network stack of the
primary region (standing in for the per-region network stack), then
:func:`stacks.tenancy_stacks.tenancy_stacks`."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import App, Stack
from aws_cdk import aws_ec2 as ec2

from dbpatterns.common.network import IsolatedNetwork, IsolatedNetworkProps
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.runtime.tenancy.catalog import TenantCatalog, parse_catalog
from dbpatterns.tenancy.tenant_api import ConnectScope
from stacks.app_builder import acknowledge_no_backup_plan, add_compliance_checks
from stacks.base import ReferenceStack
from stacks.config import AppConfig
from stacks.tenancy_stacks import (
    SHARED_STACK_ID,
    move_stack_id,
    pool_stack_id,
    tenancy_stacks,
    tenant_stack_id,
)
from tests.support.synth import new_app

NETWORK_STACK_ID = "TestNetwork"
SHARED = SHARED_STACK_ID
POOL = pool_stack_id(1)
STANDARD = tenant_stack_id("initech")
ENTERPRISE = tenant_stack_id("acme")
MOVE = move_stack_id("initech")

#: One of each: a shard with two tenants, a standard tenant on PostgreSQL 16 with more storage (with a
#: planned move to the shard: consolidation, standard -> pooled), an enterprise tenant with two readers.
CATALOG_DOCUMENT: dict[str, Any] = {
    "version": 1,
    "shards": [{"shard": 1}],
    "tenants": [
        {"id": "acme", "name": "Acme", "tier": "enterprise", "overrides": {"readers": 2}},
        {
            "id": "initech",
            "name": "Initech",
            "tier": "standard",
            "overrides": {"allocated_storage_gib": 50, "postgres_major_version": 16},
            "move_to": {"tier": "pooled", "shard": 1},
        },
        {"id": "bluth", "name": "Bluth", "tier": "pooled", "shard": 1},
        {"id": "vandelay", "name": "Vandelay", "tier": "pooled", "shard": 1},
    ],
}


def catalog_of(document: dict[str, Any] | None = None) -> TenantCatalog:
    """The test catalog, or ``document`` parsed like a catalog file."""
    return parse_catalog(document or CATALOG_DOCUMENT, source="test catalog")


def without_moves(catalog: TenantCatalog) -> TenantCatalog:
    """``catalog`` with every planned move cancelled."""
    for tenant in catalog.planned_moves():
        catalog = catalog.with_move(tenant.tenant_id, None)
    return catalog


def network_stack(app: App, config: AppConfig) -> tuple[Stack, IsolatedNetwork]:
    stack = ReferenceStack(app, NETWORK_STACK_ID, env=config.env())
    network = IsolatedNetwork(
        stack,
        "Network",
        IsolatedNetworkProps(
            profile=config.profile,
            interface_endpoints={"SecretsManager": ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER},
        ),
    )
    return stack, network


def build(
    app: App,
    profile: DeploymentProfile,
    catalog: TenantCatalog,
    connect_scope: ConnectScope = ConnectScope.PER_DATABASE,
    *,
    moves: bool = True,
) -> list[Stack]:
    """The stacks of ``catalog``; ``moves=False`` drops its planned tier moves first."""
    config = AppConfig(profile=profile)
    _, network = network_stack(app, config)
    return tenancy_stacks(
        app,
        config,
        catalog if moves else without_moves(catalog),
        network.vpc,
        network.interface_endpoints["SecretsManager"],
        connect_scope=connect_scope,
    )


@dataclass(frozen=True)
class Synthesized:
    directory: Path
    templates: dict[str, dict[str, Any]]
    manifest: dict[str, Any]

    def dependencies(self, stack_name: str) -> set[str]:
        return set(self.manifest["artifacts"][stack_name].get("dependencies", []))


@functools.cache
def synthesized(
    profile: DeploymentProfile, document: str | None = None, nag: bool = True, moves: bool = True
) -> Synthesized:
    """The test catalog's stacks (or ``document``'s), synthesized once per session and profile;
    ``moves=False`` without its planned tier moves."""
    app = new_app()
    catalog = catalog_of(json.loads(document) if document else None)
    stacks = build(app, profile, catalog, moves=moves)
    if nag:
        acknowledge_no_backup_plan(stacks)  # as the app without its backup showcase
        add_compliance_checks(app)
    assembly = app.synth()
    directory = Path(assembly.directory)
    manifest = json.loads((directory / "manifest.json").read_text())
    templates = {
        stack.stack_name: json.loads((directory / stack.template_file).read_text())
        for stack in assembly.stacks
    }
    return Synthesized(directory, templates, manifest)
