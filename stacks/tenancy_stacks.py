"""Use case 3's stacks from the tenant catalog: the shared stack, one stack per pooled shard and one
per standard or enterprise tenant, and for each planned tier move (``move_to`` in the catalog) its
target database and its DMS replication, all in the primary region, on the region's network.

A tenant moving to a dedicated tier gets the stack of its new database *before* the move, holding the
target database with no tenant registered (the directory item keeps pointing at the source until the
move's flip): ``DbPatterns-Tenant-<id>`` for a pooled tenant's first dedicated database,
``DbPatterns-Tenant-<id>--gen<N+1>`` for a standard <-> enterprise move of a tenant of generation N
(the catalog's ``generation``; both databases run until the flip). When the operator then writes the
new tier (and generation) into the catalog and drops ``move_to``, the same stack ID and construct IDs
describe the same database: only the directory resource's tenant list changes
(``tests/tenancy/test_catalog_moves.py``); a dedicated source's stack leaves the app, recorded as
the tenant's ``retired`` database until the operator has deleted it.

``stacks/app_builder.py`` calls :func:`tenancy_stacks` with the catalog ``app.py`` loaded and the
VPC of the primary region's network stack.
"""

from __future__ import annotations

from aws_cdk import App, Stack
from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from dbpatterns.common.interfaces import check_interface_endpoint, check_vpc
from dbpatterns.common.validation import PropValidationError, check_instance
from dbpatterns.runtime.tenancy.catalog import (
    DatabaseOverrides,
    TenantCatalog,
    TenantSpec,
    Tier,
    tenant_stack_name,
)
from dbpatterns.tenancy.tenant_api import MAX_PER_DATABASE_GRANTS, ConnectScope
from stacks.config import AppConfig
from stacks.tenancy_move_stack import TenantMoveStack
from stacks.tenancy_stack import TenancyStack
from stacks.tenant_database_stack import TenantDatabaseStack

SHARED_STACK_ID = "DbPatterns-Tenancy"


def move_stack_id(tenant_id: str) -> str:
    """``DbPatterns-TenantMove-initech``."""
    return f"DbPatterns-TenantMove-{tenant_id}"


def pool_stack_id(shard: int) -> str:
    """``DbPatterns-TenantPool-001`` for shard 1."""
    return f"DbPatterns-TenantPool-{shard:03d}"


def tenant_stack_id(tenant_id: str, generation: int = 1) -> str:
    """``DbPatterns-Tenant-acme`` (generation 1), ``DbPatterns-Tenant-acme--gen2`` (the next):
    :func:`~dbpatterns.runtime.tenancy.catalog.tenant_stack_name`."""
    return tenant_stack_name(tenant_id, generation)


def database_count(catalog: TenantCatalog) -> int:
    """Databases (and so database stacks) the catalog makes: shards, dedicated tenants and the new
    dedicated databases of planned moves."""
    return (
        len(catalog.shards)
        + len(catalog.of_tier(Tier.STANDARD))
        + len(catalog.of_tier(Tier.ENTERPRISE))
        + len(_move_targets(catalog))
    )


def _move_targets(catalog: TenantCatalog) -> tuple[TenantSpec, ...]:
    """Tenants whose planned move needs a new database: moves to a dedicated tier (from a shard, or
    standard <-> enterprise); a pooled target is an existing shard."""
    return tuple(
        t for t in catalog.planned_moves() if t.move_to is not None and t.move_to.tier is not Tier.POOLED
    )


