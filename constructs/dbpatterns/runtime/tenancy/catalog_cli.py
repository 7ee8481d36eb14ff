"""Command line for the tenant catalog file: validate it, add or remove a tenant, plan a tier move,
check quotas, generate a benchmark fleet.

    python -m dbpatterns.runtime.tenancy.catalog_cli validate                 # tenants.json
    python -m dbpatterns.runtime.tenancy.catalog_cli add --id umbrella --name "Umbrella" --tier pooled
    python -m dbpatterns.runtime.tenancy.catalog_cli add --id wayne --name Wayne --tier enterprise --readers 2
    python -m dbpatterns.runtime.tenancy.catalog_cli remove --id umbrella
    python -m dbpatterns.runtime.tenancy.catalog_cli plan-move --id bluth --tier standard
    python -m dbpatterns.runtime.tenancy.catalog_cli plan-move --id initech --tier pooled --shard 1
    python -m dbpatterns.runtime.tenancy.catalog_cli complete-move --id bluth    # after the flip
    python -m dbpatterns.runtime.tenancy.catalog_cli cancel-move --id bluth
    python -m dbpatterns.runtime.tenancy.catalog_cli forget-retired --id initech  # old stack deleted
    python -m dbpatterns.runtime.tenancy.catalog_cli quotas --limit "DB instances=200"
    python -m dbpatterns.runtime.tenancy.catalog_cli generate --out /tmp/fleet.json

Exit codes: 0 fine (quota warnings are printed but do not fail), 2 the catalog or the command is
invalid (the message names the tenant and the field).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from dbpatterns.errors import PropValidationError
from dbpatterns.runtime.tenancy.catalog import (
    DatabaseOverrides,
    RetiredDatabase,
    TenantCatalog,
    Tier,
    TierMove,
    database_id_of,
    load_catalog,
    save_catalog,
    tenant_stack_name,
)
from dbpatterns.runtime.tenancy.fleet import generate_fleet
from dbpatterns.runtime.tenancy.quotas import ALL_QUOTAS, FleetLayout, check_quotas, fleet_footprint
from dbpatterns.runtime.tenancy.shards import add_tenant, remove_tenant

DEFAULT_CATALOG = Path("tenants.json")
QUOTA_NAMES = frozenset(q.name for q in ALL_QUOTAS)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except PropValidationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dbpatterns.runtime.tenancy.catalog_cli", description=__doc__.split("\n")[0]
    )
    commands = parser.add_subparsers(required=True, metavar="command")

    validate = commands.add_parser(
        "validate", help="check the catalog and print a summary and quota warnings"
    )
    _catalog_option(validate)
    _layout_options(validate)
    validate.set_defaults(run=_validate)

    add = commands.add_parser("add", help="add a tenant (pooled tenants get the lowest shard with room)")
    _catalog_option(add)
    add.add_argument("--id", required=True, dest="tenant_id")
    add.add_argument("--name", required=True)
    add.add_argument("--tier", required=True, choices=[t.value for t in Tier])
    _override_options(add)
    add.set_defaults(run=_add)

    remove = commands.add_parser("remove", help="remove a tenant's entry (its shard stays declared)")
    _catalog_option(remove)
    remove.add_argument("--id", required=True, dest="tenant_id")
    remove.set_defaults(run=_remove)

    plan = commands.add_parser(
        "plan-move",
        help="plan a tenant's move to another tier or shard (deploy to provision the target and the DMS "
        "replication)",
    )
    _catalog_option(plan)
    plan.add_argument("--id", required=True, dest="tenant_id")
    plan.add_argument("--tier", required=True, choices=[t.value for t in Tier])
    plan.add_argument("--shard", type=int, help="pooled target: the shard (default: the lowest with room)")
    _override_options(plan)
    plan.set_defaults(run=_plan_move)

    complete = commands.add_parser(
        "complete-move", help="after the move's flip: write the target tier in and drop move_to"
    )
    _catalog_option(complete)
    complete.add_argument("--id", required=True, dest="tenant_id")
    complete.set_defaults(run=_complete_move)

    cancel = commands.add_parser(
        "cancel-move", help="drop a planned move (before it started or after a rollback)"
    )
    _catalog_option(cancel)
    cancel.add_argument("--id", required=True, dest="tenant_id")
    cancel.set_defaults(run=_cancel_move)

    forget = commands.add_parser(
        "forget-retired",
        help="once the dedicated database a completed move left is deleted: drop 'retired' (no move can "
        "be planned while it is recorded)",
    )
    _catalog_option(forget)
    forget.add_argument("--id", required=True, dest="tenant_id")
    forget.set_defaults(run=_forget_retired)

    quotas = commands.add_parser("quotas", help="print the fleet's RDS footprint against the regional quotas")
    _catalog_option(quotas)
    _layout_options(quotas)
    quotas.set_defaults(run=_quotas)

    generate = commands.add_parser("generate", help="write a synthetic fleet catalog for benchmarks")
    generate.add_argument("--pooled", type=int, default=900)
    generate.add_argument("--standard", type=int, default=80)
    generate.add_argument("--enterprise", type=int, default=20)
    generate.add_argument("--out", type=Path, required=True)
    generate.set_defaults(run=_generate)
    return parser


def _catalog_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--catalog", type=Path, default=DEFAULT_CATALOG, help="catalog file (default: tenants.json)"
    )


def _override_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--instance-class")
    parser.add_argument("--storage-gib", type=int)
    parser.add_argument("--postgres-major-version", type=int)
    parser.add_argument("--readers", type=int)


def _overrides(args: argparse.Namespace) -> DatabaseOverrides:
    return DatabaseOverrides(
        instance_class=args.instance_class,
        allocated_storage_gib=args.storage_gib,
        postgres_major_version=args.postgres_major_version,
        readers=args.readers,
    )


def _layout_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--limit",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="the region's actual value of a quota, e.g. 'DB instances=200' (repeatable)",
    )
    parser.add_argument(
        "--shared-groups",
        action="store_true",
        help="count one parameter group per engine version and one subnet group, not one per database",
    )


def _validate(args: argparse.Namespace) -> int:
    catalog = load_catalog(args.catalog)
    counts = {tier: len(catalog.of_tier(tier)) for tier in Tier}
    print(
        f"{args.catalog}: {len(catalog)} tenants ("
        + ", ".join(f"{n} {tier.value}" for tier, n in counts.items())
        + f"), {len(catalog.shards)} pooled shard(s) of at most {catalog.shard_capacity} tenants"
    )
    for shard, count in sorted(catalog.shard_occupancy().items()):
        incoming = len(catalog.moving_in(shard))
        print(f"  shard {shard}: {count} tenants" + (f" (+{incoming} moving in)" if incoming else ""))
    for tenant in catalog.planned_moves():
        print(f"  planned move: {tenant.tenant_id} {tenant.database_id} -> {tenant.target_database_id}")
    for tenant in catalog:
        if tenant.retired is not None:
            print(f"  retired: {tenant.tenant_id} {_retired(tenant.tenant_id, tenant.retired)} (delete it)")
    return _print_quota_warnings(catalog, args)


def _quotas(args: argparse.Namespace) -> int:
    catalog = load_catalog(args.catalog)
    footprint = fleet_footprint(catalog, _layout(args))
    for name, value in vars(footprint).items():
        print(f"{name}: {value}")
    return _print_quota_warnings(catalog, args)


def _print_quota_warnings(catalog: TenantCatalog, args: argparse.Namespace) -> int:
    warnings = check_quotas(catalog, _layout(args), _limits(args.limit))
    for warning in warnings:
        print(f"warning: {warning.message}")
    if not warnings:
        print("fits the default regional RDS quotas")
    return 0


def _add(args: argparse.Namespace) -> int:
    catalog = load_catalog(args.catalog)
    updated = add_tenant(
        catalog,
        tenant_id=args.tenant_id,
        display_name=args.name,
        tier=Tier(args.tier),
        overrides=_overrides(args),
    )
    save_catalog(updated, args.catalog)
    tenant = updated.get(args.tenant_id)
    where = f" in shard {tenant.shard}" if tenant.shard is not None else ""
    print(f"added {tenant.tenant_id} ({tenant.tier.value}){where}; database {tenant.database_id}")
    return _print_quota_warnings(updated, argparse.Namespace(limit=[], shared_groups=False))


def _remove(args: argparse.Namespace) -> int:
    catalog = load_catalog(args.catalog)
    updated = remove_tenant(catalog, args.tenant_id)
    save_catalog(updated, args.catalog)
    print(f"removed {args.tenant_id}; no other tenant moved")
    return 0


def _plan_move(args: argparse.Namespace) -> int:
    catalog = load_catalog(args.catalog)
    tier = Tier(args.tier)
    shard = args.shard
    if tier is Tier.POOLED and shard is None and args.tenant_id in catalog:
        current = catalog.get(args.tenant_id).shard
        load = catalog.shard_load()
        shard = next((n for n in sorted(load) if n != current and load[n] < catalog.shard_capacity), None)
        if shard is None:
            raise PropValidationError(
                f"tenant catalog: tenant {args.tenant_id!r}",
                "--shard",
                None,
                "no other declared shard has room: declare one under 'shards' and pass --shard",
            )
    updated = catalog.with_move(args.tenant_id, TierMove(tier=tier, shard=shard, overrides=_overrides(args)))
    save_catalog(updated, args.catalog)
    tenant = updated.get(args.tenant_id)
    generation = tenant.target_generation
    target_stack = f" in {tenant_stack_name(tenant.tenant_id, generation)}" if generation is not None else ""
    print(
        f"planned: {tenant.tenant_id} {tenant.database_id} -> {tenant.target_database_id}{target_stack}; "
        "deploy, run the move, then complete-move"
    )
    return 0


def _complete_move(args: argparse.Namespace) -> int:
    catalog = load_catalog(args.catalog)
    before = catalog.get(args.tenant_id).database_id if args.tenant_id in catalog else None
    updated = catalog.with_move_completed(args.tenant_id)
    save_catalog(updated, args.catalog)
    tenant = updated.get(args.tenant_id)
    where = f" in {tenant.stack_name}" if tenant.stack_name is not None else ""
    print(
        f"completed: {tenant.tenant_id} is {tenant.tier.value} on {tenant.database_id}{where} (was {before})"
    )
    if tenant.retired is not None and tenant.retired != catalog.get(args.tenant_id).retired:
        print(
            f"retired: {_retired(tenant.tenant_id, tenant.retired)} left the app; delete it after the "
            "move's previous.cleanup_after, then forget-retired (no move can be planned until then)"
        )
    return 0


def _forget_retired(args: argparse.Namespace) -> int:
    catalog = load_catalog(args.catalog)
    updated = catalog.with_retired_forgotten(args.tenant_id)
    retired = catalog.get(args.tenant_id).retired
    assert retired is not None
    save_catalog(updated, args.catalog)
    print(f"forgot: {args.tenant_id} {_retired(args.tenant_id, retired)}; its moves can be planned again")
    return 0


def _retired(tenant_id: str, retired: RetiredDatabase) -> str:
    """``std-initech (stack DbPatterns-Tenant-initech)``."""
    database_id = database_id_of(tenant_id, retired.tier, None)
    return f"{database_id} (stack {tenant_stack_name(tenant_id, retired.generation)})"


def _cancel_move(args: argparse.Namespace) -> int:
    catalog = load_catalog(args.catalog)
    if args.tenant_id in catalog and catalog.get(args.tenant_id).move_to is None:
        raise PropValidationError(
            f"tenant catalog: tenant {args.tenant_id!r}", "move_to", None, "the tenant has no planned move"
        )
    updated = catalog.with_move(args.tenant_id, None)
    save_catalog(updated, args.catalog)
    print(f"cancelled: {args.tenant_id} stays on {updated.get(args.tenant_id).database_id}")
    return 0


def _generate(args: argparse.Namespace) -> int:
    try:
        catalog = generate_fleet(pooled=args.pooled, standard=args.standard, enterprise=args.enterprise)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    save_catalog(catalog, args.out)
    print(f"wrote {len(catalog)} tenants in {len(catalog.shards)} shards to {args.out}")
    return 0


def _layout(args: argparse.Namespace) -> FleetLayout:
    shared = bool(getattr(args, "shared_groups", False))
    return FleetLayout(parameter_group_per_database=not shared, subnet_group_per_database=not shared)


def _limits(values: Sequence[str]) -> dict[str, int]:
    limits: dict[str, int] = {}
    for value in values:
        name, separator, number = value.rpartition("=")
        if not separator or not name.strip() or not number.strip().isdigit():
            raise PropValidationError(
                "catalog_cli", "--limit", value, "allowed: NAME=VALUE, e.g. 'DB instances=200'"
            )
        if name.strip() not in QUOTA_NAMES:
            raise PropValidationError(
                "catalog_cli", "--limit", value, "allowed quota names: " + ", ".join(sorted(QUOTA_NAMES))
            )
        limits[name.strip()] = int(number)
    return limits


if __name__ == "__main__":
    sys.exit(main())
