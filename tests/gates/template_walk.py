"""Small pure functions that walk synthesized CloudFormation templates for the security gates.

Each walker takes ``{stack name: template}`` (plain JSON, as ``cx_api`` gives it) and returns the
findings it sees, sorted, as frozen dataclasses whose ``str`` reads as a sentence. The gate tests
compare those findings with what is acknowledged; their negative tests feed the same walkers a
hand-made template fragment, so each gate is proven able to fail.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

#: A template as JSON, and the templates of an app keyed by stack name.
Template = Mapping[str, Any]
Templates = Mapping[str, Template]


@dataclass(frozen=True, order=True)
class Resource:
    """One resource of one template."""

    stack: str
    logical_id: str
    type: str
    properties: Mapping[str, Any]
    deletion_policy: str | None
    update_replace_policy: str | None

    @property
    def path(self) -> str:
        """``stack/logicalId``: what acknowledgment patterns match."""
        return f"{self.stack}/{self.logical_id}"


def resources(templates: Templates, *types: str) -> Iterator[Resource]:
    """Every resource of every template, or only those of ``types``."""
    for stack, template in sorted(templates.items()):
        for logical_id, body in sorted(template.get("Resources", {}).items()):
            if types and body["Type"] not in types:
                continue
            yield Resource(
                stack=stack,
                logical_id=logical_id,
                type=body["Type"],
                properties=body.get("Properties", {}),
                deletion_policy=body.get("DeletionPolicy"),
                update_replace_policy=body.get("UpdateReplacePolicy"),
            )


def render(value: Any) -> str:
    """A JSON value as one line: strings as they are, intrinsics as compact sorted JSON."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"))


def as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


# ---------------------------------------------------------------------------------------------------
# Policy documents
# ---------------------------------------------------------------------------------------------------

#: Resource policies whose ``Resource`` can only be the resource the policy is attached to, so that
#: ``"Resource": "*"`` means "this key/secret/vault", not "everything" (AWS KMS, Secrets Manager and
#: AWS Backup documentation on key policies, secret resource policies and vault access policies).
SELF_SCOPED_POLICY_TYPES = frozenset(
    {"AWS::KMS::Key", "AWS::SecretsManager::ResourcePolicy", "AWS::Backup::BackupVault"}
)


@dataclass(frozen=True)
class PolicyDocument:
    """A policy document found in a resource: identity (attached to a principal) or resource policy."""

    resource: Resource
    #: Where in the resource: ``PolicyDocument``, ``Policies[name]``, ``KeyPolicy``...
    location: str
    identity: bool
    document: Mapping[str, Any]

    def statements(self) -> list[Mapping[str, Any]]:
        return [s for s in as_list(self.document.get("Statement", [])) if isinstance(s, Mapping)]


_IDENTITY_INLINE_TYPES = ("AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group")
_RESOURCE_POLICY_PROPERTY = {
    "AWS::KMS::Key": "KeyPolicy",
    "AWS::S3::BucketPolicy": "PolicyDocument",
    "AWS::SQS::QueuePolicy": "PolicyDocument",
    "AWS::SNS::TopicPolicy": "PolicyDocument",
    "AWS::SecretsManager::ResourcePolicy": "ResourcePolicy",
    "AWS::Backup::BackupVault": "AccessPolicy",
    "AWS::EC2::VPCEndpoint": "PolicyDocument",
    "AWS::ApiGateway::RestApi": "Policy",
    "AWS::DynamoDB::Table": "ResourcePolicy",
}


