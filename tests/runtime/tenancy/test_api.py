"""The example tenant API over the real PostgreSQL: the tenant comes from the authorizer claim only,
every write is idempotent, and another tenant's rows are indistinguishable from missing ones."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pg8000.native
import pytest
from pg8000.exceptions import InterfaceError

from dbpatterns.handlers.tenancy import api
from dbpatterns.runtime.tenancy.access import AccessConfig, TenantDataAccess
from dbpatterns.runtime.tenancy.connection import ConnectionSettings, TlsMode
from dbpatterns.runtime.tenancy.directory import StaticDirectory, TenantStatus
from tests.runtime.tenancy.conftest import LOCAL_CONFIG, TENANT_A, TENANT_B, TenancyDatabase, placement
from tests.runtime.tenancy.support import FakeLambdaContext

pytestmark = pytest.mark.needs_server

CONTEXT: Any = FakeLambdaContext()
_UNSET: Any = object()


@pytest.fixture
def use_access() -> Iterator[Callable[[TenantDataAccess], None]]:
    yield api.use_access
    api.use_access(None)


@pytest.fixture
def served(
    make_access: Callable[..., TenantDataAccess], use_access: Callable[[TenantDataAccess], None]
) -> None:
    use_access(make_access())


def call(
    method: str,
    path: str,
    body: Any = None,
    *,
    tenant: Any = TENANT_A,
    claims: Any = _UNSET,
) -> tuple[int, dict[str, Any], dict[str, str]]:
    authorizer = {"claims": {"custom:tenant_id": tenant} if claims is _UNSET else claims}
    event = {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": method,
            "path": f"/v1{path}",
            "stage": "v1",
            "requestId": "request-1",
            "identity": {"sourceIp": "127.0.0.1"},
            "authorizer": authorizer,
        },
        "body": body if isinstance(body, str) or body is None else json.dumps(body),
        "isBase64Encoded": False,
    }
    response = api.handler(event, CONTEXT)
    payload = json.loads(response["body"]) if response["body"] else {}
    # API Gateway REST proxy responses carry headers as multiValueHeaders.
    headers = {name: values[-1] for name, values in (response.get("multiValueHeaders") or {}).items()}
    return response["statusCode"], payload, headers


def new_project(name: str = "Roadmap") -> dict[str, str]:
    return {"project_id": str(uuid.uuid4()), "name": name}


def new_task(title: str = "Write it", hours: Any = 2.5) -> dict[str, Any]:
    return {"task_id": str(uuid.uuid4()), "title": title, "estimate_hours": hours}


@pytest.mark.usefixtures("served")
def test_creating_a_project_is_idempotent_and_a_reused_id_with_other_values_conflicts(
    db: TenancyDatabase,
) -> None:
    project = new_project()

    first = call("POST", "/projects", project)
    again = call("POST", "/projects", project)
    clash = call("POST", "/projects", {**project, "name": "Something else"})

    assert first[0] == 201
    assert first[1]["project"]["name"] == "Roadmap"
    assert (again[0], again[1]) == (200, first[1])
    assert (clash[0], clash[1]["code"]) == (409, "CONFLICT")
    assert call("GET", "/projects")[1]["projects"] == [first[1]["project"]]


@pytest.mark.usefixtures("served")
def test_each_caller_sees_only_its_tenants_projects(db: TenancyDatabase) -> None:
    call("POST", "/projects", new_project("A's"), tenant=TENANT_A)
    call("POST", "/projects", new_project("B's"), tenant=TENANT_B)

    assert [p["name"] for p in call("GET", "/projects", tenant=TENANT_A)[1]["projects"]] == ["A's"]
    assert [p["name"] for p in call("GET", "/projects", tenant=TENANT_B)[1]["projects"]] == ["B's"]


@pytest.mark.usefixtures("served")
def test_tasks_live_under_the_callers_projects_only(db: TenancyDatabase) -> None:
    mine = new_project()
    theirs = new_project()
    call("POST", "/projects", mine, tenant=TENANT_A)
    call("POST", "/projects", theirs, tenant=TENANT_B)
    task = new_task()

    created = call("POST", f"/projects/{mine['project_id']}/tasks", task)
    replayed = call("POST", f"/projects/{mine['project_id']}/tasks", task)
    into_theirs = call("POST", f"/projects/{theirs['project_id']}/tasks", new_task())
    list_theirs = call("GET", f"/projects/{theirs['project_id']}/tasks")

    assert created[0] == 201
    assert created[1]["task"] | {"created_at": None} == {
        "task_id": task["task_id"],
        "project_id": mine["project_id"],
        "title": "Write it",
        "done": False,
        "estimate_hours": "2.50",
        "created_at": None,
    }
    assert replayed[0] == 200
    # Another tenant's project answers exactly like a missing one: nothing to learn from probing.
    assert (into_theirs[0], into_theirs[1]["code"]) == (404, "NOT_FOUND")
    assert (list_theirs[0], list_theirs[1]["code"]) == (404, "NOT_FOUND")
    assert call("GET", f"/projects/{mine['project_id']}/tasks")[1]["tasks"] == [created[1]["task"]]


@pytest.mark.usefixtures("served")
def test_marking_a_task_done_and_the_report(db: TenancyDatabase) -> None:
    project = new_project()
    call("POST", "/projects", project)
    tasks = [new_task("one", 3), new_task("two", "1.25")]
    for task in tasks:
        call("POST", f"/projects/{project['project_id']}/tasks", task)

    done = call("PATCH", f"/tasks/{tasks[0]['task_id']}", {"done": True})
    by_b = call("PATCH", f"/tasks/{tasks[1]['task_id']}", {"done": True}, tenant=TENANT_B)
    report = call("GET", "/reports/projects")

    assert (done[0], done[1]["task"]["done"]) == (200, True)
    assert (by_b[0], by_b[1]["code"]) == (404, "NOT_FOUND")
    assert report[1]["projects"] == [
        {
            "project_id": project["project_id"],
            "name": "Roadmap",
            "status": "active",
            "task_count": 2,
            "done_count": 1,
            "open_hours": "1.25",
        }
    ]


@pytest.mark.usefixtures("served")
def test_deleting_a_project_cascades_and_another_tenant_cannot_delete_it(db: TenancyDatabase) -> None:
    project = new_project()
    call("POST", "/projects", project)
    call("POST", f"/projects/{project['project_id']}/tasks", new_task())

    by_b = call("DELETE", f"/projects/{project['project_id']}", tenant=TENANT_B)
    deleted = call("DELETE", f"/projects/{project['project_id']}")
    again = call("DELETE", f"/projects/{project['project_id']}")

    assert (by_b[0], deleted[0], again[0]) == (404, 204, 404)
    with db.admin() as admin:
        assert admin.execute("SELECT count(*) FROM app.tasks").fetchone() == (0,)


@pytest.mark.usefixtures("served")
@pytest.mark.parametrize(
    ("claims", "code"),
    [
        (None, "TENANT_CLAIM_INVALID"),
        ({}, "TENANT_CLAIM_INVALID"),
        ({"custom:tenant_id": "tenant-a' OR '1'='1"}, "TENANT_CLAIM_INVALID"),
        ({"custom:tenant_id": "Tenant-A"}, "TENANT_CLAIM_INVALID"),
        ({"custom:tenant_id": "tenant-z"}, "TENANT_UNKNOWN"),
    ],
)
def test_a_caller_without_a_valid_known_tenant_claim_is_refused(claims: Any, code: str) -> None:
    status, body, _ = call("GET", "/projects", claims=claims)

    assert (status, body["code"]) == (403, code)


@pytest.mark.usefixtures("served")
@pytest.mark.parametrize(
    ("path", "body", "errors"),
    [
        (
            "/projects",
            {"project_id": "nope", "name": ""},
            ["project_id must be a UUID string", "name must be 1-200 characters"],
        ),
        (
            "/projects",
            {"project_id": str(uuid.uuid4()), "name": "x", "tenant_id": TENANT_B},
            ["unknown field 'tenant_id'"],
        ),
        ("/projects", "{not json", None),
        ("/projects", None, ["a JSON body is required"]),
        ("/projects", [1, 2], ["the body must be a JSON object"]),
        ("/projects/not-a-uuid/tasks", new_task(), ["project_id must be a UUID string"]),
    ],
)
def test_malformed_requests_are_refused_with_every_problem_listed(
    path: str, body: Any, errors: list[str] | None
) -> None:
    status, payload, _ = call("POST", path, body)

    assert (status, payload["code"]) == (400, "MALFORMED_REQUEST")
    if errors is not None:
        assert payload["errors"] == errors


@pytest.mark.parametrize("hours", [-1, 10_000, "lots", True])
@pytest.mark.usefixtures("served")
def test_a_task_estimate_must_be_a_sensible_number(hours: Any) -> None:
    project = new_project()
    call("POST", "/projects", project)

    status, payload, _ = call("POST", f"/projects/{project['project_id']}/tasks", new_task(hours=hours))

    assert status == 400
    assert any("estimate_hours" in e for e in payload["errors"])


@pytest.mark.parametrize(
    ("status", "expected", "code"),
    [
        (TenantStatus.SUSPENDED, 403, "TENANT_SUSPENDED"),
        (TenantStatus.PROVISIONING, 503, "TENANT_PROVISIONING"),
    ],
)
def test_a_tenant_that_is_not_active_is_refused(
    db: TenancyDatabase,
    use_access: Callable[[TenantDataAccess], None],
    status: TenantStatus,
    expected: int,
    code: str,
) -> None:
    access = TenantDataAccess(
        StaticDirectory({TENANT_A: placement(db, TENANT_A, status=status)}), LOCAL_CONFIG
    )
    use_access(access)

    response = call("GET", "/projects")

    assert (response[0], response[1]["code"]) == (expected, code)
    if expected == 503:
        assert response[2]["Retry-After"] == "1"


def test_an_unreachable_database_is_a_retryable_503(
    db: TenancyDatabase,
    make_access: Callable[..., TenantDataAccess],
    use_access: Callable[[TenantDataAccess], None],
) -> None:
    def unreachable(settings: ConnectionSettings) -> pg8000.native.Connection:
        raise InterfaceError("Can't create a connection")

    use_access(
        make_access(config=AccessConfig(tls=TlsMode.DISABLE, backoff_base_seconds=0.0), connect=unreachable)
    )

    status, payload, headers = call("POST", "/projects", new_project())

    assert (status, payload["code"], headers["Retry-After"]) == (503, "DATABASE_UNAVAILABLE", "1")


@pytest.mark.parametrize("status", [TenantStatus.CUTOVER, TenantStatus.VERIFYING])
def test_a_write_at_the_end_of_a_move_is_a_retryable_503_while_reads_are_served(
    db: TenancyDatabase, use_access: Callable[[TenantDataAccess], None], status: TenantStatus
) -> None:
    use_access(
        TenantDataAccess(StaticDirectory({TENANT_A: placement(db, TENANT_A, status=status)}), LOCAL_CONFIG)
    )

    write_status, payload, headers = call("POST", "/projects", new_project())
    read_status, _, _ = call("GET", "/projects")

    assert (write_status, payload["code"], headers["Retry-After"]) == (503, "TENANT_MOVING", "1")
    assert read_status == 200
