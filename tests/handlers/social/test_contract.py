"""The request schemas: valid draft-04, accepted by API Gateway's model converter, and enforced alike
by the handlers."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from jsonschema import Draft4Validator  # type: ignore[import-untyped, unused-ignore]

from dbpatterns.common.api_schema import json_schema
from dbpatterns.handlers.social import schema, validation
from dbpatterns.handlers.social.validation import RequestError

ALL_SCHEMAS = [*schema.BODY_SCHEMAS.values(), schema.FEED_QUERY_SCHEMA, schema.PAGE_QUERY_SCHEMA]


@pytest.mark.parametrize("document", ALL_SCHEMAS, ids=lambda d: str(d["title"]))
def test_every_schema_is_valid_draft_04(document: dict[str, Any]) -> None:
    Draft4Validator.check_schema(document)


@pytest.mark.parametrize("document", list(schema.BODY_SCHEMAS.values()), ids=lambda d: str(d["title"]))
def test_every_body_schema_becomes_an_api_gateway_model(document: dict[str, Any]) -> None:
    assert json_schema(document) is not None


@pytest.mark.parametrize(
    "payload",
    [
        {"handle": "alice_1", "display_name": "Alice", "password": "x" * 12},
        {"handle": "al", "display_name": "Alice", "password": "x" * 12},
        {"handle": "alice", "display_name": "", "password": "x" * 12},
        {"handle": "alice", "display_name": "A\u0007", "password": "x" * 12},
        {"handle": "alice", "display_name": "Alice", "password": "x" * 129},
        {"handle": "alice", "display_name": "Alice"},
        {"handle": "alice", "display_name": "Alice", "password": "x" * 12, "admin": True},
        "not an object",
    ],
)
def test_handler_and_jsonschema_agree_on_registration_bodies(payload: Any) -> None:
    document = schema.REGISTER_REQUEST_SCHEMA
    expected_valid = Draft4Validator(document).is_valid(payload)
    try:
        validation.validate(document, payload)
        valid = True
    except RequestError:
        valid = False
    assert valid == expected_valid


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"text": ""}, "text"),
        ({"text": "x" * 501}, "text"),
        ({}, "text"),
        ({"text": "ok", "extra": 1}, "extra"),
        ({"text": 5}, "text"),
    ],
)
def test_a_refused_body_names_its_field(payload: dict[str, Any], field: str) -> None:
    with pytest.raises(RequestError) as raised:
        validation.validate(schema.POST_REQUEST_SCHEMA, payload)
    assert raised.value.field == field


def test_posts_may_hold_newlines_but_names_may_not() -> None:
    validation.validate(schema.POST_REQUEST_SCHEMA, {"text": "line one\nline two"})
    with pytest.raises(RequestError):
        validation.validate(schema.PROFILE_UPDATE_SCHEMA, {"display_name": "a\nb"})


_IMPORT_CHECK = """
import sys
from dbpatterns.handlers.social import cursor, ids, keys, passwords, schema, timeline, times
heavy = {'boto3', 'botocore', 'aws_lambda_powertools', 'aws_cdk', 'constructs', 'redis', 'fastjsonschema'}
contract = sorted({name.split('.')[0] for name in sys.modules} & heavy)
from dbpatterns.handlers.social import graph, health, posts, profiles, reconcile, session_api, topology
print(contract, 'aws_cdk' in sys.modules, 'constructs' in sys.modules)
"""


def test_contract_modules_import_only_the_standard_library_and_handlers_never_import_cdk() -> None:
    completed = subprocess.run(  # noqa: S603 - fixed argv: this interpreter and the script above
        [sys.executable, "-c", _IMPORT_CHECK], capture_output=True, text=True, check=True, timeout=60
    )

    assert completed.stdout.strip() == "[] False False"
