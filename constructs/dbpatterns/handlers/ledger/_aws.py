"""AWS clients and settings for the ledger handlers.

Clients are built on first use and cached for the life of the Lambda execution environment.
Tests call ``clear_clients()`` after starting moto, so every test gets clients bound to its mock.
boto3 ships without type information, so it is imported here only and typed as ``Any``.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any, Final

import boto3  # type: ignore[import-untyped, unused-ignore]
from botocore.config import Config  # type: ignore[import-untyped, unused-ignore]
from botocore.exceptions import ClientError  # type: ignore[import-untyped, unused-ignore]

__all__ = [
    "ClientError",
    "ConfigurationError",
    "clear_clients",
    "dynamodb_client",
    "error_code",
    "int_env",
    "require_env",
    "s3_client",
    "sns_client",
    "sqs_client",
    "streams_client",
]

# "standard" retries throttling and transient errors with backoff; conditional-check failures
# and transaction cancellations are never retried by the SDK, so our own logic sees them.
_CLIENT_CONFIG: Final = Config(retries={"mode": "standard", "max_attempts": 3})


class ConfigurationError(RuntimeError):
    """A required environment variable is missing or invalid."""


def require_env(name: str) -> str:
    """Return the non-empty environment variable ``name`` or raise a ConfigurationError naming it."""
    value = os.environ.get(name, "").strip()
    if not value:
        raise ConfigurationError(
            f"environment variable {name} is not set; the function cannot run without it"
        )
    return value


def int_env(name: str, *, default: int | None = None, minimum: int = 1) -> int:
    """Return the environment variable ``name`` as an integer >= ``minimum``."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        if default is None:
            raise ConfigurationError(
                f"environment variable {name} is not set; expected an integer >= {minimum}"
            )
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(
            f"environment variable {name}={raw!r} is not an integer; expected an integer >= {minimum}"
        ) from None
    if value < minimum:
        raise ConfigurationError(f"environment variable {name}={value} is too small; expected >= {minimum}")
    return value


def error_code(error: Exception) -> str:
    """The AWS error code of a botocore ClientError ("" for anything else)."""
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", ""))
    return ""


@cache
def dynamodb_client() -> Any:
    return boto3.client("dynamodb", config=_CLIENT_CONFIG)


@cache
def s3_client() -> Any:
    return boto3.client("s3", config=_CLIENT_CONFIG)


@cache
def sns_client() -> Any:
    return boto3.client("sns", config=_CLIENT_CONFIG)


@cache
def sqs_client() -> Any:
    return boto3.client("sqs", config=_CLIENT_CONFIG)


@cache
def streams_client() -> Any:
    return boto3.client("dynamodbstreams", config=_CLIENT_CONFIG)


def clear_clients() -> None:
    """Forget the cached clients (tests call this after starting a moto mock)."""
    for client in (dynamodb_client, s3_client, sns_client, sqs_client, streams_client):
        client.cache_clear()
