"""Tenant ids: one safe slug that may appear in stack names, database identifiers, DynamoDB keys,
``application_name`` and log lines without quoting.

A tenant id is 3-40 characters: lowercase letters, digits and single hyphens, starting with a letter
and not ending with a hyphen (``acme``, ``blue-bird-42``). That fits every place it is used:

- CloudFormation stack names (letters, digits, hyphens, a letter first, 128 characters at most),
- RDS instance and Aurora cluster identifiers (the same alphabet, no ``--``, no trailing hyphen,
  63 characters at most, with a short prefix such as ``std-``),
- PostgreSQL ``application_name`` (63 bytes at most, with the ``tenant:`` prefix),
- the ``tenant_id`` column, whose CHECK constraint in the schema uses the same pattern.

The database never sees a tenant id as SQL text: it is always a bound parameter. The slug rule is
the second wall, so that a value that was never a tenant id cannot even reach the query.
"""

from __future__ import annotations

import re
from typing import Any

from dbpatterns.errors import PropValidationError

MIN_TENANT_ID_LENGTH = 3
MAX_TENANT_ID_LENGTH = 40
#: The slug rule in regular-expression form (also used, verbatim, by the schema's CHECK constraint).
TENANT_ID_REGEX = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"
_TENANT_ID = re.compile(TENANT_ID_REGEX)

TENANT_ID_RULE = (
    f"allowed: {MIN_TENANT_ID_LENGTH}-{MAX_TENANT_ID_LENGTH} characters of lowercase letters, digits and "
    "single hyphens, starting with a letter and not ending with a hyphen (e.g. 'acme', 'blue-bird-42')"
)


def is_tenant_id(value: Any) -> bool:
    """True when ``value`` is a string that follows the slug rule."""
    return (
        isinstance(value, str)
        and MIN_TENANT_ID_LENGTH <= len(value) <= MAX_TENANT_ID_LENGTH
        and _TENANT_ID.fullmatch(value) is not None
    )


def check_tenant_id(value: Any, *, where: str, prop: str = "id") -> str:
    """Return ``value`` when it is a valid tenant id; raise :class:`PropValidationError` otherwise."""
    if not is_tenant_id(value):
        raise PropValidationError(where, prop, value, TENANT_ID_RULE)
    return str(value)
