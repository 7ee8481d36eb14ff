"""``GET /health``: what Route 53's health checks call in each region.

Healthy (200) when the local table replica answers a ``GetItem``. The cache is reported but does not
make the region unhealthy: the handlers fall back to the table without it, and moving a whole
region's users because of a cache node would trade a small slowdown for a cross-ocean one. A 503
makes Route 53 stop answering with this region after the health check's failure threshold.
"""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from dbpatterns.handlers.social import keys, runtime
from dbpatterns.handlers.social.http import json_response

logger = Logger()
tracer = Tracer()
app = APIGatewayRestResolver()


@app.get("/health")
def health() -> Response[str]:
    services = runtime.services()
    checks: dict[str, Any] = {}
    started = time.perf_counter()
    try:
        services.local_client.get_item(
            TableName=services.settings.table, Key={"pk": {"S": keys.HEALTH_PK}, "sk": {"S": keys.HEALTH_PK}}
        )
        checks["table"] = {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}
    except Exception as error:
        logger.exception("health check: the local table replica does not answer")
        checks["table"] = {"ok": False, "error": type(error).__name__}
    if services.sessions.local is not None:
        started = time.perf_counter()
        try:
            services.sessions.local.execute("health_ping", "ping", lambda r: r.ping())
            checks["cache"] = {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}
        except Exception as error:
            checks["cache"] = {"ok": False, "error": type(error).__name__}
    healthy = bool(checks["table"]["ok"])
    status = "ok" if healthy and all(check["ok"] for check in checks.values()) else "degraded"
    return json_response(
        200 if healthy else 503,
        {"status": status if healthy else "unhealthy", "region": services.settings.region, "checks": checks},
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
