"""The shared stack: directory, shared groups, providers and the Cognito-protected tenant API."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from dbpatterns.handlers.tenancy.api import TENANT_CLAIM
from dbpatterns.tenancy.ca_bundle import LAMBDA_BUNDLE_PATH
from dbpatterns.tenancy.tenant_api import PRODUCTION_RESERVED_CONCURRENCY, ROUTES, TENANT_ATTRIBUTE
from tests.tenancy.support import SHARED, Synthesized

pytestmark = pytest.mark.synth


def _function(template: Template, handler: str) -> Mapping[str, Any]:
    found = template.find_resources("AWS::Lambda::Function", {"Properties": {"Handler": handler}})
    assert len(found) == 1, handler
    return next(iter(found.values()))


def test_directory_table_has_pitr_and_a_customer_managed_key(shared: Template) -> None:
    shared.has_resource_properties(
        "AWS::DynamoDB::GlobalTable",
        {
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS"},
            "Replicas": [
                Match.object_like(
                    {
                        "PointInTimeRecoverySpecification": Match.object_like(
                            {"PointInTimeRecoveryEnabled": True}
                        )
                    }
                )
            ],
        },
    )


def test_one_tls_only_parameter_group_per_major_version_for_rds_and_for_aurora(shared: Template) -> None:
    for kind, prefix in (
        ("AWS::RDS::DBParameterGroup", "postgres"),
        ("AWS::RDS::DBClusterParameterGroup", "aurora-postgresql"),
    ):
        groups = shared.find_resources(kind)
        assert sorted(g["Properties"]["Family"] for g in groups.values()) == [
            f"{prefix}{v}" for v in (15, 16, 17)
        ]
        assert all(g["Properties"]["Parameters"]["rds.force_ssl"] == "1" for g in groups.values())
    shared.resource_count_is("AWS::RDS::DBSubnetGroup", 1)


def test_user_pool_has_an_immutable_tenant_attribute_mfa_and_no_self_sign_up(shared: Template) -> None:
    assert f"custom:{TENANT_ATTRIBUTE}" == TENANT_CLAIM
    shared.has_resource_properties(
        "AWS::Cognito::UserPool",
        {
            "Schema": Match.array_with(
                [
                    Match.object_like(
                        {
                            "AttributeDataType": "String",
                            "Name": TENANT_ATTRIBUTE,
                            "Mutable": False,
                            "StringAttributeConstraints": {"MinLength": "3", "MaxLength": "40"},
                        }
                    )
                ]
            ),
            "MfaConfiguration": "ON",
            "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True},
            "UserPoolAddOns": {"AdvancedSecurityMode": "ENFORCED"},
        },
    )


def test_no_app_client_can_write_the_tenant_attribute(shared: Template) -> None:
    clients = shared.find_resources("AWS::Cognito::UserPoolClient")
    assert len(clients) == 1
    client = next(iter(clients.values()))["Properties"]
    assert TENANT_CLAIM in client["ReadAttributes"]
    assert TENANT_CLAIM not in client["WriteAttributes"]
    assert client["ExplicitAuthFlows"] == ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]


def test_every_method_uses_the_cognito_authorizer(shared: Template) -> None:
    authorizers = shared.find_resources(
        "AWS::ApiGateway::Authorizer", {"Properties": {"Type": "COGNITO_USER_POOLS"}}
    )
    assert len(authorizers) == 1
    authorizer_id = next(iter(authorizers))
    methods = shared.find_resources("AWS::ApiGateway::Method")
    assert len(methods) == sum(len(m) for m in ROUTES.values())
    for method in methods.values():
        props = method["Properties"]
        assert props["AuthorizationType"] == "COGNITO_USER_POOLS"
        assert props["AuthorizerId"] == {"Ref": authorizer_id}


def test_api_routes_are_the_handlers_routes(shared: Template) -> None:
    paths = {r["Properties"]["PathPart"] for r in shared.find_resources("AWS::ApiGateway::Resource").values()}
    expected = {part for path in ROUTES for part in path.strip("/").split("/")}
    assert paths == expected
    methods = sorted(
        m["Properties"]["HttpMethod"] for m in shared.find_resources("AWS::ApiGateway::Method").values()
    )
    assert methods == sorted(method for route in ROUTES.values() for method in route)


def test_stage_is_protected_by_waf_and_throttled(shared: Template) -> None:
    shared.resource_count_is("AWS::WAFv2::WebACLAssociation", 1)
    shared.has_resource_properties(
        "AWS::ApiGateway::Stage",
        {
            "TracingEnabled": True,
            "MethodSettings": Match.array_with(
                [Match.object_like({"ThrottlingRateLimit": 100, "ThrottlingBurstLimit": 200})]
            ),
        },
    )


def test_api_function_runs_in_the_vpc_with_the_directory_and_the_ca_bundle(shared: Template) -> None:
    props = _function(shared, "dbpatterns.handlers.tenancy.api.handler")["Properties"]
    env = props["Environment"]["Variables"]
    assert env["RDS_CA_BUNDLE"] == LAMBDA_BUNDLE_PATH
    assert "TENANT_DIRECTORY_TABLE" in env
    assert props["VpcConfig"]["SubnetIds"]
    assert len(props["Layers"]) == 2  # Powertools and pg8000


def test_api_may_only_read_directory_items_and_has_no_database_login_here(shared: Template) -> None:
    statements = [
        s
        for policy_type in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
        for policy in shared.find_resources(policy_type).values()
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    actions = {
        a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    # The API: GetItem; the registration function: GetItem, PutItem, DeleteItem; the move state
    # machine: GetItem, UpdateItem (conditional, tenant# items only). No scans.
    assert {a for a in actions if a.startswith("dynamodb:")} == {
        "dynamodb:DeleteItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
    }
    assert not any("rds-db:connect" in str(s["Action"]) for s in statements)


def test_schema_and_directory_functions_run_in_the_vpc_behind_providers(shared: Template) -> None:
    schema = _function(shared, "dbpatterns.handlers.tenancy.schema_resource.on_event")["Properties"]
    directory = _function(shared, "dbpatterns.handlers.tenancy.directory_resource.on_event")["Properties"]
    assert schema["Environment"]["Variables"]["RDS_CA_BUNDLE"] == LAMBDA_BUNDLE_PATH
    assert schema["VpcConfig"]["SecurityGroupIds"] == directory["VpcConfig"]["SecurityGroupIds"]
    assert schema["Timeout"] == 300
    frameworks = shared.find_resources(
        "AWS::Lambda::Function",
        {"Properties": {"Description": Match.string_like_regexp("AWS CDK resource provider framework")}},
    )
    assert len(frameworks) == 2


def test_function_security_groups_open_only_https_by_themselves(shared: Template) -> None:
    groups = shared.find_resources("AWS::EC2::SecurityGroup")
    assert len(groups) == 2
    for group in groups.values():
        egress = group["Properties"]["SecurityGroupEgress"]
        assert [(e["CidrIp"], e["IpProtocol"], e["FromPort"], e["ToPort"]) for e in egress] == [
            ("0.0.0.0/0", "tcp", 443, 443)
        ]


def test_shared_stack_depends_on_the_network_stack(production: Synthesized) -> None:
    assert "TestNetwork" in production.dependencies(SHARED)


def test_api_reserves_concurrency_in_production_to_bound_database_connections(shared: Template) -> None:
    api = _function(shared, "dbpatterns.handlers.tenancy.api.handler")["Properties"]
    assert api["ReservedConcurrentExecutions"] == PRODUCTION_RESERVED_CONCURRENCY


def test_api_reserves_nothing_in_a_sandbox_whose_account_may_have_ten(sandbox: Synthesized) -> None:
    api = _function(Template.from_json(sandbox.templates[SHARED]), "dbpatterns.handlers.tenancy.api.handler")
    assert "ReservedConcurrentExecutions" not in api["Properties"]
