"""Request models for API Gateway REST APIs from the handlers' own JSON Schema dicts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import aws_apigateway as apigw

from dbpatterns.common.validation import PropValidationError


def json_schema(schema: Mapping[str, Any]) -> apigw.JsonSchema:
    """Turn a draft-04 JSON Schema dict (the handlers' single source of truth) into the CDK type."""
    simple = {
        "title": "title",
        "description": "description",
        "pattern": "pattern",
        "minimum": "minimum",
        "maximum": "maximum",
        "minLength": "min_length",
        "maxLength": "max_length",
        "enum": "enum",
        "required": "required",
        "format": "format",
        "minItems": "min_items",
        "maxItems": "max_items",
    }
    kwargs: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "$schema":
            kwargs["schema"] = apigw.JsonSchemaVersion.DRAFT4
        elif key == "type":
            kwargs["type"] = apigw.JsonSchemaType[str(value).upper()]
        elif key == "properties":
            kwargs["properties"] = {name: json_schema(child) for name, child in value.items()}
        elif key == "items":
            kwargs["items"] = json_schema(value)
        elif key == "additionalProperties":
            kwargs["additional_properties"] = value if isinstance(value, bool) else json_schema(value)
        elif key in simple:
            kwargs[simple[key]] = value
        else:
            raise PropValidationError("json_schema", "schema", key, "a draft-04 keyword this converter knows")
    return apigw.JsonSchema(**kwargs)
