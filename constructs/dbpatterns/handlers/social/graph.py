"""Likes and follows: ``PUT``/``DELETE /posts/{post_id}/like``, ``PUT``/``DELETE /users/{user_id}/follow``.

Each is idempotent per user: repeating a like changes nothing (``changed: false``), and the counters
move only when the like or follow item itself appears or disappears, in the same transaction
(:mod:`~dbpatterns.handlers.social.store`).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from dbpatterns.handlers.social import runtime
from dbpatterns.handlers.social.http import (
    check_id,
    json_response,
    register_error_handlers,
    require_principal,
)

logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = APIGatewayRestResolver()
register_error_handlers(app, logger, metrics)


@app.put("/posts/<post_id>/like")
@tracer.capture_method
def like(post_id: str) -> Response[str]:
    check_id("post_id", post_id)
    principal = require_principal(app)
    changed = runtime.services().store.like(post_id, principal.user_id)
    metrics.add_metric(name="Likes" if changed else "RepeatedLikes", unit=MetricUnit.Count, value=1)
    return json_response(200, {"post_id": post_id, "liked": True, "changed": changed})


@app.delete("/posts/<post_id>/like")
@tracer.capture_method
def unlike(post_id: str) -> Response[str]:
    check_id("post_id", post_id)
    principal = require_principal(app)
    changed = runtime.services().store.unlike(post_id, principal.user_id)
    return json_response(200, {"post_id": post_id, "liked": False, "changed": changed})


@app.put("/users/<user_id>/follow")
@tracer.capture_method
def follow(user_id: str) -> Response[str]:
    check_id("user_id", user_id)
    principal = require_principal(app)
    changed = runtime.services().store.follow(principal.user_id, user_id)
    return json_response(200, {"user_id": user_id, "following": True, "changed": changed})


@app.delete("/users/<user_id>/follow")
@tracer.capture_method
def unfollow(user_id: str) -> Response[str]:
    check_id("user_id", user_id)
    principal = require_principal(app)
    changed = runtime.services().store.unfollow(principal.user_id, user_id)
    return json_response(200, {"user_id": user_id, "following": False, "changed": changed})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
