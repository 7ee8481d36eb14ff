"""The ledger API's transfer and read routes: validated like the commands, served by a read-only function."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template

from dbpatterns.common.api_logging import AccountCloudWatchRole
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.handlers.ledger.schema import (
    HISTORY_QUERY_PARAMETERS,
    IDEMPOTENCY_KEY_HEADER,
    TRANSFER_REQUEST_SCHEMA,
)
from dbpatterns.ledger import LedgerCommandApi, LedgerCommandApiProps, LedgerEventStore, LedgerEventStoreProps
from stacks.config import AppConfig
from tests.ledger.helpers import (
    actions,
    actions_on,
    api_method,
    function_named,
    function_role,
    integration_function,
    logical_id_of_table,
    resources_of,
    statements_of,
)
from tests.support.synth import new_app, stack_template_json

STACK = "DbPatterns-FintechLedger"
COMMANDS = "dbpatterns.handlers.ledger.api.handler"
QUERIES = "dbpatterns.handlers.ledger.queries.handler"
pytestmark = pytest.mark.synth


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return stack_template_json(STACK, DeploymentProfile.PRODUCTION)


def test_transfers_route_is_iam_authorized_validated_and_needs_the_idempotency_key(
    template: dict[str, Any],
) -> None:
    method = api_method(template, "POST", "transfers")["Properties"]
    assert method["AuthorizationType"] == "AWS_IAM"
    assert method["RequestValidatorId"]
    assert method["RequestParameters"] == {f"method.request.header.{IDEMPOTENCY_KEY_HEADER}": True}
    assert method["Integration"]["Type"] == "AWS_PROXY"
    assert (
        integration_function(api_method(template, "POST", "transfers"))
        == function_named(template, COMMANDS)[0]
    )
    (model_id,) = method["RequestModels"].values()
    model = template["Resources"][model_id["Ref"]]["Properties"]["Schema"]
    assert model["title"] == "TransferRequest"
    assert model["required"] == TRANSFER_REQUEST_SCHEMA["required"]
    assert model["additionalProperties"] is False
    assert set(model["properties"]) == set(TRANSFER_REQUEST_SCHEMA["properties"])


def test_balance_route_requires_the_account_and_reaches_the_query_function(template: dict[str, Any]) -> None:
    method = api_method(template, "GET", "accounts", "{account_id}", "balance")
    properties = method["Properties"]
    assert properties["AuthorizationType"] == "AWS_IAM"
    assert properties["RequestValidatorId"]
    assert properties["RequestParameters"] == {"method.request.path.account_id": True}
    assert integration_function(method) == function_named(template, QUERIES)[0]


def test_history_route_declares_every_query_parameter_optional(template: dict[str, Any]) -> None:
    method = api_method(template, "GET", "accounts", "{account_id}", "transactions")
    properties = method["Properties"]
    assert properties["AuthorizationType"] == "AWS_IAM"
    assert properties["RequestValidatorId"]
    assert properties["RequestParameters"] == {
        "method.request.path.account_id": True,
        **{f"method.request.querystring.{name}": False for name in HISTORY_QUERY_PARAMETERS},
    }
    assert integration_function(method) == function_named(template, QUERIES)[0]


def test_every_method_shares_the_validator_that_checks_bodies_and_parameters(
    template: dict[str, Any],
) -> None:
    (validator_id,) = resources_of(template, "AWS::ApiGateway::RequestValidator")
    methods = resources_of(template, "AWS::ApiGateway::Method")
    assert len(methods) == 4
    for method in methods.values():
        assert method["Properties"]["RequestValidatorId"] == {"Ref": validator_id}
        assert method["Properties"]["AuthorizationType"] == "AWS_IAM"


def test_query_function_can_only_read(template: dict[str, Any]) -> None:
    role = function_role(template, QUERIES)
    events = logical_id_of_table(template, "account_id", "version")
    projection = logical_id_of_table(template, "account_id", None)
    assert actions_on(template, role, events) == {"dynamodb:GetItem", "dynamodb:Query"}
    assert actions_on(template, role, projection) == {"dynamodb:GetItem"}
    every_action = {a for statement in statements_of(template, role) for a in actions(statement)}
    writes = (
        "dynamodb:Put",
        "dynamodb:Update",
        "dynamodb:Delete",
        "dynamodb:BatchWrite",
        "s3:",
        "sns:",
        "sqs:",
    )
    assert not {a for a in every_action if a.startswith(writes)}


def test_query_function_environment_names_both_tables(template: dict[str, Any]) -> None:
    _, function = function_named(template, QUERIES)
    variables = function["Properties"]["Environment"]["Variables"]
    assert variables["POWERTOOLS_SERVICE_NAME"] == "ledger-queries"
    assert set(variables) >= {"EVENTS_TABLE_NAME", "PROJECTION_TABLE_NAME"}
    assert function["Properties"]["Timeout"] == 10


def _api_and_grants() -> tuple[Template, dict[str, list[str]]]:
    stack = Stack(new_app(), "Grants", env=AppConfig().env())
    store = LedgerEventStore(stack, "Store", LedgerEventStoreProps(profile=DeploymentProfile.SANDBOX))
    api = LedgerCommandApi(
        stack,
        "Api",
        LedgerCommandApiProps(
            event_store=store,
            profile=DeploymentProfile.SANDBOX,
            account_cloud_watch_role=AccountCloudWatchRole.MANAGED_ELSEWHERE,
        ),
    )
    roles = {}
    for role_id, grant in (
        ("Reader", api.grant_read),
        ("Mover", api.grant_invoke_commands),
        ("Both", api.grant_invoke),
    ):
        role = iam.Role(stack, role_id, assumed_by=iam.AccountRootPrincipal())
        grant(role)
        roles[role_id] = role_id
    template = Template.from_stack(stack)
    paths: dict[str, list[str]] = {}
    for role_id in roles:
        policy = next(
            r
            for r in template.find_resources("AWS::IAM::Policy").values()
            if any(ref["Ref"].startswith(role_id) for ref in r["Properties"]["Roles"])
        )
        (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
        assert statement["Action"] == "execute-api:Invoke"
        resources = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        # arn:...:execute-api:<region>:<account>:<api id>/<stage>/<METHOD>/<path>
        paths[role_id] = sorted(r["Fn::Join"][1][-1] for r in resources)
        (stage,) = template.find_resources("AWS::ApiGateway::Stage")
        assert all(r["Fn::Join"][1][-2] == {"Ref": stage} for r in resources)  # the deployed stage only
    return template, paths


def test_a_read_only_role_cannot_move_money() -> None:
    _, paths = _api_and_grants()
    assert paths["Reader"] == ["/GET/accounts/*/balance", "/GET/accounts/*/transactions"]
    assert paths["Mover"] == ["/POST/accounts/*/transactions", "/POST/transfers"]
    assert paths["Both"] == sorted(paths["Reader"] + paths["Mover"])
