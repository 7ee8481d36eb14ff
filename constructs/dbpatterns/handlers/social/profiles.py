"""Profiles: ``POST /users`` (register), ``GET /users/{user_id}``, ``PATCH /users/{user_id}``.

Registration and handle changes are written in the home region (see
:mod:`~dbpatterns.handlers.social.handles`); reads and display-name/bio changes use the local replica.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from dbpatterns.handlers.social import ids, passwords, runtime, schema, validation
from dbpatterns.handlers.social.errors import ForbiddenError, NotFoundError
from dbpatterns.handlers.social.http import (
    check_id,
    json_response,
    register_error_handlers,
    require_principal,
)
from dbpatterns.handlers.social.validation import RequestError

logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = APIGatewayRestResolver()
register_error_handlers(app, logger, metrics)


@app.post("/users")
@tracer.capture_method
def register() -> Response[str]:
    request = validation.body(schema.REGISTER_REQUEST_SCHEMA, app.current_event.body)
    services = runtime.services()
    user_id = ids.new_ulid(services.store.now_ms())
    services.handles.register(
        user_id=user_id,
        handle=request["handle"],
        display_name=request["display_name"],
        password_hash=passwords.hash_password(request["password"]),
    )
    metrics.add_metric(name="UsersRegistered", unit=MetricUnit.Count, value=1)
    return json_response(201, {"user_id": user_id, "handle": request["handle"]})


@app.get("/users/<user_id>")
@tracer.capture_method
def get_profile(user_id: str) -> Response[str]:
    profile = runtime.services().store.profile(check_id("user_id", user_id))
    if profile is None:
        raise NotFoundError(f"no user {user_id}")
    return json_response(200, profile)


@app.patch("/users/<user_id>")
@tracer.capture_method
def update_profile(user_id: str) -> Response[str]:
    check_id("user_id", user_id)
    principal = require_principal(app)
    if principal.user_id != user_id:
        raise ForbiddenError("a user may only change their own profile")
    request = validation.body(schema.PROFILE_UPDATE_SCHEMA, app.current_event.body)
    if not request:
        raise RequestError("body", "must change at least one of display_name, bio, handle")
    services = runtime.services()
    if "handle" in request:
        services.handles.change(user_id, request["handle"])
    changes: dict[str, str] = {name: request[name] for name in ("display_name", "bio") if name in request}
    if changes:
        services.store.update_profile(user_id, changes)
    profile = services.store.profile(user_id) or {}
    # The local replica may not show a handle changed in the home region yet: answer with what was asked.
    profile.update(changes)
    if "handle" in request:
        profile["handle"] = request["handle"]
    return json_response(200, profile)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
