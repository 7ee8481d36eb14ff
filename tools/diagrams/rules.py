"""How resource types are drawn: classification, edge rules for properties, verbs for IAM actions."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Kind:
    """How a node of a resource type is drawn: its AWS-style title and its AWS icon category."""

    title: str
    category: str


COMPUTE, DATABASE, INTEGRATION, NETWORK, SECURITY, STORAGE, ANALYTICS, MANAGEMENT = (
    "compute",
    "database",
    "integration",
    "network",
    "security",
    "storage",
    "analytics",
    "management",
)

#: (border, fill) per category, after the colours of the AWS architecture icons.
CATEGORY_COLOURS: Mapping[str, tuple[str, str]] = {
    COMPUTE: ("#ED7100", "#FDF1E5"),
    DATABASE: ("#C925D1", "#F9E9FA"),
    INTEGRATION: ("#E7157B", "#FCE7F2"),
    NETWORK: ("#8C4FFF", "#F3EDFF"),
    SECURITY: ("#DD344C", "#FBEAED"),
    STORAGE: ("#7AA116", "#F1F6E7"),
    ANALYTICS: ("#01A88D", "#E5F6F3"),
    MANAGEMENT: ("#E7157B", "#FCE7F2"),
}

#: Resource types drawn as nodes.
MAIN_TYPES: Mapping[str, Kind] = {
    "AWS::ApiGateway::DomainName": Kind("API Gateway custom domain", NETWORK),
    "AWS::ApiGateway::RestApi": Kind("API Gateway REST API", NETWORK),
    "AWS::ApiGatewayV2::Api": Kind("API Gateway HTTP API", NETWORK),
    "AWS::AppSync::GraphQLApi": Kind("AppSync GraphQL API", INTEGRATION),
    "AWS::Backup::BackupPlan": Kind("AWS Backup plan", STORAGE),
    "AWS::Backup::BackupVault": Kind("AWS Backup vault", STORAGE),
    "AWS::CloudFront::Distribution": Kind("CloudFront distribution", NETWORK),
    "AWS::Cognito::UserPool": Kind("Cognito user pool", SECURITY),
    "AWS::DAX::Cluster": Kind("DynamoDB Accelerator (DAX)", DATABASE),
    "AWS::DMS::ReplicationConfig": Kind("DMS Serverless replication", DATABASE),
    "AWS::DMS::ReplicationInstance": Kind("DMS replication instance", DATABASE),
    "AWS::DocDB::DBCluster": Kind("DocumentDB cluster", DATABASE),
    "AWS::DynamoDB::GlobalTable": Kind("DynamoDB table", DATABASE),
    "AWS::DynamoDB::Table": Kind("DynamoDB table", DATABASE),
    "AWS::EC2::Instance": Kind("EC2 instance", COMPUTE),
    "AWS::EC2::VPC": Kind("VPC", NETWORK),
    "AWS::EC2::VPCPeeringConnection": Kind("VPC peering connection", NETWORK),
    "AWS::ECS::Service": Kind("ECS service", COMPUTE),
    "AWS::ElastiCache::CacheCluster": Kind("ElastiCache cluster", DATABASE),
    "AWS::ElastiCache::GlobalReplicationGroup": Kind("ElastiCache global datastore", DATABASE),
    "AWS::ElastiCache::ReplicationGroup": Kind("ElastiCache replication group", DATABASE),
    "AWS::ElastiCache::ServerlessCache": Kind("ElastiCache Serverless", DATABASE),
    "AWS::Events::EventBus": Kind("EventBridge event bus", INTEGRATION),
    "AWS::Events::Rule": Kind("EventBridge rule", INTEGRATION),
    "AWS::Kinesis::Stream": Kind("Kinesis data stream", ANALYTICS),
    "AWS::KinesisFirehose::DeliveryStream": Kind("Data Firehose stream", ANALYTICS),
    "AWS::Lambda::Function": Kind("Lambda function", COMPUTE),
    "AWS::MemoryDB::Cluster": Kind("MemoryDB cluster", DATABASE),
    "AWS::Neptune::DBCluster": Kind("Neptune cluster", DATABASE),
    "AWS::OpenSearchService::Domain": Kind("OpenSearch domain", ANALYTICS),
    "AWS::Pipes::Pipe": Kind("EventBridge pipe", INTEGRATION),
    "AWS::RDS::DBCluster": Kind("Aurora DB cluster", DATABASE),
    "AWS::RDS::DBInstance": Kind("RDS DB instance", DATABASE),
    "AWS::RDS::DBProxy": Kind("RDS Proxy", DATABASE),
    "AWS::RDS::GlobalCluster": Kind("Aurora global database", DATABASE),
    "AWS::Route53::HealthCheck": Kind("Route 53 health check", NETWORK),
    "AWS::Route53::RecordSet": Kind("Route 53 record", NETWORK),
    "AWS::S3::Bucket": Kind("S3 bucket", STORAGE),
    "AWS::SNS::Topic": Kind("SNS topic", INTEGRATION),
    "AWS::SQS::Queue": Kind("SQS queue", INTEGRATION),
    "AWS::StepFunctions::StateMachine": Kind("Step Functions state machine", INTEGRATION),
    "AWS::WAFv2::WebACL": Kind("AWS WAF web ACL", SECURITY),
}

#: The kind of a security group drawn as a node: one that nothing uses yet but that rules admit, the
#: group that clients of a cache or database are meant to join.
CLIENT_SECURITY_GROUP = Kind("Security group (for clients)", SECURITY)

#: Resource types that belong to one main resource, named by the property that references it. They are
#: drawn as part of it: their references become the main resource's edges.
FOLD_INTO: Mapping[str, str] = {
    "AWS::ApiGateway::Authorizer": "RestApiId",
    "AWS::ApiGateway::BasePathMapping": "RestApiId",
    "AWS::ApiGateway::Deployment": "RestApiId",
    "AWS::ApiGateway::GatewayResponse": "RestApiId",
    "AWS::ApiGateway::Method": "RestApiId",
    "AWS::ApiGateway::Model": "RestApiId",
    "AWS::ApiGateway::RequestValidator": "RestApiId",
    "AWS::ApiGateway::Resource": "RestApiId",
    "AWS::ApiGateway::Stage": "RestApiId",
    "AWS::ApiGateway::UsagePlan": "ApiStages",
    "AWS::ApiGateway::UsagePlanKey": "UsagePlanId",
    "AWS::ApiGatewayV2::Integration": "ApiId",
    "AWS::ApiGatewayV2::Route": "ApiId",
    "AWS::ApiGatewayV2::Stage": "ApiId",
    "AWS::Backup::BackupSelection": "BackupPlanId",
    "AWS::EC2::VPCEndpoint": "VpcId",
    "AWS::Lambda::Alias": "FunctionName",
    "AWS::Lambda::EventInvokeConfig": "FunctionName",
    "AWS::Lambda::EventSourceMapping": "FunctionName",
    "AWS::Lambda::Permission": "FunctionName",
    "AWS::Lambda::Version": "FunctionName",
    "AWS::RDS::DBInstance": "DBClusterIdentifier",  # only an Aurora instance has it
    "AWS::SNS::Subscription": "TopicArn",
    "AWS::WAFv2::LoggingConfiguration": "ResourceArn",
    "AWS::WAFv2::WebACLAssociation": "WebACLArn",
    "Custom::S3BucketNotifications": "BucketName",
}

#: Resource types left out of the diagrams (``*`` ends a prefix).
OMITTED_TYPES: tuple[str, ...] = (
    "AWS::ApiGateway::Account",
    "AWS::Cognito::UserPoolClient",
    "AWS::ApiGateway::ApiKey",
    "AWS::ApplicationAutoScaling::*",
    "AWS::CDK::Metadata",
    "AWS::CloudFormation::*",
    "AWS::CertificateManager::*",
    "AWS::CloudWatch::*",
    "AWS::DAX::ParameterGroup",
    "AWS::DAX::SubnetGroup",
    "AWS::DMS::Certificate",
    "AWS::DMS::Endpoint",  # its database is drawn through the replication's security-group rules
    "AWS::DMS::ReplicationSubnetGroup",
    "AWS::EC2::EIP",
    "AWS::EC2::FlowLog",
    "AWS::EC2::InternetGateway",
    "AWS::EC2::NatGateway",
    "AWS::EC2::NetworkAcl*",
    "AWS::EC2::Route",
    "AWS::EC2::RouteTable",
    "AWS::EC2::SecurityGroup",  # drawn as edges between its users, or as a node when only rules use it
    "AWS::EC2::SecurityGroupEgress",
    "AWS::EC2::SecurityGroupIngress",
    "AWS::EC2::Subnet",
    "AWS::EC2::SubnetRouteTableAssociation",
    "AWS::EC2::VPCGatewayAttachment",
    "AWS::ElastiCache::ParameterGroup",
    "AWS::ElastiCache::SubnetGroup",
    "AWS::ElastiCache::User*",
    "AWS::IAM::*",
    "AWS::KMS::*",
    "AWS::Lambda::LayerVersion",
    "AWS::Logs::*",
    "AWS::RDS::DBClusterParameterGroup",
    "AWS::RDS::DBParameterGroup",
    "AWS::RDS::DBSubnetGroup",
    "AWS::RDS::OptionGroup",
    "AWS::S3::BucketPolicy",
    "AWS::SNS::TopicPolicy",
    "AWS::SQS::QueuePolicy",
    "AWS::SSM::Parameter",
    "AWS::SecretsManager::*",
    "AWS::Serverless::Application",  # the secret-rotation application of RDS and Aurora
    "AWS::WAFv2::IPSet",
    "Custom::*",
)


def classify(resource_type: str) -> str:
    """``main``, ``fold`` or ``omitted``; raises KeyError for a type the generator does not know."""
    if resource_type in MAIN_TYPES:
        return "main"
    if resource_type in FOLD_INTO:
        return "fold"
    for pattern in OMITTED_TYPES:
        if resource_type == pattern or (pattern.endswith("*") and resource_type.startswith(pattern[:-1])):
            return "omitted"
    raise KeyError(resource_type)


FLOW, NETWORK_RULE, REPLICATION, PLACEMENT = "flow", "network", "replication", "placement"
EDGE_PRIORITY = (REPLICATION, FLOW, NETWORK_RULE, PLACEMENT)


# Edges from the properties of a resource (main or folded): (resource type, property) -> rule.


@dataclass(frozen=True)
class PropertyRule:
    label: str | Callable[[Mapping[str, Any]], str]
    reverse: bool = False  # the edge goes from the referenced resource to the referencing one
    kind: str = FLOW


def _esm_label(props: Mapping[str, Any]) -> str:
    source = json.dumps(props.get("EventSourceArn"))
    label = "stream" if "StreamArn" in source or ":kinesis:" in source else "triggers"
    return label + (" (filtered)" if props.get("FilterCriteria") else "")


def _integration_label(props: Mapping[str, Any]) -> str:
    uri = json.dumps(props.get("Integration", {}).get("Uri", ""))
    if ":sqs:" in uri:
        return "SendMessage"
    if ":lambda:" in uri:
        return "invoke"
    return "integration"


def _clone_label(props: Mapping[str, Any]) -> str:
    return "copy-on-write clone" if props.get("RestoreType") == "copy-on-write" else "restored from"


def _destination_label(props: Mapping[str, Any]) -> str:
    config = props.get("DestinationConfig", {})
    return " / ".join(
        label for key, label in (("OnSuccess", "on success"), ("OnFailure", "on failure")) if key in config
    )


PROPERTY_RULES: Mapping[tuple[str, str], PropertyRule] = {
    ("AWS::SQS::Queue", "RedrivePolicy"): PropertyRule("dead letters"),
    ("AWS::S3::Bucket", "LoggingConfiguration"): PropertyRule("access logs"),
    ("AWS::S3::Bucket", "ReplicationConfiguration"): PropertyRule("replicates to", kind=REPLICATION),
    ("AWS::Lambda::Function", "DeadLetterConfig"): PropertyRule("dead letters"),
    ("AWS::Lambda::EventSourceMapping", "EventSourceArn"): PropertyRule(_esm_label, reverse=True),
    ("AWS::Lambda::EventSourceMapping", "DestinationConfig"): PropertyRule(_destination_label),
    ("AWS::Lambda::EventInvokeConfig", "DestinationConfig"): PropertyRule(_destination_label),
    ("AWS::Lambda::Permission", "SourceArn"): PropertyRule("invoke", reverse=True),
    ("AWS::ApiGateway::Method", "Integration"): PropertyRule(_integration_label),
    ("AWS::WAFv2::WebACLAssociation", "ResourceArn"): PropertyRule("filters"),
    ("AWS::SNS::Subscription", "Endpoint"): PropertyRule("subscription"),
    ("Custom::S3BucketNotifications", "NotificationConfiguration"): PropertyRule("event notification"),
    ("AWS::Backup::BackupSelection", "BackupSelection"): PropertyRule("backs up"),
    ("AWS::Events::Rule", "EventBusName"): PropertyRule("", reverse=True),
    ("AWS::Events::Rule", "Targets"): PropertyRule("target"),
    ("AWS::Pipes::Pipe", "Source"): PropertyRule("", reverse=True),
    ("AWS::RDS::DBInstance", "SourceDBInstanceIdentifier"): PropertyRule(
        "read replica", reverse=True, kind=REPLICATION
    ),
    ("AWS::RDS::DBCluster", "SourceDBClusterIdentifier"): PropertyRule(
        _clone_label, reverse=True, kind=REPLICATION
    ),
    ("AWS::RDS::DBCluster", "GlobalClusterIdentifier"): PropertyRule(
        "secondary", reverse=True, kind=REPLICATION
    ),
    ("AWS::RDS::GlobalCluster", "SourceDBClusterIdentifier"): PropertyRule(
        "primary", reverse=True, kind=REPLICATION
    ),
    ("AWS::ElastiCache::GlobalReplicationGroup", "Members"): PropertyRule(
        "primary", reverse=True, kind=REPLICATION
    ),
    ("AWS::ElastiCache::ReplicationGroup", "GlobalReplicationGroupId"): PropertyRule(
        "secondary", reverse=True, kind=REPLICATION
    ),
    # A peering connection joins two VPCs: drawn like a resource placed in each.
    ("AWS::EC2::VPCPeeringConnection", "VpcId"): PropertyRule("requester", kind=PLACEMENT),
    ("AWS::EC2::VPCPeeringConnection", "PeerVpcId"): PropertyRule("accepter", kind=PLACEMENT),
}

#: Properties that never make an edge (the fold property is skipped as well).
IGNORED_PROPERTIES = frozenset(
    {"Tags", "Role", "RoleArn", "Layers", "VpcConfig", "KmsKeyId", "KmsMasterKeyId"}
)

# IAM actions -> verbs on the edge from the role's user to the resource.
_SPECIAL_VERBS = {
    "sqs:SendMessage": "send",
    "sqs:SendMessageBatch": "send",
    "sqs:ReceiveMessage": "receive",
    "sns:Publish": "publish",
    "lambda:InvokeFunction": "invoke",
    "states:StartExecution": "start",
    "events:PutEvents": "put events",
    "rds-db:connect": "connect",
    "elasticache:Connect": "connect",
    "backup:StartBackupJob": "back up",
}
_READ = ("Get", "BatchGet", "Query", "Scan", "Describe", "List", "ConditionCheck", "Receive", "Select")
_WRITE = ("Put", "Update", "Delete", "BatchWrite", "Write", "Transact", "Create", "Abort", "Restore")
#: Services whose grants are plumbing, not data flow.
_IGNORED_SERVICES = frozenset({"kms", "logs", "xray", "cloudwatch", "ec2", "iam", "sts"})
#: Actions a Lambda event source mapping needs to poll its source: implied by the mapping's edge.
POLLING_ACTIONS = frozenset(
    {
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "dynamodb:ListStreams",
        "kinesis:DescribeStream",
        "kinesis:DescribeStreamSummary",
        "kinesis:GetRecords",
        "kinesis:GetShardIterator",
        "kinesis:ListShards",
        "kinesis:ListStreams",
        "kinesis:SubscribeToShard",
    }
)


def action_verbs(actions: Iterable[str]) -> set[str]:
    """``read``, ``write``, ``send``, ``publish``... for IAM actions; plumbing services give none."""
    verbs = set()
    for action in actions:
        service, _, name = action.partition(":")
        if service in _IGNORED_SERVICES:
            continue
        if action in _SPECIAL_VERBS:
            verbs.add(_SPECIAL_VERBS[action])
        elif name == "*":
            verbs |= {"read", "write"}
        elif name.startswith(_READ):
            verbs.add("read")
        elif name.startswith(_WRITE):
            verbs.add("write")
        else:
            verbs.add("use")
    return verbs


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
