"""The DB subnet group and parameter groups every tenant database of a region shares.

With a group per database, 1,000 tenants (9 shards, 80 standard, 20 enterprise) would need 89
parameter groups, 20 cluster parameter groups and 109 subnet groups against regional quotas of 50 each
- and "DB cluster parameter groups" cannot be raised. One subnet group and one group per PostgreSQL
major version (RDS and Aurora each) keep the fleet at 1 + 3 + 3, whatever its size.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_rds as rds
from constructs import Construct

from dbpatterns.common.interfaces import check_subnet_selection, check_vpc
from dbpatterns.common.validation import PropValidationError, check_required, construct_label
from dbpatterns.rds.shared import engine_parameter_group, isolated_subnets
from dbpatterns.runtime.tenancy.catalog import POSTGRES_MAJOR_VERSIONS
from dbpatterns.tenancy.engines import cluster_engine, instance_engine

#: Construct IDs of the groups, by major version (literal IDs, no string building).
_INSTANCE_GROUP_IDS: Mapping[int, str] = MappingProxyType(
    {15: "Postgres15", 16: "Postgres16", 17: "Postgres17"}
)
_CLUSTER_GROUP_IDS: Mapping[int, str] = MappingProxyType(
    {15: "AuroraPostgres15", 16: "AuroraPostgres16", 17: "AuroraPostgres17"}
)
#: What AWS DMS change data capture needs on a move's source (logical decoding through a replication
#: slot). Every tier can be a source (pooled -> standard, standard -> enterprise, enterprise ->
#: standard, standard -> pooled) and the groups are shared per major version, so every group carries
#: them. ``rds.logical_replication`` is static (a reboot applies it) and sets ``wal_level = logical``,
#: which writes somewhat more WAL; the slot and sender counts leave room for a few concurrent moves
#: and for tools; ``wal_sender_timeout = 0`` keeps an idle DMS connection (a quiet tenant during
#: catch-up) from being cut, as DMS recommends for migrations.
CDC_PARAMETERS: Mapping[str, str] = MappingProxyType(
    {
        "rds.logical_replication": "1",
        "max_replication_slots": "20",
        "max_wal_senders": "20",
        "wal_sender_timeout": "0",
    }
)


@dataclass(frozen=True, kw_only=True)
class TenantDatabaseGroupsProps:
    """Props of :class:`TenantDatabaseGroups`."""

    vpc: ec2.IVpc
    """The VPC of every tenant database of the region."""
    vpc_subnets: ec2.SubnetSelection | None = None
    """Subnets of the shared DB subnet group - the private isolated subnets by default."""


class TenantDatabaseGroups(Construct):
    """One DB subnet group, one RDS parameter group and one Aurora cluster parameter group per
    PostgreSQL major version the catalog allows (15, 16, 17), all requiring TLS (``rds.force_ssl=1``)
    and all ready to be the source of a tenant move (:data:`CDC_PARAMETERS`: logical replication).

    Every group exists from the start, used or not (they are free), so a tenant on a new major version
    changes only its own stack. Exposes ``subnet_group``, ``instance_parameter_group(major)`` and
    ``cluster_parameter_group(major)``.
    """

    def __init__(self, scope: Construct, construct_id: str, props: TenantDatabaseGroupsProps) -> None:
        label = construct_label(type(self), scope, construct_id)
        check_required(label, "vpc", props.vpc)
        check_vpc(label, props.vpc)
        check_subnet_selection(label, props.vpc_subnets)
        super().__init__(scope, construct_id)
        self._label = label
        self.subnet_group = rds.SubnetGroup(
            self,
            "Subnets",
            vpc=props.vpc,
            vpc_subnets=isolated_subnets(props.vpc_subnets),
            description="Tenant databases (pooled shards, standard and enterprise tenants): isolated subnets",
            removal_policy=RemovalPolicy.DESTROY,
        )
        self._instance_groups: dict[int, rds.ParameterGroup] = {}
        self._cluster_groups: dict[int, rds.ParameterGroup] = {}
        for major in POSTGRES_MAJOR_VERSIONS:
            instance_group = engine_parameter_group(
                self, _INSTANCE_GROUP_IDS[major], instance_engine(major), CDC_PARAMETERS
            )
            # Define the CloudFormation resources now (an L2 group creates them on first use), so
            # the shared stack does not change when the first database of a version arrives.
            instance_group.bind_to_instance()
            self._instance_groups[major] = instance_group
            cluster_group = engine_parameter_group(
                self, _CLUSTER_GROUP_IDS[major], cluster_engine(major), CDC_PARAMETERS
            )
            cluster_group.bind_to_cluster()
            self._cluster_groups[major] = cluster_group

    def instance_parameter_group(self, major: int) -> rds.IParameterGroup:
        """The RDS for PostgreSQL parameter group of ``major``."""
        return self._instance_groups[self._check_major(major)]

    def cluster_parameter_group(self, major: int) -> rds.IParameterGroup:
        """The Aurora PostgreSQL cluster parameter group of ``major``."""
        return self._cluster_groups[self._check_major(major)]

    def _check_major(self, major: object) -> int:
        if isinstance(major, bool) or major not in POSTGRES_MAJOR_VERSIONS:
            raise PropValidationError(
                self._label,
                "major",
                major,
                "allowed: " + ", ".join(str(v) for v in POSTGRES_MAJOR_VERSIONS),
            )
        return int(major)
