"""Aurora building block: a Serverless v2 Aurora MySQL cluster with a fast clone, and the primary
cluster of an Aurora PostgreSQL global database."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_rds as rds
from constructs import Construct

from dbpatterns.aurora.clone import AuroraClone, AuroraCloneProps
from dbpatterns.aurora.cluster import AuroraCluster, AuroraClusterProps
from dbpatterns.common.network import IsolatedNetwork, IsolatedNetworkProps
from dbpatterns.common.profile import DeploymentProfile
from stacks.base import ReferenceStack


class AuroraShowcaseStack(ReferenceStack):
    """An isolated VPC with a Secrets Manager endpoint (for password rotation) and:

    - ``orders``: Aurora MySQL 8.0 Serverless v2, 0.5-128 ACU, backtrack, readers in production;
      its reader endpoint is a stack output, as is the catalog's;
    - ``orders_staging``: a copy-on-write clone of it for staging and tests;
    - ``catalog``: Aurora PostgreSQL Serverless v2, primary of a global database whose secondary is
      :class:`~stacks.aurora_secondary_stack.AuroraSecondaryStack`.
    """

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
        secrets_endpoint = self.network.interface_endpoints["SecretsManager"]
        self.orders = AuroraCluster(
            self,
            "Orders",
            AuroraClusterProps(
                engine=rds.DatabaseClusterEngine.aurora_mysql(
                    version=rds.AuroraMysqlEngineVersion.VER_3_08_0
                ),
                profile=profile,
                vpc=self.network.vpc,
                serverless_v2_min_capacity=0.5,
                serverless_v2_max_capacity=128,
                default_database_name="orders",
                secrets_manager_endpoint=secrets_endpoint,
            ),
        )
        self.orders_staging = AuroraClone(
            self, "OrdersStaging", AuroraCloneProps(source=self.orders, profile=profile)
        )
        self.catalog = AuroraCluster(
            self,
            "Catalog",
            AuroraClusterProps(
                engine=rds.DatabaseClusterEngine.aurora_postgres(
                    version=rds.AuroraPostgresEngineVersion.VER_16_9
                ),
                profile=profile,
                vpc=self.network.vpc,
                global_database=True,
                default_database_name="catalog",
                secrets_manager_endpoint=secrets_endpoint,
            ),
        )
        # Reporting and read-only traffic goes to the reader endpoints (load-balanced over the readers).
        CfnOutput(
            self,
            "OrdersReaderEndpoint",
            value=self.orders.reader_endpoint.hostname,
            description="Reader endpoint of the orders cluster (reporting and read-only traffic)",
        )
        CfnOutput(
            self,
            "CatalogReaderEndpoint",
            value=self.catalog.reader_endpoint.hostname,
            description="Reader endpoint of the catalog cluster (reporting and read-only traffic)",
        )
