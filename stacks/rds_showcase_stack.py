"""RDS building block: a PostgreSQL instance (Multi-AZ in production) with a same-region read replica."""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_rds as rds
from constructs import Construct

from dbpatterns.common.network import IsolatedNetwork, IsolatedNetworkProps
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.rds.instance import RdsInstance, RdsInstanceProps
from stacks.base import ReferenceStack


class RdsShowcaseStack(ReferenceStack):
    """An isolated VPC with a Secrets Manager endpoint (for password rotation) and a PostgreSQL
    instance with one read replica. :class:`~stacks.rds_replica_stack.RdsReplicaStack` adds a
    replica in another region."""

    def __init__(
        self, scope: Construct, construct_id: str, *, profile: DeploymentProfile, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.network = IsolatedNetwork(
            self,
            "Network",
            IsolatedNetworkProps(
                profile=profile,
                interface_endpoints={"SecretsManager": ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER},
            ),
        )
        self.database = RdsInstance(
            self,
            "Orders",
            RdsInstanceProps(
                engine=rds.DatabaseInstanceEngine.postgres(version=rds.PostgresEngineVersion.VER_17_6),
                profile=profile,
                vpc=self.network.vpc,
                database_name="orders",
                read_replicas=1,
                secrets_manager_endpoint=self.network.interface_endpoints["SecretsManager"],
            ),
        )
