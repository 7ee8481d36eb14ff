"""Idle cost of the app, read from the synthesized templates (``make cost``).

Synthesizes the app in-process for each profile (as ``cdk synth -c profile=...`` would) or reads a
``cdk.out`` directory, walks every resource of every stack and prices what bills while nothing
happens: instance, node and capacity hours, endpoints, keys, secrets, alarms, web ACLs. Prices come
from ``tools/prices.json`` (region, unit, date and source per price); nothing here calls AWS.

What a resource costs only when used (requests, storage, data transfer, per-GB processing) is left
out on purpose. A resource type or size the model does not know is never priced at 0: it is listed
under "unpriced" with the reason.

    python -m tools.cost                          # both profiles, every stack
    python -m tools.cost --profile sandbox --summary
    python -m tools.cost --cdk-out cdk.out        # an assembly synthesized elsewhere
    python -m tools.cost --budget sandbox=250     # exit 1 when the sandbox exceeds $250/month
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PRICES = Path(__file__).with_name("prices.json")
HOURS_PER_MONTH = 730
PROFILES = ("sandbox", "production")
#: Region whose price stands in when the table has none for a stack's region (flagged in the output).
FALLBACK_REGION = "us-east-1"

_HOURLY_UNITS = frozenset({"hour", "ACU-hour", "RCU-hour", "WCU-hour"})
_MONTHLY_UNITS = frozenset({"month", "GB-month"})
CONFIDENCE_LEVELS = frozenset({"published", "estimate"})

# ---------------------------------------------------------------------------------------------------
# Prices
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Price:
    """One on-demand list price of ``prices.json``."""

    key: str
    region: str
    usd: float
    unit: str
    date: str
    source: str
    confidence: str
    seen_at: str | None = None
    note: str | None = None

    @property
    def hourly(self) -> float:
        """The price of one unit for one hour (monthly prices spread over 730 hours)."""
        if self.unit in _HOURLY_UNITS:
            return self.usd
        return self.usd / HOURS_PER_MONTH


@dataclass(frozen=True)
class Quote:
    """A price looked up for a stack's region; ``approximated`` when another region's price stands in."""

    price: Price
    region: str

    @property
    def approximated(self) -> bool:
        return self.price.region not in (self.region, "*")

    @property
    def estimate(self) -> bool:
        return self.price.confidence == "estimate"


class PriceError(ValueError):
    """``prices.json`` is malformed."""


class PriceTable:
    """Prices by (key, region); ``*`` means every region."""

    def __init__(self, prices: Iterable[Price]) -> None:
        self._prices: dict[tuple[str, str], Price] = {}
        for price in prices:
            _check_price(price)
            if (price.key, price.region) in self._prices:
                raise PriceError(f"duplicate price {price.key!r} in {price.region}")
            self._prices[(price.key, price.region)] = price

    @classmethod
    def load(cls, path: Path = DEFAULT_PRICES) -> PriceTable:
        document = json.loads(path.read_text())
        if document.get("hours_per_month") != HOURS_PER_MONTH:
            raise PriceError(f"{path}: hours_per_month must be {HOURS_PER_MONTH}")
        try:
            return cls(Price(**entry) for entry in document["prices"])
        except TypeError as error:
            raise PriceError(f"{path}: {error}") from None

    def __iter__(self) -> Iterator[Price]:
        return iter(self._prices.values())

    def quote(self, key: str, region: str) -> Quote | None:
        """The price of ``key`` in ``region``, else the all-regions price, else us-east-1's (flagged)."""
        for candidate in (region, "*", FALLBACK_REGION):
            price = self._prices.get((key, candidate))
            if price is not None:
                return Quote(price, region)
        return None


def _check_price(price: Price) -> None:
    problems = []
    if price.unit not in _HOURLY_UNITS | _MONTHLY_UNITS:
        problems.append(f"unit {price.unit!r} is not one of {sorted(_HOURLY_UNITS | _MONTHLY_UNITS)}")
    if price.confidence not in CONFIDENCE_LEVELS:
        problems.append(f"confidence {price.confidence!r} is not one of {sorted(CONFIDENCE_LEVELS)}")
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", price.date):
        problems.append(f"date {price.date!r} is not YYYY-MM-DD")
    if not price.source.startswith("https://aws.amazon.com/"):
        problems.append(f"source {price.source!r} is not an AWS pricing page")
    if not price.region or not isinstance(price.usd, int | float) or price.usd < 0:
        problems.append("region must be set and usd a non-negative number")
    if problems:
        raise PriceError(f"price {price.key!r} ({price.region}): " + "; ".join(problems))


# ---------------------------------------------------------------------------------------------------
# Templates
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StackTemplate:
    """One synthesized stack: its name, its region and its CloudFormation template."""

    name: str
    region: str
    template: Mapping[str, Any]

    @property
    def resources(self) -> Mapping[str, Mapping[str, Any]]:
        resources: Mapping[str, Mapping[str, Any]] = self.template.get("Resources", {})
        return resources

    @property
    def outputs(self) -> Mapping[str, Mapping[str, Any]]:
        outputs: Mapping[str, Mapping[str, Any]] = self.template.get("Outputs", {})
        return outputs


def stacks_from_cdk_out(directory: Path) -> list[StackTemplate]:
    """Every stack of a cloud assembly directory (``cdk.out``), from its manifest."""
    manifest = json.loads((directory / "manifest.json").read_text())
    stacks = []
    for name, artifact in manifest["artifacts"].items():
        if artifact["type"] != "aws:cloudformation:stack":
            continue
        template = json.loads((directory / artifact["properties"]["templateFile"]).read_text())
        region = artifact["environment"].rsplit("/", 1)[-1]
        stacks.append(StackTemplate(artifact.get("displayName", name), region, template))
    return sorted(stacks, key=lambda s: s.name)


