"""A global datastore: a primary replication group replicated to up to two other regions."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Names, RemovalPolicy
from aws_cdk import aws_elasticache as elasticache
from constructs import Construct

from dbpatterns.common.validation import (
    PropValidationError,
    check_unique,
    construct_label,
    is_unresolved,
    require,
)
from dbpatterns.elasticache.replication_group import CacheEngine, CacheReplicationGroup, check_description
from dbpatterns.elasticache.supported import version_tuple

#: A global datastore replicates to at most two secondary regions.
MAX_SECONDARY_REGIONS = 2
#: Node families a global datastore accepts, in size large and above
#: (https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/Redis-Global-Datastores-Getting-Started.html).
GLOBAL_NODE_FAMILIES = frozenset({"m5", "m6g", "m7g", "r5", "r6g", "r6gd", "r7g", "c7gn"})
#: Sizes below large, which a global datastore refuses.
SMALL_NODE_SIZES = frozenset({"nano", "micro", "small", "medium"})
#: Oldest engine version a global datastore accepts, per engine.
GLOBAL_MINIMUM_VERSIONS = {CacheEngine.REDIS_OSS: (5, 0, 6), CacheEngine.VALKEY: (7, 2)}
#: The node type the showcase uses for global datastore members: the smallest accepted size in a sandbox.
GLOBAL_NODE_TYPE_PRODUCTION = "cache.r7g.large"
GLOBAL_NODE_TYPE_SANDBOX = "cache.m6g.large"

_SUFFIX = re.compile(r"^[a-z][a-z0-9-]{0,39}$")


@dataclass(frozen=True, kw_only=True)
class CacheGlobalDatastoreProps:
    """Props of :class:`CacheGlobalDatastore`."""

    primary: CacheReplicationGroup
    """The primary replication group (Valkey or Redis OSS, an m/r/c7gn node type of size large or more)."""
    secondary_regions: Sequence[str]
    """Regions of the secondary replication groups that will join (at most two, not the primary's).
    Each secondary is a ``CacheSecondaryReplicationGroup`` in a stack of its own in that region."""
    description: str | None = None
    """What the global datastore is for - the primary's description by default."""
    id_suffix: str | None = None
    """Suffix of the global datastore ID (AWS prefixes it with a region-specific string) - derived
    from the construct path by default."""


class CacheGlobalDatastore(Construct):
    """``CfnGlobalReplicationGroup`` created from its primary replication group.

    Order (one CloudFormation stack per region, deployed one after the other): the primary
    replication group, then this global datastore in the same stack, then each secondary region's
    ``CacheSecondaryReplicationGroup``. The global datastore lists only the primary as a member; a
    secondary joins by naming the global datastore's ID. Exposes ``resource``, ``primary``,
    ``secondary_regions`` and ``global_replication_group_id``.
    """

    def __init__(self, scope: Construct, construct_id: str, props: CacheGlobalDatastoreProps) -> None:
        _validate(construct_label(type(self), scope, construct_id), props)
        super().__init__(scope, construct_id)
        self.primary = props.primary
        self.secondary_regions: tuple[str, ...] = tuple(props.secondary_regions)
        self.joined_regions: list[str] = []

        suffix = props.id_suffix or Names.unique_resource_name(self, max_length=40, separator="-").lower()
        self.resource = elasticache.CfnGlobalReplicationGroup(
            self,
            "Resource",
            global_replication_group_id_suffix=suffix,
            global_replication_group_description=props.description
            or self.primary.resource.replication_group_description,
            members=[
                elasticache.CfnGlobalReplicationGroup.GlobalReplicationGroupMemberProperty(
                    replication_group_id=self.primary.resource.ref,
                    replication_group_region=self.primary.region,
                    role="PRIMARY",
                )
            ],
        )
        # The global datastore holds no data of its own (the member groups do, and the primary takes a
        # final snapshot in production); retaining it would block deleting the primary group.
        self.resource.apply_removal_policy(RemovalPolicy.DESTROY)
        #: The full ID (AWS prefix + suffix) that secondaries name.
        self.global_replication_group_id: str = self.resource.ref


def _validate(name: str, props: CacheGlobalDatastoreProps) -> None:
    primary = props.primary
    require(
        isinstance(primary, CacheReplicationGroup),
        name,
        "primary",
        type(primary).__name__,
        "allowed: a CacheReplicationGroup running Valkey or Redis OSS (Memcached has no replication, "
        "so it cannot be a global datastore)",
    )
    family, _, size = primary.cache_node_type.removeprefix("cache.").partition(".")
    require(
        family in GLOBAL_NODE_FAMILIES and size not in SMALL_NODE_SIZES,
        name,
        "primary.cache_node_type",
        primary.cache_node_type,
        f"allowed: families {', '.join(sorted(GLOBAL_NODE_FAMILIES))} in size large or above "
        "(global datastores refuse t-family and smaller nodes)",
    )
    minimum = GLOBAL_MINIMUM_VERSIONS[primary.engine]
    require(
        version_tuple(primary.engine_version) >= minimum,
        name,
        "primary.engine_version",
        primary.engine_version,
        f"allowed: {primary.engine.name} {'.'.join(map(str, minimum))} or newer for a global datastore",
    )
    if props.description is not None:
        check_description(name, "description", props.description)
    if (
        not isinstance(props.secondary_regions, Sequence)
        or isinstance(props.secondary_regions, str)
        or not all(isinstance(region, str) for region in props.secondary_regions)
    ):
        raise PropValidationError(
            name, "secondary_regions", props.secondary_regions, "allowed: a list of region names"
        )
    regions = list(props.secondary_regions)
    if len(regions) > MAX_SECONDARY_REGIONS:
        raise PropValidationError(
            name,
            "secondary_regions",
            regions,
            f"allowed: at most {MAX_SECONDARY_REGIONS} regions (a global datastore's limit)",
        )
    check_unique(name, "secondary_regions", regions)
    require(
        is_unresolved(primary.region) or primary.region not in regions,
        name,
        "secondary_regions",
        regions,
        f"allowed: regions other than the primary's ({primary.region})",
    )
    if props.id_suffix is not None:
        require(
            isinstance(props.id_suffix, str) and bool(_SUFFIX.match(props.id_suffix)),
            name,
            "id_suffix",
            props.id_suffix,
            "allowed: 1-40 lowercase letters, digits and hyphens, starting with a letter",
        )
