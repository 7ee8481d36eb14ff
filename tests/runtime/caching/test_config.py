"""Connection settings: secure, fast-failing defaults and clear errors for bad values."""

from __future__ import annotations

import pytest
import redis

from dbpatterns.runtime.caching import CacheConfig, connect


def test_production_defaults_use_tls_and_short_timeouts() -> None:
    client = connect(CacheConfig(host="master.orders.abc123.use1.cache.amazonaws.com", password="token"))

    pool = client.connection_pool
    assert pool.connection_class is redis.SSLConnection
    assert pool.connection_kwargs["ssl_cert_reqs"] == "required"
    assert pool.connection_kwargs["ssl_check_hostname"] is True
    assert pool.connection_kwargs["socket_timeout"] == 0.1
    assert pool.connection_kwargs["socket_connect_timeout"] == 0.2


def test_a_dropped_connection_is_retried_once() -> None:
    retry = connect(CacheConfig(host="cache.internal")).connection_pool.connection_kwargs["retry"]

    assert retry.get_retries() == 1


def test_password_is_not_shown_in_repr() -> None:
    config = CacheConfig(host="cache.internal", username="app", password="s3cret-token")

    assert "s3cret-token" not in repr(config)


def test_plain_text_is_allowed_with_a_password_on_loopback_only() -> None:
    config = CacheConfig(host="127.0.0.1", tls=False, password="local")

    assert connect(config).connection_pool.connection_class is redis.Connection


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"host": ""}, "CacheConfig.host is empty"),
        ({"port": 0}, "CacheConfig.port is 0; allowed: 1-65535"),
        ({"port": 70000}, "CacheConfig.port is 70000; allowed: 1-65535"),
        ({"db": -1}, "CacheConfig.db is -1; allowed: 0 or more"),
        ({"socket_timeout_seconds": 0}, "CacheConfig.socket_timeout_seconds is 0; allowed: more than 0"),
        ({"connect_timeout_seconds": 30}, "CacheConfig.connect_timeout_seconds is 30; allowed: more than 0"),
        ({"retries_on_connection_error": 4}, "CacheConfig.retries_on_connection_error is 4; allowed: 0-3"),
        (
            {"tls": False, "password": "token"},
            "CacheConfig.password is set with tls=False for host 'cache.internal'",
        ),
    ],
)
def test_rejects_invalid_settings(options: dict[str, object], message: str) -> None:
    settings: dict[str, object] = {"host": "cache.internal", **options}
    with pytest.raises(ValueError, match=message):
        CacheConfig(**settings)  # type: ignore[arg-type]