def policy_documents(templates: Templates) -> Iterator[PolicyDocument]:
    """Every identity policy (``AWS::IAM::Policy``/``ManagedPolicy``, inline ``Policies`` of roles,
    users and groups) and every resource policy (key, bucket, queue, topic, secret, vault, endpoint,
    API, table and global-table replica policies). Role trust policies are resource policies of the
    role. Policies given as JSON strings are parsed."""
    for resource in resources(templates):
        props = resource.properties
        if resource.type in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            yield PolicyDocument(resource, "PolicyDocument", True, _document(props.get("PolicyDocument")))
        if resource.type in _IDENTITY_INLINE_TYPES:
            for policy in props.get("Policies", []):
                location = f"Policies[{render(policy.get('PolicyName'))}]"
                yield PolicyDocument(resource, location, True, _document(policy.get("PolicyDocument")))
        if resource.type == "AWS::IAM::Role":
            trust = _document(props.get("AssumeRolePolicyDocument"))
            yield PolicyDocument(resource, "AssumeRolePolicyDocument", False, trust)
        prop = _RESOURCE_POLICY_PROPERTY.get(resource.type)
        if prop is not None and prop in props:
            value = props[prop]
            if resource.type == "AWS::DynamoDB::Table":
                value = value.get("PolicyDocument")
            yield PolicyDocument(resource, prop, False, _document(value))
        if resource.type == "AWS::DynamoDB::GlobalTable":
            for index, replica in enumerate(props.get("Replicas", [])):
                if "ResourcePolicy" in replica:
                    document = _document(replica["ResourcePolicy"].get("PolicyDocument"))
                    yield PolicyDocument(resource, f"Replicas[{index}].ResourcePolicy", False, document)


def _document(value: Any) -> Mapping[str, Any]:
    if isinstance(value, str):
        value = json.loads(value)
    return value if isinstance(value, Mapping) else {}


@dataclass(frozen=True, order=True)
class WildcardGrant:
    """An ``Allow`` statement granting a wildcard: ``action`` is ``*``/``service:*`` (or
    ``NotAction:...``), or ``resource`` is ``*`` (or ``NotResource:...``) for ``action``."""

    stack: str
    logical_id: str
    resource_type: str
    location: str
    action: str
    resource: str
    #: The statement's principal (resource policies only), compact JSON; "" for identity policies.
    principal: str

    @property
    def path(self) -> str:
        return f"{self.stack}/{self.logical_id}"

    def __str__(self) -> str:
        who = f" to {self.principal}" if self.principal else ""
        return (
            f"{self.path} ({self.resource_type} {self.location}) allows {self.action} on {self.resource}{who}"
        )


def is_wildcard_action(action: str) -> bool:
    """``*`` or a whole service (``s3:*``). Prefix wildcards such as ``kms:GenerateDataKey*`` name a
    bounded family of actions and are left to cdk-nag's AwsSolutions-IAM5 acknowledgments."""
    return action == "*" or action.endswith(":*")


def wildcard_grants(templates: Templates) -> list[WildcardGrant]:
    """Every wildcard an ``Allow`` statement grants, one finding per (action, resource).

    ``Deny`` statements are skipped: a wildcard there takes permissions away (TLS-only policies deny
    ``s3:*``/``sqs:*``). In self-scoped resource policies (:data:`SELF_SCOPED_POLICY_TYPES`)
    ``Resource: "*"`` is the resource itself and is not reported; their wildcard actions are.
    """
    found: set[WildcardGrant] = set()
    for doc in policy_documents(templates):
        self_scoped = not doc.identity and doc.resource.type in SELF_SCOPED_POLICY_TYPES
        for statement in doc.statements():
            if statement.get("Effect") != "Allow":
                continue
            principal = "" if doc.identity else render(statement.get("Principal", ""))
            actions = [render(a) for a in as_list(statement.get("Action", []))]
            if "NotAction" in statement:
                actions.append("NotAction:" + render(statement["NotAction"]))
            targets = [render(r) for r in as_list(statement.get("Resource", []))]
            if "NotResource" in statement:
                targets.append("NotResource:" + render(statement["NotResource"]))
            targets = targets or [""]  # no Resource: invalid for IAM, still reported by its action
            for action in actions:
                for target in targets:
                    wild_action = is_wildcard_action(action) or action.startswith("NotAction:")
                    wild_target = not self_scoped and (target == "*" or target.startswith("NotResource:"))
                    if wild_action or wild_target:
                        found.add(
                            WildcardGrant(
                                doc.resource.stack,
                                doc.resource.logical_id,
                                doc.resource.type,
                                doc.location,
                                action,
                                target,
                                principal,
                            )
                        )
    return sorted(found)


# ---------------------------------------------------------------------------------------------------
# Findings shared by the encryption, exposure and retention walks
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Finding:
    """Something about one resource that a gate does not accept unless it is acknowledged."""

    stack: str
    logical_id: str
    resource_type: str
    #: What was observed, in words, e.g. "SSE-S3 (AES256), not a customer-managed key".
    detail: str

    @property
    def path(self) -> str:
        return f"{self.stack}/{self.logical_id}"

    def __str__(self) -> str:
        return f"{self.path} ({self.resource_type}): {self.detail}"