def stacks_from_assembly(assembly: Any) -> list[StackTemplate]:
    """Every stack of an in-memory ``aws_cdk.cx_api.CloudAssembly``."""
    return sorted(
        (StackTemplate(s.stack_name, s.environment.region, s.template) for s in assembly.stacks_recursively),
        key=lambda s: s.name,
    )


def synthesize(profile: str, context: Mapping[str, str] | None = None) -> list[StackTemplate]:
    """Build the app for ``profile`` in-process, with cdk.json's context, as ``cdk synth`` would."""
    from aws_cdk import App  # only this path needs the CDK

    from app import catalog_from_context, config_from_context
    from stacks.app_builder import build_stacks

    cdk_context = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    with tempfile.TemporaryDirectory(prefix="cdk-cost-") as outdir:
        app = App(
            context={**cdk_context, **(context or {}), "profile": profile},
            outdir=outdir,
            builtin_cloud_formation_validation=False,
        )
        build_stacks(app, config_from_context(app), catalog_from_context(app))
        return stacks_from_assembly(app.synth())


# ---------------------------------------------------------------------------------------------------
# Estimate model
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineItem:
    """What one resource costs per hour while idle: ``quantity`` units at ``quote``'s price.

    A line without a quote costs nothing while idle and says why (``note``).
    """

    stack: str
    logical_id: str
    resource_type: str
    description: str
    quantity: float
    quote: Quote | None
    note: str = ""

    @property
    def hourly(self) -> float:
        return self.quantity * self.quote.price.hourly if self.quote else 0.0

    @property
    def monthly(self) -> float:
        return self.hourly * HOURS_PER_MONTH


@dataclass(frozen=True)
class Unpriced:
    """A billable resource the model cannot price; it is left out of every total, never priced at 0."""

    stack: str
    logical_id: str
    resource_type: str
    reason: str


@dataclass
class StackCost:
    name: str
    region: str
    lines: list[LineItem] = field(default_factory=list)
    unpriced: list[Unpriced] = field(default_factory=list)

    @property
    def hourly(self) -> float:
        return sum(line.hourly for line in self.lines)

    @property
    def monthly(self) -> float:
        return self.hourly * HOURS_PER_MONTH


@dataclass
class Estimate:
    """The idle cost of every stack of one synthesized app (one profile)."""

    label: str
    stacks: list[StackCost]

    @property
    def hourly(self) -> float:
        return sum(stack.hourly for stack in self.stacks)

    @property
    def monthly(self) -> float:
        return self.hourly * HOURS_PER_MONTH

    @property
    def lines(self) -> list[LineItem]:
        return [line for stack in self.stacks for line in stack.lines]

    @property
    def unpriced(self) -> list[Unpriced]:
        return [item for stack in self.stacks for item in stack.unpriced]


# ---------------------------------------------------------------------------------------------------
# Pricing the resources
# ---------------------------------------------------------------------------------------------------

#: Resource types that bill nothing while idle (usage-based or free), with the reason.
FREE_WHILE_IDLE: Mapping[str, str] = {
    **dict.fromkeys(
        ("AWS::Cognito::UserPool", "AWS::Cognito::UserPoolClient"),
        "Cognito bills per monthly active user (the first 10,000 free on the Lite tier)",
    ),
    **dict.fromkeys(
        (
            "AWS::ApiGateway::Account",
            "AWS::ApiGateway::ApiKey",
            "AWS::ApiGateway::Authorizer",
            "AWS::ApiGateway::Deployment",
            "AWS::ApiGateway::Method",
            "AWS::ApiGateway::Model",
            "AWS::ApiGateway::RequestValidator",
            "AWS::ApiGateway::Resource",
            "AWS::ApiGateway::RestApi",
            "AWS::ApiGateway::UsagePlan",
            "AWS::ApiGateway::UsagePlanKey",
        ),
        "API Gateway bills per request",
    ),
    **dict.fromkeys(
        ("AWS::Lambda::Function", "AWS::Lambda::LayerVersion", "AWS::Lambda::Permission"),
        "Lambda bills per request and GB-second",
    ),
    "AWS::Lambda::EventSourceMapping": "polling SQS and streams is billed as requests",
    "AWS::SQS::Queue": "SQS bills per request",
    "AWS::SQS::QueuePolicy": "no charge",
    "AWS::SNS::Topic": "SNS bills per request and delivery",
    "AWS::SNS::TopicPolicy": "no charge",
    "AWS::SNS::Subscription": "no charge",
    "AWS::S3::Bucket": "S3 bills storage and requests (left out)",
    "AWS::S3::BucketPolicy": "no charge",
    "AWS::Logs::LogGroup": "CloudWatch Logs bills ingestion and storage (left out)",
    "AWS::Logs::MetricFilter": "no charge beyond the metric",
    "AWS::Logs::SubscriptionFilter": "no charge",
    "AWS::EC2::FlowLog": "flow logs bill per GB delivered (left out)",
    **dict.fromkeys(
        (
            "AWS::EC2::VPC",
            "AWS::EC2::Subnet",
            "AWS::EC2::RouteTable",
            "AWS::EC2::Route",
            "AWS::EC2::SubnetRouteTableAssociation",
            "AWS::EC2::SecurityGroup",
            "AWS::EC2::SecurityGroupIngress",
            "AWS::EC2::SecurityGroupEgress",
            "AWS::EC2::InternetGateway",
            "AWS::EC2::VPCGatewayAttachment",
            "AWS::EC2::NetworkAcl",
            "AWS::EC2::NetworkAclEntry",
            "AWS::EC2::SubnetNetworkAclAssociation",
        ),
        "no charge for VPC plumbing",
    ),
    "AWS::EC2::VPCPeeringConnection": "no hourly charge; traffic across it bills per GB (left out)",
    **dict.fromkeys(
        ("AWS::ApiGateway::DomainName", "AWS::ApiGateway::BasePathMapping"),
        "no charge for a regional custom domain name (requests bill as the API's)",
    ),
    "AWS::CertificateManager::Certificate": "public ACM certificates are free",
    **dict.fromkeys(("AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"), "IAM is free"),
    "AWS::KMS::Alias": "no charge",
    **dict.fromkeys(
        (
            "AWS::SecretsManager::ResourcePolicy",
            "AWS::SecretsManager::RotationSchedule",
            "AWS::SecretsManager::SecretTargetAttachment",
        ),
        "no charge beyond the secret (rotation runs a Lambda function)",
    ),
    "AWS::Serverless::Application": "a nested stack of Lambda functions (secret rotation): per request",
    **dict.fromkeys(
        (
            "AWS::RDS::DBSubnetGroup",
            "AWS::RDS::DBParameterGroup",
            "AWS::RDS::DBClusterParameterGroup",
            "AWS::ElastiCache::SubnetGroup",
            "AWS::ElastiCache::ParameterGroup",
            "AWS::ElastiCache::User",
            "AWS::ElastiCache::UserGroup",
            "AWS::DAX::SubnetGroup",
            "AWS::DAX::ParameterGroup",
        ),
        "configuration only",
    ),
    "AWS::DMS::ReplicationConfig": (
        "DMS Serverless bills DCU-hours only while a replication is provisioned: from StartReplication "
        "until it is deprovisioned (a stopped full-load-and-cdc replication stays provisioned, and billed, "
        "for up to 48 hours)"
    ),
    **dict.fromkeys(
        ("AWS::DMS::Endpoint", "AWS::DMS::Certificate", "AWS::DMS::ReplicationSubnetGroup"),
        "configuration only (DMS bills the replication)",
    ),
    "AWS::StepFunctions::StateMachine": "Step Functions standard workflows bill per state transition",
    "AWS::RDS::GlobalCluster": "members are priced; replicated writes bill as I/O (left out)",
    "AWS::ElastiCache::GlobalReplicationGroup": "members are priced; cross-region transfer left out",
    **dict.fromkeys(
        ("AWS::WAFv2::WebACLAssociation", "AWS::WAFv2::LoggingConfiguration", "AWS::WAFv2::IPSet"),
        "no charge beyond the web ACL (logs bill per GB)",
    ),
    **dict.fromkeys(
        (
            "AWS::ApplicationAutoScaling::ScalableTarget",
            "AWS::ApplicationAutoScaling::ScalingPolicy",
        ),
        "Application Auto Scaling is free (its alarms are managed by AWS)",
    ),
    "AWS::Events::Rule": "EventBridge bills per event",
    **dict.fromkeys(
        ("AWS::Backup::BackupVault", "AWS::Backup::BackupPlan", "AWS::Backup::BackupSelection"),
        "AWS Backup bills stored backups (left out)",
    ),
    "AWS::Route53::RecordSet": "Route 53 bills queries",
    "AWS::CDK::Metadata": "no charge",
    "AWS::CloudFormation::CustomResource": "backed by a Lambda function: per request",
}

