"""The detail lines under a node's name: engine, size, capacity mode, methods... from its properties."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from tools.diagrams.index import NodeRef, StackIndex
from tools.diagrams.rules import as_list
from tools.diagrams.template import references, strings


def _count(number: Any, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _engine(props: Mapping[str, Any]) -> str:
    engine, version = props.get("Engine"), props.get("EngineVersion")
    return " ".join(str(part) for part in (engine, version) if isinstance(part, str))


def _lambda_details(index: StackIndex, logical_id: str) -> list[str]:
    props = index.props(logical_id)
    parts = [str(props[key]) for key in ("Runtime",) if isinstance(props.get(key), str)]
    parts += [str(arch) for arch in props.get("Architectures", [])]
    if isinstance(props.get("ReservedConcurrentExecutions"), int):
        parts.append(f"reserved concurrency {props['ReservedConcurrentExecutions']}")
    return [" · ".join(parts)] if parts else []


def _table_details(index: StackIndex, logical_id: str) -> list[str]:
    props = index.props(logical_id)
    billing = {"PAY_PER_REQUEST": "on-demand", "PROVISIONED": "provisioned"}.get(
        str(props.get("BillingMode", "PROVISIONED"))
    )
    parts = [billing] if billing else []
    if props.get("StreamSpecification"):
        parts.append("stream " + str(props["StreamSpecification"].get("StreamViewType", "")).lower())
    regions = sorted(
        str(replica["Region"])
        for replica in props.get("Replicas", [])
        if isinstance(replica.get("Region"), str) and replica["Region"] != index.source.region
    )
    lines = [" · ".join(parts)] if parts else []
    if regions:
        lines.append("replicas: " + ", ".join(regions))
    return lines


def _dax_details(index: StackIndex, logical_id: str) -> list[str]:
    props = index.props(logical_id)
    return [f"{props.get('NodeType')}, {_count(props.get('ReplicationFactor'), 'node')}"]


def _instance_details(index: StackIndex, logical_id: str) -> list[str]:
    props = index.props(logical_id)
    parts = [_engine(props)] if _engine(props) else []
    parts.append(str(props.get("DBInstanceClass", "")))
    if props.get("MultiAZ") is True:
        parts.append("Multi-AZ")
    return [" · ".join(part for part in parts if part)]


def _cluster_details(index: StackIndex, logical_id: str) -> list[str]:
    props = index.props(logical_id)
    lines = [_engine(props)] if _engine(props) else []
    scaling = props.get("ServerlessV2ScalingConfiguration")
    instances = [
        ref
        for ref in index.folded_into(NodeRef(index.source.name, logical_id))
        if index.type_of(ref) == "AWS::RDS::DBInstance"
    ]
    parts = []
    if scaling:
        parts.append(f"Serverless v2 {scaling.get('MinCapacity')}-{scaling.get('MaxCapacity')} ACU")
    classes = sorted({str(index.props(ref).get("DBInstanceClass")) for ref in instances} - {"db.serverless"})
    parts += classes
    if instances:
        readers = len(instances) - 1
        parts.append("writer" + (f" + {readers} reader{'s' if readers > 1 else ''}" if readers else ""))
    if parts:
        lines.append(" · ".join(parts))
    return lines


def _replication_group_details(index: StackIndex, logical_id: str) -> list[str]:
    props = index.props(logical_id)
    parts = [str(props["Engine"])] if isinstance(props.get("Engine"), str) else []
    if props.get("CacheNodeType"):
        parts.append(str(props["CacheNodeType"]))
    if props.get("NumCacheClusters"):
        parts.append(_count(props["NumCacheClusters"], "node"))
    if props.get("NumNodeGroups"):
        parts.append(_count(props["NumNodeGroups"], "shard"))
    if props.get("ReplicasPerNodeGroup") is not None:
        parts.append(_count(props["ReplicasPerNodeGroup"], "replica") + " per shard")
    if props.get("MultiAZEnabled") is True:
        parts.append("Multi-AZ")
    return [" · ".join(parts)] if parts else []


def _cache_cluster_details(index: StackIndex, logical_id: str) -> list[str]:
    props = index.props(logical_id)
    nodes = _count(props.get("NumCacheNodes", 1), "node")
    return [f"{props.get('Engine')} · {props.get('CacheNodeType')}, {nodes}"]


def _bucket_details(index: StackIndex, logical_id: str) -> list[str]:
    props = index.props(logical_id)
    parts = []
    if props.get("VersioningConfiguration", {}).get("Status") == "Enabled":
        parts.append("versioned")
    if props.get("ObjectLockEnabled"):
        parts.append("Object Lock")
    return [" · ".join(parts)] if parts else []


def _fifo_details(index: StackIndex, logical_id: str) -> list[str]:
    props = index.props(logical_id)
    return ["FIFO"] if props.get("FifoQueue") or props.get("FifoTopic") else []


def _api_details(index: StackIndex, logical_id: str) -> list[str]:
    resources = {ref: index.props(ref) for ref in index.of_type("AWS::ApiGateway::Resource")}

    def path(resource_id: Any) -> str:
        refs = list(references(resource_id))
        if not refs or refs[0] not in resources:
            return ""
        props = resources[refs[0]]
        return f"{path(props.get('ParentId'))}/{props.get('PathPart')}"

    return sorted(
        f"{index.props(ref).get('HttpMethod')} {path(index.props(ref).get('ResourceId')) or '/'}"
        for ref in index.folded_into(NodeRef(index.source.name, logical_id))
        if index.type_of(ref) == "AWS::ApiGateway::Method"
    )


def _web_acl_details(index: StackIndex, logical_id: str) -> list[str]:
    rules = index.props(logical_id).get("Rules", [])
    return [f"{len(rules)} rule{'s' if len(rules) != 1 else ''}"] if rules else []


def _vpc_details(index: StackIndex, logical_id: str) -> list[str]:
    subnets = [
        ref
        for ref in index.of_type("AWS::EC2::Subnet")
        if logical_id in references(index.props(ref).get("VpcId"))
    ]
    zones = {json.dumps(index.props(ref).get("AvailabilityZone"), sort_keys=True) for ref in subnets}
    subnet_types = sorted(
        {
            str(tag["Value"]).lower()
            for ref in subnets
            for tag in index.props(ref).get("Tags", [])
            if tag.get("Key") == "aws-cdk:subnet-type"
        }
    )
    nat = len(index.of_type("AWS::EC2::NatGateway"))
    parts = [f"{len(zones)} AZs"] if zones else []
    if subnet_types:
        parts.append(", ".join(subnet_types) + " subnets")
    parts.append(f"{nat} NAT gateways" if nat else "no NAT")
    endpoints = sorted(
        str(_strings_tail(index.props(ref).get("ServiceName")))
        for ref in index.folded_into(NodeRef(index.source.name, logical_id))
        if index.type_of(ref) == "AWS::EC2::VPCEndpoint"
    )
    lines = [" · ".join(parts)]
    if endpoints:
        lines.append("endpoints: " + ", ".join(endpoints))
    return lines


def _strings_tail(service_name: Any) -> str:
    """``dynamodb`` for ``com.amazonaws.<region>.dynamodb`` given as a string or an ``Fn::Join``."""
    text = "".join(part for part in strings(service_name) if part)
    return text.rsplit(".", 1)[-1]


def _backup_plan_details(index: StackIndex, logical_id: str) -> list[str]:
    plan = index.props(logical_id).get("BackupPlan", {})
    names = sorted(str(rule.get("RuleName")) for rule in as_list(plan.get("BackupPlanRule", [])))
    return ["rules: " + ", ".join(names)] if names else []


def _backup_vault_details(index: StackIndex, logical_id: str) -> list[str]:
    return ["vault lock"] if index.props(logical_id).get("LockConfiguration") else []


DETAILS: Mapping[str, Callable[[StackIndex, str], list[str]]] = {
    "AWS::ApiGateway::RestApi": _api_details,
    "AWS::Backup::BackupPlan": _backup_plan_details,
    "AWS::Backup::BackupVault": _backup_vault_details,
    "AWS::DAX::Cluster": _dax_details,
    "AWS::DynamoDB::GlobalTable": _table_details,
    "AWS::DynamoDB::Table": _table_details,
    "AWS::EC2::VPC": _vpc_details,
    "AWS::ElastiCache::CacheCluster": _cache_cluster_details,
    "AWS::ElastiCache::ReplicationGroup": _replication_group_details,
    "AWS::Lambda::Function": _lambda_details,
    "AWS::RDS::DBCluster": _cluster_details,
    "AWS::RDS::DBInstance": _instance_details,
    "AWS::S3::Bucket": _bucket_details,
    "AWS::SNS::Topic": _fifo_details,
    "AWS::SQS::Queue": _fifo_details,
    "AWS::WAFv2::WebACL": _web_acl_details,
}
