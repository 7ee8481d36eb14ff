"""The local move engine: walk one tenant through the move states of the directory contract, with
the data moved by :mod:`.rowcopy`, :mod:`.capture` and :mod:`.verify`.

::

    plan       all checks, nothing written: tenant known and active, no move in progress, no earlier
               move awaiting cleanup, target database known and different, target schema identical,
               target holding no row of the tenant
    start      ACTIVE -> COPYING (conditional: a concurrent mover loses here)
    COPYING    capture installed on the source (trigger + fence row), then one snapshot copied
    CATCHING_UP  rounds of dirty-key replay until a round applies <= cutover_threshold keys; then wait
               until ``settle_seconds`` have passed since the start, so every directory cache has seen
               a move state (they keep those for one second only)
    CUTOVER    writes paused: fence frozen on the source (waits for in-flight writes), final replay
    VERIFYING  per table count + checksum on both sides; a mismatch rolls back
    flip       VERIFYING -> ACTIVE on the target, ``previous`` = the source until ``cleanup_after``

Any failure before the flip rolls back (unless the caller asks to keep the state for ``resume``):
the source's capture is removed, the target's rows of the tenant are deleted, the item goes back to
ACTIVE on the source. ``resume`` continues from the state in the catalog: COPYING starts the copy
over (the target copy is one transaction, so there is no half copy to keep), later states continue
the replay, provided the capture on the source is intact. The write pause is measured from the
CUTOVER transition to the flip.
"""

from __future__ import annotations

import contextlib
import datetime
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pg8000.native

from dbpatterns.runtime.tenancy.catalog import Tier
from dbpatterns.runtime.tenancy.directory import (
    DEFAULT_TTL_SECONDS,
    DatabaseRecord,
    MoveConflictError,
    MoveRecord,
    TenantDirectory,
    TenantRecord,
    TenantStatus,
    parse_utc,
    utc_iso,
)
from dbpatterns.runtime.tenancy.move import capture
from dbpatterns.runtime.tenancy.move.rowcopy import copy_tenant_rows, count_tenant_rows, delete_tenant_rows
from dbpatterns.runtime.tenancy.move.tables import (
    TableInfo,
    check_same_tables,
    describe_tables,
    transaction,
)
from dbpatterns.runtime.tenancy.move.verify import TableCheck, VerificationError, compare

Connector = Callable[[DatabaseRecord], pg8000.native.Connection]


class MoveError(RuntimeError):
    """The move was refused (bad input, wrong state); nothing was changed."""


@dataclass(frozen=True, kw_only=True)
class MoveSettings:
    batch_rows: int = 1000
    """Rows per copy batch (one progress line each)."""
    cutover_threshold: int = 100
    """Start the cutover once a catch-up round applies at most this many keys."""
    max_catch_up_rounds: int = 20
    """Start the cutover after this many rounds even if writes keep coming (the final round is fenced)."""
    settle_seconds: float = DEFAULT_TTL_SECONDS
    """Least time between the start and the cutover: the directory cache TTL, so every container has
    re-read the tenant (and now caches it for a second only) before writes pause."""
    grace: datetime.timedelta = datetime.timedelta(days=7)
    """How long the source rows are kept after the flip (``cleanup`` refuses earlier)."""
    lock_timeout_seconds: float = 30.0
    """Longest wait for a table lock (trigger DDL) or for in-flight writes (the fence)."""

    def __post_init__(self) -> None:
        if self.batch_rows < 1 or self.cutover_threshold < 0 or self.max_catch_up_rounds < 1:
            raise MoveError("batch_rows and max_catch_up_rounds must be at least 1, cutover_threshold 0+")
        if self.settle_seconds < 0 or self.grace < datetime.timedelta(0) or self.lock_timeout_seconds <= 0:
            raise MoveError("settle_seconds and grace must not be negative, lock_timeout_seconds positive")


@dataclass(frozen=True)
class MoveEvent:
    """One progress step, for the CLI's display (and the tests' fault injection)."""

    kind: str
    """``state`` (entered ``status``), ``copy`` (``table``, ``rows`` so far), ``catch_up`` (``rows`` =
    keys applied in round ``round``), ``fenced``, ``verified`` (``check``), ``rollback``."""
    status: TenantStatus
    table: str | None = None
    rows: int = 0
    round: int = 0
    check: TableCheck | None = None


