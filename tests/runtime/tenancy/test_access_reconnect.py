"""Failover behaviour with real terminated backends (``pg_terminate_backend``): idempotent work is
retried on a new connection; a non-idempotent write that had started is reported, never repeated."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pg8000.native
import pytest
from pg8000.exceptions import InterfaceError

from dbpatterns.runtime.tenancy.access import (
    AccessConfig,
    DatabaseUnavailableError,
    Outcome,
    TenantDataAccess,
    TenantSession,
    WriteInterruptedError,
)
from dbpatterns.runtime.tenancy.connection import ConnectionSettings, TlsMode, open_connection
from tests.runtime.tenancy.conftest import TENANT_A, Seed, TenancyDatabase

pytestmark = pytest.mark.needs_server

MakeAccess = Callable[..., TenantDataAccess]


def terminate(db: TenancyDatabase, pid: int) -> None:
    """What a failover, a reboot or an operator does to a session: the server ends the backend."""
    with db.admin() as admin:
        row = admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,)).fetchone()
    assert row == (True,)


def backend_pid(session: TenantSession) -> int:
    return int(session.run("SELECT pg_backend_pid()")[0][0])


def count_projects(db: TenancyDatabase, name: str) -> int:
    with db.admin() as admin:
        row = admin.execute("SELECT count(*) FROM app.projects WHERE name = %s", (name,)).fetchone()
    assert row is not None
    return int(row[0])


def test_a_backend_terminated_between_calls_is_replaced_and_the_read_succeeds(
    db: TenancyDatabase, seeded: Seed, make_access: MakeAccess
) -> None:
    access = make_access()
    pid = access.read(TENANT_A, backend_pid)
    terminate(db, pid)

    rows = access.read(TENANT_A, lambda s: s.run("SELECT count(*) FROM app.tasks"))

    assert rows == [[2]]
    assert (access.connections_opened, access.retries) == (2, 1)


def test_a_write_whose_connection_died_while_idle_runs_once_on_a_new_connection(
    db: TenancyDatabase, make_access: MakeAccess
) -> None:
    # The dead connection fails at START TRANSACTION, before the work ran: retrying repeats nothing.
    access = make_access()
    terminate(db, access.read(TENANT_A, backend_pid))
    invocations = []

    def insert(session: TenantSession) -> None:
        invocations.append(1)
        session.run("INSERT INTO app.projects (name) VALUES ('after idle kill')")

    access.write(TENANT_A, insert, idempotent=False)

    assert len(invocations) == 1
    assert count_projects(db, "after idle kill") == 1


def test_an_idempotent_read_killed_mid_transaction_is_retried_and_succeeds(
    db: TenancyDatabase, seeded: Seed, make_access: MakeAccess
) -> None:
    access = make_access()
    invocations: list[int] = []

    def read_tasks(session: TenantSession) -> list[list[Any]]:
        invocations.append(backend_pid(session))
        if len(invocations) == 1:
            terminate(db, invocations[0])
        return session.run("SELECT title FROM app.tasks ORDER BY title")

    rows = access.read(TENANT_A, read_tasks)

    assert rows == [["tenant-a task 0"], ["tenant-a task 1"]]
    assert len(invocations) == 2
    assert invocations[0] != invocations[1]


def test_a_non_idempotent_write_killed_mid_transaction_is_reported_not_repeated(
    db: TenancyDatabase, make_access: MakeAccess
) -> None:
    access = make_access()
    invocations: list[int] = []

    def insert_then_lose_connection(session: TenantSession) -> None:
        invocations.append(1)
        session.run("INSERT INTO app.projects (name) VALUES ('interrupted')")
        terminate(db, backend_pid(session))
        session.run("INSERT INTO app.tasks (project_id, title) VALUES (gen_random_uuid(), 'never')")

    with pytest.raises(WriteInterruptedError) as caught:
        access.write(TENANT_A, insert_then_lose_connection, idempotent=False)

    assert caught.value.outcome is Outcome.NOT_APPLIED
    assert "retrying is safe" in str(caught.value)
    assert len(invocations) == 1
    assert count_projects(db, "interrupted") == 0  # rolled back by the server
    # The library is usable at once: the next call gets a new connection.
    access.write(
        TENANT_A, lambda s: s.run("INSERT INTO app.projects (name) VALUES ('next')"), idempotent=False
    )
    assert count_projects(db, "next") == 1


def test_an_idempotent_write_killed_mid_transaction_is_retried_and_lands_once(
    db: TenancyDatabase, make_access: MakeAccess
) -> None:
    access = make_access()
    project_id = uuid.uuid4()
    invocations: list[int] = []

    def upsert(session: TenantSession) -> None:
        invocations.append(1)
        session.run(
            "INSERT INTO app.projects (project_id, name) VALUES (:p, 'idempotent') ON CONFLICT DO NOTHING",
            p=project_id,
        )
        if len(invocations) == 1:
            terminate(db, backend_pid(session))
            session.run("SELECT 1")

    access.write(TENANT_A, upsert, idempotent=True)

    assert len(invocations) == 2
    assert count_projects(db, "idempotent") == 1


class CommitAckLost:
    """A connection whose COMMIT reaches the server but whose reply is lost (the network dropped
    right after the server committed): the case where the client cannot know the outcome."""

    def __init__(self, connection: pg8000.native.Connection, commits_lost: list[int]) -> None:
        # ``commits_lost`` is shared by every connection of one test: only the first reply is lost.
        self._connection = connection
        self._commits_lost = commits_lost

    def run(self, sql: str, **params: Any) -> Any:
        result = self._connection.run(sql, **params)
        if sql == "COMMIT" and not self._commits_lost:
            self._commits_lost.append(1)
            self._connection.close()
            raise InterfaceError("network error")
        return result

    def close(self) -> None:
        self._connection.close()

    @property
    def row_count(self) -> int:
        return int(self._connection.row_count)


@pytest.fixture
def connect_losing_first_commit_ack() -> Callable[[ConnectionSettings], Any]:
    lost: list[int] = []

    def connect(settings: ConnectionSettings) -> Any:
        return CommitAckLost(open_connection(settings), lost)

    return connect


def test_a_non_idempotent_write_whose_commit_reply_is_lost_is_reported_as_unknown_and_not_repeated(
    db: TenancyDatabase, make_access: MakeAccess, connect_losing_first_commit_ack: Callable[..., Any]
) -> None:
    access = make_access(connect=connect_losing_first_commit_ack)
    invocations: list[int] = []

    def insert(session: TenantSession) -> None:
        invocations.append(1)
        session.run("INSERT INTO app.projects (name) VALUES ('maybe committed')")

    with pytest.raises(WriteInterruptedError) as caught:
        access.write(TENANT_A, insert, idempotent=False)

    assert caught.value.outcome is Outcome.UNKNOWN
    assert "check before repeating" in str(caught.value)
    assert len(invocations) == 1
    assert count_projects(db, "maybe committed") == 1  # it did commit; a blind retry would have made 2


def test_an_idempotent_write_whose_commit_reply_is_lost_is_retried_without_a_duplicate(
    db: TenancyDatabase, make_access: MakeAccess, connect_losing_first_commit_ack: Callable[..., Any]
) -> None:
    access = make_access(connect=connect_losing_first_commit_ack)
    project_id = uuid.uuid4()

    access.write(
        TENANT_A,
        lambda s: s.run(
            "INSERT INTO app.projects (project_id, name) VALUES (:p, 'once') ON CONFLICT DO NOTHING",
            p=project_id,
        ),
        idempotent=True,
    )

    assert count_projects(db, "once") == 1
    assert access.retries == 1


def test_retries_are_bounded_and_back_off_with_jitter(db: TenancyDatabase, make_access: MakeAccess) -> None:
    attempts: list[str] = []
    sleeps: list[float] = []

    def unreachable(settings: ConnectionSettings) -> pg8000.native.Connection:
        attempts.append(settings.host)
        raise InterfaceError("Can't create a connection to host 127.0.0.1 and port 5432")

    config = AccessConfig(
        tls=TlsMode.DISABLE, max_attempts=4, backoff_base_seconds=0.1, backoff_max_seconds=0.25
    )
    access = make_access(config=config, connect=unreachable, sleep=sleeps.append)

    with pytest.raises(DatabaseUnavailableError, match="after 4 attempt"):
        access.read(TENANT_A, lambda s: s.run("SELECT 1"))

    assert len(attempts) == 4
    assert len(sleeps) == 3
    assert all(0 <= s <= ceiling for s, ceiling in zip(sleeps, (0.1, 0.2, 0.25), strict=True))


class AnswersAsReplica:
    """The first connection lands on a server that is in recovery (the writer DNS name still points
    at the old primary, now a replica, right after an Aurora failover)."""

    def __init__(self, connection: pg8000.native.Connection, in_recovery: bool) -> None:
        self._connection, self._in_recovery = connection, in_recovery

    def run(self, sql: str, **params: Any) -> Any:
        if sql == "SELECT pg_is_in_recovery()":
            return [[self._in_recovery]]
        return self._connection.run(sql, **params)

    def close(self) -> None:
        self._connection.close()


def test_a_writer_connection_that_lands_on_a_replica_is_dropped_and_reopened(
    db: TenancyDatabase, make_access: MakeAccess
) -> None:
    connections: list[AnswersAsReplica] = []

    def connect(settings: ConnectionSettings) -> Any:
        connections.append(AnswersAsReplica(open_connection(settings), in_recovery=not connections))
        return connections[-1]

    access = make_access(connect=connect)

    access.write(
        TENANT_A,
        lambda s: s.run("INSERT INTO app.projects (name) VALUES ('on the primary')"),
        idempotent=False,
    )

    assert len(connections) == 2
    assert count_projects(db, "on the primary") == 1


def test_a_read_only_error_in_a_write_means_a_replica_and_is_not_applied(
    db: TenancyDatabase, make_access: MakeAccess
) -> None:
    # Simulate the old writer turning into a reader mid-session: the write is refused with 25006.
    access = make_access()

    def write_on_replica(session: TenantSession) -> None:
        session.run("SET TRANSACTION READ ONLY")
        session.run("INSERT INTO app.projects (name) VALUES ('refused')")

    with pytest.raises(WriteInterruptedError) as caught:
        access.write(TENANT_A, write_on_replica, idempotent=False)

    assert caught.value.outcome is Outcome.NOT_APPLIED
    assert count_projects(db, "refused") == 0
