"""Example tenant API (API Gateway REST, proxy integration, Lambda in the VPC): tenant-scoped CRUD
through :class:`~dbpatterns.runtime.tenancy.access.TenantDataAccess`.

The tenant is the caller's, never the URL's: it comes from the Cognito user pool authorizer's
claim ``custom:tenant_id`` (``requestContext.authorizer.claims``). A path or body cannot name another
tenant, and RLS would return nothing if one tried.

Routes (JSON in and out; ids are UUIDs chosen by the client, which makes every write idempotent):

- ``GET /projects``; ``POST /projects`` ``{"project_id", "name"}`` -> 201 (200 when replayed);
  ``DELETE /projects/{project_id}`` -> 204
- ``GET /projects/{project_id}/tasks``; ``POST /projects/{project_id}/tasks``
  ``{"task_id", "title", "estimate_hours"?}`` -> 201 (200 when replayed)
- ``PATCH /tasks/{task_id}`` ``{"done": true}``
- ``GET /reports/projects``: the summary view, from the Aurora reader endpoint for enterprise tenants

Errors: 400 ``MALFORMED_REQUEST`` (``errors`` lists every problem), 403 ``TENANT_UNKNOWN`` /
``TENANT_CLAIM_INVALID`` / ``TENANT_SUSPENDED``, 404 ``NOT_FOUND``, 409 ``CONFLICT`` (an id reused
with other values), 503 ``DATABASE_UNAVAILABLE``, ``TENANT_PROVISIONING`` or ``TENANT_MOVING`` (writes
paused for the last seconds of a tier move; reads are still served) with ``Retry-After``.

Env: ``TENANT_DIRECTORY_TABLE``, ``RDS_CA_BUNDLE``, ``AWS_REGION``.
"""

from __future__ import annotations

import functools
import json
import os
import uuid
from collections.abc import Callable
from typing import Any, Final, ParamSpec

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from dbpatterns.errors import PropValidationError
from dbpatterns.handlers.tenancy import projects
from dbpatterns.runtime.tenancy.access import (
    AccessConfig,
    DatabaseUnavailableError,
    TenantDataAccess,
    TenantMovingError,
    TenantUnavailableError,
    WriteInterruptedError,
)
from dbpatterns.runtime.tenancy.auth import IamTokenProvider
from dbpatterns.runtime.tenancy.directory import TenantDirectory, UnknownTenantError
from dbpatterns.runtime.tenancy.ids import is_tenant_id

logger = Logger()
app = APIGatewayRestResolver()

TENANT_CLAIM: Final = "custom:tenant_id"
RETRY_AFTER_SECONDS: Final = "1"

_access: TenantDataAccess | None = None
_P = ParamSpec("_P")


def use_access(access: TenantDataAccess | None) -> None:
    """Set the data-access object (tests); ``None`` builds it from the environment on first use."""
    global _access  # one per execution environment, reused by warm invocations
    _access = access


def current_access() -> TenantDataAccess:
    global _access
    if _access is None:
        import boto3  # only the deployed function builds its own clients

        region = os.environ["AWS_REGION"]
        directory = TenantDirectory(
            boto3.resource("dynamodb", region_name=region).Table(os.environ["TENANT_DIRECTORY_TABLE"])
        )
        _access = TenantDataAccess(
            directory,
            AccessConfig(ca_bundle=os.environ["RDS_CA_BUNDLE"], service_name="tenant-api"),
            token_provider=IamTokenProvider.from_boto3(region),
        )
    return _access


class _TenantClaimError(Exception):
    """The caller's token carries no usable ``custom:tenant_id`` claim (answered with 403)."""


def _tenant() -> str:
    authorizer = app.current_event.request_context.authorizer
    claims = authorizer.claims if authorizer is not None else None
    tenant_id = (claims or {}).get(TENANT_CLAIM)
    if not is_tenant_id(tenant_id):
        raise _TenantClaimError(tenant_id)
    logger.append_keys(tenant_id=tenant_id)
    return str(tenant_id)


def _body() -> Any:
    raw = app.current_event.body
    if raw is None or not raw.strip():
        raise projects.InvalidRequestError(["a JSON body is required"])
    try:
        return json.loads(raw)
    except ValueError as error:
        raise projects.InvalidRequestError([f"body is not valid JSON: {error}"]) from None