def _finding(resource: Resource, detail: str) -> Finding:
    return Finding(resource.stack, resource.logical_id, resource.type, detail)


# ---------------------------------------------------------------------------------------------------
# Encryption at rest with a customer-managed key
# ---------------------------------------------------------------------------------------------------

_KEY_ARN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[0-9a-fA-F-]+$")


def is_customer_managed_key(value: Any, key_ids: frozenset[str]) -> bool:
    """``Ref``/``GetAtt Arn`` of an ``AWS::KMS::Key`` in the same template, an output of another
    stack of the app that is one (``Fn::GetStackOutput``: a replica key in its own region's stack), or
    a literal key ARN of an imported key. Not an alias (``alias/aws/...`` is an AWS-managed key), not
    absent. ``key_ids`` holds the template's key logical IDs and :func:`output_key` of key outputs."""
    if isinstance(value, str):
        return bool(_KEY_ARN.match(value))
    if isinstance(value, Mapping) and len(value) == 1:
        if "Ref" in value:
            return value["Ref"] in key_ids
        attribute = value.get("Fn::GetAtt")
        if isinstance(attribute, list) and len(attribute) == 2:
            return attribute[0] in key_ids and attribute[1] == "Arn"
        output = value.get("Fn::GetStackOutput")
        if isinstance(output, Mapping):
            return output_key(str(output.get("StackName")), str(output.get("OutputName"))) in key_ids
    return False


def output_key(stack: str, output: str) -> str:
    """How a key published as stack output ``output`` of ``stack`` appears in ``key_ids``."""
    return f"{stack}.Outputs.{output}"


def _key_outputs(templates: Templates) -> frozenset[str]:
    """Every output of the app whose value is a customer-managed key of its own template."""
    found: set[str] = set()
    for stack, template in templates.items():
        own = _template_keys(template)
        for name, output in template.get("Outputs", {}).items():
            if is_customer_managed_key(output.get("Value"), own):
                found.add(output_key(stack, name))
    return frozenset(found)


def _template_keys(template: Mapping[str, Any]) -> frozenset[str]:
    return frozenset(
        lid for lid, body in template.get("Resources", {}).items() if body["Type"] == "AWS::KMS::Key"
    )


#: The data-holding resource types the encryption walk covers. ``AWS::Logs::LogGroup`` is among them.
ENCRYPTED_TYPES = (
    "AWS::S3::Bucket",
    "AWS::SQS::Queue",
    "AWS::SNS::Topic",
    "AWS::DynamoDB::Table",
    "AWS::DynamoDB::GlobalTable",
    "AWS::Logs::LogGroup",
    "AWS::RDS::DBInstance",
    "AWS::RDS::DBCluster",
    "AWS::RDS::GlobalCluster",
    "AWS::ElastiCache::ReplicationGroup",
    "AWS::ElastiCache::ServerlessCache",
    "AWS::ElastiCache::CacheCluster",
    "AWS::DAX::Cluster",
    "AWS::SecretsManager::Secret",
    "AWS::Backup::BackupVault",
    "AWS::Kinesis::Stream",
    "AWS::Cognito::UserPool",
)


def encryption_findings(templates: Templates) -> list[Finding]:
    """Every part of a data-holding resource (:data:`ENCRYPTED_TYPES`) not encrypted at rest with a
    customer-managed key, the detail naming what it uses instead."""
    found: list[Finding] = []
    key_outputs = _key_outputs(templates)
    for stack, template in sorted(templates.items()):
        key_ids = _template_keys(template) | key_outputs
        for resource in resources({stack: template}, *ENCRYPTED_TYPES):
            found += [_finding(resource, detail) for detail in _not_cmk(resource, key_ids)]
    return sorted(found)


def _key_problem(part: str, value: Any, key_ids: frozenset[str], default: str) -> list[str]:
    if value is None:
        return [f"{part}: {default}"]
    if is_customer_managed_key(value, key_ids):
        return []
    return [f"{part}: key {render(value)} is not a customer-managed key of this app"]


