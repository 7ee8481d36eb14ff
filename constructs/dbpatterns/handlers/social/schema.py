"""Request contracts of the social API: one JSON Schema (draft-04) per body, the single source of truth.

The CDK construct turns each body schema into the method's API Gateway request model (API Gateway
refuses a malformed body with 400 before Lambda runs), and the handlers validate the same dicts again
with fastjsonschema (:mod:`dbpatterns.handlers.social.validation`), answering 400 with the offending
field named. Query strings cannot carry a model in API Gateway, so their schemas are checked by the
handlers only.

This module imports only the standard library: CDK code imports it at synth time.
"""

from __future__ import annotations

from typing import Any, Final

DRAFT4: Final = "http://json-schema.org/draft-04/schema#"

HANDLE_PATTERN: Final = "^[A-Za-z0-9_]{3,30}$"
"""3-30 letters, digits or underscores; unique worldwide, case-insensitively."""
USER_ID_PATTERN: Final = "^[0-7][0-9A-HJKMNP-TV-Z]{25}$"
"""A ULID."""
POST_ID_PATTERN: Final = USER_ID_PATTERN
#: Printable text: no control characters except newline in posts and bios.
_LINE: Final = "^[^\\u0000-\\u001f\\u007f]+$"
_TEXT: Final = "^[^\\u0000-\\u0009\\u000b-\\u001f\\u007f]*$"
TIMESTAMP_PATTERN: Final = "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,3})?Z$"
"""UTC, e.g. ``2025-06-01T12:00:00Z`` or ``2025-06-01T12:00:00.250Z``."""
LIMIT_PATTERN: Final = "^[1-9][0-9]?$"
CURSOR_PATTERN: Final = "^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$"

MAX_POST_LENGTH: Final = 500
MAX_BIO_LENGTH: Final = 300
MAX_DISPLAY_NAME_LENGTH: Final = 50
MIN_PASSWORD_LENGTH: Final = 12
MAX_PASSWORD_LENGTH: Final = 128
MAX_PAGE_SIZE: Final = 50
DEFAULT_PAGE_SIZE: Final = 20

_HANDLE: Final = {"type": "string", "pattern": HANDLE_PATTERN, "description": "Public @handle."}
_DISPLAY_NAME: Final = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_DISPLAY_NAME_LENGTH,
    "pattern": _LINE,
    "description": "Name shown on the profile.",
}
_PASSWORD: Final = {"type": "string", "minLength": MIN_PASSWORD_LENGTH, "maxLength": MAX_PASSWORD_LENGTH}

REGISTER_REQUEST_SCHEMA: Final[dict[str, Any]] = {
    "$schema": DRAFT4,
    "title": "RegisterRequest",
    "description": "Create an account: claims the handle worldwide.",
    "type": "object",
    "properties": {"handle": _HANDLE, "display_name": _DISPLAY_NAME, "password": _PASSWORD},
    "required": ["handle", "display_name", "password"],
    "additionalProperties": False,
}

PROFILE_UPDATE_SCHEMA: Final[dict[str, Any]] = {
    "$schema": DRAFT4,
    "title": "ProfileUpdateRequest",
    "description": "Change any of display name, bio and handle (at least one).",
    "type": "object",
    "properties": {
        "display_name": _DISPLAY_NAME,
        "bio": {"type": "string", "maxLength": MAX_BIO_LENGTH, "pattern": _TEXT},
        "handle": _HANDLE,
    },
    "additionalProperties": False,
}

POST_REQUEST_SCHEMA: Final[dict[str, Any]] = {
    "$schema": DRAFT4,
    "title": "PostRequest",
    "description": "Publish a post.",
    "type": "object",
    "properties": {
        "text": {"type": "string", "minLength": 1, "maxLength": MAX_POST_LENGTH, "pattern": _TEXT}
    },
    "required": ["text"],
    "additionalProperties": False,
}

LOGIN_REQUEST_SCHEMA: Final[dict[str, Any]] = {
    "$schema": DRAFT4,
    "title": "LoginRequest",
    "description": "Sign in with handle and password.",
    "type": "object",
    "properties": {"handle": _HANDLE, "password": _PASSWORD},
    "required": ["handle", "password"],
    "additionalProperties": False,
}

FEED_QUERY_SCHEMA: Final[dict[str, Any]] = {
    "$schema": DRAFT4,
    "title": "FeedQuery",
    "description": "GET /feed query string: a time range [from, to), page size and cursor.",
    "type": "object",
    "properties": {
        "from": {"type": "string", "pattern": TIMESTAMP_PATTERN},
        "to": {"type": "string", "pattern": TIMESTAMP_PATTERN},
        "limit": {"type": "string", "pattern": LIMIT_PATTERN},
        "cursor": {"type": "string", "pattern": CURSOR_PATTERN, "maxLength": 2_048},
    },
    "additionalProperties": False,
}

PAGE_QUERY_SCHEMA: Final[dict[str, Any]] = {
    "$schema": DRAFT4,
    "title": "PageQuery",
    "description": "Query string of a paginated list: page size and cursor.",
    "type": "object",
    "properties": {
        "limit": {"type": "string", "pattern": LIMIT_PATTERN},
        "cursor": {"type": "string", "pattern": CURSOR_PATTERN, "maxLength": 2_048},
    },
    "additionalProperties": False,
}

#: Body schemas by API Gateway model name, for the construct.
BODY_SCHEMAS: Final[dict[str, dict[str, Any]]] = {
    "RegisterRequest": REGISTER_REQUEST_SCHEMA,
    "ProfileUpdateRequest": PROFILE_UPDATE_SCHEMA,
    "PostRequest": POST_REQUEST_SCHEMA,
    "LoginRequest": LOGIN_REQUEST_SCHEMA,
}
