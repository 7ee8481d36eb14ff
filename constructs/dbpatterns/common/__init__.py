"""Shared secure defaults that every construct in dbpatterns reuses."""

from dbpatterns.common.alarms import alarm_on_metric
from dbpatterns.common.api_logging import AccountCloudWatchRole, ApiGatewayCloudWatchRole
from dbpatterns.common.encryption import create_key
from dbpatterns.common.function import HandlerFunction, handler_code
from dbpatterns.common.logs import create_log_group
from dbpatterns.common.network import DeployTimeAzStack, IsolatedNetwork, deploy_time_availability_zones
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.queue import SecureQueue
from dbpatterns.common.validation import PropValidationError

__all__ = [
    "AccountCloudWatchRole",
    "ApiGatewayCloudWatchRole",
    "DeployTimeAzStack",
    "DeploymentProfile",
    "HandlerFunction",
    "IsolatedNetwork",
    "PropValidationError",
    "SecureQueue",
    "alarm_on_metric",
    "create_key",
    "create_log_group",
    "deploy_time_availability_zones",
    "handler_code",
]
