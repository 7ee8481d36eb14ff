"""The social platform's global table: one table, replicated to every region with a key per region."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct

from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.common.validation import check_instance, check_required, construct_label
from dbpatterns.dynamodb.table import DynamoTable, DynamoTableProps, TableReplica
from dbpatterns.handlers.social import keys

_STRING = dynamodb.AttributeType.STRING


@dataclass(frozen=True, kw_only=True)
class SocialTableProps:
    """Props of :class:`SocialTable`."""

    #: Sandbox or production: deletion protection and RETAIN follow it (on in production).
    profile: DeploymentProfile
    #: The key that encrypts the table in the stack's region.
    encryption_key: kms.IKey
    #: The other regions, each with its own key (at most one replica added per deployment).
    replicas: Sequence[TableReplica]
    #: Contributor Insights (most accessed and most throttled keys: where hot partitions show) - on in
    #: production, off in a sandbox by default.
    contributor_insights: bool | None = None


class SocialTable(Construct):
    """The single table of :mod:`dbpatterns.handlers.social.keys` as a global table.

    Partition key ``pk``, sort key ``sk``, the sparse ``Timeline`` GSI (``tl_pk``/``tl_sk``, all
    attributes projected so a feed page needs no second read), TTL on ``expires_at`` (session
    records), on-demand, PITR for 35 days and deletion protection in production, in every replica.
    Multi-region *eventual* consistency (last writer wins): see the store module for why nothing the
    platform needs can be lost to it, and the handles module for why MRSC is not an option for
    us-east-1 + eu-west-1 + ap-southeast-1. The stream (``NEW_AND_OLD_IMAGES``) is there because
    replication needs it; nothing here consumes it. A consumer added later sees every region's writes
    in every region's stream (replicated writes included): it must filter on ``origin_region`` (an
    event-source filter ``{"dynamodb": {"NewImage": {"origin_region": {"S": ["<its region>"]}}}}``) or
    run in one region only, or it processes each change once per region.

    Exposes ``resource`` (the :class:`DynamoTable`), ``table`` (``TableV2``), ``table_name`` and
    ``encryption_key``.
    """

    def __init__(self, scope: Construct, construct_id: str, props: SocialTableProps) -> None:
        name = construct_label(type(self), scope, construct_id)
        check_required(name, "encryption_key", props.encryption_key)
        check_instance(name, "profile", props.profile, DeploymentProfile)
        check_instance(name, "contributor_insights", props.contributor_insights, bool, optional=True)
        super().__init__(scope, construct_id)
        self.resource = DynamoTable(
            self,
            "Resource",
            DynamoTableProps(
                profile=props.profile,
                partition_key=dynamodb.Attribute(name=keys.PARTITION_KEY, type=_STRING),
                sort_key=dynamodb.Attribute(name=keys.SORT_KEY, type=_STRING),
                global_secondary_indexes=[
                    dynamodb.GlobalSecondaryIndexPropsV2(
                        index_name=keys.TIMELINE_INDEX,
                        partition_key=dynamodb.Attribute(name=keys.TIMELINE_PARTITION_KEY, type=_STRING),
                        sort_key=dynamodb.Attribute(name=keys.TIMELINE_SORT_KEY, type=_STRING),
                        projection_type=dynamodb.ProjectionType.ALL,
                    )
                ],
                time_to_live_attribute=keys.TTL_ATTRIBUTE,
                encryption_key=props.encryption_key,
                replicas=props.replicas,
                contributor_insights=props.profile.pick(
                    props.contributor_insights, production=True, sandbox=False
                ),
            ),
        )
        self.table = self.resource.table
        self.table_name = self.table.table_name
        self.encryption_key = props.encryption_key
