"""Settings from the environment: required variables, defaults, and the cache being optional."""

from __future__ import annotations

import pytest

from dbpatterns.handlers.social import passwords
from dbpatterns.handlers.social.runtime import ConfigurationError, Settings

BASE = {
    "AWS_REGION": "eu-west-1",
    "SOCIAL_TABLE_NAME": "social",
    "SOCIAL_REGIONS": "us-east-1,eu-west-1,ap-southeast-1",
    "HOME_REGION": "us-east-1",
    "CURSOR_SECRET_ID": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:cursor-AbCdEf",
}


def test_settings_default_the_layout_and_need_no_cache() -> None:
    settings = Settings.from_env(BASE)
    assert (settings.timeline.shards, settings.timeline.bucket_seconds, settings.counter_shards) == (
        8,
        86_400,
        1,
    )
    assert settings.cache is None


def test_settings_read_the_cache_endpoints() -> None:
    settings = Settings.from_env(
        {
            **BASE,
            "CACHE_READER_HOST": "replica.euw1.cache.amazonaws.com",
            "CACHE_PRIMARY_HOST": "master.use1.cache.amazonaws.com",
            "CACHE_PRIMARY_REGION": "us-east-1",
            "CACHE_PORT": "6380",
        }
    )
    assert settings.cache is not None
    assert (settings.cache.primary.region, settings.cache.port, settings.cache.tls) == (
        "us-east-1",
        6380,
        True,
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"SOCIAL_TABLE_NAME": ""}, "SOCIAL_TABLE_NAME"),
        ({"TIMELINE_SHARDS": "many"}, "TIMELINE_SHARDS"),
        ({"TIMELINE_SHARDS": "0"}, "shards"),
        ({"SOCIAL_REGIONS": "us-east-1"}, "not among"),
        ({"CACHE_READER_HOST": "replica"}, "CACHE_PRIMARY_REGION"),
    ],
)
def test_rejects_a_bad_environment(changes: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Settings.from_env({**BASE, **changes})


def test_passwords_verify_and_refuse() -> None:
    stored = passwords.hash_password("correct horse battery")
    assert passwords.verify_password("correct horse battery", stored)
    assert not passwords.verify_password("wrong horse battery", stored)
    assert not passwords.verify_password("anything", "not-a-hash")
