"""JSON responses shared by the ledger's API handlers (command and query)."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.metrics import MetricUnit

metrics = Metrics()


def json_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(body, sort_keys=True),
        headers=headers,
    )


def malformed(errors: list[str]) -> Response[str]:
    """400 ``MALFORMED_REQUEST`` listing every problem, each naming its field."""
    metrics.add_metric(name="MalformedRequests", unit=MetricUnit.Count, value=1)
    return json_response(
        400, {"code": "MALFORMED_REQUEST", "message": "the request is malformed", "errors": errors}
    )
