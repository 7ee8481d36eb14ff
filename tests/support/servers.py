"""Reaching the real database and cache servers the relational and cache tests use.

Outside CI a missing server skips the test with a reason that says which server and how
to start it; in CI (``CI=true``) a missing server fails the test, because `.ci/run` starts
every server the suite needs and a skip there would hide a broken pipeline.
"""

from __future__ import annotations

import os
import socket

import pytest

POSTGRES = ("PostgreSQL", "127.0.0.1", 5432)
MYSQL = ("MySQL/MariaDB", "127.0.0.1", 3306)
REDIS = ("Redis", "127.0.0.1", 6379)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def is_reachable(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require_server(server: tuple[str, str, int]) -> None:
    """Skip (locally) or fail (in CI) the calling test when ``server`` is not listening."""
    name, host, port = server
    if is_reachable(host, port):
        return
    message = f"{name} is not reachable on {host}:{port}; start it (see .ci/run) to run this test"
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)