#: Managed rule groups with a subscription fee on top of the $1/month rule charge.
_PAID_MANAGED_RULE_GROUPS = frozenset(
    {"AWSManagedRulesBotControlRuleSet", "AWSManagedRulesATPRuleSet", "AWSManagedRulesACFPRuleSet"}
)
_HASH_SUFFIX = re.compile(r"^(.+?)[0-9A-F]{8}$")


def short_name(logical_id: str) -> str:
    """The logical ID without the 8-character hash CDK appends."""
    match = _HASH_SUFFIX.match(logical_id)
    return match.group(1) if match else logical_id


class _Resource:
    """One resource being priced, with its stack and the whole app for cross-stack references."""

    def __init__(
        self, app: _App, stack: StackTemplate, logical_id: str, definition: Mapping[str, Any]
    ) -> None:
        self.app = app
        self.stack = stack
        self.logical_id = logical_id
        self.type: str = definition["Type"]
        self.props: Mapping[str, Any] = definition.get("Properties", {})

    def line(
        self, description: str, quantity: float, key: str, *, region: str | None = None, note: str = ""
    ) -> LineItem | Unpriced:
        quote = self.app.prices.quote(key, region or self.stack.region)
        if quote is None:
            return self.unpriced(
                f"no price for {key!r} in {region or self.stack.region} in tools/prices.json"
            )
        return LineItem(self.stack.name, self.logical_id, self.type, description, quantity, quote, note)

    def free(self, description: str, note: str) -> LineItem:
        return LineItem(self.stack.name, self.logical_id, self.type, description, 0, None, note)

    def unpriced(self, reason: str) -> Unpriced:
        return Unpriced(self.stack.name, self.logical_id, self.type, reason)

    def referenced(self, value: Any, resource_type: str) -> _Resource | None:
        """The first resource of ``resource_type`` that ``value`` refers to, in any stack of the app."""
        for stack, logical_id in self.app.resolve(value, self.stack):
            definition = stack.resources[logical_id]
            if definition["Type"] == resource_type:
                return _Resource(self.app, stack, logical_id, definition)
        return None


Item = LineItem | Unpriced
Pricer = Callable[[_Resource], list[Item]]


