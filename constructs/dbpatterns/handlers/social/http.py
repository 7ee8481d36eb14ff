"""What every social API handler shares: JSON responses, error mapping and the session check.

Callers authenticate with ``Authorization: Bearer <session token>`` (from ``POST /sessions``). The
token is checked in-process against this region's cache copy (~1 ms) rather than by an API Gateway
authorizer, which would add a second Lambda invocation to every request's 50 ms budget.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.metrics import MetricUnit

from dbpatterns.handlers.social import runtime, schema
from dbpatterns.handlers.social.errors import SocialError, UnauthorizedError
from dbpatterns.handlers.social.sessions import Principal
from dbpatterns.handlers.social.validation import RequestError

_BEARER: Final = re.compile(r"^Bearer ([A-Za-z0-9_-]{20,128})$")
_ULID: Final = re.compile(schema.USER_ID_PATTERN)


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(body, sort_keys=True),
        headers=headers,
    )


def register_error_handlers(app: APIGatewayRestResolver, logger: Logger, metrics: Metrics) -> None:
    """400 naming the field for malformed input; each refusal's status; 503 with Retry-After."""

    @app.exception_handler(RequestError)  # type: ignore[untyped-decorator]
    def malformed(error: RequestError) -> Response[str]:
        metrics.add_metric(name="MalformedRequests", unit=MetricUnit.Count, value=1)
        return json_response(
            400,
            {"code": "MALFORMED_REQUEST", "field": error.field, "message": f"{error.field} {error.message}"},
        )

    @app.exception_handler(SocialError)  # type: ignore[untyped-decorator]
    def refused(error: SocialError) -> Response[str]:
        logger.info("request refused", extra={"code": error.code, "reason": str(error)})
        metrics.add_metric(name=f"Refused{error.status}", unit=MetricUnit.Count, value=1)
        headers = {"Retry-After": str(error.retry_after)} if error.retry_after is not None else None
        return json_response(error.status, {"code": error.code, "message": str(error)}, headers)


def bearer_token(app: APIGatewayRestResolver) -> str:
    header = app.current_event.headers.get("Authorization") or app.current_event.headers.get("authorization")
    match = _BEARER.match(header or "")
    if match is None:
        raise UnauthorizedError("send Authorization: Bearer <session token> (from POST /sessions)")
    return match.group(1)


def require_principal(app: APIGatewayRestResolver) -> Principal:
    """The signed-in user of this request, or 401."""
    principal = runtime.services().sessions.authenticate(bearer_token(app))
    if principal is None:
        raise UnauthorizedError("the session is unknown, expired or logged out; sign in again")
    return principal


def check_id(field: str, value: str) -> str:
    """A path id must be a ULID (400 naming the field otherwise)."""
    if not _ULID.fullmatch(value):
        raise RequestError(field, f"must match {schema.USER_ID_PATTERN}")
    return value
