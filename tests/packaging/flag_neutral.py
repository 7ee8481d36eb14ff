"""Templates rewritten so that feature flags which change only *how* CDK writes them compare equal.

``cdk init`` turns on dozens of feature flags; a user's app may have none. For the library's
constructs the two must allow, deny, encrypt and retain exactly the same things. Some flags change the
template's wording without changing any of that; each rewrite below names its flag and says why the
meaning is the same. Everything else must be identical, so a flag that changed a setting would show.
"""

from __future__ import annotations

import json
import re
from typing import Any

#: ``@aws-cdk/core:defaultCrossStackReferences``: a value from another stack arrives through
#: ``Fn::GetStackOutput`` (flag), or without the flag through ``Fn::ImportValue`` (same region) or CDK's
#: export reader custom resource (another region); same value.
OTHER_STACK_REFERENCE = "<value of another stack>"
_CROSS_REGION_RESOURCES = ("Custom::CrossRegionExportWriter", "Custom::CrossRegionExportReader")
_CROSS_REGION_PROVIDER = re.compile(r"^CustomCrossRegionExport(Writer|Reader)CustomResourceProvider")
#: API Gateway deployments are named by a hash of the API's template, wording included.
_DEPLOYMENT_HASH = re.compile(r"^(?P<name>.+Deployment[0-9A-F]{8})[0-9a-f]{32}$")
_POLICY_DOCUMENTS = {"PolicyDocument", "KeyPolicy", "AssumeRolePolicyDocument", "ResourcePolicy"}


def flag_neutral_resources(template: dict[str, Any]) -> dict[str, Any]:
    """The template's resources, keyed by a flag-neutral name, with flag-neutral values."""
    resources: dict[str, Any] = template["Resources"]
    readers = {name for name, r in resources.items() if r["Type"] in _CROSS_REGION_RESOURCES}
    renames = {name: _neutral_name(name, resources) for name in resources}
    neutral: dict[str, Any] = {}
    for name, resource in resources.items():
        if name in readers or _CROSS_REGION_PROVIDER.match(name):
            continue
        value = _rewrite(resource, readers, renames)
        if resource["Type"] == "AWS::SecretsManager::ResourcePolicy":
            value["Properties"]["SecretId"] = {"Ref": _protected_secret(resource, resources)}
            earlier = neutral.get(renames[name])
            if earlier is not None:
                # Without the flag a secret can carry two policies (one on the secret, one on its
                # target attachment); with it, one policy holds both sets of statements.
                grants = earlier["Properties"]["ResourcePolicy"] + value["Properties"]["ResourcePolicy"]
                value["Properties"]["ResourcePolicy"] = sorted(set(map(tuple, grants)))
        if resource["Type"] == "AWS::ApiGateway::Deployment" and "DependsOn" in value:
            # @aws-cdk/aws-apigateway:authorizerChangeDeploymentLogicalId and friends: with the flags a
            # deployment also waits for the API's authorizers; the methods it waits for are the same.
            value["DependsOn"] = [d for d in value["DependsOn"] if "Authorizer" not in d]
        neutral[renames[name]] = value
    return neutral


def _neutral_name(name: str, resources: dict[str, Any]) -> str:
    resource = resources[name]
    match = _DEPLOYMENT_HASH.match(name)
    if resource["Type"] == "AWS::ApiGateway::Deployment" and match:
        return match["name"]
    if resource["Type"] == "AWS::SecretsManager::ResourcePolicy":
        # @aws-cdk/aws-secretsmanager:useAttachedSecretResourcePolicyForSecretTargetAttachments: the
        # policy is attached through the secret's target attachment (whose Ref is the same secret ARN)
        # instead of the secret, under another logical ID. Name it by the secret it protects.
        return f"ResourcePolicyOf:{_protected_secret(resource, resources)}"
    return name


def _protected_secret(policy: dict[str, Any], resources: dict[str, Any]) -> str:
    """Logical ID of the secret a resource policy protects, directly or through its target attachment."""
    target: str = policy["Properties"]["SecretId"]["Ref"]
    if resources[target]["Type"] == "AWS::SecretsManager::SecretTargetAttachment":
        target = resources[target]["Properties"]["SecretId"]["Ref"]
    return target


