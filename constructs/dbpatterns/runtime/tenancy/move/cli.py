"""Command line for moving a tenant between tiers (the local path: PostgreSQL to PostgreSQL).

    python -m dbpatterns.runtime.tenancy.move migrate --tenant t-42 --to standard
    python -m dbpatterns.runtime.tenancy.move migrate --tenant t-42 --to pooled --database pool-002
    python -m dbpatterns.runtime.tenancy.move status   --tenant t-42
    python -m dbpatterns.runtime.tenancy.move resume   --tenant t-42      # continue an interrupted move
    python -m dbpatterns.runtime.tenancy.move rollback --tenant t-42      # or undo it
    python -m dbpatterns.runtime.tenancy.move cleanup  --tenant t-42      # after the grace period

The directory is the DynamoDB table ``--table`` (default ``$TENANT_DIRECTORY_TABLE``; ``--endpoint-url``
for DynamoDB Local); the databases are the directory's database records, reached as ``--admin-user``
(a member of the tenant tables' owner role: it creates the capture triggers), with the password from
``--password-env`` and TLS verify-full against ``--ca-bundle`` (plain TCP only for a loopback host
registered with trust authentication, i.e. a local test server). ``--to standard`` and ``--to
enterprise`` target the tenant's own database (``std-<id>``, ``ent-<id>``); a pooled target needs
``--database``.

Exit codes: 0 done; 1 the move failed and was rolled back (or left for ``resume`` with
``--keep-on-failure``); 2 refused (bad input, wrong state, a concurrent mover): nothing changed.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

import pg8000.native

from dbpatterns.errors import PropValidationError
from dbpatterns.runtime.tenancy.catalog import Tier
from dbpatterns.runtime.tenancy.connection import ConnectionSettings, TlsMode, is_loopback, open_connection
from dbpatterns.runtime.tenancy.directory import (
    DEFAULT_TTL_SECONDS,
    Auth,
    DatabaseRecord,
    MoveConflictError,
    TenantDirectory,
)
from dbpatterns.runtime.tenancy.ids import check_tenant_id
from dbpatterns.runtime.tenancy.move.engine import MoveError, MoveEvent, MoveReport, MoveSettings, TenantMover

PROG = "python -m dbpatterns.runtime.tenancy.move"


def main(argv: Sequence[str] | None = None, *, out: Any = None) -> int:
    stream = out or sys.stdout
    args = _parser().parse_args(argv)
    try:
        check_tenant_id(args.tenant, where=PROG, prop="--tenant")
        mover = TenantMover(
            _directory(args),
            admin_connector(args.admin_user, args.password_env, args.ca_bundle),
            _settings(args),
            progress=ProgressPrinter(stream),
        )
        return int(args.run(mover, args, stream))
    except (MoveError, MoveConflictError, PropValidationError) as error:
        print(f"refused: {error}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(required=True, metavar="command")
    migrate = commands.add_parser("migrate", help="move a tenant to another tier (or pooled shard)")
    migrate.add_argument("--to", required=True, choices=[t.value for t in Tier], dest="tier")
    migrate.add_argument("--database", help="target database id (default: std-<id> / ent-<id>)")
    migrate.set_defaults(run=_migrate)
    resume = commands.add_parser("resume", help="continue an interrupted move from its catalog state")
    resume.set_defaults(run=_resume)
    rollback = commands.add_parser("rollback", help="undo an unfinished move (target rows deleted)")
    rollback.set_defaults(run=_rollback)
    cleanup = commands.add_parser("cleanup", help="delete the old copy after the grace period")
    cleanup.set_defaults(run=_cleanup)
    status = commands.add_parser("status", help="the tenant's move state")
    status.set_defaults(run=_status)
    for command in (migrate, resume, rollback, cleanup, status):
        command.add_argument("--tenant", required=True)
        command.add_argument("--table", default=os.environ.get("TENANT_DIRECTORY_TABLE"))
        command.add_argument("--region", default=os.environ.get("AWS_REGION", "us-east-1"))
        command.add_argument("--endpoint-url", help="DynamoDB endpoint (DynamoDB Local)")
        command.add_argument("--admin-user", default="postgres")
        command.add_argument("--password-env", help="environment variable holding the admin password")
        command.add_argument("--ca-bundle", help="CA bundle for TLS verify-full (RDS global-bundle.pem)")
    for command in (migrate, resume):
        command.add_argument("--batch-rows", type=int, default=1000)
        command.add_argument("--cutover-threshold", type=int, default=100)
        command.add_argument(
            "--settle-seconds",
            type=float,
            default=DEFAULT_TTL_SECONDS,
            help="least time from start to cutover: the API's directory cache TTL (default 30)",
        )
        command.add_argument(
            "--grace-hours",
            type=float,
            default=168.0,
            help="keep the source rows this long (7 days, as the AWS path)",
        )
        command.add_argument(
            "--keep-on-failure",
            action="store_true",
            help="leave a failed move for `resume` instead of rolling back",
        )
    return parser


def _directory(args: argparse.Namespace) -> TenantDirectory:
    if not args.table:
        raise MoveError("no directory table: pass --table or set TENANT_DIRECTORY_TABLE")
    import boto3  # only the CLI builds AWS clients

    resource = boto3.resource("dynamodb", region_name=args.region, endpoint_url=args.endpoint_url)
    return TenantDirectory(resource.Table(args.table), ttl_seconds=0)


def _settings(args: argparse.Namespace) -> MoveSettings:
    if not hasattr(args, "batch_rows"):
        return MoveSettings()
    return MoveSettings(
        batch_rows=args.batch_rows,
        cutover_threshold=args.cutover_threshold,
        settle_seconds=args.settle_seconds,
        grace=datetime.timedelta(hours=args.grace_hours),
    )


def admin_connector(
    user: str, password_env: str | None, ca_bundle: str | None
) -> Callable[[DatabaseRecord], pg8000.native.Connection]:
    """Connections as the admin user to a database record's writer (the mover never uses readers)."""

    def password() -> str | None:
        return os.environ.get(password_env) if password_env else None

    def connect(database: DatabaseRecord) -> pg8000.native.Connection:
        plain = database.auth is Auth.TRUST and is_loopback(database.writer_host)
        return open_connection(
            ConnectionSettings(
                host=database.writer_host,
                port=database.port,
                database=database.database_name,
                user=user,
                password=password,
                tls=TlsMode.DISABLE if plain else TlsMode.VERIFY_FULL,
                ca_bundle=None if plain else ca_bundle,
                application_name="dbpatterns-tenant-move",
            )
        )

    return connect


