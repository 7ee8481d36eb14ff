"""AWS clients for the social handlers and the classification of their errors.

Timeouts are short on purpose: a handler has a < 50 ms read budget, and a region that does not answer
within a second is one Route 53 should route around, not one to wait for (botocore's default connect
timeout is 60 s). Clients are built once per execution environment. boto3 ships without type
information, so it is imported here only and typed as ``Any``.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Final

import boto3  # type: ignore[import-untyped, unused-ignore]
from botocore.config import Config  # type: ignore[import-untyped, unused-ignore]
from botocore.exceptions import (  # type: ignore[import-untyped, unused-ignore]
    ClientError,
    ConnectionError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

__all__ = ["ClientError", "cancellation_codes", "clear_clients", "dynamodb", "error_code", "is_unreachable"]

#: The local replica: same region, normally single-digit milliseconds.
_LOCAL: Final = Config(
    connect_timeout=1, read_timeout=2, retries={"mode": "standard", "max_attempts": 3}, tcp_keepalive=True
)
#: The home region (handle claims): one ocean away, so a longer read timeout and fewer retries.
_REMOTE: Final = Config(
    connect_timeout=2, read_timeout=3, retries={"mode": "standard", "max_attempts": 2}, tcp_keepalive=True
)
_UNREACHABLE: Final = (ConnectionError, EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError)


@cache
def dynamodb(region: str | None = None, endpoint_url: str | None = None) -> Any:
    """A DynamoDB client: the local region's by default, or ``region`` through ``endpoint_url``."""
    if region is None:
        return boto3.client("dynamodb", config=_LOCAL)
    return boto3.client("dynamodb", region_name=region, endpoint_url=endpoint_url, config=_REMOTE)


def clear_clients() -> None:
    """Forget cached clients (tests call it after starting a moto mock)."""
    dynamodb.cache_clear()


def error_code(error: BaseException) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", ""))
    return ""


def cancellation_codes(error: BaseException) -> list[str]:
    """Per-item reasons of a cancelled ``TransactWriteItems`` (``"None"`` for items that were fine)."""
    if not isinstance(error, ClientError):
        return []
    reasons = error.response.get("CancellationReasons") or []
    return [str(reason.get("Code", "None")) for reason in reasons]


def is_unreachable(error: BaseException) -> bool:
    """The endpoint did not answer (network, DNS, timeout), as opposed to answering with an error."""
    return isinstance(error, _UNREACHABLE)
