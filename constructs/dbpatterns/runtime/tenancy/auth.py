"""IAM database authentication tokens, generated locally and cached until shortly before they expire.

``rds.generate_db_auth_token`` signs a URL with the caller's credentials (SigV4, no network call);
the token is valid for 15 minutes and is checked only when a connection is opened, so an open
connection outlives it. Generating one per connection is cheap, but a burst of connections (a cold
start of many Lambda environments, a reconnect storm after a failover) would sign hundreds of
tokens a second, so they are cached per (host, port, user, region) and renewed after
``refresh_after_seconds`` (10 minutes by default: a 5-minute margin for clock skew and slow
handshakes). The Lambda role needs ``rds-db:connect`` on
``arn:aws:rds-db:{region}:{account}:dbuser:{DbiResourceId}/{user}``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from dbpatterns.errors import PropValidationError

#: How long RDS accepts a token, and when we renew it.
TOKEN_LIFETIME_SECONDS = 15 * 60
DEFAULT_REFRESH_AFTER_SECONDS = 10 * 60


class TokenSigner(Protocol):
    """What an RDS boto3 client offers (``boto3.client("rds").generate_db_auth_token``)."""

    def generate_db_auth_token(  # boto3's parameter names
        self,
        DBHostname: str,  # noqa: N803
        Port: int,  # noqa: N803
        DBUsername: str,  # noqa: N803
        Region: str | None = None,  # noqa: N803
    ) -> str: ...


class IamTokenProvider:
    """Hands out a valid IAM auth token for one database user, signing a new one when needed."""

    def __init__(
        self,
        signer: TokenSigner,
        *,
        region: str,
        refresh_after_seconds: float = DEFAULT_REFRESH_AFTER_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 < refresh_after_seconds < TOKEN_LIFETIME_SECONDS:
            raise PropValidationError(
                "IamTokenProvider",
                "refresh_after_seconds",
                refresh_after_seconds,
                f"allowed: more than 0 and less than the {TOKEN_LIFETIME_SECONDS}-second token lifetime",
            )
        self._signer = signer
        self._region = region
        self._refresh_after = refresh_after_seconds
        self._clock = clock
        self._tokens: dict[tuple[str, int, str], tuple[str, float]] = {}
        self._lock = threading.Lock()
        self.signed = 0
        """How many tokens were signed (tests and metrics)."""

    def token(self, *, host: str, port: int, user: str) -> str:
        key = (host, port, user)
        now = self._clock()
        with self._lock:
            cached = self._tokens.get(key)
            if cached is not None and now - cached[1] < self._refresh_after:
                return cached[0]
            token = self._signer.generate_db_auth_token(
                DBHostname=host, Port=port, DBUsername=user, Region=self._region
            )
            self._tokens[key] = (token, now)
            self.signed += 1
            return token

    def password_for(self, *, host: str, port: int, user: str) -> Callable[[], str]:
        """A password callable for :class:`~dbpatterns.runtime.tenancy.connection.ConnectionSettings`."""

        def password() -> str:
            return self.token(host=host, port=port, user=user)

        return password

    @classmethod
    def from_boto3(cls, region: str, **kwargs: Any) -> IamTokenProvider:
        """Sign with the execution role's credentials (the Lambda default chain)."""
        import boto3  # only the AWS path needs boto3

        return cls(boto3.client("rds", region_name=region), region=region, **kwargs)