def tenancy_stacks(
    app: App,
    config: AppConfig,
    catalog: TenantCatalog,
    vpc: ec2.IVpc,
    secrets_manager_endpoint: ec2.IInterfaceVpcEndpoint | None = None,
    *,
    connect_scope: ConnectScope = ConnectScope.PER_DATABASE,
) -> list[Stack]:
    """The shared stack, then one stack per shard, standard tenant and enterprise tenant, then one per
    new target database and one per planned move.

    ``vpc`` (and ``secrets_manager_endpoint``, for password rotation) come from the primary region's
    network stack; every stack here depends on that stack, and every database stack on the shared one.
    ``connect_scope`` must be ``ConnectScope.ACCOUNT`` for fleets of more than
    :data:`~dbpatterns.tenancy.tenant_api.MAX_PER_DATABASE_GRANTS` databases (planned moves' new
    databases count).
    """
    where = "tenancy_stacks"
    check_instance(where, "catalog", catalog, TenantCatalog)
    check_vpc(where, vpc)
    check_interface_endpoint(where, secrets_manager_endpoint, "secrets_manager_endpoint")
    check_instance(where, "connect_scope", connect_scope, ConnectScope)
    databases = database_count(catalog)
    if connect_scope is ConnectScope.PER_DATABASE and databases > MAX_PER_DATABASE_GRANTS:
        raise PropValidationError(
            where,
            "connect_scope",
            f"PER_DATABASE with {databases} databases",
            f"allowed: PER_DATABASE up to {MAX_PER_DATABASE_GRANTS} databases (one rds-db:connect policy "
            "per database on the API role; IAM allows 10,240 characters of inline policies per role), "
            "ConnectScope.ACCOUNT above",
        )
    network = _stack_of(vpc)
    if network is not None and network.region != config.primary_region:
        raise PropValidationError(
            where,
            "vpc",
            f"a VPC in {network.region}",
            f"allowed: a VPC of the primary region {config.primary_region}",
        )
    env = config.env()
    shared = TenancyStack(
        app,
        SHARED_STACK_ID,
        env=env,
        profile=config.profile,
        vpc=vpc,
        connect_scope=connect_scope,
        description="dbpatterns use case 3: tenant directory, shared DB groups, schema/directory "
        "providers, tenant API (Cognito)",
    )
    stacks: list[Stack] = [shared]
    databases_by_id: dict[str, TenantDatabaseStack] = {}
    placements: list[tuple[str, str, Tier, list[str], DatabaseOverrides]] = []
    for shard in catalog.shards:
        members = [t.tenant_id for t in catalog.shard_members(shard.shard)]
        placements.append(
            (pool_stack_id(shard.shard), shard.database_id, Tier.POOLED, members, shard.overrides)
        )
    for tier in (Tier.STANDARD, Tier.ENTERPRISE):
        for tenant in catalog.of_tier(tier):
            placements.append(
                (
                    tenant_stack_id(tenant.tenant_id, tenant.generation),
                    tenant.database_id,
                    tier,
                    [tenant.tenant_id],
                    tenant.overrides,
                )
            )
    for tenant in _move_targets(catalog):
        move, target_id, generation = tenant.move_to, tenant.target_database_id, tenant.target_generation
        assert move is not None
        assert target_id is not None
        assert generation is not None
        # The stack the tenant keeps once the move is done: same ID, same construct IDs; no tenant
        # registered until then (its directory item still points at its source).
        placements.append(
            (tenant_stack_id(tenant.tenant_id, generation), target_id, move.tier, [], move.overrides)
        )
    descriptions = {
        Tier.POOLED: "dbpatterns use case 3: pooled shard (RDS PostgreSQL, RLS, up to 100 tenants)",
        Tier.STANDARD: "dbpatterns use case 3: standard tenant (its own RDS PostgreSQL instance)",
        Tier.ENTERPRISE: "dbpatterns use case 3: enterprise tenant (its own Aurora PostgreSQL cluster)",
    }
    for stack_id, database_id, tier, tenants, overrides in placements:
        stack = TenantDatabaseStack(
            app,
            stack_id,
            env=env,
            shared=shared,
            database_id=database_id,
            tier=tier,
            tenants=tenants,
            overrides=overrides,
            secrets_manager_endpoint=secrets_manager_endpoint,
            description=descriptions[tier],
        )
        stack.add_stack_dependency(shared, "Imports the shared groups, providers, directory and API role")
        stacks.append(stack)
        databases_by_id[database_id] = stack
    for tenant in catalog.planned_moves():
        assert tenant.target_database_id is not None
        source = databases_by_id[tenant.database_id]
        target = databases_by_id[tenant.target_database_id]
        move_stack = TenantMoveStack(
            app,
            move_stack_id(tenant.tenant_id),
            env=env,
            shared=shared,
            tenant_id=tenant.tenant_id,
            source=source.tenant_database,
            target=target.tenant_database,
            secrets_manager_endpoint=secrets_manager_endpoint,
            description=f"dbpatterns use case 3: DMS replication moving {tenant.tenant_id} "
            f"({tenant.database_id} -> {tenant.target_database_id})",
        )
        move_stack.add_stack_dependency(shared, "Attaches a policy to the move state machine's role")
        for database in (source, target):
            move_stack.add_stack_dependency(database, "Endpoints read the database's secret and host")
        stacks.append(move_stack)
    if network is not None:
        for dependent in stacks:
            dependent.add_stack_dependency(network, "Runs in the region's shared VPC")
    return stacks


def _stack_of(vpc: ec2.IVpc) -> Stack | None:
    """The stack that defines ``vpc``, when it is a construct of this app."""
    if isinstance(vpc, Construct):
        return Stack.of(vpc)
    return None