@dataclass
class MoveReport:
    tenant_id: str
    move_id: str
    source: str
    target: str
    source_tier: Tier
    target_tier: Tier
    copied: dict[str, int] = field(default_factory=dict)
    checks: list[TableCheck] = field(default_factory=list)
    catch_up_rounds: int = 0
    keys_replayed: int = 0
    copy_seconds: float = 0.0
    write_pause_seconds: float = 0.0
    total_seconds: float = 0.0
    cleanup_after: str = ""


@dataclass(frozen=True)
class MovePlan:
    record: TenantRecord
    source: DatabaseRecord
    target: DatabaseRecord
    tables: tuple[TableInfo, ...]


@dataclass(frozen=True)
class MoveStatus:
    record: TenantRecord
    capture: capture.CaptureState | None = None


class TenantMover:
    """Moves tenants between databases listed in the directory; one instance per operator run."""

    def __init__(
        self,
        directory: TenantDirectory,
        connect: Connector,
        settings: MoveSettings | None = None,
        *,
        progress: Callable[[MoveEvent], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.UTC),
    ) -> None:
        self._directory = directory
        self._connect = connect
        self.settings = settings or MoveSettings()
        self._progress = progress or (lambda _event: None)
        self._clock, self._sleep, self._now = clock, sleep, now

    # ------------------------------------------------------------------------------ commands

    def plan(self, tenant_id: str, target_database_id: str, *, target_tier: Tier | None = None) -> MovePlan:
        """Every check of a new move; raises :class:`MoveError` and writes nothing."""
        record = self._tenant(tenant_id)
        if record.status.is_moving or record.move is not None:
            raise MoveError(
                f"tenant {tenant_id!r} is already moving ({record.status.value}, move "
                f"{record.move.move_id if record.move else '?'}): resume or roll that move back first"
            )
        if record.status is not TenantStatus.ACTIVE:
            raise MoveError(f"tenant {tenant_id!r} is {record.status.value}; only an active tenant can move")
        if record.previous is not None:
            raise MoveError(
                f"tenant {tenant_id!r} still has rows in {record.previous.database_id!r} from move "
                f"{record.previous.move_id}: run `cleanup` (after {record.previous.cleanup_after}) first"
            )
        if target_database_id == record.database_id:
            raise MoveError(
                f"tenant {tenant_id!r} is already in {target_database_id!r}: source and target are the same"
            )
        source = self._database(record.database_id, f"tenant {tenant_id!r}'s source")
        target = self._database(target_database_id, "target")
        if target_tier is not None and target.tier is not target_tier:
            raise MoveError(
                f"target database {target_database_id!r} is {target.tier.value}, not {target_tier.value}"
            )
        if target.tier is source.tier and target.tier is not Tier.POOLED:
            raise MoveError(
                f"tenant {tenant_id!r} is already {source.tier.value}; only pooled tenants move between "
                "databases of the same tier (shard to shard)"
            )
        with self._connections(source, target) as (src, dst):
            tables = describe_tables(src)
            check_same_tables(tables, describe_tables(dst))
            existing = {k: v for k, v in count_tenant_rows(dst, tables, tenant_id).items() if v}
        if existing:
            raise MoveError(
                f"target {target.database_id!r} already holds rows of tenant {tenant_id!r} {existing}; "
                "delete them (or pick another target) before moving"
            )
        return MovePlan(record, source, target, tables)

    def migrate(
        self,
        tenant_id: str,
        target_database_id: str,
        *,
        target_tier: Tier | None = None,
        rollback_on_failure: bool = True,
    ) -> MoveReport:
        plan = self.plan(tenant_id, target_database_id, target_tier=target_tier)
        move = MoveRecord(
            move_id=f"mv-{uuid.uuid4().hex[:12]}",
            source_database_id=plan.source.database_id,
            target_database_id=plan.target.database_id,
            source_tier=plan.source.tier,
            target_tier=plan.target.tier,
            started_at=utc_iso(self._now()),
        )
        record = self._directory.start_move(plan.record, move)
        return self._run(record, plan.source, plan.target, rollback_on_failure=rollback_on_failure)

    def resume(self, tenant_id: str, *, rollback_on_failure: bool = True) -> MoveReport:
        record = self._tenant(tenant_id)
        if not record.status.is_moving or record.move is None:
            raise MoveError(f"tenant {tenant_id!r} is {record.status.value}: there is no move to resume")
        source = self._database(record.move.source_database_id, "source")
        target = self._database(record.move.target_database_id, "target")
        return self._run(record, source, target, rollback_on_failure=rollback_on_failure)

    def rollback(self, tenant_id: str) -> TenantRecord:
        """Undo an unfinished move: capture removed, target rows deleted, ACTIVE on the source."""
        record = self._tenant(tenant_id)
        if not record.status.is_moving or record.move is None:
            raise MoveError(f"tenant {tenant_id!r} is {record.status.value}: there is no move to roll back")
        return self._rollback(record)

    def cleanup(self, tenant_id: str) -> dict[str, int]:
        """After the grace period: delete the tenant's rows and the move's capture from the old
        database, then forget it (``previous``). Returns the rows deleted per table."""
        record = self._tenant(tenant_id)
        previous = record.previous
        if previous is None or record.status is not TenantStatus.ACTIVE:
            raise MoveError(f"tenant {tenant_id!r} has no finished move awaiting cleanup")
        if previous.database_id == record.database_id:
            raise MoveError(
                f"tenant {tenant_id!r} lives in {previous.database_id!r} again; nothing to delete"
            )
        if self._now() < parse_utc(previous.cleanup_after):
            raise MoveError(
                f"tenant {tenant_id!r}: the grace period of move {previous.move_id} ends at "
                f"{previous.cleanup_after}; the source rows stay until then"
            )
        old = self._database(previous.database_id, "previous")
        with self._connection(old) as connection:
            tables = describe_tables(connection)
            with transaction(connection, tenant_id=tenant_id):
                for table in tables:
                    trigger = capture.trigger_name(previous.move_id)
                    connection.run(f"DROP TRIGGER IF EXISTS {trigger} ON {table.qualified}")
                deleted = delete_tenant_rows(connection, tables, tenant_id)
                if connection.run("SELECT to_regclass(:t) IS NOT NULL", t=f"{capture.CAPTURE_SCHEMA}.moves")[
                    0
                ][0]:
                    connection.run(
                        f"DELETE FROM {capture.CAPTURE_SCHEMA}.moves WHERE move_id = :m",  # noqa: S608
                        m=previous.move_id,
                    )
        self._directory.clear_previous(record)
        return deleted

    def status(self, tenant_id: str) -> MoveStatus:
        record = self._tenant(tenant_id)
        if record.move is None:
            return MoveStatus(record)
        source = self._database(record.move.source_database_id, "source")
        with self._connection(source) as connection:
            return MoveStatus(record, capture.state(connection, record.move.move_id))

    # ------------------------------------------------------------------------------ the walk

    def _run(
        self,
        record: TenantRecord,
        source: DatabaseRecord,
        target: DatabaseRecord,
        *,
        rollback_on_failure: bool,
    ) -> MoveReport:
        assert record.move is not None
        move = record.move
        report = MoveReport(
            record.tenant_id,
            move.move_id,
            source.database_id,
            target.database_id,
            move.source_tier,
            move.target_tier,
        )
        started = self._clock()
        pause_started: float | None = None
        try:
            with self._connections(source, target) as (src, dst):
                tables = describe_tables(src)
                check_same_tables(tables, describe_tables(dst))
                self._emit("state", record.status)
                if record.status is TenantStatus.COPYING:
                    copy_started = self._clock()
                    capture.install(
                        src,
                        tables,
                        move_id=move.move_id,
                        tenant_id=record.tenant_id,
                        lock_timeout_seconds=self.settings.lock_timeout_seconds,
                    )
                    with transaction(dst, tenant_id=record.tenant_id):
                        delete_tenant_rows(dst, tables, record.tenant_id)
                    report.copied = copy_tenant_rows(
                        src,
                        dst,
                        tables,
                        record.tenant_id,
                        batch_rows=self.settings.batch_rows,
                        progress=lambda table, rows: self._emit(
                            "copy", TenantStatus.COPYING, table=table.name, rows=rows
                        ),
                    )
                    report.copy_seconds = self._clock() - copy_started
                    record = self._advance(record)
                else:
                    capture.require_intact(src, move.move_id, tables)
                if record.status is TenantStatus.CATCHING_UP:
                    self._catch_up(record, src, dst, tables, report)
                    self._settle(move)
                    record = self._advance(record)
                if record.status is TenantStatus.CUTOVER:
                    pause_started = self._clock()
                    capture.freeze(src, move.move_id, lock_timeout_seconds=self.settings.lock_timeout_seconds)
                    self._emit("fenced", record.status)
                    applied = capture.drain(
                        src, dst, tables, move_id=move.move_id, tenant_id=record.tenant_id
                    )
                    report.catch_up_rounds += 1
                    report.keys_replayed += applied
                    self._emit("catch_up", record.status, rows=applied, round=report.catch_up_rounds)
                    record = self._advance(record)
                if pause_started is None:
                    pause_started = self._clock()  # resumed in VERIFYING: the pause began before this run
                report.checks = compare(src, dst, tables, record.tenant_id)
                for check in report.checks:
                    self._emit(
                        "verified", record.status, table=check.table, rows=check.target.rows, check=check
                    )
                if not all(check.matches for check in report.checks):
                    raise VerificationError(report.checks)
                cleanup_after = self._now() + self.settings.grace
                record = self._directory.finish_move(record, cleanup_after=cleanup_after)
        except MoveConflictError:
            raise  # someone else owns the item now (an operator's rollback, another mover): hands off
        except BaseException:
            if rollback_on_failure:
                self._rollback_after_failure(record.tenant_id)
            raise
        report.write_pause_seconds = self._clock() - pause_started
        report.total_seconds = self._clock() - started
        report.cleanup_after = utc_iso(cleanup_after)
        self._emit("state", record.status)
        return report

    def _catch_up(
        self,
        record: TenantRecord,
        src: pg8000.native.Connection,
        dst: pg8000.native.Connection,
        tables: tuple[TableInfo, ...],
        report: MoveReport,
    ) -> None:
        assert record.move is not None
        for _ in range(self.settings.max_catch_up_rounds):
            applied = capture.drain(src, dst, tables, move_id=record.move.move_id, tenant_id=record.tenant_id)
            report.catch_up_rounds += 1
            report.keys_replayed += applied
            self._emit("catch_up", record.status, rows=applied, round=report.catch_up_rounds)
            if applied <= self.settings.cutover_threshold:
                return

    def _settle(self, move: MoveRecord) -> None:
        waited = (self._now() - parse_utc(move.started_at)).total_seconds()
        remaining = self.settings.settle_seconds - waited
        if remaining > 0:
            self._sleep(remaining)

    def _advance(self, record: TenantRecord) -> TenantRecord:
        record = self._directory.advance_move(record)
        self._emit("state", record.status)
        return record

    def _rollback_after_failure(self, tenant_id: str) -> None:
        with contextlib.suppress(
            Exception
        ):  # the failure is what the caller must see; state stays for `rollback`
            record = self._directory.get_tenant(tenant_id)
            if record.status.is_moving:
                self._rollback(record)

    def _rollback(self, record: TenantRecord) -> TenantRecord:
        assert record.move is not None
        source = self._database(record.move.source_database_id, "source")
        target = self._database(record.move.target_database_id, "target")
        with self._connections(source, target) as (src, dst):
            tables = describe_tables(src)
            capture.remove(src, tables, move_id=record.move.move_id)
            with transaction(dst, tenant_id=record.tenant_id):
                delete_tenant_rows(dst, describe_tables(dst), record.tenant_id)
        record = self._directory.abort_move(record)
        self._emit("rollback", record.status)
        return record

    # ------------------------------------------------------------------------------ helpers

    def _emit(
        self,
        kind: str,
        status: TenantStatus,
        *,
        table: str | None = None,
        rows: int = 0,
        round: int = 0,
        check: TableCheck | None = None,
    ) -> None:
        self._progress(MoveEvent(kind, status, table=table, rows=rows, round=round, check=check))

    def _tenant(self, tenant_id: str) -> TenantRecord:
        try:
            return self._directory.get_tenant(tenant_id)
        except LookupError as error:
            raise MoveError(str(error)) from None

    def _database(self, database_id: str, role: str) -> DatabaseRecord:
        database = self._directory.get_database(database_id)
        if database is None:
            raise MoveError(f"{role} database {database_id!r} is not in the tenant directory")
        return database

    @contextlib.contextmanager
    def _connection(self, database: DatabaseRecord) -> Iterator[pg8000.native.Connection]:
        connection = self._connect(database)
        try:
            yield connection
        finally:
            with contextlib.suppress(Exception):
                connection.close()

    @contextlib.contextmanager
    def _connections(
        self, source: DatabaseRecord, target: DatabaseRecord
    ) -> Iterator[tuple[pg8000.native.Connection, pg8000.native.Connection]]:
        with self._connection(source) as src, self._connection(target) as dst:
            yield src, dst