class _App:
    """All stacks of one synthesized app, to follow references between them."""

    def __init__(self, stacks: Sequence[StackTemplate], prices: PriceTable) -> None:
        self.stacks = {stack.name: stack for stack in stacks}
        self.prices = prices

    def resolve(
        self, value: Any, stack: StackTemplate, depth: int = 0
    ) -> Iterator[tuple[StackTemplate, str]]:
        """Every (stack, logical ID) ``value`` points to through Ref, GetAtt, stack outputs or exports."""
        if depth > 10:
            return
        if isinstance(value, list):
            for item in value:
                yield from self.resolve(item, stack, depth + 1)
            return
        if not isinstance(value, dict):
            return
        for function, argument in value.items():
            if function == "Ref" and argument in stack.resources:
                yield stack, argument
            elif function == "Fn::GetAtt":
                target = argument[0] if isinstance(argument, list) else str(argument).split(".", 1)[0]
                if target in stack.resources:
                    yield stack, target
            elif function == "Fn::GetStackOutput" and isinstance(argument, dict):
                other = self.stacks.get(str(argument.get("StackName")))
                output = other.outputs.get(str(argument.get("OutputName"))) if other else None
                if other is not None and output is not None:
                    yield from self.resolve(output.get("Value"), other, depth + 1)
            elif function == "Fn::ImportValue" and isinstance(argument, str):
                for other in self.stacks.values():
                    for output in other.outputs.values():
                        if output.get("Export", {}).get("Name") == argument:
                            yield from self.resolve(output.get("Value"), other, depth + 1)
            else:
                yield from self.resolve(argument, stack, depth + 1)

    def db_instance_named(self, identifier: str) -> tuple[StackTemplate, str] | None:
        """The DB instance whose DBInstanceIdentifier is ``identifier`` (a name or an RDS ARN)."""
        name = identifier.rsplit(":db:", 1)[-1].lower()
        for stack in self.stacks.values():
            for logical_id, definition in stack.resources.items():
                props = definition.get("Properties", {})
                if (
                    definition["Type"] == "AWS::RDS::DBInstance"
                    and str(props.get("DBInstanceIdentifier", "")).lower() == name
                ):
                    return stack, logical_id
        return None


