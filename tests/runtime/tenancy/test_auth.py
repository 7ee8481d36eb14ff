"""IAM auth tokens: signed locally by botocore (no network), cached until shortly before expiry."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from moto import mock_aws

from dbpatterns.errors import PropValidationError
from dbpatterns.runtime.tenancy.auth import IamTokenProvider
from tests.runtime.tenancy.support import FakeClock

HOST = "pool-001.abc123.us-east-1.rds.amazonaws.com"


class CountingSigner:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int, str, str | None]] = []

    def generate_db_auth_token(  # boto3's parameter names
        self,
        DBHostname: str,  # noqa: N803
        Port: int,  # noqa: N803
        DBUsername: str,  # noqa: N803
        Region: str | None = None,  # noqa: N803
    ) -> str:
        self.calls.append((DBHostname, Port, DBUsername, Region))
        return f"token-{len(self.calls)}"


def test_a_token_is_reused_until_the_refresh_point_then_signed_again() -> None:
    signer, clock = CountingSigner(), FakeClock()
    provider = IamTokenProvider(signer, region="us-east-1", clock=clock)

    first = provider.token(host=HOST, port=5432, user="tenancy_app")
    clock.advance(599)
    again = provider.token(host=HOST, port=5432, user="tenancy_app")
    clock.advance(1)
    renewed = provider.token(host=HOST, port=5432, user="tenancy_app")

    assert (first, again, renewed) == ("token-1", "token-1", "token-2")
    assert signer.calls == [(HOST, 5432, "tenancy_app", "us-east-1")] * 2


def test_tokens_are_cached_per_endpoint_and_user() -> None:
    signer = CountingSigner()
    provider = IamTokenProvider(signer, region="us-east-1", clock=FakeClock())

    provider.token(host=HOST, port=5432, user="a")
    provider.token(host=HOST, port=5432, user="b")
    provider.token(host="other", port=5432, user="a")
    provider.token(host=HOST, port=5432, user="a")

    assert provider.signed == 3


def test_the_password_callable_signs_lazily() -> None:
    signer = CountingSigner()
    password = IamTokenProvider(signer, region="eu-west-1", clock=FakeClock()).password_for(
        host=HOST, port=5432, user="tenancy_app"
    )

    assert signer.calls == []
    assert password() == "token-1"


@pytest.mark.parametrize("refresh", [0, 900, 1200])
def test_rejects_a_refresh_point_outside_the_token_lifetime(refresh: float) -> None:
    with pytest.raises(PropValidationError, match="token lifetime"):
        IamTokenProvider(CountingSigner(), region="us-east-1", refresh_after_seconds=refresh)


@mock_aws
def test_boto3_signs_a_15_minute_token_for_the_endpoint_and_user_without_a_network_call() -> None:
    provider = IamTokenProvider.from_boto3("us-east-1")

    token = provider.token(host=HOST, port=5432, user="tenancy_app")

    parts = urlsplit(f"https://{token}")
    query = parse_qs(parts.query)
    assert (parts.hostname, parts.port) == (HOST, 5432)
    assert query["Action"] == ["connect"]
    assert query["DBUser"] == ["tenancy_app"]
    assert query["X-Amz-Expires"] == ["900"]
    assert "/us-east-1/rds-db/aws4_request" in query["X-Amz-Credential"][0]
    assert provider.token(host=HOST, port=5432, user="tenancy_app") == token
    assert isinstance(
        boto3.client("rds", region_name="us-east-1").generate_db_auth_token(HOST, 5432, "x"), str
    )
