"""Reading IAM and tables out of the ledger's synthesized template."""

from __future__ import annotations

import json
from typing import Any

#: Where a role's permissions live: inline policies and customer-managed ones (ManagedPolicyRole).
POLICY_TYPES = ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")


def logical_id_of_table(template: dict[str, Any], partition_key: str, sort_key: str | None) -> str:
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::DynamoDB::GlobalTable":
            continue
        keys = {k["KeyType"]: k["AttributeName"] for k in resource["Properties"]["KeySchema"]}
        if keys.get("HASH") == partition_key and keys.get("RANGE") == sort_key:
            return str(logical_id)
    raise AssertionError(f"no table with keys {partition_key}/{sort_key}")


def function_role(template: dict[str, Any], handler: str) -> str:
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Lambda::Function" and resource["Properties"]["Handler"] == handler:
            role: str = resource["Properties"]["Role"]["Fn::GetAtt"][0]
            return role
    raise AssertionError(f"no function with handler {handler}")


def statements_of(template: dict[str, Any], role: str) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = []
    for resource in template["Resources"].values():
        if resource["Type"] in POLICY_TYPES and {"Ref": role} in resource["Properties"]["Roles"]:
            statements += resource["Properties"]["PolicyDocument"]["Statement"]
    assert statements, f"role {role} has no policy"
    return statements


def actions(statement: dict[str, Any]) -> set[str]:
    action = statement["Action"]
    return {action} if isinstance(action, str) else set(action)


def refers_to(statement: dict[str, Any], logical_id: str) -> bool:
    return f'"{logical_id}"' in repr(statement["Resource"]).replace("'", '"')


def resources_of(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def function_named(template: dict[str, Any], handler: str) -> tuple[str, dict[str, Any]]:
    """The logical ID and resource of the function with ``handler``."""
    for name, resource in resources_of(template, "AWS::Lambda::Function").items():
        if resource["Properties"]["Handler"] == handler:
            return name, resource
    raise AssertionError(f"no function with handler {handler}")


def actions_on(template: dict[str, Any], role: str, logical_id: str) -> set[str]:
    """Every action ``role`` has on the resource ``logical_id`` itself (its ARN or Ref, not its stream)."""
    names = (json.dumps([logical_id, "Arn"]), json.dumps({"Ref": logical_id}))
    return {
        a
        for s in statements_of(template, role)
        if any(name in json.dumps(s["Resource"]) for name in names)
        for a in actions(s)
    }


def api_method(template: dict[str, Any], http_method: str, *path: str) -> dict[str, Any]:
    """The ``AWS::ApiGateway::Method`` for ``http_method`` on the resource at ``path`` (path parts)."""
    api_resources = resources_of(template, "AWS::ApiGateway::Resource")
    parent: dict[str, Any] | None = None
    resource_id = ""
    for part in path:
        parent_ref = {"Ref": resource_id}
        matches = [
            name
            for name, r in api_resources.items()
            if r["Properties"]["PathPart"] == part
            and (
                ("RootResourceId" in repr(r["Properties"]["ParentId"]))
                if parent is None
                else r["Properties"]["ParentId"] == parent_ref
            )
        ]
        assert len(matches) == 1, f"no single resource {part!r} under {resource_id or 'the root'}"
        resource_id = matches[0]
        parent = api_resources[resource_id]
    for method in resources_of(template, "AWS::ApiGateway::Method").values():
        properties = method["Properties"]
        if properties["HttpMethod"] == http_method and properties["ResourceId"] == {"Ref": resource_id}:
            return method
    raise AssertionError(f"no {http_method} on /{'/'.join(path)}")


def integration_function(method: dict[str, Any]) -> str:
    """Logical ID of the function a Lambda proxy integration calls."""
    parts = method["Properties"]["Integration"]["Uri"]["Fn::Join"][1]
    (function,) = [part["Fn::GetAtt"][0] for part in parts if isinstance(part, dict) and "Fn::GetAtt" in part]
    return str(function)
