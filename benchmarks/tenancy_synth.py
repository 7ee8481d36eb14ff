"""Synthesize the tenancy stacks for a generated fleet and report per-stack size and synth time.

Run from the repository root::

    .venv/bin/python benchmarks/tenancy_synth.py                 # 100 and 1,000 tenants, side by side
    .venv/bin/python benchmarks/tenancy_synth.py --tenants 1000  # one size only

Each size runs in a fresh interpreter (its own jsii/node process), with the same pieces as
``make synth``: cdk.json's context, a network stack of the primary region, the tenancy stacks from
:func:`dbpatterns.runtime.tenancy.fleet.generate_fleet` (900/80/20 proportions), cdk-nag AwsSolutions;
aws-cdk-lib's built-in template validation off (cfn-lint covers it). ``connect_scope`` is ACCOUNT for
both sizes: 1,000 tenants make 109 databases, more than per-database login policies fit on one role.

It fails (exit 1) when any stack exceeds CloudFormation's 500 resources or 1 MB template body.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
MAX_RESOURCES = 500
MAX_TEMPLATE_BYTES = 1_000_000


def _fleet_shape(tenants: int) -> tuple[int, int, int]:
    """900/80/20 out of 1,000, scaled."""
    pooled, standard = tenants * 9 // 10, tenants * 8 // 100
    return pooled, standard, tenants - pooled - standard


def measure(tenants: int) -> dict[str, Any]:
    """Build and synthesize one fleet in this process; sizes of every stack and the timings."""
    import tempfile

    started = time.perf_counter()
    from aws_cdk import App

    from dbpatterns.common.profile import DeploymentProfile
    from dbpatterns.runtime.tenancy.fleet import generate_fleet
    from dbpatterns.tenancy.tenant_api import ConnectScope
    from stacks.app_builder import add_compliance_checks
    from tests.tenancy.support import build

    imported = time.perf_counter()
    pooled, standard, enterprise = _fleet_shape(tenants)
    catalog = generate_fleet(pooled=pooled, standard=standard, enterprise=enterprise)
    context = json.loads((REPO / "cdk.json").read_text())["context"]
    out = tempfile.mkdtemp(prefix="tenancy-bench-")
    app = App(context=context, outdir=out, builtin_cloud_formation_validation=False)
    build(app, DeploymentProfile.SANDBOX, catalog, connect_scope=ConnectScope.ACCOUNT)
    add_compliance_checks(app)
    built = time.perf_counter()
    assembly = app.synth()
    synthesized = time.perf_counter()
    stacks = []
    for stack in assembly.stacks:
        body = (Path(assembly.directory) / stack.template_file).read_bytes()
        stacks.append(
            {
                "name": stack.stack_name,
                "resources": len(json.loads(body)["Resources"]),
                "bytes": len(body),
            }
        )
    return {
        "tenants": tenants,
        "shape": [pooled, standard, enterprise],
        "databases": len(catalog.shards) + standard + enterprise,
        "import_s": imported - started,
        "build_s": built - imported,
        "synth_s": synthesized - built,
        "stacks": stacks,
    }


def _kind(name: str) -> str:
    if name.startswith("DbPatterns-TenantPool-"):
        return "pooled shard"
    if name.startswith("DbPatterns-Tenant-growth"):
        return "standard tenant"
    if name.startswith("DbPatterns-Tenant-corp"):
        return "enterprise tenant"
    return name


def report(result: dict[str, Any]) -> list[str]:
    lines = [
        f"{result['tenants']} tenants ({'/'.join(map(str, result['shape']))} pooled/standard/enterprise), "
        f"{result['databases']} databases, {len(result['stacks'])} stacks: "
        f"build {result['build_s']:.1f} s + synth {result['synth_s']:.1f} s "
        f"(imports {result['import_s']:.1f} s)"
    ]
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for stack in result["stacks"]:
        by_kind[_kind(stack["name"])].append(stack)
    lines.append(f"  {'stack (kind)':28} {'count':>5} {'resources (max)':>16} {'template KiB (max)':>19}")
    for kind, members in sorted(by_kind.items()):
        lines.append(
            f"  {kind:28} {len(members):>5} {max(s['resources'] for s in members):>16} "
            f"{max(s['bytes'] for s in members) / 1024:>19.1f}"
        )
    return lines


def violations(result: dict[str, Any]) -> list[str]:
    return [
        f"{s['name']}: {s['resources']} resources, {s['bytes']} bytes"
        for s in result["stacks"]
        if s["resources"] > MAX_RESOURCES or s["bytes"] > MAX_TEMPLATE_BYTES
    ]


def _run_child(tenants: int) -> dict[str, Any]:
    completed = subprocess.run(  # noqa: S603 - this interpreter and this script
        [sys.executable, __file__, "--tenants", str(tenants), "--json"],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, help="one fleet size, measured in this process")
    parser.add_argument("--json", action="store_true", help="print the raw result as one JSON line")
    args = parser.parse_args(argv)
    if args.tenants:
        result = measure(args.tenants)
        print(json.dumps(result) if args.json else "\n".join(report(result)))
        return 1 if violations(result) else 0
    results = [_run_child(size) for size in (100, 1_000)]
    for result in results:
        print("\n".join(report(result)))
    small, large = results
    per_db = [(r["build_s"] + r["synth_s"]) / r["databases"] for r in results]
    print(
        f"growth: x{large['databases'] / small['databases']:.1f} databases -> "
        f"x{(large['build_s'] + large['synth_s']) / (small['build_s'] + small['synth_s']):.1f} "
        "build+synth time; "
        f"{per_db[0] * 1000:.0f} ms vs {per_db[1] * 1000:.0f} ms per database"
    )
    problems = [p for r in results for p in violations(r)]
    for problem in problems:
        print(f"over CloudFormation's limits: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
