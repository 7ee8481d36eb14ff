"""Use case 3's stacks from the tenant catalog: the shared stack, one stack per pooled shard and one
per standard or enterprise tenant, all in the primary region, on the region's network.

``stacks/app_builder.py`` calls :func:`tenancy_stacks` with the catalog ``app.py`` loaded and the
VPC of the primary region's network stack.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import App, Stack
from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from dbpatterns.common.interfaces import check_interface_endpoint, check_vpc
from dbpatterns.common.validation import PropValidationError, check_instance
from dbpatterns.runtime.tenancy.catalog import DatabaseOverrides, TenantCatalog, Tier
from dbpatterns.tenancy.tenant_api import MAX_PER_DATABASE_GRANTS, ConnectScope
from stacks.config import AppConfig
from stacks.tenancy_move_stack import TenantMoveStack
from stacks.tenancy_stack import TenancyStack
from stacks.tenant_database_stack import TenantDatabaseStack

SHARED_STACK_ID = "DbPatterns-Tenancy"


@dataclass(frozen=True)
class PlannedMove:
    """A tier move the app prepares a DMS replication for (one ``DbPatterns-TenantMove-<tenant>``)."""

    tenant_id: str
    source_database_id: str
    target_database_id: str


#: The sample fleet's planned move: Initech leaves its standard instance for pooled shard 1 (a
#: downgrade, standard -> pooled). Both databases exist in ``tenants.json``; a pooled -> standard move
#: needs the tenant's ``std-<id>`` database deployed first, which the catalog cannot declare yet.
SAMPLE_MOVES: tuple[PlannedMove, ...] = (PlannedMove("initech", "std-initech", "pool-001"),)


def move_stack_id(tenant_id: str) -> str:
    """``DbPatterns-TenantMove-initech``."""
    return f"DbPatterns-TenantMove-{tenant_id}"


def pool_stack_id(shard: int) -> str:
    """``DbPatterns-TenantPool-001`` for shard 1."""
    return f"DbPatterns-TenantPool-{shard:03d}"


def tenant_stack_id(tenant_id: str) -> str:
    """``DbPatterns-Tenant-acme``: the catalog's slug rule makes it a valid stack name."""
    return f"DbPatterns-Tenant-{tenant_id}"


def database_count(catalog: TenantCatalog) -> int:
    """Databases (and so stacks besides the shared one) the catalog makes."""
    return len(catalog.shards) + len(catalog.of_tier(Tier.STANDARD)) + len(catalog.of_tier(Tier.ENTERPRISE))


def tenancy_stacks(
    app: App,
    config: AppConfig,
    catalog: TenantCatalog,
    vpc: ec2.IVpc,
    secrets_manager_endpoint: ec2.IInterfaceVpcEndpoint | None = None,
    *,
    connect_scope: ConnectScope = ConnectScope.PER_DATABASE,
    moves: Sequence[PlannedMove] | None = None,
) -> list[Stack]:
    """The shared stack, then one stack per shard, standard tenant and enterprise tenant.

    ``vpc`` (and ``secrets_manager_endpoint``, for password rotation) come from the primary region's
    network stack; every stack here depends on that stack, and every database stack on the shared one.
    ``connect_scope`` must be ``ConnectScope.ACCOUNT`` for fleets of more than
    :data:`~dbpatterns.tenancy.tenant_api.MAX_PER_DATABASE_GRANTS` databases. ``moves``: the tier moves
    to prepare a replication for, one stack each - :data:`SAMPLE_MOVES` where the catalog holds their
    tenant and databases, by default.
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
                    tenant_stack_id(tenant.tenant_id),
                    tenant.database_id,
                    tier,
                    [tenant.tenant_id],
                    tenant.overrides,
                )
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
    for move in _planned_moves(where, moves, databases_by_id):
        source = databases_by_id[move.source_database_id]
        target = databases_by_id[move.target_database_id]
        move_stack = TenantMoveStack(
            app,
            move_stack_id(move.tenant_id),
            env=env,
            shared=shared,
            tenant_id=move.tenant_id,
            source=source.tenant_database,
            target=target.tenant_database,
            secrets_manager_endpoint=secrets_manager_endpoint,
            description=f"dbpatterns use case 3: DMS replication moving {move.tenant_id} "
            f"({move.source_database_id} -> {move.target_database_id})",
        )
        move_stack.add_stack_dependency(shared, "Attaches a policy to the move state machine's role")
        for database in (source, target):
            move_stack.add_stack_dependency(database, "Endpoints read the database's secret and host")
        stacks.append(move_stack)
    if network is not None:
        for dependent in stacks:
            dependent.add_stack_dependency(network, "Runs in the region's shared VPC")
    return stacks


def _planned_moves(
    where: str, moves: Sequence[PlannedMove] | None, databases: dict[str, TenantDatabaseStack]
) -> list[PlannedMove]:
    """``moves`` checked against the fleet, or the sample moves the fleet can hold."""

    def fits(move: PlannedMove) -> bool:
        source = databases.get(move.source_database_id)
        return (
            source is not None
            and move.target_database_id in databases
            and move.tenant_id in source.tenant_database.tenants
        )

    if moves is None:
        return [move for move in SAMPLE_MOVES if fits(move)]
    planned = list(moves)
    for move in planned:
        check_instance(where, "moves", move, PlannedMove)
        if not fits(move):
            raise PropValidationError(
                where,
                "moves",
                move,
                "allowed: moves of a tenant from the database holding it to another database of the catalog",
            )
    tenants = [move.tenant_id for move in planned]
    if len(set(tenants)) != len(tenants):
        raise PropValidationError(where, "moves", tenants, "allowed: at most one planned move per tenant")
    return planned


def _stack_of(vpc: ec2.IVpc) -> Stack | None:
    """The stack that defines ``vpc``, when it is a construct of this app."""
    if isinstance(vpc, Construct):
        return Stack.of(vpc)
    return None
