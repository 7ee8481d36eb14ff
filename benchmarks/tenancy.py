"""Measure the tenancy runtime on this machine: the catalog at fleet scale, and what the tenant
context costs per transaction.

Run from the repository root with the local PostgreSQL (127.0.0.1:5432, trust auth) up::

    .venv/bin/python benchmarks/tenancy.py [--reads 2000] [--tenants 1000]

1. Catalog: generate, write, load and validate fleets of 100 and ``--tenants`` tenants (900/80/20
   proportions), and the quota check. This is the part ``app.py`` will run at every synth.
2. Per transaction on loopback: a plain autocommit query as the table owner's superuser, against
   the library's ``read`` (``START TRANSACTION READ ONLY`` + ``set_config`` x2 + the query +
   ``COMMIT``: four round trips instead of one). Loopback round trips are ~0.05 ms; in a VPC they
   are ~0.3-1 ms, so multiply the extra round trips, not the ratio.

It creates a uniquely named database and two roles and drops them when it ends.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pg8000.native
from pg8000.native import identifier

from dbpatterns.runtime.tenancy.access import AccessConfig, TenantDataAccess, TenantSession
from dbpatterns.runtime.tenancy.catalog import Tier, load_catalog, save_catalog
from dbpatterns.runtime.tenancy.connection import TlsMode
from dbpatterns.runtime.tenancy.directory import (
    Auth,
    DatabaseRecord,
    StaticDirectory,
    TenantPlacement,
    TenantRecord,
)
from dbpatterns.runtime.tenancy.fleet import generate_fleet
from dbpatterns.runtime.tenancy.migrate import RoleNames, migrate
from dbpatterns.runtime.tenancy.quotas import check_quotas

HOST, PORT = "127.0.0.1", 5432
TENANTS = ("bench-a", "bench-b", "bench-c")


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def timed(action: Callable[[], object], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def bench_catalog(total: int) -> None:
    print("catalog (ms, median of 5)")
    for size in sorted({100, total}):
        pooled, standard = size * 9 // 10, size * 8 // 100
        enterprise = size - pooled - standard

        def generate(pooled: int = pooled, standard: int = standard, enterprise: int = enterprise) -> object:
            return generate_fleet(pooled=pooled, standard=standard, enterprise=enterprise)

        fleet = generate_fleet(pooled=pooled, standard=standard, enterprise=enterprise)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "fleet.json"
            save_catalog(fleet, path)
            generating = timed(generate, 5)
            loading = timed(functools.partial(load_catalog, path), 5)
            checking = timed(functools.partial(check_quotas, fleet), 5)
            size_kib = path.stat().st_size / 1024
        warnings = ", ".join(f"{w.quota.name} {w.needed}>{w.limit}" for w in check_quotas(fleet)) or "none"
        print(
            f"  {size:>5} tenants ({pooled}/{standard}/{enterprise}, {len(fleet.shards)} shards, "
            f"{size_kib:.0f} KiB): generate {statistics.median(generating):.1f}, "
            f"load+validate {statistics.median(loading):.1f}, quota check {statistics.median(checking):.2f}; "
            f"quota warnings: {warnings}"
        )


def bench_transactions(reads: int) -> None:
    suffix = uuid.uuid4().hex[:10]
    name = f"tenancy_bench_{suffix}"
    roles = RoleNames(owner=f"bench_owner_{suffix}", app=f"bench_app_{suffix}")
    admin = pg8000.native.Connection(user="postgres", host=HOST, port=PORT, database="test")
    admin.run(f"CREATE DATABASE {identifier(name)}")
    try:
        owner = pg8000.native.Connection(user="postgres", host=HOST, port=PORT, database=name)
        migrate(owner, roles=roles)
        for tenant in TENANTS:
            for n in range(50):
                owner.run("INSERT INTO app.projects (tenant_id, name) VALUES (:t, :n)", t=tenant, n=f"p{n}")
        record = DatabaseRecord(
            database_id="pool-001",
            tier=Tier.POOLED,
            writer_host=HOST,
            port=PORT,
            database_name=name,
            db_user=roles.app,
            region="us-east-1",
            auth=Auth.TRUST,
        )
        directory = StaticDirectory(
            {
                t: TenantPlacement(
                    TenantRecord(tenant_id=t, tier=Tier.POOLED, database_id="pool-001"), record
                )
                for t in TENANTS
            }
        )
        access = TenantDataAccess(directory, AccessConfig(tls=TlsMode.DISABLE))
        query = "SELECT count(*) FROM app.projects"

        def library_read(tenant: str) -> Callable[[], object]:
            return lambda: access.read(tenant, lambda s: s.run(query))

        def check(session: TenantSession) -> int:
            return int(session.run(query)[0][0])

        assert access.read(TENANTS[0], check) == 50
        raw = timed(
            lambda: owner.run("SELECT count(*) FROM app.projects WHERE tenant_id = :t", t=TENANTS[0]), reads
        )
        library = []
        for i in range(reads):
            library += timed(library_read(TENANTS[i % len(TENANTS)]), 1)
        access.close()
        owner.close()
        print(f"per transaction on loopback ({reads} reads, ms p50/p95)")
        print(
            "  plain autocommit query (superuser, WHERE tenant_id): "
            f"{percentile(raw, 0.5):.3f}/{percentile(raw, 0.95):.3f}"
        )
        print(
            f"  library read (RLS, context per transaction, tenants rotating on one connection): "
            f"{percentile(library, 0.5):.3f}/{percentile(library, 0.95):.3f}"
        )
    finally:
        admin.run(f"DROP DATABASE IF EXISTS {identifier(name)} WITH (FORCE)")
        for role in (roles.app, roles.owner):
            admin.run(f"DROP ROLE IF EXISTS {identifier(role)}")
        admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reads", type=int, default=2000)
    parser.add_argument("--tenants", type=int, default=1000)
    args = parser.parse_args()
    bench_catalog(args.tenants)
    bench_transactions(args.reads)


if __name__ == "__main__":
    main()