class ProgressPrinter:
    """One line per step: per table rows copied, catch-up rounds, the fence, each table verified."""

    def __init__(self, out: Any) -> None:
        self._out = out

    def __call__(self, event: MoveEvent) -> None:
        where = f"[{event.status.value}]"
        if event.kind == "state":
            line = f"{where} entered"
        elif event.kind == "copy":
            line = f"{where} {event.table}: {event.rows} rows copied"
        elif event.kind == "catch_up":
            line = f"{where} catch-up round {event.round}: {event.rows} changed keys replayed"
        elif event.kind == "fenced":
            line = f"{where} writes paused: source fenced, in-flight writes finished"
        elif event.kind == "verified" and event.check is not None:
            check = event.check
            verdict = "ok" if check.matches else "MISMATCH"
            line = (
                f"{where} {check.table}: source {check.source.rows} rows / {check.source.checksum}, "
                f"target {check.target.rows} rows / {check.target.checksum}: {verdict}"
            )
        elif event.kind == "rollback":
            line = "[rollback] target rows deleted, capture removed, tenant active on the source"
        else:
            line = f"{where} {event.kind}"
        print(line, file=self._out, flush=True)


def print_report(report: MoveReport, out: Any) -> None:
    print(
        f"moved {report.tenant_id} ({report.move_id}): {report.source} ({report.source_tier.value}) -> "
        f"{report.target} ({report.target_tier.value}) in {report.total_seconds:.3f} s",
        file=out,
    )
    print(f"{'table':<12} {'copied':>8} {'source':>8} {'target':>8}  {'checksum':<24} match", file=out)
    for check in report.checks:
        print(
            f"{check.table:<12} {report.copied.get(check.table, 0):>8} {check.source.rows:>8} "
            f"{check.target.rows:>8}  {check.target.checksum:<24} {'ok' if check.matches else 'MISMATCH'}",
            file=out,
        )
    print(
        f"catch-up: {report.catch_up_rounds} round(s), {report.keys_replayed} changed keys replayed", file=out
    )
    print(f"write pause (cutover -> active): {report.write_pause_seconds:.3f} s", file=out)
    print(
        f"source rows kept until {report.cleanup_after}; then: {PROG} cleanup --tenant {report.tenant_id}",
        file=out,
    )


def _migrate(mover: TenantMover, args: argparse.Namespace, out: Any) -> int:
    tier = Tier(args.tier)
    database = args.database
    if database is None:
        if tier is Tier.POOLED:
            raise MoveError("--to pooled needs --database (the shard, e.g. pool-002)")
        database = f"{'std' if tier is Tier.STANDARD else 'ent'}-{args.tenant}"
    return _walk(
        out,
        lambda: mover.migrate(
            args.tenant, database, target_tier=tier, rollback_on_failure=not args.keep_on_failure
        ),
    )


def _resume(mover: TenantMover, args: argparse.Namespace, out: Any) -> int:
    return _walk(out, lambda: mover.resume(args.tenant, rollback_on_failure=not args.keep_on_failure))


def _walk(out: Any, run: Callable[[], MoveReport]) -> int:
    try:
        report = run()
    except (MoveError, MoveConflictError):
        raise
    except Exception as error:
        print(f"failed: {error}", file=sys.stderr)
        return 1
    print_report(report, out)
    return 0


def _rollback(mover: TenantMover, args: argparse.Namespace, out: Any) -> int:
    record = mover.rollback(args.tenant)
    print(f"rolled back: {record.tenant_id} is {record.status.value} in {record.database_id}", file=out)
    return 0


def _cleanup(mover: TenantMover, args: argparse.Namespace, out: Any) -> int:
    deleted = mover.cleanup(args.tenant)
    shown = ", ".join(f"{table} {rows}" for table, rows in deleted.items())
    print(f"cleaned up: deleted the old rows of {args.tenant} ({shown})", file=out)
    return 0


def _status(mover: TenantMover, args: argparse.Namespace, out: Any) -> int:
    found = mover.status(args.tenant)
    record = found.record
    print(
        f"{record.tenant_id}: {record.status.value} in {record.database_id} ({record.tier.value}), "
        f"version {record.version}",
        file=out,
    )
    if record.move is not None:
        move = record.move
        print(
            f"moving ({move.move_id}, since {move.started_at}): {move.source_database_id} "
            f"({move.source_tier.value}) -> {move.target_database_id} ({move.target_tier.value})",
            file=out,
        )
    if found.capture is not None:
        capture = found.capture
        print(
            f"source capture: {'present' if capture.exists else 'missing'}, {capture.triggers} trigger(s), "
            f"{'fenced' if capture.frozen else 'writes allowed'}, "
            f"{capture.pending_changes} changed keys pending",
            file=out,
        )
    if record.previous is not None:
        previous = record.previous
        print(
            f"old rows in {previous.database_id} (move {previous.move_id}) until {previous.cleanup_after}",
            file=out,
        )
    return 0