def _path_uuid(value: str, name: str) -> uuid.UUID:
    errors: list[str] = []
    parsed = projects.parse_uuid(value, name, errors)
    if errors:
        raise projects.InvalidRequestError(errors)
    return parsed


# -------------------------------------------------------------------------------------- refusals


def _refusal(status: int, code: str, message: str, **extra: Any) -> Response[str]:
    headers = {"Retry-After": RETRY_AFTER_SECONDS} if status == 503 else None
    return _json(status, {"code": code, "message": message, **extra}, headers)


def _refused(error: Exception) -> Response[str] | None:
    """The response for an error a caller can act on; None for anything else (a 500)."""
    if isinstance(error, projects.InvalidRequestError):
        return _refusal(400, "MALFORMED_REQUEST", "the request is malformed", errors=error.errors)
    if isinstance(error, _TenantClaimError | PropValidationError):
        return _refusal(403, "TENANT_CLAIM_INVALID", "the caller has no valid tenant claim")
    if isinstance(error, UnknownTenantError):
        return _refusal(403, "TENANT_UNKNOWN", "the caller's tenant is not served here")
    if isinstance(error, TenantMovingError):
        return _refusal(503, "TENANT_MOVING", "the tenant is being moved; writes resume in seconds, retry")
    if isinstance(error, TenantUnavailableError):
        if error.status == "provisioning":
            return _refusal(503, "TENANT_PROVISIONING", "the tenant is being set up; retry shortly")
        return _refusal(403, "TENANT_SUSPENDED", "the tenant is suspended")
    if isinstance(error, projects.NotFoundError):
        return _refusal(404, "NOT_FOUND", str(error))
    if isinstance(error, projects.ConflictError):
        return _refusal(409, "CONFLICT", str(error))
    if isinstance(error, DatabaseUnavailableError | WriteInterruptedError):
        return _refusal(503, "DATABASE_UNAVAILABLE", "the database is unavailable; retry")
    return None


def refusals(route: Callable[_P, Response[str]]) -> Callable[_P, Response[str]]:
    """Turn the errors a caller can act on into JSON refusals; anything else stays a 500."""

    @functools.wraps(route)
    def guarded(*args: _P.args, **kwargs: _P.kwargs) -> Response[str]:
        try:
            return route(*args, **kwargs)
        except Exception as error:
            response = _refused(error)
            if response is None:
                raise
            logger.info("refused", extra={"refusal": type(error).__name__, "status": response.status_code})
            return response

    return guarded


# ------------------------------------------------------------------------------------------ routes


@app.get("/projects")
@refusals
def get_projects() -> Response[str]:
    return _json(200, {"projects": projects.list_projects(current_access(), _tenant())})


@app.post("/projects")
@refusals
def post_project() -> Response[str]:
    tenant_id = _tenant()
    project, created = projects.create_project(current_access(), tenant_id, projects.parse_project(_body()))
    return _json(201 if created else 200, {"project": project})


@app.delete("/projects/<project_id>")
@refusals
def delete_project(project_id: str) -> Response[str]:
    tenant_id = _tenant()
    projects.delete_project(current_access(), tenant_id, _path_uuid(project_id, "project_id"))
    return Response(status_code=204, content_type=content_types.APPLICATION_JSON, body="")


@app.get("/projects/<project_id>/tasks")
@refusals
def get_tasks(project_id: str) -> Response[str]:
    tenant_id = _tenant()
    tasks = projects.list_tasks(current_access(), tenant_id, _path_uuid(project_id, "project_id"))
    return _json(200, {"tasks": tasks})


@app.post("/projects/<project_id>/tasks")
@refusals
def post_task(project_id: str) -> Response[str]:
    tenant_id = _tenant()
    parent = _path_uuid(project_id, "project_id")
    task, created = projects.create_task(current_access(), tenant_id, parent, projects.parse_task(_body()))
    return _json(201 if created else 200, {"task": task})


@app.patch("/tasks/<task_id>")
@refusals
def patch_task(task_id: str) -> Response[str]:
    tenant_id = _tenant()
    done = projects.parse_task_update(_body())
    return _json(
        200,
        {"task": projects.set_task_done(current_access(), tenant_id, _path_uuid(task_id, "task_id"), done)},
    )


@app.get("/reports/projects")
@refusals
def get_report() -> Response[str]:
    return _json(200, {"projects": projects.project_report(current_access(), _tenant())})


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(body, sort_keys=True),
        headers=headers,
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