def _not_cmk(resource: Resource, key_ids: frozenset[str]) -> list[str]:
    props, kind = resource.properties, resource.type
    if kind == "AWS::S3::Bucket":
        rules = props.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [])
        defaults = [rule.get("ServerSideEncryptionByDefault", {}) for rule in rules]
        if not defaults:
            return ["default encryption: SSE-S3 (AES256, the S3 default)"]
        problems: list[str] = []
        for default in defaults:
            algorithm = default.get("SSEAlgorithm")
            if algorithm not in ("aws:kms", "aws:kms:dsse"):
                problems.append(f"default encryption: SSE-S3 ({render(algorithm)})")
            else:
                problems += _key_problem("default encryption", default.get("KMSMasterKeyID"), key_ids, "")
        return problems
    if kind in ("AWS::SQS::Queue", "AWS::SNS::Topic"):
        default = "SQS-managed SSE" if props.get("SqsManagedSseEnabled") else "not encrypted"
        return _key_problem("KmsMasterKeyId", props.get("KmsMasterKeyId"), key_ids, default)
    if kind == "AWS::DynamoDB::Table":
        sse = props.get("SSESpecification", {})
        return _key_problem("SSESpecification", sse.get("KMSMasterKeyId"), key_ids, "AWS-owned key")
    if kind == "AWS::DynamoDB::GlobalTable":
        if props.get("SSESpecification", {}).get("SSEType") != "KMS":
            return ["SSESpecification: AWS-owned key (SSEType is not KMS)"]
        problems = []
        for replica in props.get("Replicas", []):
            key = replica.get("SSESpecification", {}).get("KMSMasterKeyId")
            part = f"replica {render(replica.get('Region'))}"
            problems += _key_problem(part, key, key_ids, "AWS-managed key (aws/dynamodb)")
        return problems
    if kind == "AWS::Logs::LogGroup":
        return _key_problem("KmsKeyId", props.get("KmsKeyId"), key_ids, "CloudWatch Logs' own key")
    if kind in ("AWS::RDS::DBInstance", "AWS::RDS::DBCluster"):
        problems = []
        in_cluster = kind == "AWS::RDS::DBInstance" and "DBClusterIdentifier" in props
        if not in_cluster:  # a cluster member's storage is the cluster's, checked there
            encrypted = props.get("StorageEncrypted") is True or "SourceDBInstanceIdentifier" in props
            if not encrypted and "KmsKeyId" not in props:
                problems.append("storage: not encrypted")
            else:
                problems += _key_problem(
                    "storage", props.get("KmsKeyId"), key_ids, "AWS-managed key (aws/rds)"
                )
        insights = props.get("EnablePerformanceInsights") or props.get("PerformanceInsightsEnabled")
        if insights:
            key = props.get("PerformanceInsightsKMSKeyId", props.get("PerformanceInsightsKmsKeyId"))
            problems += _key_problem("Performance Insights", key, key_ids, "AWS-managed key (aws/rds)")
        return problems
    if kind == "AWS::RDS::GlobalCluster":
        # No key of its own: a global cluster made from a source cluster has that cluster's key.
        if "SourceDBClusterIdentifier" in props or props.get("StorageEncrypted") is True:
            return []
        return ["storage: not encrypted"]
    if kind == "AWS::ElastiCache::ReplicationGroup":
        # A global datastore's secondary inherits at-rest encryption; it still names its regional key.
        if props.get("AtRestEncryptionEnabled") is not True and "GlobalReplicationGroupId" not in props:
            return ["at rest: not encrypted"]
        return _key_problem("KmsKeyId", props.get("KmsKeyId"), key_ids, "ElastiCache's default key")
    if kind == "AWS::ElastiCache::ServerlessCache":
        return _key_problem("KmsKeyId", props.get("KmsKeyId"), key_ids, "ElastiCache's default key")
    if kind == "AWS::ElastiCache::CacheCluster":
        return [f"at rest: not encrypted ({render(props.get('Engine'))} cache cluster)"]
    if kind == "AWS::DAX::Cluster":
        if props.get("SSESpecification", {}).get("SSEEnabled") is True:
            return ["at rest: AWS-owned key"]
        return ["at rest: not encrypted"]
    if kind == "AWS::SecretsManager::Secret":
        return _key_problem(
            "KmsKeyId", props.get("KmsKeyId"), key_ids, "AWS-managed key (aws/secretsmanager)"
        )
    if kind == "AWS::Backup::BackupVault":
        return _key_problem("EncryptionKeyArn", props.get("EncryptionKeyArn"), key_ids, "AWS-managed key")
    if kind == "AWS::Kinesis::Stream":
        return _key_problem(
            "StreamEncryption", props.get("StreamEncryption", {}).get("KeyId"), key_ids, "none"
        )
    if kind == "AWS::Cognito::UserPool":
        return ["at rest: AWS-owned key"]
    return [f"no encryption rule for {kind}"]


