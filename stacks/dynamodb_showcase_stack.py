"""DynamoDB building block in its two capacity modes, as a user would compose it."""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from dbpatterns.capacity import ReadConsistency, Workload
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.dynamodb.table import CapacityMode, DynamoTable, DynamoTableProps
from stacks.base import ReferenceStack


class DynamoDbShowcaseStack(ReferenceStack):
    """Two tables: an on-demand one with indexes, TTL and a stream, and a provisioned one sized
    from a workload by the capacity planner."""

    def __init__(
        self, scope: Construct, construct_id: str, *, profile: DeploymentProfile, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        string = dynamodb.AttributeType.STRING

        self.sessions = DynamoTable(
            self,
            "UserSessions",
            DynamoTableProps(
                profile=profile,
                partition_key=dynamodb.Attribute(name="user_id", type=string),
                sort_key=dynamodb.Attribute(name="session_id", type=string),
                global_secondary_indexes=[
                    dynamodb.GlobalSecondaryIndexPropsV2(
                        index_name="by-device",
                        partition_key=dynamodb.Attribute(name="device_id", type=string),
                        sort_key=dynamodb.Attribute(name="started_at", type=string),
                        projection_type=dynamodb.ProjectionType.KEYS_ONLY,
                    )
                ],
                local_secondary_indexes=[
                    dynamodb.LocalSecondaryIndexProps(
                        index_name="by-last-seen",
                        sort_key=dynamodb.Attribute(name="last_seen_at", type=string),
                        projection_type=dynamodb.ProjectionType.ALL,
                    )
                ],
                time_to_live_attribute="expires_at",
                stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
                # Contributor Insights bills per event; a sandbox has no traffic worth ranking.
                contributor_insights=profile.is_production,
            ),
        )
        self.catalog = DynamoTable(
            self,
            "ProductCatalog",
            DynamoTableProps(
                profile=profile,
                partition_key=dynamodb.Attribute(name="product_id", type=string),
                capacity_mode=CapacityMode.PROVISIONED,
                # 10 KB items, 100 eventually consistent reads/s -> 150 RCU (see README). A sandbox keeps
                # the same planner-sized ceiling but a floor of 1 unit: auto scaling raises it on demand
                # and idle capacity costs nothing.
                workload=Workload.from_kb(
                    10, reads_per_second=100, read_consistency=ReadConsistency.EVENTUAL, writes_per_second=5
                )
                if profile.is_production
                else None,
                read_capacity=None if profile.is_production else 1,
                write_capacity=None if profile.is_production else 1,
                max_read_capacity=None if profile.is_production else 150,
                max_write_capacity=None if profile.is_production else 50,
            ),
        )
