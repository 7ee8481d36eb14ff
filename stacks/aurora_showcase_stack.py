"""Aurora building block: a Serverless v2 Aurora MySQL cluster with a fast clone, and the primary
cluster of an Aurora PostgreSQL global database."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput
from aws_cdk import aws_rds as rds
from constructs import Construct

from dbpatterns.aurora.clone import AuroraClone, AuroraCloneProps
from dbpatterns.aurora.cluster import AuroraCluster, AuroraClusterProps
from dbpatterns.common.network import IsolatedNetwork
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.versions import AURORA_MYSQL, AURORA_POSTGRES
from stacks.base import ReferenceStack


class AuroraShowcaseStack(ReferenceStack):
    """In the region's network (whose Secrets Manager endpoint serves password rotation):

    - ``orders``: Aurora MySQL 3.10 (LTS) Serverless v2, up to 128 ACU, backtrack, readers in
      production; in a sandbox its minimum is 0 ACU, so it pauses when idle and costs storage only;
    - ``orders_staging`` (``clone=True``): a copy-on-write clone of it for staging and tests;
    - ``catalog``: Aurora PostgreSQL Serverless v2; with ``global_database=True`` the primary of a
      global database whose secondary is :class:`~stacks.aurora_secondary_stack.AuroraSecondaryStack`
      (a global member cannot pause), else it pauses when idle in a sandbox too.

    The reader endpoints are stack outputs.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        profile: DeploymentProfile,
        network: IsolatedNetwork,
        clone: bool,
        global_database: bool,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.network = network
        secrets_endpoint = network.interface_endpoints["SecretsManager"]
        # Auto-pause (0 ACU) in a sandbox: an idle showcase costs its storage, not 0.5 ACU per hour.
        idle_minimum = profile.pick(None, production=0.5, sandbox=0.0)
        self.orders = AuroraCluster(
            self,
            "Orders",
            AuroraClusterProps(
                engine=rds.DatabaseClusterEngine.aurora_mysql(version=AURORA_MYSQL),
                profile=profile,
                vpc=network.vpc,
                serverless_v2_min_capacity=idle_minimum,
                serverless_v2_max_capacity=128,
                default_database_name="orders",
                secrets_manager_endpoint=secrets_endpoint,
            ),
        )
        self.orders_staging = (
            AuroraClone(self, "OrdersStaging", AuroraCloneProps(source=self.orders, profile=profile))
            if clone
            else None
        )
        self.catalog = AuroraCluster(
            self,
            "Catalog",
            AuroraClusterProps(
                engine=rds.DatabaseClusterEngine.aurora_postgres(version=AURORA_POSTGRES),
                profile=profile,
                vpc=network.vpc,
                global_database=global_database,
                serverless_v2_min_capacity=0.5 if global_database else idle_minimum,
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
