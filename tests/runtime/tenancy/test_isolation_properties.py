"""Property test on the real PostgreSQL: random tenants doing random reads and writes through the
library (over one shared pooled connection) never see, change or reference another tenant's row,
and the database ends up holding exactly what a per-tenant model says."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pg8000.exceptions import DatabaseError

from dbpatterns.runtime.tenancy.access import TenantDataAccess, TenantSession
from dbpatterns.runtime.tenancy.connection import sqlstate
from tests.runtime.tenancy.conftest import TenancyDatabase

pytestmark = pytest.mark.needs_server

_slugs = st.from_regex(r"[a-z][a-z0-9]{2,6}(-[a-z0-9]{1,5})?", fullmatch=True)


@dataclass
class Model:
    """What each tenant should see: project id -> name, task id -> project id."""

    projects: dict[str, dict[uuid.UUID, str]] = field(default_factory=dict)
    tasks: dict[str, dict[uuid.UUID, uuid.UUID]] = field(default_factory=dict)

    def owner_of(self, project_id: uuid.UUID) -> str | None:
        return next((t for t, p in self.projects.items() if project_id in p), None)


_operations = st.lists(
    st.tuples(
        st.sampled_from(["project", "task", "rename", "delete", "forge", "read"]),
        st.integers(min_value=0, max_value=3),  # which tenant acts
        st.integers(min_value=0, max_value=50),  # which project it aims at (any tenant's)
    ),
    min_size=1,
    max_size=25,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(tenants=st.lists(_slugs, min_size=2, max_size=4, unique=True), operations=_operations)
def test_random_tenants_and_operations_never_cross_tenants(
    db: TenancyDatabase,
    make_access: Callable[..., TenantDataAccess],
    tenants: list[str],
    operations: list[tuple[str, int, int]],
) -> None:
    with db.admin() as admin:
        admin.execute("TRUNCATE app.tasks, app.projects")
    access = make_access(tuple(tenants))
    model = Model({t: {} for t in tenants}, {t: {} for t in tenants})

    for kind, actor_index, target_index in operations:
        actor = tenants[actor_index % len(tenants)]
        all_projects = [p for t in tenants for p in model.projects[t]]
        target = all_projects[target_index % len(all_projects)] if all_projects else uuid.uuid4()
        owner = model.owner_of(target)
        if kind == "project":
            project_id = uuid.uuid4()
            access.write(actor, _insert_project(project_id, f"p{target_index}"), idempotent=True)
            model.projects[actor][project_id] = f"p{target_index}"
        elif kind == "task":
            task_id = uuid.uuid4()
            if owner == actor:
                access.write(actor, _insert_task(task_id, target), idempotent=True)
                model.tasks[actor][task_id] = target
            else:  # another tenant's project (or none): the composite foreign key refuses it
                with pytest.raises(DatabaseError) as caught:
                    access.write(actor, _insert_task(task_id, target), idempotent=True)
                assert sqlstate(caught.value) == "23503"
        elif kind == "rename":
            changed = access.write(actor, _rename(target, f"renamed by {actor}"), idempotent=True)
            assert changed == (1 if owner == actor else 0)
            if owner == actor:
                model.projects[actor][target] = f"renamed by {actor}"
        elif kind == "delete":
            deleted = access.write(actor, _delete(target), idempotent=True)
            assert deleted == (1 if owner == actor else 0)
            if owner == actor:
                del model.projects[actor][target]
                model.tasks[actor] = {k: v for k, v in model.tasks[actor].items() if v != target}
        elif kind == "forge":
            victim = tenants[(actor_index + 1) % len(tenants)]
            with pytest.raises(DatabaseError) as caught:
                access.write(actor, _insert_project_for(victim), idempotent=True)
            assert sqlstate(caught.value) == "42501"  # new row violates row-level security policy
        _check_every_view(access, tenants, model)

    _check_the_database_holds_exactly_the_model(db, model)


def _insert_project(project_id: uuid.UUID, name: str) -> Callable[[TenantSession], None]:
    def work(session: TenantSession) -> None:
        session.run(
            "INSERT INTO app.projects (project_id, name) VALUES (:p, :n) ON CONFLICT DO NOTHING",
            p=project_id,
            n=name,
        )

    return work


def _insert_project_for(victim: str) -> Callable[[TenantSession], None]:
    def work(session: TenantSession) -> None:
        session.run("INSERT INTO app.projects (tenant_id, name) VALUES (:t, 'forged')", t=victim)

    return work


def _insert_task(task_id: uuid.UUID, project_id: uuid.UUID) -> Callable[[TenantSession], None]:
    def work(session: TenantSession) -> None:
        session.run(
            "INSERT INTO app.tasks (task_id, project_id, title, estimate_hours) VALUES (:t, :p, 'task', 1.5) "
            "ON CONFLICT DO NOTHING",
            t=task_id,
            p=project_id,
        )

    return work


def _rename(project_id: uuid.UUID, name: str) -> Callable[[TenantSession], int]:
    def work(session: TenantSession) -> int:
        session.run("UPDATE app.projects SET name = :n WHERE project_id = :p", n=name, p=project_id)
        return session.row_count

    return work


def _delete(project_id: uuid.UUID) -> Callable[[TenantSession], int]:
    def work(session: TenantSession) -> int:
        session.run("DELETE FROM app.projects WHERE project_id = :p", p=project_id)
        return session.row_count

    return work


def _snapshot(session: TenantSession) -> dict[str, Any]:
    return {
        "projects": {
            (r[0], r[1], r[2]) for r in session.run("SELECT tenant_id, project_id, name FROM app.projects")
        },
        "tasks": {
            (r[0], r[1], r[2]) for r in session.run("SELECT tenant_id, task_id, project_id FROM app.tasks")
        },
        "join": {
            (r[0], r[1])
            for r in session.run(
                "SELECT p.tenant_id, t.task_id FROM app.tasks t "
                "JOIN app.projects p ON p.project_id = t.project_id"
            )
        },
        "view": {
            (r[0], r[1], r[2])
            for r in session.run("SELECT tenant_id, project_id, task_count FROM app.project_summary")
        },
    }


def _check_every_view(access: TenantDataAccess, tenants: list[str], model: Model) -> None:
    for tenant in tenants:
        seen = access.read(tenant, _snapshot)
        projects = model.projects[tenant]
        tasks = model.tasks[tenant]
        assert seen["projects"] == {(tenant, p, name) for p, name in projects.items()}
        assert seen["tasks"] == {(tenant, t, p) for t, p in tasks.items()}
        assert seen["join"] == {(tenant, t) for t in tasks}
        counts = {p: sum(1 for q in tasks.values() if q == p) for p in projects}
        assert seen["view"] == {(tenant, p, n) for p, n in counts.items()}


def _check_the_database_holds_exactly_the_model(db: TenancyDatabase, model: Model) -> None:
    with db.admin() as admin:
        projects = {(r[0], r[1]) for r in admin.execute("SELECT tenant_id, project_id FROM app.projects")}
        tasks = {(r[0], r[1]) for r in admin.execute("SELECT tenant_id, task_id FROM app.tasks")}
    assert projects == {(t, p) for t, ps in model.projects.items() for p in ps}
    assert tasks == {(t, k) for t, ts in model.tasks.items() for k in ts}
