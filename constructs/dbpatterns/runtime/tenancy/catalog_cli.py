"""Command line for the tenant catalog file: validate it, add or remove a tenant, check quotas,
generate a benchmark fleet.

    python -m dbpatterns.runtime.tenancy.catalog_cli validate                 # tenants.json
    python -m dbpatterns.runtime.tenancy.catalog_cli add --id umbrella --name "Umbrella" --tier pooled
    python -m dbpatterns.runtime.tenancy.catalog_cli add --id wayne --name Wayne --tier enterprise --readers 2
    python -m dbpatterns.runtime.tenancy.catalog_cli remove --id umbrella
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
    TenantCatalog,
    Tier,
    load_catalog,
    save_catalog,
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
    add.add_argument("--instance-class")
    add.add_argument("--storage-gib", type=int)
    add.add_argument("--postgres-major-version", type=int)
    add.add_argument("--readers", type=int)
    add.set_defaults(run=_add)

    remove = commands.add_parser("remove", help="remove a tenant's entry (its shard stays declared)")
    _catalog_option(remove)
    remove.add_argument("--id", required=True, dest="tenant_id")
    remove.set_defaults(run=_remove)

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
        print(f"  shard {shard}: {count} tenants")
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
    overrides = DatabaseOverrides(
        instance_class=args.instance_class,
        allocated_storage_gib=args.storage_gib,
        postgres_major_version=args.postgres_major_version,
        readers=args.readers,
    )
    updated = add_tenant(
        catalog, tenant_id=args.tenant_id, display_name=args.name, tier=Tier(args.tier), overrides=overrides
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
