"""What the social handlers refuse, and the HTTP status each refusal maps to."""

from __future__ import annotations


class SocialError(Exception):
    """A refusal the API reports to the caller (never a bug)."""

    status = 400
    code = "REFUSED"
    #: Seconds the client should wait before retrying (``Retry-After``), for retryable refusals.
    retry_after: int | None = None


class UnauthorizedError(SocialError):
    status = 401
    code = "UNAUTHORIZED"


class ForbiddenError(SocialError):
    status = 403
    code = "FORBIDDEN"


class NotFoundError(SocialError):
    status = 404
    code = "NOT_FOUND"


class HandleTakenError(SocialError):
    status = 409
    code = "HANDLE_TAKEN"


class ConflictError(SocialError):
    """Someone changed the same items at the same moment; the bounded retries did not get through."""

    status = 409
    code = "CONFLICT"
    retry_after = 1


class HomeRegionUnavailableError(SocialError):
    """Handle claims are serialized in one home region, and it cannot be reached from here now."""

    status = 503
    code = "HOME_REGION_UNAVAILABLE"
    retry_after = 30


class SessionStoreUnavailableError(SocialError):
    """Neither the session cache nor the session records could record the change (e.g. a logout)."""

    status = 503
    code = "SESSION_STORE_UNAVAILABLE"
    retry_after = 5