def _number(value: Any) -> float | None:
    """A template number (CloudFormation often renders them as strings), or None for a token."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


# --- RDS and Aurora --------------------------------------------------------------------------------


def _insights_surcharges(resource: _Resource, props: Mapping[str, Any]) -> list[Item]:
    items: list[Item] = []
    retention = _number(props.get("PerformanceInsightsRetentionPeriod"))
    if retention is not None and retention > 7:
        items.append(resource.unpriced(f"Performance Insights kept {retention:g} days (paid per vCPU-month)"))
    if str(props.get("DatabaseInsightsMode", "")).lower() == "advanced":
        items.append(resource.unpriced("Database Insights advanced mode (paid per vCPU-hour)"))
    if _true(props.get("ManageMasterUserPassword")):
        items.append(resource.line("RDS-managed master secret", 1, "secretsmanager.secret"))
    return items


def _rds_source(resource: _Resource) -> _Resource | None:
    """The source instance of a read replica, in this stack or another (by name or ARN)."""
    source = resource.props.get("SourceDBInstanceIdentifier")
    found = resource.referenced(source, "AWS::RDS::DBInstance")
    if found is not None or not isinstance(source, str):
        return found
    named = resource.app.db_instance_named(source)
    if named is None:
        return None
    stack, logical_id = named
    return _Resource(resource.app, stack, logical_id, stack.resources[logical_id])


def _rds_instance_setting(resource: _Resource, key: str, depth: int = 0) -> Any:
    """A setting of the instance, or of its replication source when a replica inherits it."""
    if key in resource.props or depth > 5 or "SourceDBInstanceIdentifier" not in resource.props:
        return resource.props.get(key)
    source = _rds_source(resource)
    return _rds_instance_setting(source, key, depth + 1) if source else None


def price_db_instance(resource: _Resource) -> list[Item]:
    props = resource.props
    if "DBClusterIdentifier" in props:
        return _price_aurora_instance(resource)
    items = _insights_surcharges(resource, props)
    engine = _rds_instance_setting(resource, "Engine")
    instance_class = props.get("DBInstanceClass")
    if not isinstance(engine, str) or not isinstance(instance_class, str):
        return [
            *items,
            resource.unpriced("engine or instance class not readable (replica source not found?)"),
        ]
    engine = engine.lower()
    multi_az = _true(props.get("MultiAZ"))
    copies = 2 if multi_az else 1
    deployment = "Multi-AZ (2 instances)" if multi_az else "Single-AZ"
    role = "read replica" if "SourceDBInstanceIdentifier" in props else "instance"
    items.append(
        resource.line(
            f"RDS {engine} {instance_class} {role}, {deployment}",
            copies,
            f"rds.instance/{engine}/{instance_class}",
        )
    )
    storage_gb = _number(_rds_instance_setting(resource, "AllocatedStorage"))
    storage_type = str(_rds_instance_setting(resource, "StorageType") or "gp2").lower()
    if storage_gb is None:
        items.append(resource.unpriced("allocated storage not readable"))
    else:
        items.append(
            resource.line(
                f"RDS {storage_type} storage {storage_gb:g} GB, {deployment}",
                storage_gb * copies,
                f"rds.storage/{storage_type}",
                note="allocated size; autoscaling growth left out",
            )
        )
    if "Iops" in props or "StorageThroughput" in props:
        items.append(resource.unpriced("provisioned IOPS or throughput above the storage baseline"))
    return items


def _price_aurora_instance(resource: _Resource) -> list[Item]:
    props = resource.props
    cluster = resource.referenced(props["DBClusterIdentifier"], "AWS::RDS::DBCluster")
    if cluster is None:
        return [resource.unpriced("its DB cluster is not in the app")]
    items = _insights_surcharges(resource, props)
    storage = "io-optimized" if cluster.props.get("StorageType") == "aurora-iopt1" else "standard"
    instance_class = props.get("DBInstanceClass")
    engine = str(props.get("Engine") or cluster.props.get("Engine", "")).lower()
    io_note = ", I/O-Optimized" if storage == "io-optimized" else ""
    if instance_class == "db.serverless":
        scaling = cluster.props.get("ServerlessV2ScalingConfiguration", {})
        minimum = _number(scaling.get("MinCapacity"))
        if minimum is None:
            return [*items, resource.unpriced("Serverless v2 instance without a readable minimum capacity")]
        if minimum == 0:
            pause = _number(scaling.get("SecondsUntilAutoPause"))
            after = f" after {pause:g} s idle" if pause is not None else ""
            return [
                *items,
                resource.free(
                    f"Aurora Serverless v2 {engine}, min 0 ACU", f"auto-pauses{after}: no ACU-hours"
                ),
            ]
        items.append(
            resource.line(
                f"Aurora Serverless v2 {engine}, min {minimum:g} ACU{io_note}",
                minimum,
                f"aurora.serverless-v2/{storage}",
            )
        )
        return items
    if not isinstance(instance_class, str):
        return [*items, resource.unpriced("instance class not readable")]
    items.append(
        resource.line(
            f"Aurora {engine} {instance_class}{io_note}",
            1,
            f"aurora.instance/{engine}/{instance_class}/{storage}",
        )
    )
    return items


def price_db_cluster(resource: _Resource) -> list[Item]:
    props = resource.props
    items = _insights_surcharges(resource, props)
    if str(props.get("EngineMode", "provisioned")).lower() == "serverless":
        items.append(resource.unpriced("Aurora Serverless v1 capacity is not modelled"))
    if "DBClusterInstanceClass" in props:
        items.append(resource.unpriced("Multi-AZ DB cluster instances are not modelled"))
    return items


# --- caches ----------------------------------------------------------------------------------------


def price_dax_cluster(resource: _Resource) -> list[Item]:
    node_type = resource.props.get("NodeType")
    nodes = _number(resource.props.get("ReplicationFactor"))
    if not isinstance(node_type, str) or nodes is None:
        return [resource.unpriced("node type or replication factor not readable")]
    return [resource.line(f"DAX {node_type} x {nodes:g} node(s)", nodes, f"dax.node/{node_type}")]


def _replication_group_nodes(props: Mapping[str, Any]) -> float | None:
    groups = props.get("NodeGroupConfiguration")
    if isinstance(groups, list) and groups:
        default_replicas = _number(props.get("ReplicasPerNodeGroup", 0))
        total = 0.0
        for group in groups:
            replicas = _number(group.get("ReplicaCount", default_replicas))
            if replicas is None:
                return None
            total += replicas + 1
        return total
    if "NumNodeGroups" in props or "ReplicasPerNodeGroup" in props:
        shards = _number(props.get("NumNodeGroups", 1))
        replicas = _number(props.get("ReplicasPerNodeGroup", 0))
        return None if shards is None or replicas is None else shards * (replicas + 1)
    return _number(props.get("NumCacheClusters", 1))


def price_replication_group(resource: _Resource) -> list[Item]:
    props = resource.props
    node_type = props.get("CacheNodeType")
    engine = props.get("Engine")
    source = ""
    if (node_type is None or engine is None) and "GlobalReplicationGroupId" in props:
        global_group = resource.referenced(
            props["GlobalReplicationGroupId"], "AWS::ElastiCache::GlobalReplicationGroup"
        )
        if global_group is None:
            return [resource.unpriced("node type comes from a global datastore outside this app")]
        node_type = node_type or global_group.props.get("CacheNodeType")
        for member in global_group.props.get("Members", []):
            primary = global_group.referenced(
                member.get("ReplicationGroupId"), "AWS::ElastiCache::ReplicationGroup"
            )
            if member.get("Role") == "PRIMARY" and primary is not None:
                node_type = node_type or primary.props.get("CacheNodeType")
                engine = engine or primary.props.get("Engine")
        source = ", global secondary"
    nodes = _replication_group_nodes(props)
    if not isinstance(node_type, str) or nodes is None:
        return [resource.unpriced("node type or node count not readable")]
    engine = str(engine or "redis").lower()
    return [
        resource.line(
            f"ElastiCache {engine} {node_type} x {nodes:g} node(s){source}",
            nodes,
            f"elasticache.node/{engine}/{node_type}",
        )
    ]


def price_cache_cluster(resource: _Resource) -> list[Item]:
    props = resource.props
    node_type = props.get("CacheNodeType")
    nodes = _number(props.get("NumCacheNodes", 1))
    engine = str(props.get("Engine", "")).lower()
    if not isinstance(node_type, str) or nodes is None or not engine:
        return [resource.unpriced("engine, node type or node count not readable")]
    return [
        resource.line(
            f"ElastiCache {engine} {node_type} x {nodes:g} node(s)",
            nodes,
            f"elasticache.node/{engine}/{node_type}",
        )
    ]


# --- DynamoDB --------------------------------------------------------------------------------------


def _capacity(settings: Any, units: str) -> float | None:
    """Idle capacity of a throughput setting: the fixed units, or the auto scaling floor."""
    if not isinstance(settings, dict):
        return None
    fixed = _number(settings.get(f"{units}CapacityUnits"))
    if fixed is not None:
        return fixed
    return _number(settings.get(f"{units}CapacityAutoScalingSettings", {}).get("MinCapacity"))


def _table_class(value: Any) -> str:
    return "standard-infrequent-access" if value == "STANDARD_INFREQUENT_ACCESS" else "standard"


def _insights_line(resource: _Resource, enabled: bool) -> list[Item]:
    if not enabled:
        return []
    return [
        resource.free("DynamoDB Contributor Insights", "billed per event it analyses, nothing while idle")
    ]


def price_global_table(resource: _Resource) -> list[Item]:
    props = resource.props
    replicas = props.get("Replicas", [])
    insights = any(
        _true(replica.get("ContributorInsightsSpecification", {}).get("Enabled"))
        or any(
            _true(index.get("ContributorInsightsSpecification", {}).get("Enabled"))
            for index in replica.get("GlobalSecondaryIndexes", [])
        )
        for replica in replicas
    )
    items = _insights_line(resource, insights)
    if props.get("BillingMode", "PROVISIONED") == "PAY_PER_REQUEST":
        return [resource.free("DynamoDB table, on-demand", "billed per request and GB stored"), *items]
    writes = [_capacity(props.get("WriteProvisionedThroughputSettings"), "Write")] + [
        _capacity(index.get("WriteProvisionedThroughputSettings"), "Write")
        for index in props.get("GlobalSecondaryIndexes", [])
    ]
    if any(units is None for units in writes) or not replicas:
        return [*items, resource.unpriced("provisioned table without readable write capacity or replicas")]
    wcu = sum(units or 0 for units in writes)
    for replica in replicas:
        region = replica.get("Region") if isinstance(replica.get("Region"), str) else resource.stack.region
        table_class = _table_class(replica.get("TableClass", props.get("TableClass")))
        reads = [_capacity(replica.get("ReadProvisionedThroughputSettings"), "Read")] + [
            _capacity(index.get("ReadProvisionedThroughputSettings"), "Read")
            for index in replica.get("GlobalSecondaryIndexes", [])
        ]
        if any(units is None for units in reads):
            items.append(resource.unpriced(f"replica in {region} without readable read capacity"))
            continue
        rcu = sum(units or 0 for units in reads)
        items.append(
            resource.line(
                f"DynamoDB {rcu:g} RCU floor in {region}", rcu, f"dynamodb.rcu/{table_class}", region=region
            )
        )
        items.append(
            resource.line(
                f"DynamoDB {wcu:g} WCU floor in {region}", wcu, f"dynamodb.wcu/{table_class}", region=region
            )
        )
    return items


def price_table(resource: _Resource) -> list[Item]:
    props = resource.props
    enabled = _true(props.get("ContributorInsightsSpecification", {}).get("Enabled"))
    items = _insights_line(resource, enabled)
    if props.get("BillingMode", "PROVISIONED") == "PAY_PER_REQUEST":
        return [resource.free("DynamoDB table, on-demand", "billed per request and GB stored"), *items]
    throughputs = [props.get("ProvisionedThroughput")] + [
        index.get("ProvisionedThroughput") for index in props.get("GlobalSecondaryIndexes", [])
    ]
    reads = [_capacity(t, "Read") for t in throughputs]
    writes = [_capacity(t, "Write") for t in throughputs]
    if any(units is None for units in reads + writes):
        return [*items, resource.unpriced("provisioned table without readable capacity")]
    rcu, wcu = sum(u or 0 for u in reads), sum(u or 0 for u in writes)
    table_class = _table_class(props.get("TableClass"))
    note = "as provisioned; an auto scaling floor below it is not applied"
    return [
        *items,
        resource.line(f"DynamoDB {rcu:g} RCU", rcu, f"dynamodb.rcu/{table_class}", note=note),
        resource.line(f"DynamoDB {wcu:g} WCU", wcu, f"dynamodb.wcu/{table_class}", note=note),
    ]


# --- networking ------------------------------------------------------------------------------------


def _service_name(value: Any) -> str:
    if isinstance(value, str):
        return value.rsplit(".", 1)[-1]
    if isinstance(value, dict) and "Fn::Join" in value:
        parts = [p for p in value["Fn::Join"][1] if isinstance(p, str)]
        return parts[-1].rsplit(".", 1)[-1] if parts else "?"
    return "?"


def price_vpc_endpoint(resource: _Resource) -> list[Item]:
    props = resource.props
    kind = props.get("VpcEndpointType", "Gateway")
    if kind == "Gateway":
        return []  # S3 and DynamoDB gateway endpoints are free
    if kind != "Interface":
        return [resource.unpriced(f"{kind} endpoints are not modelled")]
    subnets = props.get("SubnetIds")
    if not isinstance(subnets, list):
        return [resource.unpriced("its subnets are not a list in the template (one charge per AZ)")]
    service = _service_name(props.get("ServiceName"))
    return [
        resource.line(
            f"interface endpoint {service} in {len(subnets)} AZs", len(subnets), "vpc.interface-endpoint"
        )
    ]


def price_nat_gateway(resource: _Resource) -> list[Item]:
    return [resource.line("NAT gateway", 1, "vpc.nat-gateway")]


def price_eip(resource: _Resource) -> list[Item]:
    return [resource.line("public IPv4 address", 1, "vpc.public-ipv4")]


# --- per-resource monthly charges ------------------------------------------------------------------


def price_kms_key(resource: _Resource) -> list[Item]:
    note = "each rotation adds $1/month (first two)" if resource.props.get("EnableKeyRotation") else ""
    return [resource.line("KMS customer-managed key", 1, "kms.key", note=note)]


def price_secret(resource: _Resource) -> list[Item]:
    return [resource.line("Secrets Manager secret", 1, "secretsmanager.secret")]


def price_alarm(resource: _Resource) -> list[Item]:
    props = resource.props
    metrics = props.get("Metrics")
    if isinstance(metrics, list):
        stats = [m["MetricStat"] for m in metrics if isinstance(m, dict) and "MetricStat" in m]
        periods = [_number(stat.get("Period")) for stat in stats]
        count = len(stats) * (
            3 if any("ANOMALY_DETECTION_BAND" in str(m.get("Expression", "")) for m in metrics) else 1
        )
    else:
        periods = [_number(props.get("Period"))]
        count = 3 if "ThresholdMetricId" in props else 1
    if any(period is None for period in periods) or count == 0:
        return [resource.unpriced("metric period or metric count not readable")]
    resolution = "high-resolution" if any((period or 60) < 60 for period in periods) else "standard"
    return [
        resource.line(
            f"CloudWatch alarm, {resolution}, {count} metric(s)", count, f"cloudwatch.alarm/{resolution}"
        )
    ]


def price_composite_alarm(resource: _Resource) -> list[Item]:
    return [resource.line("CloudWatch composite alarm", 1, "cloudwatch.composite-alarm")]


def price_dashboard(resource: _Resource) -> list[Item]:
    return [resource.line("CloudWatch dashboard", 1, "cloudwatch.dashboard")]


def price_web_acl(resource: _Resource) -> list[Item]:
    rules = resource.props.get("Rules", [])
    items: list[Item] = [resource.line("WAF web ACL", 1, "waf.web-acl")]
    if rules:
        items.append(resource.line(f"WAF rules and rule groups x {len(rules)}", len(rules), "waf.rule"))
    for rule in rules:
        managed = rule.get("Statement", {}).get("ManagedRuleGroupStatement", {})
        if managed.get("Name") in _PAID_MANAGED_RULE_GROUPS:
            items.append(
                resource.unpriced(f"managed rule group {managed['Name']} has its own subscription fee")
            )
    return items


def price_health_check(resource: _Resource) -> list[Item]:
    config = resource.props.get("HealthCheckConfig", {})
    kind = str(config.get("Type", ""))
    if kind in ("CALCULATED", "CLOUDWATCH_METRIC", "RECOVERY_CONTROL"):
        return [resource.line(f"Route 53 health check ({kind})", 1, "route53.health-check/aws-endpoint")]
    features = [
        name
        for name, present in (
            ("HTTPS", kind.startswith("HTTPS")),
            ("string matching", kind.endswith("STR_MATCH")),
            ("fast interval", _number(config.get("RequestInterval")) == 10),
            ("latency", _true(config.get("MeasureLatency"))),
        )
        if present
    ]
    note = "priced as a non-AWS endpoint (AWS endpoints cost less)"
    items: list[Item] = [
        resource.line(f"Route 53 health check ({kind})", 1, "route53.health-check/other-endpoint", note=note)
    ]
    if features:
        items.append(
            resource.line(
                f"health check features: {', '.join(features)}",
                len(features),
                "route53.health-check-feature/other-endpoint",
                note=note,
            )
        )
    return items


def price_hosted_zone(resource: _Resource) -> list[Item]:
    return [resource.line("Route 53 hosted zone", 1, "route53.hosted-zone")]


# --- resources that are free unless configured otherwise --------------------------------------------


def price_api_stage(resource: _Resource) -> list[Item]:
    if _true(resource.props.get("CacheClusterEnabled")):
        return [
            resource.unpriced(
                f"API cache cluster ({resource.props.get('CacheClusterSize', '0.5')} GB) bills hourly"
            )
        ]
    return []


def price_lambda_version(resource: _Resource) -> list[Item]:
    if "ProvisionedConcurrencyConfig" in resource.props:
        return [resource.unpriced("provisioned concurrency bills per GB-second while idle")]
    return []


def price_ssm_parameter(resource: _Resource) -> list[Item]:
    if resource.props.get("Tier") == "Advanced":
        return [resource.unpriced("advanced SSM parameters bill per parameter-month")]
    return []


PRICERS: Mapping[str, Pricer] = {
    "AWS::RDS::DBInstance": price_db_instance,
    "AWS::RDS::DBCluster": price_db_cluster,
    "AWS::DAX::Cluster": price_dax_cluster,
    "AWS::ElastiCache::ReplicationGroup": price_replication_group,
    "AWS::ElastiCache::CacheCluster": price_cache_cluster,
    "AWS::DynamoDB::GlobalTable": price_global_table,
    "AWS::DynamoDB::Table": price_table,
    "AWS::EC2::VPCEndpoint": price_vpc_endpoint,
    "AWS::EC2::NatGateway": price_nat_gateway,
    "AWS::EC2::EIP": price_eip,
    "AWS::KMS::Key": price_kms_key,
    "AWS::KMS::ReplicaKey": price_kms_key,
    "AWS::SecretsManager::Secret": price_secret,
    "AWS::CloudWatch::Alarm": price_alarm,
    "AWS::CloudWatch::CompositeAlarm": price_composite_alarm,
    "AWS::CloudWatch::Dashboard": price_dashboard,
    "AWS::WAFv2::WebACL": price_web_acl,
    "AWS::Route53::HealthCheck": price_health_check,
    "AWS::Route53::HostedZone": price_hosted_zone,
    "AWS::ApiGateway::Stage": price_api_stage,
    "AWS::Lambda::Version": price_lambda_version,
    "AWS::Lambda::Alias": price_lambda_version,
    "AWS::SSM::Parameter": price_ssm_parameter,
}


def estimate(label: str, stacks: Sequence[StackTemplate], prices: PriceTable) -> Estimate:
    """Price every resource of every stack; unknown types and sizes go to ``unpriced``."""
    app = _App(stacks, prices)
    costs = []
    for stack in stacks:
        cost = StackCost(stack.name, stack.region)
        for logical_id, definition in stack.resources.items():
            resource = _Resource(app, stack, logical_id, definition)
            pricer = PRICERS.get(resource.type)
            if pricer is not None:
                items = pricer(resource)
            elif resource.type in FREE_WHILE_IDLE or resource.type.startswith("Custom::"):
                items = []
            else:
                items = [resource.unpriced("resource type not in the cost model (tools/cost.py)")]
            cost.lines += [item for item in items if isinstance(item, LineItem)]
            cost.unpriced += [item for item in items if isinstance(item, Unpriced)]
        costs.append(cost)
    return Estimate(label, costs)


# ---------------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------------

LEFT_OUT = (
    "Left out (usage, not idle): requests (API Gateway, Lambda, SQS, SNS, DynamoDB on-demand, KMS and "
    "Secrets Manager calls, WAF requests), storage and its growth (DynamoDB, Aurora, S3, backups, "
    "snapshots, logs), data transfer (cross-AZ, cross-region replication, internet), per-GB charges "
    "(NAT and endpoint processing, log ingestion), Aurora I/O, Contributor Insights events, RDS/ElastiCache "
    "Extended Support, free tiers, discounts and tax."
)


def _flags(line: LineItem) -> str:
    if line.quote is None:
        return ""
    return ("E" if line.quote.estimate else "") + ("R" if line.quote.approximated else "")


def _unit_price(line: LineItem) -> str:
    if line.quote is None:
        return "-"
    price = line.quote.price
    return f"{price.usd:g}/{price.unit}"


def render_estimate(result: Estimate, *, details: bool = True) -> str:
    out = [
        f"== {result.label}: {len(result.stacks)} stacks, idle "
        f"${result.hourly:.4f}/hour, ${result.monthly:,.2f}/month =="
    ]
    for stack in sorted(result.stacks, key=lambda s: -s.hourly):
        out.append(f"{stack.name} ({stack.region}): ${stack.hourly:.4f}/hour, ${stack.monthly:,.2f}/month")
        if not details:
            continue
        for line in sorted(stack.lines, key=lambda item: -item.hourly):
            what = f"{short_name(line.logical_id)}: {line.description}"
            note = f"  ({line.note})" if line.note else ""
            out.append(
                f"  {what:80} {line.quantity:>7g} x {_unit_price(line):>18}"
                f" {line.hourly:9.4f} {line.monthly:9.2f} {_flags(line):2}{note}"
            )
    quotes = [line.quote for line in result.lines if line.quote is not None]
    estimates = sorted({f"{q.price.key} ({q.price.region})" for q in quotes if q.estimate})
    if estimates:
        out.append(f"E = estimate, not confirmed against a published page: {', '.join(estimates)}")
    for key, region in sorted({(q.price.key, q.region) for q in quotes if q.approximated}):
        out.append(
            f"R = no {region} price for {key} in tools/prices.json: the {FALLBACK_REGION} price stands in"
        )
    if result.unpriced:
        out.append(f"UNPRICED: {len(result.unpriced)} billable resources are NOT in the totals:")
        out += [f"  {u.stack}/{u.logical_id} ({u.resource_type}): {u.reason}" for u in result.unpriced]
    else:
        out.append("Unpriced: none (every resource is priced or bills nothing while idle).")
    return "\n".join(out)


def _summary_table(results: Sequence[Estimate]) -> str:
    names = sorted({(s.name, s.region) for r in results for s in r.stacks})
    header = f"{'stack':36} {'region':15}" + "".join(
        f" {r.label[:13]:>13} $/h {'$/month':>10}" for r in results
    )
    rows = [header, "-" * len(header)]
    for name, region in names:
        cells = ""
        for result in results:
            stack = next((s for s in result.stacks if s.name == name), None)
            cells += f" {stack.hourly:17.4f} {stack.monthly:10.2f}" if stack else f" {'-':>17} {'-':>10}"
        rows.append(f"{name:36} {region:15}{cells}")
    rows.append("-" * len(header))
    rows.append(f"{'TOTAL':52}" + "".join(f" {r.hourly:17.4f} {r.monthly:10.2f}" for r in results))
    return "\n".join(rows)


def render(results: Sequence[Estimate], *, details: bool = True) -> str:
    parts = [render_estimate(result, details=details) for result in results]
    parts.append("== idle cost per stack and profile ==\n" + _summary_table(results))
    parts.append(f"Prices: tools/prices.json (USD, on-demand, {HOURS_PER_MONTH} hours a month).\n{LEFT_OUT}")
    return "\n\n".join(parts)


def to_json(results: Sequence[Estimate]) -> dict[str, Any]:
    def line(item: LineItem) -> dict[str, Any]:
        quote = item.quote
        return {
            "logical_id": item.logical_id,
            "type": item.resource_type,
            "description": item.description,
            "quantity": item.quantity,
            "price_key": quote.price.key if quote else None,
            "price_region": quote.price.region if quote else None,
            "unit_price_usd": quote.price.usd if quote else None,
            "unit": quote.price.unit if quote else None,
            "estimate": bool(quote and quote.estimate),
            "region_approximated": bool(quote and quote.approximated),
            "hourly_usd": round(item.hourly, 6),
            "monthly_usd": round(item.monthly, 4),
            "note": item.note,
        }

    return {
        result.label: {
            "hourly_usd": round(result.hourly, 6),
            "monthly_usd": round(result.monthly, 4),
            "stacks": [
                {
                    "name": stack.name,
                    "region": stack.region,
                    "hourly_usd": round(stack.hourly, 6),
                    "monthly_usd": round(stack.monthly, 4),
                    "lines": [line(item) for item in stack.lines],
                    "unpriced": [
                        {"logical_id": u.logical_id, "type": u.resource_type, "reason": u.reason}
                        for u in stack.unpriced
                    ],
                }
                for stack in result.stacks
            ],
        }
        for result in results
    }


# ---------------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------------


def _pairs(values: Sequence[str], what: str) -> dict[str, str]:
    pairs = {}
    for value in values:
        key, sep, item = value.partition("=")
        if not sep or not key:
            raise SystemExit(f"cost: {what} must look like KEY=VALUE, got {value!r}")
        pairs[key] = item
    return pairs


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.cost", description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", choices=(*PROFILES, "all"), default="all")
    parser.add_argument("--cdk-out", type=Path, help="price this cloud assembly instead of synthesizing")
    parser.add_argument("--prices", type=Path, default=DEFAULT_PRICES)
    parser.add_argument(
        "--context",
        "-c",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra CDK context, as with cdk synth -c",
    )
    parser.add_argument("--summary", action="store_true", help="per-stack totals only")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--budget",
        action="append",
        default=[],
        metavar="PROFILE=USD",
        help="exit 1 when PROFILE's idle cost exceeds USD a month",
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when any resource is unpriced")
    args = parser.parse_args(argv)

    prices = PriceTable.load(args.prices)
    profiles = PROFILES if args.profile == "all" else (args.profile,)
    if args.cdk_out:
        label = args.profile if args.profile != "all" else str(args.cdk_out)
        results = [estimate(label, stacks_from_cdk_out(args.cdk_out), prices)]
    else:
        context = _pairs(args.context, "--context")
        results = [estimate(profile, synthesize(profile, context), prices) for profile in profiles]

    print(json.dumps(to_json(results), indent=2) if args.json else render(results, details=not args.summary))

    status = 0
    for name, limit in _pairs(args.budget, "--budget").items():
        result = next((r for r in results if r.label == name), None)
        if result is None:
            raise SystemExit(f"cost: --budget names {name!r}, which was not estimated")
        if result.monthly > float(limit):
            print(
                f"cost: {name} idles at ${result.monthly:,.2f}/month, over the ${float(limit):,.2f} budget",
                file=sys.stderr,
            )
            status = 1
    if args.strict and any(r.unpriced for r in results):
        print("cost: some billable resources are unpriced (see above)", file=sys.stderr)
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
