"""Who the caller is: the one mapping from an API caller's IAM identity to a flash-sale customer id.

Both APIs are IAM-authorized (SigV4), so API Gateway knows the caller's identity and puts it in the
request context: ``$context.identity.userArn`` and, for Cognito identity-pool credentials,
``$context.identity.cognitoIdentityId``. The customer id of a caller is:

1. With a Cognito identity id (``us-east-1:0f8b7c1e-...``): that id with ``:`` replaced by ``_``
   (``us-east-1_0f8b7c1e-...``). The replacement is reversible (regions and UUIDs hold no ``_``), so
   two identities never share a customer id. The ``userArn`` of such a caller names the identity
   pool's role with the fixed session name ``CognitoIdentityCredentials``, so it is not used.
2. Otherwise, for an assumed role (``arn:aws:sts::<account>:assumed-role/<role>/<session>``): the
   role session name. A storefront acting for many shoppers assumes its customer role once per
   shopper with ``RoleSessionName=<customer_id>``; whoever may assume that role is trusted to name
   the session, exactly as the storefront was trusted to write ``customer_id`` in the body. When
   ``customer_roles`` is given, only sessions of those roles are customers.
3. Anything else (IAM users, the root user, federated users, no identity): no customer; the caller
   is refused.

The result must also be a valid customer id (``schema.ID_PATTERN``): a session name such as
``alice@example.com`` is refused rather than rewritten, so one customer id never stands for two
callers.

The order API stamps the same two values on each SQS message (message attributes
``caller_user_arn`` and ``caller_cognito_identity_id``), so the processor and the read API apply
this one mapping.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Final

from dbpatterns.handlers.flash_sale.schema import ID_PATTERN

CALLER_ARN_ATTRIBUTE: Final = "caller_user_arn"
"""SQS message attribute holding the caller's ``$context.identity.userArn``."""
CALLER_COGNITO_ATTRIBUTE: Final = "caller_cognito_identity_id"
"""SQS message attribute holding the caller's ``$context.identity.cognitoIdentityId``, when it has one."""

_ASSUMED_ROLE_ARN: Final = re.compile(
    r"^arn:aws[a-z-]*:sts::\d{12}:assumed-role/(?P<role>[\w+=,.@-]{1,64})/(?P<session>[\w+=,.@-]{2,64})$"
)
_CUSTOMER_ID: Final = re.compile(ID_PATTERN)


class UnmappableCallerError(ValueError):
    """The caller's identity maps to no customer id."""


@dataclass(frozen=True, kw_only=True)
class CallerIdentity:
    """What API Gateway knows about an IAM-authorized caller."""

    user_arn: str | None
    cognito_identity_id: str | None = None

    @classmethod
    def from_message_attributes(cls, attributes: Mapping[str, Any]) -> CallerIdentity | None:
        """The caller the order API stamped on an SQS message (Lambda's event format), or None."""
        user_arn = _string_attribute(attributes, CALLER_ARN_ATTRIBUTE)
        cognito_identity_id = _string_attribute(attributes, CALLER_COGNITO_ATTRIBUTE)
        if user_arn is None and cognito_identity_id is None:
            return None
        return cls(user_arn=user_arn, cognito_identity_id=cognito_identity_id)


def customer_id_of(caller: CallerIdentity, *, customer_roles: Collection[str] | None = None) -> str:
    """The customer id of ``caller`` (see the module docstring); raise UnmappableCallerError if none.

    ``customer_roles``: names of the roles whose sessions are customers; None admits any role (the
    API's ``execute-api:Invoke`` grants are then the only gate).
    """
    role = _assumed_role(caller.user_arn)
    if customer_roles is not None and (role is None or role[0] not in customer_roles):
        roles = ", ".join(sorted(customer_roles))
        raise UnmappableCallerError(
            f"caller {caller.user_arn!r} is not a session of a customer role ({roles})"
        )
    if caller.cognito_identity_id:
        candidate = caller.cognito_identity_id.replace(":", "_")
    elif role is not None:
        candidate = role[1]
    else:
        raise UnmappableCallerError(
            f"caller {caller.user_arn!r} is not an assumed-role session or a Cognito identity, so it is "
            "no customer"
        )
    if not _CUSTOMER_ID.fullmatch(candidate):
        raise UnmappableCallerError(
            f"caller {caller.user_arn!r} maps to {candidate!r}, which is not a customer id ({ID_PATTERN})"
        )
    return candidate


def _assumed_role(user_arn: str | None) -> tuple[str, str] | None:
    """(role name, session name) of an assumed-role ARN, or None for any other identity."""
    match = _ASSUMED_ROLE_ARN.fullmatch(user_arn or "")
    return None if match is None else (match["role"], match["session"])


def _string_attribute(attributes: Mapping[str, Any], name: str) -> str | None:
    attribute = attributes.get(name)
    if not isinstance(attribute, Mapping):
        return None
    value = attribute.get("stringValue")
    return value if isinstance(value, str) and value else None
