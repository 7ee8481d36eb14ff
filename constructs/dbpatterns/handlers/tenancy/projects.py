"""Tenant-scoped CRUD for the example API: projects and their tasks, through the data-access library.

Every write is idempotent by construction (the client chooses the ids, inserts are
``ON CONFLICT DO NOTHING``, updates set absolute values, deletes of a missing row are no-ops), so the
library may retry all of them after a lost connection. No statement names a tenant: the database
fills ``tenant_id`` from the transaction's context and RLS filters every read.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from pg8000.exceptions import DatabaseError

from dbpatterns.runtime.tenancy.access import TenantDataAccess, TenantSession
from dbpatterns.runtime.tenancy.connection import sqlstate

MAX_NAME_LENGTH = 200
MAX_TITLE_LENGTH = 500
MAX_ESTIMATE_HOURS = Decimal("9999.99")
FOREIGN_KEY_VIOLATION = "23503"


class InvalidRequestError(ValueError):
    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("; ".join(errors))


class NotFoundError(LookupError):
    """The project or task does not exist for this tenant (answered with 404)."""


class ConflictError(ValueError):
    """The request contradicts what is stored for this tenant (answered with 409)."""


@dataclass(frozen=True)
class NewProject:
    project_id: uuid.UUID
    name: str


@dataclass(frozen=True)
class NewTask:
    task_id: uuid.UUID
    title: str
    estimate_hours: Decimal | None


# --------------------------------------------------------------------------------------- parsing


def parse_uuid(value: Any, field: str, errors: list[str]) -> uuid.UUID:
    """``value`` as a UUID; otherwise an error is recorded and the nil UUID returned."""
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    errors.append(f"{field} must be a UUID string")
    return uuid.UUID(int=0)


def parse_project(body: Any) -> NewProject:
    errors: list[str] = []
    document = _object(body, {"project_id", "name"}, errors)
    project_id = parse_uuid(document.get("project_id"), "project_id", errors)
    name = _text(document.get("name"), "name", MAX_NAME_LENGTH, errors)
    if errors:
        raise InvalidRequestError(errors)
    return NewProject(project_id, name)


def parse_task(body: Any) -> NewTask:
    errors: list[str] = []
    document = _object(body, {"task_id", "title", "estimate_hours"}, errors)
    task_id = parse_uuid(document.get("task_id"), "task_id", errors)
    title = _text(document.get("title"), "title", MAX_TITLE_LENGTH, errors)
    estimate = _estimate(document.get("estimate_hours"), errors)
    if errors:
        raise InvalidRequestError(errors)
    return NewTask(task_id, title, estimate)


def parse_task_update(body: Any) -> bool:
    errors: list[str] = []
    document = _object(body, {"done"}, errors)
    done = document.get("done")
    if not isinstance(done, bool):
        errors.append("done must be true or false")
    if errors:
        raise InvalidRequestError(errors)
    return bool(done)


def _object(body: Any, allowed: set[str], errors: list[str]) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise InvalidRequestError(["the body must be a JSON object"])
    errors.extend(f"unknown field {key!r}" for key in sorted(set(body) - allowed))
    return body


def _text(value: Any, field: str, maximum: int, errors: list[str]) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > maximum:
        errors.append(f"{field} must be 1-{maximum} characters")
        return ""
    return value


def _estimate(value: Any, errors: list[str]) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        errors.append("estimate_hours must be a number")
        return None
    try:
        estimate = Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation:
        errors.append("estimate_hours must be a number")
        return None
    if not Decimal(0) <= estimate <= MAX_ESTIMATE_HOURS:
        errors.append(f"estimate_hours must be between 0 and {MAX_ESTIMATE_HOURS}")
        return None
    return estimate


# ------------------------------------------------------------------------------------- operations

# Column lists are written out in each statement (no string building around SQL); _project() and
# _task() read rows in exactly this order: project_id, name, status, created_at and task_id,
# project_id, title, done, estimate_hours, created_at.


def list_projects(access: TenantDataAccess, tenant_id: str) -> list[dict[str, Any]]:
    rows = access.read(
        tenant_id,
        lambda s: s.run(
            "SELECT project_id, name, status, created_at FROM app.projects ORDER BY created_at, project_id"
        ),
    )
    return [_project(row) for row in rows]


def create_project(access: TenantDataAccess, tenant_id: str, new: NewProject) -> tuple[dict[str, Any], bool]:
    """The project and whether this call created it (False: the same request was replayed)."""

    def work(session: TenantSession) -> tuple[list[Any], bool]:
        inserted = session.run(
            "INSERT INTO app.projects (project_id, name) VALUES (:p, :n) ON CONFLICT DO NOTHING "
            "RETURNING project_id, name, status, created_at",
            p=new.project_id,
            n=new.name,
        )
        if inserted:
            return inserted[0], True
        existing = session.run(
            "SELECT project_id, name, status, created_at FROM app.projects WHERE project_id = :p",
            p=new.project_id,
        )
        return existing[0], False

    row, created = access.write(tenant_id, work, idempotent=True)
    project = _project(row)
    if not created and project["name"] != new.name:
        raise ConflictError(f"project {new.project_id} already exists with another name")
    return project, created


def delete_project(access: TenantDataAccess, tenant_id: str, project_id: uuid.UUID) -> None:
    def work(session: TenantSession) -> int:
        session.run("DELETE FROM app.projects WHERE project_id = :p", p=project_id)
        return session.row_count

    if access.write(tenant_id, work, idempotent=True) == 0:
        raise NotFoundError(f"project {project_id} not found")


def list_tasks(access: TenantDataAccess, tenant_id: str, project_id: uuid.UUID) -> list[dict[str, Any]]:
    def work(session: TenantSession) -> list[list[Any]] | None:
        if not session.run("SELECT 1 FROM app.projects WHERE project_id = :p", p=project_id):
            return None
        return session.run(
            "SELECT task_id, project_id, title, done, estimate_hours, created_at FROM app.tasks "
            "WHERE project_id = :p ORDER BY created_at, task_id",
            p=project_id,
        )

    rows = access.read(tenant_id, work)
    if rows is None:
        raise NotFoundError(f"project {project_id} not found")
    return [_task(row) for row in rows]


def create_task(
    access: TenantDataAccess, tenant_id: str, project_id: uuid.UUID, new: NewTask
) -> tuple[dict[str, Any], bool]:
    def work(session: TenantSession) -> tuple[list[Any], bool]:
        inserted = session.run(
            "INSERT INTO app.tasks (task_id, project_id, title, estimate_hours) VALUES (:t, :p, :title, :e) "
            "ON CONFLICT DO NOTHING RETURNING task_id, project_id, title, done, estimate_hours, created_at",
            t=new.task_id,
            p=project_id,
            title=new.title,
            e=new.estimate_hours,
        )
        if inserted:
            return inserted[0], True
        existing = session.run(
            "SELECT task_id, project_id, title, done, estimate_hours, created_at FROM app.tasks "
            "WHERE task_id = :t",
            t=new.task_id,
        )
        return existing[0], False

    try:
        row, created = access.write(tenant_id, work, idempotent=True)
    except DatabaseError as error:
        # The composite key (tenant_id, project_id): another tenant's project is as absent as a missing one.
        if sqlstate(error) == FOREIGN_KEY_VIOLATION:
            raise NotFoundError(f"project {project_id} not found") from None
        raise
    task = _task(row)
    if not created and (task["project_id"] != str(project_id) or task["title"] != new.title):
        raise ConflictError(f"task {new.task_id} already exists with other values")
    return task, created


def set_task_done(access: TenantDataAccess, tenant_id: str, task_id: uuid.UUID, done: bool) -> dict[str, Any]:
    def work(session: TenantSession) -> list[list[Any]]:
        return session.run(
            "UPDATE app.tasks SET done = :d WHERE task_id = :t "
            "RETURNING task_id, project_id, title, done, estimate_hours, created_at",
            d=done,
            t=task_id,
        )

    rows = access.write(tenant_id, work, idempotent=True)
    if not rows:
        raise NotFoundError(f"task {task_id} not found")
    return _task(rows[0])


def project_report(access: TenantDataAccess, tenant_id: str) -> list[dict[str, Any]]:
    """From the reader endpoint for enterprise tenants (``report``)."""
    rows = access.report(
        tenant_id,
        lambda s: s.run(
            "SELECT project_id, name, status, task_count, done_count, open_hours FROM app.project_summary "
            "ORDER BY name, project_id"
        ),
    )
    return [
        {
            "project_id": str(r[0]),
            "name": r[1],
            "status": r[2],
            "task_count": int(r[3]),
            "done_count": int(r[4]),
            "open_hours": str(r[5]),
        }
        for r in rows
    ]


def _project(row: list[Any]) -> dict[str, Any]:
    return {"project_id": str(row[0]), "name": row[1], "status": row[2], "created_at": row[3].isoformat()}


def _task(row: list[Any]) -> dict[str, Any]:
    return {
        "task_id": str(row[0]),
        "project_id": str(row[1]),
        "title": row[2],
        "done": bool(row[3]),
        "estimate_hours": None if row[4] is None else str(row[4]),
        "created_at": row[5].isoformat(),
    }
