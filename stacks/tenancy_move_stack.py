"""Use case 3, a planned tier move: the DMS Serverless replication of one tenant from its database to
another (``DbPatterns-TenantMove-<tenant>``), driven by the shared stack's move state machine."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput
from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from dbpatterns.tenancy.tenant_database import TenantDatabase
from dbpatterns.tenancy.tenant_replication import TenantReplication, TenantReplicationProps
from stacks.base import ReferenceStack
from stacks.tenancy_stack import TenancyStack


class TenantMoveStack(ReferenceStack):
    """One :class:`~dbpatterns.tenancy.tenant_replication.TenantReplication` between two tenant
    databases of the fleet, and the policy that lets the shared move state machine run it. Planning
    or dropping a move changes only this stack; it bills nothing until a move is started."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        shared: TenancyStack,
        tenant_id: str,
        source: TenantDatabase,
        target: TenantDatabase,
        secrets_manager_endpoint: ec2.IInterfaceVpcEndpoint | None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.replication = TenantReplication(
            self,
            "Replication",
            TenantReplicationProps(
                tenant_id=tenant_id,
                source=source,
                target=target,
                vpc=shared.vpc,
                profile=shared.profile,
                secrets_manager_endpoint=secrets_manager_endpoint,
                operator_role=shared.moves.role,
            ),
        )
        CfnOutput(
            self,
            "ReplicationConfigArn",
            value=self.replication.replication_config_arn,
            description="replication_config_arn of the move state machine's input",
        )
        CfnOutput(
            self,
            "MoveInput",
            value=self.to_json_string(
                {
                    "tenant_id": tenant_id,
                    "source_database_id": source.database_id,
                    "target_database_id": target.database_id,
                    "source_tier": source.tier.value,
                    "target_tier": target.tier.value,
                    "replication_config_arn": self.replication.replication_config_arn,
                }
            ),
            description="The move state machine's input, less move_id (add one per attempt)",
        )
