"""A secondary replication group: a read-only copy of a global datastore in another region."""

from __future__ import annotations

from dataclasses import dataclass

import jsii
from aws_cdk import Duration, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticache as elasticache
from aws_cdk import aws_kms as kms
from constructs import Construct

from dbpatterns.common.durations import whole
from dbpatterns.common.encryption import create_key
from dbpatterns.common.interfaces import check_key, check_subnet_selection, check_vpc
from dbpatterns.common.logs import create_log_group
from dbpatterns.common.nag import acknowledge
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.validation import (
    check_instance,
    check_int,
    check_range,
    check_required,
    construct_label,
    is_unresolved,
    require,
)
from dbpatterns.elasticache.global_datastore import CacheGlobalDatastore
from dbpatterns.elasticache.network import CacheNetwork, CacheNetworkProps
from dbpatterns.elasticache.replication_group import (
    MAX_REPLICAS,
    MIN_REPLICAS,
    PRODUCTION_SNAPSHOT_RETENTION,
    SANDBOX_SNAPSHOT_RETENTION,
    acknowledge_sandbox_snapshots,
    check_description,
    check_snapshot_retention,
    slow_log_delivery,
)

_INHERITED = (
    "This replication group is a secondary member of a global datastore: ElastiCache applies the "
    "global datastore's settings to it (engine, version, node type, {setting}), which the primary "
    "group sets explicitly; CloudFormation must not repeat them on a secondary."
)


@dataclass(frozen=True, kw_only=True)
class CacheSecondaryReplicationGroupProps:
    """Props of :class:`CacheSecondaryReplicationGroup`."""

    global_datastore: CacheGlobalDatastore
    """The global datastore to join (defined in the primary region's stack)."""
    profile: DeploymentProfile
    """Sandbox or production: replicas, snapshot retention and removal follow it."""
    vpc: ec2.IVpc
    """A VPC in this secondary's region."""
    vpc_subnets: ec2.SubnetSelection | None = None
    """Subnets of the subnet group - the VPC's private isolated subnets by default."""
    replicas: int | None = None
    """Read replicas (0-5; at least 1 when the primary fails over automatically, which secondaries
    inherit) - 2 in production, 1 in a sandbox by default."""
    snapshot_retention: Duration | None = None
    """Daily snapshots to keep, 1-35 whole days - 15 days in production, 1 day in a sandbox by default."""
    description: str | None = None
    """What this copy is for - "Secondary of <global datastore description>" by default."""
    encryption_key: kms.IKey | None = None
    """Customer-managed key of this region for the copy's data at rest (a KMS key never leaves its
    region, so the primary's cannot serve here) - a new key with yearly rotation by default."""


@jsii.implements(ec2.IConnectable)
class CacheSecondaryReplicationGroup(Construct):
    """A ``CfnReplicationGroup`` in its own region that joins a global datastore as a secondary.

    It names the global datastore's ID and omits what the global datastore dictates: engine,
    version, node type, encryption (in transit and at rest with the primary's settings), AUTH,
    Multi-AZ and automatic failover. It has its own subnet group and security group in its region.
    Deploy it after the primary stack, one region at a time. Exposes ``resource``,
    ``security_group``, ``subnet_group``, ``connections`` (``ec2.IConnectable``: allow readers of this
    region with ``connections.allow_default_port_from``), ``slow_log`` and the endpoint attributes.
    """

    def __init__(
        self, scope: Construct, construct_id: str, props: CacheSecondaryReplicationGroupProps
    ) -> None:
        name = construct_label(type(self), scope, construct_id)
        global_datastore = props.global_datastore
        check_required(name, "global_datastore", global_datastore)
        check_instance(name, "global_datastore", global_datastore, CacheGlobalDatastore)
        check_instance(name, "profile", props.profile, DeploymentProfile)
        check_required(name, "vpc", props.vpc)
        check_vpc(name, props.vpc)
        check_subnet_selection(name, props.vpc_subnets)
        check_key(name, props.encryption_key)
        if props.description is not None:
            check_description(name, "description", props.description)
        primary = global_datastore.primary
        profile = props.profile
        replicas = profile.pick(props.replicas, production=2, sandbox=1)
        retention = profile.pick(
            props.snapshot_retention,
            production=PRODUCTION_SNAPSHOT_RETENTION,
            sandbox=SANDBOX_SNAPSHOT_RETENTION,
        )
        region = Stack.of(scope).region
        check_int(name, "replicas", replicas)
        check_range(name, "replicas", replicas, minimum=MIN_REPLICAS, maximum=MAX_REPLICAS)
        require(
            not primary.automatic_failover or replicas >= 1,
            name,
            "replicas",
            replicas,
            "allowed: at least 1 (the secondary inherits the primary's automatic failover, which "
            "needs a replica to promote)",
        )
        check_snapshot_retention(name, retention)
        require(
            not is_unresolved(region),
            name,
            "region",
            "an environment-agnostic stack",
            "allowed: a stack with a concrete region (env=Environment(region=...))",
        )
        require(
            region in global_datastore.secondary_regions,
            name,
            "region",
            region,
            f"allowed: one of the global datastore's secondary_regions "
            f"{list(global_datastore.secondary_regions)}",
        )
        require(
            region not in global_datastore.joined_regions,
            name,
            "region",
            region,
            "allowed: one secondary per region (this region already has one)",
        )
        super().__init__(scope, construct_id)
        global_datastore.joined_regions.append(region)

        description = props.description or (
            f"Secondary of {global_datastore.resource.global_replication_group_description}"
        )
        network = CacheNetwork(
            self,
            "Network",
            CacheNetworkProps(vpc=props.vpc, vpc_subnets=props.vpc_subnets),
            port=primary.port,
            description=description,
        )
        self.subnet_group = network.subnet_group
        self.security_group = network.security_group
        self._connections = network.connections
        self.slow_log = create_log_group(self, "SlowLog", profile=props.profile)
        self.encryption_key: kms.IKey = props.encryption_key or create_key(
            self, "Key", description=f"Encrypts at rest: {description}", profile=props.profile
        )

        self.resource = elasticache.CfnReplicationGroup(
            self,
            "Resource",
            replication_group_description=description,
            global_replication_group_id=global_datastore.global_replication_group_id,
            num_cache_clusters=1 + replicas,
            port=primary.port,
            cache_subnet_group_name=self.subnet_group.ref,
            security_group_ids=[self.security_group.security_group_id],
            snapshot_retention_limit=whole(retention, "days"),
            log_delivery_configurations=slow_log_delivery(self.slow_log),
            kms_key_id=self.encryption_key.key_id,
        )
        self.resource.apply_removal_policy(props.profile.snapshot_removal_policy)
        if props.snapshot_retention is None and not profile.is_production:
            acknowledge_sandbox_snapshots(self.resource)
        self.endpoint_address = self.resource.attr_primary_end_point_address
        self.reader_endpoint_address = self.resource.attr_reader_end_point_address
        self.endpoint_port = self.resource.attr_primary_end_point_port

        for finding, setting in (
            ("AwsSolutions-AEC3", "encryption in transit and at rest (with this region's key)"),
            ("AwsSolutions-AEC4", "Multi-AZ with automatic failover"),
            ("AwsSolutions-AEC6", "the AUTH token"),
        ):
            acknowledge(self.resource, finding, _INHERITED.format(setting=setting))

    @property
    def connections(self) -> ec2.Connections:
        """Network access to this region's copy (its security group, the cache port)."""
        return self._connections
