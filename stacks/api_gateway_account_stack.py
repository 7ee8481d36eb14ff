"""Account-level API Gateway settings that the API stacks share (one per account and region)."""

from __future__ import annotations

from typing import Any

from constructs import Construct

from dbpatterns.common.api_logging import ApiGatewayCloudWatchRole
from stacks.base import ReferenceStack


class ApiGatewayAccountStack(ReferenceStack):
    """Sets API Gateway's CloudWatch Logs role once, so every REST API stage can log."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.cloud_watch_role = ApiGatewayCloudWatchRole(self, "CloudWatchRole")
