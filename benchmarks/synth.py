"""Synth cost of the whole app against an empty CDK app, and the test suite against the same floor.

Run from the repository root (``make bench`` does)::

    .venv/bin/python benchmarks/synth.py [--runs 3] [--skip-tests] [--pytest-args "-n 2"] [-c showcases=all]

Each figure is the median of ``--runs`` fresh interpreter runs, all in this venv with aws-cdk-lib's
built-in template validation off (``CDK_VALIDATION=false``; cfn-lint covers it in the suite):

- the empty app: ``App().synth()`` and nothing else — the floor every synth pays (interpreter,
  jsii's node process, aws-cdk-lib import);
- the whole app: ``app.py`` with cdk.json's context (plus any ``-c key=value``), exactly as ``cdk synth``
  runs it, cdk-nag included;
- resources: ``Resources`` summed over every template written;
- ms per resource above the floor: (whole - empty) / resources;
- the suite: one ``pytest -q`` run (ruff and mypy excluded), as a multiple of the empty-app floor.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EMPTY_APP = "from aws_cdk import App\nApp().synth()\n"


def _environment(outdir: str, overrides: dict[str, str] | None = None) -> dict[str, str]:
    context = {**json.loads((ROOT / "cdk.json").read_text())["context"], **(overrides or {})}
    return {
        **os.environ,
        "CDK_OUTDIR": outdir,
        "CDK_CONTEXT_JSON": json.dumps(context),
        "CDK_VALIDATION": "false",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }


def _timed(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)  # noqa: S603
    return time.perf_counter() - started


def _resources(outdir: Path) -> tuple[int, int]:
    stacks = resources = 0
    for template in outdir.glob("*.template.json"):
        stacks += 1
        resources += len(json.loads(template.read_text()).get("Resources", {}))
    return stacks, resources


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-tests", action="store_true", help="do not time the test suite")
    parser.add_argument("--pytest-args", default="", help="extra pytest arguments, e.g. '-n 2'")
    parser.add_argument(
        "-c", "--context", action="append", default=[], metavar="KEY=VALUE", help="context, as for cdk synth"
    )
    args = parser.parse_args()
    if any("=" not in item for item in args.context):
        parser.error(f"-c takes KEY=VALUE, got {args.context}")
    overrides = dict(item.split("=", 1) for item in args.context)

    empty, whole = [], []
    stacks = resources = 0
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="bench-empty-") as out:
            empty.append(_timed([sys.executable, "-c", EMPTY_APP], _environment(out)))
        with tempfile.TemporaryDirectory(prefix="bench-app-") as out:
            whole.append(_timed([sys.executable, "app.py"], _environment(out, overrides)))
            stacks, resources = _resources(Path(out))
    floor, app = statistics.median(empty), statistics.median(whole)
    per_resource_ms = (app - floor) * 1000 / resources if resources else float("nan")

    print(f"runs per figure                  {args.runs} (median)")
    print(f"empty CDK app synth              {floor:8.2f} s")
    where = " ".join(f"-c {item}" for item in args.context) or "cdk.json's context"
    print(f"whole app synth                  {app:8.2f} s  ({stacks} stacks, {where})")
    print(f"resources                        {resources:8d}")
    print(f"ms per resource above the floor  {per_resource_ms:8.1f} ms")
    if not args.skip_tests:
        suite = _timed(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *shlex.split(args.pytest_args)],
            {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"},
        )
        print(f"test suite (pytest {args.pytest_args or '-q'})".ljust(33) + f"{suite:8.2f} s")
        print(f"test suite / empty-app floor     {suite / floor:8.1f} x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