# ---------------------------------------------------------------------------------------------------
# Public reachability
# ---------------------------------------------------------------------------------------------------

_ANYWHERE = ("0.0.0.0/0", "::/0")
#: Resource types that only exist to connect a VPC to the internet.
INTERNET_TYPES = (
    "AWS::EC2::InternetGateway",
    "AWS::EC2::EgressOnlyInternetGateway",
    "AWS::EC2::NatGateway",
    "AWS::EC2::EIP",
    "AWS::EC2::VPCGatewayAttachment",
    "AWS::Lambda::Url",
)
#: Condition keys that confine a ``Principal: "*"`` statement to our account, organization, a
#: calling service's source, or our network (IAM "AWS global condition context keys").
RESTRICTING_CONDITION_KEYS = frozenset(
    key.lower()
    for key in (
        "aws:SourceAccount",
        "aws:SourceArn",
        "aws:SourceOwner",
        "aws:SourceOrgID",
        "aws:SourceOrgPaths",
        "aws:PrincipalAccount",
        "aws:PrincipalArn",
        "aws:PrincipalOrgID",
        "aws:PrincipalOrgPaths",
        "aws:SourceVpc",
        "aws:SourceVpce",
        "kms:CallerAccount",
    )
)
_FULL_BLOCK = ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")


def _is_everyone(principal: Any) -> bool:
    if principal == "*":
        return True
    return isinstance(principal, Mapping) and "*" in as_list(principal.get("AWS", []))


def _restricting_keys(condition: Any) -> set[str]:
    if not isinstance(condition, Mapping):
        return set()
    keys = {key.lower() for block in condition.values() if isinstance(block, Mapping) for key in block}
    return keys & RESTRICTING_CONDITION_KEYS


def public_exposures(templates: Templates) -> list[Finding]:
    """Everything that would make a resource reachable from the internet, other than an API
    Gateway API (those are listed and checked by the public-access gate itself): ingress from
    anywhere, internet/NAT gateways and public IPs, public subnets, publicly accessible databases,
    buckets without a full public access block, function URLs and open Lambda permissions, and
    ``Allow`` statements for ``Principal: "*"`` without a condition confining them."""
    found: list[Finding] = []
    for resource in resources(templates):
        props, kind = resource.properties, resource.type
        rules: list[Mapping[str, Any]] = []
        if kind == "AWS::EC2::SecurityGroup":
            rules = list(props.get("SecurityGroupIngress", []))
        elif kind == "AWS::EC2::SecurityGroupIngress":
            rules = [props]
        for rule in rules:
            source = rule.get("CidrIp", rule.get("CidrIpv6"))
            if source in _ANYWHERE:
                found.append(_finding(resource, f"ingress from {source} ({render(rule.get('IpProtocol'))})"))
        if kind in INTERNET_TYPES:
            found.append(_finding(resource, "connects to the internet"))
        if kind == "AWS::EC2::Subnet" and props.get("MapPublicIpOnLaunch") is True:
            found.append(_finding(resource, "public subnet (MapPublicIpOnLaunch)"))
        if kind == "AWS::EC2::Route" and "GatewayId" in props:
            found.append(_finding(resource, f"route through gateway {render(props['GatewayId'])}"))
        if (
            kind in ("AWS::RDS::DBInstance", "AWS::RDS::DBCluster")
            and props.get("PubliclyAccessible") is True
        ):
            found.append(_finding(resource, "PubliclyAccessible: true"))
        if kind == "AWS::S3::Bucket":
            block = props.get("PublicAccessBlockConfiguration", {})
            missing = [flag for flag in _FULL_BLOCK if block.get(flag) is not True]
            if missing:
                found.append(_finding(resource, f"public access block lacks {', '.join(missing)}"))
        if kind == "AWS::Lambda::Permission" and (
            props.get("Principal") == "*" or "FunctionUrlAuthType" in props
        ):
            found.append(_finding(resource, f"invocable by {render(props.get('Principal'))}"))
    for doc in policy_documents(templates):
        for statement in doc.statements():
            if statement.get("Effect") != "Allow" or not _is_everyone(statement.get("Principal")):
                continue
            if not _restricting_keys(statement.get("Condition")):
                actions = render(statement.get("Action", statement.get("NotAction")))
                found.append(_finding(doc.resource, f"{doc.location} allows {actions} to everyone"))
    return sorted(set(found))


