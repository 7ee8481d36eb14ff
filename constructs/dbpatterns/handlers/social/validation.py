"""Validating request bodies and query strings against the shared schemas, naming the bad field.

fastjsonschema (bundled with the Powertools layer, as for the flash-sale processor) compiles each
schema once per execution environment. It stops at the first problem; :class:`RequestError` carries
that problem's field (``handle``, ``limit``...) so the 400 response can name it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Final

import fastjsonschema

from dbpatterns.handlers.social import schema

Validator = Callable[[Any], Any]

_COMPILED: Final[dict[str, Validator]] = {}


class RequestError(ValueError):
    """A malformed request. ``field`` names the offending field (``"body"`` for the body as a whole)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _validator(document: Mapping[str, Any]) -> Validator:
    title = str(document["title"])
    compiled = _COMPILED.get(title)
    if compiled is None:
        compiled = fastjsonschema.compile(dict(document))
        _COMPILED[title] = compiled
    return compiled


def validate(document: Mapping[str, Any], payload: Any) -> dict[str, Any]:
    """``payload`` if it matches the schema ``document``; otherwise :class:`RequestError`."""
    try:
        _validator(document)(payload)
    except fastjsonschema.JsonSchemaValueException as error:
        raise _request_error(document, payload, error) from None
    result: dict[str, Any] = dict(payload)
    return result


def _request_error(
    document: Mapping[str, Any], payload: Any, error: fastjsonschema.JsonSchemaValueException
) -> RequestError:
    path = [str(part) for part in (error.path or [])][1:]  # drop the leading "data"
    if path:
        field = path[0]
        return RequestError(field, error.message.replace(f"data.{field}", field, 1))
    if isinstance(payload, Mapping):
        if error.rule == "required":
            missing = [name for name in document.get("required", []) if name not in payload]
            if missing:
                return RequestError(missing[0], "is required")
        if error.rule == "additionalProperties":
            unknown = sorted(set(payload) - set(document.get("properties", {})), key=str)
            if unknown:
                return RequestError(str(unknown[0]), "is not a known field")
    return RequestError("body", error.message.replace("data", "the body", 1))


def parse_json_body(body: str | None) -> Any:
    """Decode a JSON request body; refuse duplicate keys and NaN/Infinity (not JSON)."""
    if body is None or not body.strip():
        raise RequestError("body", "a JSON body is required")
    try:
        return json.loads(body, parse_constant=_reject_constant, object_pairs_hook=_reject_duplicates)
    except RequestError:
        raise
    except ValueError as error:
        raise RequestError("body", f"is not valid JSON: {error}") from None


def _reject_constant(name: str) -> Any:
    raise RequestError("body", f"contains {name}, which is not a JSON number")


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            raise RequestError(key, "appears more than once")
        document[key] = value
    return document


def body(document: Mapping[str, Any], raw: str | None) -> dict[str, Any]:
    """Decode and validate a request body against ``document``."""
    return validate(document, parse_json_body(raw))


def query(document: Mapping[str, Any], parameters: Mapping[str, str] | None) -> dict[str, Any]:
    """Validate a query string (all values are strings) against ``document``."""
    return validate(document, dict(parameters or {}))


def page_limit(parameters: Mapping[str, Any]) -> int:
    """The ``limit`` query parameter within 1..MAX_PAGE_SIZE (default DEFAULT_PAGE_SIZE)."""
    raw = parameters.get("limit")
    if raw is None:
        return schema.DEFAULT_PAGE_SIZE
    value = int(raw)
    if value > schema.MAX_PAGE_SIZE:
        raise RequestError("limit", f"must be at most {schema.MAX_PAGE_SIZE}")
    return value