def _rewrite(node: Any, readers: set[str], renames: dict[str, str]) -> Any:
    if isinstance(node, list):
        return [_rewrite(item, readers, renames) for item in node]
    if not isinstance(node, dict):
        return node
    attribute = node.get("Fn::GetAtt")
    if (
        "Fn::GetStackOutput" in node
        or "Fn::ImportValue" in node
        or (isinstance(attribute, list) and attribute[0] in readers)
    ):
        return OTHER_STACK_REFERENCE
    if node == {"Ref": "AWS::Partition"}:
        return "aws"  # @aws-cdk/core:enablePartitionLiterals writes the stack's known partition
    rewritten: dict[str, Any] = {}
    for key, value in node.items():
        if key in _POLICY_DOCUMENTS and isinstance(value, dict) and "Statement" in value:
            rewritten[key] = _policy_atoms(_rewrite(value, readers, renames))
        elif key == "Ref" and isinstance(value, str):
            rewritten[key] = renames.get(value, value)
        elif key == "DependsOn":
            names = value if isinstance(value, list) else [value]
            rewritten[key] = sorted(renames.get(n, n) for n in names if n not in readers)
        else:
            rewritten[key] = _rewrite(value, readers, renames)
    if set(rewritten) == {"Fn::Join"} and rewritten["Fn::Join"][0] == "":
        return _joined(rewritten["Fn::Join"][1])
    return rewritten


def _joined(parts: list[Any]) -> Any:
    """``Fn::Join ""`` with adjacent literals merged (partition literals make them adjacent)."""
    merged: list[Any] = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        else:
            merged.append(part)
    return merged[0] if len(merged) == 1 and isinstance(merged[0], str) else {"Fn::Join": ["", merged]}


def _policy_atoms(document: dict[str, Any]) -> list[tuple[str, ...]]:
    """A policy as the sorted set of its single (effect, principal, action, resource, condition) grants.

    ``@aws-cdk/aws-iam:minimizePolicies`` merges statements and sorts their actions; the set of
    grants stays the same.
    """
    atoms: set[tuple[str, ...]] = set()
    for statement in document["Statement"]:
        principal = statement.get("Principal", statement.get("NotPrincipal"))
        principals = (
            [(kind, json.dumps(p, sort_keys=True)) for kind, ps in principal.items() for p in _as_list(ps)]
            if isinstance(principal, dict)
            else [("", json.dumps(principal))]
        )
        for kind, who in principals:
            for action in _as_list(statement.get("Action", statement.get("NotAction"))):
                for resource in _as_list(statement.get("Resource", statement.get("NotResource"))):
                    atoms.add(
                        (
                            statement["Effect"],
                            kind,
                            who,
                            json.dumps(action),
                            json.dumps(resource, sort_keys=True),
                            json.dumps(statement.get("Condition"), sort_keys=True),
                            ",".join(
                                k for k in ("NotPrincipal", "NotAction", "NotResource") if k in statement
                            ),
                        )
                    )
    return sorted(atoms)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def differences(left: Any, right: Any, path: str = "") -> list[str]:
    """Readable paths where two JSON values differ (for assertion messages)."""
    if type(left) is not type(right):
        return [f"{path}: {json.dumps(left)[:200]} != {json.dumps(right)[:200]}"]
    if isinstance(left, dict):
        found: list[str] = []
        for key in sorted(set(left) | set(right)):
            if key not in right or key not in left:
                side = "only without flags" if key in left else "only with flags"
                found.append(f"{path}/{key}: {side}")
            else:
                found += differences(left[key], right[key], f"{path}/{key}")
        return found
    if isinstance(left, list) and len(left) == len(right):
        return [
            d
            for index, (a, b) in enumerate(zip(left, right, strict=True))
            for d in differences(a, b, f"{path}[{index}]")
        ]
    return [] if left == right else [f"{path}: {json.dumps(left)[:200]} != {json.dumps(right)[:200]}"]
