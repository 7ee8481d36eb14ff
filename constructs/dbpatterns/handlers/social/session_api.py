"""Sessions: ``POST /sessions`` (sign in), ``POST /sessions/refresh``, ``DELETE /sessions`` (sign out).

Sign-in checks the password against the credential item and starts a session on the cache primary
(see :mod:`~dbpatterns.handlers.social.sessions` for where each step runs and what it costs).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from dbpatterns.handlers.social import keys, passwords, runtime, schema, validation
from dbpatterns.handlers.social.errors import UnauthorizedError
from dbpatterns.handlers.social.http import bearer_token, json_response, register_error_handlers
from dbpatterns.handlers.social.store import text
from dbpatterns.handlers.social.times import iso_from_ms

logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = APIGatewayRestResolver()
register_error_handlers(app, logger, metrics)

_BAD_LOGIN = "the handle or the password is wrong"


@app.post("/sessions")
@tracer.capture_method
def login() -> Response[str]:
    request = validation.body(schema.LOGIN_REQUEST_SCHEMA, app.current_event.body)
    services = runtime.services()
    user_id = services.handles.resolve(request["handle"])
    credential = services.handles.get(keys.user_pk(user_id), keys.CREDENTIAL_SK) if user_id else None
    if user_id is None or credential is None:
        passwords.burn(request["password"])
        raise UnauthorizedError(_BAD_LOGIN)
    if not passwords.verify_password(request["password"], text(credential, "password_hash")):
        metrics.add_metric(name="FailedLogins", unit=MetricUnit.Count, value=1)
        raise UnauthorizedError(_BAD_LOGIN)
    token, expires_at = services.sessions.login(user_id)
    metrics.add_metric(name="Logins", unit=MetricUnit.Count, value=1)
    return json_response(
        201, {"token": token, "user_id": user_id, "expires_at": iso_from_ms(int(expires_at * 1000))}
    )


@app.post("/sessions/refresh")
@tracer.capture_method
def refresh() -> Response[str]:
    expires_at = runtime.services().sessions.refresh(bearer_token(app))
    if expires_at is None:
        raise UnauthorizedError("the session is unknown, expired or logged out; sign in again")
    return json_response(200, {"expires_at": iso_from_ms(int(expires_at * 1000))})


@app.delete("/sessions")
@tracer.capture_method
def logout() -> Response[str]:
    runtime.services().sessions.logout(bearer_token(app))
    return Response(status_code=204, body="")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
