"""Posts and feeds: ``POST /posts``, ``GET /posts/{post_id}``, ``GET /users/{user_id}/posts``, ``GET /feed``.

``GET /feed?from=<UTC>&to=<UTC>&limit=<1-50>&cursor=<opaque>`` lists every post of ``[from, to)``
(default: the last 24 hours, at most 31 days), newest first, from the sharded Timeline GSI of the
local replica (:mod:`~dbpatterns.handlers.social.feed`). The response's ``next_cursor`` continues
the same range; a cursor is refused (400, field ``cursor``) by another range, when altered, or
after a day.
"""

from __future__ import annotations

import time
from typing import Any, Final

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from dbpatterns.handlers.social import runtime, schema, validation
from dbpatterns.handlers.social.cursor import InvalidCursorError
from dbpatterns.handlers.social.errors import NotFoundError
from dbpatterns.handlers.social.feed import FeedPosition
from dbpatterns.handlers.social.http import (
    check_id,
    json_response,
    register_error_handlers,
    require_principal,
)
from dbpatterns.handlers.social.times import iso_from_ms, ms_from_iso
from dbpatterns.handlers.social.validation import RequestError

DEFAULT_RANGE_MS: Final = 24 * 3_600_000
MAX_RANGE_MS: Final = 31 * 24 * 3_600_000
FEED_SCOPE: Final = "feed"

logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = APIGatewayRestResolver()
register_error_handlers(app, logger, metrics)


@app.post("/posts")
@tracer.capture_method
def create_post() -> Response[str]:
    principal = require_principal(app)
    request = validation.body(schema.POST_REQUEST_SCHEMA, app.current_event.body)
    post = runtime.services().store.create_post(principal.user_id, request["text"])
    metrics.add_metric(name="PostsCreated", unit=MetricUnit.Count, value=1)
    return json_response(201, post)


@app.get("/posts/<post_id>")
@tracer.capture_method
def get_post(post_id: str) -> Response[str]:
    post = runtime.services().store.post(check_id("post_id", post_id))
    if post is None:
        raise NotFoundError(f"no post {post_id}")
    return json_response(200, post)


@app.get("/users/<user_id>/posts")
@tracer.capture_method
def user_posts(user_id: str) -> Response[str]:
    check_id("user_id", user_id)
    params = validation.query(schema.PAGE_QUERY_SCHEMA, app.current_event.query_string_parameters)
    services = runtime.services()
    scope = f"posts|{user_id}"
    before = None
    if "cursor" in params:
        before = _decode(scope, params["cursor"]).get("before")
    posts, last = services.store.user_posts(user_id, validation.page_limit(params), before)
    next_cursor = services.cursors().encode(scope, {"before": last}) if last else None
    return json_response(200, {"posts": posts, "next_cursor": next_cursor})


@app.get("/feed")
@tracer.capture_method
def feed() -> Response[str]:
    params = validation.query(schema.FEED_QUERY_SCHEMA, app.current_event.query_string_parameters)
    services = runtime.services()
    limit = validation.page_limit(params)
    position = None
    if "cursor" in params:
        state = _decode(FEED_SCOPE, params["cursor"])
        from_ms, to_ms = int(state["from"]), int(state["to"])
        for name, value in (("from", from_ms), ("to", to_ms)):
            if name in params and ms_from_iso(params[name]) != value:
                raise RequestError("cursor", f"belongs to another range (its {name} is {iso_from_ms(value)})")
        position = FeedPosition.from_state(state["position"])
    else:
        from_ms, to_ms = _range(params)
    page = services.timeline.page(from_ms, to_ms, limit, position)
    services.store.attach_like_counts(page.posts)
    next_cursor = None
    if page.next_position is not None:
        next_cursor = services.cursors().encode(
            FEED_SCOPE, {"from": from_ms, "to": to_ms, "position": page.next_position.to_state()}
        )
    metrics.add_metric(name="FeedQueries", unit=MetricUnit.Count, value=page.queries)
    return json_response(
        200,
        {
            "posts": page.posts,
            "next_cursor": next_cursor,
            "from": iso_from_ms(from_ms),
            "to": iso_from_ms(to_ms),
        },
    )


def _range(params: dict[str, Any]) -> tuple[int, int]:
    to_ms = ms_from_iso(params["to"]) if "to" in params else int(time.time() * 1000)
    from_ms = ms_from_iso(params["from"]) if "from" in params else to_ms - DEFAULT_RANGE_MS
    if from_ms >= to_ms:
        raise RequestError("from", "must be earlier than to")
    if to_ms - from_ms > MAX_RANGE_MS:
        raise RequestError("from", "must be at most 31 days before to")
    return from_ms, to_ms


def _decode(scope: str, cursor: str) -> dict[str, Any]:
    try:
        return runtime.services().cursors().decode(scope, cursor)
    except InvalidCursorError as error:
        raise RequestError("cursor", str(error)) from None


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
