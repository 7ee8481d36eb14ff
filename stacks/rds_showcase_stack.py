"""RDS building block: a PostgreSQL instance (Multi-AZ in production) with a same-region read replica."""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_rds as rds
from constructs import Construct

from dbpatterns.common.network import IsolatedNetwork
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.rds.instance import RdsInstance, RdsInstanceProps
from dbpatterns.versions import RDS_POSTGRES
from stacks.base import ReferenceStack


class RdsShowcaseStack(ReferenceStack):
    """A PostgreSQL instance with one read replica, in the region's network (whose Secrets Manager
    endpoint serves password rotation). :class:`~stacks.rds_replica_stack.RdsReplicaStack` adds a
    replica in another region."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        profile: DeploymentProfile,
        network: IsolatedNetwork,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.network = network
        self.database = RdsInstance(
            self,
            "Orders",
            RdsInstanceProps(
                engine=rds.DatabaseInstanceEngine.postgres(version=RDS_POSTGRES),
                profile=profile,
                vpc=self.network.vpc,
                database_name="orders",
                read_replicas=1,
                secrets_manager_endpoint=self.network.interface_endpoints["SecretsManager"],
            ),
        )