def rest_apis(templates: Templates) -> list[str]:
    """``stack/logicalId`` of every API Gateway API (REST, HTTP or WebSocket) in the templates."""
    kinds = ("AWS::ApiGateway::RestApi", "AWS::ApiGatewayV2::Api", "AWS::AppSync::GraphQLApi")
    return sorted(r.path for r in resources(templates, *kinds))


def unauthenticated_methods(templates: Templates) -> list[Finding]:
    """API Gateway methods anyone can call: ``AuthorizationType`` NONE (or absent) on anything but
    a CORS preflight (``OPTIONS``)."""
    return sorted(
        _finding(method, f"{method.properties.get('HttpMethod')} without authorization")
        for method in resources(templates, "AWS::ApiGateway::Method")
        if method.properties.get("AuthorizationType", "NONE") == "NONE"
        and method.properties.get("HttpMethod") != "OPTIONS"
    )


# ---------------------------------------------------------------------------------------------------
# Retention of state
# ---------------------------------------------------------------------------------------------------

#: Types holding state that must survive deleting or replacing the resource (production), except
#: where :func:`is_stateful` says a resource of the type holds none (see tests/gates/test_retention.py).
STATEFUL_TYPES = (
    "AWS::DynamoDB::Table",
    "AWS::DynamoDB::GlobalTable",
    "AWS::S3::Bucket",
    "AWS::RDS::DBInstance",
    "AWS::RDS::DBCluster",
    "AWS::RDS::GlobalCluster",
    "AWS::ElastiCache::ReplicationGroup",
    "AWS::ElastiCache::ServerlessCache",
    "AWS::ElastiCache::CacheCluster",
    "AWS::KMS::Key",
    "AWS::SecretsManager::Secret",
    "AWS::Logs::LogGroup",
    "AWS::SQS::Queue",
    "AWS::Backup::BackupVault",
    "AWS::Cognito::UserPool",
    "AWS::Kinesis::Stream",
)
KEEPING_POLICIES = ("Retain", "Snapshot", "RetainExceptOnCreate")


def is_stateful(resource: Resource) -> bool:
    """Whether deleting ``resource`` loses data: a :data:`STATEFUL_TYPES` type, except an RDS
    instance that is a member of a cluster (the cluster owns the storage, and CloudFormation does not
    accept ``Snapshot`` for a member) and a Memcached cluster (memory only, no persistence)."""
    if resource.type not in STATEFUL_TYPES:
        return False
    if resource.type == "AWS::RDS::DBInstance" and "DBClusterIdentifier" in resource.properties:
        return False
    return not (
        resource.type == "AWS::ElastiCache::CacheCluster" and resource.properties.get("Engine") == "memcached"
    )


def retention_findings(templates: Templates, *, production: bool) -> list[Finding]:
    """Production: each stateful resource whose ``DeletionPolicy`` or ``UpdateReplacePolicy`` is
    not Retain/Snapshot, and each ElastiCache replication group without automatic snapshots.
    Sandbox: each stateful resource that deletion or replacement would leave behind."""
    found: list[Finding] = []
    for resource in resources(templates, *STATEFUL_TYPES):
        if not is_stateful(resource):
            continue
        policies = {
            "DeletionPolicy": resource.deletion_policy or "Delete",
            "UpdateReplacePolicy": resource.update_replace_policy or "Delete",
        }
        for attribute, policy in policies.items():
            if production and policy not in KEEPING_POLICIES:
                found.append(_finding(resource, f"{attribute} {policy} in production"))
            if not production and policy != "Delete":
                found.append(_finding(resource, f"{attribute} {policy} in a sandbox"))
        if production and resource.type == "AWS::ElastiCache::ReplicationGroup":
            limit = resource.properties.get("SnapshotRetentionLimit", 0)
            if not isinstance(limit, int) or limit <= 0:
                found.append(_finding(resource, f"SnapshotRetentionLimit {render(limit)} in production"))
    return sorted(found)
