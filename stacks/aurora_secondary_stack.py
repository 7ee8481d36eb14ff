"""Aurora building block: the secondary region of the showcase's global database."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput
from constructs import Construct

from dbpatterns.aurora.cluster import AuroraCluster
from dbpatterns.aurora.global_database import AuroraGlobalSecondary, AuroraGlobalSecondaryProps
from dbpatterns.common.encryption import create_key
from dbpatterns.common.network import IsolatedNetwork
from dbpatterns.common.profile import DeploymentProfile
from stacks.base import ReferenceStack


class AuroraSecondaryStack(ReferenceStack):
    """A read-only cluster in this stack's region joining ``primary``'s global database."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        profile: DeploymentProfile,
        network: IsolatedNetwork,
        primary: AuroraCluster,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.network = network
        self.key = create_key(
            self, "CatalogKey", description="Encrypts the Aurora global database secondary", profile=profile
        )
        self.catalog = AuroraGlobalSecondary(
            self,
            "Catalog",
            AuroraGlobalSecondaryProps(
                primary=primary, profile=profile, vpc=self.network.vpc, encryption_key=self.key
            ),
        )
        CfnOutput(
            self,
            "CatalogReaderEndpoint",
            value=self.catalog.reader_endpoint,
            description="Reader endpoint of the global database in this region",
        )
